//! The simulated hardware a node's firmware core runs on: a UART the particulate
//! sensor writes real frames into, the BME280 register file (from the core) answering
//! I²C reads with raw ADC values for the simulated air, the sensor's power switch, a
//! clock, and street noise as fast A-weighted levels.
//!
//! Noise is the one place the simulation does not start from a physical signal: running
//! the A-weighting filter on 48 kHz audio for thousands of nodes would take several
//! cores. The traffic model produces the fast-weighted (125 ms) levels a microphone
//! behind the filter would, eight a second, and the core's statistics stage
//! (`LevelStats`) turns them into LAeq, LAmax, LAmin, LA10 and LA90 as on a real node.

use std::collections::VecDeque;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use veghe_firmware::hal::{Clock, PowerSwitch, Uart};
use veghe_firmware::node::Board;
use veghe_firmware::noise::{LevelSource, LevelStats};
use veghe_firmware::sensors::bme280::SimulatedBme280;
use veghe_firmware::sequence::RamSeqStore;
use veghe_firmware::store_forward::RamSlots;

use crate::physics::Traffic;

/// Payloads a node can hold while offline (one per interval: 10 minutes at 10 s).
pub const OUTBOX_SLOTS: usize = 60;
/// Longest payload kept; a full set of values and health is about 420 bytes.
pub const PAYLOAD_MAX: usize = 448;

pub struct SimBoard;

impl Board for SimBoard {
    type Uart = SimUart;
    type I2c = SimulatedBme280;
    type Noise = TrafficNoise;
    type Power = SimPower;
    type Clock = SimClock;
    type Slots = RamSlots<OUTBOX_SLOTS, PAYLOAD_MAX>;
    type Seq = RamSeqStore;
}

/// Bytes on the line, oldest first. The node drains it every simulated second, so it
/// holds a frame or two.
#[derive(Debug, Default)]
pub struct SimUart(pub VecDeque<u8>);

impl Uart for SimUart {
    fn read(&mut self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.0.len());
        for (slot, byte) in buf.iter_mut().zip(self.0.drain(..n)) {
            *slot = byte;
        }
        n
    }
}

#[derive(Debug, Default)]
pub struct SimPower {
    pub on: bool,
}

impl PowerSwitch for SimPower {
    fn set(&mut self, on: bool) {
        self.on = on;
    }
}

/// Time the simulator sets before each turn of the node's loop.
#[derive(Debug, Default)]
pub struct SimClock {
    pub now_ms: u64,
    pub unix_ms: u64,
}

impl Clock for SimClock {
    fn now_ms(&self) -> u64 {
        self.now_ms
    }
    fn unix_ms(&self) -> Option<u64> {
        Some(self.unix_ms)
    }
}

/// Fast levels per simulated second.
const FAST_PER_SECOND: u32 = 8;
/// Correlation of consecutive fast levels: a passing vehicle lasts seconds, so the
/// level wanders with a time constant of about 1.2 s.
const RHO: f64 = 0.9;

/// Street noise as fast A-weighted levels: the traffic model's LAeq, with a level that
/// wanders around it (a first-order autoregressive process in dB).
pub struct TrafficNoise {
    rng: SmallRng,
    traffic: Option<Traffic>,
    deviation_db: f64,
    /// Whole seconds elapsed and not yet delivered.
    pub pending_seconds: u32,
}

impl TrafficNoise {
    pub fn new(seed: u64) -> Self {
        TrafficNoise {
            rng: SmallRng::seed_from_u64(seed),
            traffic: None,
            deviation_db: 0.0,
            pending_seconds: 0,
        }
    }

    /// The street's sound from now on; `None`: the node has no microphone.
    pub fn set(&mut self, traffic: Option<Traffic>) {
        self.traffic = traffic;
    }

    fn gauss(&mut self) -> f64 {
        // Box-Muller.
        let u1: f64 = self.rng.gen_range(f64::EPSILON..1.0);
        let u2: f64 = self.rng.gen();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

impl LevelSource for TrafficNoise {
    fn poll(&mut self, stats: &mut LevelStats) {
        let seconds = std::mem::take(&mut self.pending_seconds);
        let Some(traffic) = self.traffic else {
            return;
        };
        let sigma = traffic.spread_db.max(0.0);
        // Levels normal in dB with spread sigma have an energy mean sigma^2 ln10/20 above
        // their median: centre them so that the LAeq comes out as the model's.
        let median = traffic.laeq - sigma * sigma * std::f64::consts::LN_10 / 20.0;
        let innovation = (1.0 - RHO * RHO).sqrt() * sigma;
        for _ in 0..seconds {
            let mut energy = 0.0;
            for _ in 0..FAST_PER_SECOND {
                self.deviation_db = RHO * self.deviation_db + innovation * self.gauss();
                let level = median + self.deviation_db;
                stats.record_fast(level);
                energy += 10f64.powf(level / 10.0);
            }
            stats.record_second(10.0 * (energy / f64::from(FAST_PER_SECOND)).log10());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traffic_noise_statistics_come_out_of_the_core() {
        // (LAeq, spread): LAeq is kept; the percentiles open with the spread.
        let cases = [(70.0, 3.8), (52.0, 6.1), (60.0, 0.0)];
        for (laeq, spread_db) in cases {
            let mut noise = TrafficNoise::new(1);
            noise.set(Some(Traffic { laeq, spread_db }));
            let mut stats = LevelStats::new();
            noise.pending_seconds = 3600;
            noise.poll(&mut stats);
            let r = stats.report().unwrap();
            assert_eq!(r.seconds, 3600);
            assert!((r.laeq - laeq).abs() < 0.3, "{r:?}");
            // Normal levels: LA10 and LA90 1.28 sigma either side of the median.
            let median = laeq - spread_db * spread_db * 0.1151;
            assert!((r.la10 - (median + 1.28 * spread_db)).abs() < 0.5, "{r:?}");
            assert!((r.la90 - (median - 1.28 * spread_db)).abs() < 0.5, "{r:?}");
            // Percentiles are histogram bin centres, 0.05 dB above the bin's floor.
            assert!(r.lamax + 0.051 >= r.la10 && r.lamin <= r.la90, "{r:?}");
        }
        let mut silent = TrafficNoise::new(1);
        silent.pending_seconds = 10;
        let mut stats = LevelStats::new();
        silent.poll(&mut stats);
        assert!(stats.report().is_none(), "no microphone, no levels");
    }
}
