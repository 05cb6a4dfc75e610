//! `POST /api/v1/push/sensor-community`: the custom-API push of airrohr firmware.
//! Answers once what the push carried is committed.

use std::sync::atomic::Ordering::Relaxed;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::Utc;
use serde_json::{json, Value};
use veghe_ingest::airrohr;

use crate::{ApiError, AppState};

pub async fn sensor_community(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    state.ingest.metrics.received_http.fetch_add(1, Relaxed);
    let x_sensor = headers.get("x-sensor").and_then(|v| v.to_str().ok());
    let x_pin = headers
        .get("x-pin")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let push = airrohr::decode_push(x_sensor, &body, Utc::now(), &state.ingest.config.limits);
    let refused_whole = push.decoded.message.is_none();
    let first_reason = push.decoded.dead_letters.first().map(|d| d.detail.clone());
    let receipt = state
        .ingest
        .submit_and_wait(push.decoded, "sensor-community", push.location)
        .await?;
    let body = json!({ "stored": receipt.stored, "rejected": receipt.rejected,
        "duplicate": receipt.duplicate, "x_pin": x_pin });
    if refused_whole {
        let reason = first_reason.unwrap_or_else(|| "nothing to store".into());
        return Err(ApiError::Unprocessable(format!("push refused: {reason}")));
    }
    Ok((StatusCode::OK, Json(body)))
}
