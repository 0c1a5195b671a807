//! [`EventLog`] on the outbox next to the metadata.

use async_trait::async_trait;
use strongroom_audit::AuditEvent;

use super::SqlStore;
use crate::store::{Backlog, EventLog, Result};

#[async_trait]
impl EventLog for SqlStore {
    async fn record(&self, event: &AuditEvent) -> Result<()> {
        self.db.record(event).await
    }

    async fn backlog(&self) -> Result<Backlog> {
        Ok(Backlog {
            pending: self.db.outbox_pending().await,
            oldest: self.db.outbox_lag().await,
        })
    }

    async fn ping(&self) -> bool {
        self.db.ping().await
    }
}
