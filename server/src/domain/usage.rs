//! Quotas and usage: each account's limits (the operator's defaults, or an administrator's
//! override), enforced inside the write that commits a file or version, and `GET /me/usage`.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::files::Files;
use super::{Ctx, Error, Result};
use crate::store::{DynUserStore, Quota, UserKey};

/// Resolves an account's quota.
#[derive(Debug, Clone)]
pub struct Quotas {
    users: Arc<DynUserStore>,
    default: Quota,
}

impl Quotas {
    /// Over the accounts, with the operator's defaults (0: unlimited).
    pub fn new(users: Arc<DynUserStore>, default_bytes: u64, default_files: u64) -> Quotas {
        Quotas {
            users,
            default: Quota {
                bytes: (default_bytes > 0).then_some(default_bytes),
                files: (default_files > 0).then_some(default_files),
            },
        }
    }

    /// The quota of `owner`: its overrides where set, the defaults elsewhere.
    pub async fn of(&self, owner: &str) -> Result<Quota> {
        let user = self.users.get(UserKey::Id(owner)).await?;
        let set = user.map(|u| u.quota).unwrap_or_default();
        Ok(Quota {
            bytes: set.bytes.or(self.default.bytes),
            files: set.files.or(self.default.files),
        })
    }
}

/// What the caller stores, and what they may.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Usage {
    /// Files, trash included.
    pub files: u64,
    /// Versions of those files.
    pub versions: u64,
    /// Bytes of all those versions: what the quota counts.
    pub logical_bytes: u64,
    /// Bytes actually stored for them after dedup (each distinct chunk once); equal to
    /// `logical_bytes` when dedup is off.
    pub stored_bytes: u64,
    /// Files in the trash.
    pub trash_files: u64,
    /// Bytes of all versions of the files in the trash.
    pub trash_bytes: u64,
    /// The byte quota (`null`: unlimited).
    pub quota_bytes: Option<u64>,
    /// The file quota (`null`: unlimited).
    pub quota_files: Option<u64>,
}

/// An administrator's quota change for one account: each limit, or `null` for the default.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotaChange {
    /// Bytes (all versions, trash included), or `null` for the operator's default.
    pub bytes: Option<u64>,
    /// Files (trash included), or `null` for the default.
    pub files: Option<u64>,
}

impl Files {
    /// The caller's usage and quota.
    pub async fn usage(&self, ctx: &Ctx) -> Result<Usage> {
        let owner = self.guard.authorize_own_account(ctx).await?;
        let u = super::metering::figures_of(self.store.as_ref(), &self.blobs, &owner).await?;
        let quota = self.quotas.of(&owner).await?;
        Ok(Usage {
            files: u.files,
            versions: u.versions,
            logical_bytes: u.logical_bytes,
            stored_bytes: u.stored_bytes,
            trash_files: u.trash_files,
            trash_bytes: u.trash_bytes,
            quota_bytes: quota.bytes,
            quota_files: quota.files,
        })
    }

    /// Refuses at once (before any byte is read) an upload by `owner` that cannot fit: the byte
    /// quota already used up, or, for a new file (`named`: its folder and name, unless that
    /// name is taken, which makes a version), the file quota. The write checks again, exactly,
    /// when it commits.
    pub(super) async fn precheck_quota(
        &self,
        owner: &str,
        named: Option<(&str, &str)>,
    ) -> Result<Quota> {
        let quota = self.quotas.of(owner).await?;
        if quota == Quota::NONE {
            return Ok(quota);
        }
        let new_file = match named {
            Some((folder, name)) if quota.files.is_some() => {
                self.store.find_named(owner, folder, name).await?.is_none()
            }
            Some(_) => true,
            None => false,
        };
        let u = self.store.usage(owner).await?;
        let full = quota.bytes.is_some_and(|b| u.bytes >= b)
            || (new_file && quota.files.is_some_and(|f| u.files >= f));
        if full {
            let why = quota
                .breach(u.bytes + 1, u.files + u64::from(new_file))
                .unwrap_or_else(|| "the quota is used up".into());
            return Err(Error::InsufficientStorage(why));
        }
        Ok(quota)
    }
}
