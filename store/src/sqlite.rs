//! Embedded SQLite backend: the same record as PostgreSQL in one file. One writer
//! connection (SQLite serialises writers anyway; a single one never meets a busy
//! snapshot) and a pool of readers, WAL mode, `synchronous=FULL` so that a committed
//! batch survives a crash of the process or the machine.

mod alerts;
mod cameras;
mod users;

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Executor, Row};
use veghe_sensors::{DeadLetter, Message, Node, NodeId, NodeStatus, Quantity, RejectReason};

use crate::types::cutoff;
use crate::{
    Bucket, DeadLetterQuery, LatestValue, Result, RetentionPolicy, RetentionReport, RollupReport,
    SeriesPoint, StoreError, StoreOptions, StoredDeadLetter, WriteOutcome,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

const MINUTE_US: i64 = 60_000_000;
const HOUR_US: i64 = 3_600_000_000;
const DAY_US: i64 = 86_400_000_000;

const CREATE_STAGING: &str = "
CREATE TEMP TABLE IF NOT EXISTS incoming_messages (
    mid INTEGER PRIMARY KEY, node_id TEXT NOT NULL, seq INTEGER, ts INTEGER NOT NULL,
    fresh INTEGER NOT NULL DEFAULT 1);
CREATE INDEX IF NOT EXISTS temp.incoming_messages_seq ON incoming_messages (node_id, seq);
CREATE INDEX IF NOT EXISTS temp.incoming_messages_ts ON incoming_messages (node_id, ts);
CREATE TEMP TABLE IF NOT EXISTS incoming_values (
    mid INTEGER NOT NULL, quantity TEXT NOT NULL, value REAL NOT NULL);";

#[derive(Clone, Debug)]
pub struct SqliteStore {
    writer: SqlitePool,
    readers: SqlitePool,
}

impl SqliteStore {
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Self> {
        let connect = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .pragma("temp_store", "memory")
            // Readings arrive in node order, not key order: a larger page cache keeps
            // the b-tree's inner pages in memory as the file grows (64 MiB).
            .pragma("cache_size", "-65536");
        let file = connect.get_filename().to_path_buf();
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(options.connect_timeout.max(Duration::from_secs(30)))
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute(CREATE_STAGING).await?;
                    Ok(())
                })
            })
            .connect_with(connect.clone())
            .await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.connect_timeout)
            .connect_with(connect)
            .await?;
        Ok(SqliteStore { writer, readers })
    }

    pub async fn migrate(&self) -> Result<()> {
        MIGRATOR.run(&self.writer).await?;
        Ok(())
    }

    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.readers).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.writer.close().await;
        self.readers.close().await;
    }

    pub async fn upsert_node(&self, node: &Node) -> Result<()> {
        sqlx::query(
            "INSERT INTO nodes (id, name, kind, lat, lon, installed_on, owner, public, status, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind,
                 lat = excluded.lat, lon = excluded.lon, installed_on = excluded.installed_on,
                 owner = excluded.owner, public = excluded.public, status = excluded.status",
        )
        .bind(node.id.as_str())
        .bind(&node.name)
        .bind(&node.kind)
        .bind(node.lat)
        .bind(node.lon)
        .bind(node.installed_on)
        .bind(&node.owner)
        .bind(node.public)
        .bind(node.status.as_str())
        .bind(Utc::now().timestamp_micros())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn register_pending(&self, nodes: &[Node]) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        for node in nodes {
            sqlx::query(
                "INSERT INTO nodes (id, name, kind, lat, lon, owner, public, status, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, 'pending', ?7) ON CONFLICT (id) DO NOTHING",
            )
            .bind(node.id.as_str())
            .bind(&node.name)
            .bind(&node.kind)
            .bind(node.lat)
            .bind(node.lon)
            .bind(&node.owner)
            .bind(Utc::now().timestamp_micros())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn nodes(&self) -> Result<Vec<Node>> {
        let rows = sqlx::query(
            "SELECT id, name, kind, lat, lon, installed_on, owner, public, status
             FROM nodes ORDER BY id",
        )
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(node_from_row).collect()
    }

    pub async fn node(&self, id: &NodeId) -> Result<Option<Node>> {
        let row = sqlx::query(
            "SELECT id, name, kind, lat, lon, installed_on, owner, public, status
             FROM nodes WHERE id = ?1",
        )
        .bind(id.as_str())
        .fetch_optional(&self.readers)
        .await?;
        row.as_ref().map(node_from_row).transpose()
    }

    pub async fn write_batch(
        &self,
        messages: &[Message],
        dead_letters: &[DeadLetter],
    ) -> Result<WriteOutcome> {
        let mut tx = self.writer.begin().await?;
        let mut outcome = WriteOutcome::default();
        if !messages.is_empty() {
            let (staged_messages, staged_values) = staging_json(messages);
            sqlx::query(
                "INSERT INTO temp.incoming_messages (mid, node_id, seq, ts)
                 SELECT key, value ->> 0, value ->> 1, value ->> 2 FROM json_each(?1)",
            )
            .bind(staged_messages)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO temp.incoming_values (mid, quantity, value)
                 SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?1)",
            )
            .bind(staged_values)
            .execute(&mut *tx)
            .await?;
            // Already stored, then repeated within the batch: both are duplicates. Each
            // branch matches one index.
            sqlx::query(
                "UPDATE temp.incoming_messages AS m SET fresh = 0 WHERE
                   (m.seq IS NOT NULL AND EXISTS (SELECT 1 FROM main.sensor_messages s
                        WHERE s.node_id = m.node_id AND s.seq = m.seq))
                OR (m.seq IS NULL AND EXISTS (SELECT 1 FROM main.sensor_messages s
                        WHERE s.node_id = m.node_id AND s.seq IS NULL AND s.ts = m.ts))
                OR (m.seq IS NOT NULL AND EXISTS (SELECT 1 FROM temp.incoming_messages o
                        WHERE o.node_id = m.node_id AND o.seq = m.seq AND o.mid < m.mid))
                OR (m.seq IS NULL AND EXISTS (SELECT 1 FROM temp.incoming_messages o
                        WHERE o.node_id = m.node_id AND o.ts = m.ts AND o.seq IS NULL AND o.mid < m.mid))",
            )
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT OR IGNORE INTO main.sensor_messages (node_id, seq, ts, received_at)
                 SELECT node_id, seq, ts, ?1 FROM temp.incoming_messages WHERE fresh",
            )
            .bind(Utc::now().timestamp_micros())
            .execute(&mut *tx)
            .await?;
            let stored = sqlx::query(
                "INSERT OR IGNORE INTO main.readings (node_id, quantity, ts, value)
                 SELECT m.node_id, v.quantity, m.ts, v.value
                 FROM temp.incoming_values v JOIN temp.incoming_messages m ON m.mid = v.mid
                 WHERE m.fresh",
            )
            .execute(&mut *tx)
            .await?;
            outcome.readings = stored.rows_affected();
            sqlx::query(
                "INSERT OR IGNORE INTO main.rollup_dirty (bucket)
                 SELECT DISTINCT ts - ts % ?1 FROM temp.incoming_messages WHERE fresh",
            )
            .bind(MINUTE_US)
            .execute(&mut *tx)
            .await?;
            let duplicates: Vec<i64> = sqlx::query_scalar(
                "SELECT mid FROM temp.incoming_messages WHERE NOT fresh ORDER BY mid",
            )
            .fetch_all(&mut *tx)
            .await?;
            outcome.duplicates = duplicates.into_iter().map(|m| m as usize).collect();
            tx.execute("DELETE FROM temp.incoming_messages; DELETE FROM temp.incoming_values;")
                .await?;
        }
        for d in dead_letters {
            sqlx::query(
                "INSERT INTO dead_letters (received_at, source, node_id, reason, detail, payload)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .bind(d.received_at.timestamp_micros())
            .bind(&d.source)
            .bind(d.node.as_deref())
            .bind(d.reason.as_str())
            .bind(&d.detail)
            .bind(&d.payload)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(outcome)
    }

    pub async fn upsert_latest(&self, values: &[LatestValue]) -> Result<()> {
        let rows: Vec<serde_json::Value> = values
            .iter()
            .map(|l| {
                serde_json::json!([
                    l.node.as_str(),
                    l.quantity.name(),
                    l.ts.timestamp_micros(),
                    l.value
                ])
            })
            .collect();
        // A bare column next to max() takes its value from the row holding the max.
        sqlx::query(
            "INSERT INTO latest_values (node_id, quantity, ts, value)
             SELECT value ->> 0, value ->> 1, max(value ->> 2), value ->> 3 FROM json_each(?1)
             WHERE true GROUP BY value ->> 0, value ->> 1
             ON CONFLICT (node_id, quantity) DO UPDATE
                 SET ts = excluded.ts, value = excluded.value
                 WHERE excluded.ts > latest_values.ts",
        )
        .bind(serde_json::Value::Array(rows).to_string())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub async fn latest_values(&self, public_only: bool) -> Result<Vec<LatestValue>> {
        let rows = sqlx::query(
            "SELECT l.node_id, l.quantity, l.ts, l.value FROM latest_values l
             JOIN nodes n ON n.id = l.node_id
             WHERE NOT ?1 OR (n.public AND n.status = 'active')
             ORDER BY l.node_id, l.quantity",
        )
        .bind(public_only)
        .fetch_all(&self.readers)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let quantity: String = row.try_get("quantity")?;
            let Ok(quantity) = quantity.parse::<Quantity>() else {
                continue;
            };
            out.push(LatestValue {
                node: node_id(row.try_get("node_id")?)?,
                quantity,
                ts: from_micros(row.try_get("ts")?)?,
                value: row.try_get("value")?,
            });
        }
        Ok(out)
    }

    pub async fn series(
        &self,
        node: &NodeId,
        quantity: Quantity,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        bucket: Bucket,
        limit: u32,
    ) -> Result<Vec<SeriesPoint>> {
        let sql = match bucket {
            Bucket::Raw => {
                "SELECT ts, value, NULL AS min, NULL AS max, NULL AS n FROM readings
                 WHERE node_id = ?1 AND quantity = ?2 AND ts >= ?3 AND ts < ?4
                 ORDER BY ts LIMIT ?5"
            }
            Bucket::Minute => {
                "SELECT bucket AS ts, sum / n AS value, min, max, n FROM readings_1m
                 WHERE node_id = ?1 AND quantity = ?2 AND bucket >= ?3 AND bucket < ?4
                 ORDER BY bucket LIMIT ?5"
            }
            Bucket::Hour => {
                "SELECT bucket AS ts, sum / n AS value, min, max, n FROM readings_1h
                 WHERE node_id = ?1 AND quantity = ?2 AND bucket >= ?3 AND bucket < ?4
                 ORDER BY bucket LIMIT ?5"
            }
            Bucket::Day => {
                "SELECT bucket - bucket % ?6 AS ts, sum(sum) / sum(n) AS value,
                        min(min) AS min, max(max) AS max, sum(n) AS n
                 FROM readings_1h
                 WHERE node_id = ?1 AND quantity = ?2 AND bucket >= ?3 AND bucket < ?4
                 GROUP BY 1 ORDER BY 1 LIMIT ?5"
            }
        };
        let rows = sqlx::query(sql)
            .bind(node.as_str())
            .bind(quantity.name())
            .bind(from.timestamp_micros())
            .bind(to.timestamp_micros())
            .bind(i64::from(limit))
            .bind(DAY_US)
            .fetch_all(&self.readers)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(SeriesPoint {
                    ts: from_micros(row.try_get("ts")?)?,
                    value: row.try_get("value")?,
                    min: row.try_get("min")?,
                    max: row.try_get("max")?,
                    count: row.try_get::<Option<i64>, _>("n")?.map(|n| n as u64),
                })
            })
            .collect()
    }

    pub async fn dead_letters(&self, query: &DeadLetterQuery) -> Result<Vec<StoredDeadLetter>> {
        let rows = sqlx::query(
            "SELECT id, received_at, source, node_id, reason, detail, payload FROM dead_letters
             WHERE (?1 IS NULL OR reason = ?1) AND (?2 IS NULL OR node_id = ?2)
               AND (?3 IS NULL OR received_at >= ?3)
             ORDER BY id DESC LIMIT ?4",
        )
        .bind(query.reason.map(RejectReason::as_str))
        .bind(query.node.as_deref())
        .bind(query.since.map(|t| t.timestamp_micros()))
        .bind(i64::from(query.limit))
        .fetch_all(&self.readers)
        .await?;
        rows.iter()
            .map(|row| {
                let reason: String = row.try_get("reason")?;
                Ok(StoredDeadLetter {
                    id: row.try_get("id")?,
                    received_at: from_micros(row.try_get("received_at")?)?,
                    source: row.try_get("source")?,
                    node: row.try_get("node_id")?,
                    reason: RejectReason::parse(&reason)
                        .ok_or_else(|| StoreError::Corrupt(format!("reject reason `{reason}`")))?,
                    detail: row.try_get("detail")?,
                    payload: row.try_get("payload")?,
                })
            })
            .collect()
    }

    pub async fn refresh_rollups(&self) -> Result<RollupReport> {
        let mut tx = self.writer.begin().await?;
        let minutes: Vec<i64> = sqlx::query_scalar(
            "DELETE FROM rollup_dirty WHERE bucket IN
                 (SELECT bucket FROM rollup_dirty WHERE bucket < ?1 ORDER BY bucket LIMIT 10000)
             RETURNING bucket",
        )
        .bind(crate::types::closed_before(Utc::now()).timestamp_micros())
        .fetch_all(&mut *tx)
        .await?;
        let mut report = RollupReport::default();
        let mut hours: Vec<i64> = Vec::new();
        for minute in &minutes {
            let done = sqlx::query(
                "INSERT INTO readings_1m (node_id, quantity, bucket, n, sum, min, max)
                 SELECT node_id, quantity, ?1, count(*), sum(value), min(value), max(value)
                 FROM readings WHERE ts >= ?1 AND ts < ?1 + ?2 GROUP BY node_id, quantity
                 ON CONFLICT (node_id, quantity, bucket) DO UPDATE SET
                     n = excluded.n, sum = excluded.sum, min = excluded.min, max = excluded.max",
            )
            .bind(minute)
            .bind(MINUTE_US)
            .execute(&mut *tx)
            .await?;
            report.minute_buckets += done.rows_affected();
            hours.push(minute - minute.rem_euclid(HOUR_US));
        }
        hours.sort_unstable();
        hours.dedup();
        for hour in &hours {
            let done = sqlx::query(
                "INSERT INTO readings_1h (node_id, quantity, bucket, n, sum, min, max)
                 SELECT node_id, quantity, ?1, sum(n), sum(sum), min(min), max(max)
                 FROM readings_1m WHERE bucket >= ?1 AND bucket < ?1 + ?2
                 GROUP BY node_id, quantity
                 ON CONFLICT (node_id, quantity, bucket) DO UPDATE SET
                     n = excluded.n, sum = excluded.sum, min = excluded.min, max = excluded.max",
            )
            .bind(hour)
            .bind(HOUR_US)
            .execute(&mut *tx)
            .await?;
            report.hour_buckets += done.rows_affected();
        }
        tx.commit().await?;
        Ok(report)
    }

    pub async fn apply_retention(
        &self,
        policy: &RetentionPolicy,
        now: DateTime<Utc>,
    ) -> Result<RetentionReport> {
        let raw_cut = cutoff(now, policy.raw).timestamp_micros();
        let raw = sqlx::query("DELETE FROM readings WHERE ts < ?1")
            .bind(raw_cut)
            .execute(&self.writer)
            .await?;
        sqlx::query("DELETE FROM sensor_messages WHERE received_at < ?1 AND ts < ?1")
            .bind(raw_cut)
            .execute(&self.writer)
            .await?;
        let m = sqlx::query("DELETE FROM readings_1m WHERE bucket < ?1")
            .bind(cutoff(now, policy.minute).timestamp_micros())
            .execute(&self.writer)
            .await?;
        let h = sqlx::query("DELETE FROM readings_1h WHERE bucket < ?1")
            .bind(cutoff(now, policy.hour).timestamp_micros())
            .execute(&self.writer)
            .await?;
        let d = sqlx::query("DELETE FROM dead_letters WHERE received_at < ?1")
            .bind(cutoff(now, policy.dead_letters).timestamp_micros())
            .execute(&self.writer)
            .await?;
        Ok(RetentionReport {
            raw_removed: raw.rows_affected(),
            rollups_removed: m.rows_affected() + h.rows_affected(),
            dead_letters_removed: d.rows_affected(),
        })
    }

    pub async fn count_readings(&self, node: &NodeId) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM readings WHERE node_id = ?1")
            .bind(node.as_str())
            .fetch_one(&self.readers)
            .await?;
        Ok(n as u64)
    }
}

/// The batch as two JSON arrays for `json_each`: one statement per table, not one
/// per row.
fn staging_json(messages: &[Message]) -> (String, String) {
    let mut msgs = Vec::with_capacity(messages.len());
    let mut values = Vec::with_capacity(messages.len() * 8);
    for (mid, m) in messages.iter().enumerate() {
        msgs.push(serde_json::json!([
            m.node.as_str(),
            m.seq,
            m.ts.timestamp_micros()
        ]));
        for (q, v) in &m.values {
            values.push(serde_json::json!([mid, q.name(), v]));
        }
    }
    (
        serde_json::Value::Array(msgs).to_string(),
        serde_json::Value::Array(values).to_string(),
    )
}

fn from_micros(us: i64) -> Result<DateTime<Utc>> {
    DateTime::from_timestamp_micros(us)
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {us} µs out of range")))
}

fn node_id(id: String) -> Result<NodeId> {
    NodeId::new(id.clone()).map_err(|e| StoreError::Corrupt(format!("node id `{id}`: {e}")))
}

fn node_from_row(row: &SqliteRow) -> Result<Node> {
    let status: String = row.try_get("status")?;
    Ok(Node {
        id: node_id(row.try_get("id")?)?,
        name: row.try_get("name")?,
        kind: row.try_get("kind")?,
        lat: row.try_get("lat")?,
        lon: row.try_get("lon")?,
        installed_on: row.try_get("installed_on")?,
        owner: row.try_get("owner")?,
        public: row.try_get("public")?,
        status: NodeStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("node status `{status}`")))?,
    })
}
