//! Shares in memory.

use std::collections::BTreeSet;

use async_trait::async_trait;
use strongroom_audit::AuditEvent;

use super::{MemoryStore, State};
use crate::store::grants::{Access, GrantRecord, GrantStore, HeldRole, Holder, NewGrant, Shares};
use crate::store::{Error, Result};

/// (resource kind, resource id, holder kind, holder id).
pub(super) type ShareKey = (String, String, String, String);

/// One share.
#[derive(Debug, Clone)]
pub(super) struct ShareRow {
    pub role: String,
    pub granted_by: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub expiry_noted_at: Option<i64>,
}

/// Every group `user` is in, directly or through nested groups.
pub(super) fn closure(s: &State, user: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut frontier: Vec<(String, String)> = vec![("user".into(), user.to_owned())];
    while let Some((kind, id)) = frontier.pop() {
        for (group, _, _) in s.members.keys().filter(|(_, k, m)| *k == kind && *m == id) {
            if found.insert(group.clone()) {
                frontier.push(("group".into(), group.clone()));
            }
        }
    }
    found
}

fn record(s: &State, key: &ShareKey, row: &ShareRow) -> Option<GrantRecord> {
    let (kind, id, holder_kind, holder_id) = key;
    let holder_name = match holder_kind.as_str() {
        "user" => s.users.get(holder_id)?.email.clone(),
        _ => s.groups.get(holder_id)?.name.clone(),
    };
    Some(GrantRecord {
        resource_kind: kind.clone(),
        resource_id: id.clone(),
        holder_kind: holder_kind.clone(),
        holder_id: holder_id.clone(),
        holder_name,
        role: row.role.clone(),
        granted_by: row.granted_by.clone(),
        created_at: row.created_at,
        expires_at: row.expires_at,
    })
}

fn newest_first(mut out: Vec<GrantRecord>) -> Vec<GrantRecord> {
    out.sort_by_key(|g| std::cmp::Reverse(g.created_at));
    out.truncate(1000);
    out
}

#[async_trait]
impl GrantStore for MemoryStore {
    async fn put(&self, g: &NewGrant<'_>, event: &AuditEvent) -> Result<()> {
        let mut s = self.lock();
        let exists = match g.holder {
            Holder::User(id) => s.users.contains_key(id),
            Holder::Group(id) => s.groups.contains_key(id),
        };
        if !exists {
            return Err(Error::NotFound);
        }
        let key = (
            g.resource_kind.to_owned(),
            g.resource_id.to_owned(),
            g.holder.kind().to_owned(),
            g.holder.id().to_owned(),
        );
        let created_at = s.grants.get(&key).map_or(g.at, |e| e.created_at);
        s.grants.insert(
            key,
            ShareRow {
                role: g.role.to_owned(),
                granted_by: g.granted_by.to_owned(),
                created_at,
                expires_at: g.expires_at,
                expiry_noted_at: None,
            },
        );
        s.events.push(event.clone());
        Ok(())
    }

    async fn list(&self, which: Shares<'_>) -> Result<Vec<GrantRecord>> {
        let s = self.lock();
        let holds: BTreeSet<(String, String)> = match which {
            Shares::HeldBy(user) => closure(&s, user)
                .into_iter()
                .map(|g| ("group".to_owned(), g))
                .chain([("user".to_owned(), user.to_owned())])
                .collect(),
            _ => BTreeSet::new(),
        };
        let out: Vec<GrantRecord> = s
            .grants
            .iter()
            .filter(|((kind, id, hk, hid), row)| match which {
                Shares::On(k, i) => kind == k && id == i,
                Shares::HeldBy(_) => holds.contains(&(hk.clone(), hid.clone())),
                Shares::GivenBy(u) => row.granted_by == u,
            })
            .filter_map(|(k, row)| record(&s, k, row))
            .collect();
        Ok(match which {
            Shares::On(..) => {
                let mut out = out;
                out.sort_by(|a, b| {
                    (a.holder_kind != "user", &a.holder_name, &a.holder_id).cmp(&(
                        b.holder_kind != "user",
                        &b.holder_name,
                        &b.holder_id,
                    ))
                });
                out
            }
            _ => newest_first(out),
        })
    }

    async fn access(&self, principals: &[&str], node_ids: &[&str]) -> Result<Access> {
        let s = self.lock();
        let roles: Vec<HeldRole> = s
            .grants
            .iter()
            .filter(|((_, id, _, _), _)| node_ids.contains(&id.as_str()))
            .map(|((_, id, hk, hid), row)| HeldRole {
                node_id: id.clone(),
                holder_kind: hk.clone(),
                holder_id: hid.clone(),
                role: row.role.clone(),
                granted_by: row.granted_by.clone(),
                granter_admin: s
                    .users
                    .get(&row.granted_by)
                    .filter(|u| u.disabled_at.is_none())
                    .map(|u| u.is_admin),
                expires_at: row.expires_at,
            })
            .collect();
        let users: BTreeSet<&str> = principals
            .iter()
            .copied()
            .chain(roles.iter().map(|r| r.granted_by.as_str()))
            .collect();
        let mut memberships = Vec::new();
        let mut team_roles = Vec::new();
        let mut attributes = Vec::new();
        for u in users {
            for g in closure(&s, u) {
                memberships.push((u.to_owned(), g));
            }
            if let Some(a) = s.users.get(u).map(|x| &x.attributes)
                && *a != crate::attributes::UserAttributes::default()
            {
                attributes.push((u.to_owned(), a.clone()));
            }
            for ((team, member), (role, _, _)) in &s.team_members {
                if member == u {
                    team_roles.push((u.to_owned(), team.clone(), role.clone()));
                }
            }
        }
        Ok(Access {
            roles,
            memberships,
            team_roles,
            attributes,
        })
    }

    async fn remove(
        &self,
        kind: &str,
        id: &str,
        holder: Holder<'_>,
        event: &AuditEvent,
    ) -> Result<bool> {
        let mut s = self.lock();
        let key = (
            kind.to_owned(),
            id.to_owned(),
            holder.kind().to_owned(),
            holder.id().to_owned(),
        );
        let removed = s.grants.remove(&key).is_some();
        if removed {
            s.events.push(event.clone());
        }
        Ok(removed)
    }

    async fn due_expiries(&self, now: i64, limit: usize) -> Result<Vec<GrantRecord>> {
        let s = self.lock();
        let mut due: Vec<(i64, GrantRecord)> = s
            .grants
            .iter()
            .filter(|(_, r)| r.expiry_noted_at.is_none() && r.expires_at.is_some_and(|e| e <= now))
            .filter_map(|(k, r)| Some((r.expires_at?, record(&s, k, r)?)))
            .collect();
        due.sort_by_key(|d| d.0);
        Ok(due.into_iter().take(limit).map(|(_, g)| g).collect())
    }

    async fn note_expiry(&self, g: &GrantRecord, at: i64, event: &AuditEvent) -> Result<bool> {
        let mut s = self.lock();
        let key = (
            g.resource_kind.clone(),
            g.resource_id.clone(),
            g.holder_kind.clone(),
            g.holder_id.clone(),
        );
        let Some(row) = s.grants.get_mut(&key) else {
            return Ok(false);
        };
        if row.expiry_noted_at.is_some() || row.expires_at != g.expires_at {
            return Ok(false);
        }
        row.expiry_noted_at = Some(at);
        s.events.push(event.clone());
        Ok(true)
    }
}
