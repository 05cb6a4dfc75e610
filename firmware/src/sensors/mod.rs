//! Sensor drivers' portable parts: frame parsing and compensation formulas.

pub mod bme280;
pub mod pms5003;
pub mod sds011;

/// Why a byte stream did not yield a frame where one seemed to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// Header and length matched but the checksum did not.
    Checksum,
    /// Header matched but the tail byte was wrong.
    Tail,
}

/// A sliding window over a UART byte stream that keeps only bytes that could start a
/// frame of `N` bytes. Garbage is skipped; a full window that turns out not to be a frame
/// costs one byte, so a frame starting inside it is still found.
#[derive(Debug, Clone)]
pub(crate) struct FrameWindow<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> FrameWindow<N> {
    pub const fn new() -> Self {
        FrameWindow {
            bytes: [0; N],
            len: 0,
        }
    }

    /// Adds a byte; returns the window once it holds `N` bytes that could be a frame.
    /// `could_start` says whether a prefix (empty included) may begin a frame.
    pub fn push(&mut self, byte: u8, could_start: fn(&[u8]) -> bool) -> Option<[u8; N]> {
        self.bytes[self.len] = byte;
        self.len += 1;
        self.trim(could_start);
        (self.len == N).then_some(self.bytes)
    }

    /// The full window was a frame: start afresh.
    pub fn accept(&mut self) {
        self.len = 0;
    }

    /// The full window was not a frame: a frame may start inside it.
    pub fn reject(&mut self, could_start: fn(&[u8]) -> bool) {
        self.shift();
        self.trim(could_start);
    }

    fn trim(&mut self, could_start: fn(&[u8]) -> bool) {
        while !could_start(&self.bytes[..self.len]) {
            self.shift();
        }
    }

    fn shift(&mut self) {
        self.bytes.copy_within(1..self.len, 0);
        self.len -= 1;
    }
}
