//! Invitations: an administrator asks an e-mail address to join the platform (as a member or an
//! administrator), or a team admin asks one to join a team (as admin, editor or guest).
//!
//! The invitation is a token signed by the server (HMAC-SHA256 over its id, a random nonce,
//! the address and the expiry, under a key in the keys directory) and stored only as its
//! SHA-256. It works once, until it expires or is revoked; a resend replaces it. Accepting it
//! signed in needs the invited address to be the caller's; accepting it signed out creates the
//! account (even with registration closed). It is mailed through `[smtp]` when configured;
//! otherwise the inviter is given the link to pass on.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha2::Sha256;
use utoipa::ToSchema;
use zeroize::Zeroizing;

use super::accounts::hash_password;
use super::{Ctx, Guard, Teams, names, rfc3339};
use crate::error::{Error, Result};
use crate::mail::Mailer;
use crate::store::{
    Accepter, DynInvitationStore, DynUserStore, InvitationRecord, Invitations as Which, UserKey,
    UserRecord,
};
use crate::token::{random_token, token_hash};

/// How long an invitation lasts unless the inviter says otherwise.
const DEFAULT_TTL_MICROS: i64 = 7 * 86_400 * 1_000_000;
/// The longest an invitation may last.
const MAX_TTL_MICROS: i64 = 30 * 86_400 * 1_000_000;
/// The token format's prefix (version 1).
const PREFIX: &str = "sri1";

type HmacSha256 = Hmac<Sha256>;

/// An invitation as its inviter (or its recipient, following the link) sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Invitation {
    /// Id.
    pub id: String,
    /// Who is invited.
    pub email: String,
    /// The team it is to (`null`: the platform).
    pub team_id: Option<String>,
    /// The team's name.
    pub team_name: Option<String>,
    /// A team role (`admin`, `editor`, `guest`), or `member` or `admin` of the platform.
    pub role: String,
    /// Who invited.
    pub invited_by: String,
    /// When (RFC 3339).
    pub created_at: String,
    /// Until when it can be accepted (RFC 3339).
    pub expires_at: String,
    /// `open`, `accepted`, `revoked` or `expired`.
    pub status: String,
    /// The account that accepted it.
    pub accepted_by: Option<String>,
}

/// An invitation just made or resent, and how it travels.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Sent {
    /// The invitation.
    #[serde(flatten)]
    pub invitation: Invitation,
    /// `email` (mailed), `link` (no mail configured: pass `link` on yourself) or `failed` (the
    /// mail server refused; resend later).
    pub delivery: String,
    /// The link to accept it, only when it was not mailed (`delivery` is `link`).
    pub link: Option<String>,
    /// Why mailing failed.
    pub delivery_error: Option<String>,
}

/// What accepting did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Accepted {
    /// The account (new or existing).
    pub user_id: String,
    /// Its e-mail.
    pub email: String,
    /// Whether the account was created by accepting (sign in with the password given).
    pub new_account: bool,
    /// The team joined, if any.
    pub team_id: Option<String>,
    /// The role given.
    pub role: String,
}

/// A new account's details, for accepting signed out.
#[derive(Debug, Clone, Copy, Default)]
pub struct NewAccount<'a> {
    /// Display name.
    pub name: Option<&'a str>,
    /// Password.
    pub password: Option<&'a str>,
}

/// The invitations service.
#[derive(Debug, Clone)]
pub struct Invitations {
    store: Arc<DynInvitationStore>,
    users: Arc<DynUserStore>,
    teams: Teams,
    key: Arc<Zeroizing<Vec<u8>>>,
    mailer: Option<Mailer>,
    public_url: String,
    guard: Guard,
}

impl Invitations {
    /// Over the invitation and account stores and the teams service, signing with `key`,
    /// mailing with `mailer` when there is one, linking to `public_url`.
    pub fn new(
        store: Arc<DynInvitationStore>,
        users: Arc<DynUserStore>,
        teams: Teams,
        key: Arc<Zeroizing<Vec<u8>>>,
        mailer: Option<Mailer>,
        public_url: String,
        guard: Guard,
    ) -> Invitations {
        Invitations {
            store,
            users,
            teams,
            key,
            mailer,
            public_url,
            guard,
        }
    }

    fn mac(&self, id: &str, nonce: &str, email: &str, expires_at: i64) -> HmacSha256 {
        let mut mac =
            <HmacSha256 as KeyInit>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(format!("{PREFIX}\n{id}\n{nonce}\n{email}\n{expires_at}").as_bytes());
        mac
    }

    /// A fresh signed token for invitation `id`.
    fn token(&self, id: &str, email: &str, expires_at: i64) -> String {
        let nonce = random_token("", 32);
        let tag = self
            .mac(id, &nonce, email, expires_at)
            .finalize()
            .into_bytes();
        format!("{PREFIX}.{id}.{nonce}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// The invitation `token` is for, if its signature holds and it is the current token.
    /// Anything else (malformed, tampered, unknown, replaced) is the same "not found".
    async fn verified(&self, token: &str) -> Result<InvitationRecord> {
        let missing = || Error::NotFound("no such invitation (check the link)".into());
        let mut parts = token.split('.');
        let (Some(PREFIX), Some(id), Some(nonce), Some(tag), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(missing());
        };
        let id = names::id(id).map_err(|_| missing())?;
        let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| missing())?;
        let record = self.store.get(&id).await?.ok_or_else(missing)?;
        // Constant-time; then the stored hash, which a resend replaced.
        self.mac(&id, nonce, &record.email, record.expires_at)
            .verify_slice(&tag)
            .map_err(|_| missing())?;
        if token_hash(token) != record.token_hash {
            return Err(missing());
        }
        Ok(record)
    }

    fn view(&self, r: InvitationRecord, team_name: Option<String>) -> Invitation {
        let now = self.guard.now();
        let status = if r.accepted_at.is_some() {
            "accepted"
        } else if r.revoked_at.is_some() {
            "revoked"
        } else if now >= r.expires_at {
            "expired"
        } else {
            "open"
        };
        Invitation {
            id: r.id,
            email: r.email,
            team_id: r.team_id,
            team_name,
            role: r.role,
            invited_by: r.invited_by,
            created_at: rfc3339(r.created_at),
            expires_at: rfc3339(r.expires_at),
            status: status.into(),
            accepted_by: r.accepted_by,
        }
    }

    /// Authorizes inviting to `team` (its admins) or to the platform (administrators);
    /// the team's name.
    async fn authorize_invite(&self, ctx: &Ctx, team: Option<&str>) -> Result<Option<String>> {
        match team {
            Some(t) => Ok(Some(
                self.teams
                    .authorized_team(ctx, "manage_team", t)
                    .await?
                    .name,
            )),
            None => {
                self.guard.authorize_platform(ctx, "administer").await?;
                Ok(None)
            }
        }
    }

    /// Invites `email` with `role` to `team` (team admins) or to the platform (administrators:
    /// `member` or `admin`), until `expires_at` (RFC 3339; default in 7 days, at most 30).
    pub async fn invite(
        &self,
        ctx: &Ctx,
        email: &str,
        team: Option<&str>,
        role: &str,
        expires_at: Option<&str>,
    ) -> Result<Sent> {
        let team_name = self.authorize_invite(ctx, team).await?;
        let email = names::email(email)?;
        let role = match team {
            Some(_) => super::teams::role(role)?,
            None => match role {
                "member" => "member",
                "admin" => "admin",
                _ => {
                    return Err(Error::Invalid(
                        "a platform invitation's role is member or admin".into(),
                    ));
                }
            },
        };
        let inviter = ctx.user_id()?.to_owned();
        let me = self.users.get(UserKey::Id(&inviter)).await?;
        if me.is_some_and(|u| u.email == email) {
            return Err(Error::Invalid("you cannot invite yourself".into()));
        }
        let now = self.guard.now();
        let expires = expiry(now, expires_at)?;
        let id = uuid::Uuid::now_v7().to_string();
        let token = self.token(&id, &email, expires);
        let record = InvitationRecord {
            id: id.clone(),
            token_hash: token_hash(&token),
            email: email.clone(),
            team_id: team.map(str::to_owned),
            role: role.to_owned(),
            invited_by: inviter,
            created_at: now,
            expires_at: expires,
            accepted_at: None,
            accepted_by: None,
            revoked_at: None,
        };
        let mut event = ctx
            .event("invitation.created", "invitation", &id)
            .attr("email", email.as_str())
            .attr("role", role)
            .attr("expires_at", rfc3339(expires));
        if let Some(t) = team {
            event = event.attr("team", t);
        }
        self.store
            .create(&record, &event.build()?)
            .await
            .map_err(|e| match e {
                crate::store::Error::NotFound => Error::NotFound("no such team".into()),
                e => e.into(),
            })?;
        self.deliver(ctx, record, team_name, &token).await
    }

    /// Mails the invitation when mail is configured; otherwise hands back the link.
    async fn deliver(
        &self,
        ctx: &Ctx,
        record: InvitationRecord,
        team_name: Option<String>,
        token: &str,
    ) -> Result<Sent> {
        let link = format!("{}/invitations/accept?token={token}", self.public_url);
        let id = record.id.clone();
        let to = record.email.clone();
        let invitation = self.view(record, team_name);
        let Some(mailer) = &self.mailer else {
            return Ok(Sent {
                invitation,
                delivery: "link".into(),
                link: Some(link),
                delivery_error: None,
            });
        };
        let what = match &invitation.team_name {
            Some(t) => format!("the team \"{t}\" as {}", invitation.role),
            None => format!("Strongroom as {}", invitation.role),
        };
        let body = format!(
            "You are invited to join {what} at {}.\n\nAccept: {link}\n\nThe link works once, \
             until {}. If you did not expect this invitation, ignore it.\n",
            self.public_url, invitation.expires_at
        );
        let result = mailer
            .send(&to, "You are invited to Strongroom", body)
            .await;
        let (action, error) = match &result {
            Ok(()) => ("invitation.mailed", None),
            Err(e) => ("invitation.mail_failed", Some(e.clone())),
        };
        let mut event = ctx.event(action, "invitation", &id);
        if let Some(e) = &error {
            event = event
                .attr("error", e.as_str())
                .outcome(strongroom_audit::Outcome::Failure);
        }
        self.guard.record(&event.build()?).await?;
        Ok(Sent {
            invitation,
            delivery: if error.is_none() { "email" } else { "failed" }.into(),
            link: None,
            delivery_error: error,
        })
    }

    /// An invitation its inviter may act on: the rights to invite to its team (or the
    /// platform) held now.
    async fn actionable(&self, ctx: &Ctx, id: &str) -> Result<(InvitationRecord, Option<String>)> {
        let missing = || Error::NotFound("no such invitation".into());
        let id = names::id(id).map_err(|_| missing())?;
        let record = self.store.get(&id).await?.ok_or_else(missing)?;
        let name = self
            .authorize_invite(ctx, record.team_id.as_deref())
            .await
            .map_err(|e| match e {
                Error::NotFound(_) => missing(),
                e => e,
            })?;
        Ok((record, name))
    }

    /// Sends an invitation again (an expired one too, not a used or revoked one), with a new
    /// token (the old link stops working) and a new expiry as long as the first.
    pub async fn resend(&self, ctx: &Ctx, id: &str) -> Result<Sent> {
        let (record, team_name) = self.actionable(ctx, id).await?;
        let now = self.guard.now();
        let ttl = (record.expires_at - record.created_at).clamp(1, MAX_TTL_MICROS);
        let expires = now.saturating_add(ttl);
        let token = self.token(&record.id, &record.email, expires);
        let event = ctx
            .event("invitation.resent", "invitation", &record.id)
            .attr("expires_at", rfc3339(expires))
            .build()?;
        self.store
            .reissue(&record.id, &token_hash(&token), expires, now, &event)
            .await
            .map_err(closed)?;
        let record = self
            .store
            .get(&record.id)
            .await?
            .ok_or_else(|| Error::NotFound("no such invitation".into()))?;
        self.deliver(ctx, record, team_name, &token).await
    }

    /// Revokes an open invitation.
    pub async fn revoke(&self, ctx: &Ctx, id: &str) -> Result<()> {
        let (record, _) = self.actionable(ctx, id).await?;
        let event = ctx
            .event("invitation.revoked", "invitation", &record.id)
            .build()?;
        if !self
            .store
            .revoke(&record.id, self.guard.now(), &event)
            .await?
        {
            return Err(Error::Gone(
                "the invitation was already used, revoked, or has expired".into(),
            ));
        }
        Ok(())
    }

    /// The invitations the caller sent, newest first.
    pub async fn sent(&self, ctx: &Ctx) -> Result<Vec<Invitation>> {
        let me = self.guard.authorize_own_account(ctx).await?;
        let list = self.store.list(Which::SentBy(&me)).await?;
        Ok(list.into_iter().map(|r| self.view(r, None)).collect())
    }

    /// The invitations to a team, newest first (its admins).
    pub async fn of_team(&self, ctx: &Ctx, team: &str) -> Result<Vec<Invitation>> {
        let t = self.teams.authorized_team(ctx, "manage_team", team).await?;
        let list = self.store.list(Which::ToTeam(&t.id)).await?;
        Ok(list
            .into_iter()
            .map(|r| self.view(r, Some(t.name.clone())))
            .collect())
    }

    /// What the invitation with `token` offers (anyone holding the link).
    pub async fn describe(&self, ctx: &Ctx, token: &str) -> Result<Invitation> {
        self.guard
            .authorize_platform(ctx, "accept_invitation")
            .await?;
        let record = self.verified(token).await?;
        let name = self.team_name(&record).await?;
        Ok(self.view(record, name))
    }

    async fn team_name(&self, record: &InvitationRecord) -> Result<Option<String>> {
        Ok(match &record.team_id {
            Some(t) => self.teams.name_of(t).await?,
            None => None,
        })
    }

    /// Accepts the invitation with `token`: signed in, as the invited address's account;
    /// signed out, creating that account from `new` (an existing account signs in first).
    pub async fn accept(&self, ctx: &Ctx, token: &str, new: NewAccount<'_>) -> Result<Accepted> {
        self.guard
            .authorize_platform(ctx, "accept_invitation")
            .await?;
        let record = self.verified(token).await?;
        let now = self.guard.now();
        if let Some(reason) = closed_reason(&record, now) {
            return Err(Error::Gone(reason.into()));
        }
        let existing = self.users.get(UserKey::Email(&record.email)).await?;
        let (by_existing, new_user) = match (ctx.principal.user_id(), existing) {
            (Some(me), Some(account)) if account.id == me => (Some(account.id), None),
            (Some(_), _) => {
                return Err(Error::Forbidden {
                    detail: "this invitation was sent to another address: sign in as that \
                             account (or sign out to create it) and accept again"
                        .into(),
                    explanation: None,
                });
            }
            (None, Some(_)) => {
                return Err(Error::Conflict(
                    "an account with the invited address exists: sign in as it and accept again"
                        .into(),
                ));
            }
            (None, None) => {
                let name = names::display_name(new.name.ok_or_else(|| {
                    Error::Invalid("give a name and a password for the new account".into())
                })?)?;
                let password = new.password.ok_or_else(|| {
                    Error::Invalid("give a name and a password for the new account".into())
                })?;
                names::password(password)?;
                let hash = hash_password(password.to_owned()).await?;
                let user = UserRecord {
                    id: uuid::Uuid::now_v7().to_string(),
                    email: record.email.clone(),
                    name,
                    password_hash: hash,
                    is_admin: false,
                    disabled_at: None,
                    created_at: now,
                    updated_at: now,
                    quota: crate::store::Quota::NONE,
                    attributes: Default::default(),
                };
                (None, Some(user))
            }
        };
        let user_id = by_existing
            .clone()
            .or_else(|| new_user.as_ref().map(|u| u.id.clone()))
            .ok_or_else(|| Error::Internal("accepter".into()))?;
        let mut event = ctx
            .event("invitation.accepted", "invitation", &record.id)
            .attr("user", user_id.as_str())
            .attr("role", record.role.as_str())
            .attr("new_account", new_user.is_some());
        if let Some(t) = &record.team_id {
            event = event.attr("team", t.as_str());
        }
        let by = match (&by_existing, &new_user) {
            (Some(id), _) => Accepter::Existing(id),
            (None, Some(u)) => Accepter::New(u),
            (None, None) => return Err(Error::Internal("accepter".into())),
        };
        self.store
            .accept(&record.id, &record.token_hash, by, now, &event.build()?)
            .await
            .map_err(closed)?;
        Ok(Accepted {
            user_id,
            email: record.email,
            new_account: new_user.is_some(),
            team_id: record.team_id,
            role: record.role,
        })
    }
}

/// Why an invitation cannot be used at `now`, if it cannot.
fn closed_reason(r: &InvitationRecord, now: i64) -> Option<&'static str> {
    if r.accepted_at.is_some() {
        Some("the invitation was already used")
    } else if r.revoked_at.is_some() {
        Some("the invitation was revoked")
    } else if now >= r.expires_at {
        Some("the invitation has expired: ask for it to be resent")
    } else {
        None
    }
}

/// A store refusal of a closed invitation is 410; the rest as usual.
fn closed(e: crate::store::Error) -> Error {
    match e {
        crate::store::Error::Conflict(m) if m == crate::store::INVITATION_CLOSED => Error::Gone(m),
        crate::store::Error::NotFound => Error::NotFound("no such invitation".into()),
        e => e.into(),
    }
}

/// The expiry asked for (RFC 3339), or the default: in the future, at most 30 days ahead.
fn expiry(now: i64, asked: Option<&str>) -> Result<i64> {
    let Some(text) = asked else {
        return Ok(now.saturating_add(DEFAULT_TTL_MICROS));
    };
    let at: jiff::Timestamp = text
        .parse()
        .map_err(|_| Error::Invalid(format!("expires_at {text:?} is not an RFC 3339 time")))?;
    let micros = at.as_microsecond();
    if micros <= now {
        return Err(Error::Invalid("expires_at must be in the future".into()));
    }
    if micros - now > MAX_TTL_MICROS {
        return Err(Error::Invalid("an invitation lasts at most 30 days".into()));
    }
    Ok(micros)
}

#[cfg(test)]
mod tests {
    use super::expiry;

    #[test]
    fn expiries() {
        let now = 1_900_000_000_000_000;
        assert_eq!(expiry(now, None).unwrap(), now + super::DEFAULT_TTL_MICROS);
        assert!(expiry(now, Some("yesterday")).is_err());
        assert!(expiry(now, Some("2000-01-01T00:00:00Z")).is_err());
        assert!(
            expiry(now, Some("2100-01-01T00:00:00Z")).is_err(),
            "too far"
        );
    }
}
