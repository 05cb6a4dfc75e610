//! PostgreSQL + TimescaleDB backend. Batches travel by COPY into per-connection
//! temporary tables, then one statement moves the fresh ones into the hypertable.

mod alerts;
mod cameras;
mod users;

use std::fmt::Write as _;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection, Executor, Row};
use veghe_sensors::{DeadLetter, Message, Node, NodeId, NodeStatus, Quantity, RejectReason};

use crate::types::cutoff;
use crate::{
    Bucket, DeadLetterQuery, LatestValue, Result, RetentionPolicy, RetentionReport, RollupReport,
    SeriesPoint, StoreError, StoreOptions, StoredDeadLetter, WriteOutcome,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

const CREATE_STAGING: &str = "
CREATE TEMP TABLE IF NOT EXISTS incoming_messages (
    mid int NOT NULL, node_id text NOT NULL, seq bigint, ts timestamptz NOT NULL
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS incoming_values (
    mid int NOT NULL, quantity text NOT NULL, value double precision NOT NULL
) ON COMMIT DELETE ROWS;";

/// Moves fresh staged messages into the record; returns the `mid` of duplicates.
/// Data-modifying CTEs all run to completion whether read or not.
const MERGE_STAGED: &str = "
WITH fresh AS (
    INSERT INTO sensor_messages (node_id, seq, ts)
    SELECT node_id, seq, ts FROM incoming_messages
    ON CONFLICT DO NOTHING
    RETURNING node_id, seq, ts
), accepted AS (
    SELECT DISTINCT ON (m.node_id, m.seq, m.ts) m.mid, m.node_id, m.ts
    FROM incoming_messages m
    JOIN fresh f ON f.node_id = m.node_id AND f.ts = m.ts AND coalesce(f.seq, -1) = coalesce(m.seq, -1)
), stored AS (
    INSERT INTO readings (ts, node_id, quantity, value)
    SELECT a.ts, a.node_id, v.quantity, v.value
    FROM incoming_values v JOIN accepted a USING (mid)
    ON CONFLICT DO NOTHING
    RETURNING ts
), dirty AS (
    -- Most batches fall in an already marked minute; skipping the insert then keeps
    -- concurrent writers from waiting on each other's mark.
    INSERT INTO rollup_dirty (bucket)
    SELECT DISTINCT time_bucket('1 minute', ts) AS b FROM stored
    WHERE NOT EXISTS (SELECT 1 FROM rollup_dirty d WHERE d.bucket = time_bucket('1 minute', stored.ts))
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT NULL::int AS mid, (SELECT count(*) FROM stored) AS stored
UNION ALL
SELECT mid, 0 FROM incoming_messages WHERE mid NOT IN (SELECT mid FROM accepted)";

/// Creates database `name` on the server of `admin_url` and returns its URL (for tests
/// and benchmarks that each want a database of their own). `name` is an identifier of
/// letters, digits and `_`.
pub async fn create_database(admin_url: &str, name: &str) -> Result<String> {
    check_identifier(name)?;
    let mut conn = sqlx::PgConnection::connect(admin_url).await?;
    conn.execute(format!("CREATE DATABASE \"{name}\"").as_str())
        .await?;
    conn.close().await?;
    let base = admin_url
        .rsplit_once('/')
        .map_or(admin_url, |(base, _)| base);
    Ok(format!("{base}/{name}"))
}

/// Drops database `name` on the server of `admin_url`, closing its connections.
pub async fn drop_database(admin_url: &str, name: &str) -> Result<()> {
    check_identifier(name)?;
    let mut conn = sqlx::PgConnection::connect(admin_url).await?;
    conn.execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
        .await?;
    conn.close().await?;
    Ok(())
}

fn check_identifier(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(StoreError::Corrupt(format!(
            "`{name}` is not a database name"
        )))
    }
}

#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Self> {
        let connect = PgConnectOptions::from_str(url)?.application_name("veghe");
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.connect_timeout)
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute(CREATE_STAGING).await?;
                    Ok(())
                })
            })
            .connect_with(connect)
            .await?;
        Ok(PgStore { pool })
    }

    pub async fn migrate(&self) -> Result<()> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    pub async fn ping(&self) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        conn.ping().await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub async fn upsert_node(&self, node: &Node) -> Result<()> {
        sqlx::query(
            "INSERT INTO nodes (id, name, kind, lat, lon, installed_on, owner, public, status)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
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
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn register_pending(&self, nodes: &[Node]) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        for node in nodes {
            sqlx::query(
                "INSERT INTO nodes (id, name, kind, lat, lon, owner, public, status)
                 VALUES ($1, $2, $3, $4, $5, $6, false, 'pending') ON CONFLICT (id) DO NOTHING",
            )
            .bind(node.id.as_str())
            .bind(&node.name)
            .bind(&node.kind)
            .bind(node.lat)
            .bind(node.lon)
            .bind(&node.owner)
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
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(node_from_row).collect()
    }

    pub async fn node(&self, id: &NodeId) -> Result<Option<Node>> {
        let row = sqlx::query(
            "SELECT id, name, kind, lat, lon, installed_on, owner, public, status
             FROM nodes WHERE id = $1",
        )
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(node_from_row).transpose()
    }

    pub async fn write_batch(
        &self,
        messages: &[Message],
        dead_letters: &[DeadLetter],
    ) -> Result<WriteOutcome> {
        let mut tx = self.pool.begin().await?;
        let mut outcome = WriteOutcome::default();
        if !messages.is_empty() {
            let (staged_messages, staged_values) = copy_text(messages);
            let mut copy = tx
                .copy_in_raw("COPY incoming_messages (mid, node_id, seq, ts) FROM STDIN")
                .await?;
            copy.send(staged_messages.into_bytes()).await?;
            copy.finish().await?;
            let mut copy = tx
                .copy_in_raw("COPY incoming_values (mid, quantity, value) FROM STDIN")
                .await?;
            copy.send(staged_values.into_bytes()).await?;
            copy.finish().await?;
            let rows = sqlx::query(MERGE_STAGED).fetch_all(&mut *tx).await?;
            for row in &rows {
                outcome.readings += row.try_get::<i64, _>("stored")? as u64;
                if let Some(mid) = row.try_get::<Option<i32>, _>("mid")? {
                    outcome.duplicates.push(mid as usize);
                }
            }
            outcome.duplicates.sort_unstable();
        }
        insert_dead_letters(&mut tx, dead_letters).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    pub async fn upsert_latest(&self, values: &[LatestValue]) -> Result<()> {
        let mut sorted: Vec<&LatestValue> = values.iter().collect();
        // One lock order for every writer.
        sorted.sort_by(|a, b| (&a.node, a.quantity).cmp(&(&b.node, b.quantity)));
        let nodes: Vec<&str> = sorted.iter().map(|l| l.node.as_str()).collect();
        let quantities: Vec<&str> = sorted.iter().map(|l| l.quantity.name()).collect();
        let ts: Vec<DateTime<Utc>> = sorted.iter().map(|l| l.ts).collect();
        let value: Vec<f64> = sorted.iter().map(|l| l.value).collect();
        sqlx::query(
            "INSERT INTO latest_values (node_id, quantity, ts, value)
             SELECT DISTINCT ON (node_id, quantity) node_id, quantity, ts, value
             FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::float8[])
                  AS u(node_id, quantity, ts, value)
             ORDER BY node_id, quantity, ts DESC
             ON CONFLICT (node_id, quantity) DO UPDATE
                 SET ts = excluded.ts, value = excluded.value
                 WHERE latest_values.ts < excluded.ts",
        )
        .bind(&nodes)
        .bind(&quantities)
        .bind(&ts)
        .bind(&value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn latest_values(&self, public_only: bool) -> Result<Vec<LatestValue>> {
        let rows = sqlx::query(
            "SELECT l.node_id, l.quantity, l.ts, l.value FROM latest_values l
             JOIN nodes n ON n.id = l.node_id
             WHERE NOT $1 OR (n.public AND n.status = 'active')
             ORDER BY l.node_id, l.quantity",
        )
        .bind(public_only)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .filter_map(|row| latest_from_row(row).transpose())
            .collect()
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
                "SELECT ts, value, NULL::float8 AS min, NULL::float8 AS max, NULL::int8 AS n
                 FROM readings WHERE node_id = $1 AND quantity = $2 AND ts >= $3 AND ts < $4
                 ORDER BY ts LIMIT $5"
            }
            Bucket::Minute => {
                "SELECT bucket AS ts, sum / n AS value, min, max, n FROM readings_1m
                 WHERE node_id = $1 AND quantity = $2 AND bucket >= $3 AND bucket < $4
                 ORDER BY bucket LIMIT $5"
            }
            Bucket::Hour => {
                "SELECT bucket AS ts, sum / n AS value, min, max, n FROM readings_1h
                 WHERE node_id = $1 AND quantity = $2 AND bucket >= $3 AND bucket < $4
                 ORDER BY bucket LIMIT $5"
            }
            Bucket::Day => {
                "SELECT time_bucket('1 day', bucket) AS ts, sum(sum) / sum(n) AS value,
                        min(min) AS min, max(max) AS max, sum(n)::int8 AS n
                 FROM readings_1h
                 WHERE node_id = $1 AND quantity = $2 AND bucket >= $3 AND bucket < $4
                 GROUP BY 1 ORDER BY 1 LIMIT $5"
            }
        };
        let rows = sqlx::query(sql)
            .bind(node.as_str())
            .bind(quantity.name())
            .bind(from)
            .bind(to)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(SeriesPoint {
                    ts: row.try_get("ts")?,
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
             WHERE ($1::text IS NULL OR reason = $1) AND ($2::text IS NULL OR node_id = $2)
               AND ($3::timestamptz IS NULL OR received_at >= $3)
             ORDER BY id DESC LIMIT $4",
        )
        .bind(query.reason.map(RejectReason::as_str))
        .bind(query.node.as_deref())
        .bind(query.since)
        .bind(i64::from(query.limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let reason: String = row.try_get("reason")?;
                Ok(StoredDeadLetter {
                    id: row.try_get("id")?,
                    received_at: row.try_get("received_at")?,
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
        let mut tx = self.pool.begin().await?;
        let minutes: Vec<DateTime<Utc>> = sqlx::query_scalar(
            "DELETE FROM rollup_dirty WHERE bucket IN
                 (SELECT bucket FROM rollup_dirty WHERE bucket < $1 ORDER BY bucket LIMIT 10000)
             RETURNING bucket",
        )
        .bind(crate::types::closed_before(Utc::now()))
        .fetch_all(&mut *tx)
        .await?;
        if minutes.is_empty() {
            return Ok(RollupReport::default());
        }
        let minute = sqlx::query(
            "WITH dirty AS (SELECT unnest($1::timestamptz[]) AS bucket),
             fresh AS (
                 SELECT time_bucket('1 minute', r.ts) AS bucket, r.node_id, r.quantity,
                        count(*) AS n, sum(r.value) AS sum, min(r.value) AS min, max(r.value) AS max
                 FROM dirty d JOIN readings r
                   ON r.ts >= d.bucket AND r.ts < d.bucket + INTERVAL '1 minute'
                 GROUP BY 1, 2, 3)
             INSERT INTO readings_1m (bucket, node_id, quantity, n, sum, min, max)
             SELECT * FROM fresh
             ON CONFLICT (node_id, quantity, bucket) DO UPDATE SET
                 n = excluded.n, sum = excluded.sum, min = excluded.min, max = excluded.max",
        )
        .bind(&minutes)
        .execute(&mut *tx)
        .await?;
        let hour = sqlx::query(
            "WITH dirty AS (SELECT DISTINCT time_bucket('1 hour', b) AS bucket
                            FROM unnest($1::timestamptz[]) b),
             fresh AS (
                 SELECT time_bucket('1 hour', m.bucket) AS bucket, m.node_id, m.quantity,
                        sum(m.n)::int8 AS n, sum(m.sum) AS sum, min(m.min) AS min, max(m.max) AS max
                 FROM dirty d JOIN readings_1m m
                   ON m.bucket >= d.bucket AND m.bucket < d.bucket + INTERVAL '1 hour'
                 GROUP BY 1, 2, 3)
             INSERT INTO readings_1h (bucket, node_id, quantity, n, sum, min, max)
             SELECT * FROM fresh
             ON CONFLICT (node_id, quantity, bucket) DO UPDATE SET
                 n = excluded.n, sum = excluded.sum, min = excluded.min, max = excluded.max",
        )
        .bind(&minutes)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(RollupReport {
            minute_buckets: minute.rows_affected(),
            hour_buckets: hour.rows_affected(),
        })
    }

    pub async fn apply_retention(
        &self,
        policy: &RetentionPolicy,
        now: DateTime<Utc>,
    ) -> Result<RetentionReport> {
        let raw_cut = cutoff(now, policy.raw);
        let dropped: Vec<String> =
            sqlx::query_scalar("SELECT drop_chunks('readings', older_than => $1)::text")
                .bind(raw_cut)
                .fetch_all(&self.pool)
                .await?;
        sqlx::query("DELETE FROM sensor_messages WHERE received_at < $1 AND ts < $1")
            .bind(raw_cut)
            .execute(&self.pool)
            .await?;
        let m = sqlx::query("DELETE FROM readings_1m WHERE bucket < $1")
            .bind(cutoff(now, policy.minute))
            .execute(&self.pool)
            .await?;
        let h = sqlx::query("DELETE FROM readings_1h WHERE bucket < $1")
            .bind(cutoff(now, policy.hour))
            .execute(&self.pool)
            .await?;
        let d = sqlx::query("DELETE FROM dead_letters WHERE received_at < $1")
            .bind(cutoff(now, policy.dead_letters))
            .execute(&self.pool)
            .await?;
        Ok(RetentionReport {
            raw_removed: dropped.len() as u64,
            rollups_removed: m.rows_affected() + h.rows_affected(),
            dead_letters_removed: d.rows_affected(),
        })
    }

    pub async fn count_readings(&self, node: &NodeId) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM readings WHERE node_id = $1")
            .bind(node.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }
}

/// COPY text for the staging tables. Node ids and quantity names are validated
/// identifiers (no tabs, newlines or backslashes), so no escaping is needed.
fn copy_text(messages: &[Message]) -> (String, String) {
    let mut msgs = String::with_capacity(messages.len() * 64);
    let mut values = String::with_capacity(messages.len() * 8 * 24);
    for (mid, m) in messages.iter().enumerate() {
        let ts = m.ts.to_rfc3339_opts(SecondsFormat::Micros, true);
        let _ = match m.seq {
            Some(seq) => writeln!(msgs, "{mid}\t{}\t{seq}\t{ts}", m.node),
            None => writeln!(msgs, "{mid}\t{}\t\\N\t{ts}", m.node),
        };
        for (q, v) in &m.values {
            // `{:?}` on f64 prints the shortest exact representation.
            let _ = writeln!(values, "{mid}\t{}\t{v:?}", q.name());
        }
    }
    (msgs, values)
}

async fn insert_dead_letters(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    dead_letters: &[DeadLetter],
) -> Result<()> {
    if dead_letters.is_empty() {
        return Ok(());
    }
    let mut received = Vec::with_capacity(dead_letters.len());
    let mut source = Vec::with_capacity(dead_letters.len());
    let mut node = Vec::with_capacity(dead_letters.len());
    let mut reason = Vec::with_capacity(dead_letters.len());
    let mut detail = Vec::with_capacity(dead_letters.len());
    let mut payload = Vec::with_capacity(dead_letters.len());
    for d in dead_letters {
        received.push(d.received_at);
        source.push(d.source.as_str());
        node.push(d.node.as_deref());
        reason.push(d.reason.as_str());
        detail.push(d.detail.as_str());
        // PostgreSQL text cannot hold NUL.
        payload.push(d.payload.replace('\0', "\u{FFFD}"));
    }
    sqlx::query(
        "INSERT INTO dead_letters (received_at, source, node_id, reason, detail, payload)
         SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])",
    )
    .bind(&received)
    .bind(&source)
    .bind(&node)
    .bind(&reason)
    .bind(&detail)
    .bind(&payload)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn node_from_row(row: &PgRow) -> Result<Node> {
    let id: String = row.try_get("id")?;
    let status: String = row.try_get("status")?;
    Ok(Node {
        id: NodeId::new(id.clone())
            .map_err(|e| StoreError::Corrupt(format!("node id `{id}`: {e}")))?,
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

/// A latest value; `None` for a quantity this build does not know (left by a newer one).
fn latest_from_row(row: &PgRow) -> Result<Option<LatestValue>> {
    let node: String = row.try_get("node_id")?;
    let quantity: String = row.try_get("quantity")?;
    let Ok(quantity) = quantity.parse::<Quantity>() else {
        return Ok(None);
    };
    Ok(Some(LatestValue {
        node: NodeId::new(node.clone())
            .map_err(|e| StoreError::Corrupt(format!("node id `{node}`: {e}")))?,
        quantity,
        ts: row.try_get("ts")?,
        value: row.try_get("value")?,
    }))
}
