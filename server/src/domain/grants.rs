//! Shares with named users: a viewer, commenter or editor role on a file or folder. A role on a
//! folder reaches everything inside it; the policy pack's role entities do the inheritance.

use serde::Serialize;
use strongroom_access_policy::pack::Role;
use utoipa::ToSchema;

use std::sync::Arc;

use super::files::Files;
use super::folders::Folders;
use super::{Ctx, Guard, names, rfc3339};
use crate::authz::{NodeGrant, Principal};
use crate::error::{Error, Result};
use crate::store::{DynGrantStore, DynUserStore, GrantRecord, NewGrant, Shares as Listed};

/// A user's role on a file or folder.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Grant {
    /// `file` or `folder`.
    pub resource_kind: String,
    /// File or folder id.
    pub resource_id: String,
    /// The user given the role.
    pub user_id: String,
    /// Their email.
    pub email: String,
    /// `viewer`, `commenter` or `editor`.
    pub role: String,
    /// Who shared it.
    pub granted_by: String,
    /// When (RFC 3339).
    pub created_at: String,
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

/// The roles users hold directly on the files and folders `ids` (for policy decisions), by
/// node id, with who shared each and whether that account is still active. One query.
pub async fn roles_on(
    grants: &DynGrantStore,
    ids: &[&str],
) -> Result<std::collections::HashMap<String, Vec<NodeGrant>>> {
    let mut out: std::collections::HashMap<String, Vec<NodeGrant>> = Default::default();
    for held in grants.roles_on(ids).await? {
        let role = parse_role(&held.role)
            .map_err(|_| Error::Internal(format!("stored role {:?}", held.role)))?;
        out.entry(held.node_id).or_default().push(NodeGrant {
            user: held.user_id,
            role,
            granter: held.granter_admin.map(|admin| Principal::User {
                id: held.granted_by.clone(),
                admin,
            }),
            granted_by: held.granted_by,
        });
    }
    Ok(out)
}

/// Shares with named users.
#[derive(Debug, Clone)]
pub struct Shares {
    store: Arc<DynGrantStore>,
    users: Arc<DynUserStore>,
    files: Files,
    folders: Folders,
    guard: Guard,
}

impl Shares {
    /// Over the share and account stores, authorizing through `files` and `folders`.
    pub fn new(
        store: Arc<DynGrantStore>,
        users: Arc<DynUserStore>,
        files: Files,
        folders: Folders,
        guard: Guard,
    ) -> Shares {
        Shares {
            store,
            users,
            files,
            folders,
            guard,
        }
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

    /// Gives the user with `email` a role on a file or folder (replacing a role they had). An
    /// address without an account gets nothing, but the answer is the same; the attempt is audited
    /// either way.
    pub async fn grant(
        &self,
        ctx: &Ctx,
        kind: &str,
        id: &str,
        email: &str,
        role: &str,
    ) -> Result<ShareRequest> {
        let id = self.shareable(ctx, kind, id).await?;
        let role_parsed = parse_role(role)?;
        let email = names::email(email)?;
        let answer = ShareRequest {
            resource_kind: kind.to_owned(),
            resource_id: id.clone(),
            email: email.clone(),
            role: role_parsed.name().to_owned(),
            status: "accepted",
        };
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
            return Ok(answer);
        };
        if Some(user_id.as_str()) == ctx.principal.user_id() {
            return Err(Error::Invalid("you cannot share with yourself".into()));
        }
        let granted_by = ctx.user_id()?.to_owned();
        let event = ctx
            .event("share.granted", kind, &id)
            .attr("user", user_id.as_str())
            .attr("role", role_parsed.name())
            .build()?;
        let grant = NewGrant {
            resource_kind: kind,
            resource_id: &id,
            user_id: &user_id,
            role: role_parsed.name(),
            granted_by: &granted_by,
            at: self.guard.now(),
        };
        self.store.put(&grant, &event).await?;
        Ok(answer)
    }

    /// Who a file or folder is shared with.
    pub async fn list(&self, ctx: &Ctx, kind: &str, id: &str) -> Result<Vec<Grant>> {
        let id = self.shareable(ctx, kind, id).await?;
        let shares = self.store.list(Listed::On(kind, &id)).await?;
        Ok(shares.into_iter().map(view).collect())
    }

    /// Takes a user's role on a file or folder away.
    pub async fn revoke(&self, ctx: &Ctx, kind: &str, id: &str, user_id: &str) -> Result<()> {
        let id = self.shareable(ctx, kind, id).await?;
        let user_id = names::id(user_id)?;
        let event = ctx
            .event("share.revoked", kind, &id)
            .attr("user", user_id.as_str())
            .build()?;
        if !self.store.remove(kind, &id, &user_id, &event).await? {
            return Err(Error::NotFound("that user has no role here".into()));
        }
        Ok(())
    }

    /// What others shared with the caller.
    pub async fn shared_with_me(&self, ctx: &Ctx) -> Result<Vec<Grant>> {
        let user = self.guard.authorize_own_account(ctx).await?;
        let shares = self.store.list(Listed::HeldBy(&user)).await?;
        let mut out = Vec::with_capacity(shares.len());
        for g in shares {
            // A share of something in its owner's trash is dormant: it works again on restore.
            if self.in_trash(&g).await? {
                continue;
            }
            out.push(view(g));
        }
        Ok(out)
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

fn view(g: GrantRecord) -> Grant {
    Grant {
        resource_kind: g.resource_kind,
        resource_id: g.resource_id,
        user_id: g.user_id,
        email: g.email,
        role: g.role,
        granted_by: g.granted_by,
        created_at: rfc3339(g.created_at),
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
    /// The address shared with (normalized).
    pub email: String,
    /// `viewer`, `commenter` or `editor`.
    pub role: String,
    /// Always `accepted`: if the address has an account, it now holds the role.
    pub status: &'static str,
}
