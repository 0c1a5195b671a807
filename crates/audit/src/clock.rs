use std::fmt::Debug;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;

/// A source of the current time, injected so that retention, retries and leases can be tested
/// without waiting.
pub trait Clock: Debug + Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that only moves when told to; clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<Timestamp>>,
}

impl ManualClock {
    /// A clock showing `start`.
    pub fn new(start: Timestamp) -> Self {
        ManualClock {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now = add(*now, by);
    }

    /// Sets the clock to `to`.
    pub fn set(&self, to: Timestamp) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Waits for a duration; injected next to [`Clock`] so that retry loops can be tested without
/// real sleeps.
#[async_trait]
pub trait Sleeper: Debug + Send + Sync + 'static {
    /// Returns after `duration` has passed (by this sleeper's notion of time).
    async fn sleep(&self, duration: Duration);
}

/// Sleeps with `tokio::time::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioSleeper;

#[async_trait]
impl Sleeper for TokioSleeper {
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// A [`Sleeper`] that returns at once after advancing a [`ManualClock`], and remembers every
/// requested duration (for tests of retry schedules).
#[derive(Debug, Clone)]
pub struct ManualSleeper {
    clock: ManualClock,
    slept: Arc<Mutex<Vec<Duration>>>,
}

impl ManualSleeper {
    /// A sleeper driving `clock`.
    pub fn new(clock: ManualClock) -> Self {
        ManualSleeper {
            clock,
            slept: Arc::default(),
        }
    }

    /// Every duration slept so far, in order.
    pub fn slept(&self) -> Vec<Duration> {
        self.slept.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[async_trait]
impl Sleeper for ManualSleeper {
    async fn sleep(&self, duration: Duration) {
        self.slept
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(duration);
        self.clock.advance(duration);
        tokio::task::yield_now().await;
    }
}

/// `t + d`, saturating at the end of jiff's range (which is far beyond any real deadline).
pub(crate) fn add(t: Timestamp, d: Duration) -> Timestamp {
    jiff::SignedDuration::try_from(d)
        .ok()
        .and_then(|d| t.checked_add(d).ok())
        .unwrap_or(Timestamp::MAX)
}

/// Whole microseconds since the Unix epoch: the precision stored by every backend.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn from_micros(us: i64) -> crate::Result<Timestamp> {
    Timestamp::from_microsecond(us).map_err(|e| crate::Error::malformed("timestamp", e))
}

/// Truncates to whole microseconds, the precision every backend stores.
pub(crate) fn truncate(t: Timestamp) -> Timestamp {
    Timestamp::from_microsecond(t.as_microsecond()).unwrap_or(t)
}
