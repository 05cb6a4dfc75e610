//! A camera's fetch loop on the async runtime: paces requests at the camera's sampling
//! rate (or samples a stream down to it), hands frames to the scheduler, backs off on
//! failures, and turns health changes into events.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::watch;

use crate::camera::CameraConfig;
use crate::event::{CameraHealthEvent, VisionEvent};
use crate::health::{frame_hash, HealthMonitor};
use crate::pipeline::scheduler::Scheduler;
use crate::pipeline::stats::Stats;
use crate::source::{retry_delay, FrameSource};

pub struct FetchContext {
    pub scheduler: Arc<Scheduler>,
    pub stats: Arc<Stats>,
    pub events: UnboundedSender<VisionEvent>,
}

pub async fn run(
    ctx: Arc<FetchContext>,
    index: usize,
    camera: CameraConfig,
    mut source: Box<dyn FrameSource>,
    mut stop: watch::Receiver<bool>,
) {
    let period = Duration::from_secs_f64(1.0 / camera.fps);
    let mut health = HealthMonitor::new(camera.fps, camera.offline_after, Instant::now());
    let mut failures: u32 = 0;
    let mut next_due = tokio::time::Instant::now();
    let mut last_submit: Option<Instant> = None;
    loop {
        if *stop.borrow() {
            return;
        }
        if !source.is_stream() {
            tokio::select! {
                _ = tokio::time::sleep_until(next_due) => {}
                _ = stop.changed() => return,
            }
            next_due += period;
            let now = tokio::time::Instant::now();
            if next_due < now {
                // Behind (a slow camera): sample from now on rather than catch up.
                next_due = now + period;
            }
        }
        let result = tokio::select! {
            r = source.next_frame() => r,
            _ = stop.changed() => return,
        };
        let now = Instant::now();
        let change = match result {
            Ok(frame) => {
                if failures > 0 {
                    tracing::info!(camera.id = %camera.id, failures, "camera answers again");
                }
                failures = 0;
                let change = health.frame(frame_hash(&frame.bytes), now);
                // A stream is sampled down to the camera's rate before any decoding.
                let due = last_submit.is_none_or(|t| now.duration_since(t) >= period.mul_f64(0.9));
                if due {
                    last_submit = Some(now);
                    Stats::bump(&ctx.stats.frames_received);
                    if ctx.scheduler.submit(index, frame) {
                        Stats::bump(&ctx.stats.frames_dropped);
                    }
                }
                change
            }
            Err(e) => {
                failures += 1;
                let message = e.to_string();
                if failures == 1 {
                    tracing::warn!(camera.id = %camera.id, error = %message, "camera fetch failed");
                } else {
                    tracing::debug!(camera.id = %camera.id, error = %message, failures, "camera fetch failed again");
                }
                let change = health.error(&message, now);
                report(&ctx, &camera, change);
                // Back off, checking health each second so offline is reported on time.
                let wait = retry_delay(failures - 1).max(period);
                let until = tokio::time::Instant::now() + wait;
                while tokio::time::Instant::now() < until {
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1).min(until - tokio::time::Instant::now())) => {}
                        _ = stop.changed() => return,
                    }
                    report(&ctx, &camera, health.tick(Instant::now()));
                }
                next_due = tokio::time::Instant::now();
                None
            }
        };
        report(&ctx, &camera, change);
    }
}

fn report(ctx: &FetchContext, camera: &CameraConfig, change: Option<crate::health::HealthChange>) {
    let Some(change) = change else {
        return;
    };
    tracing::warn!(camera.id = %camera.id, health = ?change.kind, detail = %change.detail, "camera health changed");
    let event = CameraHealthEvent {
        camera_id: camera.id.clone(),
        kind: change.kind,
        detail: change.detail,
        position: Some(camera.location),
        time: Utc::now(),
    };
    let _ = ctx.events.send(VisionEvent::Health(event));
}
