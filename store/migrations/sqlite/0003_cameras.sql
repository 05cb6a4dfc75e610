-- The camera registry: each camera's record as vision reads it (JSON), with the fields
-- the map and filters need as columns.
CREATE TABLE cameras (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    lat        REAL NOT NULL,
    lon        REAL NOT NULL,
    enabled    INTEGER NOT NULL,
    config     TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
