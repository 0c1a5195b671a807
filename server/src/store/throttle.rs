//! Failed sign-ins, counted per subject (`user:<id>`, `email:<address>` for addresses without an
//! account, `ip:<address>`) in the table `login_failures` (this trait's), so that every server on
//! one database sees the same counts; and request windows for rate limits shared by those
//! servers, in `rate_windows` (also this trait's).
//!
//! An attempt is counted *before* the password is checked ([`ThrottleStore::admit`]) and
//! forgiven when it turns out right ([`ThrottleStore::forgive`]): a burst of concurrent guesses
//! is counted in full, one at a time, and so cannot slip past the back-off together. What a count
//! means (free attempts, delays, the lock) is [`Rules::next`], one function every backend calls
//! inside its transaction.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use strongroom_audit::AuditEvent;

use super::Result;

/// How failures of one kind of subject are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Attempts allowed before any delay.
    pub free: u32,
    /// The first delay, in seconds; it doubles with each further failure (0: no delays).
    pub base_secs: u64,
    /// The longest delay, in seconds.
    pub max_secs: u64,
    /// Failures that lock the subject until an administrator (or a password reset) lifts it
    /// (0: never locked).
    pub lock_after: u32,
    /// A subject with no attempt for this long starts again from zero, in seconds (a locked one
    /// does not).
    pub forget_after_secs: u64,
}

/// One subject's failures as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureRecord {
    /// `user:<id>`, `email:<address>` or `ip:<address>`.
    pub subject: String,
    /// Attempts counted since the last success (or since they were forgotten).
    pub failures: u32,
    /// The last attempt (µs).
    pub last_attempt_at: i64,
    /// No attempt is admitted before this (µs; 0: none pending).
    pub blocked_until: i64,
    /// When the subject was locked (µs), if it is.
    pub locked_at: Option<i64>,
}

/// Whether an attempt may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Check the password; the attempt is counted as the `n`-th failure until forgiven.
    Go {
        /// Its number among the failures.
        n: u32,
        /// The delay it set: no attempt is admitted before this (µs; 0: none).
        until: i64,
    },
    /// Too soon after the last failure: try again in this many seconds (nothing was counted).
    Wait {
        /// Seconds (at least 1).
        secs: u64,
    },
    /// Locked: nothing is admitted until the lock is lifted.
    Locked,
}

impl Rules {
    /// The state after admitting one more attempt at `now` (µs), or why it is not admitted.
    /// `prev` is the stored state (`None`: no failures).
    pub fn next(&self, prev: Option<&FailureRecord>, subject: &str, now: i64) -> Next {
        let mut rec = prev.cloned().unwrap_or_else(|| FailureRecord {
            subject: subject.to_owned(),
            failures: 0,
            last_attempt_at: now,
            blocked_until: 0,
            locked_at: None,
        });
        if rec.locked_at.is_some() {
            return Next::Refuse(Admission::Locked);
        }
        let forget =
            i64::try_from(self.forget_after_secs.saturating_mul(1_000_000)).unwrap_or(i64::MAX);
        if now.saturating_sub(rec.last_attempt_at) > forget {
            rec.failures = 0;
            rec.blocked_until = 0;
        }
        if rec.blocked_until > now {
            let secs = ((rec.blocked_until - now) as u64)
                .div_ceil(1_000_000)
                .max(1);
            return Next::Refuse(Admission::Wait { secs });
        }
        // Attempts in flight up to the lock are all that may be: the one that reaches it is
        // checked, the rest wait for its answer.
        if self.lock_after > 0 && rec.failures >= self.lock_after {
            return Next::Refuse(Admission::Wait { secs: 1 });
        }
        rec.failures = rec.failures.saturating_add(1);
        rec.last_attempt_at = now;
        rec.blocked_until = now.saturating_add(self.delay_micros(rec.failures));
        Next::Admit(rec)
    }

    /// The delay after the `n`-th failure (µs).
    fn delay_micros(&self, n: u32) -> i64 {
        if self.base_secs == 0 || n <= self.free {
            return 0;
        }
        let doublings = (n - self.free - 1).min(40);
        let secs = self
            .base_secs
            .saturating_mul(1u64 << doublings)
            .min(self.max_secs.max(self.base_secs));
        i64::try_from(secs.saturating_mul(1_000_000)).unwrap_or(i64::MAX)
    }

    /// Whether confirming `failures` failures locks the subject.
    pub fn locks(&self, failures: u32) -> bool {
        self.lock_after > 0 && failures >= self.lock_after
    }
}

/// What [`Rules::next`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Store this and let the attempt go ahead.
    Admit(FailureRecord),
    /// Store nothing; answer this.
    Refuse(Admission),
}

/// See the module docs.
#[async_trait]
pub trait ThrottleStore: Debug + Send + Sync + 'static {
    /// Counts an attempt on `subject` at `now` under `rules` (atomically: concurrent calls are
    /// counted one after the other), or says why it may not go ahead.
    async fn admit(&self, subject: &str, rules: &Rules, now: i64) -> Result<Admission>;

    /// The attempt turned out wrong: if its count reaches `rules.lock_after`, locks the subject
    /// and writes `lock_event` with the lock, in one transaction. True when this call locked it.
    async fn confirm_failure(
        &self,
        subject: &str,
        rules: &Rules,
        now: i64,
        lock_event: &AuditEvent,
    ) -> Result<bool>;

    /// The attempt was right: the subject's failures are forgotten.
    async fn forgive(&self, subject: &str) -> Result<()>;

    /// The attempt admitted with delay `until` was right, but the subject's other failures stand
    /// (a client address, where a success of one account must not wipe out the guesses at
    /// others): one failure fewer is counted, and the delay is lifted if it is still the one
    /// this attempt set (a guess admitted since keeps its own).
    async fn refund(&self, subject: &str, until: i64) -> Result<()>;

    /// Lifts a lock (and forgets the failures) with its event; [`super::Error::NotFound`] when
    /// the subject is not locked.
    async fn unlock(&self, subject: &str, event: &AuditEvent) -> Result<()>;

    /// Forgets the failures of `subject`, locked or not, with no event of its own (a password
    /// reset, which writes its own event, lifts the lock this way).
    async fn clear(&self, subject: &str) -> Result<()>;

    /// One subject's record.
    async fn failures(&self, subject: &str) -> Result<Option<FailureRecord>>;

    /// Locked subjects, oldest lock first, at most `limit`, after the subject `after`.
    async fn locked(&self, after: Option<&str>, limit: u32) -> Result<Vec<FailureRecord>>;

    /// Deletes records not locked whose last attempt is before `before` (µs), and rate windows
    /// that started before it; returns how many rows went.
    async fn prune(&self, before: i64) -> Result<u64>;

    /// Counts one request on `key` in the window starting at `window` (µs) and returns the
    /// window's count so far, this request included (a new window starts from one). Shared by
    /// every process on the database.
    async fn hit(&self, key: &str, window: i64) -> Result<u64>;
}

/// A shared [`ThrottleStore`].
pub type DynThrottleStore = dyn ThrottleStore;

/// Keeps the trait object-safe.
#[allow(dead_code)]
fn _object_safe(_: Arc<DynThrottleStore>) {}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000;

    fn rules() -> Rules {
        Rules {
            free: 2,
            base_secs: 1,
            max_secs: 8,
            lock_after: 6,
            forget_after_secs: 3600,
        }
    }

    fn admit(r: &Rules, prev: &mut Option<FailureRecord>, now: i64) -> Option<Admission> {
        match r.next(prev.as_ref(), "user:u", now) {
            Next::Admit(rec) => {
                let n = rec.failures;
                *prev = Some(rec);
                Some(Admission::Go { n, until: 0 })
            }
            Next::Refuse(a) => Some(a),
        }
    }

    #[test]
    fn delays_double_up_to_the_cap_then_the_lock_holds() {
        let r = rules();
        let mut rec = None;
        let t = 1_000 * S;
        assert_eq!(
            admit(&r, &mut rec, t),
            Some(Admission::Go { n: 1, until: 0 })
        );
        assert_eq!(
            admit(&r, &mut rec, t),
            Some(Admission::Go { n: 2, until: 0 })
        );
        // The third failure sets a 1 s delay; the fourth 2 s, then 4 s, then capped at 8 s.
        assert_eq!(
            admit(&r, &mut rec, t),
            Some(Admission::Go { n: 3, until: 0 })
        );
        assert_eq!(admit(&r, &mut rec, t), Some(Admission::Wait { secs: 1 }));
        assert_eq!(
            admit(&r, &mut rec, t + S),
            Some(Admission::Go { n: 4, until: 0 })
        );
        assert_eq!(
            admit(&r, &mut rec, t + 2 * S),
            Some(Admission::Wait { secs: 1 })
        );
        assert_eq!(
            admit(&r, &mut rec, t + 3 * S),
            Some(Admission::Go { n: 5, until: 0 })
        );
        assert_eq!(
            admit(&r, &mut rec, t + 4 * S),
            Some(Admission::Wait { secs: 3 })
        );
        assert_eq!(
            admit(&r, &mut rec, t + 7 * S),
            Some(Admission::Go { n: 6, until: 0 })
        );
        // Six counted: the lock is reached; further attempts wait for that one's answer.
        assert!(r.locks(6) && !r.locks(5));
        assert_eq!(
            admit(&r, &mut rec, t + 100 * S),
            Some(Admission::Wait { secs: 1 })
        );
        rec.as_mut().unwrap().locked_at = Some(t + 100 * S);
        // Locked: not even forgetting lifts it.
        assert_eq!(admit(&r, &mut rec, t + 10_000 * S), Some(Admission::Locked));
    }

    #[test]
    fn an_idle_subject_starts_again() {
        let r = rules();
        let mut rec = None;
        for _ in 0..3 {
            admit(&r, &mut rec, 0);
        }
        assert_eq!(
            admit(&r, &mut rec, 3601 * S),
            Some(Admission::Go { n: 1, until: 0 })
        );
    }

    #[test]
    fn no_delays_no_lock() {
        let r = Rules {
            free: 0,
            base_secs: 0,
            max_secs: 0,
            lock_after: 0,
            forget_after_secs: 60,
        };
        let mut rec = None;
        for n in 1..=100 {
            assert_eq!(admit(&r, &mut rec, 0), Some(Admission::Go { n, until: 0 }));
        }
    }
}
