-- The camera registry: each camera's record as vision reads it (JSON), with the fields
-- the map and filters need as columns.
CREATE TABLE cameras (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    lat        double precision NOT NULL,
    lon        double precision NOT NULL,
    enabled    boolean NOT NULL,
    config     jsonb NOT NULL,
    updated_at timestamptz NOT NULL
);
