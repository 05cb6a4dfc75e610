//! Alerts on SQLite: the same semantics as PostgreSQL. Writes go through the one
//! writer connection inside `BEGIN IMMEDIATE` transactions, so that raisers and
//! transitions of this process serialise on the pool and other processes on the
//! database's write lock (waiting up to the busy timeout) instead of failing on a
//! read-then-write upgrade.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};
use veghe_alerts::{lifecycle, Alert, AlertId, AlertState, RaisedEvent, Transition};

use super::{from_micros, SqliteStore};
use crate::alert_types::{
    closes, cooldown_start, merge, parse_severity, parse_state, AlertColumns, OpenAlert,
    SYSTEM_ACTOR,
};
use crate::{AlertQuery, RaiseChange, RaiseOutcome, Result, StoreError};

/// Every column of an alert, `has_evidence` without reading the frame.
macro_rules! select_alert {
    ($($rest:literal)*) => {
        concat!(
            "SELECT a.id, a.key, a.kind, a.severity, a.source_type, a.source_id, a.rule,
                    a.scope, a.title, a.lat, a.lon, a.first_seen, a.last_seen, a.count,
                    a.score, a.class_name, a.bbox, a.details,
                    EXISTS (SELECT 1 FROM alert_evidence e WHERE e.alert_id = a.id) AS has_evidence,
                    a.state, a.assignee, a.closed_at, a.seq
             FROM alerts a ",
            $($rest),*
        )
    };
}

const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

/// As on PostgreSQL; with one writer the first round always settles it.
const RAISE_ATTEMPTS: usize = 8;

impl SqliteStore {
    pub async fn raise_alert(&self, ev: &RaisedEvent, cooldown: Duration) -> Result<RaiseOutcome> {
        let key = ev.key.as_string();
        for _ in 0..RAISE_ATTEMPTS {
            let mut tx = self.writer.begin_with(BEGIN_WRITE).await?;
            let open = sqlx::query(
                "SELECT a.id, a.severity, a.last_seen, a.score,
                        EXISTS (SELECT 1 FROM alert_evidence e WHERE e.alert_id = a.id) AS has_evidence
                 FROM alerts a
                 WHERE a.key = ?1 AND a.state IN ('new', 'acknowledged', 'dispatched')",
            )
            .bind(&key)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = open {
                let open = OpenAlert {
                    id: row.try_get("id")?,
                    severity: parse_severity(row.try_get("severity")?)?,
                    last_seen: from_micros(row.try_get("last_seen")?)?,
                    score: row.try_get::<Option<f64>, _>("score")?.map(|s| s as f32),
                    has_evidence: row.try_get("has_evidence")?,
                };
                let alert = update_open(&mut tx, &open, ev).await?;
                tx.commit().await?;
                return Ok(RaiseOutcome {
                    alert: Some(alert),
                    change: RaiseChange::Updated,
                });
            }
            let closed: Option<i64> = sqlx::query_scalar(
                "SELECT max(closed_at) FROM alerts WHERE key = ?1 AND closed_at IS NOT NULL",
            )
            .bind(&key)
            .fetch_one(&mut *tx)
            .await?;
            if closed.is_some_and(|c| c > cooldown_start(ev.at, cooldown).timestamp_micros()) {
                tx.rollback().await?;
                return Ok(RaiseOutcome {
                    alert: None,
                    change: RaiseChange::Suppressed,
                });
            }
            let id: Option<AlertId> = sqlx::query_scalar(
                "INSERT INTO alerts (key, kind, severity, source_type, source_id, rule, scope,
                     title, lat, lon, first_seen, last_seen, count, score, class_name, bbox,
                     details, state)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, 1, ?12, ?13, ?14,
                     ?15, 'new')
                 ON CONFLICT (key) WHERE state IN ('new', 'acknowledged', 'dispatched') DO NOTHING
                 RETURNING id",
            )
            .bind(&key)
            .bind(ev.kind.as_str())
            .bind(ev.severity.as_str())
            .bind(ev.key.source.kind_str())
            .bind(ev.key.source.id())
            .bind(&ev.key.rule)
            .bind(&ev.key.scope)
            .bind(&ev.title)
            .bind(ev.position.map(|p| p.lat))
            .bind(ev.position.map(|p| p.lon))
            .bind(ev.at.timestamp_micros())
            .bind(ev.score.map(f64::from))
            .bind(ev.class_name.as_deref())
            .bind(bbox_json(ev.bbox))
            .bind(ev.details.to_string())
            .fetch_optional(&mut *tx)
            .await?;
            let Some(id) = id else {
                tx.rollback().await?;
                continue;
            };
            if let Some(jpeg) = &ev.evidence_jpeg {
                put_evidence(&mut tx, id, jpeg).await?;
            }
            insert_transition(&mut tx, id, None, AlertState::New, SYSTEM_ACTOR, ev.at, None).await?;
            log_change(&mut tx, id, "created", ev.at).await?;
            let alert = fetch(&mut tx, id).await?;
            tx.commit().await?;
            return Ok(RaiseOutcome {
                alert: Some(alert),
                change: RaiseChange::Created,
            });
        }
        Err(StoreError::Conflict(format!(
            "alert key {key} changed under {RAISE_ATTEMPTS} attempts to raise it"
        )))
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn transition_alert(
        &self,
        id: AlertId,
        to: AlertState,
        by: &str,
        note: Option<&str>,
        assignee: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Alert> {
        let mut tx = self.writer.begin_with(BEGIN_WRITE).await?;
        let from: Option<String> = sqlx::query_scalar("SELECT state FROM alerts WHERE id = ?1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(from) = from else {
            return Err(StoreError::NotFound(format!("alert {id}")));
        };
        let from = parse_state(&from)?;
        lifecycle::check(from, to)?;
        sqlx::query(
            "UPDATE alerts SET state = ?2, assignee = coalesce(?3, assignee),
                 closed_at = CASE WHEN ?4 THEN ?5 ELSE closed_at END
             WHERE id = ?1",
        )
        .bind(id)
        .bind(to.as_str())
        .bind(assignee)
        .bind(closes(to))
        .bind(at.timestamp_micros())
        .execute(&mut *tx)
        .await?;
        insert_transition(&mut tx, id, Some(from), to, by, at, note).await?;
        log_change(&mut tx, id, "transition", at).await?;
        let alert = fetch(&mut tx, id).await?;
        tx.commit().await?;
        Ok(alert)
    }

    pub async fn alert(&self, id: AlertId) -> Result<Option<Alert>> {
        let row = sqlx::query(select_alert!("WHERE a.id = ?1"))
            .bind(id)
            .fetch_optional(&self.readers)
            .await?;
        row.as_ref().map(alert_from_row).transpose()
    }

    pub async fn alerts(&self, q: &AlertQuery) -> Result<Vec<Alert>> {
        let (min_lat, min_lon, max_lat, max_lon) = match q.area {
            Some((a, b, c, d)) => (Some(a), Some(b), Some(c), Some(d)),
            None => (None, None, None, None),
        };
        let rows = sqlx::query(select_alert!(
            "WHERE a.state IN (SELECT value FROM json_each(?1))
               AND (json_array_length(?2) = 0 OR a.kind IN (SELECT value FROM json_each(?2)))
               AND (json_array_length(?3) = 0 OR a.severity IN (SELECT value FROM json_each(?3)))
               AND (?4 IS NULL OR (a.lat BETWEEN ?4 AND ?6 AND a.lon BETWEEN ?5 AND ?7))
               AND (?8 IS NULL OR a.last_seen >= ?8)
             ORDER BY CASE a.severity WHEN 'critical' THEN 0 WHEN 'major' THEN 1
                                      WHEN 'minor' THEN 2 ELSE 3 END,
                      a.last_seen DESC, a.id DESC
             LIMIT ?9"
        ))
        .bind(json_list(&q.state_names()))
        .bind(json_list(&q.kind_names()))
        .bind(json_list(&q.severity_names()))
        .bind(min_lat)
        .bind(min_lon)
        .bind(max_lat)
        .bind(max_lon)
        .bind(q.since.map(|t| t.timestamp_micros()))
        .bind(i64::from(q.limit))
        .fetch_all(&self.readers)
        .await?;
        rows.iter().map(alert_from_row).collect()
    }

    pub async fn alert_timeline(&self, id: AlertId) -> Result<Vec<Transition>> {
        let rows = sqlx::query(
            "SELECT alert_id, from_state, to_state, by_user, at, note FROM alert_transitions
             WHERE alert_id = ?1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.readers)
        .await?;
        rows.iter()
            .map(|row| {
                let from: Option<String> = row.try_get("from_state")?;
                Ok(Transition {
                    alert_id: row.try_get("alert_id")?,
                    from: from.as_deref().map(parse_state).transpose()?,
                    to: parse_state(row.try_get("to_state")?)?,
                    by: row.try_get("by_user")?,
                    at: from_micros(row.try_get("at")?)?,
                    note: row.try_get("note")?,
                })
            })
            .collect()
    }

    pub async fn alert_evidence(&self, id: AlertId) -> Result<Option<Vec<u8>>> {
        Ok(
            sqlx::query_scalar("SELECT jpeg FROM alert_evidence WHERE alert_id = ?1")
                .bind(id)
                .fetch_optional(&self.readers)
                .await?,
        )
    }

    pub async fn alert_changes_since(&self, seq: i64, limit: u32) -> Result<Vec<Alert>> {
        let rows = sqlx::query(select_alert!("WHERE a.seq > ?1 ORDER BY a.seq LIMIT ?2"))
            .bind(seq)
            .bind(i64::from(limit))
            .fetch_all(&self.readers)
            .await?;
        rows.iter().map(alert_from_row).collect()
    }

    pub async fn latest_alert_seq(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM alert_changes")
                .fetch_one(&self.readers)
                .await?,
        )
    }

    pub async fn delete_alert_evidence_before(&self, before: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query(
            "DELETE FROM alert_evidence WHERE alert_id IN
                 (SELECT id FROM alerts WHERE last_seen < ?1)",
        )
        .bind(before.timestamp_micros())
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected())
    }
}

/// Merges an event into the open alert `open` (the caller holds the write lock).
async fn update_open(
    tx: &mut Transaction<'_, Sqlite>,
    open: &OpenAlert,
    ev: &RaisedEvent,
) -> Result<Alert> {
    let m = merge(open, ev);
    sqlx::query(
        "UPDATE alerts SET count = count + 1, last_seen = ?2, severity = ?3,
             lat = CASE WHEN lat IS NULL OR lon IS NULL THEN ?4 ELSE lat END,
             lon = CASE WHEN lat IS NULL OR lon IS NULL THEN ?5 ELSE lon END
         WHERE id = ?1",
    )
    .bind(open.id)
    .bind(m.last_seen.timestamp_micros())
    .bind(m.severity.as_str())
    .bind(ev.position.map(|p| p.lat))
    .bind(ev.position.map(|p| p.lon))
    .execute(&mut **tx)
    .await?;
    if let (true, Some(jpeg)) = (m.best_evidence, &ev.evidence_jpeg) {
        sqlx::query(
            "UPDATE alerts SET score = ?2, class_name = ?3, bbox = ?4, details = ?5 WHERE id = ?1",
        )
        .bind(open.id)
        .bind(ev.score.map(f64::from))
        .bind(ev.class_name.as_deref())
        .bind(bbox_json(ev.bbox))
        .bind(ev.details.to_string())
        .execute(&mut **tx)
        .await?;
        put_evidence(tx, open.id, jpeg).await?;
    }
    log_change(tx, open.id, "updated", ev.at).await?;
    fetch(tx, open.id).await
}

async fn put_evidence(tx: &mut Transaction<'_, Sqlite>, id: AlertId, jpeg: &[u8]) -> Result<()> {
    sqlx::query(
        "INSERT INTO alert_evidence (alert_id, jpeg) VALUES (?1, ?2)
         ON CONFLICT (alert_id) DO UPDATE SET jpeg = excluded.jpeg",
    )
    .bind(id)
    .bind(jpeg)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_transition(
    tx: &mut Transaction<'_, Sqlite>,
    id: AlertId,
    from: Option<AlertState>,
    to: AlertState,
    by: &str,
    at: DateTime<Utc>,
    note: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO alert_transitions (alert_id, from_state, to_state, by_user, at, note)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .bind(id)
    .bind(from.map(AlertState::as_str))
    .bind(to.as_str())
    .bind(by)
    .bind(at.timestamp_micros())
    .bind(note)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Appends to the change log and stamps the alert with the new seq.
async fn log_change(
    tx: &mut Transaction<'_, Sqlite>,
    id: AlertId,
    change: &str,
    at: DateTime<Utc>,
) -> Result<i64> {
    let seq: i64 = sqlx::query_scalar(
        "INSERT INTO alert_changes (alert_id, change, at) VALUES (?1, ?2, ?3) RETURNING seq",
    )
    .bind(id)
    .bind(change)
    .bind(at.timestamp_micros())
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query("UPDATE alerts SET seq = ?2 WHERE id = ?1")
        .bind(id)
        .bind(seq)
        .execute(&mut **tx)
        .await?;
    Ok(seq)
}

async fn fetch(tx: &mut Transaction<'_, Sqlite>, id: AlertId) -> Result<Alert> {
    let row = sqlx::query(select_alert!("WHERE a.id = ?1"))
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    alert_from_row(&row)
}

fn bbox_json(bbox: Option<[f32; 4]>) -> Option<String> {
    bbox.map(|b| serde_json::json!(b).to_string())
}

fn json_list(items: &[&str]) -> String {
    serde_json::Value::from(items.to_vec()).to_string()
}

fn alert_from_row(row: &SqliteRow) -> Result<Alert> {
    let bbox = match row.try_get::<Option<String>, _>("bbox")? {
        None => None,
        Some(text) => Some(
            serde_json::from_str::<Vec<f32>>(&text)
                .map_err(|e| StoreError::Corrupt(format!("alert box `{text}`: {e}")))?,
        ),
    };
    AlertColumns {
        id: row.try_get("id")?,
        key: row.try_get("key")?,
        kind: row.try_get("kind")?,
        severity: row.try_get("severity")?,
        source_type: row.try_get("source_type")?,
        source_id: row.try_get("source_id")?,
        rule: row.try_get("rule")?,
        scope: row.try_get("scope")?,
        title: row.try_get("title")?,
        lat: row.try_get("lat")?,
        lon: row.try_get("lon")?,
        first_seen: from_micros(row.try_get("first_seen")?)?,
        last_seen: from_micros(row.try_get("last_seen")?)?,
        count: row.try_get("count")?,
        score: row.try_get::<Option<f64>, _>("score")?.map(|s| s as f32),
        class_name: row.try_get("class_name")?,
        bbox,
        details: row.try_get("details")?,
        has_evidence: row.try_get("has_evidence")?,
        state: row.try_get("state")?,
        assignee: row.try_get("assignee")?,
        closed_at: row
            .try_get::<Option<i64>, _>("closed_at")?
            .map(from_micros)
            .transpose()?,
        seq: row.try_get("seq")?,
    }
    .into_alert()
}
