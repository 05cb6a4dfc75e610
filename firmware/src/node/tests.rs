//! The composed node on test doubles of its hardware: a UART fed with real sensor
//! frames, the simulated BME280 register file, a 1 kHz tone through the microphone's
//! A-weighting, RAM slots and sequence storage.

use std::collections::VecDeque;

use super::*;
use crate::hal::SampleSource;
use crate::noise::{MicCalibration, Microphone};
use crate::sensors::bme280::{self, Calibration, SimulatedBme280};
use crate::sensors::{pms5003, sds011};
use crate::sequence::RamSeqStore;
use crate::store_forward::RamSlots;
use proptest::prelude::*;

#[derive(Default)]
struct FakeUart(VecDeque<u8>);

impl Uart for FakeUart {
    fn read(&mut self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.0.len());
        for b in buf.iter_mut().take(n) {
            *b = self.0.pop_front().unwrap_or(0);
        }
        n
    }
}

#[derive(Default)]
struct FakePower {
    on: bool,
    offs: u32,
}

impl PowerSwitch for FakePower {
    fn set(&mut self, on: bool) {
        if self.on && !on {
            self.offs += 1;
        }
        self.on = on;
    }
}

struct FakeClock {
    now: u64,
    unix: Option<u64>,
}

impl Clock for FakeClock {
    fn now_ms(&self) -> u64 {
        self.now
    }
    fn unix_ms(&self) -> Option<u64> {
        self.unix.map(|u| u + self.now)
    }
}

/// A 1 kHz sine at 48 kHz; `pending` samples are ready to be read.
struct Tone {
    amplitude: f64,
    phase: u64,
    pending: usize,
}

impl SampleSource for Tone {
    fn sample_rate(&self) -> u32 {
        48_000
    }
    fn read(&mut self, buf: &mut [f32]) -> usize {
        let n = buf.len().min(self.pending);
        for s in buf.iter_mut().take(n) {
            let t = self.phase as f64 / 48_000.0;
            *s = (self.amplitude * (2.0 * core::f64::consts::PI * 1000.0 * t).sin()) as f32;
            self.phase += 1;
        }
        self.pending -= n;
        n
    }
}

struct TestBoard;

impl Board for TestBoard {
    type Uart = FakeUart;
    type I2c = SimulatedBme280;
    type Noise = Microphone<Tone>;
    type Power = FakePower;
    type Clock = FakeClock;
    type Slots = RamSlots<4, PAYLOAD_MAX>;
    type Seq = RamSeqStore;
}

/// The node and the world around it: what the particulate sensor measures and whether
/// it hangs.
struct Rig {
    node: Node<TestBoard>,
    kind: ParticulateSensor,
    pm: (u16, u16, u16),
    hung: bool,
    /// A power cycle cures the hang (as it does an SDS011's).
    cycle_cures: bool,
    garbage: &'static [u8],
    offs_seen: u32,
}

const UNIX_BOOT: u64 = 1_763_911_000_000;

impl Rig {
    fn new(config: NodeConfig, seq: RamSeqStore) -> Rig {
        let mut i2c = SimulatedBme280::new(bme280::ADDRESS, Calibration::typical());
        i2c.set_air(21.5, 1012.3, 55.2);
        let parts = Parts::<TestBoard> {
            uart: FakeUart::default(),
            i2c,
            noise: Microphone::new(
                Tone {
                    amplitude: 0.001,
                    phase: 0,
                    pending: 0,
                },
                MicCalibration::ics43434(0.0),
            ),
            power: FakePower::default(),
            clock: FakeClock {
                now: 0,
                unix: Some(UNIX_BOOT),
            },
            slots: RamSlots::new(),
            seq,
        };
        Rig {
            node: Node::new("s6-0001", config, parts).unwrap(),
            kind: config.particulate.unwrap_or(ParticulateSensor::Sds011),
            pm: (80, 123, 201),
            hung: false,
            cycle_cures: true,
            garbage: &[],
            offs_seen: 0,
        }
    }

    fn sds011() -> Rig {
        Rig::new(NodeConfig::new(10_000), RamSeqStore(Some(7000)))
    }

    /// Runs the world for `seconds`, polling the node each second as its loop would;
    /// returns the payloads it queued, taken from the outbox as a link would.
    fn run(&mut self, seconds: u32) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        for _ in 0..seconds {
            self.node.clock.now += 1000;
            if self.node.power.offs > self.offs_seen {
                self.offs_seen = self.node.power.offs;
                if self.cycle_cures {
                    self.hung = false;
                }
            }
            if self.node.power.on && !self.hung {
                self.node.uart.0.extend(self.garbage);
                let (pm1, pm2_5, pm10) = self.pm;
                match self.kind {
                    ParticulateSensor::Sds011 => {
                        self.node
                            .uart
                            .0
                            .extend(sds011::encode(&sds011::Sds011Reading {
                                pm2_5_tenths: pm2_5,
                                pm10_tenths: pm10,
                                device_id: 0x60A1,
                            }))
                    }
                    ParticulateSensor::Pms5003 => {
                        self.node
                            .uart
                            .0
                            .extend(pms5003::encode(&pms5003::Pms5003Reading {
                                pm1_cf1: pm1 / 10,
                                pm2_5_cf1: pm2_5 / 10,
                                pm10_cf1: pm10 / 10,
                                pm1: pm1 / 10,
                                pm2_5: pm2_5 / 10,
                                pm10: pm10 / 10,
                                counts: [0; 6],
                            }))
                    }
                }
            }
            self.node.noise.source.pending += 48_000;
            if self.node.poll().is_some() {
                let mut buf = [0u8; PAYLOAD_MAX];
                let n = self.node.outbox.peek(&mut buf).unwrap();
                self.node.outbox.pop();
                out.push(serde_json::from_slice(&buf[..n]).unwrap());
            }
        }
        out
    }
}

fn close(p: &serde_json::Value, key: &str, want: f64, tolerance: f64) {
    let got = p["values"][key].as_f64().unwrap_or(f64::NAN);
    assert!(
        (got - want).abs() <= tolerance,
        "{key}: {got} vs {want} in {p}"
    );
}

#[test]
fn a_healthy_node_reports_every_sensor_through_the_core() {
    let mut rig = Rig::sds011();
    rig.node.set_rssi(Some(-67));
    rig.node.set_extra(Quantity::Battery, 3.91);
    let p = rig.run(20);
    assert_eq!(p.len(), 2, "one payload per 10 s interval");
    assert_eq!(p[0]["node"], "s6-0001");
    assert_eq!(p[0]["ts"], "2025-11-23T15:16:50.000Z");
    assert_eq!(
        (p[0]["seq"].as_u64(), p[1]["seq"].as_u64()),
        (Some(7000), Some(7001))
    );
    close(&p[0], "pm2_5", 12.3, 1e-6);
    close(&p[0], "pm10", 20.1, 1e-6);
    assert!(p[0]["values"].get("pm1").is_none(), "an SDS011 has no PM1");
    close(&p[0], "temperature", 21.5, 0.011);
    close(&p[0], "pressure", 1012.3, 0.011);
    close(&p[0], "humidity", 55.2, 0.051);
    // -60 dBFS re a full-scale sine of 120 dB: 60 dB(A) at 1 kHz.
    for q in ["laeq", "lamax", "lamin", "la10", "la90"] {
        close(&p[1], q, 60.0, 0.2);
    }
    close(&p[0], "rssi", -67.0, 0.0);
    close(&p[0], "battery", 3.91, 1e-6);
    assert!(
        p[1]["values"].get("battery").is_none(),
        "extras are sent once"
    );
    assert_eq!(p[1]["health"]["uptime_s"], 20);
    assert_eq!(p[1]["health"]["rssi"], -67);
    assert!(p[1]["health"].get("last_error").is_none(), "{}", p[1]);
    assert_eq!(rig.node.counters.frames, 20);
}

#[test]
fn a_pms5003_node_reports_pm1_and_skips_garbage() {
    let mut config = NodeConfig::new(10_000);
    config.particulate = Some(ParticulateSensor::Pms5003);
    let mut rig = Rig::new(config, RamSeqStore::default());
    rig.pm = (70, 120, 200);
    rig.garbage = &[0x42, 0x4D, 0x00, 0x1C, 0x42, 0x00, 0xFF];
    let p = rig.run(10);
    close(&p[0], "pm1", 7.0, 1e-6);
    close(&p[0], "pm2_5", 12.0, 1e-6);
    close(&p[0], "pm10", 20.0, 1e-6);
    assert_eq!(rig.node.counters.frames, 10);
}

#[test]
fn a_silent_sds011_is_power_cycled_and_recovers() {
    type Case = (bool, &'static [(u32, Option<&'static str>, bool)]);
    // (a power cycle cures it; per 10 s report: last_error, PM present)
    let cases: [Case; 2] = [
        (
            true,
            &[
                (0, None, false),
                (1, None, false),
                (2, Some("sds011_silent"), false),
                // Silent until power came back at 32 s, frames from 33 s.
                (3, Some("sds011_silent"), true),
                (4, None, true),
            ],
        ),
        (
            false,
            &[
                (2, Some("sds011_silent"), false),
                (10, Some("sds011_silent"), false),
            ],
        ),
    ];
    for (cures, script) in cases {
        let mut rig = Rig::sds011();
        rig.hung = true;
        rig.cycle_cures = cures;
        let p = rig.run(120);
        for &(i, error, has_pm) in script {
            assert_eq!(
                p[i as usize]["health"]["last_error"].as_str(),
                error,
                "{}",
                p[i as usize]
            );
            assert_eq!(
                p[i as usize]["values"].get("pm2_5").is_some(),
                has_pm,
                "{}",
                p[i as usize]
            );
        }
        // Silent for 30 s: one cycle; a useless one is tried again only after 5 minutes.
        assert_eq!(rig.node.counters.power_cycles, 1);
        assert!(rig.node.power.on, "powered again after the cycle");
        if !cures {
            rig.run(300);
            assert_eq!(rig.node.counters.power_cycles, 2);
        }
    }
}

#[test]
fn sensor_faults_show_in_health_and_the_rest_is_sent() {
    type Case = (&'static str, fn(&mut Rig), &'static str, &'static str);
    // (what, fault, last_error, a value still present)
    let cases: [Case; 3] = [
        (
            "BME280 unplugged",
            |r| r.node.i2c.present = false,
            "bme280_i2c",
            "pm2_5",
        ),
        (
            "wall clock not set",
            |r| r.node.clock.unix = None,
            "clock_unset",
            "",
        ),
        (
            "an SDS011 a power cycle does not cure",
            |r| {
                r.hung = true;
                r.cycle_cures = false;
            },
            "sds011_silent",
            "temperature",
        ),
    ];
    for (what, fault, error, present) in cases {
        let mut rig = Rig::sds011();
        fault(&mut rig);
        let p = rig.run(40);
        if present.is_empty() {
            assert!(p.is_empty(), "{what}: nothing without a timestamp");
            rig.node.clock.unix = Some(UNIX_BOOT);
            let p = rig.run(10);
            assert_eq!(p[0]["health"]["last_error"].as_str(), Some(error), "{what}");
            continue;
        }
        let last = p.last().unwrap();
        assert_eq!(
            last["health"]["last_error"].as_str(),
            Some(error),
            "{what}: {last}"
        );
        assert!(last["values"].get(present).is_some(), "{what}: {last}");
    }
}

#[test]
fn a_full_outbox_drops_the_oldest_and_says_so() {
    let mut rig = Rig::sds011();
    let mut seqs = Vec::new();
    for _ in 0..60 {
        rig.node.clock.now += 1000;
        rig.node.noise.source.pending += 48_000;
        seqs.extend(rig.node.poll());
    }
    assert_eq!(seqs.len(), 6);
    assert_eq!((rig.node.outbox.len(), rig.node.outbox.dropped), (4, 2));
    let mut buf = [0u8; PAYLOAD_MAX];
    let n = rig.node.outbox.peek(&mut buf).unwrap();
    let oldest: serde_json::Value = serde_json::from_slice(&buf[..n]).unwrap();
    assert_eq!(oldest["seq"].as_u64(), Some(seqs[2]));
    let mut newest = serde_json::Value::Null;
    while let Some(n) = rig.node.outbox.peek(&mut buf) {
        newest = serde_json::from_slice(&buf[..n]).unwrap();
        rig.node.outbox.pop();
    }
    assert_eq!(newest["health"]["free_buffer"], 0);
    assert_eq!(
        newest["health"]["dropped"], 1,
        "as it stood before this payload"
    );
}

#[test]
fn sequence_numbers_survive_a_reboot() {
    let mut rig = Rig::sds011();
    let before: Vec<u64> = rig
        .run(30)
        .iter()
        .filter_map(|p| p["seq"].as_u64())
        .collect();
    assert_eq!(before, vec![7000, 7001, 7002]);
    let Node { seq, .. } = rig.node;
    let store = seq.into_store();
    let mut rebooted = Rig::new(NodeConfig::new(10_000), store);
    let after = rebooted.run(10)[0]["seq"].as_u64().unwrap();
    assert!(after > 7002, "{after}");
}

#[test]
fn configuration_is_checked() {
    let parts = || Parts::<TestBoard> {
        uart: FakeUart::default(),
        i2c: SimulatedBme280::new(bme280::ADDRESS, Calibration::typical()),
        noise: Microphone::new(
            Tone {
                amplitude: 0.0,
                phase: 0,
                pending: 0,
            },
            MicCalibration::ics43434(0.0),
        ),
        power: FakePower::default(),
        clock: FakeClock { now: 0, unix: None },
        slots: RamSlots::new(),
        seq: RamSeqStore::default(),
    };
    let ok = NodeConfig::new(10_000);
    let zero = NodeConfig::new(0);
    let cases = [
        ("s6-0001", ok, Ok(())),
        ("", ok, Err(NodeError::InvalidId)),
        ("a/b", ok, Err(NodeError::InvalidId)),
        ("x".repeat(65).leak() as &str, ok, Err(NodeError::InvalidId)),
        ("s6-0001", zero, Err(NodeError::InvalidInterval)),
    ];
    for (id, config, want) in cases {
        assert_eq!(
            Node::new(id, config, parts()).map(|n| assert_eq!(n.id(), id)),
            want,
            "{id}"
        );
    }
}

proptest! {
    #[test]
    fn any_bytes_on_the_uart_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4000)) {
        let mut rig = Rig::sds011();
        rig.hung = true;
        for chunk in bytes.chunks(97) {
            rig.node.uart.0.extend(chunk);
            rig.node.clock.now += 700;
            let _ = rig.node.poll();
        }
    }
}
