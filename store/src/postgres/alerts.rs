//! Alerts on PostgreSQL: raising (one open alert per key, enforced by a partial unique
//! index), transitions under a row lock, the timeline, evidence frames and the change
//! log that streams resume from.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{Postgres, Row, Transaction};
use veghe_alerts::{lifecycle, Alert, AlertId, AlertState, RaisedEvent, Transition};

use super::PgStore;
use crate::alert_types::{
    closes, cooldown_start, merge, parse_state, AlertColumns, OpenAlert, SYSTEM_ACTOR,
};
use crate::{AlertQuery, RaiseChange, RaiseOutcome, Result, StoreError};

/// Every column of an alert, `has_evidence` without reading the frame.
macro_rules! select_alert {
    ($($rest:literal)*) => {
        concat!(
            "SELECT a.id, a.key, a.kind, a.severity, a.source_type, a.source_id, a.rule,
                    a.scope, a.title, a.lat, a.lon, a.first_seen, a.last_seen, a.count,
                    a.score, a.class_name, a.bbox, a.details::text AS details,
                    EXISTS (SELECT 1 FROM alert_evidence e WHERE e.alert_id = a.id) AS has_evidence,
                    a.state, a.assignee, a.closed_at, a.seq
             FROM alerts a ",
            $($rest),*
        )
    };
}

/// Held from a change-log append to the commit: seq order is commit order, so a
/// stream that has read up to seq n never meets a later commit below n.
const CHANGE_LOG_LOCK: i64 = 0x7665_6768_6501;

/// How often a raise starts over when a concurrent raiser of the same key won the
/// insert (it then finds and updates that alert; more rounds only when alerts of the
/// key keep closing in between).
const RAISE_ATTEMPTS: usize = 8;

impl PgStore {
    pub async fn raise_alert(&self, ev: &RaisedEvent, cooldown: Duration) -> Result<RaiseOutcome> {
        let key = ev.key.as_string();
        for _ in 0..RAISE_ATTEMPTS {
            let mut tx = self.pool.begin().await?;
            let open = sqlx::query(
                "SELECT a.id, a.severity, a.last_seen, a.score,
                        EXISTS (SELECT 1 FROM alert_evidence e WHERE e.alert_id = a.id) AS has_evidence
                 FROM alerts a
                 WHERE a.key = $1 AND a.state IN ('new', 'acknowledged', 'dispatched')
                 FOR UPDATE",
            )
            .bind(&key)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = open {
                let open = OpenAlert {
                    id: row.try_get("id")?,
                    severity: crate::alert_types::parse_severity(row.try_get("severity")?)?,
                    last_seen: row.try_get("last_seen")?,
                    score: row.try_get("score")?,
                    has_evidence: row.try_get("has_evidence")?,
                };
                let alert = update_open(&mut tx, &open, ev).await?;
                tx.commit().await?;
                return Ok(RaiseOutcome {
                    alert: Some(alert),
                    change: RaiseChange::Updated,
                });
            }
            let closed: Option<DateTime<Utc>> = sqlx::query_scalar(
                "SELECT max(closed_at) FROM alerts WHERE key = $1 AND closed_at IS NOT NULL",
            )
            .bind(&key)
            .fetch_one(&mut *tx)
            .await?;
            if closed.is_some_and(|c| c > cooldown_start(ev.at, cooldown)) {
                tx.rollback().await?;
                return Ok(RaiseOutcome {
                    alert: None,
                    change: RaiseChange::Suppressed,
                });
            }
            // A concurrent raiser may insert first: this insert then waits for its
            // commit and does nothing, and the next round updates that alert.
            let id: Option<AlertId> = sqlx::query_scalar(
                "INSERT INTO alerts (key, kind, severity, source_type, source_id, rule, scope,
                     title, lat, lon, first_seen, last_seen, count, score, class_name, bbox,
                     details, state)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, 1, $12, $13, $14,
                     $15::jsonb, 'new')
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
            .bind(ev.at)
            .bind(ev.score)
            .bind(ev.class_name.as_deref())
            .bind(ev.bbox.map(|b| b.to_vec()))
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
        let mut tx = self.pool.begin().await?;
        let from: Option<String> =
            sqlx::query_scalar("SELECT state FROM alerts WHERE id = $1 FOR UPDATE")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(from) = from else {
            return Err(StoreError::NotFound(format!("alert {id}")));
        };
        let from = parse_state(&from)?;
        lifecycle::check(from, to)?;
        sqlx::query(
            "UPDATE alerts SET state = $2, assignee = coalesce($3, assignee),
                 closed_at = CASE WHEN $4 THEN $5 ELSE closed_at END
             WHERE id = $1",
        )
        .bind(id)
        .bind(to.as_str())
        .bind(assignee)
        .bind(closes(to))
        .bind(at)
        .execute(&mut *tx)
        .await?;
        insert_transition(&mut tx, id, Some(from), to, by, at, note).await?;
        log_change(&mut tx, id, "transition", at).await?;
        let alert = fetch(&mut tx, id).await?;
        tx.commit().await?;
        Ok(alert)
    }

    pub async fn alert(&self, id: AlertId) -> Result<Option<Alert>> {
        let row = sqlx::query(select_alert!("WHERE a.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(alert_from_row).transpose()
    }

    pub async fn alerts(&self, q: &AlertQuery) -> Result<Vec<Alert>> {
        let (min_lat, min_lon, max_lat, max_lon) = match q.area {
            Some((a, b, c, d)) => (Some(a), Some(b), Some(c), Some(d)),
            None => (None, None, None, None),
        };
        let rows = sqlx::query(select_alert!(
            "WHERE a.state = ANY($1::text[])
               AND (cardinality($2::text[]) = 0 OR a.kind = ANY($2::text[]))
               AND (cardinality($3::text[]) = 0 OR a.severity = ANY($3::text[]))
               AND ($4::float8 IS NULL OR (a.lat BETWEEN $4 AND $6 AND a.lon BETWEEN $5 AND $7))
               AND ($8::timestamptz IS NULL OR a.last_seen >= $8)
             ORDER BY CASE a.severity WHEN 'critical' THEN 0 WHEN 'major' THEN 1
                                      WHEN 'minor' THEN 2 ELSE 3 END,
                      a.last_seen DESC, a.id DESC
             LIMIT $9"
        ))
        .bind(q.state_names())
        .bind(q.kind_names())
        .bind(q.severity_names())
        .bind(min_lat)
        .bind(min_lon)
        .bind(max_lat)
        .bind(max_lon)
        .bind(q.since)
        .bind(i64::from(q.limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(alert_from_row).collect()
    }

    pub async fn alert_timeline(&self, id: AlertId) -> Result<Vec<Transition>> {
        let rows = sqlx::query(
            "SELECT alert_id, from_state, to_state, by_user, at, note FROM alert_transitions
             WHERE alert_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let from: Option<String> = row.try_get("from_state")?;
                Ok(Transition {
                    alert_id: row.try_get("alert_id")?,
                    from: from.as_deref().map(parse_state).transpose()?,
                    to: parse_state(row.try_get("to_state")?)?,
                    by: row.try_get("by_user")?,
                    at: row.try_get("at")?,
                    note: row.try_get("note")?,
                })
            })
            .collect()
    }

    pub async fn alert_evidence(&self, id: AlertId) -> Result<Option<Vec<u8>>> {
        Ok(
            sqlx::query_scalar("SELECT jpeg FROM alert_evidence WHERE alert_id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub async fn alert_changes_since(&self, seq: i64, limit: u32) -> Result<Vec<Alert>> {
        let rows = sqlx::query(select_alert!("WHERE a.seq > $1 ORDER BY a.seq LIMIT $2"))
            .bind(seq)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(alert_from_row).collect()
    }

    pub async fn latest_alert_seq(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT coalesce(max(seq), 0)::int8 FROM alert_changes")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    pub async fn delete_alert_evidence_before(&self, before: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query(
            "DELETE FROM alert_evidence WHERE alert_id IN
                 (SELECT id FROM alerts WHERE last_seen < $1)",
        )
        .bind(before)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}

/// Merges an event into the open alert `open` (locked by the caller).
async fn update_open(
    tx: &mut Transaction<'_, Postgres>,
    open: &OpenAlert,
    ev: &RaisedEvent,
) -> Result<Alert> {
    let m = merge(open, ev);
    sqlx::query(
        "UPDATE alerts SET count = count + 1, last_seen = $2, severity = $3,
             lat = CASE WHEN lat IS NULL OR lon IS NULL THEN $4 ELSE lat END,
             lon = CASE WHEN lat IS NULL OR lon IS NULL THEN $5 ELSE lon END
         WHERE id = $1",
    )
    .bind(open.id)
    .bind(m.last_seen)
    .bind(m.severity.as_str())
    .bind(ev.position.map(|p| p.lat))
    .bind(ev.position.map(|p| p.lon))
    .execute(&mut **tx)
    .await?;
    if let (true, Some(jpeg)) = (m.best_evidence, &ev.evidence_jpeg) {
        sqlx::query(
            "UPDATE alerts SET score = $2, class_name = $3, bbox = $4, details = $5::jsonb
             WHERE id = $1",
        )
        .bind(open.id)
        .bind(ev.score)
        .bind(ev.class_name.as_deref())
        .bind(ev.bbox.map(|b| b.to_vec()))
        .bind(ev.details.to_string())
        .execute(&mut **tx)
        .await?;
        put_evidence(tx, open.id, jpeg).await?;
    }
    log_change(tx, open.id, "updated", ev.at).await?;
    fetch(tx, open.id).await
}

async fn put_evidence(tx: &mut Transaction<'_, Postgres>, id: AlertId, jpeg: &[u8]) -> Result<()> {
    sqlx::query(
        "INSERT INTO alert_evidence (alert_id, jpeg) VALUES ($1, $2)
         ON CONFLICT (alert_id) DO UPDATE SET jpeg = excluded.jpeg",
    )
    .bind(id)
    .bind(jpeg)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn insert_transition(
    tx: &mut Transaction<'_, Postgres>,
    id: AlertId,
    from: Option<AlertState>,
    to: AlertState,
    by: &str,
    at: DateTime<Utc>,
    note: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO alert_transitions (alert_id, from_state, to_state, by_user, at, note)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(from.map(AlertState::as_str))
    .bind(to.as_str())
    .bind(by)
    .bind(at)
    .bind(note)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Appends to the change log and stamps the alert with the new seq. Last statement
/// group before the commit: the lock it takes is held until then.
async fn log_change(
    tx: &mut Transaction<'_, Postgres>,
    id: AlertId,
    change: &str,
    at: DateTime<Utc>,
) -> Result<i64> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(CHANGE_LOG_LOCK)
        .execute(&mut **tx)
        .await?;
    let seq: i64 = sqlx::query_scalar(
        "WITH c AS (INSERT INTO alert_changes (alert_id, change, at) VALUES ($1, $2, $3)
                    RETURNING seq)
         UPDATE alerts SET seq = c.seq FROM c WHERE alerts.id = $1 RETURNING alerts.seq",
    )
    .bind(id)
    .bind(change)
    .bind(at)
    .fetch_one(&mut **tx)
    .await?;
    Ok(seq)
}

async fn fetch(tx: &mut Transaction<'_, Postgres>, id: AlertId) -> Result<Alert> {
    let row = sqlx::query(select_alert!("WHERE a.id = $1"))
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    alert_from_row(&row)
}

fn alert_from_row(row: &PgRow) -> Result<Alert> {
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
        first_seen: row.try_get("first_seen")?,
        last_seen: row.try_get("last_seen")?,
        count: row.try_get("count")?,
        score: row.try_get("score")?,
        class_name: row.try_get("class_name")?,
        bbox: row.try_get("bbox")?,
        details: row.try_get("details")?,
        has_evidence: row.try_get("has_evidence")?,
        state: row.try_get("state")?,
        assignee: row.try_get("assignee")?,
        closed_at: row.try_get("closed_at")?,
        seq: row.try_get("seq")?,
    }
    .into_alert()
}
