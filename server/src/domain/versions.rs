//! Versions of a file: new content for an existing file (with lost-update protection), the
//! list, downloads of any version, restore, delete, and retention.

use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use object_store::path::Path as ObjectPath;
use serde::Serialize;
use utoipa::ToSchema;

use super::files::{Delivery, FileMeta, Files, StoredContent, Want, content_type};
use super::{Ctx, Error, Result, rfc3339};
use crate::store::{NewVersion, VersionRecord};

/// One version of a file.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Version {
    /// 1, 2, … in the order they were made.
    pub version: i64,
    /// Whether this is the file's current content.
    pub current: bool,
    /// Size in bytes.
    pub size: u64,
    /// Media type.
    pub content_type: String,
    /// SHA-256 of the content, hex (also its ETag, quoted).
    pub sha256: String,
    /// Who made it.
    pub created_by: String,
    /// When (RFC 3339).
    pub created_at: String,
    /// For a restore: the version whose content it brought back.
    pub restored_from: Option<i64>,
}

/// What `If-Match` asks of the current content (RFC 9110 §13.1.1: strong comparison).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    /// `*`: any current content (the file must exist).
    Any,
    /// These SHA-256 digests (the quoted ETags, unquoted); weak tags never match.
    Digests(Vec<String>),
}

impl Files {
    /// Replaces the content of file `id` with `body`: a new version (the old one stays listed).
    /// With `if_match`, the write happens only while the current content is the one named
    /// (412 otherwise, and the upload is discarded).
    pub async fn put_content<S, E>(
        &self,
        ctx: &Ctx,
        id: &str,
        media_type: &str,
        if_match: Option<IfMatch>,
        body: S,
    ) -> Result<FileMeta>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
    {
        let file = self.authorize_on(ctx, "write", id).await?;
        let ct = content_type(media_type)?;
        let digests = match if_match {
            None | Some(IfMatch::Any) => None,
            Some(IfMatch::Digests(d)) => {
                // Refuse before reading the body when it is already stale; the write checks
                // again inside its transaction.
                if !d.contains(&file.sha256) {
                    return Err(stale(file.version));
                }
                Some(d)
            }
        };
        self.precheck_quota(&file.owner_id, None).await?;
        let content = self
            .store_blob(
                &file.owner_id,
                &uuid::Uuid::now_v7().to_string(),
                ct,
                &file.name,
                body,
            )
            .await?;
        let key = content.key.clone();
        let result = self.add_version(ctx, &file.id, digests, content).await;
        if result.is_err() {
            let _ = self.blobs.delete(&key).await;
        }
        result
    }

    /// Records stored content as the next version of `file_id`, after authorizing `write` on
    /// it (an upload to a taken name reaches the file only here).
    pub(super) async fn add_version(
        &self,
        ctx: &Ctx,
        file_id: &str,
        if_match: Option<Vec<String>>,
        content: StoredContent,
    ) -> Result<FileMeta> {
        let file = self.authorize_on(ctx, "write", file_id).await?;
        let event = ctx
            .event("file.versioned", "file", &file.id)
            .attr("owner", file.owner_id.as_str())
            .attr("version", file.version + 1)
            .attr("size", content.size)
            .attr("sha256", content.sha256.as_str())
            .build()?;
        let new = NewVersion {
            file_id: file.id.clone(),
            if_match,
            size: content.size,
            content_type: content.content_type,
            sha256: content.sha256,
            signature: content.signature,
            blob_key: content.key.as_ref().to_owned(),
            created_by: ctx.user_id()?.to_owned(),
            at: self.guard.now(),
            restored_from: None,
            quota: self.quotas.of(&file.owner_id).await?,
            words: content.words,
        };
        self.versions.add(&new, &event).await?;
        self.load(&file.id).await
    }

    /// A file's versions, newest first.
    pub async fn list_versions(&self, ctx: &Ctx, id: &str) -> Result<Vec<Version>> {
        let file = self.authorize_on(ctx, "read", id).await?;
        Ok(self
            .versions
            .list(&file.id)
            .await?
            .into_iter()
            .map(|v| view(v, file.version))
            .collect())
    }

    /// Opens version `version` of a file for download (conditional requests and ranges as for
    /// the current content).
    pub async fn download_version(
        &self,
        ctx: &Ctx,
        id: &str,
        version: i64,
        want: &Want,
    ) -> Result<Delivery> {
        let file = self.authorize_on(ctx, "download", id).await?;
        let v = self.version_of(&file, version).await?;
        let mut meta = file;
        meta.version = v.version;
        meta.size = v.size;
        meta.content_type = v.content_type;
        meta.sha256 = v.sha256;
        meta.signature = v.signature;
        meta.blob_key = v.blob_key;
        self.open(ctx, meta, want).await
    }

    /// Makes an old version's content current again: a new version that shares its blob.
    pub async fn restore_version(&self, ctx: &Ctx, id: &str, version: i64) -> Result<FileMeta> {
        let file = self.authorize_on(ctx, "write", id).await?;
        let v = self.version_of(&file, version).await?;
        let event = ctx
            .event("file.restored", "file", &file.id)
            .attr("from_version", v.version)
            .attr("version", file.version + 1)
            .build()?;
        let words = self
            .words_of_blob(&v.blob_key, &v.content_type, &file.name, v.size)
            .await?;
        let new = NewVersion {
            file_id: file.id.clone(),
            if_match: None,
            size: v.size,
            content_type: v.content_type,
            sha256: v.sha256,
            signature: v.signature,
            blob_key: v.blob_key,
            created_by: ctx.user_id()?.to_owned(),
            at: self.guard.now(),
            restored_from: Some(v.version),
            quota: self.quotas.of(&file.owner_id).await?,
            words,
        };
        self.versions.add(&new, &event).await?;
        self.load(&file.id).await
    }

    /// Deletes one version that is not the current one; its blob goes when no other version
    /// uses it.
    pub async fn delete_version(&self, ctx: &Ctx, id: &str, version: i64) -> Result<()> {
        let file = self.authorize_on(ctx, "delete", id).await?;
        self.version_of(&file, version).await?;
        let event = ctx
            .event("file.version_deleted", "file", &file.id)
            .attr("version", version)
            .build()?;
        let removed = self.versions.remove(&file.id, version, &event).await?;
        if let Some(key) = removed.unreferenced_blob {
            let _ = self.blobs.delete(&ObjectPath::from(key)).await;
        }
        Ok(())
    }

    /// Removes the versions the retention rules (`files.versions_keep_last`,
    /// `files.versions_keep_days`) let go, each with a `file.version_pruned` event; how many.
    pub async fn prune_versions(&self) -> Result<u64> {
        let keep_last = self.limits.versions_keep_last;
        let keep_since = (self.limits.versions_keep_days > 0).then(|| {
            self.guard.now()
                - Duration::from_secs(u64::from(self.limits.versions_keep_days) * 86_400)
                    .as_micros() as i64
        });
        let ctx = self.guard.system_ctx();
        let mut pruned = 0;
        loop {
            let batch = self.versions.expired(keep_last, keep_since, 500).await?;
            if batch.is_empty() {
                return Ok(pruned);
            }
            for (file_id, version) in batch {
                let event = ctx
                    .event("file.version_pruned", "file", &file_id)
                    .attr("version", version)
                    .build()?;
                match self.versions.remove(&file_id, version, &event).await {
                    Ok(removed) => {
                        pruned += 1;
                        if let Some(key) = removed.unreferenced_blob {
                            let _ = self.blobs.delete(&ObjectPath::from(key)).await;
                        }
                    }
                    // Deleted or made current meanwhile: nothing to prune.
                    Err(crate::store::Error::NotFound | crate::store::Error::Conflict(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
    }

    pub(super) async fn version_of(&self, file: &FileMeta, version: i64) -> Result<VersionRecord> {
        if version < 1 {
            return Err(Error::BadRequest("versions are numbered from 1".into()));
        }
        self.versions
            .get(&file.id, version)
            .await?
            .ok_or_else(|| Error::NotFound(format!("file {} has no version {version}", file.id)))
    }
}

fn view(v: VersionRecord, current: i64) -> Version {
    Version {
        current: v.version == current,
        version: v.version,
        size: v.size,
        content_type: v.content_type,
        sha256: v.sha256,
        created_by: v.created_by,
        created_at: rfc3339(v.created_at),
        restored_from: v.restored_from,
    }
}

fn stale(current: i64) -> Error {
    Error::PreconditionFailed(format!(
        "the file changed since you read it (its current version is {current}); fetch it again"
    ))
}
