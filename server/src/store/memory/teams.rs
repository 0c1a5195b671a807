//! Teams in memory.

use async_trait::async_trait;
use strongroom_audit::AuditEvent;

use super::{MemoryStore, State};
use crate::store::folders::FolderRecord;
use crate::store::teams::{
    HandOver, LAST_ADMIN, Membership, NOT_A_MEMBER, TEAM_CHANGED, TEAM_NOT_EMPTY, TeamContent,
    TeamMemberRecord, TeamRecord, TeamStore,
};
use crate::store::{Error, Result};

/// A member's row: (role, added by, added at).
pub(super) type MemberRow = (String, String, i64);

fn admins(s: &State, team: &str) -> usize {
    s.team_members
        .iter()
        .filter(|((t, _), (role, _, _))| t == team && role == "admin")
        .count()
}

/// Whether `id` is the space of a team (spaces go only with their team).
pub(super) fn is_space(s: &State, id: &str) -> bool {
    s.teams.values().any(|t| t.space_id == id)
}

#[async_trait]
impl TeamStore for MemoryStore {
    async fn create(&self, team: &TeamRecord, admin: &str, event: &AuditEvent) -> Result<()> {
        let mut s = self.lock();
        if s.teams.contains_key(&team.id) || s.folders.contains_key(&team.space_id) {
            return Err(Error::Conflict("that team already exists".into()));
        }
        if !s.users.contains_key(admin) {
            return Err(Error::NotFound);
        }
        s.folders.insert(
            team.space_id.clone(),
            FolderRecord {
                id: team.space_id.clone(),
                owner_id: team.id.clone(),
                parent_id: String::new(),
                name: team.name.clone(),
                public: false,
                created_at: team.created_at,
                updated_at: team.created_at,
                trashed_at: None,
            },
        );
        s.teams.insert(team.id.clone(), team.clone());
        s.team_members.insert(
            (team.id.clone(), admin.to_owned()),
            ("admin".into(), admin.to_owned(), team.created_at),
        );
        s.events.push(event.clone());
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<TeamRecord>> {
        Ok(self.lock().teams.get(id).cloned())
    }

    async fn list(&self, after: Option<&str>, limit: usize) -> Result<Vec<TeamRecord>> {
        Ok(self
            .lock()
            .teams
            .values()
            .filter(|t| after.is_none_or(|a| t.id.as_str() > a))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn teams_of(&self, user: &str) -> Result<Vec<Membership>> {
        let s = self.lock();
        let mut out: Vec<Membership> = s
            .team_members
            .iter()
            .filter(|((_, u), _)| u == user)
            .filter_map(|((t, _), (role, _, _))| {
                s.teams.get(t).map(|team| Membership {
                    team: team.clone(),
                    role: role.clone(),
                })
            })
            .collect();
        out.sort_by(|a, b| (&a.team.name, &a.team.id).cmp(&(&b.team.name, &b.team.id)));
        Ok(out)
    }

    async fn rename(&self, id: &str, name: &str, at: i64, event: &AuditEvent) -> Result<()> {
        let mut s = self.lock();
        let t = s.teams.get_mut(id).ok_or(Error::NotFound)?;
        t.name = name.to_owned();
        t.updated_at = at;
        let space = t.space_id.clone();
        if let Some(f) = s.folders.get_mut(&space) {
            f.name = name.to_owned();
            f.updated_at = at;
        }
        s.events.push(event.clone());
        Ok(())
    }

    async fn delete(&self, id: &str, event: &AuditEvent) -> Result<()> {
        let mut s = self.lock();
        let space = s.teams.get(id).ok_or(Error::NotFound)?.space_id.clone();
        let holds = s.files.values().any(|f| f.owner_id == id)
            || s.folders
                .values()
                .any(|f| f.owner_id == id && f.id != space);
        if holds {
            return Err(Error::Conflict(TEAM_NOT_EMPTY.into()));
        }
        s.folders.remove(&space);
        s.grants
            .retain(|(kind, node, _, _), _| !(kind == "folder" && *node == space));
        drop_team(&mut s, id);
        s.events.push(event.clone());
        Ok(())
    }

    async fn contents(&self, id: &str) -> Result<Vec<TeamContent>> {
        let s = self.lock();
        let mut out: std::collections::BTreeMap<String, TeamContent> = Default::default();
        for f in s.files.values().filter(|f| f.owner_id == id) {
            for v in s.versions.values().filter(|v| v.file_id == f.id) {
                out.entry(v.blob_key.clone())
                    .or_insert_with(|| TeamContent {
                        blob_key: v.blob_key.clone(),
                        sha256: v.sha256.clone(),
                        size: v.size,
                    });
            }
        }
        Ok(out.into_values().collect())
    }

    async fn hand_over(&self, id: &str, h: &HandOver<'_>, event: &AuditEvent) -> Result<String> {
        let mut s = self.lock();
        let team = s.teams.get(id).ok_or(Error::NotFound)?.clone();
        if !s
            .team_members
            .contains_key(&(id.to_owned(), h.to.to_owned()))
        {
            return Err(Error::Invalid(NOT_A_MEMBER.into()));
        }
        let held: std::collections::BTreeSet<String> = s
            .files
            .values()
            .filter(|f| f.owner_id == id)
            .flat_map(|f| {
                s.versions
                    .values()
                    .filter(|v| v.file_id == f.id)
                    .map(|v| v.blob_key.clone())
                    .collect::<Vec<_>>()
            })
            .collect();
        let old: std::collections::BTreeSet<String> =
            h.rekeyed.iter().map(|(o, _)| o.clone()).collect();
        if held != old || old.len() != h.rekeyed.len() {
            return Err(Error::Conflict(TEAM_CHANGED.into()));
        }
        if h.chunked
            && h.rekeyed
                .iter()
                .any(|(_, new)| !s.chunks.has_content(new, h.to))
        {
            return Err(Error::Conflict(TEAM_CHANGED.into()));
        }
        let u = super::files::usage(&s, id);
        super::files::check_quota(&s, h.to, h.quota, u.bytes, u.files)?;
        let rekeyed: std::collections::BTreeMap<&str, &str> = h
            .rekeyed
            .iter()
            .map(|(o, n)| (o.as_str(), n.as_str()))
            .collect();
        let files: std::collections::BTreeSet<String> = s
            .files
            .values()
            .filter(|f| f.owner_id == id)
            .map(|f| f.id.clone())
            .collect();
        for v in s
            .versions
            .values_mut()
            .filter(|v| files.contains(&v.file_id))
        {
            if let Some(new) = rekeyed.get(v.blob_key.as_str()) {
                v.blob_key = (*new).to_owned();
            }
        }
        for f in s.files.values_mut().filter(|f| f.owner_id == id) {
            if let Some(new) = rekeyed.get(f.blob_key.as_str()) {
                f.blob_key = (*new).to_owned();
            }
            f.owner_id = h.to.to_owned();
        }
        let mut name = team.name.clone();
        let mut n = 1;
        while s.folders.values().any(|f| {
            f.owner_id == h.to && f.parent_id.is_empty() && f.name == name && f.trashed_at.is_none()
        }) {
            n += 1;
            name = format!("{} ({n})", team.name);
        }
        for f in s.folders.values_mut().filter(|f| f.owner_id == id) {
            f.owner_id = h.to.to_owned();
            if f.id == team.space_id {
                f.name = name.clone();
            }
        }
        drop_team(&mut s, id);
        s.events.push(event.clone());
        Ok(name)
    }

    async fn set_role(
        &self,
        team: &str,
        user: &str,
        role: &str,
        by: &str,
        at: i64,
        event: &AuditEvent,
    ) -> Result<Option<String>> {
        let mut s = self.lock();
        if !s.teams.contains_key(team) || !s.users.contains_key(user) {
            return Err(Error::NotFound);
        }
        let key = (team.to_owned(), user.to_owned());
        let before = s.team_members.get(&key).map(|(r, _, _)| r.clone());
        if before.as_deref() == Some("admin") && role != "admin" && admins(&s, team) == 1 {
            return Err(Error::Conflict(LAST_ADMIN.into()));
        }
        let added = s
            .team_members
            .get(&key)
            .map(|(_, by, at)| (by.clone(), *at))
            .unwrap_or((by.to_owned(), at));
        s.team_members
            .insert(key, (role.to_owned(), added.0, added.1));
        s.events.push(event.clone());
        Ok(before)
    }

    async fn remove_member(&self, team: &str, user: &str, event: &AuditEvent) -> Result<()> {
        let mut s = self.lock();
        let key = (team.to_owned(), user.to_owned());
        let role = s
            .team_members
            .get(&key)
            .map(|(r, _, _)| r.clone())
            .ok_or(Error::NotFound)?;
        if role == "admin" && admins(&s, team) == 1 {
            return Err(Error::Conflict(LAST_ADMIN.into()));
        }
        s.team_members.remove(&key);
        let groups = team_groups(&s, team);
        s.members.retain(|(group, kind, member), _| {
            !(groups.contains(group) && kind == "user" && member == user)
        });
        s.events.push(event.clone());
        Ok(())
    }

    async fn transfer(
        &self,
        team: &str,
        from: &str,
        to: &str,
        _at: i64,
        event: &AuditEvent,
    ) -> Result<()> {
        let mut s = self.lock();
        let from_key = (team.to_owned(), from.to_owned());
        let to_key = (team.to_owned(), to.to_owned());
        if !s.team_members.contains_key(&from_key) || !s.team_members.contains_key(&to_key) {
            return Err(Error::NotFound);
        }
        if let Some(row) = s.team_members.get_mut(&to_key) {
            row.0 = "admin".into();
        }
        if from != to
            && let Some(row) = s.team_members.get_mut(&from_key)
        {
            row.0 = "editor".into();
        }
        s.events.push(event.clone());
        Ok(())
    }

    async fn members(&self, team: &str) -> Result<Vec<TeamMemberRecord>> {
        let s = self.lock();
        let mut out: Vec<TeamMemberRecord> = s
            .team_members
            .iter()
            .filter(|((t, _), _)| t == team)
            .map(|((_, u), (role, by, at))| TeamMemberRecord {
                user_id: u.clone(),
                email: s.users.get(u).map(|u| u.email.clone()).unwrap_or_default(),
                role: role.clone(),
                added_by: by.clone(),
                added_at: *at,
            })
            .collect();
        out.sort_by(|a, b| a.email.cmp(&b.email));
        Ok(out)
    }
}

/// The ids of `team`'s groups.
fn team_groups(s: &State, team: &str) -> std::collections::BTreeSet<String> {
    s.groups
        .values()
        .filter(|g| g.team_id.as_deref() == Some(team))
        .map(|g| g.id.clone())
        .collect()
}

/// Removes team `id`: its groups (with the shares they hold and their memberships), members,
/// invitations, record and data key.
fn drop_team(s: &mut State, id: &str) {
    s.team_members.retain(|(t, _), _| t != id);
    let groups = team_groups(s, id);
    s.grants
        .retain(|(_, _, kind, holder), _| !(kind == "group" && groups.contains(holder)));
    s.members.retain(|(group, _, _), _| !groups.contains(group));
    s.groups.retain(|g, _| !groups.contains(g));
    s.invitations
        .retain(|_, i| i.team_id.as_deref() != Some(id));
    s.teams.remove(id);
    s.chunks.data_keys.remove(id);
    s.webhooks.forget_owner(id);
}
