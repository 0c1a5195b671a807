//! Invitations in memory.

use async_trait::async_trait;
use strongroom_audit::AuditEvent;

use super::MemoryStore;
use crate::store::invitations::{
    Accepter, INVITATION_CLOSED, InvitationRecord, InvitationStore, Invitations,
};
use crate::store::{EMAIL_TAKEN, Error, Result};

#[async_trait]
impl InvitationStore for MemoryStore {
    async fn create(&self, inv: &InvitationRecord, event: &AuditEvent) -> Result<()> {
        let mut s = self.lock();
        if s.invitations.contains_key(&inv.id)
            || s.invitations
                .values()
                .any(|i| i.token_hash == inv.token_hash)
        {
            return Err(Error::Conflict("that invitation already exists".into()));
        }
        if inv
            .team_id
            .as_ref()
            .is_some_and(|t| !s.teams.contains_key(t))
        {
            return Err(Error::NotFound);
        }
        s.invitations.insert(inv.id.clone(), inv.clone());
        s.events.push(event.clone());
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<InvitationRecord>> {
        Ok(self.lock().invitations.get(id).cloned())
    }

    async fn list(&self, which: Invitations<'_>) -> Result<Vec<InvitationRecord>> {
        let s = self.lock();
        let mut out: Vec<InvitationRecord> = s
            .invitations
            .values()
            .filter(|i| match which {
                Invitations::ToTeam(t) => i.team_id.as_deref() == Some(t),
                Invitations::SentBy(u) => i.invited_by == u,
            })
            .cloned()
            .collect();
        out.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        out.truncate(1000);
        Ok(out)
    }

    async fn reissue(
        &self,
        id: &str,
        token_hash: &str,
        expires_at: i64,
        now: i64,
        event: &AuditEvent,
    ) -> Result<()> {
        let mut s = self.lock();
        let inv = s.invitations.get_mut(id).ok_or(Error::NotFound)?;
        if inv.accepted_at.is_some() || inv.revoked_at.is_some() || expires_at <= now {
            return Err(Error::Conflict(INVITATION_CLOSED.into()));
        }
        inv.token_hash = token_hash.to_owned();
        inv.expires_at = expires_at;
        s.events.push(event.clone());
        Ok(())
    }

    async fn revoke(&self, id: &str, at: i64, event: &AuditEvent) -> Result<bool> {
        let mut s = self.lock();
        let inv = s.invitations.get_mut(id).ok_or(Error::NotFound)?;
        if !inv.open_at(at) {
            return Ok(false);
        }
        inv.revoked_at = Some(at);
        s.events.push(event.clone());
        Ok(true)
    }

    async fn accept(
        &self,
        id: &str,
        token_hash: &str,
        by: Accepter<'_>,
        at: i64,
        event: &AuditEvent,
    ) -> Result<()> {
        let mut s = self.lock();
        let inv = s.invitations.get(id).cloned().ok_or(Error::NotFound)?;
        if inv.token_hash != token_hash || !inv.open_at(at) {
            return Err(Error::Conflict(INVITATION_CLOSED.into()));
        }
        if inv
            .team_id
            .as_ref()
            .is_some_and(|t| !s.teams.contains_key(t))
        {
            return Err(Error::NotFound);
        }
        let user = match by {
            Accepter::Existing(u) => {
                if !s.users.contains_key(u) {
                    return Err(Error::NotFound);
                }
                u.to_owned()
            }
            Accepter::New(u) => {
                if s.users.values().any(|x| x.email == u.email) || s.users.contains_key(&u.id) {
                    return Err(Error::Conflict(EMAIL_TAKEN.into()));
                }
                s.users.insert(u.id.clone(), u.clone());
                u.id.clone()
            }
        };
        match &inv.team_id {
            Some(team) => {
                s.team_members
                    .entry((team.clone(), user.clone()))
                    .or_insert_with(|| (inv.role.clone(), inv.invited_by.clone(), at));
            }
            None if inv.role == "admin" => {
                if let Some(u) = s.users.get_mut(&user) {
                    u.is_admin = true;
                    u.updated_at = at;
                }
            }
            None => {}
        }
        if let Some(i) = s.invitations.get_mut(id) {
            i.accepted_at = Some(at);
            i.accepted_by = Some(user);
        }
        s.events.push(event.clone());
        Ok(())
    }
}
