//! [`FolderStore`] in memory.

use async_trait::async_trait;
use strongroom_audit::AuditEvent;

use super::{MemoryStore, State};
use crate::store::teams::SPACE_STAYS;
use crate::store::{
    ChainNode, Error, FOLDER_NAME_TAKEN, FOLDER_NOT_EMPTY, FolderChange, FolderEdge, FolderRecord,
    FolderStore, MAX_DEPTH, Result, TrashQuery,
};

/// The folder `id` and its ancestors, nearest first (empty if missing); `Corrupt` past
/// [`MAX_DEPTH`], like the SQL backends.
pub(super) fn chain(s: &State, id: &str) -> Result<Vec<ChainNode>> {
    let mut out = Vec::new();
    let mut next = s.folders.get(id);
    while let Some(f) = next {
        if out.len() > MAX_DEPTH {
            return Err(crate::store::folders::corrupt(id));
        }
        out.push(ChainNode {
            id: f.id.clone(),
            owner_id: f.owner_id.clone(),
            parent_id: f.parent_id.clone(),
            public: f.public,
            trashed: f.trashed_at.is_some(),
        });
        next = if f.parent_id.is_empty() {
            None
        } else {
            s.folders.get(&f.parent_id)
        };
    }
    Ok(out)
}

fn name_taken(s: &State, owner: &str, parent: &str, name: &str, except: &str) -> bool {
    s.folders.values().any(|f| {
        f.owner_id == owner
            && f.parent_id == parent
            && f.name == name
            && f.id != except
            && f.trashed_at.is_none()
    })
}

/// Whether `id` can take a new subfolder: it exists and is not the top of a trashed subtree.
fn open(s: &State, id: &str) -> bool {
    s.folders.get(id).is_some_and(|f| f.trashed_at.is_none())
}

/// Levels of folders below `id` (0 without subfolders).
fn height(s: &State, id: &str) -> usize {
    s.folders
        .values()
        .filter(|f| f.parent_id == id)
        .map(|f| 1 + height(s, &f.id))
        .max()
        .unwrap_or(0)
}

/// The checks of moving folder `id` of `owner` under `parent`: same owner, no cycle, depth.
fn check_move(s: &State, id: &str, owner: &str, parent: &str) -> Result<()> {
    let above = chain(s, parent)?;
    if above.first().is_some_and(|p| p.owner_id != owner) {
        return Err(Error::Invalid(
            "folders move only within their owner's tree".into(),
        ));
    }
    if above.iter().any(|n| n.id == id) {
        return Err(Error::Invalid("a folder cannot move into itself".into()));
    }
    let deepest = above.len() + 1 + height(s, id);
    if deepest > MAX_DEPTH {
        return Err(Error::Invalid(format!(
            "folders nest at most {MAX_DEPTH} deep: this move would make the deepest {deepest}"
        )));
    }
    Ok(())
}

#[async_trait]
impl FolderStore for MemoryStore {
    async fn create(&self, f: &FolderRecord, event: &AuditEvent) -> Result<()> {
        let mut s = self.lock();
        if !f.parent_id.is_empty() {
            if !open(&s, &f.parent_id) {
                return Err(Error::ParentGone);
            }
            if chain(&s, &f.parent_id)?.len() >= MAX_DEPTH {
                return Err(Error::Invalid(format!(
                    "folders nest at most {MAX_DEPTH} deep"
                )));
            }
        }
        if !super::is_owner(&s, &f.owner_id) {
            return Err(Error::Backend("the owner does not exist".into()));
        }
        if s.folders.contains_key(&f.id) {
            return Err(Error::Conflict("that already exists".into()));
        }
        if name_taken(&s, &f.owner_id, &f.parent_id, &f.name, "") {
            return Err(Error::Conflict(FOLDER_NAME_TAKEN.into()));
        }
        let mut f = f.clone();
        f.trashed_at = None;
        s.folders.insert(f.id.clone(), f);
        s.events.push(event.clone());
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<FolderRecord>> {
        Ok(self.lock().folders.get(id).cloned())
    }

    async fn chain(&self, id: &str) -> Result<Vec<ChainNode>> {
        chain(&self.lock(), id)
    }

    async fn children(&self, owner_id: &str, parent_id: &str) -> Result<Vec<FolderRecord>> {
        let s = self.lock();
        let mut out: Vec<FolderRecord> = s
            .folders
            .values()
            .filter(|f| {
                f.owner_id == owner_id && f.parent_id == parent_id && f.trashed_at.is_none()
            })
            .cloned()
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out.truncate(1000);
        Ok(out)
    }

    async fn update(&self, id: &str, c: &FolderChange, at: i64, event: &AuditEvent) -> Result<()> {
        let mut s = self.lock();
        let current = s.folders.get(id).cloned().ok_or(Error::NotFound)?;
        if c.parent_id
            .as_ref()
            .is_some_and(|p| *p != current.parent_id)
            && super::teams::is_space(&s, id)
        {
            return Err(Error::Conflict(SPACE_STAYS.into()));
        }
        if let Some(parent) = c.parent_id.as_deref().filter(|p| !p.is_empty()) {
            if !open(&s, parent) {
                return Err(Error::ParentGone);
            }
            check_move(&s, id, &current.owner_id, parent)?;
        }
        let name = c.name.clone().unwrap_or_else(|| current.name.clone());
        let parent = c
            .parent_id
            .clone()
            .unwrap_or_else(|| current.parent_id.clone());
        if name_taken(&s, &current.owner_id, &parent, &name, id) {
            return Err(Error::Conflict(FOLDER_NAME_TAKEN.into()));
        }
        let f = s.folders.get_mut(id).ok_or(Error::NotFound)?;
        f.name = name;
        f.parent_id = parent;
        if let Some(p) = c.public {
            f.public = p;
        }
        f.updated_at = at;
        s.events.push(event.clone());
        Ok(())
    }

    async fn delete(&self, id: &str, event: &AuditEvent) -> Result<()> {
        let mut s = self.lock();
        if !s.folders.contains_key(id) {
            return Err(Error::NotFound);
        }
        if super::teams::is_space(&s, id) {
            return Err(Error::Conflict(SPACE_STAYS.into()));
        }
        if s.files.values().any(|f| f.folder_id == id)
            || s.folders.values().any(|f| f.parent_id == id)
        {
            return Err(Error::Conflict(FOLDER_NOT_EMPTY.into()));
        }
        s.grants
            .retain(|(kind, node, _, _), _| !(kind == "folder" && node == id));
        s.folders.remove(id);
        s.events.push(event.clone());
        Ok(())
    }

    async fn edges(&self) -> Result<Vec<FolderEdge>> {
        Ok(self
            .lock()
            .folders
            .values()
            .map(|f| FolderEdge {
                id: f.id.clone(),
                owner_id: f.owner_id.clone(),
                parent_id: f.parent_id.clone(),
            })
            .collect())
    }

    async fn reattach(&self, id: &str, name: &str, at: i64, event: &AuditEvent) -> Result<()> {
        let mut s = self.lock();
        let owner = s.folders.get(id).ok_or(Error::NotFound)?.owner_id.clone();
        if name_taken(&s, &owner, "", name, id) {
            return Err(Error::Conflict(FOLDER_NAME_TAKEN.into()));
        }
        let f = s.folders.get_mut(id).ok_or(Error::NotFound)?;
        f.parent_id = String::new();
        f.name = name.to_owned();
        f.updated_at = at;
        s.events.push(event.clone());
        Ok(())
    }

    async fn trash(&self, id: &str, at: i64, event: &AuditEvent) -> Result<()> {
        let mut s = self.lock();
        if super::teams::is_space(&s, id) {
            return Err(Error::Conflict(SPACE_STAYS.into()));
        }
        let f = s
            .folders
            .get_mut(id)
            .filter(|f| f.trashed_at.is_none())
            .ok_or(Error::NotFound)?;
        f.trashed_at = Some(at);
        f.updated_at = at;
        s.events.push(event.clone());
        Ok(())
    }

    async fn restore(
        &self,
        id: &str,
        parent_id: &str,
        name: &str,
        at: i64,
        event: &AuditEvent,
    ) -> Result<()> {
        let mut s = self.lock();
        let owner = match s.folders.get(id) {
            Some(f) if f.trashed_at.is_some() => f.owner_id.clone(),
            _ => return Err(Error::NotFound),
        };
        if !parent_id.is_empty() {
            if !open(&s, parent_id) {
                return Err(Error::ParentGone);
            }
            check_move(&s, id, &owner, parent_id)?;
        }
        if name_taken(&s, &owner, parent_id, name, id) {
            return Err(Error::Conflict(FOLDER_NAME_TAKEN.into()));
        }
        let f = s.folders.get_mut(id).ok_or(Error::NotFound)?;
        f.trashed_at = None;
        f.parent_id = parent_id.to_owned();
        f.name = name.to_owned();
        f.updated_at = at;
        s.events.push(event.clone());
        Ok(())
    }

    async fn trashed(&self, q: &TrashQuery<'_>) -> Result<Vec<FolderRecord>> {
        let s = self.lock();
        let mut out: Vec<FolderRecord> = s
            .folders
            .values()
            .filter(|f| super::listed_in_trash(q, &f.owner_id, f.trashed_at))
            .cloned()
            .collect();
        out.sort_by(|a, b| {
            a.trashed_at
                .cmp(&b.trashed_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        out.truncate(q.limit as usize);
        Ok(out)
    }

    async fn subtree(&self, id: &str) -> Result<Vec<FolderRecord>> {
        let s = self.lock();
        let Some(top) = s.folders.get(id) else {
            return Ok(Vec::new());
        };
        let mut out = vec![top.clone()];
        let mut next = 0;
        while next < out.len() {
            if out.len() > 100_000 {
                return Err(crate::store::folders::corrupt(id));
            }
            let parent = out[next].id.clone();
            let mut kids: Vec<FolderRecord> = s
                .folders
                .values()
                .filter(|f| f.parent_id == parent && f.id != id)
                .cloned()
                .collect();
            kids.sort_by(|a, b| a.id.cmp(&b.id));
            out.extend(kids);
            next += 1;
        }
        Ok(out)
    }
}

#[cfg(test)]
impl MemoryStore {
    /// Sets a folder's parent without any check, to build the damage `fsck` repairs.
    pub(crate) fn force_parent(&self, id: &str, parent: &str) {
        if let Some(f) = self.lock().folders.get_mut(id) {
            f.parent_id = parent.to_owned();
        }
    }
}
