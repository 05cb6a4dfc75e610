//! One simulated node running the firmware core: its physics go through the real SDS011
//! frame format and parser (garbage on the UART if asked), silent-sensor detection,
//! the reboot-safe sequence counter, the payload encoder and the store-and-forward
//! outbox.

use std::time::Instant;

use chrono::{DateTime, Utc};
use rand::Rng;
use veghe_firmware::liveness::{Health as SensorHealth, Liveness};
use veghe_firmware::payload::{self, Health, Quantity as FwQuantity};
use veghe_firmware::sensors::sds011::{self, Sds011Parser, Sds011Reading};
use veghe_firmware::sequence::{RamSeqStore, SeqCounter};
use veghe_firmware::store_forward::{Outbox, RamSlots};
use veghe_sensors::Quantity;

use crate::{Conditions, Physics, SimNode};

/// Payloads a node can hold while offline (one per interval: 10 minutes at 10 s).
pub const OUTBOX_SLOTS: usize = 60;
pub const PAYLOAD_MAX: usize = 448;

/// Faults injected into a node.
#[derive(Debug, Clone, Copy, Default)]
pub struct NodeFaults {
    /// The SDS011 sends nothing (the known hang that needs a power cycle).
    pub silent_sds011: bool,
    /// Probability that garbage bytes precede a frame on the UART.
    pub uart_garbage: f64,
}

pub struct NodeCore {
    pub sim: SimNode,
    pub topic: String,
    seq: SeqCounter<RamSeqStore>,
    pub outbox: Outbox<RamSlots<OUTBOX_SLOTS, PAYLOAD_MAX>>,
    parser: Sds011Parser,
    liveness: Liveness,
    faults: NodeFaults,
    booted: Instant,
}

fn now_ms(t: DateTime<Utc>) -> u64 {
    t.timestamp_millis().max(0) as u64
}

impl NodeCore {
    /// `seq_start` stands for what the node's flash held at boot.
    pub fn new(sim: SimNode, faults: NodeFaults, seq_start: u64, now: DateTime<Utc>) -> NodeCore {
        NodeCore {
            topic: format!("veghe/v1/sensors/{}/readings", sim.node.id),
            sim,
            seq: SeqCounter::new(RamSeqStore(Some(seq_start)), 1000),
            outbox: Outbox::new(RamSlots::new()),
            parser: Sds011Parser::new(),
            // An SDS011 reports every second; 30 s of silence means it hangs.
            liveness: Liveness::new(now_ms(now), 30_000, 300_000),
            faults,
            booted: Instant::now(),
        }
    }

    /// Measures, encodes and queues one payload.
    pub fn produce(&mut self, now: DateTime<Utc>, rng: &mut impl Rng) {
        let t = now_ms(now);
        let mut values = Physics::readings(&self.sim, Conditions::at(now), rng);
        let pm2_5 = take(&mut values, Quantity::Pm2_5);
        let pm10 = take(&mut values, Quantity::Pm10);
        let mut last_error = "";
        if !self.faults.silent_sds011 {
            if let (Some(pm2_5), Some(pm10)) = (pm2_5, pm10) {
                let frame = sds011::encode(&Sds011Reading {
                    pm2_5_tenths: (pm2_5 * 10.0).round() as u16,
                    pm10_tenths: (pm10 * 10.0).round() as u16,
                    device_id: 0x60A1,
                });
                if rng.gen_bool(self.faults.uart_garbage.clamp(0.0, 1.0)) {
                    for _ in 0..rng.gen_range(1..24) {
                        let _ = self.parser.push(rng.gen());
                    }
                }
                for b in frame {
                    if let Some(Ok(r)) = self.parser.push(b) {
                        self.liveness.on_frame(t);
                        values.push((Quantity::Pm2_5, f64::from(r.pm2_5())));
                        values.push((Quantity::Pm10, f64::from(r.pm10())));
                    }
                }
            }
        }
        if let SensorHealth::PowerCycle { .. } | SensorHealth::Recovering { .. } =
            self.liveness.check(t)
        {
            last_error = "sds011_silent";
        }
        let fw_values: Vec<(FwQuantity, f32)> = values
            .iter()
            .filter_map(|(q, v)| {
                FwQuantity::ALL
                    .iter()
                    .find(|f| f.name() == q.name())
                    .map(|f| (*f, *v as f32))
            })
            .collect();
        let rssi = values
            .iter()
            .find(|(q, _)| *q == Quantity::Rssi)
            .map(|(_, v)| *v as i16);
        let health = Health {
            uptime_s: self.booted.elapsed().as_secs(),
            free_buffer: self.outbox.free() as u32,
            dropped: self.outbox.dropped,
            last_error,
            rssi_dbm: rssi,
        };
        let mut buf = [0u8; PAYLOAD_MAX];
        let seq = self.seq.issue();
        match payload::encode(
            &mut buf,
            self.sim.node.id.as_str(),
            t,
            seq,
            &fw_values,
            &health,
        ) {
            Ok(n) => {
                let _ = self.outbox.push(&buf[..n]);
            }
            Err(e) => {
                tracing::warn!(sensor.id = %self.sim.node.id, error = ?e, "payload does not fit")
            }
        }
    }

    /// The oldest queued payload.
    pub fn oldest(&self) -> Option<Vec<u8>> {
        let mut buf = [0u8; PAYLOAD_MAX];
        self.outbox.peek(&mut buf).map(|n| buf[..n].to_vec())
    }
}

fn take(values: &mut Vec<(Quantity, f64)>, q: Quantity) -> Option<f64> {
    let i = values.iter().position(|(x, _)| *x == q)?;
    Some(values.remove(i).1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn payloads(faults: NodeFaults, n: usize) -> Vec<serde_json::Value> {
        let mut core = NodeCore::new(crate::fleet(1, 1).remove(0), faults, 5000, Utc::now());
        let mut rng = rand::rngs::SmallRng::seed_from_u64(1);
        let start = Utc::now();
        let mut out = Vec::new();
        for i in 0..n {
            core.produce(start + chrono::Duration::seconds(10 * i as i64), &mut rng);
            out.push(serde_json::from_slice(&core.oldest().unwrap()).unwrap());
            core.outbox.pop();
        }
        out
    }

    #[test]
    fn firmware_quantities_are_veghe_quantities() {
        for q in FwQuantity::ALL {
            assert!(q.name().parse::<Quantity>().is_ok(), "{}", q.name());
        }
    }

    #[test]
    fn payloads_carry_pm_through_the_sds011_parser_even_with_garbage() {
        for p in payloads(
            NodeFaults {
                silent_sds011: false,
                uart_garbage: 1.0,
            },
            20,
        ) {
            assert!(p["values"]["pm2_5"].as_f64().unwrap() > 0.0, "{p}");
            assert!(p["health"].get("last_error").is_none(), "{p}");
        }
    }

    #[test]
    fn a_silent_sds011_is_reported_and_its_values_are_missing() {
        let p = payloads(
            NodeFaults {
                silent_sds011: true,
                uart_garbage: 0.0,
            },
            5,
        );
        assert!(p.iter().all(|p| p["values"].get("pm2_5").is_none()));
        assert_eq!(p[4]["health"]["last_error"], "sds011_silent");
        let seqs: Vec<u64> = p.iter().map(|p| p["seq"].as_u64().unwrap()).collect();
        assert_eq!(seqs, vec![5000, 5001, 5002, 5003, 5004]);
    }
}
