//! Nova SDS011 particulate sensor, UART data frames: 10 bytes
//! `AA C0 pm25_lo pm25_hi pm10_lo pm10_hi id_lo id_hi checksum AB`, values in tenths
//! of µg/m³, checksum the low byte of the sum of bytes 2..=7.
//!
//! The parser slides a window over the stream: garbage is skipped, a bad frame costs
//! one byte of resynchronisation, and any valid frame embedded in garbage is found.

use super::{FrameError, FrameWindow};

pub const FRAME_LEN: usize = 10;
const HEAD: u8 = 0xAA;
const DATA_CMD: u8 = 0xC0;
const TAIL: u8 = 0xAB;

/// One measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sds011Reading {
    /// PM2.5 in tenths of µg/m³ (the sensor's resolution).
    pub pm2_5_tenths: u16,
    pub pm10_tenths: u16,
    pub device_id: u16,
}

impl Sds011Reading {
    pub fn pm2_5(&self) -> f32 {
        f32::from(self.pm2_5_tenths) / 10.0
    }

    pub fn pm10(&self) -> f32 {
        f32::from(self.pm10_tenths) / 10.0
    }
}

/// Streaming frame parser; feed it every byte the UART delivers.
#[derive(Debug, Clone)]
pub struct Sds011Parser {
    window: FrameWindow<FRAME_LEN>,
}

impl Default for Sds011Parser {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether `prefix` could begin a data frame.
fn could_start(prefix: &[u8]) -> bool {
    prefix.first().is_none_or(|b| *b == HEAD) && prefix.get(1).is_none_or(|b| *b == DATA_CMD)
}

impl Sds011Parser {
    pub const fn new() -> Self {
        Sds011Parser {
            window: FrameWindow::new(),
        }
    }

    /// Takes one byte; returns a reading when it completes a valid frame, an error when
    /// it completes a frame-shaped run that is not one.
    pub fn push(&mut self, byte: u8) -> Option<Result<Sds011Reading, FrameError>> {
        let w = self.window.push(byte, could_start)?;
        let result = if w[9] != TAIL {
            Err(FrameError::Tail)
        } else if checksum(&w) != w[8] {
            Err(FrameError::Checksum)
        } else {
            Ok(Sds011Reading {
                pm2_5_tenths: u16::from_le_bytes([w[2], w[3]]),
                pm10_tenths: u16::from_le_bytes([w[4], w[5]]),
                device_id: u16::from_le_bytes([w[6], w[7]]),
            })
        };
        match result {
            Ok(_) => self.window.accept(),
            Err(_) => self.window.reject(could_start),
        }
        Some(result)
    }
}

fn checksum(frame: &[u8; FRAME_LEN]) -> u8 {
    frame[2..8].iter().fold(0u8, |acc, b| acc.wrapping_add(*b))
}

/// A valid data frame for the given values (for tests and simulators).
pub fn encode(reading: &Sds011Reading) -> [u8; FRAME_LEN] {
    let [a, b] = reading.pm2_5_tenths.to_le_bytes();
    let [c, d] = reading.pm10_tenths.to_le_bytes();
    let [e, f] = reading.device_id.to_le_bytes();
    let mut frame = [HEAD, DATA_CMD, a, b, c, d, e, f, 0, TAIL];
    frame[8] = checksum(&frame);
    frame
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse_all(bytes: &[u8]) -> (Vec<Sds011Reading>, usize) {
        let mut p = Sds011Parser::new();
        let mut readings = Vec::new();
        let mut errors = 0;
        for &b in bytes {
            match p.push(b) {
                Some(Ok(r)) => readings.push(r),
                Some(Err(_)) => errors += 1,
                None => {}
            }
        }
        (readings, errors)
    }

    #[test]
    fn datasheet_frames() {
        type Case<'a> = (&'a [u8], Option<(f32, f32)>);
        let cases: [Case; 4] = [
            // The datasheet's example: PM2.5 0x04D4 = 123.6, PM10 0x0A3A = 261.8.
            (
                &[0xAA, 0xC0, 0xD4, 0x04, 0x3A, 0x0A, 0xA1, 0x60, 0x1D, 0xAB],
                Some((123.6, 261.8)),
            ),
            // PM2.5 0x0052 = 8.2, PM10 0x00A5 = 16.5.
            (
                &[0xAA, 0xC0, 0x52, 0x00, 0xA5, 0x00, 0xA1, 0x60, 0xF8, 0xAB],
                Some((8.2, 16.5)),
            ),
            // Checksum off by one.
            (
                &[0xAA, 0xC0, 0x52, 0x00, 0xA5, 0x00, 0xA1, 0x60, 0xF9, 0xAB],
                None,
            ),
            // Wrong tail.
            (
                &[0xAA, 0xC0, 0x52, 0x00, 0xA5, 0x00, 0xA1, 0x60, 0xF8, 0xAC],
                None,
            ),
        ];
        for (frame, want) in cases {
            let (readings, errors) = parse_all(frame);
            match want {
                Some((pm25, pm10)) => {
                    assert_eq!(readings.len(), 1, "{frame:02X?}");
                    assert!((readings[0].pm2_5() - pm25).abs() < 1e-4);
                    assert!((readings[0].pm10() - pm10).abs() < 1e-4);
                    assert_eq!(readings[0].device_id, 0x60A1);
                }
                None => assert_eq!((readings.len(), errors), (0, 1), "{frame:02X?}"),
            }
        }
    }

    #[test]
    fn resynchronises_after_garbage_and_false_headers() {
        let frame = encode(&Sds011Reading {
            pm2_5_tenths: 105,
            pm10_tenths: 170,
            device_id: 7,
        });
        let mut stream = vec![0x00, 0xAA, 0xAA, 0xC0, 0x01, 0xAA, 0xC0];
        stream.extend_from_slice(&frame);
        stream.extend_from_slice(&[0xAB, 0xAA]);
        stream.extend_from_slice(&frame);
        let (readings, _) = parse_all(&stream);
        assert_eq!(readings.len(), 2);
        assert_eq!(readings[0].pm2_5_tenths, 105);
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let _ = parse_all(&bytes);
        }

        #[test]
        fn every_frame_embedded_in_garbage_is_found(
            chunks in proptest::collection::vec(
                (proptest::collection::vec(any::<u8>(), 0..30), any::<u16>(), any::<u16>()), 1..20)
        ) {
            let mut stream = Vec::new();
            let mut want = Vec::new();
            for (garbage, pm25, pm10) in &chunks {
                stream.extend_from_slice(garbage);
                let r = Sds011Reading { pm2_5_tenths: *pm25, pm10_tenths: *pm10, device_id: 0x1234 };
                stream.extend_from_slice(&encode(&r));
                want.push(r);
            }
            let (got, _) = parse_all(&stream);
            // Garbage can itself form valid frames; every planted one must be there, in order.
            let mut it = got.iter();
            for w in &want {
                prop_assert!(it.any(|g| g == w), "missing {:?}", w);
            }
        }
    }
}
