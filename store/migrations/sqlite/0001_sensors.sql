-- Sensor data in the embedded SQLite store. Times are integer microseconds since the
-- Unix epoch (UTC); minute and hour buckets are their floor.
CREATE TABLE nodes (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    lat          REAL,
    lon          REAL,
    installed_on TEXT,
    owner        TEXT NOT NULL DEFAULT '',
    public       INTEGER NOT NULL DEFAULT 0,
    status       TEXT NOT NULL CHECK (status IN ('active', 'pending')),
    created_at   INTEGER NOT NULL
);

CREATE TABLE readings (
    node_id  TEXT NOT NULL,
    quantity TEXT NOT NULL,
    ts       INTEGER NOT NULL,
    value    REAL NOT NULL,
    PRIMARY KEY (node_id, quantity, ts)
) WITHOUT ROWID;
CREATE INDEX readings_ts ON readings (ts);

CREATE TABLE sensor_messages (
    node_id     TEXT NOT NULL,
    seq         INTEGER,
    ts          INTEGER NOT NULL,
    received_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX sensor_messages_seq ON sensor_messages (node_id, seq) WHERE seq IS NOT NULL;
CREATE UNIQUE INDEX sensor_messages_ts ON sensor_messages (node_id, ts) WHERE seq IS NULL;
CREATE INDEX sensor_messages_received ON sensor_messages (received_at);

CREATE TABLE latest_values (
    node_id  TEXT NOT NULL,
    quantity TEXT NOT NULL,
    ts       INTEGER NOT NULL,
    value    REAL NOT NULL,
    PRIMARY KEY (node_id, quantity)
) WITHOUT ROWID;

CREATE TABLE readings_1m (
    node_id  TEXT NOT NULL,
    quantity TEXT NOT NULL,
    bucket   INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    sum      REAL NOT NULL,
    min      REAL NOT NULL,
    max      REAL NOT NULL,
    PRIMARY KEY (node_id, quantity, bucket)
) WITHOUT ROWID;
CREATE INDEX readings_1m_bucket ON readings_1m (bucket);

CREATE TABLE readings_1h (
    node_id  TEXT NOT NULL,
    quantity TEXT NOT NULL,
    bucket   INTEGER NOT NULL,
    n        INTEGER NOT NULL,
    sum      REAL NOT NULL,
    min      REAL NOT NULL,
    max      REAL NOT NULL,
    PRIMARY KEY (node_id, quantity, bucket)
) WITHOUT ROWID;
CREATE INDEX readings_1h_bucket ON readings_1h (bucket);

CREATE TABLE rollup_dirty (bucket INTEGER PRIMARY KEY);

CREATE TABLE dead_letters (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at INTEGER NOT NULL,
    source      TEXT NOT NULL,
    node_id     TEXT,
    reason      TEXT NOT NULL,
    detail      TEXT NOT NULL,
    payload     TEXT NOT NULL
);
CREATE INDEX dead_letters_received ON dead_letters (received_at);
CREATE INDEX dead_letters_reason ON dead_letters (reason, received_at);
