//! Sound levels from microphone samples: the signal stage (A-weighting, fast time
//! weighting of 125 ms, mean square per second) feeding the statistics stage
//! (`noise::stats`: LAeq over each second and the report interval, LAmax, LAmin, LA10,
//! LA90), and the microphone as a level source for the node loop. No heap.

use crate::hal::SampleSource;
use crate::noise::stats::{LevelSource, LevelStats, NoiseReport};
use crate::noise::AWeighting;

/// Maps digital sample values to sound pressure: the level of a full-scale sine's
/// RMS. An ICS-43434 (DNMS nodes) is -26 dBFS at 94 dB SPL, so 120 dB.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MicCalibration {
    /// dB SPL of a full-scale sine (samples in -1.0..=1.0).
    pub full_scale_db: f64,
}

impl MicCalibration {
    /// From the datasheet sensitivity (dBFS for a 94 dB SPL tone) and the individual
    /// microphone's correction, in dB.
    pub fn from_sensitivity(dbfs_at_94_db: f64, correction_db: f64) -> Self {
        MicCalibration {
            full_scale_db: 94.0 - dbfs_at_94_db + correction_db,
        }
    }

    /// The ICS-43434: -26 dBFS at 94 dB SPL.
    pub fn ics43434(correction_db: f64) -> Self {
        Self::from_sensitivity(-26.0, correction_db)
    }
}

/// Fast levels are taken this many times a second for LAmax, LAmin and percentiles.
const LEVEL_RATE_HZ: u32 = 100;

/// The signal stage: A-weighting, the fast (125 ms) exponential time weighting and the
/// mean square of each second, turned into levels for a `LevelStats`.
#[derive(Debug, Clone)]
pub struct FastDetector {
    filter: AWeighting,
    /// Mean square of a full-scale sine: levels are relative to it.
    reference: f64,
    calibration: MicCalibration,
    fast_state: f64,
    fast_alpha: f64,
    samples_per_level: u32,
    samples_per_second: u32,
    since_level: u32,
    second_sum: f64,
    second_count: u32,
}

impl FastDetector {
    pub fn new(sample_rate: u32, calibration: MicCalibration) -> FastDetector {
        let sample_rate = sample_rate.max(1);
        let fs = f64::from(sample_rate);
        FastDetector {
            filter: AWeighting::new(fs),
            reference: 0.5,
            calibration,
            fast_state: 0.0,
            // Exponential time weighting with tau = 125 ms.
            fast_alpha: 1.0 - libm::exp(-1.0 / (0.125 * fs)),
            samples_per_level: (sample_rate / LEVEL_RATE_HZ).max(1),
            samples_per_second: sample_rate,
            since_level: 0,
            second_sum: 0.0,
            second_count: 0,
        }
    }

    pub fn samples_per_second(&self) -> u32 {
        self.samples_per_second
    }

    fn level(&self, mean_square: f64) -> f64 {
        if mean_square <= 0.0 {
            return 0.0;
        }
        10.0 * libm::log10(mean_square / self.reference) + self.calibration.full_scale_db
    }

    /// Takes raw samples in -1.0..=1.0 and records their levels into `stats`.
    pub fn process(&mut self, samples: &[f32], stats: &mut LevelStats) {
        for &s in samples {
            let y = self.filter.process(f64::from(s));
            let sq = y * y;
            self.fast_state += self.fast_alpha * (sq - self.fast_state);
            self.second_sum += sq;
            self.second_count += 1;
            self.since_level += 1;
            if self.since_level >= self.samples_per_level {
                self.since_level = 0;
                stats.record_fast(self.level(self.fast_state));
            }
            if self.second_count >= self.samples_per_second {
                let mean = self.second_sum / f64::from(self.second_count);
                stats.record_second(self.level(mean));
                self.second_sum = 0.0;
                self.second_count = 0;
            }
        }
    }
}

/// The whole meter on samples handed to it: detector and statistics.
#[derive(Debug, Clone)]
pub struct LevelMeter {
    detector: FastDetector,
    stats: LevelStats,
}

impl LevelMeter {
    pub fn new(sample_rate: u32, calibration: MicCalibration) -> LevelMeter {
        LevelMeter {
            detector: FastDetector::new(sample_rate, calibration),
            stats: LevelStats::new(),
        }
    }

    /// Takes raw samples in -1.0..=1.0.
    pub fn process(&mut self, samples: &[f32]) {
        self.detector.process(samples, &mut self.stats);
    }

    /// LAeq of the last complete second.
    pub fn last_second(&self) -> Option<f64> {
        self.stats.last_second()
    }

    /// Closes the report interval: the levels since the last report (whole seconds),
    /// or `None` if not one second has passed.
    pub fn report(&mut self) -> Option<NoiseReport> {
        self.stats.report()
    }
}

/// A node's microphone: I²S samples through the detector, as a `LevelSource`.
pub struct Microphone<M: SampleSource> {
    pub source: M,
    detector: FastDetector,
}

/// Samples taken from the source per read; on the stack.
const CHUNK: usize = 256;

impl<M: SampleSource> Microphone<M> {
    pub fn new(source: M, calibration: MicCalibration) -> Self {
        let detector = FastDetector::new(source.sample_rate(), calibration);
        Microphone { source, detector }
    }
}

impl<M: SampleSource> LevelSource for Microphone<M> {
    fn poll(&mut self, stats: &mut LevelStats) {
        let mut buf = [0f32; CHUNK];
        // Whatever the DMA buffers hold, but never more than a few seconds per call, so
        // a source that never runs dry cannot stall the node loop.
        let mut budget = u64::from(self.detector.samples_per_second()) * 4;
        while budget > 0 {
            let n = self.source.read(&mut buf).min(CHUNK);
            if n == 0 {
                break;
            }
            self.detector.process(&buf[..n], stats);
            budget = budget.saturating_sub(n as u64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::f64::consts::PI;

    const FS: u32 = 48_000;

    fn sine(f: f64, amplitude: f64, seconds: f64, phase0: usize) -> Vec<f32> {
        let n = (seconds * f64::from(FS)) as usize;
        (phase0..phase0 + n)
            .map(|i| (amplitude * (2.0 * PI * f * i as f64 / f64::from(FS)).sin()) as f32)
            .collect()
    }

    #[test]
    fn laeq_of_a_1_khz_sine_is_its_level() {
        let cal = MicCalibration::ics43434(0.0);
        for (amplitude, want) in [(1.0, 120.0), (0.1, 100.0), (0.001, 60.0), (0.0001, 40.0)] {
            let mut meter = LevelMeter::new(FS, cal);
            // Let the filter settle, then measure 10 s.
            meter.process(&sine(1000.0, amplitude, 1.0, 0));
            meter.report();
            meter.process(&sine(1000.0, amplitude, 10.0, 48_000));
            let r = meter.report().unwrap();
            assert_eq!(r.seconds, 10);
            assert!(
                (r.laeq - want).abs() < 0.1,
                "amplitude {amplitude}: LAeq {}",
                r.laeq
            );
            assert!((meter.last_second().unwrap() - want).abs() < 0.1);
            // A steady tone: fast levels hardly move.
            for l in [r.lamax, r.lamin, r.la10, r.la90] {
                assert!((l - want).abs() < 0.2, "{r:?}");
            }
        }
    }

    #[test]
    fn a_weighting_lowers_a_low_tone() {
        let mut meter = LevelMeter::new(FS, MicCalibration::ics43434(0.0));
        meter.process(&sine(100.0, 0.1, 1.0, 0));
        meter.report();
        meter.process(&sine(100.0, 0.1, 4.0, 48_000));
        let r = meter.report().unwrap();
        assert!((r.laeq - (100.0 - 19.1)).abs() < 0.2, "{r:?}");
    }

    #[test]
    fn max_min_and_percentiles_follow_a_changing_level() {
        let mut meter = LevelMeter::new(FS, MicCalibration::ics43434(0.0));
        meter.process(&sine(1000.0, 0.001, 1.0, 0));
        meter.report();
        // 8.5 s at 60 dB, then 1.5 s at 80 dB.
        meter.process(&sine(1000.0, 0.001, 8.5, 0));
        meter.process(&sine(1000.0, 0.01, 1.5, 0));
        let r = meter.report().unwrap();
        // Energy mean of 8.5 s at 60 dB and 1.5 s at 80 dB.
        let want = 10.0 * ((8.5 * 1e6 + 1.5 * 1e8) / 10.0f64).log10();
        assert!((r.laeq - want).abs() < 0.15, "{r:?} vs {want}");
        assert!(
            (r.lamax - 80.0).abs() < 0.3 && (r.lamin - 60.0).abs() < 0.3,
            "{r:?}"
        );
        assert!((r.la90 - 60.0).abs() < 0.3, "{r:?}");
        assert!((r.la10 - 80.0).abs() < 0.3, "{r:?}");
    }

    #[test]
    fn calibration_offsets_the_levels() {
        let c = MicCalibration::from_sensitivity(-26.0, 1.5);
        assert_eq!(c.full_scale_db, 121.5);
    }
}
