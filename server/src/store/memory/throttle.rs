//! [`ThrottleStore`] in memory: the records and windows in maps under the store's lock.

use async_trait::async_trait;
use strongroom_audit::AuditEvent;

use super::MemoryStore;
use crate::store::throttle::{Admission, FailureRecord, Next, Rules, ThrottleStore};
use crate::store::{Error, Result};

/// The two tables.
#[derive(Debug, Default)]
pub(super) struct Tables {
    failures: std::collections::BTreeMap<String, FailureRecord>,
    /// key -> (window start, hits).
    windows: std::collections::HashMap<String, (i64, u64)>,
}

#[async_trait]
impl ThrottleStore for MemoryStore {
    async fn admit(&self, subject: &str, rules: &Rules, now: i64) -> Result<Admission> {
        let mut s = self.lock();
        let t = &mut s.throttle;
        match rules.next(t.failures.get(subject), subject, now) {
            Next::Admit(rec) => {
                let (n, until) = (rec.failures, rec.blocked_until);
                t.failures.insert(subject.to_owned(), rec);
                Ok(Admission::Go { n, until })
            }
            Next::Refuse(a) => Ok(a),
        }
    }

    async fn confirm_failure(
        &self,
        subject: &str,
        rules: &Rules,
        now: i64,
        lock_event: &AuditEvent,
    ) -> Result<bool> {
        let mut s = self.lock();
        let Some(rec) = s.throttle.failures.get_mut(subject) else {
            return Ok(false);
        };
        if rec.locked_at.is_some() || !rules.locks(rec.failures) {
            return Ok(false);
        }
        rec.locked_at = Some(now);
        s.events.push(lock_event.clone());
        Ok(true)
    }

    async fn forgive(&self, subject: &str) -> Result<()> {
        let mut s = self.lock();
        if s.throttle
            .failures
            .get(subject)
            .is_some_and(|r| r.locked_at.is_none())
        {
            s.throttle.failures.remove(subject);
        }
        Ok(())
    }

    async fn refund(&self, subject: &str, until: i64) -> Result<()> {
        let mut s = self.lock();
        if let Some(r) = s.throttle.failures.get_mut(subject)
            && r.locked_at.is_none()
        {
            r.failures = r.failures.saturating_sub(1);
            if r.blocked_until == until {
                r.blocked_until = 0;
            }
        }
        Ok(())
    }

    async fn unlock(&self, subject: &str, event: &AuditEvent) -> Result<()> {
        let mut s = self.lock();
        if s.throttle
            .failures
            .get(subject)
            .is_none_or(|r| r.locked_at.is_none())
        {
            return Err(Error::NotFound);
        }
        s.throttle.failures.remove(subject);
        s.events.push(event.clone());
        Ok(())
    }

    async fn clear(&self, subject: &str) -> Result<()> {
        self.lock().throttle.failures.remove(subject);
        Ok(())
    }

    async fn failures(&self, subject: &str) -> Result<Option<FailureRecord>> {
        Ok(self.lock().throttle.failures.get(subject).cloned())
    }

    async fn locked(&self, after: Option<&str>, limit: u32) -> Result<Vec<FailureRecord>> {
        let s = self.lock();
        let mut locked: Vec<FailureRecord> = s
            .throttle
            .failures
            .values()
            .filter(|r| r.locked_at.is_some())
            .cloned()
            .collect();
        locked.sort_by(|a, b| (a.locked_at, &a.subject).cmp(&(b.locked_at, &b.subject)));
        if let Some(after) = after {
            let at = locked
                .iter()
                .position(|r| r.subject == after)
                .map_or(0, |i| i + 1);
            locked.drain(..at);
        }
        locked.truncate(limit as usize);
        Ok(locked)
    }

    async fn prune(&self, before: i64) -> Result<u64> {
        let mut s = self.lock();
        let t = &mut s.throttle;
        let n = t.failures.len() + t.windows.len();
        t.failures
            .retain(|_, r| r.locked_at.is_some() || r.last_attempt_at >= before);
        t.windows.retain(|_, (start, _)| *start >= before);
        Ok((n - t.failures.len() - t.windows.len()) as u64)
    }

    async fn hit(&self, key: &str, window: i64) -> Result<u64> {
        let mut s = self.lock();
        let w = s
            .throttle
            .windows
            .entry(key.to_owned())
            .or_insert((window, 0));
        if w.0 != window {
            *w = (window, 0);
        }
        w.1 += 1;
        Ok(w.1)
    }
}
