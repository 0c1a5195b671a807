//! Brute-force protection for sign-in: failed attempts counted per account and per client
//! address in the database (so every server on one PostgreSQL sees the same counts), delays that
//! double with each failure past the free ones, and a lock after too many that only an
//! administrator or a password reset lifts.
//!
//! An address without an account is counted like an account (`email:<address>`), and the
//! answers are the same, so the delays and the lock tell nobody which addresses have accounts.

use std::sync::Arc;

use serde::Serialize;
use strongroom_audit::Outcome;
use utoipa::ToSchema;

use super::{Ctx, Guard, names, rfc3339};
use crate::error::{Error, Result};
use crate::store::throttle::{Admission, FailureRecord, Rules};
use crate::store::{DynThrottleStore, DynUserStore, UserKey};

/// The rules for accounts and for client addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutRules {
    /// Per account (and per address without an account).
    pub account: Rules,
    /// Per client IP (delays only: a lock on an address would lock out everyone behind it).
    pub ip: Rules,
}

/// An attempt let through: what to forgive or confirm once the password is checked.
#[derive(Debug)]
#[must_use = "report how the attempt ended"]
pub struct Attempt {
    account: String,
    ip: String,
    /// The delay this attempt set on the address.
    ip_until: i64,
    /// The account's id, when the address has one.
    user_id: Option<String>,
    email: String,
    /// This attempt's number among the account's failures.
    pub n: u32,
}

/// A locked account, as administrators see it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LockedAccount {
    /// The user id (absent for an address without an account).
    pub user_id: Option<String>,
    /// The e-mail address (of the account, or the one tried).
    pub email: Option<String>,
    /// Failed attempts counted.
    pub failures: u32,
    /// Locked at (RFC 3339).
    pub locked_at: String,
    /// The last attempt (RFC 3339).
    pub last_attempt_at: String,
}

/// A page of locked accounts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LockedPage {
    /// Oldest lock first.
    pub items: Vec<LockedAccount>,
    /// Pass as `after` for the next page.
    pub next: Option<String>,
}

/// See the module docs.
#[derive(Debug, Clone)]
pub struct Lockout {
    store: Arc<DynThrottleStore>,
    users: Arc<DynUserStore>,
    rules: LockoutRules,
    guard: Guard,
}

impl Lockout {
    /// Over the failure counts and the accounts.
    pub fn new(
        store: Arc<DynThrottleStore>,
        users: Arc<DynUserStore>,
        rules: LockoutRules,
        guard: Guard,
    ) -> Lockout {
        Lockout {
            store,
            users,
            rules,
            guard,
        }
    }

    /// Counts a sign-in attempt for `email` (normalized) from the caller's address, before its
    /// password is checked; refuses it (429 with the seconds to wait, or 403 when locked) and
    /// audits the refusal when the address or the account must wait.
    pub async fn admit(&self, ctx: &Ctx, email: &str, user_id: Option<&str>) -> Result<Attempt> {
        let now = self.guard.now();
        let account = match user_id {
            Some(id) => format!("user:{id}"),
            None => format!("email:{email}"),
        };
        let ip = format!("ip:{}", ctx.ip);
        let refused = match self.store.admit(&ip, &self.rules.ip, now).await? {
            Admission::Go {
                until: ip_until, ..
            } => match self.store.admit(&account, &self.rules.account, now).await? {
                Admission::Go { n, .. } => {
                    return Ok(Attempt {
                        account,
                        ip,
                        ip_until,
                        user_id: user_id.map(str::to_owned),
                        email: email.to_owned(),
                        n,
                    });
                }
                other => (other, "account"),
            },
            other => (other, "address"),
        };
        let (admission, scope) = refused;
        self.guard.metrics.auth_failures.inc();
        self.guard.metrics.logins_throttled.inc();
        let event = ctx
            .event("auth.login.throttled", "user", user_id.unwrap_or("-"))
            .attr("email", email)
            .attr("scope", scope)
            .attr("locked", admission == Admission::Locked)
            .outcome(Outcome::Denied)
            .build()?;
        self.guard.record(&event).await?;
        Err(match admission {
            Admission::Wait { secs } => Error::TooManyRequests(
                format!("too many failed sign-ins for this {scope}: try again in {secs} s"),
                secs,
            ),
            _ => Error::Forbidden {
                detail: "this account is locked after too many failed sign-ins; a password reset or an administrator unlocks it".into(),
                explanation: None,
            },
        })
    }

    /// The password was right: the account's failures are forgotten, and this attempt no longer
    /// counts against the address.
    pub async fn succeeded(&self, attempt: Attempt) -> Result<()> {
        self.store.forgive(&attempt.account).await?;
        self.store.refund(&attempt.ip, attempt.ip_until).await?;
        Ok(())
    }

    /// The password was wrong: locks the account when this failure reaches the limit (audited
    /// as `auth.account.locked`).
    pub async fn failed(&self, ctx: &Ctx, attempt: Attempt) -> Result<()> {
        if !self.rules.account.locks(attempt.n) {
            return Ok(());
        }
        let event = ctx
            .event(
                "auth.account.locked",
                "user",
                attempt.user_id.as_deref().unwrap_or("-"),
            )
            .attr("email", attempt.email.as_str())
            .attr("failures", attempt.n)
            .outcome(Outcome::Success)
            .build()?;
        let now = self.guard.now();
        if self
            .store
            .confirm_failure(&attempt.account, &self.rules.account, now, &event)
            .await?
        {
            self.guard.metrics.accounts_locked.inc();
            tracing::warn!(
                user = attempt.user_id.as_deref().unwrap_or("-"),
                failures = attempt.n,
                "account locked after failed sign-ins"
            );
        }
        Ok(())
    }

    /// Locked accounts (administrators), oldest lock first.
    pub async fn locked(&self, ctx: &Ctx, after: Option<&str>, limit: u32) -> Result<LockedPage> {
        self.guard.authorize_platform(ctx, "administer").await?;
        if !(1..=1000).contains(&limit) {
            return Err(Error::Invalid("limit must be between 1 and 1000".into()));
        }
        let rows = self.store.locked(after, limit + 1).await?;
        let more = rows.len() > limit as usize;
        let mut items = Vec::with_capacity(rows.len().min(limit as usize));
        let mut next = None;
        for row in rows.into_iter().take(limit as usize) {
            next = Some(row.subject.clone());
            items.push(self.view(row).await?);
        }
        Ok(LockedPage {
            items,
            next: next.filter(|_| more),
        })
    }

    async fn view(&self, row: FailureRecord) -> Result<LockedAccount> {
        let (user_id, email) = match row.subject.split_once(':') {
            Some(("user", id)) => {
                let email = self.users.get(UserKey::Id(id)).await?.map(|u| u.email);
                (Some(id.to_owned()), email)
            }
            Some(("email", e)) => (None, Some(e.to_owned())),
            _ => (None, None),
        };
        Ok(LockedAccount {
            user_id,
            email,
            failures: row.failures,
            locked_at: rfc3339(row.locked_at.unwrap_or_default()),
            last_attempt_at: rfc3339(row.last_attempt_at),
        })
    }

    /// Lifts the lock on an account (administrators; audited as `auth.account.unlocked`); 404
    /// when it is not locked.
    pub async fn unlock(&self, ctx: &Ctx, user_id: &str) -> Result<()> {
        self.guard.authorize_platform(ctx, "administer").await?;
        let id = names::id(user_id)?;
        let event = ctx.event("auth.account.unlocked", "user", &id).build()?;
        match self.store.unlock(&format!("user:{id}"), &event).await {
            Err(crate::store::Error::NotFound) => {
                Err(Error::NotFound("that account is not locked".into()))
            }
            other => Ok(other?),
        }
    }

    /// Forgets an account's failures and lifts its lock (a password reset does, with its own
    /// event).
    pub async fn clear(&self, user_id: &str) -> Result<()> {
        Ok(self.store.clear(&format!("user:{user_id}")).await?)
    }

    /// Deletes idle failure counts and past rate windows (a background task).
    pub async fn prune(&self) -> Result<u64> {
        let keep = self
            .rules
            .account
            .forget_after_secs
            .max(self.rules.ip.forget_after_secs)
            .max(120);
        let before = self
            .guard
            .now()
            .saturating_sub(i64::try_from(keep.saturating_mul(1_000_000)).unwrap_or(i64::MAX));
        Ok(self.store.prune(before).await?)
    }
}
