//! The audit outbox, for events that change no row (a download, a denial, a verification).

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use strongroom_audit::AuditEvent;

use super::Result;

/// Events waiting in the outbox for the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Backlog {
    /// Events written and not yet published.
    pub pending: u64,
    /// Age of the oldest of them.
    pub oldest: Duration,
}

/// The outbox next to the metadata.
///
/// Contract: `record` commits the event durably or fails; `backlog` counts it until the relay
/// publishes it.
#[async_trait]
pub trait EventLog: Debug + Send + Sync + 'static {
    /// Records an event on its own.
    async fn record(&self, event: &AuditEvent) -> Result<()>;
    /// What waits for the relay.
    async fn backlog(&self) -> Result<Backlog>;
    /// Whether the database answers now.
    async fn ping(&self) -> bool;
}

/// An event log behind a pointer.
pub type DynEventLog = dyn EventLog;

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<T: EventLog + ?Sized> EventLog for Arc<T> {
    async fn record(&self, event: &AuditEvent) -> Result<()> {
        (**self).record(event).await
    }
    async fn backlog(&self) -> Result<Backlog> {
        (**self).backlog().await
    }
    async fn ping(&self) -> bool {
        (**self).ping().await
    }
}
