-- Sensor data on PostgreSQL + TimescaleDB (Apache edition: hypertables, time_bucket,
-- drop_chunks; rollups and retention are run by veghe itself).
CREATE EXTENSION IF NOT EXISTS timescaledb;

CREATE TABLE nodes (
    id           text PRIMARY KEY,
    name         text NOT NULL,
    kind         text NOT NULL,
    lat          double precision,
    lon          double precision,
    installed_on date,
    owner        text NOT NULL DEFAULT '',
    public       boolean NOT NULL DEFAULT false,
    status       text NOT NULL CHECK (status IN ('active', 'pending')),
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE readings (
    ts       timestamptz NOT NULL,
    node_id  text NOT NULL,
    quantity text NOT NULL,
    value    double precision NOT NULL
);
SELECT create_hypertable('readings', by_range('ts', INTERVAL '1 day'), create_default_indexes => false);
CREATE UNIQUE INDEX readings_key ON readings (node_id, quantity, ts DESC);
CREATE INDEX readings_ts ON readings (ts DESC);

-- One row per accepted message: the record that makes redelivery idempotent.
CREATE TABLE sensor_messages (
    node_id     text NOT NULL,
    seq         bigint,
    ts          timestamptz NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX sensor_messages_seq ON sensor_messages (node_id, seq);
CREATE UNIQUE INDEX sensor_messages_ts ON sensor_messages (node_id, ts) WHERE seq IS NULL;
CREATE INDEX sensor_messages_received ON sensor_messages (received_at);

CREATE TABLE latest_values (
    node_id  text NOT NULL,
    quantity text NOT NULL,
    ts       timestamptz NOT NULL,
    value    double precision NOT NULL,
    PRIMARY KEY (node_id, quantity)
);

CREATE TABLE readings_1m (
    bucket   timestamptz NOT NULL,
    node_id  text NOT NULL,
    quantity text NOT NULL,
    n        bigint NOT NULL,
    sum      double precision NOT NULL,
    min      double precision NOT NULL,
    max      double precision NOT NULL,
    PRIMARY KEY (node_id, quantity, bucket)
);
CREATE INDEX readings_1m_bucket ON readings_1m (bucket);

CREATE TABLE readings_1h (LIKE readings_1m INCLUDING ALL);

-- Minute buckets that received data since the rollup job last saw them.
CREATE TABLE rollup_dirty (bucket timestamptz PRIMARY KEY);

CREATE TABLE dead_letters (
    id          bigserial PRIMARY KEY,
    received_at timestamptz NOT NULL,
    source      text NOT NULL,
    node_id     text,
    reason      text NOT NULL,
    detail      text NOT NULL,
    payload     text NOT NULL
);
CREATE INDEX dead_letters_received ON dead_letters (received_at DESC);
CREATE INDEX dead_letters_reason ON dead_letters (reason, received_at DESC);
