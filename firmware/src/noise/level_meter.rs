//! Sound levels from microphone samples: LAeq over each second and over the report
//! interval, LAmax and LAmin with fast time weighting (125 ms), and the percentile
//! levels LA10 and LA90 from a fixed histogram of fast levels. No heap.

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

/// What the node reports for an interval, in dB(A).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoiseReport {
    pub laeq: f64,
    pub lamax: f64,
    pub lamin: f64,
    pub la10: f64,
    pub la90: f64,
    /// Seconds the report covers.
    pub seconds: u32,
}

const HIST_MIN_DB: f64 = 0.0;
const HIST_STEP_DB: f64 = 0.1;
const HIST_BINS: usize = 1600; // 0..160 dB
/// Fast levels are taken this many times a second for LAmax, LAmin and percentiles.
const LEVEL_RATE_HZ: u32 = 100;

#[derive(Debug, Clone)]
pub struct LevelMeter {
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
    /// LAeq of the last complete second.
    last_second: Option<f64>,
    interval_energy: f64,
    interval_seconds: u32,
    lamax: f64,
    lamin: f64,
    histogram: [u16; HIST_BINS],
    levels: u32,
}

impl LevelMeter {
    pub fn new(sample_rate: u32, calibration: MicCalibration) -> LevelMeter {
        let fs = f64::from(sample_rate);
        LevelMeter {
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
            last_second: None,
            interval_energy: 0.0,
            interval_seconds: 0,
            lamax: f64::NEG_INFINITY,
            lamin: f64::INFINITY,
            histogram: [0; HIST_BINS],
            levels: 0,
        }
    }

    fn level(&self, mean_square: f64) -> f64 {
        if mean_square <= 0.0 {
            return 0.0;
        }
        10.0 * libm::log10(mean_square / self.reference) + self.calibration.full_scale_db
    }

    /// Takes raw samples in -1.0..=1.0.
    pub fn process(&mut self, samples: &[f32]) {
        for &s in samples {
            let y = self.filter.process(f64::from(s));
            let sq = y * y;
            self.fast_state += self.fast_alpha * (sq - self.fast_state);
            self.second_sum += sq;
            self.second_count += 1;
            self.since_level += 1;
            if self.since_level >= self.samples_per_level {
                self.since_level = 0;
                self.record_fast_level();
            }
            if self.second_count >= self.samples_per_second {
                let mean = self.second_sum / f64::from(self.second_count);
                self.last_second = Some(self.level(mean));
                self.interval_energy += mean;
                self.interval_seconds += 1;
                self.second_sum = 0.0;
                self.second_count = 0;
            }
        }
    }

    fn record_fast_level(&mut self) {
        let l = self.level(self.fast_state);
        self.lamax = self.lamax.max(l);
        self.lamin = self.lamin.min(l);
        let bin = libm::floor((l - HIST_MIN_DB) / HIST_STEP_DB);
        let bin = if bin < 0.0 {
            0
        } else {
            (bin as usize).min(HIST_BINS - 1)
        };
        self.histogram[bin] = self.histogram[bin].saturating_add(1);
        self.levels += 1;
    }

    /// LAeq of the last complete second.
    pub fn last_second(&self) -> Option<f64> {
        self.last_second
    }

    /// The level exceeded `percent` % of the time (LA10: 10.0).
    fn percentile(&self, percent: f64) -> f64 {
        let target = libm::ceil(f64::from(self.levels) * percent / 100.0) as u32;
        let mut above = 0u32;
        for (i, count) in self.histogram.iter().enumerate().rev() {
            above += u32::from(*count);
            if above >= target.max(1) {
                return HIST_MIN_DB + (i as f64 + 0.5) * HIST_STEP_DB;
            }
        }
        HIST_MIN_DB
    }

    /// Closes the report interval: the levels since the last report (whole seconds),
    /// or `None` if not one second has passed.
    pub fn report(&mut self) -> Option<NoiseReport> {
        let report = (self.interval_seconds > 0).then(|| NoiseReport {
            laeq: self.level(self.interval_energy / f64::from(self.interval_seconds)),
            lamax: self.lamax,
            lamin: self.lamin,
            la10: self.percentile(10.0),
            la90: self.percentile(90.0),
            seconds: self.interval_seconds,
        });
        self.interval_energy = 0.0;
        self.interval_seconds = 0;
        self.lamax = f64::NEG_INFINITY;
        self.lamin = f64::INFINITY;
        self.histogram = [0; HIST_BINS];
        self.levels = 0;
        report
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
