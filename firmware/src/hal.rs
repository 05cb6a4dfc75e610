//! The hardware the core needs, as small traits a board (ESP32 drivers, the host fleet
//! simulator, test doubles) implements: the particulate sensor's UART, the I²C bus of
//! the BME280, the microphone's I²S samples, a power switch for the particulate sensor
//! and a clock. Flash storage is `store_forward::SlotStorage` and
//! `sequence::SeqStore`. Every call is non-blocking: the node loop polls.

/// Receive side of a UART: the bytes the sensor sent since the last call.
pub trait Uart {
    /// Copies up to `buf.len()` received bytes into `buf`; returns how many (0: none).
    fn read(&mut self, buf: &mut [u8]) -> usize;
}

/// Why an I²C transfer failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusError {
    /// No device acknowledged the address (absent, unpowered, wrong address).
    Nack,
    /// Arbitration lost, timeout, or another fault of the bus.
    Bus,
}

/// An I²C controller.
pub trait I2c {
    fn write(&mut self, address: u8, bytes: &[u8]) -> Result<(), BusError>;
    /// Writes `bytes` (a register address), then reads `out.len()` bytes.
    fn write_read(&mut self, address: u8, bytes: &[u8], out: &mut [u8]) -> Result<(), BusError>;
}

/// Microphone samples from I²S, scaled to -1.0..=1.0 of full scale.
pub trait SampleSource {
    /// The rate the samples come at, Hz.
    fn sample_rate(&self) -> u32;
    /// Copies up to `buf.len()` samples into `buf`; returns how many (0: none yet).
    fn read(&mut self, buf: &mut [f32]) -> usize;
}

/// A load switch (a MOSFET on a GPIO) in the particulate sensor's supply.
pub trait PowerSwitch {
    fn set(&mut self, on: bool);
}

/// Time as the node knows it.
pub trait Clock {
    /// Milliseconds since boot, monotonic.
    fn now_ms(&self) -> u64;
    /// Wall-clock Unix milliseconds, once synchronised (SNTP); `None` before.
    fn unix_ms(&self) -> Option<u64>;
}
