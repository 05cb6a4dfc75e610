//! The simulator's clock: scenes are functions of the time since the simulator started,
//! read from here. The real clock follows the wall; a manual clock stands still until a
//! test sets or advances it, so scripted tests know exactly what each frame shows.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug)]
enum Source {
    Real(Instant),
    /// Nanoseconds since the start.
    Manual(AtomicU64),
}

/// Time since the simulation started. Cheap to clone; clones share the time.
#[derive(Debug, Clone)]
pub struct SimClock(Arc<Source>);

impl SimClock {
    /// Follows the wall clock from now.
    pub fn real() -> Self {
        SimClock(Arc::new(Source::Real(Instant::now())))
    }

    /// Starts at zero and moves only through [`SimClock::set`] and [`SimClock::advance`].
    pub fn manual() -> Self {
        SimClock(Arc::new(Source::Manual(AtomicU64::new(0))))
    }

    pub fn is_manual(&self) -> bool {
        matches!(*self.0, Source::Manual(_))
    }

    pub fn now(&self) -> Duration {
        match &*self.0 {
            Source::Real(start) => start.elapsed(),
            Source::Manual(nanos) => Duration::from_nanos(nanos.load(Ordering::Acquire)),
        }
    }

    /// Sets a manual clock; a real clock ignores it (and says so).
    pub fn set(&self, t: Duration) -> bool {
        match &*self.0 {
            Source::Real(_) => false,
            Source::Manual(nanos) => {
                nanos.store(t.as_nanos().min(u64::MAX as u128) as u64, Ordering::Release);
                true
            }
        }
    }

    /// Moves a manual clock forward; a real clock ignores it (and says so).
    pub fn advance(&self, d: Duration) -> bool {
        match &*self.0 {
            Source::Real(_) => false,
            Source::Manual(nanos) => {
                let d = d.as_nanos().min(u64::MAX as u128) as u64;
                nanos.fetch_add(d, Ordering::AcqRel);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = SimClock::manual();
        let shared = c.clone();
        assert_eq!(c.now(), Duration::ZERO);
        assert!(c.advance(Duration::from_millis(1500)));
        assert_eq!(shared.now(), Duration::from_millis(1500));
        assert!(shared.set(Duration::from_secs(7)));
        assert_eq!(c.now(), Duration::from_secs(7));
        let real = SimClock::real();
        assert!(!real.set(Duration::from_secs(7)) && !real.is_manual());
    }
}
