//! Detects a sensor that stopped answering. The SDS011 is known to go silent until its
//! power is cycled; the node asks for a power cycle when no frame came for too long,
//! and waits a while before asking again.

/// What the node should do about a sensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Alive,
    /// No valid frame for `silent_ms`: cycle its power.
    PowerCycle {
        silent_ms: u64,
    },
    /// Silent, and a power cycle was asked for recently: wait.
    Recovering {
        silent_ms: u64,
    },
}

#[derive(Debug, Clone)]
pub struct Liveness {
    timeout_ms: u64,
    retry_ms: u64,
    last_frame_ms: u64,
    last_cycle_ms: Option<u64>,
    pub power_cycles: u32,
}

impl Liveness {
    /// `now_ms` is the start; a sensor gets `timeout_ms` to send its first frame.
    pub const fn new(now_ms: u64, timeout_ms: u64, retry_ms: u64) -> Self {
        Liveness {
            timeout_ms,
            retry_ms,
            last_frame_ms: now_ms,
            last_cycle_ms: None,
            power_cycles: 0,
        }
    }

    pub fn on_frame(&mut self, now_ms: u64) {
        self.last_frame_ms = now_ms;
        self.last_cycle_ms = None;
    }

    pub fn check(&mut self, now_ms: u64) -> Health {
        let silent_ms = now_ms.saturating_sub(self.last_frame_ms);
        if silent_ms < self.timeout_ms {
            return Health::Alive;
        }
        match self.last_cycle_ms {
            Some(at) if now_ms.saturating_sub(at) < self.retry_ms => {
                Health::Recovering { silent_ms }
            }
            _ => {
                self.last_cycle_ms = Some(now_ms);
                self.power_cycles += 1;
                Health::PowerCycle { silent_ms }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asks_for_a_power_cycle_once_per_retry_period() {
        let mut l = Liveness::new(0, 10_000, 60_000);
        let script = [
            (5_000, None, Health::Alive),
            (9_000, Some(9_000), Health::Alive),
            (18_999, None, Health::Alive),
            (19_000, None, Health::PowerCycle { silent_ms: 10_000 }),
            (30_000, None, Health::Recovering { silent_ms: 21_000 }),
            (79_000, None, Health::PowerCycle { silent_ms: 70_000 }),
            (80_000, Some(80_000), Health::Alive),
            (95_000, None, Health::PowerCycle { silent_ms: 15_000 }),
        ];
        for (now, frame, want) in script {
            if let Some(t) = frame {
                l.on_frame(t);
            }
            assert_eq!(l.check(now), want, "at {now} ms");
        }
        assert_eq!(l.power_cycles, 3);
    }
}
