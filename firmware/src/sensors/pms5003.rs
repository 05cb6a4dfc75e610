//! Plantower PMS5003 particulate sensor, UART frames: 32 bytes, `42 4D`, a 16-bit
//! frame length (28), thirteen 16-bit big-endian data words, and a 16-bit checksum that
//! is the sum of the 30 bytes before it.
//!
//! Same sliding-window resynchronisation as the SDS011 parser.

use super::{FrameError, FrameWindow};

pub const FRAME_LEN: usize = 32;
const HEAD: [u8; 2] = [0x42, 0x4D];
const BODY_LEN: u16 = 28;

/// One measurement. Concentrations in µg/m³, counts per 0.1 L of air.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pms5003Reading {
    /// Standard-particle ("CF=1") concentrations, for factory calibration.
    pub pm1_cf1: u16,
    pub pm2_5_cf1: u16,
    pub pm10_cf1: u16,
    /// Atmospheric-environment concentrations: the ones to report.
    pub pm1: u16,
    pub pm2_5: u16,
    pub pm10: u16,
    /// Particles larger than 0.3, 0.5, 1, 2.5, 5 and 10 µm per 0.1 L.
    pub counts: [u16; 6],
}

#[derive(Debug, Clone)]
pub struct Pms5003Parser {
    window: FrameWindow<FRAME_LEN>,
}

impl Default for Pms5003Parser {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether `prefix` could begin a frame: the head, then the frame length.
fn could_start(prefix: &[u8]) -> bool {
    prefix.iter().zip(HEAD).all(|(b, h)| *b == h)
        && (prefix.len() < 4 || u16::from_be_bytes([prefix[2], prefix[3]]) == BODY_LEN)
}

impl Pms5003Parser {
    pub const fn new() -> Self {
        Pms5003Parser {
            window: FrameWindow::new(),
        }
    }

    /// Takes one byte; returns a reading when it completes a valid frame, an error when
    /// it completes a frame-shaped run that is not one.
    pub fn push(&mut self, byte: u8) -> Option<Result<Pms5003Reading, FrameError>> {
        let w = self.window.push(byte, could_start)?;
        let word = |i: usize| u16::from_be_bytes([w[4 + 2 * i], w[5 + 2 * i]]);
        let sum = w[..30]
            .iter()
            .fold(0u16, |acc, b| acc.wrapping_add(u16::from(*b)));
        let result = if sum != u16::from_be_bytes([w[30], w[31]]) {
            Err(FrameError::Checksum)
        } else {
            Ok(Pms5003Reading {
                pm1_cf1: word(0),
                pm2_5_cf1: word(1),
                pm10_cf1: word(2),
                pm1: word(3),
                pm2_5: word(4),
                pm10: word(5),
                counts: [word(6), word(7), word(8), word(9), word(10), word(11)],
            })
        };
        match result {
            Ok(_) => self.window.accept(),
            Err(_) => self.window.reject(could_start),
        }
        Some(result)
    }
}

/// A valid frame for the given reading (for tests and simulators).
pub fn encode(r: &Pms5003Reading) -> [u8; FRAME_LEN] {
    let mut f = [0u8; FRAME_LEN];
    f[..2].copy_from_slice(&HEAD);
    f[2..4].copy_from_slice(&BODY_LEN.to_be_bytes());
    let words = [
        r.pm1_cf1,
        r.pm2_5_cf1,
        r.pm10_cf1,
        r.pm1,
        r.pm2_5,
        r.pm10,
        r.counts[0],
        r.counts[1],
        r.counts[2],
        r.counts[3],
        r.counts[4],
        r.counts[5],
        0,
    ];
    for (i, w) in words.iter().enumerate() {
        f[4 + 2 * i..6 + 2 * i].copy_from_slice(&w.to_be_bytes());
    }
    let sum = f[..30]
        .iter()
        .fold(0u16, |acc, b| acc.wrapping_add(u16::from(*b)));
    f[30..].copy_from_slice(&sum.to_be_bytes());
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse_all(bytes: &[u8]) -> Vec<Result<Pms5003Reading, FrameError>> {
        let mut p = Pms5003Parser::new();
        bytes.iter().filter_map(|&b| p.push(b)).collect()
    }

    /// A frame in the datasheet's layout (PM2.5 atm 6 µg/m³; version 0x97, error 0).
    const CAPTURED: [u8; 32] = [
        0x42, 0x4D, 0x00, 0x1C, 0x00, 0x05, 0x00, 0x06, 0x00, 0x07, 0x00, 0x05, 0x00, 0x06, 0x00,
        0x07, 0x03, 0x9C, 0x01, 0x12, 0x00, 0x2E, 0x00, 0x06, 0x00, 0x02, 0x00, 0x01, 0x97, 0x00,
        0x02, 0x4F,
    ];

    #[test]
    fn frames() {
        let got = parse_all(&CAPTURED);
        let want = Pms5003Reading {
            pm1_cf1: 5,
            pm2_5_cf1: 6,
            pm10_cf1: 7,
            pm1: 5,
            pm2_5: 6,
            pm10: 7,
            counts: [924, 274, 46, 6, 2, 1],
        };
        assert_eq!(got, vec![Ok(want)]);
        assert_eq!(encode(&want)[..28], CAPTURED[..28]);

        let mut corrupt = CAPTURED;
        corrupt[13] ^= 0x01;
        assert_eq!(parse_all(&corrupt), vec![Err(FrameError::Checksum)]);
        // A wrong length field is not a frame at all.
        let mut wrong_len = CAPTURED;
        wrong_len[3] = 0x14;
        assert!(parse_all(&wrong_len).is_empty());
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..3000)) {
            let _ = parse_all(&bytes);
        }

        #[test]
        fn every_frame_embedded_in_garbage_is_found(
            chunks in proptest::collection::vec((proptest::collection::vec(any::<u8>(), 0..70), any::<u16>(), any::<[u16; 6]>()), 1..12)
        ) {
            let mut stream = Vec::new();
            let mut want = Vec::new();
            for (garbage, pm, counts) in &chunks {
                stream.extend_from_slice(garbage);
                let r = Pms5003Reading { pm1_cf1: *pm, pm2_5_cf1: *pm, pm10_cf1: *pm, pm1: *pm, pm2_5: *pm, pm10: *pm, counts: *counts };
                stream.extend_from_slice(&encode(&r));
                want.push(r);
            }
            let got: Vec<_> = parse_all(&stream).into_iter().filter_map(Result::ok).collect();
            let mut it = got.iter();
            for w in &want {
                prop_assert!(it.any(|g| g == w), "missing {:?}", w);
            }
        }
    }
}
