//! Operations endpoints: `/healthz` and `/metrics`.

use std::sync::atomic::Ordering::Relaxed;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;

use crate::AppState;

/// 200 when the store answers and the broker (if ingest subscribes to one) is
/// connected; 503 otherwise, with what is wrong.
pub async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let store = match state.store.ping().await {
        Ok(()) => serde_json::json!({ "ok": true, "backend": state.store.backend().as_str() }),
        Err(e) => {
            serde_json::json!({ "ok": false, "backend": state.store.backend().as_str(), "error": e.to_string() })
        }
    };
    let metrics = &state.ingest.metrics;
    let broker = if metrics.mqtt_enabled.load(Relaxed) {
        let connected = metrics.mqtt_connected.load(Relaxed);
        serde_json::json!({ "ok": connected, "connected": connected })
    } else {
        serde_json::json!({ "ok": true, "connected": false, "note": "no MQTT subscriber in this process" })
    };
    let ok = store["ok"] == true && broker["ok"] == true;
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "status": if ok { "ok" } else { "degraded" },
        "store": store,
        "broker": broker,
        "uptime_s": state.started.elapsed().as_secs(),
    });
    (status, Json(body))
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut out = String::with_capacity(8192);
    state.ingest.metrics.render(&mut out);
    out.push_str(
        "# HELP veghe_nodes_known Nodes in the registry.\n# TYPE veghe_nodes_known gauge\n",
    );
    out.push_str(&format!(
        "veghe_nodes_known {}\n",
        state.ingest.registry.len()
    ));
    for source in &state.metrics_sources {
        source.render(&mut out);
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}

pub async fn not_found() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        Json(serde_json::json!({ "error": "no such route" })),
    )
}

/// What the wall's map starts with (tile server, centre, zoom).
pub async fn wall_config(State(state): State<AppState>) -> Json<crate::WallSettings> {
    Json((*state.wall).clone())
}
