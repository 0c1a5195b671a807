//! The server's one clock. Domain code asks it for the time (never the system directly), so
//! expiries, lockouts and windows are tested by moving a [`ManualClock`] instead of sleeping.

use std::fmt::Debug;
use std::sync::atomic::{AtomicI64, Ordering};

/// Now, in microseconds since the Unix epoch (the unit of every stored time).
pub trait Clock: Debug + Send + Sync + 'static {
    /// The current time.
    fn now_micros(&self) -> i64;
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_micros(&self) -> i64 {
        jiff::Timestamp::now().as_microsecond()
    }
}

/// A clock that moves only when told to (tests).
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// Starts at the system's current time.
    pub fn starting_now() -> ManualClock {
        ManualClock(AtomicI64::new(SystemClock.now_micros()))
    }

    /// Moves the clock forward by `secs` seconds.
    pub fn advance_secs(&self, secs: i64) {
        self.0.fetch_add(secs * 1_000_000, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_micros(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The server's clock as the audit crate's (the audit log's checkpoints and retention).
#[derive(Debug)]
pub struct ForAudit(pub std::sync::Arc<dyn Clock>);

impl strongroom_audit::Clock for ForAudit {
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::from_microsecond(self.0.now_micros())
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
    }
}

/// The server's clock as the session store's (token and session expiry).
#[derive(Debug)]
pub struct ForSessions(pub std::sync::Arc<dyn Clock>);

impl strongroom_session_store::Clock for ForSessions {
    fn now(&self) -> std::time::SystemTime {
        let micros = self.0.now_micros().max(0) as u64;
        std::time::UNIX_EPOCH + std::time::Duration::from_micros(micros)
    }
}
