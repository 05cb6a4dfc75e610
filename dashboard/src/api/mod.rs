//! JSON API handlers.

pub mod dead_letters;
pub mod open_data;
pub mod push;
pub mod sensors;
pub mod series;

use axum::Json;
use veghe_sensors::Quantity;

/// The fixed catalogue of quantities: names, units, descriptions, valid ranges.
pub async fn quantities() -> Json<serde_json::Value> {
    let list: Vec<_> = Quantity::ALL
        .iter()
        .map(|q| {
            let (min, max) = q.valid_range();
            serde_json::json!({
                "name": q.name(), "unit": q.unit(), "description": q.description(),
                "valid_min": min, "valid_max": max,
            })
        })
        .collect();
    Json(serde_json::Value::Array(list))
}

/// `GET /api/v1/openapi.json`: the API described in OpenAPI 3.1.
pub async fn openapi() -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        include_str!("openapi.json"),
    )
}

/// Parses an RFC 3339 query parameter.
pub(crate) fn parse_time(
    name: &str,
    value: Option<&str>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, crate::ApiError> {
    value
        .map(|v| {
            chrono::DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&chrono::Utc))
                .map_err(|e| {
                    crate::ApiError::BadRequest(format!("`{name}` is not RFC 3339 ({e}): {v:?}"))
                })
        })
        .transpose()
}
