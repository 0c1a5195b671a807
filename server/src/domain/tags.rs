//! Tags: each person and each team has a vocabulary; tags go on files and folders of their
//! owner's tree, in bulk, by anyone who may write those items.
//!
//! A person manages their own vocabulary; a team's is read by its members and managed by those
//! who may write the team's space (editors and admins).

use std::sync::Arc;

use serde::Serialize;
use utoipa::ToSchema;

use super::files::{FileMeta, Files};
use super::folders::{Folder, Folders};
use super::teams::Teams;
use super::{Ctx, Guard, names, rfc3339};
use crate::error::{Error, Result};
use crate::store::{DynTagStore, DynTeamStore, Item, TagRecord};

/// Tags in one vocabulary at most.
pub const MAX_TAGS: usize = 1000;
/// Items one request tags or untags at most.
pub const MAX_ITEMS: usize = 1000;

/// A tag and how much carries it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Tag {
    /// Tag id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Colour (`#rrggbb`), if set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub colour: Option<String>,
    /// The person or team whose vocabulary it is in.
    pub owner_id: String,
    /// The team, for a team's tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_id: Option<String>,
    /// Files tagged (trash included).
    pub files: u64,
    /// Folders tagged (trash included).
    pub folders: u64,
    /// Created (RFC 3339).
    pub created_at: String,
}

/// What a tag is on, a page at a time.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaggedPage {
    /// The files the caller may read.
    pub files: Vec<FileMeta>,
    /// The folders the caller may read.
    pub folders: Vec<Folder>,
    /// Where the next page starts, if there may be one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The items of a bulk change.
#[derive(Debug, Clone, Default)]
pub struct Items {
    /// File ids.
    pub files: Vec<String>,
    /// Folder ids.
    pub folders: Vec<String>,
}

/// Tag vocabularies and taggings.
#[derive(Debug, Clone)]
pub struct Tags {
    store: Arc<DynTagStore>,
    teams_store: Arc<DynTeamStore>,
    teams: Teams,
    files: Files,
    folders: Folders,
    guard: Guard,
}

/// Whose vocabulary a request is about.
enum Vocabulary {
    Mine(String),
    Team(crate::store::TeamRecord),
}

impl Vocabulary {
    fn owner(&self) -> &str {
        match self {
            Vocabulary::Mine(id) => id,
            Vocabulary::Team(t) => &t.id,
        }
    }
}

fn tag_name(name: &str) -> Result<String> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 64 || n.chars().any(char::is_control) {
        return Err(Error::Invalid(
            "a tag name is 1 to 64 characters, no control characters".into(),
        ));
    }
    Ok(n.to_owned())
}

fn colour(c: &str) -> Result<String> {
    let ok = c.len() == 7 && c.starts_with('#') && c[1..].bytes().all(|b| b.is_ascii_hexdigit());
    if !ok {
        return Err(Error::Invalid(format!(
            "a colour is #rrggbb (such as #1f6feb), not {c:?}"
        )));
    }
    Ok(c.to_ascii_lowercase())
}

impl Tags {
    /// Over the tag and team stores, authorizing through the team, file and folder services.
    pub fn new(
        store: Arc<DynTagStore>,
        teams_store: Arc<DynTeamStore>,
        teams: Teams,
        files: Files,
        folders: Folders,
        guard: Guard,
    ) -> Tags {
        Tags {
            store,
            teams_store,
            teams,
            files,
            folders,
            guard,
        }
    }

    /// The vocabulary of the caller (`team` `None`) or of a team, after authorizing reading it
    /// (`manage` false) or changing it.
    async fn vocabulary(&self, ctx: &Ctx, team: Option<&str>, manage: bool) -> Result<Vocabulary> {
        match team.filter(|t| !t.is_empty()) {
            None => Ok(Vocabulary::Mine(
                self.guard.authorize_own_account(ctx).await?,
            )),
            Some(team) => {
                let t = self.teams.authorized_team(ctx, "view_team", team).await?;
                if manage {
                    self.folders.authorize_on(ctx, "write", &t.space_id).await?;
                }
                Ok(Vocabulary::Team(t))
            }
        }
    }

    /// Tag `id` after authorizing reading (or changing) its vocabulary; 404 for anyone who may
    /// not read it.
    async fn tag(&self, ctx: &Ctx, id: &str, manage: bool) -> Result<TagRecord> {
        ctx.user_id()?;
        let missing = || Error::NotFound("no such tag".into());
        let id = names::id(id).map_err(|_| missing())?;
        let tag = self.store.get(&id).await?.ok_or_else(missing)?;
        let team = self.teams_store.get(&tag.owner_id).await?.map(|t| t.id);
        match team {
            None if ctx.user_id()? != tag.owner_id => return Err(missing()),
            None => {
                self.guard.authorize_own_account(ctx).await?;
            }
            Some(team) => {
                self.vocabulary(ctx, Some(&team), false)
                    .await
                    .map_err(|e| match e {
                        Error::NotFound(_) => missing(),
                        e => e,
                    })?;
                if manage {
                    self.vocabulary(ctx, Some(&team), true).await?;
                }
            }
        }
        Ok(tag)
    }

    async fn view(&self, tag: TagRecord) -> Result<Tag> {
        let used = self
            .store
            .vocabulary(&tag.owner_id)
            .await?
            .into_iter()
            .find(|u| u.tag.id == tag.id);
        let team_id = self.teams_store.get(&tag.owner_id).await?.map(|t| t.id);
        Ok(Tag {
            files: used.as_ref().map_or(0, |u| u.files),
            folders: used.as_ref().map_or(0, |u| u.folders),
            id: tag.id,
            name: tag.name,
            colour: tag.colour,
            owner_id: tag.owner_id,
            team_id,
            created_at: rfc3339(tag.created_at),
        })
    }

    /// The caller's tags, or a team's, by name, with how much carries each.
    pub async fn list(&self, ctx: &Ctx, team: Option<&str>) -> Result<Vec<Tag>> {
        let v = self.vocabulary(ctx, team, false).await?;
        let team_id = match &v {
            Vocabulary::Team(t) => Some(t.id.clone()),
            Vocabulary::Mine(_) => None,
        };
        Ok(self
            .store
            .vocabulary(v.owner())
            .await?
            .into_iter()
            .map(|u| Tag {
                id: u.tag.id,
                name: u.tag.name,
                colour: u.tag.colour,
                owner_id: u.tag.owner_id,
                team_id: team_id.clone(),
                files: u.files,
                folders: u.folders,
                created_at: rfc3339(u.tag.created_at),
            })
            .collect())
    }

    /// Creates a tag in the caller's vocabulary or a team's.
    pub async fn create(
        &self,
        ctx: &Ctx,
        team: Option<&str>,
        name: &str,
        colour_: Option<&str>,
    ) -> Result<Tag> {
        let v = self.vocabulary(ctx, team, true).await?;
        let name = tag_name(name)?;
        let colour_ = colour_.map(colour).transpose()?;
        if self.store.vocabulary(v.owner()).await?.len() >= MAX_TAGS {
            return Err(Error::Conflict(format!(
                "a vocabulary holds at most {MAX_TAGS} tags; delete some first"
            )));
        }
        let record = TagRecord {
            id: uuid::Uuid::now_v7().to_string(),
            owner_id: v.owner().to_owned(),
            name: name.clone(),
            colour: colour_,
            created_by: ctx.user_id()?.to_owned(),
            created_at: self.guard.now(),
        };
        let event = ctx
            .event("tag.created", "tag", &record.id)
            .attr("name", name.as_str())
            .attr("owner_id", record.owner_id.as_str())
            .build()?;
        self.store.create(&record, &event).await?;
        self.view(record).await
    }

    /// One tag.
    pub async fn get(&self, ctx: &Ctx, id: &str) -> Result<Tag> {
        let tag = self.tag(ctx, id, false).await?;
        self.view(tag).await
    }

    /// Renames a tag and/or sets its colour (`Some(None)`: clears it).
    pub async fn update(
        &self,
        ctx: &Ctx,
        id: &str,
        name: Option<&str>,
        colour_: Option<Option<&str>>,
    ) -> Result<Tag> {
        let tag = self.tag(ctx, id, true).await?;
        let name = name.map(tag_name).transpose()?;
        let colour_ = match colour_ {
            Some(Some(c)) => Some(Some(colour(c)?)),
            Some(None) => Some(None),
            None => None,
        };
        if name.is_none() && colour_.is_none() {
            return Err(Error::Invalid(
                "nothing to change: give name and/or colour".into(),
            ));
        }
        let mut event = ctx.event("tag.updated", "tag", &tag.id);
        if let Some(n) = &name {
            event = event.attr("name", n.as_str());
        }
        self.store
            .update(
                &tag.id,
                name.as_deref(),
                colour_.as_ref().map(|c| c.as_deref()),
                &event.build()?,
            )
            .await?;
        self.get(ctx, &tag.id).await
    }

    /// Deletes a tag (and every tagging of it).
    pub async fn delete(&self, ctx: &Ctx, id: &str) -> Result<()> {
        let tag = self.tag(ctx, id, true).await?;
        let event = ctx
            .event("tag.deleted", "tag", &tag.id)
            .attr("name", tag.name.as_str())
            .build()?;
        Ok(self.store.delete(&tag.id, &event).await?)
    }

    /// The items of a bulk change, after authorizing `write` on every one of them (all at
    /// once); any one the caller may not write refuses the whole change, naming it.
    async fn writable(&self, ctx: &Ctx, items: &Items) -> Result<Vec<Item>> {
        let count = items.files.len() + items.folders.len();
        if count == 0 {
            return Err(Error::Invalid("give files and/or folders (ids)".into()));
        }
        if count > MAX_ITEMS {
            return Err(Error::Invalid(format!("at most {MAX_ITEMS} items at once")));
        }
        let mut out = Vec::with_capacity(count);
        let mut chains = Vec::with_capacity(count);
        let file_ids: Vec<String> = items
            .files
            .iter()
            .map(|id| names::id(id).map_err(|_| Error::NotFound(format!("no such file: {id}"))))
            .collect::<Result<_>>()?;
        let refs: Vec<&str> = file_ids.iter().map(String::as_str).collect();
        let located = self.files.store.locate_many(&refs).await?;
        for id in &file_ids {
            let l = located
                .iter()
                .find(|l| &l.file.id == id)
                .filter(|l| l.file.trashed_at.is_none() && !l.folders.iter().any(|f| f.trashed))
                .ok_or_else(|| Error::NotFound(format!("no such file: {id}")))?;
            let file = FileMeta::from(l.file.clone());
            let mut chain = vec![file.policy_node()];
            chain.extend(super::folders::nodes(l.folders.clone()));
            chains.push(chain);
            out.push(Item::File(id.clone()));
        }
        for id in &items.folders {
            let id = names::id(id).map_err(|_| Error::NotFound(format!("no such folder: {id}")))?;
            chains.push(
                self.folders
                    .chain_nodes(&id)
                    .await
                    .map_err(|_| Error::NotFound(format!("no such folder: {id}")))?,
            );
            out.push(Item::Folder(id));
        }
        let allowed = self
            .folders
            .allowed_many(ctx, "write", chains.clone())
            .await?;
        if let Some(i) = allowed.iter().position(|a| !a) {
            let item = &out[i];
            let event = ctx
                .event("authz.denied.write", item.kind(), item.id())
                .outcome(strongroom_audit::Outcome::Denied)
                .build()?;
            self.guard.record(&event).await?;
            self.guard.metrics.denials.inc();
            // An item the caller may read is forbidden; one they may not even read is not
            // found (its id reveals nothing), but to administrators, who know every id.
            let admin = matches!(
                ctx.principal,
                crate::authz::Principal::User { admin: true, .. }
            );
            let readable = admin
                || self
                    .folders
                    .allowed_many(ctx, "read", vec![chains[i].clone()])
                    .await?
                    .first()
                    .copied()
                    .unwrap_or(false);
            if readable {
                return Err(Error::Forbidden {
                    detail: format!(
                        "you may not change {} {} (editors and owners may tag)",
                        item.kind(),
                        item.id()
                    ),
                    explanation: None,
                });
            }
            return Err(Error::NotFound(format!(
                "no such {}: {}",
                item.kind(),
                item.id()
            )));
        }
        Ok(out)
    }

    /// Tags files and folders (all of the tag owner's tree, all writable by the caller);
    /// how many were not tagged before.
    pub async fn apply(&self, ctx: &Ctx, id: &str, items: &Items) -> Result<u64> {
        let tag = self.tag_for_items(ctx, id).await?;
        let items = self.writable(ctx, items).await?;
        let event = ctx
            .event("tag.applied", "tag", &tag.id)
            .attr("name", tag.name.as_str())
            .attr(
                "items",
                serde_json::to_value(item_ids(&items)).unwrap_or_default(),
            )
            .build()?;
        match self
            .store
            .apply(&tag.id, &items, ctx.user_id()?, self.guard.now(), &event)
            .await
        {
            Err(crate::store::Error::NotFound) => {
                Err(Error::NotFound("an item or the tag is gone".into()))
            }
            other => Ok(other?),
        }
    }

    /// Untags files and folders; how many carried the tag.
    pub async fn remove(&self, ctx: &Ctx, id: &str, items: &Items) -> Result<u64> {
        let tag = self.tag_for_items(ctx, id).await?;
        let items = self.writable(ctx, items).await?;
        let event = ctx
            .event("tag.removed", "tag", &tag.id)
            .attr("name", tag.name.as_str())
            .attr(
                "items",
                serde_json::to_value(item_ids(&items)).unwrap_or_default(),
            )
            .build()?;
        Ok(self.store.remove(&tag.id, &items, &event).await?)
    }

    /// A tag to put on or take off items: the caller writes the items (checked after), so the
    /// tag need only exist; its vocabulary need not be theirs to read.
    async fn tag_for_items(&self, ctx: &Ctx, id: &str) -> Result<TagRecord> {
        ctx.user_id()?;
        let missing = || Error::NotFound("no such tag".into());
        let id = names::id(id).map_err(|_| missing())?;
        self.store.get(&id).await?.ok_or_else(missing)
    }

    /// What carries a tag and the caller may read, a page at a time (cursor: the last item of
    /// the page before).
    pub async fn items(
        &self,
        ctx: &Ctx,
        id: &str,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<TaggedPage> {
        let tag = self.tag(ctx, id, false).await?;
        let limit = limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(Error::BadRequest("limit must be between 1 and 1000".into()));
        }
        let after = cursor.map(parse_item_cursor).transpose()?;
        let page = self.store.items(&tag.id, after.as_ref(), limit + 1).await?;
        let more = page.len() > limit as usize;
        let page: Vec<Item> = page.into_iter().take(limit as usize).collect();
        let next_cursor = more
            .then(|| page.last().map(|i| format!("{}:{}", i.kind(), i.id())))
            .flatten();
        let file_ids: Vec<&str> = page
            .iter()
            .filter_map(|i| matches!(i, Item::File(_)).then_some(i.id()))
            .collect();
        let located = self.files.store.locate_many(&file_ids).await?;
        let mut files = Vec::new();
        let mut chains = Vec::new();
        for l in located {
            if l.file.trashed_at.is_some() || l.folders.iter().any(|f| f.trashed) {
                continue;
            }
            let file = FileMeta::from(l.file);
            let mut chain = vec![file.policy_node()];
            chain.extend(super::folders::nodes(l.folders));
            chains.push(chain);
            files.push(file);
        }
        let mut folders = Vec::new();
        for i in &page {
            if let Item::Folder(fid) = i
                && let Ok(chain) = self.folders.chain_nodes(fid).await
            {
                chains.push(chain);
                folders.push(self.folders.load(fid).await?);
            }
        }
        let allowed = self.folders.allowed_many(ctx, "read", chains).await?;
        let (file_ok, folder_ok) = allowed.split_at(files.len());
        let mut files: Vec<FileMeta> = files
            .into_iter()
            .zip(file_ok)
            .filter_map(|(f, ok)| ok.then_some(f))
            .collect();
        files.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        self.files.label(&mut files).await?;
        let mut folders: Vec<Folder> = folders
            .into_iter()
            .zip(folder_ok)
            .filter_map(|(f, ok)| ok.then_some(f))
            .collect();
        folders.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        Ok(TaggedPage {
            files,
            folders,
            next_cursor,
        })
    }
}

fn item_ids(items: &[Item]) -> Vec<String> {
    items
        .iter()
        .map(|i| format!("{}:{}", i.kind(), i.id()))
        .collect()
}

fn parse_item_cursor(c: &str) -> Result<Item> {
    let bad = || Error::BadRequest(format!("invalid cursor {c:?}"));
    match c.split_once(':') {
        Some(("file", id)) if !id.is_empty() => Ok(Item::File(id.to_owned())),
        Some(("folder", id)) if !id.is_empty() => Ok(Item::Folder(id.to_owned())),
        _ => Err(bad()),
    }
}
