//! Against a real Kafka-protocol broker (STRONGROOM_TEST_KAFKA_BROKERS, started by
//! scripts/services.sh). Skipped with a note when unset, unless STRONGROOM_TEST_REQUIRE_SERVICES=1.
#![cfg(feature = "kafka")]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use strongroom_audit::{
    Actor, AuditEvent, AuditLog, AuditQuery, AuditRecord, AuditStore, ChainHead, ChainId,
    Checkpoint, CheckpointSigner, Error, EventPublisher, IngestConfig, KafkaIngester,
    KafkaPublisher, MemoryAuditStore, Resource, Result, Uuid,
};

fn brokers() -> Option<String> {
    let require = std::env::var("STRONGROOM_TEST_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
    match std::env::var("STRONGROOM_TEST_KAFKA_BROKERS") {
        Ok(b) if !b.is_empty() => Some(b),
        _ => {
            assert!(
                !require,
                "STRONGROOM_TEST_KAFKA_BROKERS is unset but STRONGROOM_TEST_REQUIRE_SERVICES=1"
            );
            eprintln!("note: Kafka test skipped: STRONGROOM_TEST_KAFKA_BROKERS is unset");
            None
        }
    }
}

async fn create_topic(brokers: &str, partitions: i32) -> String {
    let topic = format!("audit-test-{}", Uuid::now_v7().simple());
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .expect("admin client");
    let results = admin
        .create_topics(
            &[NewTopic::new(
                &topic,
                partitions,
                TopicReplication::Fixed(1),
            )],
            &AdminOptions::new(),
        )
        .await
        .unwrap_or_else(|e| panic!("the broker at {brokers} is unreachable: {e}"));
    for r in results {
        r.unwrap_or_else(|(t, e)| panic!("creating topic {t}: {e}"));
    }
    topic
}

fn event(resource: &str, i: usize) -> AuditEvent {
    AuditEvent::builder(
        Actor::User("alice".into()),
        "file.updated",
        Resource::new("file", resource).unwrap(),
    )
    .attribute("i", i)
    .build()
    .unwrap()
}

fn log(store: Arc<dyn AuditStore>) -> AuditLog {
    AuditLog::builder(
        store,
        ChainId::new("kafka").unwrap(),
        CheckpointSigner::from_seed(&[5; 32]),
    )
    .build()
}

/// Ingests until `want` events are stored or 90 s pass.
async fn ingest_until(ingester: &KafkaIngester, want: u64) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while ingester.metrics().stored < want {
        assert!(
            Instant::now() < deadline,
            "stored {} of {want} events: {:?}",
            ingester.metrics().stored,
            ingester.last_error()
        );
        let _ = ingester.ingest_batch(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn published_events_are_ingested_once_in_per_resource_order() {
    let Some(brokers) = brokers() else { return };
    let topic = create_topic(&brokers, 3).await;
    let publisher = KafkaPublisher::new(&brokers, &topic).unwrap();
    let events: Vec<AuditEvent> = (0..60).map(|i| event(&format!("r{}", i % 5), i)).collect();
    publisher.publish(&events).await.unwrap();

    // Key and headers, as seen by a plain consumer.
    let raw: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .set("group.id", format!("raw-{}", Uuid::now_v7().simple()))
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    raw.subscribe(&[&topic]).unwrap();
    let message = tokio::time::timeout(Duration::from_secs(60), raw.recv())
        .await
        .expect("a message")
        .unwrap();
    let decoded =
        AuditEvent::from_cloudevent_json(std::str::from_utf8(message.payload().unwrap()).unwrap())
            .unwrap();
    assert_eq!(message.key(), Some(decoded.resource().id.as_bytes()));
    let headers: HashMap<String, String> = message
        .headers()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h.key.to_owned(),
                String::from_utf8(h.value.unwrap().to_vec()).unwrap(),
            )
        })
        .collect();
    assert_eq!(headers["ce_id"], decoded.id().to_string());
    assert_eq!(headers["ce_type"], "file.updated");
    assert_eq!(headers["content-type"], "application/cloudevents+json");
    drop(message);
    drop(raw);

    let store = Arc::new(MemoryAuditStore::new());
    let log = log(store.clone());
    let group = format!("ingest-{}", Uuid::now_v7().simple());
    let ingester = KafkaIngester::new(
        &brokers,
        &group,
        &topic,
        log.clone(),
        IngestConfig {
            batch_size: 25,
            ..IngestConfig::default()
        },
    )
    .unwrap();
    ingest_until(&ingester, 60).await;
    let records = store.read(log.chain(), 1, 1000).await.unwrap();
    assert_eq!(records.len(), 60);
    log.verify(..).await.unwrap();
    // Per-resource order survives the partitioning.
    for r in 0..5 {
        let resource = format!("r{r}");
        let published: Vec<Uuid> = events
            .iter()
            .filter(|e| e.resource().id == resource)
            .map(AuditEvent::id)
            .collect();
        let stored: Vec<Uuid> = records
            .iter()
            .filter(|rec| rec.event.resource().id == resource)
            .map(|rec| rec.event.id())
            .collect();
        assert_eq!(stored, published, "{resource}");
    }

    // The producer's caller retries a whole batch (at-least-once): the duplicates are dropped.
    publisher.publish(&events[..10]).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    while ingester.metrics().duplicates < 10 {
        assert!(
            Instant::now() < deadline,
            "duplicates not seen: {:?}",
            ingester.metrics()
        );
        ingester
            .ingest_batch(Duration::from_millis(500))
            .await
            .unwrap();
    }
    assert_eq!(log.head().await.unwrap().seq, 60);
    assert_eq!(ingester.metrics().stored, 60);
}

/// Stores the batch, then reports a failure, as when the database commits but the connection
/// drops before the acknowledgement arrives.
#[derive(Debug)]
struct AckLostStore {
    inner: MemoryAuditStore,
    lose_next_ack: AtomicBool,
}

#[async_trait]
impl AuditStore for AckLostStore {
    async fn head(&self, chain: &ChainId) -> Result<ChainHead> {
        self.inner.head(chain).await
    }
    async fn signed_head(&self, chain: &ChainId) -> Result<Option<Checkpoint>> {
        self.inner.signed_head(chain).await
    }
    async fn append(
        &self,
        chain: &ChainId,
        records: &[AuditRecord],
        head: &Checkpoint,
    ) -> Result<()> {
        self.inner.append(chain, records, head).await?;
        if self.lose_next_ack.swap(false, Ordering::SeqCst) {
            return Err(Error::Publish {
                reason: "connection reset after commit".into(),
                retryable: true,
            });
        }
        Ok(())
    }
    async fn read(&self, chain: &ChainId, from_seq: u64, limit: usize) -> Result<Vec<AuditRecord>> {
        self.inner.read(chain, from_seq, limit).await
    }
    async fn query(&self, chain: &ChainId, query: &AuditQuery) -> Result<Vec<AuditRecord>> {
        self.inner.query(chain, query).await
    }
    async fn existing_ids(&self, chain: &ChainId, ids: &[Uuid]) -> Result<Vec<Uuid>> {
        self.inner.existing_ids(chain, ids).await
    }
    async fn put_checkpoint(&self, checkpoint: &Checkpoint) -> Result<()> {
        self.inner.put_checkpoint(checkpoint).await
    }
    async fn checkpoints(&self, chain: &ChainId, from: u64, to: u64) -> Result<Vec<Checkpoint>> {
        self.inner.checkpoints(chain, from, to).await
    }
    async fn latest_checkpoint(&self, chain: &ChainId) -> Result<Option<Checkpoint>> {
        self.inner.latest_checkpoint(chain).await
    }
    async fn anchor(&self, chain: &ChainId) -> Result<Option<Checkpoint>> {
        self.inner.anchor(chain).await
    }
    async fn prune(&self, anchor: &Checkpoint) -> Result<u64> {
        self.inner.prune(anchor).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_store_and_commit_redelivers_and_stores_once() {
    let Some(brokers) = brokers() else { return };
    let topic = create_topic(&brokers, 1).await;
    let events: Vec<AuditEvent> = (0..20).map(|i| event("doc", i)).collect();
    KafkaPublisher::new(&brokers, &topic)
        .unwrap()
        .publish(&events)
        .await
        .unwrap();

    let store = Arc::new(AckLostStore {
        inner: MemoryAuditStore::new(),
        lose_next_ack: AtomicBool::new(true),
    });
    let log = log(store.clone());
    let group = format!("crash-{}", Uuid::now_v7().simple());
    let config = IngestConfig {
        batch_size: 100,
        batch_wait: Duration::from_millis(500),
    };
    {
        let doomed =
            KafkaIngester::new(&brokers, &group, &topic, log.clone(), config.clone()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            assert!(
                Instant::now() < deadline,
                "the first ingester never saw the batch"
            );
            match doomed.ingest_batch(Duration::from_millis(500)).await {
                Err(_) => break,
                Ok(batch) => assert_eq!(batch.received, 0, "the first batch must fail"),
            }
        }
        assert_eq!(doomed.metrics().store_failures, 1);
        // The process dies here: the events are stored, their offsets are not committed.
    }
    assert!(log.head().await.unwrap().seq > 0);

    let survivor = KafkaIngester::new(&brokers, &group, &topic, log.clone(), config).unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut redelivered = 0;
    while redelivered < 20 {
        assert!(
            Instant::now() < deadline,
            "redelivery not seen: {:?}",
            survivor.metrics()
        );
        let batch = survivor
            .ingest_batch(Duration::from_millis(500))
            .await
            .unwrap();
        redelivered += batch.duplicates + batch.stored;
    }
    assert_eq!(log.head().await.unwrap().seq, 20);
    assert_eq!(
        (survivor.metrics().duplicates, survivor.metrics().stored),
        (20, 0),
        "redelivered, stored once"
    );
    let stored = store.read(log.chain(), 1, 100).await.unwrap();
    assert_eq!(
        stored.iter().map(|r| r.event.id()).collect::<Vec<_>>(),
        events.iter().map(AuditEvent::id).collect::<Vec<_>>()
    );
    log.verify(..).await.unwrap();
}

#[tokio::test]
async fn bad_configuration_is_refused() {
    assert!(matches!(
        KafkaPublisher::new("", "t"),
        Err(Error::Invalid { .. })
    ));
    assert!(matches!(
        KafkaPublisher::new("127.0.0.1:9092", "bad topic"),
        Err(Error::Invalid { .. })
    ));
    assert!(matches!(
        KafkaPublisher::new("127.0.0.1:9092", ""),
        Err(Error::Invalid { .. })
    ));
    assert!(matches!(
        KafkaPublisher::with_options(
            "127.0.0.1:9092",
            "t",
            Duration::from_secs(1),
            &[("acks", "0")]
        ),
        Err(Error::Invalid { .. })
    ));
    assert!(matches!(
        KafkaPublisher::with_options(
            "127.0.0.1:9092",
            "t",
            Duration::from_secs(1),
            &[("no.such.setting", "1")]
        ),
        Err(Error::Invalid { .. })
    ));
    let log = log(Arc::new(MemoryAuditStore::new()));
    let zero = IngestConfig {
        batch_size: 0,
        ..IngestConfig::default()
    };
    assert!(matches!(
        KafkaIngester::new("127.0.0.1:9092", "g", "t", log.clone(), zero),
        Err(Error::Invalid { .. })
    ));
    assert!(matches!(
        KafkaIngester::new("127.0.0.1:9092", "", "t", log, IngestConfig::default()),
        Err(Error::Invalid { .. })
    ));
}

/// The broker is unreachable: events wait in the outbox; when it is back they flow through Kafka
/// into the audit log, none lost.
#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_outage_events_wait_in_the_outbox_then_flow() {
    use strongroom_audit::{ManualClock, Outbox, OutboxRelay, SqliteOutbox, Timestamp};

    let Some(brokers) = brokers() else { return };
    let topic = create_topic(&brokers, 2).await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("app.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    let clock = ManualClock::new(Timestamp::now());
    let outbox = Arc::new(
        SqliteOutbox::new(pool.clone())
            .await
            .unwrap()
            .with_clock(Arc::new(clock.clone())),
    );
    let events: Vec<AuditEvent> = (0..30).map(|i| event(&format!("o{}", i % 4), i)).collect();
    let mut tx = pool.begin().await.unwrap();
    for e in &events {
        outbox.enqueue(&mut tx, e).await.unwrap();
    }
    tx.commit().await.unwrap();

    // Nothing listens on port 1: every delivery times out.
    let dead =
        KafkaPublisher::with_options("127.0.0.1:1", &topic, Duration::from_millis(1500), &[])
            .unwrap();
    let relay =
        OutboxRelay::new(outbox.clone(), Arc::new(dead)).with_clock(Arc::new(clock.clone()));
    let batch = relay.run_once().await.unwrap();
    assert_eq!((batch.claimed, batch.failed), (30, 30));
    // The events wait: backed off (not retried at once) and still in the outbox.
    assert_eq!(relay.run_once().await.unwrap().claimed, 0);
    assert_eq!(outbox.pending().await.unwrap(), 30);

    clock.advance(Duration::from_secs(10));
    // They have waited as long as the outage lasted (by the injected clock), none lost.
    let lag = outbox.lag().await.unwrap();
    assert!(
        (Duration::from_secs(10)..Duration::from_secs(11)).contains(&lag),
        "{lag:?}"
    );
    let live = KafkaPublisher::new(&brokers, &topic).unwrap();
    let relay =
        OutboxRelay::new(outbox.clone(), Arc::new(live)).with_clock(Arc::new(clock.clone()));
    assert_eq!(relay.run_once().await.unwrap().published, 30);
    assert_eq!(outbox.backlog().await.unwrap().pending, 0);
    assert_eq!(outbox.lag().await.unwrap(), Duration::ZERO);

    let store = Arc::new(MemoryAuditStore::new());
    let log = log(store.clone());
    let group = format!("outage-{}", Uuid::now_v7().simple());
    let ingester = KafkaIngester::new(
        &brokers,
        &group,
        &topic,
        log.clone(),
        IngestConfig::default(),
    )
    .unwrap();
    ingest_until(&ingester, 30).await;
    let mut stored: Vec<Uuid> = store
        .read(log.chain(), 1, 100)
        .await
        .unwrap()
        .iter()
        .map(|r| r.event.id())
        .collect();
    let mut expected: Vec<Uuid> = events.iter().map(AuditEvent::id).collect();
    stored.sort();
    expected.sort();
    assert_eq!(stored, expected);
}
