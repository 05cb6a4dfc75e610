//! The node loop: one state machine that composes the drivers a sensor node runs.
//! Each `poll` drains the particulate sensor's UART through its frame parser (power-
//! cycling the sensor through its switch when it has gone silent), lets the noise
//! source record its levels, and when a report is due reads the BME280 over I²C,
//! closes the noise statistics, and encodes one payload with the node's health into
//! the store-and-forward outbox. The network side (MQTT, WiFi) takes payloads from
//! `outbox` and tells the node its RSSI. No heap: every buffer is fixed.

use crate::hal::{Clock, I2c, PowerSwitch, Uart};
use crate::liveness::{Health as SensorHealth, Liveness};
use crate::noise::{LevelSource, LevelStats};
use crate::payload::{self, Health, Quantity};
use crate::sensors::bme280::{Bme280, Bme280Error};
use crate::sensors::pms5003::Pms5003Parser;
use crate::sensors::sds011::Sds011Parser;
use crate::sequence::{SeqCounter, SeqStore};
use crate::store_forward::{Outbox, PushError, SlotStorage};

/// Largest payload the node encodes (a full set of values and health is about 420).
pub const PAYLOAD_MAX: usize = 512;
/// Extra readings (from drivers outside the core) a report can carry.
const EXTRAS: usize = 4;
/// Values in one payload: particulates, climate, noise, RSSI, extras.
const VALUES_MAX: usize = 12 + EXTRAS;
/// UART bytes taken per poll at most (a few seconds of either sensor's frames), so a
/// babbling line cannot stall the loop.
const UART_BUDGET: usize = 1024;

/// The hardware of one board, named once.
pub trait Board {
    type Uart: Uart;
    type I2c: I2c;
    type Noise: LevelSource;
    type Power: PowerSwitch;
    type Clock: Clock;
    type Slots: SlotStorage;
    type Seq: SeqStore;
}

/// The hardware handed to `Node::new`.
pub struct Parts<B: Board> {
    pub uart: B::Uart,
    pub i2c: B::I2c,
    pub noise: B::Noise,
    pub power: B::Power,
    pub clock: B::Clock,
    pub slots: B::Slots,
    pub seq: B::Seq,
}

/// Which particulate sensor hangs on the UART.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParticulateSensor {
    Sds011,
    Pms5003,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NodeConfig {
    pub report_interval_ms: u64,
    pub particulate: Option<ParticulateSensor>,
    /// No frame for this long means the sensor hangs (both send one a second).
    pub silent_after_ms: u64,
    /// A power cycle that did not help is tried again after this long.
    pub power_cycle_retry_ms: u64,
    /// How long the sensor stays unpowered in a power cycle.
    pub power_off_ms: u64,
    pub bme280_address: Option<u8>,
    /// Sequence numbers reserved per flash write.
    pub seq_block: u64,
}

impl NodeConfig {
    /// An SDS011 and a BME280 at 0x76, reporting every `report_interval_ms`.
    pub const fn new(report_interval_ms: u64) -> Self {
        NodeConfig {
            report_interval_ms,
            particulate: Some(ParticulateSensor::Sds011),
            silent_after_ms: 30_000,
            power_cycle_retry_ms: 300_000,
            power_off_ms: 2_000,
            bme280_address: Some(crate::sensors::bme280::ADDRESS),
            seq_block: 1000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeError {
    /// Node ids are 1-64 of `A-Z a-z 0-9 _ . -`.
    InvalidId,
    /// A report interval of zero.
    InvalidInterval,
}

/// Faults the node can name in its health, most recent in the interval wins.
pub mod faults {
    pub const SDS011_SILENT: &str = "sds011_silent";
    pub const PMS5003_SILENT: &str = "pms5003_silent";
    pub const BME280_BUS: &str = "bme280_i2c";
    pub const BME280_WRONG_CHIP: &str = "bme280_wrong_chip";
    pub const BME280_NO_DATA: &str = "bme280_no_data";
    pub const CLOCK_UNSET: &str = "clock_unset";
    pub const PAYLOAD_TOO_LARGE: &str = "payload_too_large";
}

/// Counters since boot, for the board's logs and the tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub frames: u32,
    pub frame_errors: u32,
    pub power_cycles: u32,
    pub reports: u32,
}

enum Parser {
    Sds011(Sds011Parser),
    Pms5003(Pms5003Parser),
}

/// A frame's values in tenths of µg/m³: PM1 (PMS5003 only), PM2.5, PM10.
type PmTenths = (Option<u32>, u32, u32);

impl Parser {
    /// `Some(Ok)` on a frame, `Some(Err)` on a frame-shaped run that was not one.
    fn push(&mut self, byte: u8) -> Option<Result<PmTenths, ()>> {
        match self {
            Parser::Sds011(p) => p.push(byte).map(|r| {
                r.map(|r| (None, u32::from(r.pm2_5_tenths), u32::from(r.pm10_tenths)))
                    .map_err(|_| ())
            }),
            Parser::Pms5003(p) => p.push(byte).map(|r| {
                r.map(|r| {
                    (
                        Some(u32::from(r.pm1) * 10),
                        u32::from(r.pm2_5) * 10,
                        u32::from(r.pm10) * 10,
                    )
                })
                .map_err(|_| ())
            }),
        }
    }
}

/// The particulate sensor: parser, liveness, power state, the interval's sums.
struct Particulate {
    parser: Parser,
    silent_fault: &'static str,
    liveness: Liveness,
    /// Powered off in a power cycle until then.
    off_until_ms: Option<u64>,
    sum: [u64; 3],
    frames: u32,
}

pub struct Node<B: Board> {
    id: [u8; 64],
    id_len: usize,
    config: NodeConfig,
    pub uart: B::Uart,
    pub i2c: B::I2c,
    pub noise: B::Noise,
    pub power: B::Power,
    pub clock: B::Clock,
    pub outbox: Outbox<B::Slots>,
    seq: SeqCounter<B::Seq>,
    particulate: Option<Particulate>,
    bme280: Option<Bme280>,
    noise_stats: LevelStats,
    extras: [Option<(Quantity, f32)>; EXTRAS],
    rssi: Option<i16>,
    next_report_ms: u64,
    last_error: &'static str,
    pub counters: Counters,
}

fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// `v` rounded to `1 / scale` (division by an exact power of ten keeps the shortest
/// decimal form of the result, so payloads carry `46.3`, not `46.300003`).
fn round(v: f32, scale: f32) -> f32 {
    libm::roundf(v * scale) / scale
}

impl<B: Board> Node<B> {
    /// Boots the node: powers the particulate sensor, starts the BME280 (a failure is
    /// reported in the first payload and retried at each report).
    pub fn new(id: &str, config: NodeConfig, parts: Parts<B>) -> Result<Self, NodeError> {
        if !valid_id(id) {
            return Err(NodeError::InvalidId);
        }
        if config.report_interval_ms == 0 {
            return Err(NodeError::InvalidInterval);
        }
        let Parts {
            uart,
            mut i2c,
            noise,
            mut power,
            clock,
            slots,
            seq,
        } = parts;
        let now = clock.now_ms();
        let mut id_buf = [0u8; 64];
        id_buf[..id.len()].copy_from_slice(id.as_bytes());
        let particulate = config.particulate.map(|kind| {
            power.set(true);
            let (parser, silent_fault) = match kind {
                ParticulateSensor::Sds011 => {
                    (Parser::Sds011(Sds011Parser::new()), faults::SDS011_SILENT)
                }
                ParticulateSensor::Pms5003 => (
                    Parser::Pms5003(Pms5003Parser::new()),
                    faults::PMS5003_SILENT,
                ),
            };
            Particulate {
                parser,
                silent_fault,
                liveness: Liveness::new(now, config.silent_after_ms, config.power_cycle_retry_ms),
                off_until_ms: None,
                sum: [0; 3],
                frames: 0,
            }
        });
        let mut last_error = "";
        let bme280 = config.bme280_address.map(|address| {
            let mut bme = Bme280::new(address);
            if let Err(e) = bme.init(&mut i2c) {
                last_error = bme_fault(e);
            }
            bme
        });
        Ok(Node {
            id: id_buf,
            id_len: id.len(),
            config,
            uart,
            i2c,
            noise,
            power,
            clock,
            outbox: Outbox::new(slots),
            seq: SeqCounter::new(seq, config.seq_block),
            particulate,
            bme280,
            noise_stats: LevelStats::new(),
            extras: [None; EXTRAS],
            rssi: None,
            next_report_ms: now.saturating_add(config.report_interval_ms),
            last_error,
            counters: Counters::default(),
        })
    }

    pub fn id(&self) -> &str {
        // Checked to be ASCII at construction.
        core::str::from_utf8(&self.id[..self.id_len]).unwrap_or("")
    }

    /// The link's signal strength, from the WiFi driver; sent with each report.
    pub fn set_rssi(&mut self, rssi_dbm: Option<i16>) {
        self.rssi = rssi_dbm;
    }

    /// A reading from a driver outside the core (an NO2 cell on an ADC, the battery
    /// voltage), sent with the next report; the latest per quantity is kept.
    pub fn set_extra(&mut self, quantity: Quantity, value: f32) {
        let slot = self
            .extras
            .iter()
            .position(|e| matches!(e, Some((q, _)) if *q == quantity))
            .or_else(|| self.extras.iter().position(Option::is_none));
        if let Some(i) = slot {
            self.extras[i] = Some((quantity, value));
        }
    }

    /// One turn of the loop. Returns the sequence number of a payload queued in the
    /// outbox, when a report was due.
    pub fn poll(&mut self) -> Option<u64> {
        let now = self.clock.now_ms();
        self.poll_particulate(now);
        self.noise.poll(&mut self.noise_stats);
        if now < self.next_report_ms {
            return None;
        }
        let interval = self.config.report_interval_ms;
        // Behind by more than an interval (a stalled loop): report once, not in a burst.
        self.next_report_ms = if now - self.next_report_ms >= interval {
            now + interval
        } else {
            self.next_report_ms + interval
        };
        self.report(now)
    }

    fn poll_particulate(&mut self, now: u64) {
        let Some(pm) = self.particulate.as_mut() else {
            return;
        };
        if let Some(until) = pm.off_until_ms {
            if now < until {
                // Unpowered: whatever the line picked up is noise.
                let mut sink = [0u8; 64];
                while self.uart.read(&mut sink) > 0 {}
                return;
            }
            self.power.set(true);
            pm.off_until_ms = None;
        }
        let mut buf = [0u8; 64];
        let mut budget = UART_BUDGET;
        while budget > 0 {
            let n = self.uart.read(&mut buf).min(buf.len());
            if n == 0 {
                break;
            }
            budget = budget.saturating_sub(n);
            for &b in &buf[..n] {
                match pm.parser.push(b) {
                    Some(Ok((pm1, pm2_5, pm10))) => {
                        pm.liveness.on_frame(now);
                        pm.sum[0] += u64::from(pm1.unwrap_or(0));
                        pm.sum[1] += u64::from(pm2_5);
                        pm.sum[2] += u64::from(pm10);
                        pm.frames += 1;
                        self.counters.frames += 1;
                    }
                    // Garbage is normal around power-up; only silence is a fault.
                    Some(Err(())) => self.counters.frame_errors += 1,
                    None => {}
                }
            }
        }
        match pm.liveness.check(now) {
            SensorHealth::Alive => {}
            SensorHealth::PowerCycle { .. } => {
                self.power.set(false);
                pm.off_until_ms = Some(now.saturating_add(self.config.power_off_ms));
                self.counters.power_cycles += 1;
                self.last_error = pm.silent_fault;
            }
            SensorHealth::Recovering { .. } => self.last_error = pm.silent_fault,
        }
    }

    fn report(&mut self, now: u64) -> Option<u64> {
        let mut values = [(Quantity::Rssi, 0f32); VALUES_MAX];
        let mut n = 0;
        let mut put = |q: Quantity, v: f32| {
            if n < VALUES_MAX {
                values[n] = (q, v);
                n += 1;
            }
        };
        if let Some(pm) = self.particulate.as_mut() {
            if pm.frames > 0 {
                // The interval's mean, in the sensor's resolution of 0.1 µg/m³.
                let mean = |sum: u64| (sum as f32 / pm.frames as f32) / 10.0;
                if matches!(pm.parser, Parser::Pms5003(_)) {
                    put(Quantity::Pm1, round(mean(pm.sum[0]), 10.0));
                }
                put(Quantity::Pm2_5, round(mean(pm.sum[1]), 10.0));
                put(Quantity::Pm10, round(mean(pm.sum[2]), 10.0));
            }
            pm.sum = [0; 3];
            pm.frames = 0;
        }
        if let Some(bme) = self.bme280.as_mut() {
            match bme.read(&mut self.i2c) {
                Ok(m) => {
                    put(Quantity::Temperature, round(m.temperature_c(), 100.0));
                    put(Quantity::Humidity, round(m.humidity_percent(), 10.0));
                    put(Quantity::Pressure, round(m.pressure_hpa(), 100.0));
                }
                Err(e) => self.last_error = bme_fault(e),
            }
        }
        if let Some(r) = self.noise_stats.report() {
            for (q, v) in [
                (Quantity::Laeq, r.laeq),
                (Quantity::Lamax, r.lamax),
                (Quantity::Lamin, r.lamin),
                (Quantity::La10, r.la10),
                (Quantity::La90, r.la90),
            ] {
                put(q, round(v as f32, 10.0));
            }
        }
        for (q, v) in self.extras.iter_mut().filter_map(Option::take) {
            put(q, v);
        }
        if let Some(rssi) = self.rssi {
            put(Quantity::Rssi, f32::from(rssi));
        }
        let Some(unix_ms) = self.clock.unix_ms() else {
            // Without wall time the payload cannot be stamped; the readings are lost.
            self.last_error = faults::CLOCK_UNSET;
            return None;
        };
        let health = Health {
            uptime_s: now / 1000,
            free_buffer: self.outbox.free() as u32,
            dropped: self.outbox.dropped,
            last_error: self.last_error,
            rssi_dbm: self.rssi,
        };
        let mut buf = [0u8; PAYLOAD_MAX];
        let seq = self.seq.issue();
        let id = core::str::from_utf8(&self.id[..self.id_len]).unwrap_or("");
        let queued = payload::encode(&mut buf, id, unix_ms, seq, &values[..n], &health)
            .ok()
            .and_then(|len| match self.outbox.push(&buf[..len]) {
                Ok(()) => Some(seq),
                Err(PushError::TooLarge) => None,
            });
        // Faults are reported for the interval they happened in.
        self.last_error = if queued.is_some() {
            self.counters.reports += 1;
            ""
        } else {
            faults::PAYLOAD_TOO_LARGE
        };
        queued
    }
}

fn bme_fault(e: Bme280Error) -> &'static str {
    match e {
        Bme280Error::Bus(_) => faults::BME280_BUS,
        Bme280Error::WrongChip(_) => faults::BME280_WRONG_CHIP,
        Bme280Error::NoData => faults::BME280_NO_DATA,
    }
}

#[cfg(test)]
mod tests;
