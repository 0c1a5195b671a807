//! Invitations to join the platform or a team (the `invitations` table). Accepting one writes
//! what it grants (the new account, the team membership, the administrator flag) in the same
//! transaction, so an invitation is used exactly once and never half.

use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use strongroom_audit::AuditEvent;

use super::Result;
use super::users::UserRecord;

/// An invitation as stored (times in microseconds since the epoch).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationRecord {
    /// Id.
    pub id: String,
    /// SHA-256 (hex) of the token; the token itself is never stored.
    pub token_hash: String,
    /// Who is invited (normalized).
    pub email: String,
    /// The team it is to, if any (`None`: the platform).
    pub team_id: Option<String>,
    /// A team role (`admin`, `editor`, `guest`) or, for the platform, `member` or `admin`.
    pub role: String,
    /// Who invited.
    pub invited_by: String,
    /// Created.
    pub created_at: i64,
    /// Unusable from then on.
    pub expires_at: i64,
    /// When it was accepted, if it was.
    pub accepted_at: Option<i64>,
    /// The account that accepted it.
    pub accepted_by: Option<String>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
}

impl InvitationRecord {
    /// Neither accepted nor revoked, and not expired at `now`.
    pub fn open_at(&self, now: i64) -> bool {
        self.accepted_at.is_none() && self.revoked_at.is_none() && now < self.expires_at
    }
}

/// Which invitations to list.
#[derive(Debug, Clone, Copy)]
pub enum Invitations<'a> {
    /// To this team.
    ToTeam(&'a str),
    /// Sent by this user.
    SentBy(&'a str),
}

/// Who accepts an invitation.
#[derive(Debug, Clone)]
pub enum Accepter<'a> {
    /// An account that exists, by id.
    Existing(&'a str),
    /// An account to create with the acceptance.
    New(&'a UserRecord),
}

/// The rule `accept` and `reissue` keep: only an open invitation is used or renewed.
pub(crate) const INVITATION_CLOSED: &str =
    "the invitation was already used, revoked, or has expired";

/// The invitations.
///
/// Contract (checked by [`super::conformance`]): `accept` uses an open invitation once: the
/// token hash must match, it must be neither accepted nor revoked nor expired at `at`
/// (otherwise `Conflict`, [`INVITATION_CLOSED`], and nothing is written), and in the same
/// transaction it creates the new account (`Conflict` if the e-mail is taken meanwhile), adds
/// the team membership (keeping a role the account already has) or sets the administrator flag;
/// `reissue` replaces the token hash and expiry (which must lie after `now`) of an invitation
/// neither accepted nor revoked, expired ones included (`Conflict` otherwise); `revoke` closes an
/// open one (false when it was not open); a missing invitation is `NotFound`. Every write
/// records its event in the same transaction.
#[async_trait]
pub trait InvitationStore: Debug + Send + Sync + 'static {
    /// Stores a new invitation.
    async fn create(&self, invitation: &InvitationRecord, event: &AuditEvent) -> Result<()>;
    /// One invitation.
    async fn get(&self, id: &str) -> Result<Option<InvitationRecord>>;
    /// Invitations, newest first (at most 1000).
    async fn list(&self, which: Invitations<'_>) -> Result<Vec<InvitationRecord>>;
    /// Gives an invitation not accepted or revoked (expired or not) a new token and expiry.
    async fn reissue(
        &self,
        id: &str,
        token_hash: &str,
        expires_at: i64,
        now: i64,
        event: &AuditEvent,
    ) -> Result<()>;
    /// Revokes an open invitation at `at`.
    async fn revoke(&self, id: &str, at: i64, event: &AuditEvent) -> Result<bool>;
    /// Uses invitation `id` (whose token hashes to `token_hash`) for `by` at `at`.
    async fn accept(
        &self,
        id: &str,
        token_hash: &str,
        by: Accepter<'_>,
        at: i64,
        event: &AuditEvent,
    ) -> Result<()>;
}

/// An invitation store behind a pointer.
pub type DynInvitationStore = dyn InvitationStore;

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<T: InvitationStore + ?Sized> InvitationStore for Arc<T> {
    async fn create(&self, invitation: &InvitationRecord, event: &AuditEvent) -> Result<()> {
        (**self).create(invitation, event).await
    }
    async fn get(&self, id: &str) -> Result<Option<InvitationRecord>> {
        (**self).get(id).await
    }
    async fn list(&self, which: Invitations<'_>) -> Result<Vec<InvitationRecord>> {
        (**self).list(which).await
    }
    async fn reissue(
        &self,
        id: &str,
        token_hash: &str,
        expires_at: i64,
        now: i64,
        event: &AuditEvent,
    ) -> Result<()> {
        (**self)
            .reissue(id, token_hash, expires_at, now, event)
            .await
    }
    async fn revoke(&self, id: &str, at: i64, event: &AuditEvent) -> Result<bool> {
        (**self).revoke(id, at, event).await
    }
    async fn accept(
        &self,
        id: &str,
        token_hash: &str,
        by: Accepter<'_>,
        at: i64,
        event: &AuditEvent,
    ) -> Result<()> {
        (**self).accept(id, token_hash, by, at, event).await
    }
}
