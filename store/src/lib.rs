//! The record of veghe: every SQL statement and migration lives here, one
//! implementation per backend (PostgreSQL + TimescaleDB for production, SQLite for the
//! embedded default) behind the one typed [`Store`] interface.
//!
//! Both backends keep the same semantics, checked by the contract suite in
//! `tests/contract.rs`: a message is stored at most once per (node, seq) — or
//! (node, ts) when it has no seq — and a write returns the messages it refused as
//! duplicates so that ingest can dead-letter them.
//!
//! Alerts keep one open alert per key, also when several workers raise the same key
//! at once: a partial unique index on the key of open alerts is the arbiter, and a
//! raise that loses the insert updates the winner's alert instead. Every change of an
//! alert gets the next seq of a change log whose order is commit order, so that a
//! stream resumed from seq n misses nothing.

mod alert_types;
mod camera_types;
mod error;
mod postgres;
mod sqlite;
mod types;

use std::time::Duration;

use chrono::{DateTime, Utc};
use veghe_alerts::{Alert, AlertId, AlertState, RaisedEvent, Role, Transition};
use veghe_sensors::{DeadLetter, Message, Node, NodeId, Quantity};

pub use alert_types::{
    AlertQuery, AuditEntry, RaiseChange, RaiseOutcome, SessionRecord, UserInfo, UserRecord,
};
pub use camera_types::CameraRecord;
pub use error::StoreError;
pub use postgres::{create_database, drop_database, PgStore};
pub use sqlite::SqliteStore;
pub use types::{
    Backend, Bucket, DeadLetterQuery, LatestValue, RetentionPolicy, RetentionReport, RollupReport,
    SeriesPoint, StoreOptions, StoredDeadLetter, WriteOutcome,
};

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The store, whichever backend the URL named.
#[derive(Clone, Debug)]
pub enum Store {
    Postgres(PgStore),
    Sqlite(SqliteStore),
}

macro_rules! dispatch {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            Store::Postgres($s) => $e,
            Store::Sqlite($s) => $e,
        }
    };
}

impl Store {
    /// Connects to `postgres://…` or `sqlite://PATH` (created when missing). Does not
    /// migrate; call [`Store::migrate`].
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Store> {
        match Backend::of_url(url)? {
            Backend::Postgres => Ok(Store::Postgres(PgStore::connect(url, options).await?)),
            Backend::Sqlite => Ok(Store::Sqlite(SqliteStore::connect(url, options).await?)),
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Store::Postgres(_) => Backend::Postgres,
            Store::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Applies the embedded migrations that are not applied yet.
    pub async fn migrate(&self) -> Result<()> {
        dispatch!(self, s => s.migrate().await)
    }

    /// Cheap round trip for health checks.
    pub async fn ping(&self) -> Result<()> {
        dispatch!(self, s => s.ping().await)
    }

    pub async fn close(&self) {
        dispatch!(self, s => s.close().await)
    }

    /// Inserts or replaces a node of the registry.
    pub async fn upsert_node(&self, node: &Node) -> Result<()> {
        dispatch!(self, s => s.upsert_node(node).await)
    }

    /// Adds nodes first seen on the wire as pending; existing nodes are left alone.
    pub async fn register_pending(&self, nodes: &[Node]) -> Result<()> {
        dispatch!(self, s => s.register_pending(nodes).await)
    }

    pub async fn nodes(&self) -> Result<Vec<Node>> {
        dispatch!(self, s => s.nodes().await)
    }

    pub async fn node(&self, id: &NodeId) -> Result<Option<Node>> {
        dispatch!(self, s => s.node(id).await)
    }

    /// Writes messages and dead letters in one transaction. Messages already stored
    /// are skipped and reported by their index in `messages`. Latest values are kept
    /// apart ([`Store::upsert_latest`]) so that writers can coalesce them.
    pub async fn write_batch(
        &self,
        messages: &[Message],
        dead_letters: &[DeadLetter],
    ) -> Result<WriteOutcome> {
        if messages.is_empty() && dead_letters.is_empty() {
            return Ok(WriteOutcome::default());
        }
        dispatch!(self, s => s.write_batch(messages, dead_letters).await)
    }

    /// Records latest values; a value older than the one stored is ignored, so writers
    /// may report in any order.
    pub async fn upsert_latest(&self, values: &[LatestValue]) -> Result<()> {
        if values.is_empty() {
            return Ok(());
        }
        dispatch!(self, s => s.upsert_latest(values).await)
    }

    /// The latest value of every quantity of every node (or only public, active ones).
    pub async fn latest_values(&self, public_only: bool) -> Result<Vec<LatestValue>> {
        dispatch!(self, s => s.latest_values(public_only).await)
    }

    /// A series of one quantity of one node in `[from, to)`, raw or from the rollups;
    /// with a bucket, every bucket that overlaps the range.
    pub async fn series(
        &self,
        node: &NodeId,
        quantity: Quantity,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        bucket: Bucket,
        limit: u32,
    ) -> Result<Vec<SeriesPoint>> {
        let from = bucket.floor(from);
        dispatch!(self, s => s.series(node, quantity, from, to, bucket, limit).await)
    }

    pub async fn dead_letters(&self, query: &DeadLetterQuery) -> Result<Vec<StoredDeadLetter>> {
        dispatch!(self, s => s.dead_letters(query).await)
    }

    /// Brings the 1-minute and 1-hour rollups up to date with every reading written
    /// since the last call (late readings included), for minutes that are over (a
    /// minute is rolled up about 65 s after it starts).
    pub async fn refresh_rollups(&self) -> Result<RollupReport> {
        dispatch!(self, s => s.refresh_rollups().await)
    }

    /// Deletes what is older than the policy keeps.
    pub async fn apply_retention(
        &self,
        policy: &RetentionPolicy,
        now: DateTime<Utc>,
    ) -> Result<RetentionReport> {
        dispatch!(self, s => s.apply_retention(policy, now).await)
    }

    /// Registers a camera, or replaces its record.
    pub async fn upsert_camera(&self, camera: &CameraRecord) -> Result<()> {
        dispatch!(self, s => s.upsert_camera(camera).await)
    }

    /// The camera registry, by id.
    pub async fn cameras(&self) -> Result<Vec<CameraRecord>> {
        dispatch!(self, s => s.cameras().await)
    }

    pub async fn camera(&self, id: &str) -> Result<Option<CameraRecord>> {
        dispatch!(self, s => s.camera(id).await)
    }

    /// Number of raw readings of a node (all quantities); for checks and tests.
    pub async fn count_readings(&self, node: &NodeId) -> Result<u64> {
        dispatch!(self, s => s.count_readings(node).await)
    }

    // Alerts.

    /// Records an event that needs a human. If an open alert (new, acknowledged,
    /// dispatched) has the event's key, it absorbs the event: count + 1, the later
    /// last-seen, the more severe severity, the position if it had none, and the
    /// evidence (frame, score, box, class, details) when the event carries a frame and
    /// scores higher. Otherwise, if an alert of the key closed less than `cooldown`
    /// before the event, nothing is written. Otherwise a new alert is created.
    /// Atomic per key: concurrent raisers of one key make one alert.
    pub async fn raise_alert(&self, ev: &RaisedEvent, cooldown: Duration) -> Result<RaiseOutcome> {
        dispatch!(self, s => s.raise_alert(ev, cooldown).await)
    }

    /// Moves an alert to `to` if the lifecycle allows it from its current state
    /// ([`StoreError::Alert`] otherwise, [`StoreError::NotFound`] for an unknown id),
    /// sets the assignee when given and the closing time for resolved and false
    /// alarm, and appends the step to the timeline. Of two conflicting transitions
    /// one wins; the other is judged against the state the first left.
    pub async fn transition_alert(
        &self,
        id: AlertId,
        to: AlertState,
        by: &str,
        note: Option<&str>,
        assignee: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Alert> {
        dispatch!(self, s => s.transition_alert(id, to, by, note, assignee, at).await)
    }

    pub async fn alert(&self, id: AlertId) -> Result<Option<Alert>> {
        dispatch!(self, s => s.alert(id).await)
    }

    /// Alerts matching `query`, most severe first, then most recently seen.
    pub async fn alerts(&self, query: &AlertQuery) -> Result<Vec<Alert>> {
        dispatch!(self, s => s.alerts(query).await)
    }

    /// An alert's transitions, oldest first (empty for an unknown id).
    pub async fn alert_timeline(&self, id: AlertId) -> Result<Vec<Transition>> {
        dispatch!(self, s => s.alert_timeline(id).await)
    }

    /// The alert's evidence frame (JPEG), if one is kept.
    pub async fn alert_evidence(&self, id: AlertId) -> Result<Option<Vec<u8>>> {
        dispatch!(self, s => s.alert_evidence(id).await)
    }

    /// Alerts changed after change-log position `seq`, each once in its current state,
    /// in the order of their latest change (`Alert::seq`); resume with the last seq read.
    pub async fn alert_changes_since(&self, seq: i64, limit: u32) -> Result<Vec<Alert>> {
        dispatch!(self, s => s.alert_changes_since(seq, limit).await)
    }

    /// The change log's latest position (0 when empty).
    pub async fn latest_alert_seq(&self) -> Result<i64> {
        dispatch!(self, s => s.latest_alert_seq().await)
    }

    /// Deletes the evidence frames of alerts last seen before `before`; returns how
    /// many. The alerts stay, without evidence. Not a change of the alerts: streams
    /// are not told.
    pub async fn delete_alert_evidence_before(&self, before: DateTime<Utc>) -> Result<u64> {
        dispatch!(self, s => s.delete_alert_evidence_before(before).await)
    }

    // Users, sessions, audit log. Passwords and session tokens arrive hashed.

    /// Adds a user; [`StoreError::Conflict`] when the name is taken.
    pub async fn create_user(
        &self,
        name: &str,
        role: Role,
        password_hash: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        dispatch!(self, s => s.create_user(name, role, password_hash, at).await)
    }

    pub async fn user(&self, name: &str) -> Result<Option<UserRecord>> {
        dispatch!(self, s => s.user(name).await)
    }

    /// Replaces a user's password hash; false for an unknown user.
    pub async fn set_password(&self, name: &str, password_hash: &str) -> Result<bool> {
        dispatch!(self, s => s.set_password(name, password_hash).await)
    }

    /// Every user by name, without password hashes.
    pub async fn users(&self) -> Result<Vec<UserInfo>> {
        dispatch!(self, s => s.users().await)
    }

    /// Opens a session for `user` ([`StoreError::NotFound`] for an unknown user).
    pub async fn create_session(
        &self,
        token_hash: &str,
        user: &str,
        csrf_token: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        dispatch!(self, s => s.create_session(token_hash, user, csrf_token, expires_at).await)
    }

    /// The session of a token if it has not expired at `now`, with its user's current
    /// role.
    pub async fn session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<SessionRecord>> {
        dispatch!(self, s => s.session(token_hash, now).await)
    }

    /// Ends a session; false if there was none.
    pub async fn delete_session(&self, token_hash: &str) -> Result<bool> {
        dispatch!(self, s => s.delete_session(token_hash).await)
    }

    pub async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64> {
        dispatch!(self, s => s.delete_expired_sessions(now).await)
    }

    pub async fn audit(&self, entry: &AuditEntry) -> Result<()> {
        dispatch!(self, s => s.audit(entry).await)
    }

    /// Audit entries at or after `since`, newest first.
    pub async fn audit_log(&self, since: Option<DateTime<Utc>>, limit: u32) -> Result<Vec<AuditEntry>> {
        dispatch!(self, s => s.audit_log(since, limit).await)
    }
}
