//! The trash: what a delete moved aside, listed, restored to its old place, purged for good
//! (by hand, by emptying it, or automatically after `files.trash_keep_days`).
//!
//! A trashed item keeps its row; only the top of a trashed subtree is marked, and every live
//! route treats anything at or below a mark as missing ([`Files::locate`],
//! [`super::Folders::chain_nodes`]). Restoring and purging are the owner's (`manage`).

use std::time::Duration;

use object_store::path::Path as ObjectPath;
use serde::Serialize;
use utoipa::ToSchema;

use super::files::Files;
use super::{Ctx, Error, Result, rfc3339};
use crate::store::{self, FileRecord, FolderRecord, TrashQuery};

/// How many trashed items one listing returns at most.
const LIST_LIMIT: u32 = 1000;
/// Names tried when a restored item's name is taken: `name`, `name (2)` … `name (N)`.
const RENAME_ATTEMPTS: u32 = 100;
/// Times a folder purge starts over when something landed in it meanwhile.
const PURGE_ATTEMPTS: usize = 3;

/// A file or a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A file.
    File,
    /// A folder, with everything in it.
    Folder,
}

impl Kind {
    /// `file` or `folder` (audit resource kinds).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Folder => "folder",
        }
    }

    /// From a path segment: `files` or `folders`.
    pub fn from_segment(segment: &str) -> Result<Kind> {
        match segment {
            "files" => Ok(Kind::File),
            "folders" => Ok(Kind::Folder),
            other => Err(Error::NotFound(format!(
                "the trash holds files and folders, not {other:?}"
            ))),
        }
    }
}

/// One item in the trash (the top of what was deleted).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TrashItem {
    /// File or folder.
    pub kind: Kind,
    /// Its id (unchanged by trashing and restoring).
    pub id: String,
    /// Its name.
    pub name: String,
    /// The folder it was deleted from (`null`: the root); a restore puts it back there.
    pub folder_id: Option<String>,
    /// Size in bytes (files; 0 for folders).
    pub size: u64,
    /// When it was deleted (RFC 3339).
    pub trashed_at: String,
    /// When it is purged automatically (RFC 3339).
    pub purge_at: String,
}

/// Where a restore put an item.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Restored {
    /// File or folder.
    pub kind: Kind,
    /// Its id.
    pub id: String,
    /// Its name now (a suffix ` (2)`, ` (3)` … when the old name was taken meanwhile).
    pub name: String,
    /// The folder it is in now: the old one, or the root (`null`) when that is gone or in the
    /// trash.
    pub folder_id: Option<String>,
}

/// What emptying the trash removed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Emptied {
    /// Items purged (tops of trashed subtrees).
    pub purged: u64,
}

/// `name (n)`, keeping an extension: `report (2).txt`, `photos (3)`.
fn numbered(name: &str, n: u32, is_file: bool) -> String {
    if n == 1 {
        return name.to_owned();
    }
    match name.rfind('.').filter(|&i| is_file && i > 0) {
        Some(i) => format!("{} ({n}){}", &name[..i], &name[i..]),
        None => format!("{name} ({n})"),
    }
}

impl Files {
    fn keep(&self) -> i64 {
        Duration::from_secs(u64::from(self.limits.trash_keep_days) * 86_400).as_micros() as i64
    }

    fn file_item(&self, f: FileRecord) -> TrashItem {
        let at = f.trashed_at.unwrap_or_default();
        TrashItem {
            kind: Kind::File,
            id: f.id,
            name: f.name,
            folder_id: Some(f.folder_id).filter(|f| !f.is_empty()),
            size: f.size,
            trashed_at: rfc3339(at),
            purge_at: rfc3339(at + self.keep()),
        }
    }

    fn folder_item(&self, f: FolderRecord) -> TrashItem {
        let at = f.trashed_at.unwrap_or_default();
        TrashItem {
            kind: Kind::Folder,
            id: f.id,
            name: f.name,
            folder_id: Some(f.parent_id).filter(|f| !f.is_empty()),
            size: 0,
            trashed_at: rfc3339(at),
            purge_at: rfc3339(at + self.keep()),
        }
    }

    /// The caller's trash, oldest deletion first.
    pub async fn trash(&self, ctx: &Ctx) -> Result<Vec<TrashItem>> {
        self.guard.authorize_platform(ctx, "list_root").await?;
        let owner = ctx.user_id()?.to_owned();
        self.trash_of(&owner).await
    }

    /// The trash of the team whose space is `space_id`, for those who may manage the space
    /// (its admins), oldest deletion first.
    pub async fn space_trash(&self, ctx: &Ctx, space_id: &str) -> Result<Vec<TrashItem>> {
        let nodes = self.folders.authorize_on(ctx, "manage", space_id).await?;
        self.trash_of(&nodes[0].owner).await
    }

    async fn trash_of(&self, owner: &str) -> Result<Vec<TrashItem>> {
        let q = TrashQuery {
            owner_id: Some(owner),
            before: None,
            limit: LIST_LIMIT,
        };
        let mut items: Vec<TrashItem> = Vec::new();
        for f in self.folders.store.trashed(&q).await? {
            items.push(self.folder_item(f));
        }
        for f in self.store.trashed(&q).await? {
            items.push(self.file_item(f));
        }
        items.sort_by(|a, b| a.trashed_at.cmp(&b.trashed_at).then(a.id.cmp(&b.id)));
        Ok(items)
    }

    /// Authorizes `manage` (the owner's right) on the top of a trashed subtree; anything else,
    /// including a live item or one merely inside a trashed folder, is "not in the trash".
    async fn trashed_item(&self, ctx: &Ctx, kind: Kind, id: &str) -> Result<(TrashItem, String)> {
        let id = super::names::id(id)?;
        let gone = || Error::NotFound(format!("no {} {id} in the trash", kind.as_str()));
        let (item, target) = match kind {
            Kind::File => {
                let record = self.store.get(&id).await?.ok_or_else(gone)?;
                if record.trashed_at.is_none() {
                    return Err(gone());
                }
                let (_, target, _) = self.locate_any(&id, &ctx.principals()).await?;
                let owner = record.owner_id.clone();
                ((self.file_item(record), owner), target)
            }
            Kind::Folder => {
                let record = self.folders.store.get(&id).await?.ok_or_else(gone)?;
                if record.trashed_at.is_none() {
                    return Err(gone());
                }
                let (nodes, _) = self.folders.chain_any(&id).await?;
                let target = self.folders.attach_grants(nodes, &ctx.principals()).await?;
                let owner = record.owner_id.clone();
                ((self.folder_item(record), owner), target)
            }
        };
        match self
            .guard
            .authorize(ctx, "manage", &target, kind.as_str(), &id)
            .await
        {
            Ok(()) => Ok(item),
            Err(Error::NotFound(_)) => Err(gone()),
            Err(e) => Err(e),
        }
    }

    /// Puts a trashed item back where it was, or at the owner's root when that folder is gone
    /// or in the trash itself; a name taken meanwhile gets ` (2)`, ` (3)` … (before any
    /// extension of a file's name).
    pub async fn restore_from_trash(&self, ctx: &Ctx, kind: Kind, id: &str) -> Result<Restored> {
        let (item, owner) = self.trashed_item(ctx, kind, id).await?;
        let mut folder = item.folder_id.clone().unwrap_or_default();
        if folder.is_empty() || self.folders.chain_nodes(&folder).await.is_err() {
            // The top of the owner's tree: their root, or a team's space.
            folder = self.folders.top_of(&owner).await?;
        }
        // The caller must be able to add to the place it goes back to.
        let folder_arg = (!folder.is_empty()).then_some(folder.as_str());
        self.folders.authorize_create_in(ctx, folder_arg).await?;
        for n in 1..=RENAME_ATTEMPTS {
            let name = numbered(&item.name, n, kind == Kind::File);
            let event = ctx
                .event(
                    &format!("{}.restored", kind.as_str()),
                    kind.as_str(),
                    &item.id,
                )
                .attr("name", name.as_str())
                .attr("folder", folder.as_str())
                .build()?;
            let at = self.guard.now();
            let done = match kind {
                Kind::File => {
                    self.store
                        .restore(&item.id, &folder, &name, at, &event)
                        .await
                }
                Kind::Folder => {
                    self.folders
                        .store
                        .restore(&item.id, &folder, &name, at, &event)
                        .await
                }
            };
            match done {
                Ok(()) => {
                    return Ok(Restored {
                        kind,
                        id: item.id,
                        name,
                        folder_id: Some(folder).filter(|f| !f.is_empty()),
                    });
                }
                Err(store::Error::Conflict(_)) => continue,
                Err(store::Error::NotFound) => {
                    return Err(Error::NotFound(format!(
                        "no {} {} in the trash",
                        kind.as_str(),
                        item.id
                    )));
                }
                // The folder went to the trash between the check and the write: the root.
                Err(store::Error::ParentGone) if !folder.is_empty() => {
                    return Box::pin(self.restore_from_trash(ctx, kind, &item.id)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::Conflict(format!(
            "{:?} and {} numbered variants are all taken where it goes back",
            item.name,
            RENAME_ATTEMPTS - 1
        )))
    }

    /// Deletes a trashed item for good: its metadata, versions, shares and links, then its
    /// content. A folder goes with everything below it.
    pub async fn purge(&self, ctx: &Ctx, kind: Kind, id: &str) -> Result<()> {
        let (item, _) = self.trashed_item(ctx, kind, id).await?;
        self.purge_unchecked(ctx, kind, &item.id).await
    }

    /// Empties the caller's trash.
    pub async fn empty_trash(&self, ctx: &Ctx) -> Result<Emptied> {
        let mut purged = 0;
        for item in self.trash(ctx).await? {
            match self.purge(ctx, item.kind, &item.id).await {
                Ok(()) => purged += 1,
                // Restored or purged by another request meanwhile.
                Err(Error::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Emptied { purged })
    }

    /// Purges everything trashed more than `files.trash_keep_days` ago (the sweeper's task, on
    /// the server's clock); returns how many items went.
    pub async fn purge_expired_trash(&self) -> Result<u64> {
        let q = TrashQuery {
            owner_id: None,
            before: Some(self.guard.now() - self.keep()),
            limit: 500,
        };
        let ctx = self.guard.system_ctx();
        let mut purged = 0;
        for f in self.folders.store.trashed(&q).await? {
            self.purge_unchecked(&ctx, Kind::Folder, &f.id).await?;
            purged += 1;
        }
        for f in self.store.trashed(&q).await? {
            self.purge_unchecked(&ctx, Kind::File, &f.id).await?;
            purged += 1;
        }
        Ok(purged)
    }

    async fn purge_unchecked(&self, ctx: &Ctx, kind: Kind, id: &str) -> Result<()> {
        match kind {
            Kind::File => self.purge_file(ctx, id).await,
            Kind::Folder => {
                for attempt in 1..=PURGE_ATTEMPTS {
                    match self.purge_folder(ctx, id).await {
                        // Something landed in it between listing and deleting: again.
                        Err(Error::Conflict(_)) if attempt < PURGE_ATTEMPTS => continue,
                        other => return other,
                    }
                }
                Ok(())
            }
        }
    }

    async fn purge_file(&self, ctx: &Ctx, id: &str) -> Result<()> {
        let event = ctx.event("file.purged", "file", id).build()?;
        if let Some(blobs) = self.store.delete(id, &event).await? {
            for key in blobs {
                let _ = self.blobs.delete(&ObjectPath::from(key)).await;
            }
        }
        Ok(())
    }

    /// Deepest folders first, each one's files before it; every step is its own transaction,
    /// and a crash midway leaves the rest still in the trash, purged by the next attempt.
    async fn purge_folder(&self, ctx: &Ctx, id: &str) -> Result<()> {
        let tree = self.folders.store.subtree(id).await?;
        for folder in tree.iter().rev() {
            for file in self.store.in_folder(&folder.id).await? {
                self.purge_file(ctx, &file.id).await?;
            }
            let event = ctx.event("folder.purged", "folder", &folder.id).build()?;
            match self.folders.store.delete(&folder.id, &event).await {
                Ok(()) | Err(store::Error::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::numbered;

    #[test]
    fn clashing_names_are_numbered_before_the_extension() {
        assert_eq!(numbered("report.txt", 1, true), "report.txt");
        assert_eq!(numbered("report.txt", 2, true), "report (2).txt");
        assert_eq!(numbered(".env", 3, true), ".env (3)");
        assert_eq!(numbered("photos.2024", 2, false), "photos.2024 (2)");
    }
}
