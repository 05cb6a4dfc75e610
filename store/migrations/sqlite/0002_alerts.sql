-- Alerts for the dispatch wall, their timeline and evidence, the change log that
-- resumable streams read, and the users, sessions and audit log of the dashboard.
-- Times are integer microseconds since the Unix epoch (UTC); JSON is text.

CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    -- AlertKey::as_string: one open alert per key (alerts_open_key below).
    key         TEXT NOT NULL,
    kind        TEXT NOT NULL,
    severity    TEXT NOT NULL CHECK (severity IN ('critical', 'major', 'minor', 'warning')),
    source_type TEXT NOT NULL CHECK (source_type IN ('camera', 'node')),
    source_id   TEXT NOT NULL,
    rule        TEXT NOT NULL,
    scope       TEXT NOT NULL,
    title       TEXT NOT NULL,
    lat         REAL,
    lon         REAL,
    first_seen  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL,
    count       INTEGER NOT NULL DEFAULT 1,
    score       REAL,
    class_name  TEXT,
    -- JSON array [x1, y1, x2, y2].
    bbox        TEXT,
    details     TEXT NOT NULL DEFAULT 'null',
    state       TEXT NOT NULL
                CHECK (state IN ('new', 'acknowledged', 'dispatched', 'resolved', 'false_alarm')),
    assignee    TEXT,
    closed_at   INTEGER,
    -- Seq of the alert's latest row in alert_changes.
    seq         INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX alerts_open_key ON alerts (key)
    WHERE state IN ('new', 'acknowledged', 'dispatched');
CREATE INDEX alerts_closed_key ON alerts (key, closed_at) WHERE closed_at IS NOT NULL;
CREATE INDEX alerts_state ON alerts (state, last_seen);
CREATE INDEX alerts_last_seen ON alerts (last_seen);
CREATE INDEX alerts_seq ON alerts (seq);

-- Evidence frames apart, so that listing alerts never reads a JPEG.
CREATE TABLE alert_evidence (
    alert_id INTEGER PRIMARY KEY REFERENCES alerts (id) ON DELETE CASCADE,
    jpeg     BLOB NOT NULL
);

CREATE TABLE alert_transitions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id   INTEGER NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    from_state TEXT,
    to_state   TEXT NOT NULL,
    by_user    TEXT NOT NULL,
    at         INTEGER NOT NULL,
    note       TEXT
);
CREATE INDEX alert_transitions_alert ON alert_transitions (alert_id, id);

-- Every creation, update and transition; SQLite has one writer, so seq order is
-- commit order.
CREATE TABLE alert_changes (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id INTEGER NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    change   TEXT NOT NULL CHECK (change IN ('created', 'updated', 'transition')),
    at       INTEGER NOT NULL
);
CREATE INDEX alert_changes_alert ON alert_changes (alert_id);

CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL CHECK (role IN ('dispatcher', 'supervisor', 'environment', 'admin')),
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_name  TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE ON UPDATE CASCADE,
    csrf_token TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     INTEGER NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT 'null'
);
CREATE INDEX audit_log_at ON audit_log (at, id);
