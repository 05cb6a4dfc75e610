//! `GET /api/v1/dead-letters?reason=&node=&since=&limit=`: what ingest refused and why.

use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use veghe_sensors::RejectReason;
use veghe_store::DeadLetterQuery;

use super::parse_time;
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize)]
pub struct Params {
    reason: Option<String>,
    node: Option<String>,
    since: Option<String>,
    limit: Option<u32>,
}

pub async fn list(
    State(state): State<AppState>,
    Query(p): Query<Params>,
) -> Result<Json<Value>, ApiError> {
    let reason = p
        .reason
        .as_deref()
        .map(|r| {
            RejectReason::parse(r).ok_or_else(|| {
                let known: Vec<_> = RejectReason::ALL.iter().map(|r| r.as_str()).collect();
                ApiError::BadRequest(format!("unknown reason {r:?}; one of {}", known.join(", ")))
            })
        })
        .transpose()?;
    let limit = p.limit.unwrap_or(100).clamp(1, 10_000);
    let query = DeadLetterQuery {
        reason,
        node: p.node,
        since: parse_time("since", p.since.as_deref())?,
        limit,
    };
    let letters = state.store.dead_letters(&query).await?;
    Ok(Json(json!({ "dead_letters": letters })))
}
