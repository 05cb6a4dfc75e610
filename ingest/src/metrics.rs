//! Ingest counters and histograms, rendered in the Prometheus text format.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use veghe_sensors::RejectReason;

/// Upper bounds of the latency histograms, in seconds.
const BOUNDS_S: [f64; 18] = [
    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 2.0, 5.0, 10.0,
    30.0, 60.0,
];

/// Fine buckets grow by this factor from 100 µs: quantiles within 5 %.
const FINE_GROWTH: f64 = 1.05;
const FINE_BASE_US: f64 = 100.0;
const FINE_BUCKETS: usize = 320;

/// A latency histogram: fixed Prometheus buckets, plus fine log-spaced ones for
/// quantiles.
#[derive(Debug)]
pub struct Histogram {
    buckets: [AtomicU64; BOUNDS_S.len() + 1],
    fine: Vec<AtomicU64>,
    sum_us: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: Default::default(),
            fine: (0..FINE_BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            sum_us: AtomicU64::new(0),
        }
    }
}

fn fine_index(us: f64) -> usize {
    if us <= FINE_BASE_US {
        return 0;
    }
    (((us / FINE_BASE_US).ln() / FINE_GROWTH.ln()).ceil() as usize).min(FINE_BUCKETS - 1)
}

fn fine_upper_s(i: usize) -> f64 {
    FINE_BASE_US * FINE_GROWTH.powi(i as i32) / 1e6
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        let i = BOUNDS_S
            .iter()
            .position(|b| s <= *b)
            .unwrap_or(BOUNDS_S.len());
        self.buckets[i].fetch_add(1, Relaxed);
        self.fine[fine_index(s * 1e6)].fetch_add(1, Relaxed);
        self.sum_us.fetch_add(d.as_micros() as u64, Relaxed);
    }

    /// Quantile `q` (0..=1) within 5 % (the upper edge of its fine bucket), seconds.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total: u64 = self.fine.iter().map(|b| b.load(Relaxed)).sum();
        if total == 0 {
            return None;
        }
        let target = (q * total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, b) in self.fine.iter().enumerate() {
            seen += b.load(Relaxed);
            if seen >= target {
                return Some(fine_upper_s(i));
            }
        }
        None
    }

    pub fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Relaxed)).sum()
    }

    /// Upper bound of the bucket holding quantile `q` (0..=1); infinite past the last.
    pub fn quantile_upper_bound(&self, q: f64) -> Option<f64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let target = (q * total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            seen += b.load(Relaxed);
            if seen >= target {
                return Some(BOUNDS_S.get(i).copied().unwrap_or(f64::INFINITY));
            }
        }
        Some(f64::INFINITY)
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            cumulative += b.load(Relaxed);
            match BOUNDS_S.get(i) {
                Some(le) => {
                    let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {cumulative}");
                }
                None => {
                    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
                }
            }
        }
        let _ = writeln!(out, "{name}_sum {}", self.sum_us.load(Relaxed) as f64 / 1e6);
        let _ = writeln!(out, "{name}_count {cumulative}");
    }
}

#[derive(Debug, Default)]
pub struct IngestMetrics {
    /// Whether the MQTT subscriber holds a connection to the broker now.
    pub mqtt_connected: AtomicBool,
    /// Whether an MQTT subscriber runs at all.
    pub mqtt_enabled: AtomicBool,
    pub received_mqtt: AtomicU64,
    pub received_http: AtomicU64,
    pub messages_stored: AtomicU64,
    pub readings_stored: AtomicU64,
    rejected: [AtomicU64; RejectReason::ALL.len()],
    pub batches: AtomicU64,
    /// Committed batches the readings observer (sensor alert rules) could not take.
    pub observer_dropped: AtomicU64,
    pub store_errors: AtomicU64,
    /// Time to commit one batch.
    pub batch_latency: Histogram,
    /// From a message's own timestamp to its commit: publish-to-committed when the
    /// node's clock is the server's.
    pub commit_lag: Histogram,
}

impl IngestMetrics {
    pub fn reject(&self, reason: RejectReason) {
        if let Some(i) = RejectReason::ALL.iter().position(|r| *r == reason) {
            self.rejected[i].fetch_add(1, Relaxed);
        }
    }

    pub fn rejected(&self, reason: RejectReason) -> u64 {
        RejectReason::ALL
            .iter()
            .position(|r| *r == reason)
            .map_or(0, |i| self.rejected[i].load(Relaxed))
    }

    pub fn render(&self, out: &mut String) {
        let counter = |out: &mut String, name: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        };
        counter(
            out,
            "veghe_ingest_messages_received_total",
            "Sensor messages received.",
        );
        let _ = writeln!(
            out,
            "veghe_ingest_messages_received_total{{transport=\"mqtt\"}} {}",
            self.received_mqtt.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "veghe_ingest_messages_received_total{{transport=\"http\"}} {}",
            self.received_http.load(Relaxed)
        );
        counter(
            out,
            "veghe_ingest_messages_stored_total",
            "Sensor messages committed to the store.",
        );
        let _ = writeln!(
            out,
            "veghe_ingest_messages_stored_total {}",
            self.messages_stored.load(Relaxed)
        );
        counter(
            out,
            "veghe_ingest_readings_stored_total",
            "Readings (values) committed to the store.",
        );
        let _ = writeln!(
            out,
            "veghe_ingest_readings_stored_total {}",
            self.readings_stored.load(Relaxed)
        );
        counter(
            out,
            "veghe_ingest_rejected_total",
            "Payloads or values dead-lettered, by reason.",
        );
        for (i, reason) in RejectReason::ALL.iter().enumerate() {
            let _ = writeln!(
                out,
                "veghe_ingest_rejected_total{{reason=\"{}\"}} {}",
                reason.as_str(),
                self.rejected[i].load(Relaxed)
            );
        }
        let _ = writeln!(out, "# HELP veghe_ingest_mqtt_connected Whether the subscriber is connected.\n# TYPE veghe_ingest_mqtt_connected gauge\nveghe_ingest_mqtt_connected {}", u8::from(self.mqtt_connected.load(Relaxed)));
        counter(out, "veghe_ingest_batches_total", "Batches committed.");
        let _ = writeln!(
            out,
            "veghe_ingest_batches_total {}",
            self.batches.load(Relaxed)
        );
        counter(
            out,
            "veghe_ingest_observer_dropped_total",
            "Committed batches the sensor alert rules could not take.",
        );
        let _ = writeln!(
            out,
            "veghe_ingest_observer_dropped_total {}",
            self.observer_dropped.load(Relaxed)
        );
        counter(
            out,
            "veghe_ingest_store_errors_total",
            "Failed batch writes (retried).",
        );
        let _ = writeln!(
            out,
            "veghe_ingest_store_errors_total {}",
            self.store_errors.load(Relaxed)
        );
        self.batch_latency.render(
            out,
            "veghe_ingest_batch_seconds",
            "Time to commit one batch.",
        );
        self.commit_lag.render(
            out,
            "veghe_ingest_commit_lag_seconds",
            "From a message's timestamp to its commit.",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_come_from_bucket_bounds() {
        let h = Histogram::default();
        assert_eq!(h.quantile_upper_bound(0.99), None);
        for _ in 0..98 {
            h.observe(Duration::from_millis(3));
        }
        h.observe(Duration::from_millis(40));
        h.observe(Duration::from_secs(100));
        assert_eq!(h.quantile_upper_bound(0.5), Some(0.005));
        assert_eq!(h.quantile_upper_bound(0.99), Some(0.05));
        assert_eq!(h.quantile_upper_bound(1.0), Some(f64::INFINITY));
        let q50 = h.quantile(0.5).unwrap();
        assert!((0.003..0.00316).contains(&q50), "{q50}");
        let q99 = h.quantile(0.99).unwrap();
        assert!((0.04..0.0421).contains(&q99), "{q99}");
        let mut out = String::new();
        h.render(&mut out, "x", "help");
        assert!(out.contains("x_bucket{le=\"+Inf\"} 100"), "{out}");
        assert!(out.contains("x_count 100"));
    }
}
