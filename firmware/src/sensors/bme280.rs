//! Bosch BME280: calibration registers and the datasheet's integer compensation of
//! temperature (32-bit), pressure (64-bit) and humidity (32-bit) from raw ADC values.
//!
//! Intermediates are computed in wider integers than the datasheet's so that no ADC or
//! calibration value, however corrupt, can overflow; for valid inputs the results are
//! the datasheet's to the bit.
//!
//! The driver (`Bme280`) reads the chip over any `hal::I2c`: chip id, calibration once,
//! normal mode with x1 oversampling, then a burst read of the data registers per
//! measurement. `raw_for` inverts the compensation, for simulators and tests that have
//! to answer the register reads of a sensor in given air.

use crate::hal::{BusError, I2c};

/// I²C address with SDO to ground (0x77 with SDO high).
pub const ADDRESS: u8 = 0x76;
pub const CHIP_ID: u8 = 0x60;
pub const REG_ID: u8 = 0xD0;
pub const REG_CALIB_88: u8 = 0x88;
pub const REG_CALIB_E1: u8 = 0xE1;
pub const REG_CTRL_HUM: u8 = 0xF2;
pub const REG_CTRL_MEAS: u8 = 0xF4;
pub const REG_CONFIG: u8 = 0xF5;
pub const REG_DATA: u8 = 0xF7;
/// What the data registers hold before the first measurement (0x80000 per channel).
const SKIPPED_20_BIT: i32 = 0x80000;

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

impl Calibration {
    /// The register images this calibration is read from (inverse of `from_registers`).
    pub fn to_registers(&self) -> ([u8; 26], [u8; 7]) {
        let mut b = [0u8; 26];
        let words: [[u8; 2]; 12] = [
            self.t1.to_le_bytes(),
            self.t2.to_le_bytes(),
            self.t3.to_le_bytes(),
            self.p1.to_le_bytes(),
            self.p2.to_le_bytes(),
            self.p3.to_le_bytes(),
            self.p4.to_le_bytes(),
            self.p5.to_le_bytes(),
            self.p6.to_le_bytes(),
            self.p7.to_le_bytes(),
            self.p8.to_le_bytes(),
            self.p9.to_le_bytes(),
        ];
        for (i, w) in words.iter().enumerate() {
            b[2 * i..2 * i + 2].copy_from_slice(w);
        }
        b[25] = self.h1;
        let [h2_lo, h2_hi] = self.h2.to_le_bytes();
        let e = [
            h2_lo,
            h2_hi,
            self.h3,
            (self.h4 >> 4) as u8,
            ((self.h5 & 0x0F) << 4) as u8 | (self.h4 & 0x0F) as u8,
            (self.h5 >> 4) as u8,
            self.h6 as u8,
        ];
        (b, e)
    }

    /// Trimming values of a typical part (the datasheet's worked example for
    /// temperature and pressure, typical humidity values).
    pub const fn typical() -> Calibration {
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

    /// The data registers holding this sample (inverse of `from_registers`).
    pub fn to_registers(&self) -> [u8; 8] {
        let p = self.adc_p.clamp(0, 0xF_FFFF);
        let t = self.adc_t.clamp(0, 0xF_FFFF);
        let h = self.adc_h.clamp(0, 0xFFFF);
        [
            (p >> 12) as u8,
            (p >> 4) as u8,
            ((p & 0xF) << 4) as u8,
            (t >> 12) as u8,
            (t >> 4) as u8,
            ((t & 0xF) << 4) as u8,
            (h >> 8) as u8,
            h as u8,
        ]
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

/// The smallest `x` in `lo..=hi` for which `pred` holds (`hi` if none): `pred` must
/// be false, then true, along the range.
fn bisect(mut lo: i32, mut hi: i32, pred: impl Fn(i32) -> bool) -> i32 {
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// The raw sample a sensor with this calibration reads in air at `temperature_c`,
/// `pressure_hpa` and `humidity_percent`: the inverse of `compensate`, to within its
/// resolution. For simulators and tests that play the sensor.
pub fn raw_for(
    cal: &Calibration,
    temperature_c: f32,
    pressure_hpa: f32,
    humidity_percent: f32,
) -> RawSample {
    let want_t = libm::roundf(temperature_c * 100.0) as i32;
    let adc_t = bisect(0, 0xF_FFFF, |a| compensate_temperature(cal, a).0 >= want_t);
    let (_, t_fine) = compensate_temperature(cal, adc_t);
    // Pressure falls as its ADC value rises.
    let want_p = (f64::from(pressure_hpa) * 100.0 * 256.0) as u32;
    let adc_p = bisect(0, 0xF_FFFF, |a| {
        compensate_pressure(cal, a, t_fine) <= want_p
    });
    let want_h = (f64::from(humidity_percent.clamp(0.0, 100.0)) * 1024.0) as u32;
    let adc_h = bisect(0, 0xFFFF, |a| compensate_humidity(cal, a, t_fine) >= want_h);
    RawSample {
        adc_p,
        adc_t,
        adc_h,
    }
}

/// Why the sensor gave no measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bme280Error {
    Bus(BusError),
    /// Something else answers at the address.
    WrongChip(u8),
    /// No measurement completed since power-up.
    NoData,
}

impl From<BusError> for Bme280Error {
    fn from(e: BusError) -> Self {
        Bme280Error::Bus(e)
    }
}

/// The driver: calibration read once, then a burst read per measurement.
#[derive(Debug, Clone)]
pub struct Bme280 {
    address: u8,
    calibration: Option<Calibration>,
}

impl Bme280 {
    pub const fn new(address: u8) -> Self {
        Bme280 {
            address,
            calibration: None,
        }
    }

    /// Checks the chip, reads its calibration and starts normal mode (x1 oversampling
    /// of each channel, a measurement every second).
    pub fn init<I: I2c>(&mut self, i2c: &mut I) -> Result<(), Bme280Error> {
        let mut id = [0u8; 1];
        i2c.write_read(self.address, &[REG_ID], &mut id)?;
        if id[0] != CHIP_ID {
            return Err(Bme280Error::WrongChip(id[0]));
        }
        let mut b88 = [0u8; 26];
        let mut be1 = [0u8; 7];
        i2c.write_read(self.address, &[REG_CALIB_88], &mut b88)?;
        i2c.write_read(self.address, &[REG_CALIB_E1], &mut be1)?;
        // Humidity oversampling takes effect with the next write of ctrl_meas.
        i2c.write(self.address, &[REG_CTRL_HUM, 0b001])?;
        i2c.write(self.address, &[REG_CONFIG, 0b101 << 5])?;
        // osrs_t x1 (001), osrs_p x1 (001), normal mode (11).
        i2c.write(self.address, &[REG_CTRL_MEAS, 0b0010_0111])?;
        self.calibration = Some(Calibration::from_registers(&b88, &be1));
        Ok(())
    }

    /// The latest measurement; initialises the chip first if needed (after a reset, or
    /// when it was absent at boot).
    pub fn read<I: I2c>(&mut self, i2c: &mut I) -> Result<Measurement, Bme280Error> {
        let cal = match self.calibration {
            Some(c) => c,
            None => {
                self.init(i2c)?;
                self.calibration.ok_or(Bme280Error::NoData)?
            }
        };
        let mut data = [0u8; 8];
        if let Err(e) = i2c.write_read(self.address, &[REG_DATA], &mut data) {
            // It may have been power-cycled or replaced: read the calibration again.
            self.calibration = None;
            return Err(e.into());
        }
        let raw = RawSample::from_registers(&data);
        if raw.adc_t == SKIPPED_20_BIT {
            return Err(Bme280Error::NoData);
        }
        Ok(compensate(&cal, &raw))
    }
}

/// A BME280 as its register file: answers the driver's reads with the registers of a
/// sensor in the air set by `set_air`. For simulators and tests.
#[derive(Debug, Clone)]
pub struct SimulatedBme280 {
    pub address: u8,
    calibration: Calibration,
    regs: [u8; 256],
    /// When false, the chip does not acknowledge (unplugged, broken wire).
    pub present: bool,
}

impl SimulatedBme280 {
    pub fn new(address: u8, calibration: Calibration) -> Self {
        let mut regs = [0u8; 256];
        let (b88, be1) = calibration.to_registers();
        regs[usize::from(REG_CALIB_88)..][..26].copy_from_slice(&b88);
        regs[usize::from(REG_CALIB_E1)..][..7].copy_from_slice(&be1);
        regs[usize::from(REG_ID)] = CHIP_ID;
        // Reset values of the data registers: no measurement yet.
        regs[usize::from(REG_DATA)..][..8].copy_from_slice(&[0x80, 0, 0, 0x80, 0, 0, 0x80, 0]);
        SimulatedBme280 {
            address,
            calibration,
            regs,
            present: true,
        }
    }

    pub fn set_air(&mut self, temperature_c: f32, pressure_hpa: f32, humidity_percent: f32) {
        let raw = raw_for(
            &self.calibration,
            temperature_c,
            pressure_hpa,
            humidity_percent,
        );
        self.regs[usize::from(REG_DATA)..][..8].copy_from_slice(&raw.to_registers());
    }

    /// A register as the driver last wrote it.
    pub fn register(&self, reg: u8) -> u8 {
        self.regs[usize::from(reg)]
    }
}

impl I2c for SimulatedBme280 {
    fn write(&mut self, address: u8, bytes: &[u8]) -> Result<(), BusError> {
        if address != self.address || !self.present {
            return Err(BusError::Nack);
        }
        // Register address, then values for it and the next ones (auto-increment).
        if let Some((&reg, values)) = bytes.split_first() {
            for (i, v) in values.iter().enumerate() {
                let r = usize::from(reg) + i;
                // Only the control registers are writable.
                if matches!(r, 0xF2 | 0xF4 | 0xF5) {
                    self.regs[r] = *v;
                }
            }
        }
        Ok(())
    }

    fn write_read(&mut self, address: u8, bytes: &[u8], out: &mut [u8]) -> Result<(), BusError> {
        if address != self.address || !self.present {
            return Err(BusError::Nack);
        }
        let start = usize::from(bytes.first().copied().unwrap_or(0));
        for (i, o) in out.iter_mut().enumerate() {
            *o = self.regs.get(start + i).copied().unwrap_or(0);
        }
        Ok(())
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
        Calibration::typical()
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

    #[test]
    fn calibration_registers_round_trip() {
        let cal = example();
        let (b88, be1) = cal.to_registers();
        assert_eq!(Calibration::from_registers(&b88, &be1), cal);
        let odd = Calibration {
            h4: -300,
            h5: -2048,
            h6: -5,
            ..cal
        };
        let (b88, be1) = odd.to_registers();
        assert_eq!(Calibration::from_registers(&b88, &be1), odd);
    }

    #[test]
    fn raw_for_inverts_the_compensation() {
        let cal = example();
        let cases: [(f32, f32, f32); 6] = [
            (25.08, 1006.53, 46.3),
            (-20.0, 980.0, 95.0),
            (0.0, 1016.0, 70.0),
            (38.5, 1030.2, 20.0),
            (12.34, 1000.0, 100.0),
            (5.0, 950.0, 0.0),
        ];
        for (t, p, h) in cases {
            let raw = raw_for(&cal, t, p, h);
            assert_eq!(RawSample::from_registers(&raw.to_registers()), raw);
            let m = compensate(&cal, &raw);
            assert!((m.temperature_c() - t).abs() <= 0.011, "{t}: {m:?}");
            assert!((m.pressure_hpa() - p).abs() <= 0.02, "{p}: {m:?}");
            assert!((m.humidity_percent() - h).abs() <= 0.01, "{h}: {m:?}");
        }
    }

    #[test]
    fn the_driver_reads_a_chip_over_i2c() {
        let mut chip = SimulatedBme280::new(ADDRESS, example());
        let mut bme = Bme280::new(ADDRESS);
        assert_eq!(
            bme.read(&mut chip),
            Err(Bme280Error::NoData),
            "before a measurement"
        );
        assert_eq!(chip.register(REG_CTRL_MEAS) & 0b11, 0b11, "normal mode");
        assert_eq!(chip.register(REG_CTRL_HUM), 0b001);
        chip.set_air(21.5, 1012.0, 55.0);
        let m = bme.read(&mut chip).unwrap();
        assert!((m.temperature_c() - 21.5).abs() < 0.011, "{m:?}");
        // Unplugged: a bus error; plugged back: the driver starts it again.
        chip.present = false;
        assert_eq!(bme.read(&mut chip), Err(Bme280Error::Bus(BusError::Nack)));
        chip.present = true;
        assert!(bme.read(&mut chip).is_ok());
        // Another chip at the address.
        chip.regs[usize::from(REG_ID)] = 0x58;
        let mut other = Bme280::new(ADDRESS);
        assert_eq!(other.read(&mut chip), Err(Bme280Error::WrongChip(0x58)));
        assert_eq!(
            Bme280::new(0x77).read(&mut chip),
            Err(Bme280Error::Bus(BusError::Nack))
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
