//! The simulator over HTTP: `GET /cameras` (JSON listing), `GET /cameras/{id}/snapshot.jpg`
//! and `GET /cameras/{id}/stream.mjpeg`, with each camera's fault applied. Rendering runs
//! on the blocking pool, never on the async runtime. Status mapping lives here only.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use bytes::Bytes;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use veghe_vision::Polygon;

use crate::error::SimError;
use crate::fault::{Fault, LOGIN_PAGE};
use crate::mjpeg;
use crate::scene::Scene;
use crate::sim::CameraSim;

pub fn app(sim: Arc<CameraSim>) -> Router {
    Router::new()
        .route("/cameras", get(list))
        .route("/cameras/{id}/snapshot.jpg", get(snapshot))
        .route("/cameras/{id}/stream.mjpeg", get(stream))
        .with_state(sim)
}

/// Serves the simulator on `listener` until the server fails.
pub async fn serve(listener: TcpListener, sim: Arc<CameraSim>) -> Result<(), SimError> {
    Ok(axum::serve(listener, app(sim)).await?)
}

/// Serves until `shutdown` completes.
pub async fn serve_with_shutdown(
    listener: TcpListener,
    sim: Arc<CameraSim>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), SimError> {
    Ok(axum::serve(listener, app(sim)).with_graceful_shutdown(shutdown).await?)
}

/// One camera in the listing.
#[derive(Serialize)]
struct CameraInfo<'a> {
    id: &'a str,
    name: &'a str,
    scene: &'a Scene,
    fault: Option<Fault>,
    fps: f64,
    width: u32,
    height: u32,
    snapshot: String,
    stream: String,
    /// Where the scene's event happens, in frame pixels.
    zone: Option<Polygon>,
}

async fn list(State(sim): State<Arc<CameraSim>>) -> Response {
    let cams: Vec<CameraInfo> = sim
        .cameras()
        .map(|c| CameraInfo {
            id: &c.id,
            name: &c.name,
            scene: &c.scene,
            fault: sim.fault(&c.id).ok().flatten(),
            fps: c.fps,
            width: c.width,
            height: c.height,
            snapshot: format!("/cameras/{}/snapshot.jpg", c.id),
            stream: format!("/cameras/{}/stream.mjpeg", c.id),
            zone: c.scene.zone(c.width, c.height),
        })
        .collect();
    Json(cams).into_response()
}

fn error_response(e: SimError) -> Response {
    match e {
        SimError::UnknownCamera(id) => (StatusCode::NOT_FOUND, format!("no camera {id}\n")).into_response(),
        e => {
            tracing::warn!(error = %e, "camera simulator");
            (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response()
        }
    }
}

/// What a camera answers with, given its fault.
enum Answer {
    Jpeg(Bytes),
    Html,
    ServerError,
}

/// The camera's current answer: the frame (frozen or cut as its fault says), or the
/// fault's page. Waits out a slow camera's delay.
async fn answer(sim: &Arc<CameraSim>, id: &str) -> Result<Answer, SimError> {
    let fault = sim.fault(id)?;
    match fault {
        Some(Fault::ServeHtml) => return Ok(Answer::Html),
        Some(Fault::ServerError) => return Ok(Answer::ServerError),
        Some(Fault::Slow { delay }) => tokio::time::sleep(delay).await,
        _ => {}
    }
    let (sim2, id2) = (sim.clone(), id.to_owned());
    let frozen = fault == Some(Fault::Frozen);
    let bytes = tokio::task::spawn_blocking(move || if frozen { sim2.frozen_frame(&id2) } else { sim2.frame(&id2) })
        .await
        .map_err(|e| SimError::Config(format!("render task failed: {e}")))??;
    Ok(Answer::Jpeg(if fault == Some(Fault::Truncated) { bytes.slice(..bytes.len() / 2) } else { bytes }))
}

fn jpeg_response(bytes: Bytes) -> Response {
    ([(header::CONTENT_TYPE, "image/jpeg"), (header::CACHE_CONTROL, "no-store")], bytes).into_response()
}

fn fault_response(a: Answer) -> Response {
    match a {
        Answer::Jpeg(b) => jpeg_response(b),
        Answer::Html => ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], LOGIN_PAGE).into_response(),
        Answer::ServerError => (StatusCode::INTERNAL_SERVER_ERROR, "internal server error\n").into_response(),
    }
}

async fn snapshot(State(sim): State<Arc<CameraSim>>, Path(id): Path<String>) -> Response {
    match answer(&sim, &id).await {
        Ok(a) => fault_response(a),
        Err(e) => error_response(e),
    }
}

/// Parts are paced by the wall clock at the camera's rate; what each shows follows the
/// simulator's clock (a manual clock that stands still gives the same picture).
async fn stream(State(sim): State<Arc<CameraSim>>, Path(id): Path<String>) -> Response {
    let Some(fps) = sim.camera(&id).map(|c| c.fps) else {
        return error_response(SimError::UnknownCamera(id));
    };
    // The first frame decides the response: a faulty camera answers as it would a
    // snapshot request.
    let first = match answer(&sim, &id).await {
        Ok(Answer::Jpeg(b)) => b,
        Ok(other) => return fault_response(other),
        Err(e) => return error_response(e),
    };
    let (tx, rx) = mpsc::channel::<Bytes>(2);
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs_f64(1.0 / fps));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        interval.tick().await;
        if tx.send(mjpeg::part(&first)).await.is_err() {
            return;
        }
        loop {
            interval.tick().await;
            match answer(&sim, &id).await {
                Ok(Answer::Jpeg(b)) => {
                    if tx.send(mjpeg::part(&b)).await.is_err() {
                        return; // the client went away
                    }
                }
                // A camera that breaks mid-stream drops the connection.
                Ok(_) => return,
                Err(e) => {
                    tracing::warn!(camera = %id, error = %e, "MJPEG stream ended");
                    return;
                }
            }
        }
    });
    (
        [(header::CONTENT_TYPE, mjpeg::content_type()), (header::CACHE_CONTROL, "no-store".into())],
        Body::from_stream(mjpeg::Parts(rx)),
    )
        .into_response()
}
