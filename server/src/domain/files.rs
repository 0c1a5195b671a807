//! Files: streaming upload, metadata, listing, rename, move, delete, download, verification.
//!
//! Order of an upload: the blob is written and durable first, then metadata and the audit event
//! commit in one transaction. A crash in between leaves an unreferenced blob, which the sweeper
//! removes after a grace period; a download only ever starts from committed metadata.

use std::ops::Range;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use serde::Serialize;
use sha2::{Digest, Sha256};
use strongroom_file_verifier::Signature;
use utoipa::ToSchema;

use super::integrity::{Check, Checked, OnFailure};
use std::sync::Arc;

use strongroom_file_verifier::KeyRing as FileKeys;

use super::folders::{self, Folders};
use super::{Ctx, Guard, names, rfc3339};
use crate::authz::{Node, Target};
use crate::blobs::{BlobStream, Blobs};
use crate::config::FilesConfig;
use crate::error::{Error, Result};
use crate::store::{DynFileStore, DynVersionStore, FileChange, FileOrder, FileQuery, FileRecord};
use object_store::path::Path as ObjectPath;

/// A file's metadata.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FileMeta {
    /// Id (also its blob key).
    pub id: String,
    /// Name.
    pub name: String,
    /// Folder id; absent at the owner's root.
    pub folder_id: Option<String>,
    /// Owner's user id.
    pub owner_id: String,
    /// Size in bytes.
    pub size: u64,
    /// Media type given at upload.
    pub content_type: String,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// file-verifier signature (`sr1:ALG:KID:MAC`).
    pub signature: String,
    /// Readable by anyone.
    pub public: bool,
    /// The current version's number (1 for a new file).
    pub version: i64,
    /// Created (RFC 3339).
    pub created_at: String,
    /// Last changed (RFC 3339).
    pub updated_at: String,
    /// Where this content is in the blob store (not sent).
    #[serde(skip)]
    #[schema(ignore)]
    pub blob_key: String,
    /// Its tags, by name (absent: none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<super::labels::TagRef>,
    /// Its custom fields by key (absent: none).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub fields: std::collections::BTreeMap<String, super::labels::Field>,
}

impl FileMeta {
    /// Strong ETag: the content digest.
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.sha256)
    }

    /// It as a policy node, without shares (see [`super::Folders::allowed_many`]).
    pub(super) fn policy_node(&self) -> Node {
        self.node(Vec::new())
    }

    fn node(&self, grants: Vec<crate::authz::NodeGrant>) -> Node {
        Node {
            is_file: true,
            id: self.id.clone(),
            owner: self.owner_id.clone(),
            public: self.public,
            parent: self.folder_id.clone().unwrap_or_default(),
            grants,
        }
    }
}

impl From<FileRecord> for FileMeta {
    fn from(f: FileRecord) -> FileMeta {
        FileMeta {
            folder_id: (!f.folder_id.is_empty()).then_some(f.folder_id),
            id: f.id,
            owner_id: f.owner_id,
            name: f.name,
            size: f.size,
            content_type: f.content_type,
            sha256: f.sha256,
            signature: f.signature,
            public: f.public,
            version: f.version,
            created_at: rfc3339(f.created_at),
            updated_at: rfc3339(f.updated_at),
            blob_key: f.blob_key,
            tags: Vec::new(),
            fields: Default::default(),
        }
    }
}

/// Files: uploads, listings, changes, downloads, verification.
#[derive(Debug, Clone)]
pub struct Files {
    pub(super) store: Arc<DynFileStore>,
    pub(super) versions: Arc<DynVersionStore>,
    pub(super) folders: Folders,
    pub(super) blobs: Blobs,
    pub(super) verifier: FileKeys,
    pub(super) limits: FilesConfig,
    pub(super) quotas: super::usage::Quotas,
    pub(super) guard: Guard,
    /// Bytes of text-like content read for the search index (0: none).
    pub(super) content_bytes: u64,
    /// Tags and fields, shown with metadata.
    pub(super) labels: Option<super::labels::Labels>,
}

impl Files {
    /// Over the file and version stores and the blobs, authorizing through `folders`.
    // Each argument is one narrow handle the service needs; bundling them would hide which.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Arc<DynFileStore>,
        versions: Arc<DynVersionStore>,
        folders: Folders,
        blobs: Blobs,
        verifier: FileKeys,
        limits: FilesConfig,
        quotas: super::usage::Quotas,
        guard: Guard,
    ) -> Files {
        Files {
            store,
            versions,
            folders,
            blobs,
            verifier,
            limits,
            quotas,
            guard,
            content_bytes: crate::config::SearchConfig::default().content_bytes,
            labels: None,
        }
    }

    /// Showing tags and fields with file metadata.
    pub fn with_labels(mut self, labels: super::labels::Labels) -> Files {
        self.labels = Some(labels);
        self
    }

    /// Fills in the tags and fields of `files` (when this service knows them).
    pub async fn label(&self, files: &mut [FileMeta]) -> Result<()> {
        match &self.labels {
            Some(l) => l.fill(files).await,
            None => Ok(()),
        }
    }

    /// Indexing the words of the first `content_bytes` of text-like content (0: none).
    pub fn indexing(mut self, content_bytes: u64) -> Files {
        self.content_bytes = content_bytes;
        self
    }

    /// The words of stored content for the search index, read from its blob (restores, the
    /// reindex command); empty for content that is not text.
    pub(super) async fn words_of_blob(
        &self,
        key: &str,
        content_type: &str,
        name: &str,
        size: u64,
    ) -> Result<String> {
        if self.content_bytes == 0 || size == 0 || !super::extract::is_text_like(content_type, name)
        {
            return Ok(String::new());
        }
        let end = size.min(self.content_bytes);
        let mut stream = self.blobs.get(&ObjectPath::from(key), Some(0..end)).await?;
        let sample = super::extract::Sample::new(end);
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| Error::Internal(format!("read blob {key}: {e}")))?;
            sample.see(&chunk);
        }
        Ok(sample.words())
    }

    /// Loads a file's metadata (no authorization).
    pub async fn load(&self, id: &str) -> Result<FileMeta> {
        self.store
            .get(id)
            .await?
            .map(FileMeta::from)
            .ok_or_else(|| Error::NotFound("no such file".into()))
    }

    /// A file and its policy target: it and its folders, with the shares still in force. Two round
    /// trips to the store, however deep the file lies: the file with its folders, then the shares.
    /// A file in the trash, or in a trashed folder, is "not found" here: only the trash's own
    /// routes see it.
    pub async fn locate(&self, id: &str, principals: &[&str]) -> Result<(FileMeta, Target)> {
        match self.locate_any(id, principals).await? {
            (_, _, true) => Err(Error::NotFound("no such file".into())),
            (file, target, false) => Ok((file, target)),
        }
    }

    /// [`Files::locate`], trashed or not: the file, its target, and whether it is in the trash
    /// (itself or through a folder above it).
    pub(super) async fn locate_any(
        &self,
        id: &str,
        principals: &[&str],
    ) -> Result<(FileMeta, Target, bool)> {
        let Some(located) = self.store.locate(id).await? else {
            return Err(Error::NotFound("no such file".into()));
        };
        let trashed =
            located.file.trashed_at.is_some() || located.folders.iter().any(|f| f.trashed);
        let file = FileMeta::from(located.file);
        let mut nodes = vec![file.node(Vec::new())];
        nodes.extend(folders::nodes(located.folders));
        let target = self.folders.attach_grants(nodes, principals).await?;
        Ok((file, target, trashed))
    }

    /// Loads file `id` and authorizes `action` on it. A file the caller may not read at all is
    /// "not found": ids of other users' files reveal nothing.
    pub async fn authorize_on(&self, ctx: &Ctx, action: &str, id: &str) -> Result<FileMeta> {
        let id = names::id(id)?;
        let (file, target) = self.locate(&id, &ctx.principals()).await?;
        match self
            .guard
            .authorize(ctx, action, &target, "file", &id)
            .await
        {
            Ok(()) => Ok(file),
            Err(Error::NotFound(_)) => Err(Error::NotFound("no such file".into())),
            Err(e) => Err(e),
        }
    }

    /// Streams an upload into the store, then commits its metadata and event. An upload to a
    /// name already taken in the folder becomes that file's next version.
    pub async fn upload<S, E>(&self, ctx: &Ctx, new: NewFile, body: S) -> Result<Uploaded>
    where
        S: Stream<Item = Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
    {
        let (owner, folder_id) = self
            .folders
            .authorize_create_in(ctx, new.folder_id.as_deref())
            .await?;
        let name = names::file_name(&new.name)?;
        let ct = content_type(&new.content_type)?;
        let id = uuid::Uuid::now_v7().to_string();
        let quota = self
            .precheck_quota(&owner, Some((&folder_id, &name)))
            .await?;
        let stored = self.store_blob(&owner, &id, ct, &name, body).await?;
        let key = stored.key.clone();
        let now = self.guard.now();
        let event = ctx
            .event("file.uploaded", "file", &id)
            .attr("owner", owner.as_str())
            .attr("name", name.as_str())
            .attr("size", stored.size)
            .attr("sha256", stored.sha256.as_str())
            .build()?;
        let record = FileRecord {
            id,
            owner_id: owner,
            folder_id,
            name,
            size: stored.size,
            content_type: stored.content_type.clone(),
            sha256: stored.sha256.clone(),
            signature: stored.signature.clone(),
            blob_key: key.as_ref().to_owned(),
            public: false,
            version: 1,
            created_at: now,
            updated_at: now,
            trashed_at: None,
        };
        match self
            .store
            .insert(&record, &stored.words, &quota, &event)
            .await
        {
            Ok(()) => Ok(Uploaded {
                file: record.into(),
                created: true,
            }),
            Err(crate::store::Error::Conflict(m)) if m == crate::store::FILE_NAME_TAKEN => {
                // The name is taken: the upload becomes that file's next version, if the caller
                // may write it.
                let existing = self
                    .store
                    .find_named(&record.owner_id, &record.folder_id, &record.name)
                    .await;
                let result = match existing {
                    Ok(Some(existing)) => self.add_version(ctx, &existing.id, None, stored).await,
                    Ok(None) => Err(Error::Conflict(
                        "a file with that name was just moved or deleted; retry".into(),
                    )),
                    Err(e) => Err(e.into()),
                };
                if result.is_err() {
                    let _ = self.blobs.delete(&key).await;
                }
                Ok(Uploaded {
                    file: result?,
                    created: false,
                })
            }
            Err(e) => {
                // Not committed, so nobody can see it: remove the blob now rather than at the
                // sweep.
                let _ = self.blobs.delete(&key).await;
                Err(e.into())
            }
        }
    }

    /// Streams `body` into a new blob named after `id`, counting and hashing it; nothing
    /// references it yet.
    pub(super) async fn store_blob<S, E>(
        &self,
        owner: &str,
        id: &str,
        content_type: String,
        name: &str,
        body: S,
    ) -> Result<StoredContent>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Send + Unpin,
        E: std::fmt::Display,
    {
        let key = Blobs::key(id);
        let sample =
            super::extract::Sample::new(if super::extract::is_text_like(&content_type, name) {
                self.content_bytes
            } else {
                0
            });
        let counted = body.inspect(|c| {
            if let Ok(b) = c {
                self.guard.metrics.bytes_uploaded.inc_by(b.len() as u64);
                sample.see(b);
            }
        });
        let stored = self
            .blobs
            .put_stream(
                owner,
                &key,
                counted,
                self.limits.max_upload_bytes,
                &self.verifier,
            )
            .await?;
        Ok(StoredContent {
            key,
            size: stored.size,
            sha256: stored.sha256,
            signature: stored.signature.to_string(),
            content_type,
            words: sample.words(),
        })
    }

    /// Lists a folder (or the caller's root).
    pub async fn list(&self, ctx: &Ctx, q: &Listing) -> Result<Page> {
        let (owner, folder) = match q.folder_id.as_deref().filter(|f| !f.is_empty()) {
            None => {
                self.guard.authorize_platform(ctx, "list_root").await?;
                (ctx.user_id()?.to_owned(), String::new())
            }
            Some(f) => {
                let nodes = self.folders.authorize_on(ctx, "list", f).await?;
                (nodes[0].owner.clone(), nodes[0].id.clone())
            }
        };
        let order = match q.sort.as_deref().unwrap_or("name") {
            "name" => FileOrder::Name,
            "created" => FileOrder::Created,
            "updated" => FileOrder::Updated,
            "size" => FileOrder::Size,
            other => {
                return Err(Error::BadRequest(format!(
                    "cannot sort by {other:?}: use name, created, updated or size"
                )));
            }
        };
        let limit = q.limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(Error::BadRequest("limit must be between 1 and 1000".into()));
        }
        let offset = q.offset.unwrap_or(0).min(i64::MAX as u64);
        let query = FileQuery {
            owner_id: &owner,
            folder_id: &folder,
            order,
            desc: q.desc,
            limit: limit + 1,
            offset,
        };
        let mut files: Vec<FileMeta> = self
            .store
            .list(&query)
            .await?
            .into_iter()
            .map(FileMeta::from)
            .collect();
        let next_offset = (files.len() > limit as usize).then(|| offset + u64::from(limit));
        files.truncate(limit as usize);
        self.label(&mut files).await?;
        let folders = if offset == 0 {
            self.folders.children(&owner, &folder).await?
        } else {
            Vec::new()
        };
        self.guard
            .record_read(
                ctx.event("folder.listed", "folder", &folder)
                    .attr("files", files.len())
                    .attr("folders", folders.len()),
            )
            .await?;
        Ok(Page {
            folders,
            files,
            next_offset,
        })
    }

    /// A file's metadata, the read recorded (`file.viewed`) unless read events are off.
    pub async fn get(&self, ctx: &Ctx, id: &str) -> Result<FileMeta> {
        let file = self.meta(ctx, id).await?;
        self.guard
            .record_read(ctx.event("file.viewed", "file", &file.id))
            .await?;
        Ok(file)
    }

    /// A file's metadata with its tags and fields, after authorizing `read` (no event: for
    /// answers to a change).
    pub(super) async fn meta(&self, ctx: &Ctx, id: &str) -> Result<FileMeta> {
        let mut file = self.authorize_on(ctx, "read", id).await?;
        self.label(std::slice::from_mut(&mut file)).await?;
        Ok(file)
    }

    /// Renames, moves and/or publishes a file. Concurrent renames to one name: one wins, the
    /// other gets 409.
    pub async fn update(&self, ctx: &Ctx, id: &str, change: &FileUpdate) -> Result<FileMeta> {
        let action = if change.folder_id.is_some() || change.public.is_some() {
            "manage"
        } else {
            "write"
        };
        let file = self.authorize_on(ctx, action, id).await?;
        let name = change.name.as_deref().map(names::file_name).transpose()?;
        if name.is_none() && change.folder_id.is_none() && change.public.is_none() {
            return Err(Error::Invalid(
                "nothing to change: give name, folder_id and/or public".into(),
            ));
        }
        let mut folder = None;
        if let Some(target) = &change.folder_id {
            let (owner, fid) = self
                .folders
                .authorize_create_in(ctx, Some(target.as_str()).filter(|t| !t.is_empty()))
                .await?;
            if owner != file.owner_id {
                return Err(Error::Invalid(
                    "files move only within their owner's tree".into(),
                ));
            }
            folder = Some(fid);
        }
        let action = match change.public {
            Some(true) => "file.published",
            Some(false) => "file.unpublished",
            None if folder.is_some() => "file.moved",
            None => "file.renamed",
        };
        let mut event = ctx.event(action, "file", &file.id);
        if let Some(n) = &name {
            event = event.attr("name", n.as_str());
        }
        let event = event.build()?;
        let change = FileChange {
            name,
            folder_id: folder,
            public: change.public,
        };
        self.store
            .update(&file.id, &change, self.guard.now(), &event)
            .await?;
        self.load(&file.id).await
    }

    /// Moves a file to its owner's trash (see [`Files::purge`] for deleting it for good).
    pub async fn delete(&self, ctx: &Ctx, id: &str) -> Result<()> {
        let file = self.authorize_on(ctx, "delete", id).await?;
        let event = ctx
            .event("file.trashed", "file", &file.id)
            .attr("name", file.name.as_str())
            .build()?;
        match self.store.trash(&file.id, self.guard.now(), &event).await {
            Err(crate::store::Error::NotFound) => Err(Error::NotFound("no such file".into())),
            other => Ok(other?),
        }
    }

    /// Opens a file for download after authorizing `download`.
    pub async fn download(&self, ctx: &Ctx, id: &str, want: &Want) -> Result<Delivery> {
        let file = self.authorize_on(ctx, "download", id).await?;
        self.open(ctx, file, want).await
    }

    /// Opens an authorized file: conditional request, range, stream; records the event.
    pub async fn open(&self, ctx: &Ctx, file: FileMeta, want: &Want) -> Result<Delivery> {
        if not_modified(want, &file) {
            return Ok(Delivery::NotModified(file));
        }
        let range = want
            .range
            .as_ref()
            .map(|r| r.resolve(file.size))
            .transpose()?;
        if want.head {
            return Ok(Delivery::Content {
                file,
                range,
                body: futures::stream::empty().boxed(),
            });
        }
        let body = if file.size == 0 {
            futures::stream::empty().boxed()
        } else {
            let (blob, checks_itself) = self
                .blobs
                .get_checked(
                    &ObjectPath::from(file.blob_key.as_str()),
                    range.clone(),
                    self.limits
                        .verify_downloads
                        .then_some(file.signature.as_str()),
                )
                .await?;
            let mut checked = self.checked(ctx, &file, range.as_ref(), blob, checks_itself);
            // The first piece is read before the headers go: when it is already missing or
            // altered (always so for a small file) the answer is a problem document, not a
            // response cut short.
            match checked.next().await {
                Some(Err(e)) if e.kind() == std::io::ErrorKind::InvalidData => {
                    return Err(Error::Internal(format!(
                        "the stored content of file {} failed its integrity check ({e}); \
                         nothing was sent",
                        file.id
                    )));
                }
                first => futures::stream::iter(first).chain(checked).boxed(),
            }
        };
        let event = ctx
            .event("file.downloaded", "file", &file.id)
            .attr("owner", file.owner_id.as_str())
            .attr(
                "bytes",
                range.as_ref().map_or(file.size, |r| r.end - r.start),
            )
            .build()?;
        self.guard.record(&event).await?;
        let metrics = self.guard.metrics.clone();
        let body = body
            .inspect(move |c| {
                if let Ok(b) = c {
                    metrics.bytes_downloaded.inc_by(b.len() as u64);
                }
            })
            .boxed();
        Ok(Delivery::Content { file, range, body })
    }

    /// Wraps a blob being sent in its integrity check (see [`integrity`]): the whole file against its
    /// signature (SHA-256 when the key that made it is gone) unless the stream `checks_itself`
    /// (a chunked content bound to the signature), a range for its length.
    fn checked(
        &self,
        ctx: &Ctx,
        file: &FileMeta,
        range: Option<&Range<u64>>,
        blob: BlobStream,
        checks_itself: bool,
    ) -> BlobStream {
        let expected = range.map_or(file.size, |r| r.end - r.start);
        let check = if range.is_some() || !self.limits.verify_downloads || checks_itself {
            Check::Length
        } else {
            let signature: Option<Signature> = file.signature.parse().ok();
            match signature.and_then(|s| self.verifier.verifier(&s).ok()) {
                Some(v) => Check::Signature(Box::new(v)),
                None => Check::Sha256(Box::new(Sha256::new()), file.sha256.clone()),
            }
        };
        let (events, metrics, ctx, id) = (
            self.guard.events.clone(),
            self.guard.metrics.clone(),
            ctx.clone(),
            file.id.clone(),
        );
        let on_failure: OnFailure = Box::new(move |why| {
            metrics.integrity_failures.inc();
            tracing::error!(file = %id, why, "a download was cut off: check it with GET /files/{id}/verify");
            let event = ctx
                .event("file.integrity_failed", "file", &id)
                .outcome(strongroom_audit::Outcome::Failure)
                .attr("why", why)
                .build();
            if let Ok(event) = event {
                tokio::spawn(async move {
                    if let Err(e) = events.record(&event).await {
                        tracing::error!(error = %e, "recording an integrity failure");
                    }
                });
            }
        });
        Checked::new(blob, expected, check, on_failure).boxed()
    }

    /// Re-reads the blob and checks its digest and signature.
    pub async fn verify(&self, ctx: &Ctx, id: &str) -> Result<Verification> {
        let file = self.authorize_on(ctx, "read", id).await?;
        let signature: Signature = file
            .signature
            .parse()
            .map_err(|e| Error::Internal(format!("stored signature: {e}")))?;
        let mut verifier = self.verifier.verifier(&signature).ok();
        let mut sha = Sha256::new();
        let mut size = 0u64;
        let mut damaged = false;
        if file.size > 0 {
            let mut body = self
                .blobs
                .get(&ObjectPath::from(file.blob_key.as_str()), None)
                .await?;
            while let Some(chunk) = body.next().await {
                let chunk = match chunk {
                    Ok(c) => c,
                    // A chunk missing or altered: the check fails (and says so below).
                    Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                        tracing::error!(file = %file.id, error = %e, "verify found damaged content");
                        damaged = true;
                        break;
                    }
                    Err(e) => return Err(Error::Internal(format!("read blob: {e}"))),
                };
                size += chunk.len() as u64;
                sha.update(&chunk);
                if let Some(v) = verifier.as_mut() {
                    v.update(&chunk);
                }
            }
        }
        let sha256_matches =
            !damaged && hex::encode(sha.finalize()) == file.sha256 && size == file.size;
        let signature_valid = !damaged && verifier.is_some_and(|v| v.finish().is_ok());
        let ok = sha256_matches && signature_valid;
        let event = ctx
            .event("file.verified", "file", &file.id)
            .outcome(if ok {
                strongroom_audit::Outcome::Success
            } else {
                strongroom_audit::Outcome::Failure
            })
            .build()?;
        self.guard.record(&event).await?;
        Ok(Verification {
            id: file.id,
            ok,
            sha256_matches,
            signature_valid,
            size,
        })
    }

    /// Removes contents older than `grace` that no version references, staging files of
    /// interrupted uploads, and chunks nothing references any more; returns how many.
    pub async fn sweep_orphans(&self, grace: Duration) -> Result<u64> {
        let candidates = self.blobs.older_than(grace).await?;
        let mut removed = self.blobs.sweep_staging(grace);
        for key in candidates {
            let key = ObjectPath::from(key);
            if !self.versions.blob_in_use(key.as_ref()).await? {
                self.blobs.delete(&key).await?;
                removed += 1;
            }
        }
        // Chunks: pins of uploads abandoned longer than `grace` go, then every chunk left
        // without references.
        removed += self.blobs.collect_garbage(grace).await?;
        Ok(removed)
    }
}

impl Files {
    /// Copies each of `contents` (of another owner's files) into a new content of `to`, sealed
    /// under `to`'s data key and chunked under `to`'s chunk ids, each copy checked against the
    /// original's digest; the (old key, new key) pairs, and whether the copies are chunked.
    /// Nothing references the copies yet: on any failure the ones made are deleted again (and
    /// the sweeper takes what a crash leaves).
    pub(super) async fn copy_contents(
        &self,
        to: &str,
        contents: &[crate::store::TeamContent],
    ) -> Result<(Vec<(String, String)>, bool)> {
        let mut done: Vec<(String, String)> = Vec::with_capacity(contents.len());
        for c in contents {
            let new = Blobs::key(&uuid::Uuid::now_v7().to_string());
            let copied = async {
                let from = ObjectPath::from(c.blob_key.as_str());
                let body = self.blobs.get(&from, None).await?;
                let stored = self
                    .blobs
                    .put_stream(to, &new, body, u64::MAX, &self.verifier)
                    .await?;
                if stored.sha256 != c.sha256 || stored.size != c.size {
                    return Err(Error::Internal(format!(
                        "content {} does not read back as stored (sha256 {}, expected {}); \
                         nothing was handed over: run `strongroom fsck`",
                        c.blob_key, stored.sha256, c.sha256
                    )));
                }
                Ok(())
            }
            .await;
            if let Err(e) = copied {
                let mut made: Vec<String> = done.into_iter().map(|(_, n)| n).collect();
                made.push(new.as_ref().to_owned());
                self.forget_contents(made).await;
                return Err(e);
            }
            done.push((c.blob_key.clone(), new.as_ref().to_owned()));
        }
        Ok((done, self.blobs.data_keys().is_some()))
    }

    /// Deletes contents nothing references (best effort: what fails here the sweeper takes).
    pub(super) async fn forget_contents(&self, keys: Vec<String>) {
        for key in &keys {
            if let Err(e) = self.blobs.delete(&ObjectPath::from(key.as_str())).await {
                tracing::warn!(key = key.as_str(), error = %e, "an unreferenced content stays for the sweeper");
            }
        }
    }

    /// `owner`'s quota.
    pub(super) async fn quota_of(&self, owner: &str) -> Result<crate::store::Quota> {
        self.quotas.of(owner).await
    }
}

/// What to upload.
#[derive(Debug, Clone)]
pub struct NewFile {
    /// Name.
    pub name: String,
    /// Folder, or the caller's root.
    pub folder_id: Option<String>,
    /// Media type.
    pub content_type: String,
}

/// A media type we accept: `type/subtype` with token characters, at most 255 bytes.
pub(super) fn content_type(ct: &str) -> Result<String> {
    let ct = ct.trim();
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    let base = ct.split(';').next().unwrap_or("").trim();
    match base.split_once('/') {
        Some((t, s))
            if token(t) && token(s) && ct.len() <= 255 && !ct.chars().any(char::is_control) =>
        {
            Ok(ct.to_owned())
        }
        _ => Err(Error::Invalid(format!("invalid content type {ct:?}"))),
    }
}

/// The result of an upload.
#[derive(Debug, Clone)]
pub struct Uploaded {
    /// The file as it is now.
    pub file: FileMeta,
    /// A new file (`false`: a new version of the file that had the name).
    pub created: bool,
}

/// A blob written and hashed, not yet referenced.
#[derive(Debug, Clone)]
pub(super) struct StoredContent {
    pub(super) key: ObjectPath,
    pub(super) size: u64,
    pub(super) sha256: String,
    pub(super) signature: String,
    pub(super) content_type: String,
    /// The words of its text, for the search index.
    pub(super) words: String,
}

/// How to list.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// Folder, or the caller's root.
    pub folder_id: Option<String>,
    /// `name`, `created`, `updated` or `size`.
    pub sort: Option<String>,
    /// Descending.
    pub desc: bool,
    /// Page size (1..=1000, default 100).
    pub limit: Option<u32>,
    /// Rows to skip.
    pub offset: Option<u64>,
}

/// A page of a folder.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page {
    /// Subfolders (first page only).
    pub folders: Vec<folders::Folder>,
    /// Files.
    pub files: Vec<FileMeta>,
    /// Offset of the next page, if any.
    pub next_offset: Option<u64>,
}

/// What may change about a file.
#[derive(Debug, Clone, Default)]
pub struct FileUpdate {
    /// New name.
    pub name: Option<String>,
    /// New folder ('' for the root).
    pub folder_id: Option<String>,
    /// Public or private.
    pub public: Option<bool>,
}

/// What a download asked for (the HTTP layer parses the headers into this).
#[derive(Debug, Clone, Default)]
pub struct Want {
    /// The byte range asked for, if any.
    pub range: Option<ByteRange>,
    /// The entity tags the client holds, if it sent `If-None-Match`.
    pub if_none_match: Option<IfNoneMatch>,
    /// A `HEAD` request: headers only, no body read, nothing counted or recorded.
    pub head: bool,
}

/// One byte range as asked for, before the file's size is known (RFC 9110 §14.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ByteRange {
    /// `start-`: from `start` to the end.
    From(u64),
    /// `start-end`, both inclusive.
    Span(u64, u64),
    /// `-n`: the last `n` bytes.
    Last(u64),
    /// A range that can never be served (several ranges, nonsense numbers), and why.
    Unsatisfiable(String),
}

impl ByteRange {
    /// The bytes to send of a file of `size` bytes, or 416.
    pub fn resolve(&self, size: u64) -> Result<Range<u64>> {
        let refuse = |why: String| Error::RangeNotSatisfiable(why, size);
        let range = match *self {
            ByteRange::From(start) => start..size,
            ByteRange::Span(start, end) => start..end.saturating_add(1).min(size),
            ByteRange::Last(0) => return Err(refuse("a suffix range of 0 bytes".into())),
            ByteRange::Last(n) => size.saturating_sub(n)..size,
            ByteRange::Unsatisfiable(ref why) => return Err(refuse(why.clone())),
        };
        if range.start >= size || range.start >= range.end {
            return Err(refuse(format!("cannot serve {self:?} of {size} bytes")));
        }
        Ok(range)
    }
}

/// What `If-None-Match` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfNoneMatch {
    /// `*`: any current representation.
    Any,
    /// These entity tags, quoted, weak ones without their `W/` (weak comparison, RFC 9110 §8.8.3.2).
    Tags(Vec<String>),
}

/// A download about to be sent.
pub enum Delivery {
    /// The client's copy is current (304).
    NotModified(FileMeta),
    /// The content, whole (200) or a range of it (206).
    Content {
        /// The file.
        file: FileMeta,
        /// The range sent, if partial.
        range: Option<Range<u64>>,
        /// The bytes.
        body: BlobStream,
    },
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Delivery::NotModified(file) => f.debug_tuple("NotModified").field(&file.id).finish(),
            Delivery::Content { file, range, .. } => f
                .debug_struct("Content")
                .field("file", &file.id)
                .field("range", range)
                .finish_non_exhaustive(),
        }
    }
}

/// Whether a download is answered 304: its `If-None-Match` names the file's current ETag
/// exactly (or is `*`).
pub fn not_modified(want: &Want, file: &FileMeta) -> bool {
    match &want.if_none_match {
        None => false,
        Some(IfNoneMatch::Any) => true,
        Some(IfNoneMatch::Tags(tags)) => tags.contains(&file.etag()),
    }
}

/// The result of re-checking a file.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Verification {
    /// File id.
    pub id: String,
    /// Both checks passed.
    pub ok: bool,
    /// The stored content's SHA-256 equals the recorded one.
    pub sha256_matches: bool,
    /// The file-verifier signature verifies over the stored content.
    pub signature_valid: bool,
    /// Bytes read.
    pub size: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_resolve_against_the_size() {
        assert_eq!(ByteRange::Span(0, 9).resolve(100).unwrap(), 0..10);
        assert_eq!(ByteRange::From(90).resolve(100).unwrap(), 90..100);
        assert_eq!(ByteRange::Last(5).resolve(100).unwrap(), 95..100);
        assert_eq!(ByteRange::Span(50, 1000).resolve(100).unwrap(), 50..100);
        assert_eq!(ByteRange::Last(500).resolve(100).unwrap(), 0..100);
        for bad in [
            ByteRange::From(100),
            ByteRange::Span(5, 2),
            ByteRange::Last(0),
            ByteRange::Unsatisfiable("two ranges".into()),
        ] {
            assert!(
                matches!(bad.resolve(100), Err(Error::RangeNotSatisfiable(..))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn content_types() {
        assert!(content_type("text/plain; charset=utf-8").is_ok());
        assert!(content_type("application/octet-stream").is_ok());
        assert!(content_type("nonsense").is_err());
        assert!(content_type("text/plain\r\nX: y").is_err());
    }
}
