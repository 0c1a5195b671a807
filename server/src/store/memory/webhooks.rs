//! Webhook endpoints, deliveries and attempts in memory.

use std::collections::BTreeMap;

use async_trait::async_trait;
use strongroom_audit::AuditEvent;

use super::{MemoryStore, is_owner};
use crate::store::webhooks::{
    AttemptRecord, DeliveryRecord, DeliveryState, ENDPOINT_DISABLED, EndpointRecord, Next,
    STILL_PENDING, WebhookScope, WebhookStore,
};
use crate::store::{Error, Result};

/// The three tables.
#[derive(Debug, Default)]
pub(super) struct Tables {
    endpoints: BTreeMap<String, EndpointRecord>,
    deliveries: BTreeMap<String, DeliveryRecord>,
    attempts: BTreeMap<String, AttemptRecord>,
}

impl Tables {
    /// What goes with an account (the SQL backends' cascade).
    pub(super) fn forget_owner(&mut self, owner: &str) {
        let gone: Vec<String> = self
            .endpoints
            .values()
            .filter(|e| e.scope.owner() == Some(owner))
            .map(|e| e.id.clone())
            .collect();
        for id in gone {
            self.remove_endpoint(&id);
        }
    }

    fn remove_endpoint(&mut self, id: &str) -> bool {
        if self.endpoints.remove(id).is_none() {
            return false;
        }
        let deliveries: Vec<String> = self
            .deliveries
            .values()
            .filter(|d| d.endpoint_id == id)
            .map(|d| d.id.clone())
            .collect();
        for d in &deliveries {
            self.deliveries.remove(d);
        }
        self.attempts
            .retain(|_, a| !deliveries.contains(&a.delivery_id));
        true
    }

    /// One attempt of `finish`: false when its delivery is not pending.
    fn finish_one(&mut self, a: &AttemptRecord, next: &Next, at: i64) -> bool {
        let t = self;
        let Some(d) = t
            .deliveries
            .get_mut(&a.delivery_id)
            .filter(|d| d.state == DeliveryState::Pending)
        else {
            return false;
        };
        d.attempts += 1;
        d.last_status = a.status;
        d.last_error = a.error.clone();
        d.updated_at = at;
        match next {
            Next::Delivered => {
                d.state = DeliveryState::Delivered;
                d.due_at = at;
            }
            Next::Retry(due) => d.due_at = *due,
            Next::Dead(why) | Next::Gone(why) => {
                d.state = DeliveryState::Dead;
                d.due_at = at;
                d.last_error = Some(why.clone());
            }
        }
        let endpoint = d.endpoint_id.clone();
        t.attempts.insert(a.id.clone(), a.clone());
        if let Next::Gone(why) = next {
            if let Some(e) = t.endpoints.get_mut(&endpoint) {
                e.enabled = false;
                e.disabled_reason = Some(why.clone());
                e.updated_at = at;
            }
            t.bury_pending(&endpoint, why, at);
        }
        true
    }

    fn bury_pending(&mut self, endpoint: &str, reason: &str, at: i64) {
        for d in self.deliveries.values_mut() {
            if d.endpoint_id == endpoint && d.state == DeliveryState::Pending {
                d.state = DeliveryState::Dead;
                d.last_error = Some(reason.to_owned());
                d.updated_at = at;
            }
        }
    }
}

#[async_trait]
impl WebhookStore for MemoryStore {
    async fn create(&self, e: &EndpointRecord, event: &AuditEvent) -> Result<()> {
        let mut s = self.lock();
        if e.scope.owner().is_some_and(|o| !is_owner(&s, o)) {
            return Err(Error::NotFound);
        }
        if s.webhooks.endpoints.contains_key(&e.id) {
            return Err(Error::Conflict("that endpoint already exists".into()));
        }
        s.webhooks.endpoints.insert(e.id.clone(), e.clone());
        s.events.push(event.clone());
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<EndpointRecord>> {
        Ok(self.lock().webhooks.endpoints.get(id).cloned())
    }

    async fn list(&self, scope: &WebhookScope) -> Result<Vec<EndpointRecord>> {
        let s = self.lock();
        let mut out: Vec<EndpointRecord> = s
            .webhooks
            .endpoints
            .values()
            .filter(|e| &e.scope == scope)
            .cloned()
            .collect();
        out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(out)
    }

    async fn enabled(&self) -> Result<Vec<EndpointRecord>> {
        let s = self.lock();
        Ok(s.webhooks
            .endpoints
            .values()
            .filter(|e| e.enabled)
            .cloned()
            .collect())
    }

    async fn update(&self, e: &EndpointRecord, event: &AuditEvent) -> Result<()> {
        let mut s = self.lock();
        let Some(stored) = s.webhooks.endpoints.get_mut(&e.id) else {
            return Err(Error::NotFound);
        };
        let (scope, created_by, created_at) = (
            stored.scope.clone(),
            stored.created_by.clone(),
            stored.created_at,
        );
        *stored = EndpointRecord {
            scope,
            created_by,
            created_at,
            ..e.clone()
        };
        if !e.enabled {
            s.webhooks
                .bury_pending(&e.id, "endpoint disabled", e.updated_at);
        }
        s.events.push(event.clone());
        Ok(())
    }

    async fn delete(&self, id: &str, event: &AuditEvent) -> Result<()> {
        let mut s = self.lock();
        if !s.webhooks.remove_endpoint(id) {
            return Err(Error::NotFound);
        }
        s.events.push(event.clone());
        Ok(())
    }

    async fn enqueue(&self, deliveries: &[DeliveryRecord]) -> Result<u64> {
        let mut s = self.lock();
        let mut added = 0;
        for d in deliveries {
            let t = &mut s.webhooks;
            if !t.endpoints.contains_key(&d.endpoint_id)
                || t.deliveries
                    .values()
                    .any(|x| x.endpoint_id == d.endpoint_id && x.message_id == d.message_id)
            {
                continue;
            }
            t.deliveries.insert(
                d.id.clone(),
                DeliveryRecord {
                    state: DeliveryState::Pending,
                    attempts: 0,
                    last_status: None,
                    last_error: None,
                    updated_at: d.created_at,
                    ..d.clone()
                },
            );
            added += 1;
        }
        Ok(added)
    }

    async fn claim_due(
        &self,
        now: i64,
        lease_until: i64,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>> {
        let mut s = self.lock();
        let mut due: Vec<&mut DeliveryRecord> = s
            .webhooks
            .deliveries
            .values_mut()
            .filter(|d| d.state == DeliveryState::Pending && d.due_at <= now)
            .collect();
        due.sort_by(|a, b| (a.due_at, &a.id).cmp(&(b.due_at, &b.id)));
        Ok(due
            .into_iter()
            .take(limit as usize)
            .map(|d| {
                d.due_at = lease_until;
                d.clone()
            })
            .collect())
    }

    async fn finish(&self, done: &[(AttemptRecord, Next)], at: i64) -> Result<u64> {
        let mut s = self.lock();
        let t = &mut s.webhooks;
        let mut recorded = 0;
        for (a, next) in done {
            if t.finish_one(a, next, at) {
                recorded += 1;
            }
        }
        Ok(recorded)
    }

    async fn delivery(&self, id: &str) -> Result<Option<DeliveryRecord>> {
        Ok(self.lock().webhooks.deliveries.get(id).cloned())
    }

    async fn deliveries(
        &self,
        endpoint: &str,
        state: Option<DeliveryState>,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>> {
        let s = self.lock();
        Ok(s.webhooks
            .deliveries
            .values()
            .rev()
            .filter(|d| {
                d.endpoint_id == endpoint
                    && state.is_none_or(|st| d.state == st)
                    && before.is_none_or(|b| d.id.as_str() < b)
            })
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn attempts(&self, delivery: &str) -> Result<Vec<AttemptRecord>> {
        let s = self.lock();
        let mut out: Vec<AttemptRecord> = s
            .webhooks
            .attempts
            .values()
            .filter(|a| a.delivery_id == delivery)
            .cloned()
            .collect();
        out.sort_by(|a, b| (a.attempt, &a.id).cmp(&(b.attempt, &b.id)));
        Ok(out)
    }

    async fn redeliver(&self, id: &str, at: i64, event: &AuditEvent) -> Result<()> {
        let mut s = self.lock();
        let t = &mut s.webhooks;
        let Some(d) = t.deliveries.get(id) else {
            return Err(Error::NotFound);
        };
        if d.state == DeliveryState::Pending {
            return Err(Error::Conflict(STILL_PENDING.into()));
        }
        if !t.endpoints.get(&d.endpoint_id).is_some_and(|e| e.enabled) {
            return Err(Error::Conflict(ENDPOINT_DISABLED.into()));
        }
        let d = t.deliveries.get_mut(id).expect("looked up above");
        d.state = DeliveryState::Pending;
        d.attempts = 0;
        d.due_at = at;
        d.last_error = None;
        d.updated_at = at;
        s.events.push(event.clone());
        Ok(())
    }

    async fn prune(&self, before: i64) -> Result<u64> {
        let mut s = self.lock();
        let t = &mut s.webhooks;
        let gone: Vec<String> = t
            .deliveries
            .values()
            .filter(|d| d.state != DeliveryState::Pending && d.updated_at < before)
            .map(|d| d.id.clone())
            .collect();
        for id in &gone {
            t.deliveries.remove(id);
        }
        t.attempts.retain(|_, a| !gone.contains(&a.delivery_id));
        Ok(gone.len() as u64)
    }
}
