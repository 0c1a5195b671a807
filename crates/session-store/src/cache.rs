//! A small bounded cache of session state for `verify_access(.., check_revoked = true)`.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use crate::ids::SessionId;
use crate::model::Session;

/// What the cache remembers about a session.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Snapshot {
    pub(crate) revoked: bool,
    pub(crate) active_until: SystemTime,
    fetched_at: SystemTime,
}

impl Snapshot {
    pub(crate) fn of(session: &Session, fetched_at: SystemTime) -> Self {
        Self {
            revoked: session.revoked_at.is_some(),
            active_until: session.idle_expires_at.min(session.expires_at),
            fetched_at,
        }
    }
}

/// Entries are fresh for `ttl` after they were fetched, except revocations, which are final and
/// stay until evicted. When full, the oldest entry goes first (FIFO).
#[derive(Debug)]
pub(crate) struct SessionCache {
    ttl: Duration,
    capacity: usize,
    inner: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    map: HashMap<SessionId, Snapshot>,
    order: VecDeque<SessionId>,
}

impl SessionCache {
    pub(crate) fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity,
            inner: Mutex::new(Entries::default()),
        }
    }

    fn enabled(&self) -> bool {
        !self.ttl.is_zero() && self.capacity > 0
    }

    pub(crate) fn get(&self, id: &SessionId, now: SystemTime) -> Option<Snapshot> {
        if !self.enabled() {
            return None;
        }
        let entries = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let snapshot = *entries.map.get(id)?;
        let age = now
            .duration_since(snapshot.fetched_at)
            .unwrap_or(Duration::MAX);
        (snapshot.revoked || age < self.ttl).then_some(snapshot)
    }

    pub(crate) fn put(&self, id: &SessionId, snapshot: Snapshot) {
        if !self.enabled() {
            return;
        }
        let mut entries = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(existing) = entries.map.get_mut(id) {
            // A revocation is final: a stale fetch racing it must not resurrect the session.
            let revoked = existing.revoked || snapshot.revoked;
            *existing = Snapshot {
                revoked,
                ..snapshot
            };
            return;
        }
        while entries.map.len() >= self.capacity {
            match entries.order.pop_front() {
                Some(oldest) => {
                    entries.map.remove(&oldest);
                }
                None => break,
            }
        }
        entries.map.insert(id.clone(), snapshot);
        entries.order.push_back(id.clone());
    }

    /// Records a revocation made by this process, so it takes effect here immediately.
    pub(crate) fn mark_revoked(&self, id: &SessionId, now: SystemTime) {
        self.put(
            id,
            Snapshot {
                revoked: true,
                active_until: now,
                fetched_at: now,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn live(at: SystemTime) -> Snapshot {
        Snapshot {
            revoked: false,
            active_until: at + Duration::from_secs(3600),
            fetched_at: at,
        }
    }

    #[test]
    fn entries_expire_after_ttl_but_revocations_do_not() {
        let t0 = UNIX_EPOCH + Duration::from_secs(1_000);
        let cache = SessionCache::new(Duration::from_secs(5), 10);
        let (a, b) = (SessionId::generate(), SessionId::generate());
        cache.put(&a, live(t0));
        cache.mark_revoked(&b, t0);
        assert!(cache.get(&a, t0 + Duration::from_secs(4)).is_some());
        assert!(cache.get(&a, t0 + Duration::from_secs(5)).is_none());
        assert!(
            cache
                .get(&b, t0 + Duration::from_secs(3600))
                .is_some_and(|s| s.revoked)
        );
        cache.put(&b, live(t0 + Duration::from_secs(1)));
        assert!(
            cache.get(&b, t0).is_some_and(|s| s.revoked),
            "revocation is sticky"
        );
    }

    #[test]
    fn capacity_is_bounded_fifo() {
        let t0 = UNIX_EPOCH;
        let cache = SessionCache::new(Duration::from_secs(60), 3);
        let ids: Vec<SessionId> = (0..5).map(|_| SessionId::generate()).collect();
        for id in &ids {
            cache.put(id, live(t0));
        }
        assert!(cache.get(&ids[0], t0).is_none() && cache.get(&ids[1], t0).is_none());
        assert!(ids[2..].iter().all(|id| cache.get(id, t0).is_some()));
        assert_eq!(cache.inner.lock().unwrap().map.len(), 3);
    }

    #[test]
    fn zero_ttl_disables_caching() {
        let cache = SessionCache::new(Duration::ZERO, 10);
        let id = SessionId::generate();
        cache.mark_revoked(&id, UNIX_EPOCH);
        assert!(cache.get(&id, UNIX_EPOCH).is_none());
    }
}
