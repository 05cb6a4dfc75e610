//! The camera side of a running system: the in-process camera simulator (the demo's)
//! and the vision pipeline over the configured cameras, whose events are raised as
//! alerts; and stopping them.

use std::sync::Arc;

use anyhow::Context;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use veghe_camera_sim::{CameraSim, SimClock};
use veghe_dashboard::AlertHub;
use veghe_vision::pipeline::Pipeline;

use crate::alerting::{spawn_vision_raiser, RaiseCounters};
use crate::config::Config;

pub struct CameraSide {
    pub simulator_url: Option<String>,
    pub counters: Arc<RaiseCounters>,
    pipeline: Option<Pipeline>,
    simulator: Option<JoinHandle<()>>,
    events: Option<JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

/// Starts the simulator (adding its cameras to `config.cameras`) and the pipeline, whose
/// events become alerts through `hub`. When `optional` (the demo), a missing ONNX
/// Runtime or model turns vision off with a warning instead of failing the start.
pub async fn start(config: &mut Config, optional: bool, hub: AlertHub) -> anyhow::Result<CameraSide> {
    let store = hub.store().clone();
    let store = &store;
    let (stop, stop_rx) = watch::channel(false);
    let mut side = CameraSide {
        simulator_url: None,
        counters: Arc::new(RaiseCounters::default()),
        pipeline: None,
        simulator: None,
        events: None,
        stop,
    };
    if config.camera_simulator.enabled && config.camera_simulator.count > 0 {
        let sim_config = &config.camera_simulator;
        let listener = tokio::net::TcpListener::bind(sim_config.listen)
            .await
            .with_context(|| {
                format!(
                    "the camera simulator cannot listen on {}; pick another address with --camera-sim",
                    sim_config.listen
                )
            })?;
        let addr = listener.local_addr()?;
        let url = format!("http://{addr}");
        let sim = CameraSim::new(veghe_camera_sim::demo_sim_cameras(sim_config.count), SimClock::real())?;
        let mut rx = stop_rx.clone();
        side.simulator = Some(tokio::spawn(async move {
            let shutdown = async move {
                let _ = rx.wait_for(|s| *s).await;
            };
            if let Err(e) = veghe_camera_sim::http::serve_with_shutdown(listener, Arc::new(sim), shutdown).await {
                tracing::error!(error = %e, "camera simulator stopped");
            }
        }));
        config
            .cameras
            .extend(veghe_camera_sim::demo_cameras(sim_config.count, &url));
        tracing::info!(cameras = sim_config.count, url = %url, "camera simulator serving");
        side.simulator_url = Some(url);
    }
    register(store, &config.cameras, config.camera_simulator.enabled).await?;
    if !config.vision.enabled || config.cameras.is_empty() {
        return Ok(side);
    }
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let pipeline = match crate::vision::start_pipeline(&config.vision, config.cameras.clone(), tx) {
        Ok(p) => p,
        Err(e) if optional => {
            tracing::warn!(error = %format!("{e:#}"), "vision is off");
            return Ok(side);
        }
        Err(e) => return Err(e),
    };
    side.pipeline = Some(pipeline);
    side.events = Some(spawn_vision_raiser(hub, config.alerts.clone(), rx, side.counters.clone()));
    Ok(side)
}

/// Registers this process's cameras in the store's registry (which the wall's map
/// shows, for every process sharing the database). The demo owns its registry: cameras
/// of an earlier, larger demo are disabled.
async fn register(store: &veghe_store::Store, cameras: &[veghe_vision::camera::CameraConfig], demo: bool) -> anyhow::Result<()> {
    let now = chrono::Utc::now();
    for c in cameras {
        let record = veghe_store::CameraRecord {
            id: c.id.clone(),
            name: c.name.clone(),
            lat: c.location.lat,
            lon: c.location.lon,
            enabled: c.enabled,
            config: serde_json::to_value(c).context("camera as JSON")?,
            updated_at: now,
        };
        store.upsert_camera(&record).await.context("cannot register cameras")?;
    }
    if demo {
        for mut stale in store.cameras().await? {
            if stale.enabled && !cameras.iter().any(|c| c.id == stale.id) {
                stale.enabled = false;
                stale.updated_at = now;
                store.upsert_camera(&stale).await?;
            }
        }
    }
    Ok(())
}

/// The pipeline's counters on `/metrics`.
struct VisionMetrics(Arc<veghe_vision::pipeline::Stats>);

impl veghe_dashboard::MetricsSource for VisionMetrics {
    fn render(&self, out: &mut String) {
        self.0.render_prometheus(out);
    }
}

impl CameraSide {
    /// The pipeline's metrics, when vision runs.
    pub fn metrics(&self) -> Option<Arc<dyn veghe_dashboard::MetricsSource>> {
        self.pipeline
            .as_ref()
            .map(|p| Arc::new(VisionMetrics(p.stats_handle())) as Arc<dyn veghe_dashboard::MetricsSource>)
    }

    pub fn vision_running(&self) -> bool {
        self.pipeline.is_some()
    }

    pub fn pipeline(&self) -> Option<&Pipeline> {
        self.pipeline.as_ref()
    }

    pub async fn shutdown(mut self) {
        if let Some(p) = self.pipeline.take() {
            p.shutdown().await;
        }
        if let Some(events) = self.events.take() {
            let _ = events.await;
        }
        let _ = self.stop.send(true);
        if let Some(sim) = self.simulator.take() {
            let _ = sim.await;
        }
    }
}
