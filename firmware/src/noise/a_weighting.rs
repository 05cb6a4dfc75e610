//! The A-weighting filter of IEC 61672 as a digital IIR filter for a given sample
//! rate: the analog poles (20.6 Hz twice, 107.7 Hz, 737.9 Hz, 12194 Hz twice) and four
//! zeros at 0 Hz, taken through the bilinear transform into three biquads, and
//! normalised to 0 dB at 1 kHz.

use core::f64::consts::PI;

const F1: f64 = 20.598_997;
const F2: f64 = 107.652_65;
const F3: f64 = 737.862_23;
const F4: f64 = 12_194.217;

/// One second-order section, direct form I.
#[derive(Debug, Clone, Copy)]
struct Biquad {
    b: [f64; 3],
    a: [f64; 2],
    x: [f64; 2],
    y: [f64; 2],
}

impl Biquad {
    /// Numerator `b`, denominator `(1 - p z^-1)(1 - q z^-1)`.
    fn new(b: [f64; 3], p: f64, q: f64) -> Biquad {
        Biquad {
            b,
            a: [-(p + q), p * q],
            x: [0.0; 2],
            y: [0.0; 2],
        }
    }

    #[inline]
    fn process(&mut self, x: f64) -> f64 {
        let y = self.b[0] * x + self.b[1] * self.x[0] + self.b[2] * self.x[1]
            - self.a[0] * self.y[0]
            - self.a[1] * self.y[1];
        self.x = [x, self.x[0]];
        self.y = [y, self.y[0]];
        y
    }

    /// Complex response at `w` radians per sample.
    fn response(&self, w: f64) -> (f64, f64) {
        let (c1, s1) = (libm::cos(w), -libm::sin(w));
        let (c2, s2) = (libm::cos(2.0 * w), -libm::sin(2.0 * w));
        let num = (
            self.b[0] + self.b[1] * c1 + self.b[2] * c2,
            self.b[1] * s1 + self.b[2] * s2,
        );
        let den = (
            1.0 + self.a[0] * c1 + self.a[1] * c2,
            self.a[0] * s1 + self.a[1] * s2,
        );
        complex_div(num, den)
    }
}

fn complex_div((a, b): (f64, f64), (c, d): (f64, f64)) -> (f64, f64) {
    let n = c * c + d * d;
    ((a * c + b * d) / n, (b * c - a * d) / n)
}

/// The bilinear image of the analog pole at `f` Hz.
fn pole(f: f64, fs: f64) -> f64 {
    let w = 2.0 * PI * f;
    (2.0 * fs - w) / (2.0 * fs + w)
}

/// The analog A-weighting in dB (IEC 61672-1 formula), 0 dB at 1 kHz.
pub fn analog_db(f: f64) -> f64 {
    let f2 = f * f;
    let ra = (F4 * F4 * f2 * f2)
        / ((f2 + F1 * F1) * libm::sqrt((f2 + F2 * F2) * (f2 + F3 * F3)) * (f2 + F4 * F4));
    20.0 * libm::log10(ra) + 2.0
}

/// The frequency to place the two high poles at so that the digital filter matches the
/// analog one at 10 kHz: the bilinear transform's warping and its zeros at the Nyquist
/// frequency pull the top octave down, by 1.2 dB at 10 kHz for 48 kHz sampling.
fn fitted_high_pole(fs: f64) -> f64 {
    let target = analog_db(10_000.0);
    let (mut lo, mut hi) = (F4, F4 * 2.0);
    for _ in 0..50 {
        let mid = 0.5 * (lo + hi);
        if AWeighting::with_high_pole(fs, mid).response_db(10_000.0) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// A-weighting for one sample rate; filters one sample at a time.
#[derive(Debug, Clone)]
pub struct AWeighting {
    sections: [Biquad; 3],
    gain: f64,
    sample_rate: f64,
}

impl AWeighting {
    /// For `sample_rate` Hz (48 kHz for I²S MEMS microphones; at least 32 kHz).
    pub fn new(sample_rate: f64) -> AWeighting {
        AWeighting::with_high_pole(sample_rate, fitted_high_pole(sample_rate))
    }

    fn with_high_pole(sample_rate: f64, f4: f64) -> AWeighting {
        let fs = sample_rate;
        let hp = [1.0, -2.0, 1.0]; // (1 - z^-1)^2: two zeros at 0 Hz
        let lp = [1.0, 2.0, 1.0]; // (1 + z^-1)^2: what the bilinear transform adds at fs/2
        let sections = [
            Biquad::new(hp, pole(F1, fs), pole(F1, fs)),
            Biquad::new(hp, pole(F2, fs), pole(F3, fs)),
            Biquad::new(lp, pole(f4, fs), pole(f4, fs)),
        ];
        let mut filter = AWeighting {
            sections,
            gain: 1.0,
            sample_rate,
        };
        filter.gain = 1.0 / filter.magnitude(1000.0);
        filter
    }

    pub fn sample_rate(&self) -> f64 {
        self.sample_rate
    }

    #[inline]
    pub fn process(&mut self, x: f64) -> f64 {
        let mut y = x * self.gain;
        for s in &mut self.sections {
            y = s.process(y);
        }
        y
    }

    /// |H| at `f` Hz.
    pub fn magnitude(&self, f: f64) -> f64 {
        let w = 2.0 * PI * f / self.sample_rate;
        let (mut re, mut im) = (self.gain, 0.0);
        for s in &self.sections {
            let (a, b) = s.response(w);
            (re, im) = (re * a - im * b, re * b + im * a);
        }
        libm::sqrt(re * re + im * im)
    }

    /// Response at `f` Hz in dB.
    pub fn response_db(&self, f: f64) -> f64 {
        20.0 * libm::log10(self.magnitude(f))
    }

    pub fn reset(&mut self) {
        for s in &mut self.sections {
            s.x = [0.0; 2];
            s.y = [0.0; 2];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// IEC 61672-1 A-weighting at the nominal frequencies, with the class 1 tolerance
    /// limits (below, above) in dB.
    const IEC_61672: [(f64, f64, f64, f64); 31] = [
        (16.0, -56.7, -4.0, 2.5),
        (20.0, -50.5, -2.0, 2.0),
        (25.0, -44.7, -1.5, 2.0),
        (31.5, -39.4, -1.5, 1.5),
        (40.0, -34.6, -1.0, 1.0),
        (50.0, -30.2, -1.0, 1.0),
        (63.0, -26.2, -1.0, 1.0),
        (80.0, -22.5, -1.0, 1.0),
        (100.0, -19.1, -1.0, 1.0),
        (125.0, -16.1, -1.0, 1.0),
        (160.0, -13.4, -1.0, 1.0),
        (200.0, -10.9, -1.0, 1.0),
        (250.0, -8.6, -1.0, 1.0),
        (315.0, -6.6, -1.0, 1.0),
        (400.0, -4.8, -1.0, 1.0),
        (500.0, -3.2, -1.0, 1.0),
        (630.0, -1.9, -1.0, 1.0),
        (800.0, -0.8, -1.0, 1.0),
        (1000.0, 0.0, -0.7, 0.7),
        (1250.0, 0.6, -1.0, 1.0),
        (1600.0, 1.0, -1.0, 1.0),
        (2000.0, 1.2, -1.0, 1.0),
        (2500.0, 1.3, -1.0, 1.0),
        (3150.0, 1.2, -1.0, 1.0),
        (4000.0, 1.0, -1.0, 1.0),
        (5000.0, 0.5, -1.5, 1.5),
        (6300.0, -0.1, -2.0, 1.5),
        (8000.0, -1.1, -2.5, 1.5),
        (10000.0, -2.5, -3.0, 2.0),
        (12500.0, -4.3, -5.0, 2.0),
        (16000.0, -6.6, -16.0, 2.5),
    ];

    #[test]
    fn response_is_within_class_1_tolerance_at_48_khz() {
        let a = AWeighting::new(48_000.0);
        for (f, nominal, below, above) in IEC_61672 {
            let got = a.response_db(f);
            let err = got - nominal;
            assert!(
                err >= below && err <= above,
                "{f} Hz: {got:.2} dB, nominal {nominal}"
            );
        }
        assert!(a.response_db(1000.0).abs() < 1e-9);
        // The values the node's documentation quotes.
        assert!((a.response_db(100.0) + 19.1).abs() < 0.1);
        assert!((a.response_db(31.5) + 39.5).abs() < 0.15);
        assert!(
            (a.response_db(10_000.0) + 2.5).abs() < 0.1,
            "{}",
            a.response_db(10_000.0)
        );
        // Close to the analog curve over the whole band, not just within tolerance.
        for (f, ..) in IEC_61672.iter().filter(|r| r.0 <= 10_000.0) {
            let err = a.response_db(*f) - analog_db(*f);
            assert!(
                err.abs() < 0.4,
                "{f} Hz: {err:+.2} dB from the analog curve"
            );
        }
    }

    #[test]
    fn other_sample_rates_are_within_class_1_too() {
        for fs in [32_000.0, 44_100.0, 96_000.0] {
            let a = AWeighting::new(fs);
            for (f, nominal, below, above) in IEC_61672.iter().filter(|r| r.0 < fs / 2.0 * 0.8) {
                let err = a.response_db(*f) - nominal;
                assert!(err >= *below && err <= *above, "fs {fs}, {f} Hz: {err:+.2}");
            }
        }
    }

    #[test]
    fn filtering_a_sine_matches_the_response() {
        let fs = 48_000.0;
        for f in [100.0, 1000.0, 4000.0] {
            let mut a = AWeighting::new(fs);
            let (mut sum_in, mut sum_out) = (0.0, 0.0);
            for n in 0..96_000 {
                let x = libm::sin(2.0 * PI * f * n as f64 / fs);
                let y = a.process(x);
                if n >= 48_000 {
                    sum_in += x * x;
                    sum_out += y * y;
                }
            }
            let measured = 10.0 * libm::log10(sum_out / sum_in);
            assert!(
                (measured - a.response_db(f)).abs() < 0.02,
                "{f} Hz: {measured}"
            );
        }
    }
}
