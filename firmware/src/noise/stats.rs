//! The statistics stage of the level meter: from fast-weighted A levels and per-second
//! LAeq values to what a node reports for an interval (LAeq, LAmax, LAmin, LA10, LA90).
//! It does not care where the levels come from: the microphone through the
//! A-weighting filter on a node (`level_meter::Microphone`), or a traffic model in the
//! fleet simulator, so that both report through the same arithmetic. No heap.

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

/// Delivers fast levels and completed seconds into a node's statistics.
pub trait LevelSource {
    /// Records into `stats` everything measured since the last call.
    fn poll(&mut self, stats: &mut LevelStats);
}

const HIST_MIN_DB: f64 = 0.0;
const HIST_STEP_DB: f64 = 0.1;
const HIST_BINS: usize = 1600; // 0..160 dB

#[derive(Debug, Clone)]
pub struct LevelStats {
    last_second: Option<f64>,
    /// Sum of the seconds' energies, relative to 0 dB.
    interval_energy: f64,
    interval_seconds: u32,
    lamax: f64,
    lamin: f64,
    histogram: [u16; HIST_BINS],
    levels: u32,
}

impl Default for LevelStats {
    fn default() -> Self {
        Self::new()
    }
}

impl LevelStats {
    pub const fn new() -> LevelStats {
        LevelStats {
            last_second: None,
            interval_energy: 0.0,
            interval_seconds: 0,
            lamax: f64::NEG_INFINITY,
            lamin: f64::INFINITY,
            histogram: [0; HIST_BINS],
            levels: 0,
        }
    }

    /// One fast-weighted (125 ms) level, dB(A): LAmax, LAmin and the percentiles.
    /// Sources take them at a steady rate; percentiles count levels, not time.
    pub fn record_fast(&mut self, level_db: f64) {
        if level_db.is_nan() {
            return;
        }
        self.lamax = self.lamax.max(level_db);
        self.lamin = self.lamin.min(level_db);
        let bin = libm::floor((level_db - HIST_MIN_DB) / HIST_STEP_DB);
        let bin = if bin < 0.0 {
            0
        } else {
            (bin as usize).min(HIST_BINS - 1)
        };
        self.histogram[bin] = self.histogram[bin].saturating_add(1);
        self.levels = self.levels.saturating_add(1);
    }

    /// The LAeq of one complete second, dB(A).
    pub fn record_second(&mut self, laeq_db: f64) {
        if laeq_db.is_nan() {
            return;
        }
        self.last_second = Some(laeq_db);
        self.interval_energy += libm::pow(10.0, laeq_db / 10.0);
        self.interval_seconds += 1;
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
        let report = (self.interval_seconds > 0 && self.levels > 0).then(|| NoiseReport {
            laeq: 10.0 * libm::log10(self.interval_energy / f64::from(self.interval_seconds)),
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

    #[test]
    fn statistics_of_known_levels() {
        type Case = (&'static [(f64, u32)], f64, f64, f64, f64, f64);
        // (level, fast levels at it) per second; then LAeq, LAmax, LAmin, LA10, LA90.
        let cases: [Case; 3] = [
            (&[(60.0, 100)], 60.0, 60.0, 60.0, 60.05, 60.05),
            // 9 s at 60 dB, 1 s at 80 dB: LA10 sits on the loud tenth.
            (
                &[(60.0, 900), (80.0, 100)],
                10.0 * (0.9e6_f64 + 0.1e8).log10(),
                80.0,
                60.0,
                80.05,
                60.05,
            ),
            (
                &[(40.0, 500), (50.0, 500)],
                10.0 * (0.5e4_f64 + 0.5e5).log10(),
                50.0,
                40.0,
                50.05,
                40.05,
            ),
        ];
        for (spans, laeq, lamax, lamin, la10, la90) in cases {
            let mut s = LevelStats::new();
            for &(level, n) in spans {
                for i in 0..n {
                    s.record_fast(level);
                    if i % 100 == 99 {
                        s.record_second(level);
                    }
                }
            }
            let r = s.report().unwrap();
            let got = [r.laeq, r.lamax, r.lamin, r.la10, r.la90];
            for (g, w) in got.iter().zip([laeq, lamax, lamin, la10, la90]) {
                assert!((g - w).abs() < 1e-6, "{spans:?}: {r:?}");
            }
            assert!(s.report().is_none(), "a report starts the next interval");
        }
    }

    #[test]
    fn odd_levels_do_not_disturb_it() {
        let mut s = LevelStats::new();
        for l in [
            f64::NAN,
            -20.0,
            500.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            55.0,
        ] {
            s.record_fast(l);
        }
        s.record_second(f64::NAN);
        assert!(s.report().is_none(), "no complete second");
        s.record_fast(55.0);
        s.record_second(55.0);
        let r = s.report().unwrap();
        assert!((r.laeq - 55.0).abs() < 1e-9 && r.lamin == 55.0, "{r:?}");
    }
}
