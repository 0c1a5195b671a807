use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;

use crate::clock::{Clock, Sleeper, SystemClock, TokioSleeper, add};
use crate::{AuditEvent, DynEventPublisher, Error, Result};

pub(crate) mod memory;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) mod sql;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;

/// The most rows one claim may take.
pub const MAX_CLAIM: usize = 10_000;

/// One event waiting in an outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEntry {
    /// The row id (ascending in insertion order).
    pub id: i64,
    /// The event.
    pub event: AuditEvent,
    /// Publish attempts so far, including the current one.
    pub attempts: u32,
}

/// A table of events waiting to be published, written inside the application's own transactions
/// (see `SqliteOutbox::enqueue` / `PostgresOutbox::enqueue`; [`MemoryOutbox`](crate::MemoryOutbox)
/// for tests) and drained by an [`OutboxRelay`]. Every backend runs the suite in
/// `conformance::outbox`.
///
/// Rows are *claimed* with a lease rather than locked for the length of a publish: a relay that
/// dies mid-batch leaves rows that another relay picks up once the lease runs out (at-least-once).
#[async_trait]
pub trait Outbox: Debug + Send + Sync + 'static {
    /// Claims up to `limit` due, unclaimed (or lease-expired) rows for `relay` until
    /// `now + lease`, oldest first, counting an attempt on each.
    async fn claim(
        &self,
        relay: &str,
        now: Timestamp,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>>;

    /// Deletes published rows still claimed by `relay`; returns how many.
    async fn complete(&self, relay: &str, ids: &[i64]) -> Result<u64>;

    /// Releases rows claimed by `relay` after a failed publish, due again at `at`.
    async fn retry_at(&self, relay: &str, ids: &[i64], at: Timestamp, error: &str) -> Result<()>;

    /// How many rows wait, and the creation time of the oldest.
    async fn backlog(&self) -> Result<Backlog>;
}

/// `dyn Outbox`, for `Arc<DynOutbox>`.
pub type DynOutbox = dyn Outbox;

/// What is waiting in an outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backlog {
    /// Rows not yet published.
    pub pending: u64,
    /// When the oldest of them was enqueued.
    pub oldest: Option<Timestamp>,
}

impl Backlog {
    /// How long the oldest pending event has waited at `now` (zero when nothing waits).
    pub fn lag(&self, now: Timestamp) -> Duration {
        self.oldest
            .map(|t| now.duration_since(t))
            .and_then(|d| Duration::try_from(d).ok())
            .unwrap_or(Duration::ZERO)
    }
}

/// Exponential backoff between publish attempts of a row, with ±20 % jitter, capped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay after the first failure.
    pub initial: Duration,
    /// Largest delay.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(300),
        }
    }
}

impl Backoff {
    /// The delay after `attempts` failures (≥ 1), jittered.
    pub fn delay(&self, attempts: u32) -> Duration {
        let exp = attempts.saturating_sub(1).min(30);
        let base = self.initial.saturating_mul(1u32 << exp).min(self.max);
        let jitter = rand::random_range(0.8..=1.2);
        base.mul_f64(jitter).min(self.max)
    }
}

/// Settings of an [`OutboxRelay`].
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Rows claimed and published per batch (1 to [`MAX_CLAIM`]; default 500).
    pub batch_size: usize,
    /// How long a claim lasts before another relay may take the rows (default 30 s). Must exceed
    /// the time a publish takes, or rows are published twice.
    pub lease: Duration,
    /// Retry delays of a failing row.
    pub backoff: Backoff,
    /// Wait between polls when the outbox is empty (default 200 ms).
    pub idle_wait: Duration,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            batch_size: 500,
            lease: Duration::from_secs(30),
            backoff: Backoff::default(),
            idle_wait: Duration::from_millis(200),
        }
    }
}

/// What one [`OutboxRelay::run_once`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RelayBatch {
    /// Rows claimed.
    pub claimed: usize,
    /// Rows published and removed.
    pub published: usize,
    /// Rows whose publish failed and were scheduled for a retry.
    pub failed: usize,
}

/// Counters of an [`OutboxRelay`] since it was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RelayMetrics {
    /// Events published.
    pub published: u64,
    /// Events whose publish attempt failed (each failure counted).
    pub failed_attempts: u64,
    /// Batches attempted.
    pub batches: u64,
    /// Errors reading or writing the outbox itself (database unavailable ...).
    pub outbox_errors: u64,
}

#[derive(Debug, Default)]
struct Counters {
    published: AtomicU64,
    failed_attempts: AtomicU64,
    batches: AtomicU64,
    outbox_errors: AtomicU64,
}

/// Moves events from an [`Outbox`] to an [`EventPublisher`](crate::EventPublisher): claim a batch,
/// publish it, delete it; on failure schedule a retry with backoff. Run several relays (processes
/// or tasks) for throughput and availability: claims never overlap while leases hold.
#[derive(Debug, Clone)]
pub struct OutboxRelay {
    id: String,
    outbox: Arc<DynOutbox>,
    publisher: Arc<DynEventPublisher>,
    clock: Arc<dyn Clock>,
    sleeper: Arc<dyn Sleeper>,
    config: RelayConfig,
    counters: Arc<Counters>,
}

impl OutboxRelay {
    /// A relay with a fresh id, the system clock and default settings.
    pub fn new(outbox: Arc<DynOutbox>, publisher: Arc<DynEventPublisher>) -> OutboxRelay {
        OutboxRelay {
            id: format!("relay-{}", uuid::Uuid::now_v7()),
            outbox,
            publisher,
            clock: Arc::new(SystemClock),
            sleeper: Arc::new(TokioSleeper),
            config: RelayConfig::default(),
            counters: Arc::default(),
        }
    }

    /// Replaces the settings; refuses a batch size outside 1 to [`MAX_CLAIM`] or a zero lease.
    pub fn with_config(mut self, config: RelayConfig) -> Result<OutboxRelay> {
        if !(1..=MAX_CLAIM).contains(&config.batch_size) {
            return Err(Error::invalid(
                "batch size",
                format!("must be 1 to {MAX_CLAIM}"),
            ));
        }
        if config.lease.is_zero() || config.backoff.initial.is_zero() {
            return Err(Error::invalid(
                "relay config",
                "lease and initial backoff must be positive",
            ));
        }
        self.config = config;
        Ok(self)
    }

    /// Replaces the clock (leases, retry times).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> OutboxRelay {
        self.clock = clock;
        self
    }

    /// Replaces the sleeper used by [`run`](Self::run) between polls.
    #[must_use]
    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> OutboxRelay {
        self.sleeper = sleeper;
        self
    }

    /// This relay's id, as written in the rows it claims.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Counters since creation.
    pub fn metrics(&self) -> RelayMetrics {
        let c = &self.counters;
        RelayMetrics {
            published: c.published.load(Ordering::Relaxed),
            failed_attempts: c.failed_attempts.load(Ordering::Relaxed),
            batches: c.batches.load(Ordering::Relaxed),
            outbox_errors: c.outbox_errors.load(Ordering::Relaxed),
        }
    }

    /// Claims, publishes and completes one batch. A publish failure is not an error here (the rows
    /// are rescheduled and counted in [`RelayBatch::failed`]); an outbox (database) failure is.
    pub async fn run_once(&self) -> Result<RelayBatch> {
        let now = self.clock.now();
        let entries = self
            .outbox
            .claim(&self.id, now, self.config.lease, self.config.batch_size)
            .await
            .inspect_err(|_| {
                self.counters.outbox_errors.fetch_add(1, Ordering::Relaxed);
            })?;
        if entries.is_empty() {
            return Ok(RelayBatch::default());
        }
        self.counters.batches.fetch_add(1, Ordering::Relaxed);
        let ids: Vec<i64> = entries.iter().map(|e| e.id).collect();
        let events: Vec<AuditEvent> = entries.iter().map(|e| e.event.clone()).collect();
        let result = match self.publisher.publish(&events).await {
            Ok(()) => {
                self.counters
                    .published
                    .fetch_add(ids.len() as u64, Ordering::Relaxed);
                self.outbox
                    .complete(&self.id, &ids)
                    .await
                    .map(|_| RelayBatch {
                        claimed: ids.len(),
                        published: ids.len(),
                        failed: 0,
                    })
            }
            Err(err) => {
                self.counters
                    .failed_attempts
                    .fetch_add(ids.len() as u64, Ordering::Relaxed);
                let attempts = entries.iter().map(|e| e.attempts).max().unwrap_or(1);
                let at = add(self.clock.now(), self.config.backoff.delay(attempts));
                self.outbox
                    .retry_at(&self.id, &ids, at, &err.to_string())
                    .await
                    .map(|()| RelayBatch {
                        claimed: ids.len(),
                        published: 0,
                        failed: ids.len(),
                    })
            }
        };
        // If completing or rescheduling fails, the lease expires and the rows are retried.
        result.inspect_err(|_| {
            self.counters.outbox_errors.fetch_add(1, Ordering::Relaxed);
        })
    }

    /// Relays until `shutdown` completes: full batches back to back, then polls every
    /// `idle_wait`. Outbox (database) errors are retried after a backoff rather than ending the
    /// loop, so a database outage delays events and loses none.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut outbox_failures = 0u32;
        loop {
            let wait = match self.run_once().await {
                Ok(batch) => {
                    outbox_failures = 0;
                    if batch.claimed == self.config.batch_size && batch.failed == 0 {
                        Duration::ZERO
                    } else {
                        self.config.idle_wait
                    }
                }
                Err(_) => {
                    outbox_failures = outbox_failures.saturating_add(1);
                    self.config.backoff.delay(outbox_failures)
                }
            };
            tokio::select! {
                biased;
                () = &mut shutdown => return,
                () = self.sleeper.sleep(wait) => {}
            }
        }
    }
}

pub(crate) fn check_claim(relay: &str, limit: usize, lease: Duration) -> Result<()> {
    if relay.is_empty() || relay.len() > 200 {
        return Err(Error::invalid("relay id", "must be 1 to 200 bytes"));
    }
    if !(1..=MAX_CLAIM).contains(&limit) {
        return Err(Error::invalid("limit", format!("must be 1 to {MAX_CLAIM}")));
    }
    if lease.is_zero() {
        return Err(Error::invalid("lease", "must be positive"));
    }
    Ok(())
}

/// Shortens a publish error for the `last_error` column.
pub(crate) fn error_excerpt(error: &str) -> String {
    error.chars().take(1000).collect()
}
