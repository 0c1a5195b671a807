//! Webhooks: endpoints a user, a team's admins or the administrators register, the fan-out
//! that turns committed events into deliveries, and the worker that sends them (Standard
//! Webhooks signatures, retries on a schedule, dead letters, redelivery by hand).
//!
//! Every write is in the store (the `webhook_*` tables), so a restart or a second server loses
//! nothing: the relay hands events to [`WebhookFanout`] only after they committed, repeats are
//! ignored per (endpoint, event), and a delivery is leased to one worker at a time.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use futures::StreamExt as _;
use serde::Serialize;
use strongroom_audit::{
    Actor, AuditEvent, EventPublisher, SsrfGuard, Verdict, WebhookConfig, WebhookSecret,
    WebhookSender, message_body,
};
use utoipa::ToSchema;

use super::{Ctx, Guard, Teams, rfc3339};
use crate::blobs::seal::Keks;
use crate::config::WebhooksConfig;
use crate::error::{Error, Result};
use crate::store::chunks::WrappedKey;
use crate::store::{
    AttemptRecord, DeliveryRecord, DeliveryState, DynFileStore, DynFolderStore, DynWebhookStore,
    EndpointRecord, Next, WebhookScope, WrappedSecret,
};

/// Longest endpoint URL.
const MAX_URL: usize = 2048;
/// Event-type filters per endpoint.
const MAX_FILTERS: usize = 50;
/// Longest description.
const MAX_DESCRIPTION: usize = 200;
/// Longest overlap of two secrets after a rotation.
const MAX_OVERLAP_SECS: u64 = 7 * 86_400;
/// Deliveries a worker claims at once (one transaction records them all).
const CLAIM: u32 = 64;
/// Attempts a worker makes at once.
const PARALLEL: usize = 8;

/// Whose endpoints a request is about.
#[derive(Debug, Clone, Copy)]
pub enum Owner<'a> {
    /// The caller's own.
    Me,
    /// A team's (its admins).
    Team(&'a str),
    /// The platform's (administrators).
    Platform,
}

/// An endpoint, as its owner sees it (never its secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Webhook {
    /// Id (`ep_…`).
    pub id: String,
    /// `user`, `team` or `platform`.
    pub scope: String,
    /// The team, for a team's endpoint.
    pub team_id: Option<String>,
    /// Where deliveries go.
    pub url: String,
    /// Action prefixes it gets (`share` gets `share.granted`, `share.revoked`…); empty: all.
    pub event_types: Vec<String>,
    /// The owner's note.
    pub description: String,
    /// Whether deliveries are made.
    pub enabled: bool,
    /// Why not, when disabled (by its owner, or a receiver's 410 Gone).
    pub disabled_reason: Option<String>,
    /// After a rotation: until when the previous secret signs too (RFC 3339).
    pub previous_secret_until: Option<String>,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Last changed (RFC 3339).
    pub updated_at: String,
}

/// An endpoint with its signing secret, shown once: on creation and on rotation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookWithSecret {
    /// The endpoint.
    #[serde(flatten)]
    pub webhook: Webhook,
    /// `whsec_…`: what the receiver verifies signatures with. Not shown again.
    pub secret: String,
}

/// One event's delivery to an endpoint.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Delivery {
    /// Id.
    pub id: String,
    /// The event's id: the `webhook-id` header, the same on every attempt.
    pub event_id: String,
    /// The event's action.
    pub event_type: String,
    /// `pending`, `delivered` or `dead`.
    pub state: String,
    /// Attempts made.
    pub attempts: u32,
    /// When the next attempt is due, while pending (RFC 3339).
    pub next_attempt_at: Option<String>,
    /// The last attempt's HTTP status.
    pub last_status: Option<u16>,
    /// The last attempt's error, or why it was given up.
    pub last_error: Option<String>,
    /// Queued (RFC 3339).
    pub created_at: String,
    /// Last changed (RFC 3339).
    pub updated_at: String,
    /// Its attempts, first first (in the answer for one delivery only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt_log: Option<Vec<Attempt>>,
}

/// One HTTP attempt.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Attempt {
    /// 1 for the first.
    pub attempt: u32,
    /// When (RFC 3339).
    pub at: String,
    /// HTTP status, if a response came.
    pub status: Option<u16>,
    /// Milliseconds until the response or the failure.
    pub latency_ms: u64,
    /// Network, timeout or refusal error.
    pub error: Option<String>,
    /// The first KiB of the response.
    pub response_excerpt: String,
}

/// A change to an endpoint; what is `None` stays.
#[derive(Debug, Clone, Default)]
pub struct Change {
    /// New URL.
    pub url: Option<String>,
    /// New filters.
    pub event_types: Option<Vec<String>>,
    /// New note.
    pub description: Option<String>,
    /// Enable or disable (disabling gives up what is pending).
    pub enabled: Option<bool>,
}

/// The address rules and secrets both the service and the worker use.
#[derive(Debug, Clone)]
struct Rules {
    ssrf: SsrfGuard,
    allow_http: bool,
    keks: Arc<Keks>,
}

impl Rules {
    fn check_url(&self, url: &str) -> Result<String> {
        if url.len() > MAX_URL {
            return Err(Error::Invalid(format!(
                "the URL is longer than {MAX_URL} bytes"
            )));
        }
        let parsed = self
            .ssrf
            .check_url(url)
            .map_err(|e| Error::Invalid(e.to_string()))?;
        if parsed.scheme() != "https" && !self.allow_http {
            return Err(Error::Invalid(
                "webhook URLs must be https (webhooks.allow_http lets plain http through)".into(),
            ));
        }
        Ok(parsed.to_string())
    }

    fn wrap(&self, endpoint: &str, secret: &WebhookSecret) -> Result<WrappedSecret> {
        let w = self
            .keks
            .wrap(
                &self.keks.current(),
                &aad(endpoint),
                secret.expose().as_bytes(),
            )
            .map_err(|e| Error::Internal(e.to_string()))?;
        Ok(WrappedSecret {
            kek_id: w.kek_id,
            wrapped: STANDARD.encode(w.wrapped),
        })
    }

    fn unwrap(&self, endpoint: &str, w: &WrappedSecret) -> Result<WebhookSecret> {
        let wrapped = STANDARD
            .decode(&w.wrapped)
            .map_err(|_| Error::Internal(format!("the secret of webhook {endpoint} is damaged")))?;
        let text = self
            .keks
            .unwrap_key(&WrappedKey {
                owner_id: aad(endpoint),
                kek_id: w.kek_id.clone(),
                wrapped,
            })
            .map_err(|e| Error::Internal(e.to_string()))?;
        let text = std::str::from_utf8(&text)
            .map_err(|_| Error::Internal(format!("the secret of webhook {endpoint} is damaged")))?;
        WebhookSecret::parse(text).map_err(|e| Error::Internal(e.to_string()))
    }

    /// The secrets that sign at `now`: the current one, and the previous during its overlap.
    fn signing(&self, e: &EndpointRecord, now: i64) -> Result<Vec<WebhookSecret>> {
        let mut out = vec![self.unwrap(&e.id, &e.secret)?];
        if let Some((previous, until)) = &e.previous
            && now < *until
        {
            out.push(self.unwrap(&e.id, previous)?);
        }
        Ok(out)
    }
}

/// What a wrapped secret is bound to: its endpoint, never a data key's owner.
fn aad(endpoint: &str) -> String {
    format!("webhook:{endpoint}")
}

fn view(e: &EndpointRecord) -> Webhook {
    Webhook {
        id: e.id.clone(),
        scope: e.scope.kind().to_owned(),
        team_id: match &e.scope {
            WebhookScope::Team(t) => Some(t.clone()),
            _ => None,
        },
        url: e.url.clone(),
        event_types: e.event_types.clone(),
        description: e.description.clone(),
        enabled: e.enabled,
        disabled_reason: e.disabled_reason.clone(),
        previous_secret_until: e.previous.as_ref().map(|(_, until)| rfc3339(*until)),
        created_at: rfc3339(e.created_at),
        updated_at: rfc3339(e.updated_at),
    }
}

fn delivery_view(d: DeliveryRecord, attempts: Option<Vec<AttemptRecord>>) -> Delivery {
    Delivery {
        next_attempt_at: (d.state == DeliveryState::Pending).then(|| rfc3339(d.due_at)),
        id: d.id,
        event_id: d.message_id,
        event_type: d.event_type,
        state: d.state.as_str().to_owned(),
        attempts: d.attempts,
        last_status: d.last_status,
        last_error: d.last_error,
        created_at: rfc3339(d.created_at),
        updated_at: rfc3339(d.updated_at),
        attempt_log: attempts.map(|a| {
            a.into_iter()
                .map(|a| Attempt {
                    attempt: a.attempt,
                    at: rfc3339(a.at),
                    status: a.status,
                    latency_ms: a.latency_ms,
                    error: a.error,
                    response_excerpt: a.excerpt,
                })
                .collect()
        }),
    }
}

/// The host of a URL, for audit events (a path or query may carry a receiver's token).
fn host_of(url: &str) -> String {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default()
}

fn event_types(types: Vec<String>) -> Result<Vec<String>> {
    if types.len() > MAX_FILTERS {
        return Err(Error::Invalid(format!("at most {MAX_FILTERS} event types")));
    }
    let mut out = BTreeSet::new();
    for t in types {
        let t = t.trim().to_owned();
        strongroom_audit::AuditQuery::new()
            .action_prefix(t.clone())
            .validate()
            .map_err(|_| {
                Error::Invalid(format!(
                    "{t:?} is not an event type or prefix (like share or share.granted)"
                ))
            })?;
        out.insert(t);
    }
    Ok(out.into_iter().collect())
}

fn description(text: Option<String>) -> Result<String> {
    let text = text.unwrap_or_default().trim().to_owned();
    if text.chars().count() > MAX_DESCRIPTION || text.chars().any(char::is_control) {
        return Err(Error::Invalid(format!(
            "the description has at most {MAX_DESCRIPTION} characters and no control characters"
        )));
    }
    Ok(text)
}

/// The webhooks service.
#[derive(Debug, Clone)]
pub struct Webhooks {
    store: Arc<DynWebhookStore>,
    teams: Teams,
    rules: Rules,
    max_endpoints: usize,
    guard: Guard,
}

impl Webhooks {
    /// Over the webhook store, the teams service (for team admins' decisions), the key-encryption
    /// keys (which wrap the secrets) and the configuration.
    pub fn new(
        store: Arc<DynWebhookStore>,
        teams: Teams,
        keks: Arc<Keks>,
        config: &WebhooksConfig,
        guard: Guard,
    ) -> Webhooks {
        Webhooks {
            store,
            teams,
            rules: Rules {
                ssrf: guard_of(config),
                allow_http: config.allow_http,
                keks,
            },
            max_endpoints: config.max_endpoints,
            guard,
        }
    }

    /// The scope `owner` names for the caller, authorized to manage it.
    async fn scope_of(&self, ctx: &Ctx, owner: Owner<'_>) -> Result<WebhookScope> {
        match owner {
            Owner::Me => Ok(WebhookScope::User(
                self.guard.authorize_own_account(ctx).await?,
            )),
            Owner::Team(id) => {
                let t = self.teams.authorized_team(ctx, "manage_team", id).await?;
                Ok(WebhookScope::Team(t.id))
            }
            Owner::Platform => {
                ctx.user_id()?;
                self.guard.authorize_platform(ctx, "administer").await?;
                Ok(WebhookScope::Platform)
            }
        }
    }

    /// Endpoint `id`, if the caller manages its scope (404 otherwise, as if it did not exist).
    async fn authorized(&self, ctx: &Ctx, id: &str) -> Result<EndpointRecord> {
        ctx.user_id()?;
        let missing = || Error::NotFound("no such webhook".into());
        if id.len() > 64 {
            return Err(missing());
        }
        let e = self.store.get(id).await?.ok_or_else(missing)?;
        let owner = match &e.scope {
            WebhookScope::User(u) => {
                if ctx.user_id()? != u {
                    return Err(missing());
                }
                Owner::Me
            }
            WebhookScope::Team(t) => Owner::Team(t),
            WebhookScope::Platform => Owner::Platform,
        };
        match self.scope_of(ctx, owner).await {
            Ok(_) => Ok(e),
            Err(Error::Forbidden { .. }) if matches!(e.scope, WebhookScope::Platform) => {
                Err(missing())
            }
            Err(err) => Err(err),
        }
    }

    /// Registers an endpoint; the answer carries its secret, once.
    pub async fn create(
        &self,
        ctx: &Ctx,
        owner: Owner<'_>,
        url: &str,
        types: Vec<String>,
        note: Option<String>,
    ) -> Result<WebhookWithSecret> {
        let scope = self.scope_of(ctx, owner).await?;
        let url = self.rules.check_url(url)?;
        let types = event_types(types)?;
        let note = description(note)?;
        if self.store.list(&scope).await?.len() >= self.max_endpoints {
            return Err(Error::Conflict(format!(
                "at most {} webhooks here: delete one first",
                self.max_endpoints
            )));
        }
        let id = format!("ep_{}", uuid::Uuid::now_v7().simple());
        let secret = WebhookSecret::generate();
        let now = self.guard.now();
        let record = EndpointRecord {
            id: id.clone(),
            scope: scope.clone(),
            url: url.clone(),
            event_types: types,
            description: note,
            enabled: true,
            disabled_reason: None,
            secret: self.rules.wrap(&id, &secret)?,
            previous: None,
            created_by: ctx.user_id()?.to_owned(),
            created_at: now,
            updated_at: now,
        };
        let event = ctx
            .event("webhook.created", "webhook", &id)
            .attr("scope", scope.kind())
            .attr("owner_id", scope.owner().unwrap_or(""))
            .attr("host", host_of(&url))
            .build()?;
        self.store.create(&record, &event).await?;
        Ok(WebhookWithSecret {
            webhook: view(&record),
            secret: secret.expose().to_string(),
        })
    }

    /// The endpoints of a scope.
    pub async fn list(&self, ctx: &Ctx, owner: Owner<'_>) -> Result<Vec<Webhook>> {
        let scope = self.scope_of(ctx, owner).await?;
        Ok(self.store.list(&scope).await?.iter().map(view).collect())
    }

    /// One endpoint.
    pub async fn get(&self, ctx: &Ctx, id: &str) -> Result<Webhook> {
        Ok(view(&self.authorized(ctx, id).await?))
    }

    /// Changes an endpoint.
    pub async fn update(&self, ctx: &Ctx, id: &str, change: Change) -> Result<Webhook> {
        let mut e = self.authorized(ctx, id).await?;
        if let Some(url) = change.url {
            e.url = self.rules.check_url(&url)?;
        }
        if let Some(types) = change.event_types {
            e.event_types = event_types(types)?;
        }
        if change.description.is_some() {
            e.description = description(change.description)?;
        }
        if let Some(on) = change.enabled {
            e.disabled_reason = match (on, e.enabled) {
                (true, _) => None,
                (false, true) => Some("disabled by its owner".into()),
                (false, false) => e.disabled_reason.clone(),
            };
            e.enabled = on;
        }
        e.updated_at = self.guard.now();
        let event = ctx
            .event("webhook.updated", "webhook", &e.id)
            .attr("enabled", e.enabled)
            .attr("host", host_of(&e.url))
            .build()?;
        self.store.update(&e, &event).await?;
        Ok(view(&e))
    }

    /// Deletes an endpoint and its deliveries.
    pub async fn delete(&self, ctx: &Ctx, id: &str) -> Result<()> {
        let e = self.authorized(ctx, id).await?;
        let event = ctx
            .event("webhook.deleted", "webhook", &e.id)
            .attr("host", host_of(&e.url))
            .build()?;
        Ok(self.store.delete(&e.id, &event).await?)
    }

    /// Gives an endpoint a new secret; the old one signs too for `overlap_secs` (default a day,
    /// at most a week; 0 ends it now), so the receiver can switch without missing a message.
    pub async fn rotate(
        &self,
        ctx: &Ctx,
        id: &str,
        overlap_secs: Option<u64>,
    ) -> Result<WebhookWithSecret> {
        let overlap = overlap_secs.unwrap_or(86_400);
        if overlap > MAX_OVERLAP_SECS {
            return Err(Error::Invalid(format!(
                "the overlap is at most {MAX_OVERLAP_SECS} seconds"
            )));
        }
        let mut e = self.authorized(ctx, id).await?;
        let now = self.guard.now();
        let secret = WebhookSecret::generate();
        e.previous = (overlap > 0).then(|| (e.secret.clone(), now + overlap as i64 * 1_000_000));
        e.secret = self.rules.wrap(&e.id, &secret)?;
        e.updated_at = now;
        let event = ctx
            .event("webhook.secret_rotated", "webhook", &e.id)
            .attr("overlap_secs", overlap)
            .build()?;
        self.store.update(&e, &event).await?;
        Ok(WebhookWithSecret {
            webhook: view(&e),
            secret: secret.expose().to_string(),
        })
    }

    /// An endpoint's deliveries, newest first.
    pub async fn deliveries(
        &self,
        ctx: &Ctx,
        id: &str,
        state: Option<&str>,
        before: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Vec<Delivery>> {
        let e = self.authorized(ctx, id).await?;
        let state =
            match state {
                None => None,
                Some(s) => Some(DeliveryState::parse(s).ok_or_else(|| {
                    Error::BadRequest("state is pending, delivered or dead".into())
                })?),
            };
        let limit = limit.unwrap_or(50);
        if !(1..=500).contains(&limit) {
            return Err(Error::BadRequest("limit is 1 to 500".into()));
        }
        Ok(self
            .store
            .deliveries(&e.id, state, before, limit)
            .await?
            .into_iter()
            .map(|d| delivery_view(d, None))
            .collect())
    }

    /// One delivery with its attempts.
    pub async fn delivery(&self, ctx: &Ctx, id: &str, delivery: &str) -> Result<Delivery> {
        let e = self.authorized(ctx, id).await?;
        let d = self.delivery_of(&e, delivery).await?;
        let attempts = self.store.attempts(&d.id).await?;
        Ok(delivery_view(d, Some(attempts)))
    }

    async fn delivery_of(&self, e: &EndpointRecord, delivery: &str) -> Result<DeliveryRecord> {
        self.store
            .delivery(delivery)
            .await?
            .filter(|d| d.endpoint_id == e.id)
            .ok_or_else(|| Error::NotFound("no such delivery".into()))
    }

    /// Queues a delivered or dead delivery again, now, with a fresh attempt budget.
    pub async fn redeliver(&self, ctx: &Ctx, id: &str, delivery: &str) -> Result<Delivery> {
        let e = self.authorized(ctx, id).await?;
        let d = self.delivery_of(&e, delivery).await?;
        let event = ctx
            .event("webhook.redelivered", "webhook", &e.id)
            .attr("delivery_id", d.id.as_str())
            .attr("event_id", d.message_id.as_str())
            .build()?;
        self.store
            .redeliver(&d.id, self.guard.now(), &event)
            .await?;
        let d = self.delivery_of(&e, &d.id).await?;
        Ok(delivery_view(d, None))
    }
}

fn guard_of(config: &WebhooksConfig) -> SsrfGuard {
    let mut g = SsrfGuard::strict();
    if config.allow_loopback {
        g = g.allow_loopback();
    }
    if config.allow_private_networks {
        g = g.allow_private_networks();
    }
    g
}

/// Turns committed events into deliveries (an outbox relay's publisher). A platform endpoint
/// gets every event it asks for; a user's gets events they caused and events on what they own
/// or were given (the resource's owner at relay time, a share's holder, a team role's member);
/// a team's gets events on the team and on what its space holds. Only platform endpoints see
/// the caller's IP address, user agent and session id.
#[derive(Debug)]
pub struct WebhookFanout {
    store: Arc<DynWebhookStore>,
    files: Arc<DynFileStore>,
    folders: Arc<DynFolderStore>,
    clock: Arc<dyn crate::clock::Clock>,
}

impl WebhookFanout {
    /// Over the webhook store and the file and folder stores (whose owners decide who hears of
    /// an event).
    pub fn new(
        store: Arc<DynWebhookStore>,
        files: Arc<DynFileStore>,
        folders: Arc<DynFolderStore>,
        clock: Arc<dyn crate::clock::Clock>,
    ) -> WebhookFanout {
        WebhookFanout {
            store,
            files,
            folders,
            clock,
        }
    }

    /// The accounts an event is about, besides its actor.
    async fn concerned(&self, event: &AuditEvent) -> crate::store::Result<BTreeSet<String>> {
        let mut out = BTreeSet::new();
        let r = event.resource();
        match r.kind.as_str() {
            "file" => {
                if let Some(f) = self.files.get(&r.id).await? {
                    out.insert(f.owner_id);
                }
            }
            "folder" => {
                if let Some(f) = self.folders.get(&r.id).await? {
                    out.insert(f.owner_id);
                }
            }
            "team" | "user" => {
                out.insert(r.id.clone());
            }
            _ => {}
        }
        for key in ["user", "owner_id", "granted_by", "handed_to", "to"] {
            if let Some(v) = event.attributes().get(key).and_then(|v| v.as_str()) {
                out.insert(v.to_owned());
            }
        }
        Ok(out)
    }
}

/// The body for endpoints that are not the platform's: the event without who called from where.
fn private_body(event: &AuditEvent) -> String {
    let mut body: serde_json::Value =
        serde_json::from_str(&message_body(event)).unwrap_or_default();
    if let Some(data) = body.get_mut("data").and_then(|d| d.as_object_mut()) {
        for key in ["ip", "user_agent", "session_id"] {
            data.remove(key);
        }
    }
    body.to_string()
}

#[async_trait]
impl EventPublisher for WebhookFanout {
    async fn publish(&self, events: &[AuditEvent]) -> strongroom_audit::Result<()> {
        let failed = |e: crate::store::Error| {
            strongroom_audit::Error::unavailable("queueing webhook deliveries", e)
        };
        let endpoints = self.store.enabled().await.map_err(failed)?;
        if endpoints.is_empty() {
            return Ok(());
        }
        let now = self.clock.now_micros();
        let mut deliveries = Vec::new();
        for event in events {
            let wanting: Vec<&EndpointRecord> = endpoints
                .iter()
                .filter(|e| e.wants(event.action()))
                .collect();
            if wanting.is_empty() {
                continue;
            }
            let actor = match event.actor() {
                Actor::User(u) => Some(u.as_str()),
                _ => None,
            };
            let mut concerned: Option<BTreeSet<String>> = None;
            let (mut full, mut private) = (None, None);
            for e in wanting {
                let hears = match &e.scope {
                    WebhookScope::Platform => true,
                    WebhookScope::User(u) | WebhookScope::Team(u) => {
                        if matches!(e.scope, WebhookScope::User(_)) && actor == Some(u.as_str()) {
                            true
                        } else {
                            if concerned.is_none() {
                                concerned = Some(self.concerned(event).await.map_err(failed)?);
                            }
                            concerned.as_ref().is_some_and(|c| c.contains(u))
                        }
                    }
                };
                if !hears {
                    continue;
                }
                let body = match e.scope {
                    WebhookScope::Platform => full.get_or_insert_with(|| message_body(event)),
                    _ => private.get_or_insert_with(|| private_body(event)),
                };
                deliveries.push(DeliveryRecord {
                    id: format!("dl_{}", uuid::Uuid::now_v7().simple()),
                    endpoint_id: e.id.clone(),
                    message_id: event.id().to_string(),
                    event_type: event.action().to_owned(),
                    body: body.clone(),
                    state: DeliveryState::Pending,
                    attempts: 0,
                    due_at: now,
                    last_status: None,
                    last_error: None,
                    created_at: now,
                    updated_at: now,
                });
            }
        }
        self.store.enqueue(&deliveries).await.map_err(failed)?;
        Ok(())
    }
}

/// Sends due deliveries. Several workers (on several servers) share the queue: each delivery
/// is leased to one for the length of an attempt.
#[derive(Debug, Clone)]
pub struct WebhookWorker {
    store: Arc<DynWebhookStore>,
    rules: Rules,
    sender: WebhookSender,
    schedule: Vec<Duration>,
    timeout: Duration,
    metrics: Arc<crate::metrics::Metrics>,
    clock: Arc<dyn crate::clock::Clock>,
}

/// What one [`WebhookWorker::deliver_due`] round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// Attempts made.
    pub attempted: usize,
    /// Acknowledged.
    pub delivered: usize,
    /// Given up.
    pub dead: usize,
}

impl WebhookWorker {
    /// A worker over the store, with the configuration's timeout, schedule and address rules.
    pub fn new(
        store: Arc<DynWebhookStore>,
        keks: Arc<Keks>,
        config: &WebhooksConfig,
        metrics: Arc<crate::metrics::Metrics>,
        clock: Arc<dyn crate::clock::Clock>,
    ) -> Result<WebhookWorker> {
        let ssrf = guard_of(config);
        let timeout = Duration::from_secs(config.timeout_secs);
        let sender = WebhookSender::new(&WebhookConfig {
            timeout,
            ssrf,
            ..WebhookConfig::default()
        })
        .map_err(|e| Error::Internal(e.to_string()))?;
        Ok(WebhookWorker {
            store,
            rules: Rules {
                ssrf,
                allow_http: config.allow_http,
                keks,
            },
            sender,
            schedule: config
                .retry_schedule_secs
                .iter()
                .map(|s| Duration::from_secs(*s))
                .collect(),
            timeout,
            metrics,
            clock,
        })
    }

    /// The wait before the attempt after `made` attempts (±10 %), or `None` when they are used up.
    fn wait_after(&self, made: u32) -> Option<Duration> {
        let base = *self.schedule.get(made.checked_sub(1)? as usize)?;
        Some(base.mul_f64(rand::random_range(0.9..=1.1)))
    }

    /// Claims what is due and attempts it; returns what happened.
    pub async fn deliver_due(&self) -> Result<Round> {
        let now = self.clock.now_micros();
        // The lease outlasts the round (its attempts run PARALLEL at a time, each at most the
        // timeout), so no other worker takes a delivery this one is still sending; one that
        // dies mid-round frees its claim when the lease ends.
        let waves = i64::from(CLAIM.div_ceil(PARALLEL as u32));
        let lease = now + waves * self.timeout.as_micros() as i64 + 5_000_000;
        let due = self.store.claim_due(now, lease, CLAIM).await?;
        if due.is_empty() {
            return Ok(Round::default());
        }
        let mut endpoints: HashMap<String, Option<EndpointRecord>> = HashMap::new();
        for d in &due {
            if !endpoints.contains_key(&d.endpoint_id) {
                let e = self.store.get(&d.endpoint_id).await?;
                endpoints.insert(d.endpoint_id.clone(), e);
            }
        }
        let endpoints = &endpoints;
        let results: Vec<Result<(AttemptRecord, Next)>> = futures::stream::iter(due)
            .map(|d| async move {
                let endpoint = endpoints.get(&d.endpoint_id);
                self.attempt(d, endpoint).await
            })
            .buffer_unordered(PARALLEL)
            .collect()
            .await;
        let mut done = Vec::with_capacity(results.len());
        for r in results {
            done.push(r?);
        }
        // One transaction records the whole round.
        self.store.finish(&done, self.clock.now_micros()).await?;
        let mut round = Round::default();
        for (_, next) in &done {
            round.attempted += 1;
            let outcome = match next {
                Next::Delivered => {
                    round.delivered += 1;
                    "delivered"
                }
                Next::Retry(_) => "retrying",
                Next::Dead(_) | Next::Gone(_) => {
                    round.dead += 1;
                    "dead"
                }
            };
            self.metrics
                .webhook_attempts
                .get_or_create(&vec![("outcome".to_owned(), outcome.to_owned())])
                .inc();
        }
        Ok(round)
    }

    async fn attempt(
        &self,
        d: DeliveryRecord,
        endpoint: Option<&Option<EndpointRecord>>,
    ) -> Result<(AttemptRecord, Next)> {
        let at = self.clock.now_micros();
        let mut record = AttemptRecord {
            id: format!("at_{}", uuid::Uuid::now_v7().simple()),
            delivery_id: d.id.clone(),
            attempt: d.attempts + 1,
            at,
            status: None,
            latency_ms: 0,
            error: None,
            excerpt: String::new(),
        };
        let target = match endpoint.and_then(Option::as_ref).filter(|e| e.enabled) {
            None => None,
            // A damaged URL or secret fails this delivery only, never the round.
            Some(e) => match (reqwest::Url::parse(&e.url), self.rules.signing(e, at)) {
                (Ok(url), Ok(secrets)) => Some((url, secrets)),
                (Err(err), _) => {
                    record.error = Some(format!("unusable URL: {err}"));
                    None
                }
                (_, Err(err)) => {
                    record.error = Some(err.to_string());
                    None
                }
            },
        };
        let next = match target {
            None => Next::Dead(
                record
                    .error
                    .clone()
                    .unwrap_or_else(|| "the endpoint is disabled or gone".into()),
            ),
            Some((url, secrets)) => {
                let refs: Vec<&WebhookSecret> = secrets.iter().collect();
                let when = jiff::Timestamp::from_microsecond(at)
                    .map_err(|e| Error::Internal(format!("clock: {e}")))?;
                let sent = self
                    .sender
                    .send(&url, &d.message_id, &d.body, &refs, when)
                    .await;
                record.status = sent.status;
                record.latency_ms = sent.latency.as_millis().min(u64::MAX as u128) as u64;
                record.error = sent.error;
                record.excerpt = sent.response_excerpt;
                match sent.verdict {
                    Verdict::Delivered => Next::Delivered,
                    Verdict::Gone => Next::Gone("the receiver answered 410 Gone".into()),
                    Verdict::Retry { after } => match self.wait_after(d.attempts + 1) {
                        None => Next::Dead("attempts used up".into()),
                        Some(wait) => {
                            let wait = after.map_or(wait, |a| a.max(wait));
                            Next::Retry(at + wait.as_micros().min(i64::MAX as u128) as i64)
                        }
                    },
                }
            }
        };
        Ok((record, next))
    }

    /// Removes settled deliveries older than `keep`.
    pub async fn prune(&self, keep: Duration) -> Result<u64> {
        let cut = self.clock.now_micros() - keep.as_micros().min(i64::MAX as u128) as i64;
        Ok(self.store.prune(cut).await?)
    }
}
