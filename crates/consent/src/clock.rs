use jiff::Timestamp;
use std::fmt::Debug;
use std::sync::Mutex;
use std::time::Duration;

/// A source of the current time. The ledger computes expiry from it, so tests inject a
/// [`ManualClock`] instead of sleeping.
pub trait Clock: Debug + Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The operating system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that only moves when told to; for tests and simulations.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<Timestamp>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: Timestamp) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// Move the clock to `to` (backwards too, to test clock skew).
    pub fn set(&self, to: Timestamp) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = to;
    }

    /// Move the clock forward by `by`, saturating at the largest representable instant.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now = now.checked_add(by).unwrap_or(Timestamp::MAX);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Truncate to whole microseconds: every backend stores microseconds, and a record's hash covers
/// its timestamps, so the value hashed must be the value that comes back from storage.
pub(crate) fn to_micros(t: Timestamp) -> Timestamp {
    Timestamp::from_microsecond(t.as_microsecond()).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let start: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        clock.advance(Duration::from_secs(60));
        assert_eq!(
            clock.now(),
            "2026-01-01T00:01:00Z".parse::<Timestamp>().unwrap()
        );
        clock.set(start);
        assert_eq!(clock.now(), start);
    }

    #[test]
    fn truncation_drops_sub_microseconds() {
        let t: Timestamp = "2026-01-01T00:00:00.123456789Z".parse().unwrap();
        assert_eq!(to_micros(t).to_string(), "2026-01-01T00:00:00.123456Z");
    }
}
