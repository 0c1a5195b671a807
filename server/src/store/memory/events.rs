//! [`EventLog`] in memory: events join the store's commit-ordered list.

use async_trait::async_trait;
use strongroom_audit::AuditEvent;

use super::MemoryStore;
use crate::store::{Backlog, EventLog, Result};

#[async_trait]
impl EventLog for MemoryStore {
    async fn record(&self, event: &AuditEvent) -> Result<()> {
        self.lock().events.push(event.clone());
        Ok(())
    }

    /// Nothing relays from memory: every event stays pending.
    async fn backlog(&self) -> Result<Backlog> {
        Ok(Backlog {
            pending: self.lock().events.len() as u64,
            oldest: std::time::Duration::ZERO,
        })
    }

    async fn ping(&self) -> bool {
        true
    }
}
