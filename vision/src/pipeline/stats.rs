//! Pipeline counters and per-stage time sums, shared by the threads as atomics and read
//! as a snapshot (for /metrics and the benchmark).

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

/// A pipeline stage whose time is summed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Decode = 0,
    Motion = 1,
    Preprocess = 2,
    Infer = 3,
    Post = 4,
}

const STAGES: usize = 5;

#[derive(Debug, Default)]
pub struct Stats {
    pub frames_received: AtomicU64,
    /// Replaced in a camera's slot by a newer frame before a worker took it.
    pub frames_dropped: AtomicU64,
    pub decode_errors: AtomicU64,
    /// Frames that went through the model.
    pub frames_scored: AtomicU64,
    /// Frames the motion gate let skip inference.
    pub frames_skipped: AtomicU64,
    pub events: AtomicU64,
    pub inference_errors: AtomicU64,
    stage_nanos: [AtomicU64; STAGES],
    stage_count: [AtomicU64; STAGES],
}

impl Stats {
    pub fn add(&self, stage: Stage, d: Duration, frames: u64) {
        let i = stage as usize;
        self.stage_nanos[i].fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
        self.stage_count[i].fetch_add(frames, Ordering::Relaxed);
    }

    pub fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Prometheus text exposition of the counters and stage times.
    pub fn render_prometheus(&self, out: &mut String) {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let counters = [
            ("veghe_vision_frames_received_total", "Camera frames handed to the pipeline.", &self.frames_received),
            ("veghe_vision_frames_dropped_total", "Frames replaced by a newer one before a worker took them.", &self.frames_dropped),
            ("veghe_vision_decode_errors_total", "Frames that could not be decoded.", &self.decode_errors),
            ("veghe_vision_frames_scored_total", "Frames run through the detector.", &self.frames_scored),
            ("veghe_vision_frames_skipped_total", "Frames the motion gate let skip the detector.", &self.frames_skipped),
            ("veghe_vision_events_total", "Detection events raised by camera rules.", &self.events),
            ("veghe_vision_inference_errors_total", "Detector runs that failed.", &self.inference_errors),
        ];
        for (name, help, counter) in counters {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", get(counter));
        }
        let name = "veghe_vision_stage_seconds_total";
        let _ = writeln!(out, "# HELP {name} Time spent per pipeline stage.\n# TYPE {name} counter");
        let frames = "veghe_vision_stage_frames_total";
        let mut frame_lines = format!("# HELP {frames} Frames through each pipeline stage.\n# TYPE {frames} counter\n");
        for (i, stage) in ["decode", "motion", "preprocess", "infer", "post"].iter().enumerate() {
            let secs = get(&self.stage_nanos[i]) as f64 / 1e9;
            let _ = writeln!(out, "{name}{{stage=\"{stage}\"}} {secs}");
            let _ = writeln!(frame_lines, "{frames}{{stage=\"{stage}\"}} {}", get(&self.stage_count[i]));
        }
        out.push_str(&frame_lines);
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mean_ms = |i: usize| {
            let n = get(&self.stage_count[i]);
            if n == 0 {
                0.0
            } else {
                get(&self.stage_nanos[i]) as f64 / n as f64 / 1e6
            }
        };
        StatsSnapshot {
            frames_received: get(&self.frames_received),
            frames_dropped: get(&self.frames_dropped),
            decode_errors: get(&self.decode_errors),
            frames_scored: get(&self.frames_scored),
            frames_skipped: get(&self.frames_skipped),
            events: get(&self.events),
            inference_errors: get(&self.inference_errors),
            decode_ms: mean_ms(Stage::Decode as usize),
            motion_ms: mean_ms(Stage::Motion as usize),
            preprocess_ms: mean_ms(Stage::Preprocess as usize),
            infer_ms: mean_ms(Stage::Infer as usize),
            post_ms: mean_ms(Stage::Post as usize),
        }
    }
}

/// Counters, and the mean time per frame of each stage in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct StatsSnapshot {
    pub frames_received: u64,
    pub frames_dropped: u64,
    pub decode_errors: u64,
    pub frames_scored: u64,
    pub frames_skipped: u64,
    pub events: u64,
    pub inference_errors: u64,
    pub decode_ms: f64,
    pub motion_ms: f64,
    pub preprocess_ms: f64,
    pub infer_ms: f64,
    pub post_ms: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_text_has_every_counter_and_stage() {
        let stats = Stats::default();
        Stats::bump(&stats.frames_scored);
        stats.add(Stage::Infer, Duration::from_millis(20), 1);
        let mut out = String::new();
        stats.render_prometheus(&mut out);
        assert!(out.contains("veghe_vision_frames_scored_total 1\n"), "{out}");
        assert!(out.contains("veghe_vision_stage_seconds_total{stage=\"infer\"} 0.02\n"), "{out}");
        assert!(out.contains("veghe_vision_stage_frames_total{stage=\"decode\"} 0\n"), "{out}");
        assert_eq!(out.matches("# TYPE").count(), 9);
    }
}
