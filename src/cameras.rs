//! The camera side of a running system: the in-process camera simulator (the demo's)
//! and the vision pipeline over the configured cameras, with the consumer of its
//! events; and stopping them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use veghe_camera_sim::{CameraSim, SimClock};
use veghe_vision::pipeline::Pipeline;
use veghe_vision::VisionEvent;

use crate::config::Config;

/// What the camera side is doing, for tests and logs.
#[derive(Debug, Default)]
pub struct CameraCounters {
    pub detections: AtomicU64,
    pub health: AtomicU64,
}

pub struct CameraSide {
    pub simulator_url: Option<String>,
    pub counters: Arc<CameraCounters>,
    pipeline: Option<Pipeline>,
    simulator: Option<JoinHandle<()>>,
    events: Option<JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

/// Starts the simulator (adding its cameras to `config.cameras`) and the pipeline. When
/// `optional` (the demo), a missing ONNX Runtime or model turns vision off with a
/// warning instead of failing the start.
pub async fn start(config: &mut Config, optional: bool) -> anyhow::Result<CameraSide> {
    let (stop, stop_rx) = watch::channel(false);
    let mut side = CameraSide {
        simulator_url: None,
        counters: Arc::new(CameraCounters::default()),
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
    if !config.vision.enabled || config.cameras.is_empty() {
        return Ok(side);
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let pipeline = match crate::vision::start_pipeline(&config.vision, config.cameras.clone(), tx) {
        Ok(p) => p,
        Err(e) if optional => {
            tracing::warn!(error = %format!("{e:#}"), "vision is off");
            return Ok(side);
        }
        Err(e) => return Err(e),
    };
    side.pipeline = Some(pipeline);
    let counters = side.counters.clone();
    side.events = Some(tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            match event {
                VisionEvent::Detection(_) => counters.detections.fetch_add(1, Ordering::Relaxed),
                VisionEvent::Health(_) => counters.health.fetch_add(1, Ordering::Relaxed),
            };
        }
    }));
    Ok(side)
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
