//! Groups in memory.

use async_trait::async_trait;
use strongroom_audit::AuditEvent;

use super::MemoryStore;
use crate::store::grants::Holder;
use crate::store::groups::{GroupRecord, GroupStore, MemberRecord};
use crate::store::{Error, Result};

#[async_trait]
impl GroupStore for MemoryStore {
    async fn create(&self, group: &GroupRecord, event: &AuditEvent) -> Result<()> {
        let mut s = self.lock();
        if s.groups.contains_key(&group.id) {
            return Err(Error::Conflict(crate::store::GROUP_TAKEN.into()));
        }
        s.groups.insert(group.id.clone(), group.clone());
        s.events.push(event.clone());
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<GroupRecord>> {
        Ok(self.lock().groups.get(id).cloned())
    }

    async fn list(
        &self,
        team: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<GroupRecord>> {
        let s = self.lock();
        Ok(s.groups
            .values()
            .filter(|g| g.team_id.as_deref() == team)
            .filter(|g| after.is_none_or(|a| g.id.as_str() > a))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn update(
        &self,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
        at: i64,
        event: &AuditEvent,
    ) -> Result<()> {
        let mut s = self.lock();
        let g = s.groups.get_mut(id).ok_or(Error::NotFound)?;
        if let Some(n) = name {
            g.name = n.to_owned();
        }
        if let Some(d) = description {
            g.description = d.to_owned();
        }
        g.updated_at = at;
        s.events.push(event.clone());
        Ok(())
    }

    async fn delete(&self, id: &str, event: &AuditEvent) -> Result<()> {
        let mut s = self.lock();
        if s.groups.remove(id).is_none() {
            return Err(Error::NotFound);
        }
        s.members
            .retain(|(group, kind, member), _| group != id && !(kind == "group" && member == id));
        s.grants
            .retain(|(_, _, kind, holder), _| !(kind == "group" && holder == id));
        s.events.push(event.clone());
        Ok(())
    }

    async fn add_member(
        &self,
        group: &str,
        member: Holder<'_>,
        added_by: &str,
        at: i64,
        event: &AuditEvent,
    ) -> Result<bool> {
        let mut s = self.lock();
        let member_exists = match member {
            Holder::User(id) => s.users.contains_key(id),
            Holder::Group(id) => s.groups.contains_key(id),
        };
        let Some(team) = s.groups.get(group).map(|g| g.team_id.clone()) else {
            return Err(Error::NotFound);
        };
        if !member_exists {
            return Err(Error::NotFound);
        }
        let in_scope = match (&team, member) {
            (_, Holder::Group(child)) => s.groups[child].team_id == team,
            (Some(team), Holder::User(user)) => s
                .team_members
                .contains_key(&(team.clone(), user.to_owned())),
            (None, Holder::User(_)) => true,
        };
        if !in_scope {
            return Err(Error::Invalid(crate::store::GROUP_SCOPE.into()));
        }
        if let Holder::Group(child) = member {
            // `group` inside `child` already (or the same group): adding would close a cycle.
            if child == group || group_within(&s, group, child) {
                return Err(Error::Invalid(crate::store::GROUP_CYCLE.into()));
            }
        }
        let key = (
            group.to_owned(),
            member.kind().to_owned(),
            member.id().to_owned(),
        );
        if s.members.contains_key(&key) {
            return Ok(false);
        }
        s.members.insert(key, (added_by.to_owned(), at));
        s.events.push(event.clone());
        Ok(true)
    }

    async fn remove_member(
        &self,
        group: &str,
        member: Holder<'_>,
        event: &AuditEvent,
    ) -> Result<bool> {
        let mut s = self.lock();
        let key = (
            group.to_owned(),
            member.kind().to_owned(),
            member.id().to_owned(),
        );
        let removed = s.members.remove(&key).is_some();
        if removed {
            s.events.push(event.clone());
        }
        Ok(removed)
    }

    async fn members(&self, group: &str) -> Result<Vec<MemberRecord>> {
        let s = self.lock();
        let mut out: Vec<MemberRecord> = s
            .members
            .iter()
            .filter(|((g, _, _), _)| g == group)
            .filter_map(|((_, kind, id), (by, at))| {
                let name = match kind.as_str() {
                    "user" => s.users.get(id)?.email.clone(),
                    _ => s.groups.get(id)?.name.clone(),
                };
                Some(MemberRecord {
                    kind: kind.clone(),
                    id: id.clone(),
                    name,
                    added_by: by.clone(),
                    added_at: *at,
                })
            })
            .collect();
        out.sort_by(|a, b| member_order(a).cmp(&member_order(b)));
        Ok(out)
    }

    async fn groups_of(&self, user: &str) -> Result<Vec<GroupRecord>> {
        let s = self.lock();
        Ok(super::grants::closure(&s, user)
            .into_iter()
            .filter_map(|g| s.groups.get(&g).cloned())
            .collect())
    }
}

/// Users by e-mail, then groups by id.
fn member_order(m: &MemberRecord) -> (bool, &str) {
    let user = m.kind == "user";
    (!user, if user { &m.name } else { &m.id })
}

/// Whether group `inner` is inside group `outer`, directly or through nested groups.
fn group_within(s: &super::State, inner: &str, outer: &str) -> bool {
    let mut frontier = vec![outer.to_owned()];
    let mut seen = std::collections::BTreeSet::new();
    while let Some(g) = frontier.pop() {
        for (_, kind, member) in s.members.keys().filter(|(parent, _, _)| *parent == g) {
            if kind == "group" {
                if member == inner {
                    return true;
                }
                if seen.insert(member.clone()) {
                    frontier.push(member.clone());
                }
            }
        }
    }
    false
}
