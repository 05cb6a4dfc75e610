//! Open data for citizens, no log-in, with CORS so other sites may use it: a
//! Sensor.Community-style `/data.json` of the last five minutes, and a CSV of one public
//! node's readings for one day. Private and pending nodes never appear.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{Duration, NaiveDate, Utc};
use serde_json::{json, Value};
use veghe_sensors::{NodeStatus, Quantity};
use veghe_store::Bucket;

use crate::api::sensors::public_node;
use crate::{ApiError, AppState};

/// How far back `/data.json` looks, as Sensor.Community's does.
const DATA_JSON_WINDOW_MIN: i64 = 5;
/// Readings of one quantity in one day's CSV at most (one a second).
const CSV_DAY_LIMIT: u32 = 86_400;

/// Sensor.Community's public value type for a quantity (its names without the sensor
/// prefix); veghe's own name for the quantities it has no name for.
pub fn public_value_type(q: Quantity) -> &'static str {
    match q {
        Quantity::Pm10 => "P1",
        Quantity::Pm2_5 => "P2",
        Quantity::Pm1 => "P0",
        Quantity::Pm4 => "P4",
        Quantity::Laeq => "noise_LAeq",
        Quantity::Lamin => "noise_LA_min",
        Quantity::Lamax => "noise_LA_max",
        other => other.name(),
    }
}

/// `GET /data.json`: every public node that reported in the last five minutes, with its
/// latest value of each quantity, in the shape of Sensor.Community's `data.json`
/// (values as strings; pressure in Pa as there).
pub async fn data_json(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let since = Utc::now() - Duration::minutes(DATA_JSON_WINDOW_MIN);
    let nodes = state.store.nodes().await?;
    let latest = state.store.latest_values(true).await?;
    let mut by_node: BTreeMap<&str, Vec<_>> = BTreeMap::new();
    for l in latest.iter().filter(|l| l.ts >= since) {
        by_node.entry(l.node.as_str()).or_default().push(l);
    }
    let records: Vec<Value> = nodes
        .iter()
        .filter(|n| n.public && n.status == NodeStatus::Active)
        .filter_map(|n| {
            let values = by_node.get(n.id.as_str())?;
            let newest = values.iter().map(|l| l.ts).max()?;
            let datavalues: Vec<Value> = values
                .iter()
                .map(|l| {
                    let value = if l.quantity == Quantity::Pressure { l.value * 100.0 } else { l.value };
                    json!({ "value_type": public_value_type(l.quantity), "value": format!("{value:.2}") })
                })
                .collect();
            Some(json!({
                "id": n.id,
                "timestamp": newest.format("%Y-%m-%d %H:%M:%S").to_string(),
                "location": {
                    "latitude": n.lat.map(|v| format!("{v:.4}")),
                    "longitude": n.lon.map(|v| format!("{v:.4}")),
                },
                "sensor": { "id": n.id, "sensor_type": { "name": n.kind } },
                "sensordatavalues": datavalues,
            }))
        })
        .collect();
    Ok(Json(Value::Array(records)))
}

/// `GET /api/v1/sensors/{id}/days/{date}.csv`: the node's raw readings of that UTC day,
/// one line per reading: `timestamp,quantity,value,unit`.
pub async fn day_csv(
    State(state): State<AppState>,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let node = public_node(&state, &id).await?;
    let date = file
        .strip_suffix(".csv")
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .ok_or_else(|| ApiError::BadRequest(format!("{file:?}: expected YYYY-MM-DD.csv")))?;
    let from = date
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .ok_or_else(|| ApiError::BadRequest(format!("{date}: not a day")))?;
    let to = from + Duration::days(1);
    let mut rows = Vec::new();
    for q in Quantity::ALL {
        for p in state.store.series(&node.id, q, from, to, Bucket::Raw, CSV_DAY_LIMIT).await? {
            rows.push((p.ts, q, p.value));
        }
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.name().cmp(b.1.name())));
    let mut csv = String::with_capacity(32 + rows.len() * 48);
    csv.push_str("timestamp,quantity,value,unit\n");
    for (ts, q, v) in rows {
        csv.push_str(&format!("{},{},{},{}\n", ts.to_rfc3339(), q.name(), v, q.unit()));
    }
    let disposition = format!("attachment; filename=\"{}-{date}.csv\"", node.id);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        csv,
    )
        .into_response())
}

/// Lets other sites read the open data (answers carry `Access-Control-Allow-Origin: *`).
pub async fn allow_any_origin(mut resp: Response) -> Response {
    resp.headers_mut()
        .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, header::HeaderValue::from_static("*"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_types_follow_sensor_community() {
        let cases = [
            (Quantity::Pm10, "P1"),
            (Quantity::Pm2_5, "P2"),
            (Quantity::Laeq, "noise_LAeq"),
            (Quantity::Temperature, "temperature"),
            (Quantity::No2, "no2"),
        ];
        for (q, want) in cases {
            assert_eq!(public_value_type(q), want, "{q:?}");
        }
    }
}
