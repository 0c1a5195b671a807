//! Plain services the HTTP handlers call: [`Accounts`], [`Files`], [`Folders`], [`Links`] and
//! [`Shares`]. Each holds narrow handles (its stores, the blobs, a [`Guard`]) and each method
//! authorizes, validates, acts and records its audit event; none knows about HTTP or the app.

pub mod accounts;
pub mod activity;
pub mod diff;
pub mod extract;
pub mod fields;
pub mod files;
pub mod folders;
pub mod fsck;
pub mod grants;
pub mod groups;
pub mod integrity;
pub mod invitations;
pub mod labels;
pub mod links;
pub mod lockout;
pub mod metering;
pub mod names;
pub mod query;
pub mod search;
pub mod stats;
pub mod tags;
pub mod teams;
pub mod trash;
pub mod usage;
pub mod versions;
pub mod webhooks;

pub use crate::error::{Error, Result};
pub use accounts::Accounts;
pub use files::Files;
pub use folders::Folders;
pub use grants::Shares;
pub use groups::Groups;
pub use invitations::Invitations;
pub use links::Links;
pub use teams::Teams;
pub use webhooks::Webhooks;

#[cfg(test)]
mod tests;

use std::net::IpAddr;

use strongroom_audit::{Actor, AuditEvent, Outcome, Resource};

use std::sync::Arc;

use crate::authz::{Authorizer, Principal, RequestFacts, Target};
use crate::clock::Clock;
use crate::denials::DenialAggregator;
use crate::metrics::Metrics;
use crate::store::DynEventLog;

/// Who is calling and from where: what every service needs besides its arguments.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The caller.
    pub principal: Principal,
    /// The session id, for signed-in users.
    pub session_id: Option<String>,
    /// Client IP.
    pub ip: IpAddr,
    /// User agent, if sent.
    pub user_agent: Option<String>,
    /// Request id (from `X-Request-Id` or generated).
    pub request_id: String,
    /// The server's clock: audit events are stamped with it.
    pub clock: Arc<dyn Clock>,
}

impl Ctx {
    /// A context for work not tied to a request (bootstrap, repairs, summaries), on the system
    /// clock; services use [`Guard::system_ctx`], which keeps the server's clock.
    pub fn system() -> Ctx {
        Ctx {
            principal: Principal::Anonymous,
            session_id: None,
            ip: IpAddr::from([127, 0, 0, 1]),
            user_agent: None,
            request_id: uuid::Uuid::now_v7().to_string(),
            clock: Arc::new(crate::clock::SystemClock),
        }
    }

    /// The facts a policy decision sees.
    pub fn facts(&self) -> RequestFacts {
        RequestFacts {
            ip: self.ip,
            mfa: false,
            device_trusted: false,
        }
    }

    /// The signed-in user's id, or 401.
    /// The users whose group memberships a decision for this caller needs: the caller, when
    /// signed in.
    pub fn principals(&self) -> Vec<&str> {
        self.principal.user_id().into_iter().collect()
    }

    /// The caller's user id; "sign in first" for anyone else.
    pub fn user_id(&self) -> Result<&str> {
        self.principal
            .user_id()
            .ok_or_else(|| Error::Unauthorized("sign in first".into()))
    }

    /// An audit event for `action` on `kind/id` by this caller.
    pub fn event(&self, action: &str, kind: &str, id: &str) -> EventDraft {
        EventDraft {
            ctx: self.clone(),
            action: action.to_owned(),
            kind: kind.to_owned(),
            id: id.to_owned(),
            outcome: Outcome::Success,
            attrs: serde_json::Map::new(),
        }
    }
}

/// An audit event being assembled.
#[derive(Debug, Clone)]
pub struct EventDraft {
    ctx: Ctx,
    action: String,
    kind: String,
    id: String,
    outcome: Outcome,
    attrs: serde_json::Map<String, serde_json::Value>,
}

impl EventDraft {
    /// Sets the outcome.
    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    /// Adds an attribute.
    pub fn attr(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.attrs.insert(key.to_owned(), value.into());
        self
    }

    /// The event.
    pub fn build(self) -> Result<AuditEvent> {
        let actor = match &self.ctx.principal {
            Principal::User { id, .. } => Actor::User(id.clone()),
            Principal::Link { id, .. } => Actor::Service(format!("link:{id}")),
            Principal::Anonymous => Actor::Anonymous,
        };
        let resource = Resource::new(
            self.kind,
            if self.id.is_empty() {
                "-".into()
            } else {
                self.id
            },
        )?;
        let time = jiff::Timestamp::from_microsecond(self.ctx.clock.now_micros())
            .map_err(|e| Error::Internal(format!("clock: {e}")))?;
        let mut b = AuditEvent::builder(actor, self.action, resource)
            .time(time)
            .outcome(self.outcome)
            .ip(self.ctx.ip)
            .request_id(self.ctx.request_id)
            .attributes(serde_json::Value::Object(self.attrs));
        if let Some(ua) = self.ctx.user_agent {
            b = b.user_agent(ua.chars().take(256).collect::<String>());
        }
        if let Some(s) = self.ctx.session_id {
            b = b.session_id(s);
        }
        Ok(b.build()?)
    }
}

/// What every service decides and records with: the authorizer, the audit outbox, the clock,
/// the metrics and the aggregation of anonymous denials. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Guard {
    /// Policy decisions.
    pub authz: Arc<Authorizer>,
    /// Events that change no row.
    pub events: Arc<DynEventLog>,
    /// The one clock domain code reads.
    pub clock: Arc<dyn Clock>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Anonymous denials, summarized per source address.
    pub denials: Arc<DenialAggregator>,
    /// Where a caller's groups, team roles and attributes are read for decisions on the
    /// platform and on accounts.
    pub memberships: Arc<crate::store::DynGrantStore>,
    /// Whether reads of metadata and listings are recorded (`events.read_events`).
    pub read_events: bool,
}

impl Guard {
    /// A context for work not tied to a request, on this guard's clock.
    pub fn system_ctx(&self) -> Ctx {
        Ctx {
            clock: self.clock.clone(),
            ..Ctx::system()
        }
    }

    /// Now, in microseconds since the epoch.
    pub fn now(&self) -> i64 {
        self.clock.now_micros()
    }

    /// Records a read of metadata or a listing, unless the operator turned read events off.
    pub async fn record_read(&self, event: EventDraft) -> Result<()> {
        if self.read_events {
            self.record(&event.build()?).await?;
        }
        Ok(())
    }

    /// Records an event that changes no row.
    pub async fn record(&self, event: &AuditEvent) -> Result<()> {
        Ok(self.events.record(event).await?)
    }

    /// Authorizes `action` on `target`; a refusal is recorded as a `denied` audit event and
    /// counted.
    pub async fn authorize(
        &self,
        ctx: &Ctx,
        action: &str,
        target: &Target,
        audit_kind: &str,
        audit_id: &str,
    ) -> Result<()> {
        match self
            .authz
            .check(&ctx.principal, action, target, &ctx.facts())
        {
            Ok(()) => Ok(()),
            Err(err) => {
                self.metrics.denials.inc();
                // Anonymous denials: the first per address and window is recorded, the rest
                // are summarized (see `crate::denials`).
                let record = ctx.principal != Principal::Anonymous
                    || self.denials.admit(ctx.ip, action, self.now());
                if record {
                    let event = ctx
                        .event(&format!("authz.denied.{action}"), audit_kind, audit_id)
                        .outcome(Outcome::Denied)
                        .build()?;
                    self.record(&event).await?;
                }
                // Nobody signed in: the answer is "sign in", not "forbidden".
                if ctx.principal == Principal::Anonymous
                    && !matches!(action, "register" | "login")
                    && matches!(err, Error::Forbidden { .. })
                {
                    return Err(Error::Unauthorized(format!("sign in to {action}")));
                }
                Err(err)
            }
        }
    }

    /// Authorizes `action` on the platform itself (registration, own root, observability,
    /// administration).
    pub async fn authorize_platform(&self, ctx: &Ctx, action: &str) -> Result<()> {
        let m = self.memberships_of(ctx).await?;
        self.authorize(ctx, action, &Target::Platform(m), "platform", "strongroom")
            .await
    }

    /// The signed-in caller's groups, team roles and attributes (one store query; nothing to
    /// load for anybody else), so that platform and account decisions see what file decisions
    /// see.
    async fn memberships_of(&self, ctx: &Ctx) -> Result<crate::authz::Memberships> {
        if ctx.principal.user_id().is_none() {
            return Ok(Default::default());
        }
        let (_, m) = grants::access(self.memberships.as_ref(), &ctx.principals(), &[]).await?;
        Ok(m)
    }

    /// Authorizes the signed-in caller to manage their own account; returns their user id.
    pub async fn authorize_own_account(&self, ctx: &Ctx) -> Result<String> {
        let user = ctx.user_id()?.to_owned();
        let m = self.memberships_of(ctx).await?;
        let target = Target::Account(user.clone(), m);
        self.authorize(ctx, "manage_account", &target, "user", &user)
            .await?;
        Ok(user)
    }

    /// Records the summaries of anonymous denials whose window closed (all of them with
    /// `everything`, at shutdown); returns how many summaries were written.
    pub async fn flush_denials(&self, everything: bool) -> Result<usize> {
        let summaries = self.denials.drain(self.now(), everything);
        for s in &summaries {
            let mut ctx = self.system_ctx();
            ctx.ip = s.ip;
            let mut event = ctx
                .event("authz.denied.summary", "platform", "strongroom")
                .outcome(Outcome::Denied)
                .attr("count", s.suppressed)
                .attr("since", rfc3339(s.since_micros))
                .attr(
                    "actions",
                    serde_json::to_value(&s.actions).unwrap_or_default(),
                );
            if s.ip.is_unspecified() {
                event = event.attr("sources", "many");
            }
            self.record(&event.build()?).await?;
        }
        Ok(summaries.len())
    }
}

/// Microseconds to RFC 3339.
pub fn rfc3339(micros: i64) -> String {
    jiff::Timestamp::from_microsecond(micros)
        .map(|t| t.to_string())
        .unwrap_or_default()
}
