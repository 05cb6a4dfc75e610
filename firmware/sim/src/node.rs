//! One simulated node: the firmware core's node loop (`veghe_firmware::node::Node`) on
//! simulated hardware. The simulator plays the world second by second: the particulate
//! sensor writes a real SDS011 or PMS5003 frame on the UART (garbage before it, if
//! asked; nothing while unpowered or hung), the BME280's data registers hold raw ADC
//! values for the air, the street's noise arrives as fast levels, and the node's loop
//! turns once, reporting into its outbox when its interval is up.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use veghe_firmware::node::{Node, NodeConfig, NodeError, ParticulateSensor, Parts};
use veghe_firmware::payload::Quantity;
use veghe_firmware::sensors::bme280::{self, Calibration, SimulatedBme280};
use veghe_firmware::sensors::{pms5003, sds011};
use veghe_firmware::sequence::RamSeqStore;
use veghe_firmware::store_forward::RamSlots;

use crate::hardware::{SimBoard, SimClock, SimPower, SimUart, TrafficNoise, PAYLOAD_MAX};
use crate::{Conditions, Physics, SimNode};

/// Faults injected into a node.
#[derive(Debug, Clone, Copy, Default)]
pub struct NodeFaults {
    /// The SDS011 sends nothing, and a power cycle does not bring it back.
    pub silent_sds011: bool,
    /// Probability that garbage bytes precede a frame on the UART.
    pub uart_garbage: f64,
}

pub struct NodeCore {
    pub sim: SimNode,
    pub topic: String,
    node: Node<SimBoard>,
    faults: NodeFaults,
    /// The node's clock: milliseconds since boot played so far.
    played_ms: u64,
}

fn unix_ms(t: DateTime<Utc>) -> u64 {
    t.timestamp_millis().max(0) as u64
}

impl NodeCore {
    /// Boots the node. `seq_start` stands for what its flash held at boot.
    pub fn new(
        sim: SimNode,
        faults: NodeFaults,
        seq_start: u64,
        interval: Duration,
        seed: u64,
    ) -> Result<NodeCore, NodeError> {
        let mut config = NodeConfig::new(interval.as_millis().max(1) as u64);
        if sim.pms5003 {
            config.particulate = Some(ParticulateSensor::Pms5003);
        }
        let parts = Parts::<SimBoard> {
            uart: SimUart::default(),
            i2c: SimulatedBme280::new(bme280::ADDRESS, Calibration::typical()),
            noise: TrafficNoise::new(seed),
            power: SimPower::default(),
            clock: SimClock::default(),
            slots: RamSlots::new(),
            seq: RamSeqStore(Some(seq_start)),
        };
        let node = Node::new(sim.node.id.as_str(), config, parts)?;
        Ok(NodeCore {
            topic: crate::topic(&sim),
            sim,
            node,
            faults,
            played_ms: 0,
        })
    }

    /// Plays the world up to `to_ms` after boot, which is `now`: one turn of the node's
    /// loop per simulated second. Returns the payloads queued meanwhile.
    pub fn advance(&mut self, to_ms: u64, now: DateTime<Utc>, rng: &mut impl Rng) -> u32 {
        let air = Physics::air(&self.sim, Conditions::at(now), rng);
        self.node.i2c.set_air(
            air.temperature as f32,
            air.pressure as f32,
            air.humidity as f32,
        );
        self.node.noise.set(air.noise);
        self.node.set_rssi(Some(air.rssi as i16));
        // Electrochemical NO2 cells and battery voltage have no driver in the core.
        if let Some(no2) = air.no2 {
            self.node
                .set_extra(Quantity::No2, (no2 * 10.0).round() as f32 / 10.0);
        }
        if let Some(volts) = air.battery {
            self.node.set_extra(Quantity::Battery, volts as f32);
        }
        let now_unix = unix_ms(now);
        let mut queued = 0;
        while self.played_ms < to_ms {
            let next_second = (self.played_ms / 1000 + 1) * 1000;
            self.played_ms = next_second.min(to_ms);
            if self.played_ms == next_second {
                self.second(&air, rng);
            }
            self.node.clock.now_ms = self.played_ms;
            self.node.clock.unix_ms = now_unix.saturating_sub(to_ms - self.played_ms);
            if self.node.poll().is_some() {
                queued += 1;
            }
        }
        queued
    }

    /// What the sensors do in one second.
    fn second(&mut self, air: &crate::physics::Air, rng: &mut impl Rng) {
        self.node.noise.pending_seconds += 1;
        let uart = &mut self.node.uart.0;
        if !self.node.power.on {
            uart.clear();
            return;
        }
        if self.faults.silent_sds011 && !self.sim.pms5003 {
            return;
        }
        if rng.gen_bool(self.faults.uart_garbage.clamp(0.0, 1.0)) {
            for _ in 0..rng.gen_range(1..24) {
                uart.push_back(rng.gen());
            }
        }
        // Each second's frame scatters around the air's value, as a counter's do.
        let jitter = rng.gen_range(0.96..1.04);
        let tenths = |v: f64| (v * jitter * 10.0).round().clamp(0.0, 65535.0) as u16;
        if self.sim.pms5003 {
            let whole = |v: f64| (v * jitter).round().clamp(0.0, 65535.0) as u16;
            let (pm1, pm2_5, pm10) = (whole(air.pm1), whole(air.pm2_5), whole(air.pm10));
            uart.extend(pms5003::encode(&pms5003::Pms5003Reading {
                pm1_cf1: pm1,
                pm2_5_cf1: pm2_5,
                pm10_cf1: pm10,
                pm1,
                pm2_5,
                pm10,
                counts: [0; 6],
            }));
        } else {
            uart.extend(sds011::encode(&sds011::Sds011Reading {
                pm2_5_tenths: tenths(air.pm2_5),
                pm10_tenths: tenths(air.pm10),
                device_id: 0x60A1,
            }));
        }
    }

    /// The oldest queued payload.
    pub fn oldest(&self) -> Option<Vec<u8>> {
        let mut buf = [0u8; PAYLOAD_MAX];
        self.node.outbox.peek(&mut buf).map(|n| buf[..n].to_vec())
    }

    /// The broker has the oldest payload.
    pub fn sent(&mut self) {
        self.node.outbox.pop();
    }

    pub fn queued(&self) -> usize {
        self.node.outbox.len()
    }

    /// Power cycles of the particulate sensor since boot.
    pub fn power_cycles(&self) -> u32 {
        self.node.counters.power_cycles
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use veghe_firmware::payload::Quantity as FwQuantity;
    use veghe_sensors::Quantity;

    /// `n` payloads of node `index` of a small fleet, one per 10 s.
    fn payloads(index: usize, faults: NodeFaults, n: usize) -> (Vec<serde_json::Value>, u32) {
        let sim = crate::fleet(6, 1).remove(index);
        let mut core = NodeCore::new(sim, faults, 5000, Duration::from_secs(10), 3).unwrap();
        let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
        let start = Utc::now();
        let mut out = Vec::new();
        for i in 1..=n as u64 {
            let now = start + chrono::Duration::seconds(10 * i as i64);
            assert_eq!(core.advance(10_000 * i, now, &mut rng), 1);
            out.push(serde_json::from_slice(&core.oldest().unwrap()).unwrap());
            core.sent();
        }
        (out, core.power_cycles())
    }

    #[test]
    fn firmware_quantities_are_veghe_quantities() {
        for q in FwQuantity::ALL {
            assert!(q.name().parse::<Quantity>().is_ok(), "{}", q.name());
        }
    }

    #[test]
    fn every_sensor_reports_through_the_core() {
        // Node 0: SDS011, microphone, NO2; node 1: PMS5003; node 4: no microphone.
        type Case = (usize, &'static [&'static str], &'static [&'static str]);
        let cases: [Case; 3] = [
            (
                0,
                &[
                    "pm2_5",
                    "pm10",
                    "temperature",
                    "humidity",
                    "pressure",
                    "laeq",
                    "lamax",
                    "lamin",
                    "la10",
                    "la90",
                    "no2",
                    "rssi",
                ],
                &["pm1"],
            ),
            (1, &["pm1", "pm2_5", "pm10", "laeq"], &[]),
            (4, &["pm2_5", "temperature"], &["laeq", "la10"]),
        ];
        for (index, present, absent) in cases {
            let (p, _) = payloads(index, NodeFaults::default(), 3);
            for payload in &p {
                let values = &payload["values"];
                for q in present {
                    let v = values[*q].as_f64();
                    let quantity: Quantity = q.parse().unwrap();
                    assert!(v.is_some_and(|v| quantity.in_range(v)), "{q} in {payload}");
                }
                for q in absent {
                    assert!(values.get(*q).is_none(), "{q} in {payload}");
                }
                let l = |q: &str| values[q].as_f64().unwrap_or(0.0);
                if values.get("laeq").is_some() {
                    assert!(
                        l("lamax") >= l("la10") && l("la10") >= l("la90"),
                        "{payload}"
                    );
                    assert!(l("la90") >= l("lamin"), "{payload}");
                }
                assert!(payload["health"].get("last_error").is_none(), "{payload}");
            }
            assert_eq!(p[2]["health"]["uptime_s"], 30);
        }
    }

    #[test]
    fn payloads_carry_pm_through_the_parser_even_with_garbage() {
        let faults = NodeFaults {
            silent_sds011: false,
            uart_garbage: 1.0,
        };
        for (p, _) in [payloads(0, faults, 10), payloads(1, faults, 10)] {
            for p in p {
                assert!(p["values"]["pm2_5"].as_f64().unwrap() > 0.0, "{p}");
                assert!(p["health"].get("last_error").is_none(), "{p}");
            }
        }
    }

    #[test]
    fn a_silent_sds011_is_power_cycled_and_reported() {
        let (p, cycles) = payloads(
            0,
            NodeFaults {
                silent_sds011: true,
                uart_garbage: 0.0,
            },
            5,
        );
        assert!(p.iter().all(|p| p["values"].get("pm2_5").is_none()));
        assert!(
            p[0]["health"].get("last_error").is_none(),
            "silent 10 s: not yet"
        );
        assert_eq!(p[4]["health"]["last_error"], "sds011_silent");
        assert_eq!(cycles, 1, "power-cycled once after 30 s of silence");
        let seqs: Vec<u64> = p.iter().map(|p| p["seq"].as_u64().unwrap()).collect();
        assert_eq!(seqs, vec![5000, 5001, 5002, 5003, 5004]);
    }

    #[test]
    fn short_intervals_report_each_interval_and_pm_each_second() {
        let sim = crate::fleet(1, 1).remove(0);
        let interval = Duration::from_millis(200);
        let mut core = NodeCore::new(sim, NodeFaults::default(), 0, interval, 3).unwrap();
        let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
        let mut with_pm = 0;
        for i in 1..=25u64 {
            assert_eq!(core.advance(200 * i, Utc::now(), &mut rng), 1, "tick {i}");
            let p: serde_json::Value = serde_json::from_slice(&core.oldest().unwrap()).unwrap();
            core.sent();
            with_pm += usize::from(p["values"].get("pm2_5").is_some());
        }
        assert_eq!(with_pm, 5, "one SDS011 frame a second");
    }
}
