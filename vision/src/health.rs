//! Camera health from fetch outcomes: offline (no frame for the offline timeout),
//! stalled (the same frame bytes again and again: a frozen encoder), frame rate below
//! the configured one, and recovery. Pure: times are passed in; a state change is
//! reported once, when it happens.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::event::HealthKind;

/// Identical frames in a row before a camera counts as stalled.
const STALLED_AFTER_FRAMES: u32 = 10;
/// The window over which the frame rate is measured.
const RATE_WINDOW: Duration = Duration::from_secs(30);
/// Below this share of the configured rate the camera is reported slow.
const LOW_RATE_SHARE: f64 = 0.5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Healthy,
    Unhealthy(HealthKind),
}

/// One camera's health, fed by its fetch loop.
#[derive(Debug)]
pub struct HealthMonitor {
    fps: f64,
    offline_after: Duration,
    started: Instant,
    last_frame: Option<Instant>,
    last_hash: Option<u64>,
    identical: u32,
    frames: VecDeque<Instant>,
    state: State,
    last_error: Option<String>,
}

/// A change worth reporting: what and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthChange {
    pub kind: HealthKind,
    pub detail: String,
}

impl HealthMonitor {
    pub fn new(fps: f64, offline_after: Duration, now: Instant) -> Self {
        HealthMonitor {
            fps,
            offline_after,
            started: now,
            last_frame: None,
            last_hash: None,
            identical: 0,
            frames: VecDeque::new(),
            state: State::Healthy,
            last_error: None,
        }
    }

    /// A frame arrived; `hash` identifies its bytes.
    pub fn frame(&mut self, hash: u64, now: Instant) -> Option<HealthChange> {
        if self.state == State::Unhealthy(HealthKind::Offline) {
            // Back from an outage: the frame rate is measured afresh.
            self.started = now;
            self.frames.clear();
        }
        self.last_frame = Some(now);
        self.last_error = None;
        if self.last_hash == Some(hash) {
            self.identical += 1;
        } else {
            self.identical = 0;
            self.last_hash = Some(hash);
        }
        self.frames.push_back(now);
        while self.frames.front().is_some_and(|&t| now.duration_since(t) > RATE_WINDOW) {
            self.frames.pop_front();
        }
        self.evaluate(now)
    }

    /// A fetch failed.
    pub fn error(&mut self, message: &str, now: Instant) -> Option<HealthChange> {
        self.last_error = Some(message.to_owned());
        self.evaluate(now)
    }

    /// Time passed with no news (called periodically).
    pub fn tick(&mut self, now: Instant) -> Option<HealthChange> {
        self.evaluate(now)
    }

    pub fn is_healthy(&self) -> bool {
        self.state == State::Healthy
    }

    fn evaluate(&mut self, now: Instant) -> Option<HealthChange> {
        let since_frame = now.duration_since(self.last_frame.unwrap_or(self.started));
        let (next, detail) = if since_frame >= self.offline_after {
            let why = self.last_error.clone().unwrap_or_else(|| "no frames".into());
            (State::Unhealthy(HealthKind::Offline), format!("no frame for {}s: {why}", since_frame.as_secs()))
        } else if self.identical >= STALLED_AFTER_FRAMES {
            (
                State::Unhealthy(HealthKind::Stalled),
                format!("the last {} frames were identical", self.identical + 1),
            )
        } else if let Some(rate) = self.measured_rate(now) {
            if rate < self.fps * LOW_RATE_SHARE {
                (
                    State::Unhealthy(HealthKind::LowFrameRate),
                    format!("{rate:.2} frames/s, configured {:.2}", self.fps),
                )
            } else {
                (State::Healthy, String::new())
            }
        } else {
            (State::Healthy, String::new())
        };
        if next == self.state {
            return None;
        }
        let previous = std::mem::replace(&mut self.state, next);
        match next {
            State::Unhealthy(kind) => Some(HealthChange { kind, detail }),
            State::Healthy => {
                let was = match previous {
                    State::Unhealthy(k) => format!("{k:?}"),
                    State::Healthy => String::new(),
                };
                Some(HealthChange {
                    kind: HealthKind::Recovered,
                    detail: format!("frames again after {}", was.to_lowercase()),
                })
            }
        }
    }

    /// Frames per second over the window, once a full window has been observed.
    fn measured_rate(&self, now: Instant) -> Option<f64> {
        if now.duration_since(self.started) < RATE_WINDOW {
            return None;
        }
        Some(self.frames.len() as f64 / RATE_WINDOW.as_secs_f64())
    }
}

/// A fast fingerprint of frame bytes (FNV-1a over a sample), enough to see a frozen
/// encoder repeat itself.
pub fn frame_hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    let step = (bytes.len() / 4096).max(1);
    for b in bytes.iter().step_by(step).chain(bytes.iter().rev().take(64)) {
        h ^= *b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h ^ bytes.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn offline_then_recovered() {
        let t0 = Instant::now();
        let mut h = HealthMonitor::new(1.0, secs(30.0), t0);
        assert_eq!(h.frame(1, t0), None);
        assert_eq!(h.error("HTTP 500", t0 + secs(10.0)), None);
        let change = h.error("HTTP 500", t0 + secs(31.0)).expect("offline");
        assert_eq!(change.kind, HealthKind::Offline);
        assert!(change.detail.contains("HTTP 500"), "{}", change.detail);
        // Reported once.
        assert_eq!(h.tick(t0 + secs(40.0)), None);
        assert_eq!(h.frame(2, t0 + secs(41.0)).map(|c| c.kind), Some(HealthKind::Recovered));
        assert!(h.is_healthy());
    }

    #[test]
    fn never_answered_is_offline() {
        let t0 = Instant::now();
        let mut h = HealthMonitor::new(1.0, secs(5.0), t0);
        assert_eq!(h.tick(t0 + secs(4.0)), None);
        assert_eq!(h.tick(t0 + secs(6.0)).map(|c| c.kind), Some(HealthKind::Offline));
    }

    #[test]
    fn frozen_frames_are_stalled() {
        let t0 = Instant::now();
        let mut h = HealthMonitor::new(1.0, secs(30.0), t0);
        let mut changes = Vec::new();
        for i in 0..12 {
            if let Some(c) = h.frame(42, t0 + secs(i as f64)) {
                changes.push(c.kind);
            }
        }
        assert_eq!(changes, vec![HealthKind::Stalled]);
        assert_eq!(h.frame(43, t0 + secs(12.0)).map(|c| c.kind), Some(HealthKind::Recovered));
    }

    #[test]
    fn low_frame_rate_after_a_full_window() {
        let t0 = Instant::now();
        let mut h = HealthMonitor::new(2.0, secs(30.0), t0);
        // One frame every 2 s against 2 configured per second.
        let mut kinds = Vec::new();
        for i in 0..20 {
            if let Some(c) = h.frame(i, t0 + secs(2.0 * i as f64)) {
                kinds.push(c.kind);
            }
        }
        assert_eq!(kinds, vec![HealthKind::LowFrameRate]);
        // At the configured rate it recovers once the window fills with good frames.
        let base = 40.0;
        let mut recovered = false;
        for i in 0..80 {
            if let Some(c) = h.frame(1000 + i, t0 + secs(base + 0.5 * i as f64)) {
                recovered |= c.kind == HealthKind::Recovered;
            }
        }
        assert!(recovered);
    }

    #[test]
    fn hash_tells_frames_apart() {
        let a = vec![1u8; 100_000];
        let mut b = a.clone();
        b[99_990] = 2;
        assert_ne!(frame_hash(&a), frame_hash(&b));
        assert_eq!(frame_hash(&a), frame_hash(&a.clone()));
        assert_ne!(frame_hash(&a), frame_hash(&a[..99_999]));
    }
}
