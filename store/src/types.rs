//! Values that cross the store's interface.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use veghe_sensors::{NodeId, Quantity, RejectReason};

use crate::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn of_url(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else {
            Err(StoreError::UnsupportedUrl(url.to_owned()))
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }
}

#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
    pub connect_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 8,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// What a batch write did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteOutcome {
    /// Indices (into the written slice) of messages refused as already stored.
    pub duplicates: Vec<usize>,
    /// Readings (values) written.
    pub readings: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LatestValue {
    pub node: NodeId,
    pub quantity: Quantity,
    pub ts: DateTime<Utc>,
    pub value: f64,
}

/// Series resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Raw,
    Minute,
    Hour,
    Day,
}

impl Bucket {
    pub fn parse(s: &str) -> Option<Bucket> {
        match s {
            "raw" => Some(Bucket::Raw),
            "1m" => Some(Bucket::Minute),
            "1h" => Some(Bucket::Hour),
            "1d" => Some(Bucket::Day),
            _ => None,
        }
    }

    /// The start of the bucket holding `t` (UTC); `t` itself for raw.
    pub fn floor(self, t: DateTime<Utc>) -> DateTime<Utc> {
        use chrono::DurationRound;
        let size = match self {
            Bucket::Raw => return t,
            Bucket::Minute => chrono::Duration::minutes(1),
            Bucket::Hour => chrono::Duration::hours(1),
            Bucket::Day => chrono::Duration::days(1),
        };
        t.duration_trunc(size).unwrap_or(t)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::Raw => "raw",
            Bucket::Minute => "1m",
            Bucket::Hour => "1h",
            Bucket::Day => "1d",
        }
    }
}

/// One point of a series: a raw value, or the aggregate of a bucket starting at `ts`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesPoint {
    pub ts: DateTime<Utc>,
    /// The value, or the bucket's mean.
    pub value: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

#[derive(Debug, Clone, Default)]
pub struct DeadLetterQuery {
    pub reason: Option<RejectReason>,
    pub node: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredDeadLetter {
    pub id: i64,
    pub received_at: DateTime<Utc>,
    pub source: String,
    pub node: Option<String>,
    pub reason: RejectReason,
    pub detail: String,
    pub payload: String,
}

#[derive(Debug, Clone)]
pub struct RetentionPolicy {
    pub raw: Duration,
    pub minute: Duration,
    pub hour: Duration,
    pub dead_letters: Duration,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Raw readings deleted (SQLite) or chunks dropped (TimescaleDB).
    pub raw_removed: u64,
    pub rollups_removed: u64,
    pub dead_letters_removed: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RollupReport {
    pub minute_buckets: u64,
    pub hour_buckets: u64,
}

pub(crate) fn cutoff(now: DateTime<Utc>, keep: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(keep)
        .ok()
        .and_then(|d| now.checked_sub_signed(d))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Minute buckets starting before this instant are closed: the minute is over and a
/// few seconds of grace for in-flight messages have passed. Rollups recompute only
/// closed minutes, so a busy open minute is not aggregated over and over.
pub(crate) fn closed_before(now: DateTime<Utc>) -> DateTime<Utc> {
    now - chrono::Duration::seconds(65)
}
