//! The HTTP face of veghe: the JSON API (sensor map, series, quantities, dead letters),
//! the Sensor.Community push endpoint, log-in and sessions, the dispatcher's alert API
//! and live stream, health and Prometheus metrics. [`app`] returns the real router, so
//! tests serve it in-process.

pub mod alerts;
mod api;
pub mod auth;
mod error;
mod ops;
mod web;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use veghe_ingest::IngestHandle;
use veghe_store::Store;

pub use alerts::AlertHub;
pub use auth::AuthSettings;
pub use error::ApiError;

/// A camera as the wall's map shows it.
#[derive(Debug, Clone, Serialize)]
pub struct CameraInfo {
    pub id: String,
    pub name: String,
    pub lat: f64,
    pub lon: f64,
    pub bearing_deg: f64,
    pub fov_deg: f64,
}

/// What the wall's map starts with.
#[derive(Debug, Clone, Serialize)]
pub struct WallSettings {
    /// `https://…/{z}/{x}/{y}.png`; none: the map draws without tiles.
    pub tile_url: Option<String>,
    pub center: [f64; 2],
    pub zoom: u8,
}

impl Default for WallSettings {
    fn default() -> Self {
        WallSettings {
            tile_url: None,
            center: [44.435, 26.025],
            zoom: 13,
        }
    }
}

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
    pub alerts: AlertHub,
    pub auth: Arc<AuthSettings>,
    pub limiter: Arc<auth::rate_limit::LoginLimiter>,
    pub wall: Arc<WallSettings>,
}

impl AppState {
    /// The state over `store`, with the alert hub the raisers use.
    pub fn new(store: Store, ingest: IngestHandle, alerts: AlertHub) -> Self {
        AppState {
            alerts,
            store,
            ingest,
            started: Arc::new(std::time::Instant::now()),
            metrics_sources: Vec::new(),
            auth: Arc::new(AuthSettings::default()),
            limiter: Arc::new(auth::rate_limit::LoginLimiter::new(5, std::time::Duration::from_secs(60))),
            wall: Arc::new(WallSettings::default()),
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
    // Citizens' routes: open data, readable from any site.
    let public = Router::new()
        .route("/api/v1/sensors", get(api::sensors::map))
        .route("/api/v1/sensors/{id}", get(api::sensors::one))
        .route("/api/v1/sensors/{id}/readings", get(api::series::readings))
        .route("/api/v1/sensors/{id}/days/{file}", get(api::open_data::day_csv))
        .route("/api/v1/quantities", get(api::quantities))
        .route("/data.json", get(api::open_data::data_json))
        .route("/api/v1/openapi.json", get(api::openapi))
        .layer(axum::middleware::map_response(api::open_data::allow_any_origin));
    Router::new()
        .merge(public)
        .route("/api/v1/dead-letters", get(api::dead_letters::list))
        .route(
            "/api/v1/push/sensor-community",
            post(api::push::sensor_community),
        )
        .route(
            "/api/v1/session",
            post(auth::login).get(auth::me).delete(auth::logout),
        )
        .route("/api/v1/alerts", get(alerts::routes::list))
        .route("/api/v1/alerts/stream", get(alerts::stream::stream))
        .route("/api/v1/alerts/{id}", get(alerts::routes::one))
        .route("/api/v1/alerts/{id}/transitions", post(alerts::routes::transition))
        .route("/api/v1/alerts/{id}/evidence", get(alerts::routes::evidence))
        .route("/api/v1/cameras", get(alerts::routes::cameras))
        .route("/api/v1/audit", get(alerts::routes::audit))
        .route("/api/v1/wall/config", get(ops::wall_config))
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .route("/", get(|| async { axum::response::Redirect::to("/wall") }))
        .merge(web::routes())
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
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
