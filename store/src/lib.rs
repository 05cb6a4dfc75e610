//! The record of veghe: every SQL statement and migration lives here, one
//! implementation per backend (PostgreSQL + TimescaleDB for production, SQLite for the
//! embedded default) behind the one typed [`Store`] interface.
//!
//! Both backends keep the same semantics, checked by the contract suite in
//! `tests/contract.rs`: a message is stored at most once per (node, seq) — or
//! (node, ts) when it has no seq — and a write returns the messages it refused as
//! duplicates so that ingest can dead-letter them.

mod error;
mod postgres;
mod sqlite;
mod types;

use chrono::{DateTime, Utc};
use veghe_sensors::{DeadLetter, Message, Node, NodeId, Quantity};

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

    /// Number of raw readings of a node (all quantities); for checks and tests.
    pub async fn count_readings(&self, node: &NodeId) -> Result<u64> {
        dispatch!(self, s => s.count_readings(node).await)
    }
}
