//! [`FileStore`] in memory.

use async_trait::async_trait;
use strongroom_audit::AuditEvent;

use super::{MemoryStore, State};
use crate::store::{
    Error, FILE_NAME_TAKEN, FileChange, FileOrder, FileQuery, FileRecord, FileStore, FileUsage,
    Located, Quota, Result, TrashQuery,
};

fn name_taken(s: &State, owner: &str, folder: &str, name: &str, except: &str) -> bool {
    s.files.values().any(|f| {
        f.owner_id == owner
            && f.folder_id == folder
            && f.name == name
            && f.id != except
            && f.trashed_at.is_none()
    })
}

/// Whether `folder` (`""`: the root) can take a new item: it exists and is not the top of a
/// trashed subtree (like the SQL backends' shared folder lock).
fn open_folder(s: &State, folder: &str) -> bool {
    folder.is_empty()
        || s.folders
            .get(folder)
            .is_some_and(|f| f.trashed_at.is_none())
}

/// What `owner` stores (see [`FileStore::usage`]).
pub(super) fn usage(s: &State, owner: &str) -> FileUsage {
    let mut u = FileUsage::default();
    for f in s.files.values().filter(|f| f.owner_id == owner) {
        let (mut n, mut bytes) = (0, 0);
        for v in s.versions.values().filter(|v| v.file_id == f.id) {
            n += 1;
            bytes += v.size;
        }
        let binned = f.trashed_at.is_some()
            || (!f.folder_id.is_empty()
                && super::folders::chain(s, &f.folder_id)
                    .map(|c| c.iter().any(|n| n.trashed))
                    .unwrap_or(false));
        u.files += 1;
        u.versions += n;
        u.bytes += bytes;
        if binned {
            u.trash_files += 1;
            u.trash_bytes += bytes;
        }
    }
    u
}

/// [`Error::QuotaExceeded`] when adding `bytes` and `files` takes `owner` past `quota`.
pub(super) fn check_quota(
    s: &State,
    owner: &str,
    quota: &Quota,
    bytes: u64,
    files: u64,
) -> Result<()> {
    if quota.bytes.is_none() && quota.files.is_none() {
        return Ok(());
    }
    let u = usage(s, owner);
    match quota.breach(u.bytes.saturating_add(bytes), u.files + files) {
        Some(why) => Err(Error::QuotaExceeded(why)),
        None => Ok(()),
    }
}

#[async_trait]
impl FileStore for MemoryStore {
    async fn insert(
        &self,
        f: &FileRecord,
        words: &str,
        quota: &Quota,
        event: &AuditEvent,
    ) -> Result<()> {
        let mut s = self.lock();
        if !open_folder(&s, &f.folder_id) {
            return Err(Error::ParentGone);
        }
        if !super::is_owner(&s, &f.owner_id) {
            return Err(Error::Backend("the owner does not exist".into()));
        }
        if s.files.contains_key(&f.id) || s.files.values().any(|x| x.blob_key == f.blob_key) {
            return Err(Error::Conflict("that already exists".into()));
        }
        if name_taken(&s, &f.owner_id, &f.folder_id, &f.name, "") {
            return Err(Error::Conflict(FILE_NAME_TAKEN.into()));
        }
        check_quota(&s, &f.owner_id, quota, f.size, 1)?;
        let mut f = f.clone();
        f.version = 1;
        f.trashed_at = None;
        s.versions.insert(
            (f.id.clone(), 1),
            crate::store::VersionRecord {
                file_id: f.id.clone(),
                version: 1,
                size: f.size,
                content_type: f.content_type.clone(),
                sha256: f.sha256.clone(),
                signature: f.signature.clone(),
                blob_key: f.blob_key.clone(),
                created_by: f.owner_id.clone(),
                created_at: f.created_at,
                restored_from: None,
            },
        );
        s.organize.words.insert(f.id.clone(), words.to_owned());
        s.files.insert(f.id.clone(), f);
        s.events.push(event.clone());
        Ok(())
    }

    async fn get(&self, id: &str) -> Result<Option<FileRecord>> {
        Ok(self.lock().files.get(id).cloned())
    }

    async fn locate(&self, id: &str) -> Result<Option<Located>> {
        let s = self.lock();
        let Some(file) = s.files.get(id).cloned() else {
            return Ok(None);
        };
        let folders = if file.folder_id.is_empty() {
            Vec::new()
        } else {
            super::folders::chain(&s, &file.folder_id)?
        };
        Ok(Some(Located { file, folders }))
    }

    async fn locate_many(&self, ids: &[&str]) -> Result<Vec<Located>> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(l) = self.locate(id).await? {
                out.push(l);
            }
        }
        Ok(out)
    }

    async fn list(&self, q: &FileQuery<'_>) -> Result<Vec<FileRecord>> {
        let s = self.lock();
        let mut out: Vec<FileRecord> = s
            .files
            .values()
            .filter(|f| {
                f.owner_id == q.owner_id && f.folder_id == q.folder_id && f.trashed_at.is_none()
            })
            .cloned()
            .collect();
        out.sort_by(|a, b| {
            let key = match q.order {
                FileOrder::Name => a.name.cmp(&b.name),
                FileOrder::Created => a.created_at.cmp(&b.created_at),
                FileOrder::Updated => a.updated_at.cmp(&b.updated_at),
                FileOrder::Size => a.size.cmp(&b.size),
            };
            let ord = key.then_with(|| a.id.cmp(&b.id));
            if q.desc { ord.reverse() } else { ord }
        });
        Ok(out
            .into_iter()
            .skip(q.offset.min(usize::MAX as u64) as usize)
            .take(q.limit as usize)
            .collect())
    }

    async fn find_named(
        &self,
        owner_id: &str,
        folder_id: &str,
        name: &str,
    ) -> Result<Option<FileRecord>> {
        Ok(self
            .lock()
            .files
            .values()
            .find(|f| {
                f.owner_id == owner_id
                    && f.folder_id == folder_id
                    && f.name == name
                    && f.trashed_at.is_none()
            })
            .cloned())
    }

    async fn update(&self, id: &str, c: &FileChange, at: i64, event: &AuditEvent) -> Result<()> {
        let mut s = self.lock();
        let current = s.files.get(id).cloned().ok_or(Error::NotFound)?;
        if let Some(folder) = c.folder_id.as_deref()
            && !open_folder(&s, folder)
        {
            return Err(Error::ParentGone);
        }
        let name = c.name.clone().unwrap_or_else(|| current.name.clone());
        let folder = c
            .folder_id
            .clone()
            .unwrap_or_else(|| current.folder_id.clone());
        if name_taken(&s, &current.owner_id, &folder, &name, id) {
            return Err(Error::Conflict(FILE_NAME_TAKEN.into()));
        }
        let f = s.files.get_mut(id).ok_or(Error::NotFound)?;
        f.name = name;
        f.folder_id = folder;
        if let Some(p) = c.public {
            f.public = p;
        }
        f.updated_at = at;
        s.events.push(event.clone());
        Ok(())
    }

    async fn delete(&self, id: &str, event: &AuditEvent) -> Result<Option<Vec<String>>> {
        let mut s = self.lock();
        if s.files.remove(id).is_none() {
            return Ok(None);
        }
        let blobs = super::versions::remove_all(&mut s, id);
        s.grants
            .retain(|(kind, node, _, _), _| !(kind == "file" && node == id));
        s.links.retain(|_, l| l.file_id != id);
        s.events.push(event.clone());
        Ok(Some(blobs))
    }

    async fn trash(&self, id: &str, at: i64, event: &AuditEvent) -> Result<()> {
        let mut s = self.lock();
        let f = s
            .files
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
        folder_id: &str,
        name: &str,
        at: i64,
        event: &AuditEvent,
    ) -> Result<()> {
        let mut s = self.lock();
        let owner = match s.files.get(id) {
            Some(f) if f.trashed_at.is_some() => f.owner_id.clone(),
            _ => return Err(Error::NotFound),
        };
        if !open_folder(&s, folder_id) {
            return Err(Error::ParentGone);
        }
        if name_taken(&s, &owner, folder_id, name, id) {
            return Err(Error::Conflict(FILE_NAME_TAKEN.into()));
        }
        let f = s.files.get_mut(id).ok_or(Error::NotFound)?;
        f.trashed_at = None;
        f.folder_id = folder_id.to_owned();
        f.name = name.to_owned();
        f.updated_at = at;
        s.events.push(event.clone());
        Ok(())
    }

    async fn trashed(&self, q: &TrashQuery<'_>) -> Result<Vec<FileRecord>> {
        let s = self.lock();
        let mut out: Vec<FileRecord> = s
            .files
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

    async fn in_folder(&self, folder_id: &str) -> Result<Vec<FileRecord>> {
        let s = self.lock();
        let mut out: Vec<FileRecord> = s
            .files
            .values()
            .filter(|f| f.folder_id == folder_id)
            .cloned()
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    async fn usage(&self, owner_id: &str) -> Result<FileUsage> {
        Ok(usage(&self.lock(), owner_id))
    }

    async fn owners(&self, after: Option<&str>, limit: usize) -> Result<Vec<String>> {
        let s = self.lock();
        let owners: std::collections::BTreeSet<&str> = s
            .files
            .values()
            .map(|f| f.owner_id.as_str())
            .filter(|o| after.is_none_or(|a| *o > a))
            .collect();
        Ok(owners.into_iter().take(limit).map(str::to_owned).collect())
    }
}
