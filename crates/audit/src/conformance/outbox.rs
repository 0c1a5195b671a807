//! The relay fault suite every [`Outbox`] backend runs (memory, SQLite, PostgreSQL), exposed so
//! that out-of-tree outboxes can run it too. It **writes and drains rows**: point it at a
//! throwaway database whose outbox starts empty. Not a stable API.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;

use crate::{
    Actor, AuditEvent, Error, EventPublisher, ManualClock, ManualSleeper, Resource, Result, Uuid,
};
use crate::{Backlog, DynOutbox, Outbox, OutboxEntry, OutboxRelay, RelayConfig};

/// Enqueues events the way the backend's users do (for SQL outboxes: in a committed
/// transaction).
pub type EnqueueFn =
    Arc<dyn Fn(Vec<AuditEvent>) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// The clock the suite drives (pass the same one to the outbox).
pub fn clock() -> ManualClock {
    ManualClock::new(Timestamp::from_second(1_900_000_000).unwrap())
}

/// The `i`th test event.
pub fn event(i: u32) -> AuditEvent {
    AuditEvent::builder(
        Actor::Service("app".into()),
        "file.uploaded",
        Resource::new("file", format!("f{i}")).unwrap(),
    )
    .attribute("i", i)
    .build()
    .unwrap()
}

/// Records what it is given; can be switched off to simulate a broker outage.
#[derive(Debug, Default)]
struct RecordingPublisher {
    down: AtomicBool,
    events: Mutex<Vec<AuditEvent>>,
    /// When set, the first two publish calls wait for each other. A relay publishes one batch
    /// at a time, so the two calls come from two relays holding two disjoint claims: proof that
    /// relays work side by side, whatever the scheduler does.
    meet: Option<tokio::sync::Barrier>,
    calls: AtomicUsize,
}

impl RecordingPublisher {
    fn ids(&self) -> Vec<Uuid> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .map(AuditEvent::id)
            .collect()
    }
}

#[async_trait]
impl EventPublisher for RecordingPublisher {
    async fn publish(&self, events: &[AuditEvent]) -> Result<()> {
        if self.down.load(Ordering::SeqCst) {
            return Err(Error::Publish {
                reason: "broker unreachable".into(),
                retryable: true,
            });
        }
        if let Some(meet) = &self.meet
            && self.calls.fetch_add(1, Ordering::SeqCst) < 2
        {
            meet.wait().await;
        }
        tokio::task::yield_now().await;
        self.events.lock().unwrap().extend_from_slice(events);
        Ok(())
    }
}

fn relay(
    outbox: Arc<DynOutbox>,
    publisher: Arc<RecordingPublisher>,
    clock: &ManualClock,
    batch: usize,
) -> OutboxRelay {
    OutboxRelay::new(outbox, publisher)
        .with_clock(Arc::new(clock.clone()))
        .with_sleeper(Arc::new(ManualSleeper::new(clock.clone())))
        .with_config(RelayConfig {
            batch_size: batch,
            ..RelayConfig::default()
        })
        .unwrap()
}

async fn drain(relay: &OutboxRelay) {
    while relay.run_once().await.unwrap().claimed > 0 {}
}

/// Runs every test in this module (the outbox must start empty).
pub async fn run_all(outbox: Arc<DynOutbox>, enqueue: EnqueueFn, clock: ManualClock) {
    publishes_everything_in_order(outbox.clone(), enqueue.clone(), &clock).await;
    broker_outage_delays_and_loses_nothing(outbox.clone(), enqueue.clone(), &clock).await;
    crashed_relay_rows_are_reclaimed_after_the_lease(outbox.clone(), enqueue.clone(), &clock).await;
    run_loop_survives_database_errors(outbox.clone(), enqueue.clone(), &clock).await;
    concurrent_relays_publish_each_event_once(
        vec![outbox.clone(), outbox.clone(), outbox],
        enqueue,
        clock,
    )
    .await;
}

async fn publishes_everything_in_order(
    outbox: Arc<DynOutbox>,
    enqueue: EnqueueFn,
    clock: &ManualClock,
) {
    let events: Vec<AuditEvent> = (0..25).map(event).collect();
    enqueue(events.clone()).await;
    let backlog = outbox.backlog().await.unwrap();
    assert_eq!(backlog.pending, 25);
    clock.advance(Duration::from_secs(3));
    assert_eq!(backlog.lag(clock.now_ts()), Duration::from_secs(3));
    let publisher = Arc::new(RecordingPublisher::default());
    let relay = relay(outbox.clone(), publisher.clone(), clock, 10);
    let first = relay.run_once().await.unwrap();
    assert_eq!((first.claimed, first.published, first.failed), (10, 10, 0));
    drain(&relay).await;
    assert_eq!(
        publisher.ids(),
        events.iter().map(AuditEvent::id).collect::<Vec<_>>()
    );
    assert_eq!(*publisher.events.lock().unwrap(), events);
    assert_eq!(
        outbox.backlog().await.unwrap(),
        Backlog {
            pending: 0,
            oldest: None
        }
    );
    let m = relay.metrics();
    assert_eq!((m.published, m.batches, m.failed_attempts), (25, 3, 0));

    for (limit, lease) in [
        (0, Duration::from_secs(1)),
        (crate::MAX_CLAIM + 1, Duration::from_secs(1)),
        (1, Duration::ZERO),
    ] {
        let err = outbox
            .claim("r", clock.now_ts(), lease, limit)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Invalid { .. }), "{err}");
    }
    assert!(matches!(
        outbox
            .claim("", clock.now_ts(), Duration::from_secs(1), 1)
            .await,
        Err(Error::Invalid { .. })
    ));
}

async fn broker_outage_delays_and_loses_nothing(
    outbox: Arc<DynOutbox>,
    enqueue: EnqueueFn,
    clock: &ManualClock,
) {
    let events: Vec<AuditEvent> = (100..120).map(event).collect();
    enqueue(events.clone()).await;
    let publisher = Arc::new(RecordingPublisher::default());
    publisher.down.store(true, Ordering::SeqCst);
    let relay = relay(outbox.clone(), publisher.clone(), clock, 50);
    let batch = relay.run_once().await.unwrap();
    assert_eq!((batch.claimed, batch.failed), (20, 20));
    // Backed off: not due yet, so nothing is claimed, and nothing was lost.
    assert_eq!(relay.run_once().await.unwrap().claimed, 0);
    assert_eq!(outbox.backlog().await.unwrap().pending, 20);
    // Second failure after the first backoff (initial 1 s, ±20 %).
    clock.advance(Duration::from_millis(1300));
    assert_eq!(relay.run_once().await.unwrap().failed, 20);
    clock.advance(Duration::from_millis(1300));
    assert_eq!(
        relay.run_once().await.unwrap().claimed,
        0,
        "the second backoff is about 2 s"
    );
    // The broker comes back.
    publisher.down.store(false, Ordering::SeqCst);
    clock.advance(Duration::from_secs(2));
    let batch = relay.run_once().await.unwrap();
    assert_eq!(batch.published, 20);
    assert_eq!(
        publisher.ids(),
        events.iter().map(AuditEvent::id).collect::<Vec<_>>()
    );
    assert_eq!(outbox.backlog().await.unwrap().pending, 0);
    assert_eq!(relay.metrics().failed_attempts, 40);
}

async fn crashed_relay_rows_are_reclaimed_after_the_lease(
    outbox: Arc<DynOutbox>,
    enqueue: EnqueueFn,
    clock: &ManualClock,
) {
    let events: Vec<AuditEvent> = (200..205).map(event).collect();
    enqueue(events.clone()).await;
    // A relay claims the rows, publishes them, and dies before deleting them.
    let lease = RelayConfig::default().lease;
    let claimed = outbox
        .claim("crashed-relay", clock.now_ts(), lease, 100)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 5);
    assert!(claimed.iter().all(|e| e.attempts == 1));
    let publisher = Arc::new(RecordingPublisher::default());
    let survivor = relay(outbox.clone(), publisher.clone(), clock, 100);
    assert_eq!(
        survivor.run_once().await.unwrap().claimed,
        0,
        "the lease still holds"
    );
    clock.advance(lease + Duration::from_secs(1));
    let batch = survivor.run_once().await.unwrap();
    assert_eq!(batch.published, 5);
    assert_eq!(
        publisher.ids(),
        events.iter().map(AuditEvent::id).collect::<Vec<_>>()
    );
    // The crashed relay's late completion must not delete anything now.
    assert_eq!(
        outbox
            .complete(
                "crashed-relay",
                &claimed.iter().map(|e| e.id).collect::<Vec<_>>()
            )
            .await
            .unwrap(),
        0
    );
    assert_eq!(outbox.backlog().await.unwrap().pending, 0);
}

/// Fails the first `failures` claims as an unavailable database would.
#[derive(Debug)]
struct FlakyOutbox {
    inner: Arc<DynOutbox>,
    failures: AtomicUsize,
}

#[async_trait]
impl Outbox for FlakyOutbox {
    async fn claim(
        &self,
        relay: &str,
        now: Timestamp,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>> {
        if self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(Error::unavailable(
                "claiming outbox rows",
                std::io::Error::other("connection refused"),
            ));
        }
        self.inner.claim(relay, now, lease, limit).await
    }
    async fn complete(&self, relay: &str, ids: &[i64]) -> Result<u64> {
        self.inner.complete(relay, ids).await
    }
    async fn retry_at(&self, relay: &str, ids: &[i64], at: Timestamp, error: &str) -> Result<()> {
        self.inner.retry_at(relay, ids, at, error).await
    }
    async fn backlog(&self) -> Result<Backlog> {
        self.inner.backlog().await
    }
}

async fn run_loop_survives_database_errors(
    outbox: Arc<DynOutbox>,
    enqueue: EnqueueFn,
    clock: &ManualClock,
) {
    let events: Vec<AuditEvent> = (300..340).map(event).collect();
    enqueue(events.clone()).await;
    let flaky: Arc<DynOutbox> = Arc::new(FlakyOutbox {
        inner: outbox.clone(),
        failures: AtomicUsize::new(3),
    });
    let publisher = Arc::new(RecordingPublisher::default());
    let sleeper = ManualSleeper::new(clock.clone());
    let relay = relay(flaky, publisher.clone(), clock, 15).with_sleeper(Arc::new(sleeper.clone()));
    let done = {
        let publisher = publisher.clone();
        async move {
            while publisher.events.lock().unwrap().len() < 40 {
                tokio::task::yield_now().await;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), relay.run(done))
        .await
        .expect("relay delivered everything");
    assert_eq!(
        publisher.ids(),
        events.iter().map(AuditEvent::id).collect::<Vec<_>>()
    );
    assert_eq!(relay.metrics().outbox_errors, 3);
    // It backed off after each database error instead of spinning.
    assert!(
        sleeper
            .slept()
            .iter()
            .take(3)
            .all(|d| *d >= Duration::from_millis(800)),
        "{:?}",
        sleeper.slept()
    );
    assert_eq!(outbox.backlog().await.unwrap().pending, 0);
}

/// Several relays draining one outbox at once publish every event exactly once.
pub async fn concurrent_relays_publish_each_event_once(
    outboxes: Vec<Arc<DynOutbox>>,
    enqueue: EnqueueFn,
    clock: ManualClock,
) {
    let events: Vec<AuditEvent> = (1000..1300).map(event).collect();
    for chunk in events.chunks(50) {
        enqueue(chunk.to_vec()).await;
    }
    // The first two batches meet in the publisher: a fast outbox (memory) on a busy machine is
    // otherwise drained by the first relay before the others run.
    let publisher = Arc::new(RecordingPublisher {
        meet: Some(tokio::sync::Barrier::new(2)),
        ..RecordingPublisher::default()
    });
    let mut tasks = Vec::new();
    let start = Arc::new(tokio::sync::Barrier::new(outboxes.len() * 2));
    for outbox in &outboxes {
        for _ in 0..2 {
            let relay = relay(outbox.clone(), publisher.clone(), &clock, 7);
            let start = start.clone();
            tasks.push(tokio::spawn(async move {
                start.wait().await;
                loop {
                    let batch = relay.run_once().await.unwrap();
                    if batch.claimed == 0 {
                        return relay.metrics().published;
                    }
                }
            }));
        }
    }
    let mut total = 0;
    let mut relays_that_worked = 0;
    for task in tasks {
        let published = task.await.unwrap();
        total += published;
        relays_that_worked += usize::from(published > 0);
    }
    let mut counts: HashMap<Uuid, usize> = HashMap::new();
    for id in publisher.ids() {
        *counts.entry(id).or_default() += 1;
    }
    assert_eq!(total, 300);
    assert_eq!(counts.len(), 300);
    assert!(
        counts.values().all(|&n| n == 1),
        "an event was published twice"
    );
    assert!(events.iter().all(|e| counts.contains_key(&e.id())));
    assert!(relays_that_worked >= 2, "the relays should share the work");
    assert_eq!(outboxes[0].backlog().await.unwrap().pending, 0);
}

trait NowTs {
    fn now_ts(&self) -> Timestamp;
}

impl NowTs for ManualClock {
    fn now_ts(&self) -> Timestamp {
        crate::Clock::now(self)
    }
}
