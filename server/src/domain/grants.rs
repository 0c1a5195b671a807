//! Shares with users and groups: a viewer, commenter or editor role on a file or folder, maybe
//! until an expiry. A role on a folder reaches everything inside it; the policy pack's role
//! entities do the inheritance, and a decision leaves out every share expired at its `now`.

use serde::Serialize;
use strongroom_access_policy::pack::Role;
use utoipa::ToSchema;

use std::sync::Arc;

use super::files::Files;
use super::folders::Folders;
use super::{Ctx, Guard, names, rfc3339};
use std::collections::HashMap;

use crate::authz::{Holder as NodeHolder, Memberships, NodeGrant, Principal};
use crate::error::{Error, Result};
use crate::store::{
    DynGrantStore, DynGroupStore, DynUserStore, GrantRecord, Holder, NewGrant, Shares as Listed,
};

/// A user's or a group's role on a file or folder.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Grant {
    /// `file` or `folder`.
    pub resource_kind: String,
    /// File or folder id.
    pub resource_id: String,
    /// `user` or `group`.
    pub holder_kind: String,
    /// The user given the role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Their email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The group given the role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// Its name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_name: Option<String>,
    /// `viewer`, `commenter` or `editor`.
    pub role: String,
    /// Who shared it.
    pub granted_by: String,
    /// When (RFC 3339).
    pub created_at: String,
    /// When it stops granting (RFC 3339), if it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Whether it has expired (it grants nothing then; renew by sharing again).
    pub expired: bool,
}

fn parse_role(role: &str) -> Result<Role> {
    match role {
        "viewer" => Ok(Role::Viewer),
        "commenter" => Ok(Role::Commenter),
        "editor" => Ok(Role::Editor),
        _ => Err(Error::Invalid(
            "role is viewer, commenter or editor (ownership is not shared)".into(),
        )),
    }
}

/// What decisions on the files and folders `ids` need (one query): the roles held directly on
/// them by node id, with who shared each and whether that account is still active, and the group
/// memberships of `principals` and of those sharers.
pub async fn access(
    grants: &DynGrantStore,
    principals: &[&str],
    ids: &[&str],
) -> Result<(HashMap<String, Vec<NodeGrant>>, Memberships)> {
    let access = grants.access(principals, ids).await?;
    let mut out: HashMap<String, Vec<NodeGrant>> = HashMap::new();
    for held in access.roles {
        let role = parse_role(&held.role)
            .map_err(|_| Error::Internal(format!("stored role {:?}", held.role)))?;
        let holder = match held.holder_kind.as_str() {
            "user" => NodeHolder::User(held.holder_id),
            "group" => NodeHolder::Group(held.holder_id),
            other => return Err(Error::Internal(format!("stored holder kind {other:?}"))),
        };
        out.entry(held.node_id).or_default().push(NodeGrant {
            holder,
            role,
            granter: held.granter_admin.map(|admin| Principal::User {
                id: held.granted_by.clone(),
                admin,
            }),
            granted_by: held.granted_by,
            expires_at: held.expires_at,
        });
    }
    let mut groups = Memberships::from_pairs(access.memberships);
    for (user, team, role) in access.team_roles {
        let role = crate::authz::team_role(&role)
            .ok_or_else(|| Error::Internal(format!("stored team role {role:?}")))?;
        groups = groups.with_team_role(&user, &team, role);
    }
    groups.attributes.extend(access.attributes);
    Ok((out, groups))
}

/// Shares with users and groups.
#[derive(Debug, Clone)]
pub struct Shares {
    store: Arc<DynGrantStore>,
    users: Arc<DynUserStore>,
    groups: Arc<DynGroupStore>,
    files: Files,
    folders: Folders,
    guard: Guard,
}

/// Who a new share is for.
#[derive(Debug, Clone, Copy)]
pub enum ShareWith<'a> {
    /// The account with this e-mail address.
    Email(&'a str),
    /// The group with this id.
    Group(&'a str),
}

impl Shares {
    /// Over the share, account and group stores, authorizing through `files` and `folders`.
    pub fn new(
        store: Arc<DynGrantStore>,
        users: Arc<DynUserStore>,
        groups: Arc<DynGroupStore>,
        files: Files,
        folders: Folders,
        guard: Guard,
    ) -> Shares {
        Shares {
            store,
            users,
            groups,
            files,
            folders,
            guard,
        }
    }

    /// Whether `group` is a team's group and `user` a member of that team (who may share with
    /// the team's groups without being in them).
    async fn in_team_of(&self, ctx: &Ctx, user: &str, group: &str) -> Result<bool> {
        let Some(team) = self.groups.get(group).await?.and_then(|g| g.team_id) else {
            return Ok(false);
        };
        let (_, m) = access(self.store.as_ref(), &ctx.principals(), &[]).await?;
        Ok(m.teams_of(user).any(|(t, _)| t == team))
    }

    /// Authorizes `share` on the file or folder and returns its canonical id.
    async fn shareable(&self, ctx: &Ctx, kind: &str, id: &str) -> Result<String> {
        match kind {
            "file" => Ok(self.files.authorize_on(ctx, "share", id).await?.id),
            "folder" => Ok(self.folders.authorize_on(ctx, "share", id).await?[0]
                .id
                .clone()),
            _ => Err(Error::NotFound("no such item".into())),
        }
    }

    /// Gives a user (by e-mail) or a group a role on a file or folder, until `expires_at`
    /// (RFC 3339, in the future) or until revoked, replacing a role they had there. An address
    /// without an account gets nothing, but the answer is the same; the attempt is audited
    /// either way. A group is shared with only by its members (a team's group also by the team's
    /// members) and administrators.
    pub async fn grant(
        &self,
        ctx: &Ctx,
        kind: &str,
        id: &str,
        with: Option<ShareWith<'_>>,
        role: &str,
        expires_at: Option<&str>,
    ) -> Result<ShareRequest> {
        let id = self.shareable(ctx, kind, id).await?;
        let with = with.ok_or_else(|| {
            Error::Invalid("give exactly one of email (a user) or group (a group id)".into())
        })?;
        let role_parsed = parse_role(role)?;
        let now = self.guard.now();
        let expires = expires_at.map(|t| parse_expiry(t, now)).transpose()?;
        let granted_by = ctx.user_id()?.to_owned();
        let (holder_kind, holder_id, answer_to) = match with {
            ShareWith::Email(email) => {
                let email = names::email(email)?;
                let user_id = self
                    .users
                    .get(crate::store::UserKey::Email(&email))
                    .await?
                    .map(|u| u.id);
                let Some(user_id) = user_id else {
                    let event = ctx
                        .event("share.unknown_address", kind, &id)
                        .attr("role", role_parsed.name())
                        .outcome(strongroom_audit::Outcome::Failure)
                        .build()?;
                    self.guard.record(&event).await?;
                    return Ok(ShareRequest::new(
                        kind,
                        &id,
                        "user",
                        &email,
                        role_parsed,
                        expires,
                    ));
                };
                if user_id == granted_by {
                    return Err(Error::Invalid("you cannot share with yourself".into()));
                }
                ("user", user_id, email)
            }
            ShareWith::Group(group) => {
                let group = super::groups::any_group_id(group)?;
                let admin = matches!(ctx.principal, Principal::User { admin: true, .. });
                let member = admin
                    || self
                        .groups
                        .groups_of(&granted_by)
                        .await?
                        .iter()
                        .any(|g| g.id == group)
                    || self.in_team_of(ctx, &granted_by, &group).await?;
                if !member {
                    // The same answer whether the group exists or not: group ids stay private
                    // to their members.
                    return Err(Error::Invalid(format!(
                        "you can share only with groups you are in (no group {group:?} among yours)"
                    )));
                }
                ("group", group.clone(), group)
            }
        };
        let mut draft = ctx
            .event("share.granted", kind, &id)
            .attr(holder_kind, holder_id.as_str())
            .attr("role", role_parsed.name());
        if let Some(e) = expires {
            draft = draft.attr("expires_at", rfc3339(e).as_str());
        }
        let event = draft.build()?;
        let holder = Holder::parse(holder_kind, &holder_id)
            .ok_or_else(|| Error::Internal("holder kind".into()))?;
        let grant = NewGrant {
            resource_kind: kind,
            resource_id: &id,
            holder,
            role: role_parsed.name(),
            granted_by: &granted_by,
            at: now,
            expires_at: expires,
        };
        match self.store.put(&grant, &event).await {
            // The group (or account) went away since it was checked.
            Err(crate::store::Error::NotFound) => {
                return Err(Error::Invalid(format!("no such {holder_kind} any more")));
            }
            other => other?,
        }
        Ok(ShareRequest::new(
            kind,
            &id,
            holder_kind,
            &answer_to,
            role_parsed,
            expires,
        ))
    }

    /// Who a file or folder is shared with: users by e-mail, then groups; expired shares
    /// included (marked), until revoked or renewed.
    pub async fn list(&self, ctx: &Ctx, kind: &str, id: &str) -> Result<Vec<Grant>> {
        let id = self.shareable(ctx, kind, id).await?;
        let shares = self.store.list(Listed::On(kind, &id)).await?;
        let now = self.guard.now();
        Ok(shares.into_iter().map(|g| view(g, now)).collect())
    }

    /// Takes a user's or a group's role on a file or folder away.
    pub async fn revoke(
        &self,
        ctx: &Ctx,
        kind: &str,
        id: &str,
        holder_kind: &str,
        holder_id: &str,
    ) -> Result<()> {
        let id = self.shareable(ctx, kind, id).await?;
        let holder_id = match holder_kind {
            "user" => names::id(holder_id)?,
            // A malformed group id names no share here: "not found", like an unknown one.
            _ => super::groups::any_group_id(holder_id)
                .map_err(|_| Error::NotFound("that group has no role here".into()))?,
        };
        let holder = Holder::parse(holder_kind, &holder_id)
            .ok_or_else(|| Error::NotFound("no such holder kind".into()))?;
        let event = ctx
            .event("share.revoked", kind, &id)
            .attr(holder_kind, holder_id.as_str())
            .build()?;
        if !self.store.remove(kind, &id, holder, &event).await? {
            return Err(Error::NotFound(format!(
                "that {holder_kind} has no role here"
            )));
        }
        Ok(())
    }

    /// What others shared with the caller, directly or with a group they are in; shares in
    /// force only (not expired, not of something in its owner's trash).
    pub async fn shared_with_me(&self, ctx: &Ctx) -> Result<Vec<Grant>> {
        let user = self.guard.authorize_own_account(ctx).await?;
        let shares = self.store.list(Listed::HeldBy(&user)).await?;
        self.in_force(shares).await
    }

    /// What the caller shared with others, in force or expired (not of trashed items).
    pub async fn shared_by_me(&self, ctx: &Ctx) -> Result<Vec<Grant>> {
        let user = self.guard.authorize_own_account(ctx).await?;
        let shares = self.store.list(Listed::GivenBy(&user)).await?;
        let now = self.guard.now();
        let mut out = Vec::with_capacity(shares.len());
        for g in shares {
            if !self.in_trash(&g).await? {
                out.push(view(g, now));
            }
        }
        Ok(out)
    }

    async fn in_force(&self, shares: Vec<GrantRecord>) -> Result<Vec<Grant>> {
        let now = self.guard.now();
        let mut out = Vec::with_capacity(shares.len());
        for g in shares {
            // A share of something in its owner's trash is dormant: it works again on restore.
            if g.expires_at.is_some_and(|e| e <= now) || self.in_trash(&g).await? {
                continue;
            }
            out.push(view(g, now));
        }
        Ok(out)
    }

    /// Writes one `share.expired` event for each share that expired since the last pass (the
    /// expiry itself took effect at once: decisions leave expired shares out). Returns how many.
    pub async fn note_expiries(&self) -> Result<usize> {
        let now = self.guard.now();
        let mut noted = 0;
        loop {
            let due = self.store.due_expiries(now, 100).await?;
            if due.is_empty() {
                return Ok(noted);
            }
            let n = due.len();
            for g in due {
                let ctx = self.guard.system_ctx();
                let event = ctx
                    .event("share.expired", &g.resource_kind, &g.resource_id)
                    .attr(g.holder_kind.as_str(), g.holder_id.as_str())
                    .attr("role", g.role.as_str())
                    .attr("granted_by", g.granted_by.as_str())
                    .attr("expires_at", rfc3339(g.expires_at.unwrap_or(now)).as_str())
                    .build()?;
                if self.store.note_expiry(&g, now, &event).await? {
                    noted += 1;
                }
            }
            if n < 100 {
                return Ok(noted);
            }
        }
    }

    /// Whether the shared file or folder is in the trash, itself or through a folder above it.
    async fn in_trash(&self, g: &GrantRecord) -> Result<bool> {
        if g.resource_kind == "file" {
            Ok(match self.files.store.locate(&g.resource_id).await? {
                Some(l) => l.file.trashed_at.is_some() || l.folders.iter().any(|f| f.trashed),
                None => true,
            })
        } else {
            let chain = self.folders.store.chain(&g.resource_id).await?;
            Ok(chain.is_empty() || chain.iter().any(|c| c.trashed))
        }
    }
}

/// An expiry given as RFC 3339, which must lie after `now`.
fn parse_expiry(text: &str, now: i64) -> Result<i64> {
    let at: strongroom_access_policy::Timestamp = text.parse().map_err(|_| {
        Error::Invalid("expires_at is an RFC 3339 time, e.g. 2027-01-31T18:00:00Z".into())
    })?;
    let micros = at.as_millis().saturating_mul(1000);
    if micros <= now {
        return Err(Error::Invalid("expires_at must be in the future".into()));
    }
    Ok(micros)
}

fn view(g: GrantRecord, now: i64) -> Grant {
    let user = g.holder_kind == "user";
    Grant {
        resource_kind: g.resource_kind,
        resource_id: g.resource_id,
        holder_kind: g.holder_kind,
        user_id: user.then(|| g.holder_id.clone()),
        email: user.then(|| g.holder_name.clone()),
        group_id: (!user).then(|| g.holder_id.clone()),
        group_name: (!user).then_some(g.holder_name),
        role: g.role,
        granted_by: g.granted_by,
        created_at: rfc3339(g.created_at),
        expires_at: g.expires_at.map(rfc3339),
        expired: g.expires_at.is_some_and(|e| e <= now),
    }
}

/// The answer to a share request: the same whether or not the address has an account, so
/// sharing is no way to learn who uses the platform.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShareRequest {
    /// `file` or `folder`.
    pub resource_kind: String,
    /// File or folder id.
    pub resource_id: String,
    /// `user` or `group`.
    pub holder_kind: String,
    /// The address shared with (normalized), for a user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The group shared with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// `viewer`, `commenter` or `editor`.
    pub role: String,
    /// When the share stops granting (RFC 3339), if it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Always `accepted`: if the address has an account, it now holds the role.
    pub status: &'static str,
}

impl ShareRequest {
    fn new(
        kind: &str,
        id: &str,
        holder_kind: &str,
        to: &str,
        role: Role,
        expires: Option<i64>,
    ) -> ShareRequest {
        let user = holder_kind == "user";
        ShareRequest {
            resource_kind: kind.to_owned(),
            resource_id: id.to_owned(),
            holder_kind: holder_kind.to_owned(),
            email: user.then(|| to.to_owned()),
            group_id: (!user).then(|| to.to_owned()),
            role: role.name().to_owned(),
            expires_at: expires.map(rfc3339),
            status: "accepted",
        }
    }
}
