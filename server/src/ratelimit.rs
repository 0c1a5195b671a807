//! Per-IP and per-user request limits: fixed one-minute windows (aligned to the clock's minutes)
//! per key. Counted in this process, or, when given a [`ThrottleStore`], in the database, so
//! that every server on one PostgreSQL enforces one limit together. If the database cannot be
//! reached the count falls back to this process's (a limit must not become an outage).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::clock::Clock;
use crate::store::DynThrottleStore;

const WINDOW: i64 = 60_000_000;

/// Counts requests per key per minute.
#[derive(Debug)]
pub struct RateLimiter {
    per_ip: u32,
    per_user: u32,
    local: Mutex<HashMap<String, (i64, u64)>>,
    shared: Option<Arc<DynThrottleStore>>,
    clock: Arc<dyn Clock>,
    /// When the last "counting locally" warning was logged (µs), so an outage logs once a minute.
    warned_at: AtomicI64,
}

impl RateLimiter {
    /// Limits per minute, counted in this process.
    pub fn new(per_ip: u32, per_user: u32, clock: Arc<dyn Clock>) -> RateLimiter {
        RateLimiter {
            per_ip,
            per_user,
            local: Mutex::new(HashMap::new()),
            shared: None,
            clock,
            warned_at: AtomicI64::new(i64::MIN),
        }
    }

    /// Counts in `store` instead, shared with every process on its database.
    pub fn shared(mut self, store: Arc<DynThrottleStore>) -> RateLimiter {
        self.shared = Some(store);
        self
    }

    /// Whether the counts are shared.
    pub fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    fn local_hit(&self, key: &str, window: i64) -> u64 {
        let mut map = self.local.lock().unwrap_or_else(|e| e.into_inner());
        let entry = map.entry(key.to_owned()).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        entry.1 += 1;
        entry.1
    }

    async fn hit(&self, key: String, limit: u32) -> Result<(), u64> {
        let now = self.clock.now_micros();
        let window = now - now.rem_euclid(WINDOW);
        let count = match &self.shared {
            None => self.local_hit(&key, window),
            Some(store) => match store.hit(&key, window).await {
                Ok(n) => n,
                Err(e) => {
                    let last = self.warned_at.load(Ordering::Relaxed);
                    if now.saturating_sub(last) >= WINDOW
                        && self
                            .warned_at
                            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                            .is_ok()
                    {
                        tracing::warn!(error = %e, "rate limits: the database is unavailable, counting in this process");
                    }
                    self.local_hit(&key, window)
                }
            },
        };
        if count > u64::from(limit) {
            let wait = ((window + WINDOW - now).max(0) as u64).div_ceil(1_000_000);
            return Err(wait.max(1));
        }
        Ok(())
    }

    /// Counts a request from `ip`; `Err(seconds)` to wait when over the limit.
    pub async fn check_ip(&self, ip: &str) -> Result<(), u64> {
        self.hit(format!("ip:{ip}"), self.per_ip).await
    }

    /// Counts a request by `user`.
    pub async fn check_user(&self, user: &str) -> Result<(), u64> {
        self.hit(format!("user:{user}"), self.per_user).await
    }

    /// Drops this process's windows that ended (bounded memory); shared ones are pruned with
    /// the failed sign-ins.
    pub fn forget_idle(&self) {
        let now = self.clock.now_micros();
        let window = now - now.rem_euclid(WINDOW);
        let mut map = self.local.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, (start, _)| *start == window);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::store::MemoryStore;

    async fn limits_per_key_and_window(r: RateLimiter, clock: &ManualClock) {
        assert!(r.check_ip("a").await.is_ok());
        assert!(r.check_ip("a").await.is_ok());
        let wait = r.check_ip("a").await.unwrap_err();
        assert!((1..=60).contains(&wait));
        assert!(r.check_ip("b").await.is_ok());
        assert!(r.check_user("a").await.is_ok(), "users and addresses apart");
        clock.advance_secs(60);
        assert!(r.check_ip("a").await.is_ok());
    }

    #[tokio::test]
    async fn local_and_shared_count_alike() {
        let clock = Arc::new(ManualClock::starting_now());
        limits_per_key_and_window(RateLimiter::new(2, 3, clock.clone()), &clock).await;
        let store: Arc<DynThrottleStore> = Arc::new(MemoryStore::new());
        limits_per_key_and_window(
            RateLimiter::new(2, 3, clock.clone()).shared(store.clone()),
            &clock,
        )
        .await;
        // Two limiters on one store enforce one limit.
        let (a, b) = (
            RateLimiter::new(3, 3, clock.clone()).shared(store.clone()),
            RateLimiter::new(3, 3, clock.clone()).shared(store),
        );
        clock.advance_secs(60);
        assert!(a.check_ip("z").await.is_ok());
        assert!(b.check_ip("z").await.is_ok());
        assert!(a.check_ip("z").await.is_ok());
        assert!(b.check_ip("z").await.is_err());
        assert!(a.check_ip("z").await.is_err());
    }
}
