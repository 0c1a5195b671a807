//! Everything in memory: for tests of the domain services and as the reference the SQL
//! backends are held to. Each write and its event happen under one lock, which is this
//! backend's transaction.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use strongroom_audit::AuditEvent;

mod chunks;
mod events;
mod files;
mod folders;
mod grants;
mod groups;
mod invitations;
mod organize;
mod stats;
mod teams;
mod throttle;
mod usage;
mod versions;
mod webhooks;

use super::files::FileRecord;
use super::folders::FolderRecord;
use super::links::{LinkKey, LinkRecord, LinkStore, Listed, NewLink, Reservation};
use super::users::{UserChange, UserKey, UserQuery, UserRecord, UserStore};
use super::{Error, Result};

/// See the module docs.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    users: BTreeMap<String, UserRecord>,
    files: BTreeMap<String, FileRecord>,
    folders: BTreeMap<String, FolderRecord>,
    /// (file, version) -> version.
    versions: BTreeMap<(String, i64), super::VersionRecord>,
    links: BTreeMap<String, LinkRecord>,
    /// (kind, id, holder kind, holder id) -> the share.
    grants: BTreeMap<grants::ShareKey, grants::ShareRow>,
    /// Groups by id.
    groups: BTreeMap<String, super::groups::GroupRecord>,
    /// (group, member kind, member id) -> (added_by, added_at).
    members: BTreeMap<(String, String, String), (String, i64)>,
    /// The outbox: events in commit order.
    events: Vec<AuditEvent>,
    /// The chunk index (see `chunks.rs`).
    chunks: chunks::Index,
    /// The usage ledger: account -> samples in `seq` order.
    usage: BTreeMap<String, Vec<super::usage::UsageSample>>,
    /// Teams by id.
    teams: BTreeMap<String, super::teams::TeamRecord>,
    /// (team, user) -> their role and who gave it when.
    team_members: BTreeMap<(String, String), teams::MemberRow>,
    /// Invitations by id.
    invitations: BTreeMap<String, super::invitations::InvitationRecord>,
    /// Webhook endpoints, deliveries and attempts.
    webhooks: webhooks::Tables,
    /// Tags, fields and search documents.
    organize: organize::Tables,
    /// Failed sign-ins and rate windows.
    throttle: throttle::Tables,
}

/// Whether an item trashed at `trashed_at` of `owner` is one `q` lists.
fn listed_in_trash(q: &super::TrashQuery<'_>, owner: &str, trashed_at: Option<i64>) -> bool {
    trashed_at
        .is_some_and(|at| q.owner_id.is_none_or(|o| o == owner) && q.before.is_none_or(|b| at < b))
}

/// Whether `id` is an account that can own files: a person or a team (the foreign key of the
/// SQL backends).
fn is_owner(s: &State, id: &str) -> bool {
    s.users.contains_key(id) || s.teams.contains_key(id)
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// The events written so far, in commit order.
    pub fn events(&self) -> Vec<AuditEvent> {
        self.lock().events.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl LinkStore for MemoryStore {
    async fn insert(&self, link: &NewLink, event: &AuditEvent) -> Result<()> {
        let mut s = self.lock();
        if s.links.contains_key(&link.id)
            || s.links.values().any(|l| l.token_hash == link.token_hash)
        {
            return Err(Error::Conflict("that link already exists".into()));
        }
        let mut l = link.clone();
        l.downloads = 0;
        l.failed_attempts = 0;
        l.locked_until = 0;
        l.revoked_at = None;
        s.links.insert(l.id.clone(), l);
        s.events.push(event.clone());
        Ok(())
    }

    async fn get(&self, key: LinkKey<'_>) -> Result<Option<LinkRecord>> {
        let s = self.lock();
        Ok(match key {
            LinkKey::Id(id) => s.links.get(id).cloned(),
            LinkKey::TokenHash(h) => s.links.values().find(|l| l.token_hash == h).cloned(),
        })
    }

    async fn list(&self, which: Listed<'_>) -> Result<Vec<LinkRecord>> {
        let s = self.lock();
        let mut out: Vec<LinkRecord> = s
            .links
            .values()
            .filter(|l| match which {
                Listed::OfFile(f) => l.file_id == f,
                Listed::MadeBy(u) => l.created_by == u,
            })
            .cloned()
            .collect();
        out.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        out.truncate(1000);
        Ok(out)
    }

    async fn revoke(&self, id: &str, at: i64, event: &AuditEvent) -> Result<bool> {
        let mut s = self.lock();
        match s.links.get_mut(id) {
            Some(l) if l.revoked_at.is_none() => {
                l.revoked_at = Some(at);
                s.events.push(event.clone());
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn reserve_attempt(&self, id: &str, now: i64, max: i64) -> Result<Reservation> {
        let mut s = self.lock();
        let l = s.links.get_mut(id).ok_or(Error::NotFound)?;
        if l.locked_until != 0 && l.locked_until <= now {
            l.locked_until = 0;
            l.failed_attempts = 1;
            return Ok(Reservation::Reserved);
        }
        if l.locked_until > now || l.failed_attempts >= max {
            return Ok(Reservation::Locked {
                until: l.locked_until,
            });
        }
        l.failed_attempts += 1;
        Ok(Reservation::Reserved)
    }

    async fn release_attempt(&self, id: &str) -> Result<()> {
        if let Some(l) = self.lock().links.get_mut(id)
            && l.failed_attempts > 0
        {
            l.failed_attempts -= 1;
        }
        Ok(())
    }

    async fn fail_attempt(
        &self,
        id: &str,
        max: i64,
        lock_until: i64,
        event: &AuditEvent,
    ) -> Result<()> {
        let mut s = self.lock();
        if let Some(l) = s.links.get_mut(id)
            && l.failed_attempts >= max
            && l.locked_until == 0
        {
            l.locked_until = lock_until;
        }
        s.events.push(event.clone());
        Ok(())
    }

    async fn count_download(&self, id: &str) -> Result<bool> {
        let mut s = self.lock();
        match s.links.get_mut(id) {
            Some(l)
                if l.revoked_at.is_none() && l.max_downloads.is_none_or(|m| l.downloads < m) =>
            {
                l.downloads += 1;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

#[async_trait]
impl UserStore for MemoryStore {
    async fn create(&self, user: &UserRecord, event: &AuditEvent) -> Result<()> {
        let mut s = self.lock();
        if s.users.values().any(|u| u.email == user.email) {
            return Err(Error::Conflict(super::EMAIL_TAKEN.into()));
        }
        if s.users.contains_key(&user.id) {
            return Err(Error::Conflict("that already exists".into()));
        }
        s.users.insert(user.id.clone(), user.clone());
        s.events.push(event.clone());
        Ok(())
    }

    async fn get(&self, key: UserKey<'_>) -> Result<Option<UserRecord>> {
        let s = self.lock();
        Ok(match key {
            UserKey::Id(id) => s.users.get(id).cloned(),
            UserKey::Email(e) => s.users.values().find(|u| u.email == e).cloned(),
        })
    }

    async fn count(&self) -> Result<u64> {
        Ok(self.lock().users.len() as u64)
    }

    async fn list(&self, q: &UserQuery<'_>) -> Result<Vec<UserRecord>> {
        let text = q.text.map(str::to_lowercase);
        let mut out: Vec<UserRecord> = self
            .lock()
            .users
            .values()
            .filter(|u| q.after.is_none_or(|a| u.email.as_str() > a))
            .filter(|u| {
                text.as_deref().is_none_or(|t| {
                    u.email.to_lowercase().contains(t) || u.name.to_lowercase().contains(t)
                })
            })
            .cloned()
            .collect();
        out.sort_by(|a, b| a.email.cmp(&b.email));
        out.truncate(q.limit);
        Ok(out)
    }

    async fn update(&self, id: &str, c: &UserChange, at: i64, event: &AuditEvent) -> Result<()> {
        let mut s = self.lock();
        if let Some(email) = &c.email
            && s.users.values().any(|u| &u.email == email && u.id != id)
        {
            return Err(Error::Conflict(super::EMAIL_TAKEN.into()));
        }
        let u = s.users.get_mut(id).ok_or(Error::NotFound)?;
        if let Some(n) = &c.name {
            u.name = n.clone();
        }
        if let Some(e) = &c.email {
            u.email = e.clone();
        }
        if let Some(h) = &c.password_hash {
            u.password_hash = h.clone();
        }
        if let Some(q) = c.quota {
            u.quota = q;
        }
        if let Some(d) = c.disabled_at {
            u.disabled_at = d;
        }
        if let Some(a) = c.is_admin {
            u.is_admin = a;
        }
        if let Some(a) = &c.attributes {
            u.attributes = a.clone();
        }
        u.updated_at = at;
        s.events.push(event.clone());
        Ok(())
    }

    async fn delete(&self, id: &str, event: &AuditEvent) -> Result<Vec<String>> {
        let mut s = self.lock();
        if s.users.remove(id).is_none() {
            return Err(Error::NotFound);
        }
        s.chunks.data_keys.remove(id);
        s.webhooks.forget_owner(id);
        let files: Vec<String> = s
            .files
            .values()
            .filter(|f| f.owner_id == id)
            .map(|f| f.id.clone())
            .collect();
        let folders: Vec<String> = s
            .folders
            .values()
            .filter(|f| f.owner_id == id)
            .map(|f| f.id.clone())
            .collect();
        let mut blobs = Vec::new();
        for f in &files {
            s.files.remove(f);
            blobs.extend(versions::remove_all(&mut s, f));
        }
        for f in &folders {
            s.folders.remove(f);
        }
        // The shares on what it owned, those it held or gave, the links it made and the links
        // on its files.
        s.grants.retain(|(_, node, kind, holder), row| {
            let held_by_it = kind == "user" && holder == id;
            !(held_by_it || row.granted_by == id || files.contains(node) || folders.contains(node))
        });
        s.members
            .retain(|(_, kind, member), _| !(kind == "user" && member == id));
        s.team_members.retain(|(_, user), _| user != id);
        s.links
            .retain(|_, l| l.created_by != id && !files.contains(&l.file_id));
        s.events.push(event.clone());
        Ok(blobs)
    }
}
