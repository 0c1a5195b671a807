//! Kafka publishing and ingestion (feature `kafka`).

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use rdkafka::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Header, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use rdkafka::{Offset, TopicPartitionList};

use crate::{AuditEvent, AuditLog, CLOUDEVENTS_CONTENT_TYPE, Error, EventPublisher, Result};

/// Kafka header carrying the event id (the CloudEvents Kafka binding's name).
pub const HEADER_EVENT_ID: &str = "ce_id";
/// Kafka header carrying the event type, i.e. the action.
pub const HEADER_EVENT_TYPE: &str = "ce_type";

fn check_topic(topic: &str) -> Result<()> {
    let ok = !topic.is_empty()
        && topic.len() <= 249
        && topic != "."
        && topic != ".."
        && topic
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "topic",
            "must be 1 to 249 of [A-Za-z0-9._-]",
        ))
    }
}

fn check_brokers(brokers: &str) -> Result<()> {
    if brokers.trim().is_empty() || brokers.contains(char::is_whitespace) || brokers.contains('\0')
    {
        return Err(Error::invalid(
            "brokers",
            "expected host:port[,host:port...]",
        ));
    }
    Ok(())
}

fn kafka_error(context: &'static str, err: rdkafka::error::KafkaError) -> Error {
    Error::unavailable(context, err)
}

/// Publishes events to a Kafka topic as CloudEvents (structured JSON mode).
///
/// The producer is idempotent (`enable.idempotence=true`, so `acks=all` and no duplicates or
/// reordering from its own retries); the message key is the resource id, so all events of one
/// resource land in one partition, in order; headers `ce_id` and `ce_type` carry the event id and
/// type so consumers can route or deduplicate without parsing the payload.
pub struct KafkaPublisher {
    producer: FutureProducer,
    topic: String,
    timeout: Duration,
}

impl fmt::Debug for KafkaPublisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaPublisher")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl KafkaPublisher {
    /// A publisher to `topic` on `brokers` (`host:port[,host:port]`), giving up on an event after
    /// 30 s without an acknowledgement.
    pub fn new(brokers: &str, topic: &str) -> Result<KafkaPublisher> {
        KafkaPublisher::with_options(brokers, topic, Duration::from_secs(30), &[])
    }

    /// Like [`new`](Self::new) with the delivery timeout (`message.timeout.ms`) and extra
    /// librdkafka settings (`security.protocol`, `sasl.*`, `compression.type` ...). Settings that
    /// would weaken delivery (`enable.idempotence`, `acks`) are refused.
    pub fn with_options(
        brokers: &str,
        topic: &str,
        delivery_timeout: Duration,
        options: &[(&str, &str)],
    ) -> Result<KafkaPublisher> {
        check_brokers(brokers)?;
        check_topic(topic)?;
        if delivery_timeout < Duration::from_millis(1) {
            return Err(Error::invalid("delivery timeout", "must be at least 1 ms"));
        }
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", brokers)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "5")
            .set(
                "message.timeout.ms",
                delivery_timeout.as_millis().to_string(),
            );
        for (key, value) in options {
            if matches!(*key, "enable.idempotence" | "acks" | "bootstrap.servers") {
                return Err(Error::invalid(
                    "kafka option",
                    format!("{key} is set by KafkaPublisher"),
                ));
            }
            config.set(*key, *value);
        }
        let producer: FutureProducer = config
            .create()
            .map_err(|e| Error::invalid("kafka option", e.to_string()))?;
        Ok(KafkaPublisher {
            producer,
            topic: topic.to_owned(),
            timeout: delivery_timeout,
        })
    }
}

#[async_trait]
impl EventPublisher for KafkaPublisher {
    async fn publish(&self, events: &[AuditEvent]) -> Result<()> {
        let messages: Vec<(String, String, String, &str)> = events
            .iter()
            .map(|e| {
                (
                    e.resource().id.clone(),
                    e.to_cloudevent_json(),
                    e.id().to_string(),
                    e.action(),
                )
            })
            .collect();
        // All sends are started before any is awaited (join_all polls them in order, so they are
        // enqueued in order), then every acknowledgement is awaited.
        let sends = messages.iter().map(|(key, payload, id, kind)| {
            let headers = OwnedHeaders::new_with_capacity(3)
                .insert(Header {
                    key: HEADER_EVENT_ID,
                    value: Some(id.as_str()),
                })
                .insert(Header {
                    key: HEADER_EVENT_TYPE,
                    value: Some(*kind),
                })
                .insert(Header {
                    key: "content-type",
                    value: Some(CLOUDEVENTS_CONTENT_TYPE),
                });
            let record = FutureRecord::to(&self.topic)
                .key(key.as_str())
                .payload(payload.as_str())
                .headers(headers);
            self.producer.send(record, Timeout::After(self.timeout))
        });
        let results = futures::future::join_all(sends).await;
        let failures: Vec<String> = results
            .into_iter()
            .filter_map(|r| r.err().map(|(e, _)| e.to_string()))
            .collect();
        match failures.first() {
            None => Ok(()),
            Some(first) => Err(Error::Publish {
                reason: format!(
                    "{} of {} events not acknowledged by Kafka: {first}",
                    failures.len(),
                    events.len()
                ),
                retryable: true,
            }),
        }
    }
}

/// Settings of a [`KafkaIngester`].
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// Most events stored per batch (default 5000; 1 to [`MAX_BATCH_EVENTS`](crate::MAX_BATCH_EVENTS)).
    pub batch_size: usize,
    /// How long a batch waits to fill up after its first message (default 200 ms).
    pub batch_wait: Duration,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            batch_size: 5000,
            batch_wait: Duration::from_millis(200),
        }
    }
}

/// What one [`KafkaIngester::ingest_batch`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IngestBatch {
    /// Messages in the batch.
    pub received: usize,
    /// Events newly stored.
    pub stored: usize,
    /// Events skipped because their id was already stored (redeliveries).
    pub duplicates: usize,
    /// Messages that were not valid audit CloudEvents, skipped (and counted in
    /// [`IngestMetrics::malformed`]).
    pub malformed: usize,
}

/// Counters of a [`KafkaIngester`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IngestMetrics {
    /// Events stored.
    pub stored: u64,
    /// Redelivered events skipped.
    pub duplicates: u64,
    /// Malformed messages skipped.
    pub malformed: u64,
    /// Batches whose store failed (retried by the next call).
    pub store_failures: u64,
}

#[derive(Debug)]
struct PendingBatch {
    events: Vec<AuditEvent>,
    received: usize,
    malformed: usize,
    // Next offset to commit per (topic, partition).
    offsets: BTreeMap<(String, i32), i64>,
}

/// Consumes audit CloudEvents from Kafka into an [`AuditLog`], in batches.
///
/// Offsets are committed only after a batch is stored; a batch whose store fails is kept and
/// retried before anything new is read. After a crash between storing and committing, Kafka
/// redelivers the batch and [`AuditLog::append_new`] skips the ids already stored, so every event
/// is stored exactly once.
pub struct KafkaIngester {
    consumer: StreamConsumer,
    log: AuditLog,
    config: IngestConfig,
    pending: tokio::sync::Mutex<Option<PendingBatch>>,
    counters: [AtomicU64; 4],
    last_error: Mutex<Option<String>>,
}

impl fmt::Debug for KafkaIngester {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaIngester")
            .field("chain", self.log.chain())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl KafkaIngester {
    /// Joins consumer group `group` on `brokers` and subscribes to `topic`; new groups start from
    /// the earliest message.
    pub fn new(
        brokers: &str,
        group: &str,
        topic: &str,
        log: AuditLog,
        config: IngestConfig,
    ) -> Result<KafkaIngester> {
        check_brokers(brokers)?;
        check_topic(topic)?;
        if group.is_empty() || group.len() > 255 || group.contains('\0') {
            return Err(Error::invalid("group", "must be 1 to 255 bytes"));
        }
        if !(1..=crate::MAX_BATCH_EVENTS).contains(&config.batch_size) {
            return Err(Error::invalid(
                "batch size",
                format!("must be 1 to {}", crate::MAX_BATCH_EVENTS),
            ));
        }
        let consumer: StreamConsumer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("isolation.level", "read_committed")
            .create()
            .map_err(|e| Error::invalid("kafka option", e.to_string()))?;
        consumer
            .subscribe(&[topic])
            .map_err(|e| kafka_error("subscribing", e))?;
        Ok(KafkaIngester {
            consumer,
            log,
            config,
            pending: tokio::sync::Mutex::new(None),
            counters: Default::default(),
            last_error: Mutex::new(None),
        })
    }

    /// Counters since creation.
    pub fn metrics(&self) -> IngestMetrics {
        let c = |i: usize| self.counters[i].load(Ordering::Relaxed);
        IngestMetrics {
            stored: c(0),
            duplicates: c(1),
            malformed: c(2),
            store_failures: c(3),
        }
    }

    /// Reads up to `batch_size` messages (waiting at most `idle` for the first one and
    /// `batch_wait` for the rest), stores them, then commits their offsets. Returns an empty batch
    /// when nothing arrived within `idle`.
    pub async fn ingest_batch(&self, idle: Duration) -> Result<IngestBatch> {
        let mut pending = self.pending.lock().await;
        if pending.is_none() {
            *pending = self.read_batch(idle).await?;
        }
        let Some(batch) = pending.as_ref() else {
            return Ok(IngestBatch::default());
        };
        let stored = match self.log.append_new(batch.events.clone()).await {
            Ok(records) => records.len(),
            Err(err) => {
                self.counters[3].fetch_add(1, Ordering::Relaxed);
                *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(err.to_string());
                return Err(err);
            }
        };
        let result = IngestBatch {
            received: batch.received,
            stored,
            duplicates: batch.events.len() - stored,
            malformed: batch.malformed,
        };
        let mut offsets = TopicPartitionList::new();
        for ((topic, partition), next) in &batch.offsets {
            offsets
                .add_partition_offset(topic, *partition, Offset::Offset(*next))
                .map_err(|e| kafka_error("preparing the offset commit", e))?;
        }
        // Stored: the batch is done even if the commit below fails. Uncommitted offsets only mean
        // a redelivery, which append_new deduplicates, and the next commit covers them.
        *pending = None;
        self.count(&result);
        self.consumer
            .commit(&offsets, CommitMode::Sync)
            .map_err(|e| kafka_error("committing offsets", e))?;
        Ok(result)
    }

    fn count(&self, batch: &IngestBatch) {
        self.counters[0].fetch_add(batch.stored as u64, Ordering::Relaxed);
        self.counters[1].fetch_add(batch.duplicates as u64, Ordering::Relaxed);
        self.counters[2].fetch_add(batch.malformed as u64, Ordering::Relaxed);
    }

    async fn read_batch(&self, idle: Duration) -> Result<Option<PendingBatch>> {
        let mut batch = PendingBatch {
            events: Vec::new(),
            received: 0,
            malformed: 0,
            offsets: BTreeMap::new(),
        };
        let mut deadline: Option<tokio::time::Instant> = None;
        while batch.received < self.config.batch_size {
            let wait = match deadline {
                None => idle,
                Some(d) => match d.checked_duration_since(tokio::time::Instant::now()) {
                    Some(left) => left,
                    None => break,
                },
            };
            let message = match tokio::time::timeout(wait, self.consumer.recv()).await {
                Err(_) => break,
                Ok(Err(e)) => {
                    if batch.received == 0 {
                        return Err(kafka_error("consuming", e));
                    }
                    break;
                }
                Ok(Ok(message)) => message,
            };
            deadline.get_or_insert_with(|| tokio::time::Instant::now() + self.config.batch_wait);
            batch.received += 1;
            batch.offsets.insert(
                (message.topic().to_owned(), message.partition()),
                message.offset() + 1,
            );
            match message.payload().map(std::str::from_utf8) {
                Some(Ok(json)) => match AuditEvent::from_cloudevent_json(json) {
                    Ok(event) => batch.events.push(event),
                    Err(_) => batch.malformed += 1,
                },
                _ => batch.malformed += 1,
            }
        }
        Ok((batch.received > 0).then_some(batch))
    }

    /// Ingests until `shutdown` completes. Store failures are retried (the batch is kept) after a
    /// pause; nothing is committed until the batch is stored.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => return,
                result = self.ingest_batch(Duration::from_millis(500)) => {
                    if result.is_err() {
                        tokio::select! {
                            () = &mut shutdown => return,
                            () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        }
                    }
                }
            }
        }
    }

    /// The message of the last store failure, if any.
    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}
