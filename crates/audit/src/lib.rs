#![doc = include_str!("../README.md")]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]

mod anchor;
mod bus;
mod canonical;
mod chain;
mod checkpoint;
mod clock;
mod cloudevents;
mod error;
mod event;
#[cfg(feature = "kafka")]
mod kafka;
mod log;
mod outbox;
#[cfg(all(test, feature = "postgres"))]
mod pg_test;
mod query;
mod store;
#[cfg(feature = "webhooks")]
mod webhooks;

#[cfg(any(feature = "conformance", test))]
pub mod conformance;

pub use crate::anchor::{
    CheckpointAnchor, DynCheckpointAnchor, FileCheckpointAnchor, MemoryCheckpointAnchor,
};
pub use crate::bus::{
    DynEventPublisher, EventPublisher, InProcessBus, MAX_BUS_CAPACITY, Subscription,
};
pub use crate::chain::{AuditRecord, ChainHead, ChainId, Digest};
pub use crate::checkpoint::{Checkpoint, CheckpointKind, CheckpointSigner, CheckpointVerifier};
pub use crate::clock::{Clock, ManualClock, ManualSleeper, Sleeper, SystemClock, TokioSleeper};
pub use crate::cloudevents::{CLOUDEVENTS_CONTENT_TYPE, CLOUDEVENTS_SOURCE};
pub use crate::error::{BackendError, Error, Result, TamperKind};
pub use crate::event::{
    Actor, AuditEvent, AuditEventBuilder, MAX_EVENT_BYTES, Outcome, Resource, validate_action,
};
#[cfg(feature = "kafka")]
pub use crate::kafka::{
    HEADER_EVENT_ID, HEADER_EVENT_TYPE, IngestBatch, IngestConfig, IngestMetrics, KafkaIngester,
    KafkaPublisher,
};
pub use crate::log::{
    AuditLog, AuditLogBuilder, DEFAULT_CHECKPOINT_INTERVAL, MAX_BATCH_EVENTS, Retention,
    VerifyReport,
};
pub use crate::outbox::memory::MemoryOutbox;
#[cfg(feature = "postgres")]
pub use crate::outbox::postgres::PostgresOutbox;
#[cfg(feature = "sqlite")]
pub use crate::outbox::sqlite::SqliteOutbox;
pub use crate::outbox::{
    Backlog, Backoff, DynOutbox, MAX_CLAIM, Outbox, OutboxEntry, OutboxRelay, RelayBatch,
    RelayConfig, RelayMetrics,
};
pub use crate::query::{AuditQuery, Cursor, MAX_PAGE_SIZE, MAX_RESOURCES, Order, Page};
pub use crate::store::memory::MemoryAuditStore;
#[cfg(feature = "postgres")]
pub use crate::store::postgres::PostgresAuditStore;
#[cfg(feature = "sqlite")]
pub use crate::store::sqlite::SqliteAuditStore;
pub use crate::store::{AuditStore, DynAuditStore};

#[cfg(feature = "webhooks")]
pub use crate::webhooks::{
    DEFAULT_TOLERANCE, DeadLetter, DeliveryAttempt, DeliveryRound, Endpoint, Sent, SsrfGuard,
    Verdict, WebhookConfig, WebhookDispatcher, WebhookSecret, WebhookSender, WebhookVerifier,
    message_body, signature_header,
};

/// Re-exported so callers can name event times without adding the dependency themselves.
pub use jiff::Timestamp;
/// Re-exported so callers can name event ids without adding the dependency themselves.
pub use uuid::Uuid;
