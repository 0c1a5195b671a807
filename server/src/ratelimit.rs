//! Per-IP and per-user request limits: a fixed one-minute window per key, kept in this process
//! (a cache: with several processes each enforces its own share).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(60);

/// Counts requests per key per minute.
#[derive(Debug)]
pub struct RateLimiter {
    per_ip: u32,
    per_user: u32,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    /// Limits per minute.
    pub fn new(per_ip: u32, per_user: u32) -> RateLimiter {
        RateLimiter {
            per_ip,
            per_user,
            windows: Mutex::new(HashMap::new()),
        }
    }

    fn hit(&self, key: String, limit: u32, now: Instant) -> Result<(), u64> {
        let mut map = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let entry = map.entry(key).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        if entry.1 >= limit {
            let wait = WINDOW.saturating_sub(now.duration_since(entry.0));
            return Err(wait.as_secs().max(1));
        }
        entry.1 += 1;
        Ok(())
    }

    /// Counts a request from `ip`; `Err(seconds)` to wait when over the limit.
    pub fn check_ip(&self, ip: &str) -> Result<(), u64> {
        self.hit(format!("ip:{ip}"), self.per_ip, Instant::now())
    }

    /// Counts a request by `user`.
    pub fn check_user(&self, user: &str) -> Result<(), u64> {
        self.hit(format!("user:{user}"), self.per_user, Instant::now())
    }

    /// Drops windows that ended (bounded memory).
    pub fn forget_idle(&self) {
        let now = Instant::now();
        let mut map = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_key_and_window() {
        let r = RateLimiter::new(2, 3);
        let t = Instant::now();
        assert!(r.hit("a".into(), 2, t).is_ok());
        assert!(r.hit("a".into(), 2, t).is_ok());
        let wait = r.hit("a".into(), 2, t).unwrap_err();
        assert!((1..=60).contains(&wait));
        assert!(r.hit("b".into(), 2, t).is_ok());
        assert!(r.hit("a".into(), 2, t + WINDOW).is_ok());
    }
}
