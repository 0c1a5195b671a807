use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use uuid::Uuid;

use super::{Backlog, Outbox, OutboxEntry, check_claim, error_excerpt};
use crate::clock::{Clock, SystemClock, add, truncate};
use crate::{AuditEvent, Error, Result};

/// An [`Outbox`] in memory: for tests, and for a single process that wants the relay's retries
/// and backoff without a database (events are lost when it is dropped, so it is no
/// *transactional* outbox). Clones share the same rows.
#[derive(Debug, Clone)]
pub struct MemoryOutbox {
    state: Arc<Mutex<State>>,
    clock: Arc<dyn Clock>,
}

#[derive(Debug, Default)]
struct State {
    next_id: i64,
    rows: BTreeMap<i64, Row>,
    ids: HashSet<Uuid>,
}

#[derive(Debug)]
struct Row {
    event: AuditEvent,
    created: Timestamp,
    attempts: u32,
    next_attempt: Timestamp,
    claimed_by: Option<String>,
    claimed_until: Option<Timestamp>,
    last_error: Option<String>,
}

impl Default for MemoryOutbox {
    fn default() -> Self {
        MemoryOutbox {
            state: Arc::default(),
            clock: Arc::new(SystemClock),
        }
    }
}

impl MemoryOutbox {
    /// An empty outbox on the system clock.
    pub fn new() -> MemoryOutbox {
        MemoryOutbox::default()
    }

    /// Replaces the clock stamped on enqueued rows.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> MemoryOutbox {
        self.clock = clock;
        self
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds `event`; an event id already waiting gives [`Error::DuplicateEvent`].
    pub async fn enqueue(&self, event: &AuditEvent) -> Result<()> {
        let now = truncate(self.clock.now());
        let mut state = self.state();
        if !state.ids.insert(event.id()) {
            return Err(Error::DuplicateEvent { id: event.id() });
        }
        state.next_id += 1;
        let id = state.next_id;
        state.rows.insert(
            id,
            Row {
                event: event.clone(),
                created: now,
                attempts: 0,
                next_attempt: now,
                claimed_by: None,
                claimed_until: None,
                last_error: None,
            },
        );
        Ok(())
    }

    /// Events waiting to be published.
    pub async fn pending(&self) -> Result<u64> {
        Ok(self.backlog().await?.pending)
    }

    /// How long the oldest waiting event has waited.
    pub async fn lag(&self) -> Result<Duration> {
        Ok(self.backlog().await?.lag(self.clock.now()))
    }

    /// The error of the last failed publish of the row `id`, if any.
    pub fn last_error(&self, id: i64) -> Option<String> {
        self.state()
            .rows
            .get(&id)
            .and_then(|r| r.last_error.clone())
    }
}

#[async_trait]
impl Outbox for MemoryOutbox {
    async fn claim(
        &self,
        relay: &str,
        now: Timestamp,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>> {
        check_claim(relay, limit, lease)?;
        let until = truncate(add(now, lease));
        let mut state = self.state();
        let mut claimed = Vec::new();
        for (id, row) in state.rows.iter_mut() {
            if claimed.len() == limit {
                break;
            }
            let due = row.next_attempt <= now && row.claimed_until.is_none_or(|t| t <= now);
            if due {
                row.claimed_by = Some(relay.to_owned());
                row.claimed_until = Some(until);
                row.attempts = row.attempts.saturating_add(1);
                claimed.push(OutboxEntry {
                    id: *id,
                    event: row.event.clone(),
                    attempts: row.attempts,
                });
            }
        }
        Ok(claimed)
    }

    async fn complete(&self, relay: &str, ids: &[i64]) -> Result<u64> {
        let mut state = self.state();
        let mut done = 0;
        for id in ids {
            if state
                .rows
                .get(id)
                .is_some_and(|r| r.claimed_by.as_deref() == Some(relay))
                && let Some(row) = state.rows.remove(id)
            {
                state.ids.remove(&row.event.id());
                done += 1;
            }
        }
        Ok(done)
    }

    async fn retry_at(&self, relay: &str, ids: &[i64], at: Timestamp, error: &str) -> Result<()> {
        let mut state = self.state();
        for id in ids {
            if let Some(row) = state.rows.get_mut(id)
                && row.claimed_by.as_deref() == Some(relay)
            {
                row.claimed_by = None;
                row.claimed_until = None;
                row.next_attempt = truncate(at);
                row.last_error = Some(error_excerpt(error));
            }
        }
        Ok(())
    }

    async fn backlog(&self) -> Result<Backlog> {
        let state = self.state();
        Ok(Backlog {
            pending: state.rows.len() as u64,
            oldest: state.rows.values().map(|r| r.created).min(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::MemoryOutbox;
    use crate::conformance::outbox::{self as suite, EnqueueFn};
    use crate::{Clock, DynOutbox, Error};

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn relay_suite_memory() {
        let clock = suite::clock();
        let outbox = MemoryOutbox::new().with_clock(Arc::new(clock.clone()) as Arc<dyn Clock>);
        let o = outbox.clone();
        let enqueue: EnqueueFn = Arc::new(move |events| {
            let o = o.clone();
            Box::pin(async move {
                for e in &events {
                    o.enqueue(e).await.unwrap();
                }
            })
        });
        let dynamic: Arc<DynOutbox> = Arc::new(outbox.clone());
        suite::run_all(dynamic, enqueue, clock).await;
        let event = suite::event(1);
        outbox.enqueue(&event).await.unwrap();
        assert!(matches!(
            outbox.enqueue(&event).await,
            Err(Error::DuplicateEvent { .. })
        ));
        assert_eq!(outbox.pending().await.unwrap(), 1);
    }
}
