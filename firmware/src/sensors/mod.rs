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
