-- Alerts for the dispatch wall, their timeline and evidence, the change log that
-- resumable streams read, and the users, sessions and audit log of the dashboard.

CREATE TABLE alerts (
    id          bigserial PRIMARY KEY,
    -- AlertKey::as_string: one open alert per key (alerts_open_key below).
    key         text NOT NULL,
    kind        text NOT NULL,
    severity    text NOT NULL CHECK (severity IN ('critical', 'major', 'minor', 'warning')),
    source_type text NOT NULL CHECK (source_type IN ('camera', 'node')),
    source_id   text NOT NULL,
    rule        text NOT NULL,
    scope       text NOT NULL,
    title       text NOT NULL,
    lat         double precision,
    lon         double precision,
    first_seen  timestamptz NOT NULL,
    last_seen   timestamptz NOT NULL,
    count       bigint NOT NULL DEFAULT 1,
    score       real,
    class_name  text,
    bbox        real[],
    details     jsonb NOT NULL DEFAULT 'null',
    state       text NOT NULL
                CHECK (state IN ('new', 'acknowledged', 'dispatched', 'resolved', 'false_alarm')),
    assignee    text,
    closed_at   timestamptz,
    -- Seq of the alert's latest row in alert_changes.
    seq         bigint NOT NULL DEFAULT 0
);
-- Near-simultaneous events of one key meet here: the second insert conflicts and
-- becomes an update of the first.
CREATE UNIQUE INDEX alerts_open_key ON alerts (key)
    WHERE state IN ('new', 'acknowledged', 'dispatched');
CREATE INDEX alerts_closed_key ON alerts (key, closed_at DESC) WHERE closed_at IS NOT NULL;
CREATE INDEX alerts_state ON alerts (state, last_seen DESC);
CREATE INDEX alerts_last_seen ON alerts (last_seen);
CREATE INDEX alerts_seq ON alerts (seq);

-- Evidence frames apart, so that listing alerts never reads a JPEG.
CREATE TABLE alert_evidence (
    alert_id bigint PRIMARY KEY REFERENCES alerts (id) ON DELETE CASCADE,
    jpeg     bytea NOT NULL
);

CREATE TABLE alert_transitions (
    id         bigserial PRIMARY KEY,
    alert_id   bigint NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    from_state text,
    to_state   text NOT NULL,
    by_user    text NOT NULL,
    at         timestamptz NOT NULL,
    note       text
);
CREATE INDEX alert_transitions_alert ON alert_transitions (alert_id, id);

-- Every creation, update and transition, in commit order (writers append under one
-- advisory lock held until commit, so a reader never sees seq n+1 before seq n).
CREATE TABLE alert_changes (
    seq      bigserial PRIMARY KEY,
    alert_id bigint NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    change   text NOT NULL CHECK (change IN ('created', 'updated', 'transition')),
    at       timestamptz NOT NULL
);
CREATE INDEX alert_changes_alert ON alert_changes (alert_id);

CREATE TABLE users (
    name          text PRIMARY KEY,
    role          text NOT NULL CHECK (role IN ('dispatcher', 'supervisor', 'environment', 'admin')),
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL
);

CREATE TABLE sessions (
    token_hash text PRIMARY KEY,
    user_name  text NOT NULL REFERENCES users (name) ON DELETE CASCADE ON UPDATE CASCADE,
    csrf_token text NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE audit_log (
    id     bigserial PRIMARY KEY,
    at     timestamptz NOT NULL,
    actor  text NOT NULL,
    action text NOT NULL,
    target text NOT NULL,
    detail jsonb NOT NULL DEFAULT 'null'
);
CREATE INDEX audit_log_at ON audit_log (at DESC, id DESC);
