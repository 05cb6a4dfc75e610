//! `GET /api/v1/sensors/{id}/readings?quantity=&from=&to=&bucket=raw|1m|1h|1d&limit=`

use axum::extract::{Path, Query, State};
use axum::Json;
use chrono::{Duration, Utc};
use serde::Deserialize;
use serde_json::{json, Value};
use veghe_sensors::Quantity;
use veghe_store::Bucket;

use super::parse_time;
use crate::api::sensors::public_node;
use crate::{ApiError, AppState};

const DEFAULT_LIMIT: u32 = 10_000;
const MAX_LIMIT: u32 = 100_000;

#[derive(Debug, Deserialize)]
pub struct SeriesQuery {
    quantity: Option<String>,
    from: Option<String>,
    to: Option<String>,
    bucket: Option<String>,
    limit: Option<u32>,
}

pub async fn readings(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<SeriesQuery>,
) -> Result<Json<Value>, ApiError> {
    let node = public_node(&state, &id).await?;
    let quantity: Quantity = q
        .quantity
        .as_deref()
        .ok_or_else(|| ApiError::BadRequest("`quantity` is required, e.g. quantity=pm2_5".into()))?
        .parse()
        .map_err(|e| ApiError::BadRequest(format!("{e}; see /api/v1/quantities")))?;
    let bucket = match q.bucket.as_deref() {
        None => Bucket::Raw,
        Some(b) => Bucket::parse(b).ok_or_else(|| {
            ApiError::BadRequest(format!("`bucket` must be raw, 1m, 1h or 1d, not {b:?}"))
        })?,
    };
    let to = parse_time("to", q.to.as_deref())?.unwrap_or_else(Utc::now);
    let from = parse_time("from", q.from.as_deref())?.unwrap_or(to - Duration::hours(24));
    if from >= to {
        return Err(ApiError::BadRequest("`from` must be before `to`".into()));
    }
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::BadRequest(format!(
            "`limit` must be 1..={MAX_LIMIT}"
        )));
    }
    let points = state
        .store
        .series(&node.id, quantity, from, to, bucket, limit)
        .await?;
    Ok(Json(json!({
        "node": node.id,
        "quantity": quantity.name(),
        "unit": quantity.unit(),
        "bucket": bucket.as_str(),
        "from": from,
        "to": to,
        "truncated": points.len() as u32 == limit,
        "points": points,
    })))
}
