//! Folders: a tree per owner. Roles and links inherit down it (the policy pack does that).

use serde::Serialize;
use utoipa::ToSchema;

use std::sync::Arc;

use super::{Ctx, Guard, names, rfc3339};
use crate::authz::{Node, Target};
use crate::error::{Error, Result};
use crate::store::{ChainNode, DynFolderStore, DynGrantStore, FolderChange, FolderRecord};

pub use crate::store::MAX_DEPTH;

/// A folder.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Folder {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Parent folder id; absent at the owner's root.
    pub parent_id: Option<String>,
    /// Owner's user id.
    pub owner_id: String,
    /// Readable by anyone.
    pub public: bool,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Last changed (RFC 3339).
    pub updated_at: String,
}

impl From<FolderRecord> for Folder {
    fn from(f: FolderRecord) -> Folder {
        Folder {
            parent_id: (!f.parent_id.is_empty()).then_some(f.parent_id),
            id: f.id,
            owner_id: f.owner_id,
            name: f.name,
            public: f.public,
            created_at: rfc3339(f.created_at),
            updated_at: rfc3339(f.updated_at),
        }
    }
}

/// Folders: the trees, and the policy target of anything in them.
#[derive(Debug, Clone)]
pub struct Folders {
    pub(super) store: Arc<DynFolderStore>,
    grants: Arc<DynGrantStore>,
    pub(super) guard: Guard,
    teams: Option<Arc<crate::store::DynTeamStore>>,
}

impl Folders {
    /// Over the folder and share stores.
    pub fn new(store: Arc<DynFolderStore>, grants: Arc<DynGrantStore>, guard: Guard) -> Folders {
        Folders {
            store,
            grants,
            guard,
            teams: None,
        }
    }

    /// Knowing the teams, so the top of a team's tree is its space (see [`Folders::top_of`]).
    pub fn with_teams(mut self, teams: Arc<crate::store::DynTeamStore>) -> Folders {
        self.teams = Some(teams);
        self
    }

    /// Where the top of `owner`'s tree is: `""` (their root) for a person, the space for a team.
    pub async fn top_of(&self, owner: &str) -> Result<String> {
        match &self.teams {
            Some(teams) => Ok(teams
                .get(owner)
                .await?
                .map(|t| t.space_id)
                .unwrap_or_default()),
            None => Ok(String::new()),
        }
    }

    /// Loads a folder (no authorization).
    pub async fn load(&self, id: &str) -> Result<Folder> {
        self.store
            .get(id)
            .await?
            .map(Folder::from)
            .ok_or_else(|| Error::NotFound("no such folder".into()))
    }

    /// The folder `id` and its ancestors, nearest first, without grants (one round trip).
    /// A folder in the trash (itself or through a folder above it) is "not found".
    pub async fn chain_nodes(&self, id: &str) -> Result<Vec<Node>> {
        match self.chain_any(id).await? {
            (_, true) => Err(Error::NotFound("no such folder".into())),
            (nodes, false) => Ok(nodes),
        }
    }

    /// [`Folders::chain_nodes`], trashed or not, and whether it is in the trash.
    pub(super) async fn chain_any(&self, id: &str) -> Result<(Vec<Node>, bool)> {
        let chain = self.store.chain(id).await?;
        if chain.is_empty() {
            return Err(Error::NotFound("no such folder".into()));
        }
        let trashed = chain.iter().any(|c| c.trashed);
        Ok((nodes(chain), trashed))
    }

    /// Fills in the grants of every node and the group memberships of `principals` (one query)
    /// and drops the grants whose sharer lost the right they were made from (see
    /// [`crate::authz::Authorizer::effective`]).
    pub async fn attach_grants(&self, mut nodes: Vec<Node>, principals: &[&str]) -> Result<Target> {
        let ids: Vec<&str> = nodes.iter().map(|n| n.id.as_str()).collect();
        let (mut grants, groups) =
            super::grants::access(self.grants.as_ref(), principals, &ids).await?;
        for n in &mut nodes {
            n.grants = grants.remove(&n.id).unwrap_or_default();
        }
        // The sharer's standing right, not judged by this request's address or factors.
        let facts = crate::authz::RequestFacts {
            ip: std::net::IpAddr::from([127, 0, 0, 1]),
            mfa: false,
            device_trusted: false,
        };
        let nodes = self.guard.authz.effective(nodes, &groups, &facts);
        Ok(Target::Resource(nodes, groups))
    }

    /// Which of many files and folders (each a chain: it and its ancestors, nearest first,
    /// without grants) the caller may take `action` on, in their order: the shares on every node
    /// in one query, one entity set and one list decision for all (see
    /// [`crate::authz::Authorizer::allowed_many`]).
    pub async fn allowed_many(
        &self,
        ctx: &Ctx,
        action: &str,
        mut chains: Vec<Vec<Node>>,
    ) -> Result<Vec<bool>> {
        if chains.is_empty() {
            return Ok(Vec::new());
        }
        let mut ids: Vec<&str> = chains.iter().flatten().map(|n| n.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let (grants, groups) =
            super::grants::access(self.grants.as_ref(), &ctx.principals(), &ids).await?;
        let standing = crate::authz::RequestFacts {
            ip: std::net::IpAddr::from([127, 0, 0, 1]),
            mfa: false,
            device_trusted: false,
        };
        for chain in &mut chains {
            for n in chain.iter_mut() {
                n.grants = grants.get(&n.id).cloned().unwrap_or_default();
            }
            if chain
                .iter()
                .any(|n| n.grants.iter().any(|g| g.granted_by != n.owner))
            {
                *chain = self
                    .guard
                    .authz
                    .effective(std::mem::take(chain), &groups, &standing);
            }
        }
        self.guard
            .authz
            .allowed_many(&ctx.principal, action, &chains, &groups, &ctx.facts())
    }

    /// The folder `id` and its ancestors, nearest first, as policy nodes with their grants, and
    /// the memberships of `principals`: the target of a decision on the folder.
    pub async fn chain(&self, id: &str, principals: &[&str]) -> Result<Target> {
        self.attach_grants(self.chain_nodes(id).await?, principals)
            .await
    }

    /// Authorizes `action` on folder `id`; a folder the caller may not even read is "not found".
    pub async fn authorize_on(&self, ctx: &Ctx, action: &str, id: &str) -> Result<Vec<Node>> {
        let id = names::id(id)?;
        let target = self.chain(&id, &ctx.principals()).await?;
        match self
            .guard
            .authorize(ctx, action, &target, "folder", &id)
            .await
        {
            Ok(()) => match target {
                Target::Resource(nodes, _) => Ok(nodes),
                _ => Err(Error::Internal("folder chain".into())),
            },
            Err(Error::NotFound(_)) => Err(Error::NotFound("no such folder".into())),
            Err(e) => Err(e),
        }
    }

    /// Authorizes creating something in `parent` (the caller's root when `None`); returns the owner
    /// of the new item (the folder's owner, so shared folders stay whole).
    pub async fn authorize_create_in(
        &self,
        ctx: &Ctx,
        parent: Option<&str>,
    ) -> Result<(String, String)> {
        match parent.filter(|p| !p.is_empty()) {
            None => {
                self.guard.authorize_platform(ctx, "create_root").await?;
                Ok((ctx.user_id()?.to_owned(), String::new()))
            }
            Some(p) => {
                let nodes = self.authorize_on(ctx, "write", p).await?;
                Ok((nodes[0].owner.clone(), nodes[0].id.clone()))
            }
        }
    }

    /// Creates a folder.
    pub async fn create(&self, ctx: &Ctx, parent: Option<&str>, name: &str) -> Result<Folder> {
        let (owner, parent_id) = self.authorize_create_in(ctx, parent).await?;
        let name = names::file_name(name)?;
        let id = uuid::Uuid::now_v7().to_string();
        let now = self.guard.now();
        let event = ctx
            .event("folder.created", "folder", &id)
            .attr("name", name.as_str())
            .build()?;
        let record = FolderRecord {
            id: id.clone(),
            owner_id: owner,
            parent_id,
            name,
            public: false,
            created_at: now,
            updated_at: now,
            trashed_at: None,
        };
        self.store.create(&record, &event).await?;
        Ok(record.into())
    }

    /// A folder's metadata, the read recorded (`folder.viewed`) unless read events are off.
    pub async fn get(&self, ctx: &Ctx, id: &str) -> Result<Folder> {
        let nodes = self.authorize_on(ctx, "read", id).await?;
        let folder = self.load(&nodes[0].id).await?;
        self.guard
            .record_read(ctx.event("folder.viewed", "folder", &folder.id))
            .await?;
        Ok(folder)
    }

    /// Subfolders of `parent` ('' = the owner's root), by name.
    pub async fn children(&self, owner: &str, parent: &str) -> Result<Vec<Folder>> {
        Ok(self
            .store
            .children(owner, parent)
            .await?
            .into_iter()
            .map(Folder::from)
            .collect())
    }

    /// Renames, moves and/or publishes a folder.
    pub async fn update(
        &self,
        ctx: &Ctx,
        id: &str,
        name: Option<&str>,
        parent: Option<&str>,
        public: Option<bool>,
    ) -> Result<Folder> {
        let nodes = self
            .authorize_on(
                ctx,
                if parent.is_some() || public.is_some() {
                    "manage"
                } else {
                    "write"
                },
                id,
            )
            .await?;
        let folder = self.load(&nodes[0].id).await?;
        let name = name.map(names::file_name).transpose()?;
        let mut new_parent = None;
        if let Some(p) = parent {
            let (owner, pid) = self
                .authorize_create_in(ctx, Some(p).filter(|p| !p.is_empty()))
                .await?;
            if owner != folder.owner_id {
                return Err(Error::Invalid(
                    "folders move only within their owner's tree".into(),
                ));
            }
            new_parent = Some(pid);
        }
        let event = ctx
            .event("folder.updated", "folder", &folder.id)
            .attr("renamed", name.is_some())
            .attr("moved", new_parent.is_some())
            .build()?;
        let event = match public {
            Some(p) => ctx
                .event(
                    if p {
                        "folder.published"
                    } else {
                        "folder.unpublished"
                    },
                    "folder",
                    &folder.id,
                )
                .build()?,
            None => event,
        };
        let change = FolderChange {
            name,
            parent_id: new_parent,
            public,
        };
        self.store
            .update(&folder.id, &change, self.guard.now(), &event)
            .await?;
        self.load(&folder.id).await
    }

    /// Moves a folder, with everything in it, to its owner's trash.
    pub async fn delete(&self, ctx: &Ctx, id: &str) -> Result<()> {
        let nodes = self.authorize_on(ctx, "delete", id).await?;
        let id = nodes[0].id.clone();
        let event = ctx.event("folder.trashed", "folder", &id).build()?;
        match self.store.trash(&id, self.guard.now(), &event).await {
            Err(crate::store::Error::NotFound) => Err(Error::NotFound("no such folder".into())),
            other => Ok(other?),
        }
    }
}

/// Policy nodes (without grants) for a chain of folders.
pub fn nodes(chain: Vec<ChainNode>) -> Vec<Node> {
    chain
        .into_iter()
        .map(|c| Node {
            is_file: false,
            id: c.id,
            owner: c.owner_id,
            public: c.public,
            parent: c.parent_id,
            grants: Vec::new(),
        })
        .collect()
}
