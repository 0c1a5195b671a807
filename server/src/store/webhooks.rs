//! Webhook endpoints, their deliveries and the attempt log (`webhook_endpoints`,
//! `webhook_deliveries`, `webhook_attempts`): what a restart must not lose.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use strongroom_audit::AuditEvent;

use super::Result;

/// A signing secret as stored: wrapped by key-encryption key `kek_id` (base64 of nonce and
/// ciphertext). The store never sees it in the clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedSecret {
    /// The key-encryption key that wraps it.
    pub kek_id: String,
    /// Nonce and ciphertext, base64.
    pub wrapped: String,
}

/// Whose an endpoint is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WebhookScope {
    /// A user's: events they caused and events on what they own or were given.
    User(String),
    /// A team's: events on the team and what its space holds.
    Team(String),
    /// The platform's (administrators): every event.
    Platform,
}

impl WebhookScope {
    /// `user`, `team` or `platform`.
    pub fn kind(&self) -> &'static str {
        match self {
            WebhookScope::User(_) => "user",
            WebhookScope::Team(_) => "team",
            WebhookScope::Platform => "platform",
        }
    }

    /// The owning account (a user's or a team's), `None` for the platform.
    pub fn owner(&self) -> Option<&str> {
        match self {
            WebhookScope::User(id) | WebhookScope::Team(id) => Some(id),
            WebhookScope::Platform => None,
        }
    }

    /// From the stored kind and owner.
    pub fn from_parts(kind: &str, owner: Option<String>) -> Option<WebhookScope> {
        match (kind, owner) {
            ("user", Some(o)) => Some(WebhookScope::User(o)),
            ("team", Some(o)) => Some(WebhookScope::Team(o)),
            ("platform", None) => Some(WebhookScope::Platform),
            _ => None,
        }
    }
}

/// An endpoint as stored (times in microseconds since the epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointRecord {
    /// Id (`ep_…`).
    pub id: String,
    /// Whose it is.
    pub scope: WebhookScope,
    /// Where deliveries go.
    pub url: String,
    /// Action prefixes it wants (`share` matches `share.granted`); empty: every event.
    pub event_types: Vec<String>,
    /// The owner's note.
    pub description: String,
    /// Whether deliveries are made.
    pub enabled: bool,
    /// Why it was disabled (by its owner, or a receiver's 410).
    pub disabled_reason: Option<String>,
    /// The current signing secret.
    pub secret: WrappedSecret,
    /// The previous secret and when it stops signing (after a rotation).
    pub previous: Option<(WrappedSecret, i64)>,
    /// Who created it.
    pub created_by: String,
    /// Created.
    pub created_at: i64,
    /// Last changed.
    pub updated_at: i64,
}

impl EndpointRecord {
    /// Whether it wants an event with `action`: no filter, or an exact or dotted-prefix match.
    pub fn wants(&self, action: &str) -> bool {
        self.event_types.is_empty()
            || self.event_types.iter().any(|p| {
                action == p
                    || (action.starts_with(p.as_str())
                        && action.as_bytes().get(p.len()) == Some(&b'.'))
            })
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for its next attempt (or being attempted).
    Pending,
    /// Acknowledged by the receiver.
    Delivered,
    /// Given up: attempts exhausted, or the endpoint disabled or gone.
    Dead,
}

impl DeliveryState {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Dead => "dead",
        }
    }

    /// From the stored text.
    pub fn parse(s: &str) -> Option<DeliveryState> {
        match s {
            "pending" => Some(DeliveryState::Pending),
            "delivered" => Some(DeliveryState::Delivered),
            "dead" => Some(DeliveryState::Dead),
            _ => None,
        }
    }
}

/// One event for one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    /// Id.
    pub id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// The `webhook-id`: the event's id, the same on every attempt.
    pub message_id: String,
    /// The event's action.
    pub event_type: String,
    /// The JSON body sent.
    pub body: String,
    /// Where it stands.
    pub state: DeliveryState,
    /// Attempts made.
    pub attempts: u32,
    /// When the next attempt is due (while one runs: when its lease ends).
    pub due_at: i64,
    /// The last attempt's HTTP status.
    pub last_status: Option<u16>,
    /// The last attempt's error, or why it was given up.
    pub last_error: Option<String>,
    /// Queued.
    pub created_at: i64,
    /// Last changed.
    pub updated_at: i64,
}

/// One HTTP attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    /// Id.
    pub id: String,
    /// The delivery.
    pub delivery_id: String,
    /// 1 for the first.
    pub attempt: u32,
    /// When it was made.
    pub at: i64,
    /// HTTP status, if a response came.
    pub status: Option<u16>,
    /// Milliseconds until the response or the failure.
    pub latency_ms: u64,
    /// Network, timeout or refusal error.
    pub error: Option<String>,
    /// The first KiB of the response.
    pub excerpt: String,
}

/// What follows an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Acknowledged.
    Delivered,
    /// Attempt again at this time.
    Retry(i64),
    /// Give it up, with the reason.
    Dead(String),
    /// The receiver answered 410: give it up and disable the endpoint (burying what else it
    /// has queued), with the reason.
    Gone(String),
}

/// Why an endpoint cannot get a redelivery.
pub(crate) const ENDPOINT_DISABLED: &str = "the endpoint is disabled: enable it first";
/// Why a delivery cannot be redelivered.
pub(crate) const STILL_PENDING: &str = "that delivery is still pending";

/// The webhook tables.
///
/// Contract (checked by [`super::conformance`]): `create`, `update` and `delete` record their
/// event in the same transaction; `update` of a disabled endpoint buries its pending deliveries
/// (state `dead`, reason "endpoint disabled"); deleting an endpoint, or its owner account,
/// removes its deliveries and attempts; `enqueue` adds each delivery once per (endpoint,
/// message) and ignores repeats (the count it added); `claim_due` hands each pending delivery
/// whose time has come to one caller only, pushing its `due_at` to the lease end (a claim that
/// lapses is claimed again); `finish` records attempts and the next state of each delivery
/// still pending (counting those; the others stay as they are); `redeliver` makes a dead or delivered
/// delivery pending again with a fresh attempt count (`Conflict` while pending or while its
/// endpoint is disabled); a missing row is `NotFound`; `prune` removes settled deliveries last
/// changed before a time.
#[async_trait]
pub trait WebhookStore: Debug + Send + Sync + 'static {
    /// Stores a new endpoint (its owner account must exist: `NotFound`).
    async fn create(&self, endpoint: &EndpointRecord, event: &AuditEvent) -> Result<()>;
    /// One endpoint.
    async fn get(&self, id: &str) -> Result<Option<EndpointRecord>>;
    /// The endpoints of one scope, oldest first.
    async fn list(&self, scope: &WebhookScope) -> Result<Vec<EndpointRecord>>;
    /// Every enabled endpoint (what the fan-out matches events against).
    async fn enabled(&self) -> Result<Vec<EndpointRecord>>;
    /// Replaces an endpoint's settings and secrets (by id; scope and creation stay).
    async fn update(&self, endpoint: &EndpointRecord, event: &AuditEvent) -> Result<()>;
    /// Deletes an endpoint with its deliveries.
    async fn delete(&self, id: &str, event: &AuditEvent) -> Result<()>;
    /// Queues deliveries; repeats of an (endpoint, message) pair are ignored. How many were new.
    async fn enqueue(&self, deliveries: &[DeliveryRecord]) -> Result<u64>;
    /// Claims up to `limit` pending deliveries due at `now`, leasing them until `lease_until`.
    async fn claim_due(
        &self,
        now: i64,
        lease_until: i64,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>>;
    /// Records attempts on pending deliveries and what follows each, in one transaction; how
    /// many were still pending (the others are left as they are).
    async fn finish(&self, done: &[(AttemptRecord, Next)], at: i64) -> Result<u64>;
    /// One delivery.
    async fn delivery(&self, id: &str) -> Result<Option<DeliveryRecord>>;
    /// An endpoint's deliveries, newest first, optionally in one state, before `before` (a
    /// delivery id: the page after it), at most `limit`.
    async fn deliveries(
        &self,
        endpoint: &str,
        state: Option<DeliveryState>,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>>;
    /// A delivery's attempts, first first.
    async fn attempts(&self, delivery: &str) -> Result<Vec<AttemptRecord>>;
    /// Queues a settled delivery again, due at `at`.
    async fn redeliver(&self, id: &str, at: i64, event: &AuditEvent) -> Result<()>;
    /// Removes delivered and dead deliveries last changed before `before`; how many.
    async fn prune(&self, before: i64) -> Result<u64>;
}

/// A webhook store behind a pointer.
pub type DynWebhookStore = dyn WebhookStore;

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<T: WebhookStore + ?Sized> WebhookStore for Arc<T> {
    async fn create(&self, endpoint: &EndpointRecord, event: &AuditEvent) -> Result<()> {
        (**self).create(endpoint, event).await
    }
    async fn get(&self, id: &str) -> Result<Option<EndpointRecord>> {
        (**self).get(id).await
    }
    async fn list(&self, scope: &WebhookScope) -> Result<Vec<EndpointRecord>> {
        (**self).list(scope).await
    }
    async fn enabled(&self) -> Result<Vec<EndpointRecord>> {
        (**self).enabled().await
    }
    async fn update(&self, endpoint: &EndpointRecord, event: &AuditEvent) -> Result<()> {
        (**self).update(endpoint, event).await
    }
    async fn delete(&self, id: &str, event: &AuditEvent) -> Result<()> {
        (**self).delete(id, event).await
    }
    async fn enqueue(&self, deliveries: &[DeliveryRecord]) -> Result<u64> {
        (**self).enqueue(deliveries).await
    }
    async fn claim_due(
        &self,
        now: i64,
        lease_until: i64,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>> {
        (**self).claim_due(now, lease_until, limit).await
    }
    async fn finish(&self, done: &[(AttemptRecord, Next)], at: i64) -> Result<u64> {
        (**self).finish(done, at).await
    }
    async fn delivery(&self, id: &str) -> Result<Option<DeliveryRecord>> {
        (**self).delivery(id).await
    }
    async fn deliveries(
        &self,
        endpoint: &str,
        state: Option<DeliveryState>,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Vec<DeliveryRecord>> {
        (**self).deliveries(endpoint, state, before, limit).await
    }
    async fn attempts(&self, delivery: &str) -> Result<Vec<AttemptRecord>> {
        (**self).attempts(delivery).await
    }
    async fn redeliver(&self, id: &str, at: i64, event: &AuditEvent) -> Result<()> {
        (**self).redeliver(id, at, event).await
    }
    async fn prune(&self, before: i64) -> Result<u64> {
        (**self).prune(before).await
    }
}
