//! Bosch BME280: calibration registers and the datasheet's integer compensation of
//! temperature (32-bit), pressure (64-bit) and humidity (32-bit) from raw ADC values.
//!
//! Intermediates are computed in wider integers than the datasheet's so that no ADC or
//! calibration value, however corrupt, can overflow; for valid inputs the results are
//! the datasheet's to the bit.

/// Trimming parameters, read once from registers 0x88..=0xA1 and 0xE1..=0xE7.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Calibration {
    pub t1: u16,
    pub t2: i16,
    pub t3: i16,
    pub p1: u16,
    pub p2: i16,
    pub p3: i16,
    pub p4: i16,
    pub p5: i16,
    pub p6: i16,
    pub p7: i16,
    pub p8: i16,
    pub p9: i16,
    pub h1: u8,
    pub h2: i16,
    pub h3: u8,
    pub h4: i16,
    pub h5: i16,
    pub h6: i8,
}

impl Calibration {
    /// From the 26 bytes at 0x88 and the 7 bytes at 0xE1.
    pub fn from_registers(block_88: &[u8; 26], block_e1: &[u8; 7]) -> Calibration {
        let u = |i: usize| u16::from_le_bytes([block_88[i], block_88[i + 1]]);
        let s = |i: usize| i16::from_le_bytes([block_88[i], block_88[i + 1]]);
        let e = block_e1;
        Calibration {
            t1: u(0),
            t2: s(2),
            t3: s(4),
            p1: u(6),
            p2: s(8),
            p3: s(10),
            p4: s(12),
            p5: s(14),
            p6: s(16),
            p7: s(18),
            p8: s(20),
            p9: s(22),
            h1: block_88[25],
            h2: i16::from_le_bytes([e[0], e[1]]),
            h3: e[2],
            // 12-bit values sharing the nibbles of 0xE5.
            h4: (i16::from(e[3] as i8) << 4) | i16::from(e[4] & 0x0F),
            h5: (i16::from(e[5] as i8) << 4) | i16::from(e[4] >> 4),
            h6: e[6] as i8,
        }
    }
}

/// Raw ADC values from the burst read of 0xF7..=0xFE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawSample {
    pub adc_p: i32,
    pub adc_t: i32,
    pub adc_h: i32,
}

impl RawSample {
    pub fn from_registers(r: &[u8; 8]) -> RawSample {
        let twenty =
            |a: u8, b: u8, c: u8| (i32::from(a) << 12) | (i32::from(b) << 4) | (i32::from(c) >> 4);
        RawSample {
            adc_p: twenty(r[0], r[1], r[2]),
            adc_t: twenty(r[3], r[4], r[5]),
            adc_h: (i32::from(r[6]) << 8) | i32::from(r[7]),
        }
    }
}

/// A compensated measurement in the datasheet's fixed-point units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measurement {
    /// Hundredths of °C (2508 = 25.08 °C).
    pub temperature_centi_c: i32,
    /// Pa in Q24.8 (25767233 = 100653.25 Pa).
    pub pressure_q24_8: u32,
    /// %RH in Q22.10 (47445 = 46.333 %RH).
    pub humidity_q22_10: u32,
    /// The fine temperature the other two depend on.
    pub t_fine: i32,
}

impl Measurement {
    pub fn temperature_c(&self) -> f32 {
        self.temperature_centi_c as f32 / 100.0
    }

    pub fn pressure_hpa(&self) -> f32 {
        (f64::from(self.pressure_q24_8) / 256.0 / 100.0) as f32
    }

    pub fn humidity_percent(&self) -> f32 {
        (f64::from(self.humidity_q22_10) / 1024.0) as f32
    }
}

/// Temperature: returns (hundredths of °C, t_fine).
pub fn compensate_temperature(cal: &Calibration, adc_t: i32) -> (i32, i32) {
    let adc_t = i64::from(adc_t);
    let (t1, t2, t3) = (i64::from(cal.t1), i64::from(cal.t2), i64::from(cal.t3));
    let var1 = (((adc_t >> 3) - (t1 << 1)) * t2) >> 11;
    let d = (adc_t >> 4) - t1;
    let var2 = (((d * d) >> 12) * t3) >> 14;
    let t_fine = clamp_i32(var1 + var2);
    let t = (i64::from(t_fine) * 5 + 128) >> 8;
    (clamp_i32(t), t_fine)
}

/// Pressure in Pa, Q24.8; 0 when the calibration would divide by zero.
pub fn compensate_pressure(cal: &Calibration, adc_p: i32, t_fine: i32) -> u32 {
    let c = |v: i16| i128::from(v);
    let mut var1 = i128::from(t_fine) - 128_000;
    let mut var2 = var1 * var1 * c(cal.p6);
    var2 += (var1 * c(cal.p5)) << 17;
    var2 += c(cal.p4) << 35;
    var1 = ((var1 * var1 * c(cal.p3)) >> 8) + ((var1 * c(cal.p2)) << 12);
    var1 = (((1i128 << 47) + var1) * i128::from(cal.p1)) >> 33;
    if var1 == 0 {
        return 0;
    }
    let mut p = 1_048_576 - i128::from(adc_p);
    p = (((p << 31) - var2) * 3125) / var1;
    let var1 = (c(cal.p9) * (p >> 13) * (p >> 13)) >> 25;
    let var2 = (c(cal.p8) * p) >> 19;
    p = ((p + var1 + var2) >> 8) + (c(cal.p7) << 4);
    p.clamp(0, i128::from(u32::MAX)) as u32
}

/// Relative humidity in %, Q22.10, clamped to 0..=100 %.
pub fn compensate_humidity(cal: &Calibration, adc_h: i32, t_fine: i32) -> u32 {
    let x = i64::from(t_fine) - 76_800;
    let adc_h = i64::from(adc_h);
    let (h1, h2, h3) = (i64::from(cal.h1), i64::from(cal.h2), i64::from(cal.h3));
    let (h4, h5, h6) = (i64::from(cal.h4), i64::from(cal.h5), i64::from(cal.h6));
    let mut v = (((adc_h << 14) - (h4 << 20) - (h5 * x)) + 16_384) >> 15;
    v *=
        ((((((x * h6) >> 10) * (((x * h3) >> 11) + 32_768)) >> 10) + 2_097_152) * h2 + 8_192) >> 14;
    v -= ((((v >> 15) * (v >> 15)) >> 7) * h1) >> 4;
    (v.clamp(0, 419_430_400) >> 12) as u32
}

/// Temperature, pressure and humidity of one sample.
pub fn compensate(cal: &Calibration, raw: &RawSample) -> Measurement {
    let (temperature_centi_c, t_fine) = compensate_temperature(cal, raw.adc_t);
    Measurement {
        temperature_centi_c,
        pressure_q24_8: compensate_pressure(cal, raw.adc_p, t_fine),
        humidity_q22_10: compensate_humidity(cal, raw.adc_h, t_fine),
        t_fine,
    }
}

fn clamp_i32(v: i64) -> i32 {
    v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The trimming values of the datasheet's worked example (BMP280 datasheet 3.12,
    /// same formulas), with humidity values typical of a BME280.
    fn example() -> Calibration {
        Calibration {
            t1: 27504,
            t2: 26435,
            t3: -1000,
            p1: 36477,
            p2: -10685,
            p3: 3024,
            p4: 2855,
            p5: 140,
            p6: -7,
            p7: 15500,
            p8: -14600,
            p9: 6000,
            h1: 75,
            h2: 362,
            h3: 0,
            h4: 313,
            h5: 50,
            h6: 30,
        }
    }

    // The datasheet's floating-point formulas, an independent check of the integer ones.
    fn temperature_double(c: &Calibration, adc_t: i32) -> (f64, f64) {
        let a = f64::from(adc_t);
        let var1 = (a / 16384.0 - f64::from(c.t1) / 1024.0) * f64::from(c.t2);
        let d = a / 131072.0 - f64::from(c.t1) / 8192.0;
        let var2 = d * d * f64::from(c.t3);
        ((var1 + var2) / 5120.0, var1 + var2)
    }

    fn pressure_double(c: &Calibration, adc_p: i32, t_fine: f64) -> f64 {
        let mut var1 = t_fine / 2.0 - 64000.0;
        let mut var2 = var1 * var1 * f64::from(c.p6) / 32768.0;
        var2 += var1 * f64::from(c.p5) * 2.0;
        var2 = var2 / 4.0 + f64::from(c.p4) * 65536.0;
        var1 = (f64::from(c.p3) * var1 * var1 / 524288.0 + f64::from(c.p2) * var1) / 524288.0;
        var1 = (1.0 + var1 / 32768.0) * f64::from(c.p1);
        let mut p = 1048576.0 - f64::from(adc_p);
        p = (p - var2 / 4096.0) * 6250.0 / var1;
        let var1 = f64::from(c.p9) * p * p / 2147483648.0;
        let var2 = p * f64::from(c.p8) / 32768.0;
        p + (var1 + var2 + f64::from(c.p7)) / 16.0
    }

    fn humidity_double(c: &Calibration, adc_h: i32, t_fine: f64) -> f64 {
        let x = t_fine - 76800.0;
        let mut h = (f64::from(adc_h) - (f64::from(c.h4) * 64.0 + f64::from(c.h5) / 16384.0 * x))
            * (f64::from(c.h2) / 65536.0
                * (1.0
                    + f64::from(c.h6) / 67108864.0 * x * (1.0 + f64::from(c.h3) / 67108864.0 * x)));
        h *= 1.0 - f64::from(c.h1) * h / 524288.0;
        h.clamp(0.0, 100.0)
    }

    #[test]
    fn the_datasheets_worked_example() {
        let cal = example();
        let (t, t_fine) = compensate_temperature(&cal, 519_888);
        assert_eq!((t, t_fine), (2508, 128_422));
        // The datasheet's figure prints 25767236; its published 64-bit formula yields
        // 25767233 (3/256 Pa less), as every faithful implementation finds.
        let p = compensate_pressure(&cal, 415_148, t_fine);
        assert_eq!(p, 25_767_233);
        assert!((f64::from(p) / 256.0 - 100_653.27).abs() < 0.02);
        let (td, tfd) = temperature_double(&cal, 519_888);
        assert!((td - 25.08).abs() < 0.01);
        assert!((pressure_double(&cal, 415_148, tfd) - 100_653.27).abs() < 0.05);
    }

    #[test]
    fn integer_and_floating_point_formulas_agree() {
        let cal = example();
        for adc_t in (400_000..600_000).step_by(9_973) {
            let (t, t_fine) = compensate_temperature(&cal, adc_t);
            let (td, tfd) = temperature_double(&cal, adc_t);
            assert!((f64::from(t) / 100.0 - td).abs() <= 0.011, "T at {adc_t}");
            for adc_p in (250_000..500_000).step_by(24_989) {
                let p = f64::from(compensate_pressure(&cal, adc_p, t_fine)) / 256.0;
                let pd = pressure_double(&cal, adc_p, tfd);
                assert!((p - pd).abs() < 1.0, "P at {adc_t}/{adc_p}: {p} vs {pd}");
            }
            for adc_h in (20_000..40_000).step_by(997) {
                let h = f64::from(compensate_humidity(&cal, adc_h, t_fine)) / 1024.0;
                let hd = humidity_double(&cal, adc_h, tfd);
                assert!((h - hd).abs() < 0.05, "H at {adc_t}/{adc_h}: {h} vs {hd}");
            }
        }
    }

    #[test]
    fn registers_decode_as_the_datasheet_lays_them_out() {
        let cal = example();
        let mut b88 = [0u8; 26];
        let words: [u16; 12] = [
            cal.t1,
            cal.t2 as u16,
            cal.t3 as u16,
            cal.p1,
            cal.p2 as u16,
            cal.p3 as u16,
            cal.p4 as u16,
            cal.p5 as u16,
            cal.p6 as u16,
            cal.p7 as u16,
            cal.p8 as u16,
            cal.p9 as u16,
        ];
        for (i, w) in words.iter().enumerate() {
            b88[2 * i..2 * i + 2].copy_from_slice(&w.to_le_bytes());
        }
        b88[25] = cal.h1;
        // H4 = 313 = 0x139: 0xE4 = 0x13, low nibble of 0xE5 = 0x9; H5 = 50 = 0x032:
        // high nibble of 0xE5 = 0x2, 0xE6 = 0x03.
        let be1 = [0x6A, 0x01, 0x00, 0x13, 0x29, 0x03, 0x1E];
        assert_eq!(Calibration::from_registers(&b88, &be1), cal);
        // Negative H4/H5 keep their sign.
        let neg = Calibration::from_registers(&b88, &[0, 0, 0, 0xFF, 0xFF, 0xFF, 0]);
        assert_eq!((neg.h4, neg.h5), (-1, -1));

        let raw = RawSample::from_registers(&[0x65, 0x5A, 0xC0, 0x7E, 0xED, 0x00, 0x6E, 0x8F]);
        assert_eq!(
            raw,
            RawSample {
                adc_p: 415_148,
                adc_t: 519_888,
                adc_h: 28_303
            }
        );
    }

    proptest! {
        #[test]
        fn never_panics(regs in any::<[u8; 26]>(), e1 in any::<[u8; 7]>(), raw in any::<[u8; 8]>()) {
            let cal = Calibration::from_registers(&regs, &e1);
            let m = compensate(&cal, &RawSample::from_registers(&raw));
            prop_assert!(m.humidity_q22_10 <= 102_400);
        }
    }
}
