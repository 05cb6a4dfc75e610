//! The camera pipeline: fetch loops on the async runtime feed a fair scheduler; worker
//! threads, each with its own ONNX session, decode, gate on motion, score, track, apply
//! rules and emit [`VisionEvent`]s. Construct with [`Pipeline::start`]; frames can also
//! be pushed in directly ([`Pipeline::submit`]) for cameras whose source is `push`.

mod camera_state;
mod fetch;
mod scheduler;
mod stats;
mod worker;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ort::environment::Environment;
use serde::Deserialize;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::watch;

use crate::camera::{CameraConfig, SourceConfig};
use crate::error::VisionError;
use crate::event::VisionEvent;
use crate::motion::MotionConfig;
use crate::runtime::{Detector, Device, ModelConfig};
use crate::source::{self, EncodedFrame, HttpSettings};
use crate::tracker::TrackerConfig;

pub use camera_state::CameraState;
pub use scheduler::Scheduler;
pub use stats::{Stage, Stats, StatsSnapshot};

/// How the pipeline runs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// Inference threads, each with its own session.
    pub workers: usize,
    /// ONNX Runtime intra-op threads per session.
    pub session_threads: usize,
    /// Frames of different cameras scored in one run (1 is best on CPU).
    pub batch: usize,
    pub device: Device,
    /// Objects standing still are re-scored at most this often when nothing moves.
    #[serde(with = "humantime_serde")]
    pub rescore_every: Duration,
    /// JPEG quality of evidence frames.
    pub evidence_quality: u8,
    /// A camera's HTTP request (or a stream's silence) may take this long.
    #[serde(with = "humantime_serde")]
    pub http_timeout: Duration,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            workers: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            session_threads: 1,
            batch: 1,
            device: Device::Cpu,
            rescore_every: Duration::from_secs(5),
            evidence_quality: 80,
            http_timeout: Duration::from_secs(5),
        }
    }
}

impl PipelineConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.workers == 0 || self.workers > 256 {
            return Err(format!("workers {} not in 1..=256", self.workers));
        }
        if self.session_threads == 0 || self.batch == 0 || self.batch > 64 {
            return Err("session_threads must be at least 1 and batch in 1..=64".into());
        }
        if !(1..=100).contains(&self.evidence_quality) {
            return Err(format!("evidence_quality {} not in 1..=100", self.evidence_quality));
        }
        Ok(())
    }
}

/// A running pipeline.
pub struct Pipeline {
    scheduler: Arc<Scheduler>,
    stats: Arc<Stats>,
    camera_ids: Vec<String>,
    workers: Vec<std::thread::JoinHandle<()>>,
    fetchers: Vec<tokio::task::JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

impl Pipeline {
    /// Loads one session per worker, compiles each camera's rules, starts the worker
    /// threads and (on the current tokio runtime) one fetch loop per enabled camera
    /// with a network or directory source. Events go to `events`.
    pub fn start(
        env: &Environment,
        model: &ModelConfig,
        config: &PipelineConfig,
        motion: &MotionConfig,
        tracker: &TrackerConfig,
        cameras: Vec<CameraConfig>,
        events: UnboundedSender<VisionEvent>,
    ) -> Result<Pipeline, VisionError> {
        config.validate().map_err(VisionError::Config)?;
        let cameras: Vec<CameraConfig> = cameras.into_iter().filter(|c| c.enabled).collect();
        for camera in &cameras {
            camera.validate().map_err(VisionError::Config)?;
        }
        let mut detectors = Vec::with_capacity(config.workers);
        for _ in 0..config.workers {
            detectors.push(Detector::load(env, model, config.session_threads, config.device)?);
        }
        let class_names = detectors
            .first()
            .map(|d| d.class_names().to_vec())
            .unwrap_or_default();
        let mut states = Vec::with_capacity(cameras.len());
        for camera in &cameras {
            let state = CameraState::new(camera.clone(), &class_names, motion.clone(), *tracker)
                .map_err(VisionError::Config)?;
            states.push(Mutex::new(state));
        }
        let scheduler = Arc::new(Scheduler::new(cameras.len()));
        let stats = Arc::new(Stats::default());
        let ctx = Arc::new(worker::WorkerContext {
            scheduler: scheduler.clone(),
            cameras: Arc::new(states),
            stats: stats.clone(),
            events: events.clone(),
            batch: config.batch,
            rescore_every: config.rescore_every,
            evidence_quality: config.evidence_quality,
        });
        let mut workers = Vec::with_capacity(detectors.len());
        for (i, detector) in detectors.into_iter().enumerate() {
            let ctx = ctx.clone();
            let handle = std::thread::Builder::new()
                .name(format!("veghe-infer-{i}"))
                .spawn(move || worker::run(ctx, detector))?;
            workers.push(handle);
        }

        let (stop, stop_rx) = watch::channel(false);
        let client = reqwest::Client::builder()
            .connect_timeout(config.http_timeout)
            .build()
            .map_err(|e| VisionError::Config(format!("HTTP client: {e}")))?;
        let http = HttpSettings {
            timeout: config.http_timeout,
            ..HttpSettings::default()
        };
        let fetch_ctx = Arc::new(fetch::FetchContext {
            scheduler: scheduler.clone(),
            stats: stats.clone(),
            events,
        });
        let mut fetchers = Vec::new();
        for (index, camera) in cameras.iter().enumerate() {
            if matches!(camera.source, SourceConfig::Push) {
                continue;
            }
            let source = match source::open(&camera.id, &camera.source, &client, &http) {
                Ok(s) => s,
                Err(e) => {
                    // One camera's bad source does not stop the others.
                    tracing::error!(camera.id = %camera.id, error = %e, "camera source cannot be opened");
                    continue;
                }
            };
            fetchers.push(tokio::spawn(fetch::run(
                fetch_ctx.clone(),
                index,
                camera.clone(),
                source,
                stop_rx.clone(),
            )));
        }
        Ok(Pipeline {
            scheduler,
            stats,
            camera_ids: cameras.iter().map(|c| c.id.clone()).collect(),
            workers,
            fetchers,
            stop,
        })
    }

    /// Offers a frame for camera `camera_id` (any source; `push` cameras get frames
    /// only this way). Returns false for an unknown camera.
    pub fn submit(&self, camera_id: &str, frame: EncodedFrame) -> bool {
        let Some(index) = self.camera_ids.iter().position(|c| c == camera_id) else {
            return false;
        };
        Stats::bump(&self.stats.frames_received);
        if self.scheduler.submit(index, frame) {
            Stats::bump(&self.stats.frames_dropped);
        }
        true
    }

    pub fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }

    /// The live counters (for metrics endpoints that outlive a borrow).
    pub fn stats_handle(&self) -> Arc<Stats> {
        self.stats.clone()
    }

    pub fn cameras(&self) -> &[String] {
        &self.camera_ids
    }

    /// Stops fetching and lets the workers finish the frame in hand.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for f in self.fetchers {
            let _ = f.await;
        }
        self.scheduler.stop();
        let workers = self.workers;
        let _ = tokio::task::spawn_blocking(move || {
            for w in workers {
                let _ = w.join();
            }
        })
        .await;
    }
}
