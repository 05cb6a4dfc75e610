//! Login rate limiting: failed attempts counted per client address and per user name
//! in a sliding window; over the limit, logins are refused until the window passes,
//! whether the password is right or not.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct LoginLimiter {
    max_failures: usize,
    window: Duration,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl LoginLimiter {
    pub fn new(max_failures: usize, window: Duration) -> Self {
        LoginLimiter {
            max_failures,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// How long `keys` (address, user name) must wait, if any of them is over the
    /// limit.
    pub fn retry_after(&self, keys: &[&str], now: Instant) -> Option<Duration> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait = None;
        for key in keys {
            if let Some(times) = map.get_mut(*key) {
                while times.front().is_some_and(|t| now.duration_since(*t) >= self.window) {
                    times.pop_front();
                }
                if times.len() >= self.max_failures {
                    let oldest = times.front().copied().unwrap_or(now);
                    let w = self.window.saturating_sub(now.duration_since(oldest));
                    wait = Some(wait.map_or(w, |x: Duration| x.max(w)));
                }
            }
        }
        wait
    }

    pub fn failed(&self, keys: &[&str], now: Instant) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        // Bound the memory an attacker can make us hold.
        if map.len() > 100_000 {
            let window = self.window;
            map.retain(|_, times| times.back().is_some_and(|t| now.duration_since(*t) < window));
        }
        for key in keys {
            let times = map.entry((*key).to_owned()).or_default();
            times.push_back(now);
            if times.len() > self.max_failures {
                times.pop_front();
            }
        }
    }

    pub fn succeeded(&self, user_key: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(user_key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_key_and_forgets_after_the_window() {
        let limiter = LoginLimiter::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        let keys = ["ip:1.2.3.4", "user:ana"];
        for i in 0..3 {
            assert_eq!(limiter.retry_after(&keys, t0), None, "attempt {i}");
            limiter.failed(&keys, t0 + Duration::from_secs(i));
        }
        let wait = limiter.retry_after(&keys, t0 + Duration::from_secs(10)).unwrap();
        assert_eq!(wait, Duration::from_secs(50));
        // Another user from the same address is limited too; another address for
        // the same user as well.
        assert!(limiter.retry_after(&["ip:1.2.3.4", "user:bob"], t0).is_some());
        assert!(limiter.retry_after(&["ip:9.9.9.9", "user:ana"], t0).is_some());
        assert!(limiter.retry_after(&["ip:9.9.9.9", "user:bob"], t0).is_none());
        assert!(limiter.retry_after(&keys, t0 + Duration::from_secs(63)).is_none());
    }
}
