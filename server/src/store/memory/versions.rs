//! [`VersionStore`] in memory.

use async_trait::async_trait;
use strongroom_audit::AuditEvent;

use super::{MemoryStore, State};
use crate::store::{
    Error, NewVersion, Removed, Result, VersionRecord, VersionStore, versions::CURRENT_VERSION,
};

/// Drops every version of `file`; the blob keys they used.
pub(super) fn remove_all(s: &mut State, file: &str) -> Vec<String> {
    let mut blobs: Vec<String> = s
        .versions
        .iter()
        .filter(|((f, _), _)| f == file)
        .map(|(_, v)| v.blob_key.clone())
        .collect();
    s.versions.retain(|(f, _), _| f != file);
    blobs.sort();
    blobs.dedup();
    blobs
}

#[async_trait]
impl VersionStore for MemoryStore {
    async fn add(&self, v: &NewVersion, event: &AuditEvent) -> Result<VersionRecord> {
        let mut s = self.lock();
        let file = s.files.get(&v.file_id).ok_or(Error::NotFound)?;
        if let Some(tags) = &v.if_match
            && !tags.contains(&file.sha256)
        {
            return Err(Error::Stale {
                current: file.version,
            });
        }
        let owner = file.owner_id.clone();
        super::files::check_quota(&s, &owner, &v.quota, v.size, 0)?;
        let file = s.files.get(&v.file_id).ok_or(Error::NotFound)?;
        let record = VersionRecord {
            file_id: v.file_id.clone(),
            version: file.version + 1,
            size: v.size,
            content_type: v.content_type.clone(),
            sha256: v.sha256.clone(),
            signature: v.signature.clone(),
            blob_key: v.blob_key.clone(),
            created_by: v.created_by.clone(),
            created_at: v.at,
            restored_from: v.restored_from,
        };
        let f = s.files.get_mut(&v.file_id).ok_or(Error::NotFound)?;
        f.version = record.version;
        f.size = record.size;
        f.content_type = record.content_type.clone();
        f.sha256 = record.sha256.clone();
        f.signature = record.signature.clone();
        f.blob_key = record.blob_key.clone();
        f.updated_at = v.at;
        s.versions
            .insert((v.file_id.clone(), record.version), record.clone());
        s.organize.words.insert(v.file_id.clone(), v.words.clone());
        s.events.push(event.clone());
        Ok(record)
    }

    async fn list(&self, file_id: &str) -> Result<Vec<VersionRecord>> {
        let s = self.lock();
        let mut out: Vec<VersionRecord> = s
            .versions
            .iter()
            .filter(|((f, _), _)| f == file_id)
            .map(|(_, v)| v.clone())
            .collect();
        out.sort_by_key(|v| std::cmp::Reverse(v.version));
        Ok(out)
    }

    async fn get(&self, file_id: &str, version: i64) -> Result<Option<VersionRecord>> {
        Ok(self
            .lock()
            .versions
            .get(&(file_id.to_owned(), version))
            .cloned())
    }

    async fn remove(&self, file_id: &str, version: i64, event: &AuditEvent) -> Result<Removed> {
        let mut s = self.lock();
        let current = s.files.get(file_id).ok_or(Error::NotFound)?.version;
        if current == version {
            return Err(Error::Conflict(CURRENT_VERSION.into()));
        }
        let gone = s
            .versions
            .remove(&(file_id.to_owned(), version))
            .ok_or(Error::NotFound)?;
        let still_used = s.versions.values().any(|v| v.blob_key == gone.blob_key);
        s.events.push(event.clone());
        Ok(Removed {
            unreferenced_blob: (!still_used).then_some(gone.blob_key),
        })
    }

    async fn expired(
        &self,
        keep_last: u32,
        keep_since: Option<i64>,
        limit: u32,
    ) -> Result<Vec<(String, i64)>> {
        if keep_last == 0 && keep_since.is_none() {
            return Ok(Vec::new());
        }
        let s = self.lock();
        let mut out: Vec<(i64, String, i64)> = Vec::new();
        for (id, file) in &s.files {
            let mut versions: Vec<&VersionRecord> = s
                .versions
                .iter()
                .filter(|((f, _), _)| f == id)
                .map(|(_, v)| v)
                .collect();
            versions.sort_by_key(|v| std::cmp::Reverse(v.version));
            for (rank, v) in versions.iter().enumerate() {
                let kept_by_count = keep_last > 0 && rank < keep_last as usize;
                let kept_by_age = keep_since.is_some_and(|t| v.created_at >= t);
                if v.version != file.version && !kept_by_count && !kept_by_age {
                    out.push((v.created_at, id.clone(), v.version));
                }
            }
        }
        out.sort();
        Ok(out
            .into_iter()
            .take(limit as usize)
            .map(|(_, f, v)| (f, v))
            .collect())
    }

    async fn blob_in_use(&self, key: &str) -> Result<bool> {
        Ok(self.lock().versions.values().any(|v| v.blob_key == key))
    }
}
