//! Public share links: a random token (stored hashed) that opens one file to anyone holding it,
//! until it expires, is revoked or runs out of downloads; optionally behind a password whose
//! wrong guesses lock the link for a while. Link holders are authorized by the same policy
//! engine as users (principal `ShareLink`, the pack's `expired-link` rule enforces the TTL).

use serde::Serialize;
use strongroom_access_policy::Timestamp;
use strongroom_audit::Outcome;
use utoipa::ToSchema;

use std::sync::Arc;

use super::accounts::{Accounts, hash_password, verify_password};
use super::files::{self, Delivery, FileMeta, Files, Want};
use super::{Ctx, Guard, names, rfc3339};
use crate::authz::Principal;
use crate::config::FilesConfig;
use crate::error::{Error, Result};
use crate::store::{DynLinkStore, LinkKey, LinkRecord, Listed, Reservation};
use crate::token::{random_token, token_hash};

/// Longest allowed link lifetime: one year.
pub const MAX_TTL_SECS: u64 = 365 * 86_400;
/// Default link lifetime: seven days.
pub const DEFAULT_TTL_SECS: u64 = 7 * 86_400;

/// A link as its creator sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Link {
    /// Link id.
    pub id: String,
    /// The file it opens.
    pub file_id: String,
    /// When it stops working (RFC 3339).
    pub expires_at: String,
    /// Whether a password is required.
    pub has_password: bool,
    /// Download limit, if any.
    pub max_downloads: Option<u64>,
    /// Downloads so far.
    pub downloads: u64,
    /// Revoked (RFC 3339), if it was.
    pub revoked_at: Option<String>,
    /// Created (RFC 3339).
    pub created_at: String,
}

/// A new link, with the token shown once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedLink {
    /// The link.
    #[serde(flatten)]
    pub link: Link,
    /// The secret token (only now; the server keeps its hash).
    pub token: String,
    /// Where anonymous visitors download it.
    pub url: String,
}

/// Options of a new link.
#[derive(Debug, Clone, Default)]
pub struct LinkOptions {
    /// Lifetime in seconds (default 7 days, at most a year).
    pub ttl_secs: Option<u64>,
    /// Password.
    pub password: Option<String>,
    /// Download limit.
    pub max_downloads: Option<u64>,
}

struct LinkRow {
    link: Link,
    created_by: String,
    password_hash: Option<String>,
    expires_us: i64,
    revoked: bool,
}

impl LinkRow {
    /// Whether the download limit is reached.
    fn used_up(&self) -> bool {
        self.link
            .max_downloads
            .is_some_and(|max| self.link.downloads >= max)
    }
}

fn view(r: LinkRecord) -> LinkRow {
    LinkRow {
        link: Link {
            id: r.id,
            file_id: r.file_id,
            expires_at: rfc3339(r.expires_at),
            has_password: r.password_hash.is_some(),
            max_downloads: r.max_downloads.map(|m| m.max(0) as u64),
            downloads: r.downloads.max(0) as u64,
            revoked_at: r.revoked_at.map(rfc3339),
            created_at: rfc3339(r.created_at),
        },
        created_by: r.created_by,
        password_hash: r.password_hash,
        expires_us: r.expires_at,
        revoked: r.revoked_at.is_some(),
    }
}

/// Public links to files.
#[derive(Debug, Clone)]
pub struct Links {
    store: Arc<DynLinkStore>,
    files: Files,
    accounts: Accounts,
    limits: FilesConfig,
    public_url: String,
    guard: Guard,
}

impl Links {
    /// Over the link store; links reach files through `files` and check their creator through
    /// `accounts`. `public_url` is where link URLs point.
    pub fn new(
        store: Arc<DynLinkStore>,
        files: Files,
        accounts: Accounts,
        limits: FilesConfig,
        public_url: String,
        guard: Guard,
    ) -> Links {
        Links {
            store,
            files,
            accounts,
            limits,
            public_url,
            guard,
        }
    }

    async fn load_by(&self, key: LinkKey<'_>) -> Result<Option<LinkRow>> {
        Ok(self.store.get(key).await?.map(view))
    }

    /// Creates a link to a file the caller may share.
    pub async fn create(
        &self,
        ctx: &Ctx,
        file_id: &str,
        opts: &LinkOptions,
    ) -> Result<CreatedLink> {
        let file = self.files.authorize_on(ctx, "share", file_id).await?;
        let ttl = opts.ttl_secs.unwrap_or(DEFAULT_TTL_SECS);
        if ttl == 0 || ttl > MAX_TTL_SECS {
            return Err(Error::Invalid(format!(
                "ttl_secs must be between 1 and {MAX_TTL_SECS}"
            )));
        }
        if opts.max_downloads == Some(0) || opts.max_downloads.is_some_and(|m| m > i64::MAX as u64)
        {
            return Err(Error::Invalid("max_downloads must be positive".into()));
        }
        let password_hash = match &opts.password {
            Some(p) => {
                if p.is_empty() || p.len() > 1024 {
                    return Err(Error::Invalid("link passwords are 1 to 1024 bytes".into()));
                }
                Some(hash_password(p.clone()).await?)
            }
            None => None,
        };
        let id = uuid::Uuid::now_v7().to_string();
        let token = random_token("srl_", 32);
        let now = self.guard.now();
        let expires = now + (ttl as i64) * 1_000_000;
        let event = ctx
            .event("link.created", "file", &file.id)
            .attr("link", id.as_str())
            .attr("ttl_secs", ttl)
            .attr("password", password_hash.is_some())
            .build()?;
        let creator = ctx.user_id()?.to_owned();
        let record = LinkRecord {
            id: id.clone(),
            token_hash: token_hash(&token),
            file_id: file.id.clone(),
            created_by: creator,
            expires_at: expires,
            password_hash,
            max_downloads: opts.max_downloads.map(|m| m as i64),
            downloads: 0,
            failed_attempts: 0,
            locked_until: 0,
            revoked_at: None,
            created_at: now,
        };
        self.store.insert(&record, &event).await?;
        let row = self
            .load_by(LinkKey::Id(&id))
            .await?
            .ok_or_else(|| Error::Internal("link vanished".into()))?;
        Ok(CreatedLink {
            link: row.link,
            url: format!("{}/s/{token}", self.public_url),
            token,
        })
    }

    /// Links of one file (for those who may share it).
    pub async fn for_file(&self, ctx: &Ctx, file_id: &str) -> Result<Vec<Link>> {
        let file = self.files.authorize_on(ctx, "share", file_id).await?;
        let links = self.store.list(Listed::OfFile(&file.id)).await?;
        Ok(links.into_iter().map(|l| view(l).link).collect())
    }

    /// Links the caller created.
    pub async fn mine(&self, ctx: &Ctx) -> Result<Vec<Link>> {
        let user = self.guard.authorize_own_account(ctx).await?;
        let links = self.store.list(Listed::MadeBy(&user)).await?;
        Ok(links.into_iter().map(|l| view(l).link).collect())
    }

    /// Revokes a link (allowed to whoever may share its file).
    pub async fn revoke(&self, ctx: &Ctx, link_id: &str) -> Result<()> {
        let link_id = names::id(link_id)?;
        let row = self
            .load_by(LinkKey::Id(&link_id))
            .await?
            .ok_or_else(|| Error::NotFound("no such link".into()))?;
        let file = self
            .files
            .authorize_on(ctx, "share", &row.link.file_id)
            .await?;
        if row.revoked {
            return Ok(());
        }
        let event = ctx
            .event("link.revoked", "file", &file.id)
            .attr("link", link_id.as_str())
            .build()?;
        self.store
            .revoke(&link_id, self.guard.now(), &event)
            .await?;
        Ok(())
    }

    /// Resolves a token and password to the link principal and its file, or a clear refusal.
    ///
    /// Order matters: a revoked, expired or (for downloads) used-up link answers 410 before any
    /// password is looked at, so it is no password oracle; a password guess reserves its attempt
    /// before the (slow) hash check, so concurrent guesses cannot outrun the lockout.
    async fn open_link(
        &self,
        ctx: &Ctx,
        token: &str,
        password: Option<&str>,
        action: &str,
    ) -> Result<(Ctx, FileMeta, LinkRow)> {
        if !token.starts_with("srl_") || token.len() > 128 {
            return Err(Error::NotFound("no such link".into()));
        }
        let row = self
            .load_by(LinkKey::TokenHash(&token_hash(token)))
            .await?
            .ok_or_else(|| Error::NotFound("no such link".into()))?;
        if row.revoked {
            return Err(Error::Gone("this link was revoked".into()));
        }
        if row.expires_us <= self.guard.now() {
            return Err(Error::Gone("this link has expired".into()));
        }
        if action == "download" && row.used_up() {
            return Err(Error::Gone(
                "this link has reached its download limit".into(),
            ));
        }
        if let Some(hash) = &row.password_hash {
            let Some(given) = password else {
                return Err(Error::Unauthorized(
                    "this link needs a password (X-Link-Password header)".into(),
                ));
            };
            self.check_password(ctx, &row, given, hash).await?;
        }
        let (file, target) = self
            .files
            .locate(&row.link.file_id, &[row.created_by.as_str()])
            .await?;
        // A link carries its creator's authority: once they may no longer share the file (their
        // role was taken away, the file moved out of their reach, the account was disabled or
        // deleted), the link stops working.
        let creator = self.accounts.active_principal(&row.created_by).await?;
        let creator_may_share = creator.is_some_and(|p| {
            self.guard
                .authz
                .check(&p, "share", &target, &ctx.facts())
                .is_ok()
        });
        if !creator_may_share {
            return Err(Error::Gone(
                "this link no longer works: its creator lost access to the file".into(),
            ));
        }
        let mut link_ctx = ctx.clone();
        link_ctx.principal = Principal::Link {
            id: row.link.id.clone(),
            file_id: file.id.clone(),
            expires: Timestamp::from_millis(row.expires_us / 1000)?,
        };
        match self
            .guard
            .authorize(&link_ctx, action, &target, "file", &file.id)
            .await
        {
            Ok(()) => {}
            Err(Error::Forbidden { .. }) if row.expires_us <= self.guard.now() => {
                return Err(Error::Gone("this link has expired".into()));
            }
            Err(e) => return Err(e),
        }
        Ok((link_ctx, file, row))
    }

    /// Checks a link password. The attempt is counted *before* the hash comparison (one atomic
    /// update that refuses once `link_max_attempts` attempts are outstanding or the link is locked),
    /// and given back only when the password was right; so a guess that is cancelled, times out or
    /// races others still counts, and a right password never clears earlier failures.
    async fn check_password(
        &self,
        ctx: &Ctx,
        row: &LinkRow,
        given: &str,
        hash: &str,
    ) -> Result<()> {
        let now = self.guard.now();
        let max = i64::from(self.limits.link_max_attempts.max(1));
        if let Reservation::Locked { until } =
            self.store.reserve_attempt(&row.link.id, now, max).await?
        {
            let secs = ((until - now) / 1_000_000).max(1) as u64;
            return Err(Error::TooManyRequests(
                "too many wrong passwords; the link is locked for now".into(),
                secs,
            ));
        }
        if verify_password(given.to_owned(), hash.to_owned()).await? {
            self.store.release_attempt(&row.link.id).await?;
            return Ok(());
        }
        self.guard.metrics.auth_failures.inc();
        let lock_until = self.guard.now() + (self.limits.link_lock_secs as i64) * 1_000_000;
        let event = ctx
            .event("link.password.failed", "file", &row.link.file_id)
            .attr("link", row.link.id.as_str())
            .outcome(Outcome::Failure)
            .build()?;
        self.store
            .fail_attempt(&row.link.id, max, lock_until, &event)
            .await?;
        Err(Error::Unauthorized("wrong link password".into()))
    }

    /// The file behind a link.
    pub async fn info(&self, ctx: &Ctx, token: &str, password: Option<&str>) -> Result<LinkInfo> {
        let (_, file, row) = self.open_link(ctx, token, password, "read").await?;
        Ok(LinkInfo {
            name: file.name,
            size: file.size,
            content_type: file.content_type,
            sha256: file.sha256,
            expires_at: row.link.expires_at,
            downloads_left: row
                .link
                .max_downloads
                .map(|m| m.saturating_sub(row.link.downloads)),
        })
    }

    /// Downloads through a link, counting the download atomically against its limit.
    pub async fn download(
        &self,
        ctx: &Ctx,
        token: &str,
        password: Option<&str>,
        want: &Want,
    ) -> Result<Delivery> {
        let (link_ctx, file, row) = self.open_link(ctx, token, password, "download").await?;
        // Every response that carries content counts, ranges included (a limit that a `Range:
        // bytes=0-` could step around is no limit). HEAD and a 304 send no content and count
        // nothing, but a used-up link refuses them too (checked in `open_link`).
        let counts = !want.head && !files::not_modified(want, &file);
        if counts && !self.store.count_download(&row.link.id).await? {
            return Err(Error::Gone(
                "this link has reached its download limit".into(),
            ));
        }
        self.files.open(&link_ctx, file, want).await
    }
}

/// What a link shows before downloading.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LinkInfo {
    /// File name.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Media type.
    pub content_type: String,
    /// SHA-256, hex.
    pub sha256: String,
    /// When the link stops working (RFC 3339).
    pub expires_at: String,
    /// Downloads left, if limited.
    pub downloads_left: Option<u64>,
}
