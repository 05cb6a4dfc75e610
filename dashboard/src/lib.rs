//! The HTTP face of veghe: the JSON API (sensor map, series, quantities, dead letters),
//! the Sensor.Community push endpoint, health and Prometheus metrics. [`app`] returns
//! the real router, so tests serve it in-process.

mod api;
mod error;
mod ops;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use veghe_ingest::IngestHandle;
use veghe_store::Store;

pub use error::ApiError;

/// Something else in the process with Prometheus metrics to show on `/metrics` (the
/// camera pipeline), so the dashboard need not know its internals.
pub trait MetricsSource: Send + Sync {
    fn render(&self, out: &mut String);
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub ingest: IngestHandle,
    pub started: Arc<std::time::Instant>,
    pub metrics_sources: Vec<Arc<dyn MetricsSource>>,
}

impl AppState {
    pub fn new(store: Store, ingest: IngestHandle) -> Self {
        AppState {
            store,
            ingest,
            started: Arc::new(std::time::Instant::now()),
            metrics_sources: Vec::new(),
        }
    }

    pub fn with_metrics(mut self, source: Arc<dyn MetricsSource>) -> Self {
        self.metrics_sources.push(source);
        self
    }
}

/// The router with every route of the dashboard.
pub fn app(state: AppState) -> Router {
    // Oversize pushes up to this size are read so that they can be dead-lettered with
    // their reason; beyond it the request is refused unread (413).
    let body_limit = state
        .ingest
        .config
        .limits
        .max_payload_bytes
        .0
        .saturating_mul(4)
        .max(1 << 20);
    Router::new()
        .route("/api/v1/sensors", get(api::sensors::map))
        .route("/api/v1/sensors/{id}", get(api::sensors::one))
        .route("/api/v1/sensors/{id}/readings", get(api::series::readings))
        .route("/api/v1/quantities", get(api::quantities))
        .route("/api/v1/dead-letters", get(api::dead_letters::list))
        .route(
            "/api/v1/push/sensor-community",
            post(api::push::sensor_community),
        )
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .fallback(ops::not_found)
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

/// Serves the app on `listener` until `shutdown` resolves, then finishes open requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}
