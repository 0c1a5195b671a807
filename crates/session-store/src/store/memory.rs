//! The in-memory backend: one mutex around plain maps, so every operation is atomic.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use async_trait::async_trait;

use crate::error::{Error, Result};
use crate::ids::SessionId;
use crate::model::{
    DeviceRecord, RefreshState, RefreshTokenRecord, RevokeReason, RevokeScope, Rotation, Session,
    Successor,
};
use crate::refresh::TokenHash;
use crate::store::SessionStore;

/// A [`SessionStore`] in process memory: for tests, single-node deployments and embedding.
/// Nothing survives a restart.
#[derive(Debug, Default)]
pub struct MemorySessionStore {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    sessions: HashMap<SessionId, Session>,
    by_user: HashMap<String, Vec<SessionId>>,
    tokens: HashMap<TokenHash, RefreshTokenRecord>,
    devices: BTreeMap<(String, String), DeviceRecord>,
}

impl MemorySessionStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Every mutation below completes before the guard drops, so a poisoned lock (a panic
        // in another thread) never leaves the maps half-updated.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

const SESSION: &str = "session";

impl Inner {
    fn revoke_where(
        &mut self,
        ids: Vec<SessionId>,
        at: SystemTime,
        reason: RevokeReason,
    ) -> Vec<SessionId> {
        let mut revoked = Vec::new();
        for id in ids {
            if let Some(session) = self.sessions.get_mut(&id)
                && session.revoked_at.is_none()
            {
                session.revoked_at = Some(at);
                session.revoke_reason = Some(reason);
                revoked.push(id);
            }
        }
        revoked
    }
}

#[async_trait]
impl SessionStore for MemorySessionStore {
    async fn create_session(
        &self,
        session: &Session,
        first_token: &RefreshTokenRecord,
    ) -> Result<()> {
        let mut inner = self.lock();
        if inner.sessions.contains_key(&session.id) {
            return Err(Error::AlreadyExists { what: SESSION });
        }
        if inner.tokens.contains_key(&first_token.hash) {
            return Err(Error::AlreadyExists {
                what: "refresh token",
            });
        }
        inner.sessions.insert(session.id.clone(), session.clone());
        inner
            .by_user
            .entry(session.user_id.clone())
            .or_default()
            .push(session.id.clone());
        inner.tokens.insert(first_token.hash, first_token.clone());
        Ok(())
    }

    async fn session(&self, id: &SessionId) -> Result<Session> {
        self.lock()
            .sessions
            .get(id)
            .cloned()
            .ok_or(Error::NotFound { what: SESSION })
    }

    async fn sessions_for_user(&self, user_id: &str) -> Result<Vec<Session>> {
        let inner = self.lock();
        let mut sessions: Vec<Session> = inner
            .by_user
            .get(user_id)
            .into_iter()
            .flatten()
            .filter_map(|id| inner.sessions.get(id).cloned())
            .collect();
        sessions.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(sessions)
    }

    async fn refresh_token(&self, hash: &TokenHash) -> Result<RefreshTokenRecord> {
        self.lock()
            .tokens
            .get(hash)
            .cloned()
            .ok_or(Error::NotFound {
                what: "refresh token",
            })
    }

    async fn refresh_token_with_session(
        &self,
        hash: &TokenHash,
    ) -> Result<(RefreshTokenRecord, Session)> {
        let inner = self.lock();
        let token = inner.tokens.get(hash).ok_or(Error::NotFound {
            what: "refresh token",
        })?;
        let session = inner
            .sessions
            .get(&token.session_id)
            .ok_or(Error::NotFound { what: SESSION })?;
        Ok((token.clone(), session.clone()))
    }

    async fn rotate(&self, rotation: &Rotation) -> Result<()> {
        let mut inner = self.lock();
        let previous_is_active = inner.tokens.get(&rotation.previous).is_some_and(|t| {
            t.state == RefreshState::Active && t.session_id == rotation.session_id
        });
        if !previous_is_active {
            return Err(Error::Conflict);
        }
        match inner.sessions.get(&rotation.session_id) {
            None => return Err(Error::NotFound { what: SESSION }),
            Some(s) if s.revoked_at.is_some() => return Err(Error::SessionRevoked),
            Some(_) => {}
        }
        if inner.tokens.contains_key(&rotation.next.hash) {
            return Err(Error::AlreadyExists {
                what: "refresh token",
            });
        }
        // All checks passed: apply every change.
        if let Some(previous) = inner.tokens.get_mut(&rotation.previous) {
            previous.state = RefreshState::Rotated;
            previous.rotated_at = Some(rotation.at);
            previous.successor = Some(Successor {
                hash: rotation.next.hash,
                sealed: rotation.sealed_next,
            });
        }
        inner
            .tokens
            .insert(rotation.next.hash, rotation.next.clone());
        if let Some(session) = inner.sessions.get_mut(&rotation.session_id) {
            session.last_used_at = rotation.at;
            session.idle_expires_at = rotation.idle_expires_at;
            if rotation.ip.is_some() {
                session.ip = rotation.ip;
            }
            if rotation.user_agent.is_some() {
                session.user_agent.clone_from(&rotation.user_agent);
            }
        }
        Ok(())
    }

    async fn revoke(
        &self,
        scope: &RevokeScope,
        at: SystemTime,
        reason: RevokeReason,
    ) -> Result<Vec<SessionId>> {
        let mut inner = self.lock();
        let ids = match scope {
            RevokeScope::Session(id) => {
                if !inner.sessions.contains_key(id) {
                    return Err(Error::NotFound { what: SESSION });
                }
                vec![id.clone()]
            }
            RevokeScope::User(user_id) => inner.by_user.get(user_id).cloned().unwrap_or_default(),
            RevokeScope::UserExcept { user_id, keep } => inner
                .by_user
                .get(user_id)
                .into_iter()
                .flatten()
                .filter(|id| *id != keep)
                .cloned()
                .collect(),
        };
        Ok(inner.revoke_where(ids, at, reason))
    }

    async fn record_device(&self, device: &DeviceRecord) -> Result<bool> {
        let mut inner = self.lock();
        let key = (device.user_id.clone(), device.device_id.clone());
        match inner.devices.get_mut(&key) {
            Some(known) => {
                known.last_seen = device.last_seen;
                if device.name.is_some() {
                    known.name.clone_from(&device.name);
                }
                Ok(false)
            }
            None => {
                inner.devices.insert(
                    key,
                    DeviceRecord {
                        trusted_until: None,
                        ..device.clone()
                    },
                );
                Ok(true)
            }
        }
    }

    async fn device(&self, user_id: &str, device_id: &str) -> Result<DeviceRecord> {
        self.lock()
            .devices
            .get(&(user_id.to_owned(), device_id.to_owned()))
            .cloned()
            .ok_or(Error::NotFound { what: "device" })
    }

    async fn devices_for_user(&self, user_id: &str) -> Result<Vec<DeviceRecord>> {
        let inner = self.lock();
        let mut devices: Vec<DeviceRecord> = inner
            .devices
            .range((user_id.to_owned(), String::new())..)
            .take_while(|((user, _), _)| user == user_id)
            .map(|(_, d)| d.clone())
            .collect();
        devices.sort_by(|a, b| (a.first_seen, &a.device_id).cmp(&(b.first_seen, &b.device_id)));
        Ok(devices)
    }

    async fn set_device_trust(
        &self,
        user_id: &str,
        device_id: &str,
        trusted_until: Option<SystemTime>,
    ) -> Result<()> {
        let mut inner = self.lock();
        let device = inner
            .devices
            .get_mut(&(user_id.to_owned(), device_id.to_owned()))
            .ok_or(Error::NotFound { what: "device" })?;
        device.trusted_until = trusted_until;
        Ok(())
    }

    async fn purge_expired(&self, now: SystemTime) -> Result<u64> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let expired: Vec<SessionId> = inner
            .sessions
            .values()
            .filter(|s| s.expires_at <= now || s.idle_expires_at <= now)
            .map(|s| s.id.clone())
            .collect();
        if expired.is_empty() {
            return Ok(0);
        }
        for id in &expired {
            if let Some(session) = inner.sessions.remove(id)
                && let Some(ids) = inner.by_user.get_mut(&session.user_id)
            {
                ids.retain(|other| other != id);
                if ids.is_empty() {
                    inner.by_user.remove(&session.user_id);
                }
            }
        }
        let sessions = &inner.sessions;
        inner
            .tokens
            .retain(|_, t| sessions.contains_key(&t.session_id));
        Ok(expired.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::MemorySessionStore;
    use crate::conformance;
    use crate::store::DynSessionStore;

    #[tokio::test]
    async fn conformance() {
        let store: Arc<DynSessionStore> = Arc::new(MemorySessionStore::new());
        conformance::run_all(&store).await;
    }

    #[tokio::test]
    async fn conformance_through_arc_wrapper() {
        let inner = Arc::new(MemorySessionStore::new());
        let store: Arc<DynSessionStore> = Arc::new(inner);
        conformance::run_all(&store).await;
    }
}
