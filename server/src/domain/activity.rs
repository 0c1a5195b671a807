//! Activity histories: who did what to a file, or to a folder and everything in it, read from
//! the audit trail for those who may read the item.
//!
//! A folder's history covers the folder and every folder and file below it now, trashed ones
//! included (an item moved away takes its history along; one purged from the trash leaves the
//! history, which the platform audit log keeps). Entries leave out where a request came from
//! (address, user agent, session), which only administrators see in the audit log.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use strongroom_audit::{Actor, AuditLog, AuditQuery, Cursor, Order, Resource, Timestamp};
use utoipa::ToSchema;

use super::files::Files;
use super::folders::Folders;
use super::{Ctx, Guard};
use crate::error::{Error, Result};
use crate::store::{DynFileStore, DynUserStore, UserKey};

/// Items a folder's history covers at most (the folder, its folders and its files).
pub const MAX_ITEMS: usize = 20_000;

/// Attributes never shown in a history: where a request came from, and secrets' traces.
const HIDDEN: [&str; 6] = [
    "ip",
    "user_agent",
    "session_id",
    "request_id",
    "token",
    "password",
];

/// Who did it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Who {
    /// `user`, `link` (a share link's visitor), `service` or `anonymous`.
    pub kind: String,
    /// The user or link id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// A user's display name (when the account still exists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// What an entry is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct About {
    /// `file` or `folder`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its id.
    pub id: String,
}

/// One thing that happened.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Entry {
    /// The event's id.
    pub id: String,
    /// When (RFC 3339).
    pub time: String,
    /// What (`file.uploaded`, `file.downloaded`, `share.granted` ...).
    pub action: String,
    /// `success`, `failure` or `denied`.
    pub outcome: String,
    /// Who.
    pub actor: Who,
    /// On what.
    pub resource: About,
    /// The event's details (name, size, version, ...).
    #[schema(value_type = Object)]
    pub details: serde_json::Map<String, serde_json::Value>,
}

/// A page of history, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct History {
    /// Entries, newest first.
    pub entries: Vec<Entry>,
    /// The cursor of the next (older) page, if there may be one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// Which entries.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Actions equal to or below this (`file`, `share`, `file.downloaded`).
    pub action: Option<String>,
    /// Only what this user did.
    pub actor: Option<String>,
    /// At or after (RFC 3339).
    pub since: Option<String>,
    /// Before.
    pub until: Option<String>,
    /// Page size, 1 to 200 (default 50).
    pub limit: Option<usize>,
    /// The `next` of the page before.
    pub after: Option<String>,
}

/// See the module docs.
#[derive(Debug, Clone)]
pub struct Activity {
    audit: Arc<AuditLog>,
    files: Files,
    folders: Folders,
    file_store: Arc<DynFileStore>,
    users: Arc<DynUserStore>,
    guard: Guard,
}

impl Activity {
    /// Over the audit log, the files and folders services (which authorize), the file store
    /// (a folder's files), accounts (actors' names) and the guard (which records the read).
    pub fn new(
        audit: Arc<AuditLog>,
        files: Files,
        folders: Folders,
        file_store: Arc<DynFileStore>,
        users: Arc<DynUserStore>,
        guard: Guard,
    ) -> Activity {
        Activity {
            audit,
            files,
            folders,
            file_store,
            users,
            guard,
        }
    }

    /// A file's history.
    pub async fn of_file(&self, ctx: &Ctx, id: &str, filter: &Filter) -> Result<History> {
        let file = self.files.authorize_on(ctx, "read", id).await?;
        let resource = Resource::new("file", file.id.clone())?;
        let history = self.page(vec![resource], filter).await?;
        // Recorded on a resource of its own, so that reading a history does not add to it.
        self.guard
            .record_read(ctx.event("activity.viewed", "file_activity", &file.id))
            .await?;
        Ok(history)
    }

    /// A folder's history: the folder and everything below it.
    pub async fn of_folder(&self, ctx: &Ctx, id: &str, filter: &Filter) -> Result<History> {
        let nodes = self.folders.authorize_on(ctx, "read", id).await?;
        let folder = nodes[0].id.clone();
        let folders = self.folders.store.subtree(&folder).await?;
        let mut items = Vec::new();
        for f in &folders {
            items.push(Resource::new("folder", f.id.clone())?);
            for file in self.file_store.in_folder(&f.id).await? {
                items.push(Resource::new("file", file.id)?);
            }
            if items.len() > MAX_ITEMS {
                return Err(Error::BadRequest(format!(
                    "this folder holds more than {MAX_ITEMS} items: ask for the history of a \
                     folder or file inside it"
                )));
            }
        }
        let history = self.page(items, filter).await?;
        self.guard
            .record_read(ctx.event("activity.viewed", "folder_activity", &folder))
            .await?;
        Ok(history)
    }

    /// One page over `items`, asked of the log in batches of what one query may name and
    /// merged newest first: each batch gives its newest `limit` after the cursor, so the
    /// merged newest `limit` are the page.
    async fn page(&self, items: Vec<Resource>, filter: &Filter) -> Result<History> {
        let limit = filter.limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(Error::BadRequest("limit must be between 1 and 200".into()));
        }
        let mut query = AuditQuery::new().order(Order::NewestFirst).limit(limit);
        if let Some(a) = &filter.action {
            query = query.action_prefix(a.clone());
        }
        if let Some(u) = &filter.actor {
            query = query.actor(Actor::User(u.clone()));
        }
        let time = |what: &str, s: &str| -> Result<Timestamp> {
            s.parse()
                .map_err(|_| Error::BadRequest(format!("{what} must be an RFC 3339 time: {s:?}")))
        };
        if let Some(s) = &filter.since {
            query = query.since(time("since", s)?);
        }
        if let Some(s) = &filter.until {
            query = query.until(time("until", s)?);
        }
        if let Some(a) = &filter.after {
            let c: Cursor = a
                .parse()
                .map_err(|_| Error::BadRequest("not a cursor from a previous page".into()))?;
            query = query.after(c);
        }
        let mut records = Vec::new();
        let mut maybe_more = false;
        for batch in items.chunks(strongroom_audit::MAX_RESOURCES) {
            let page = self
                .audit
                .query(&query.clone().resources(batch.iter().cloned()))
                .await?;
            maybe_more |= page.next.is_some();
            records.extend(page.records);
        }
        records.sort_by_key(|r| std::cmp::Reverse(r.seq));
        maybe_more |= records.len() > limit;
        records.truncate(limit);
        let next = if maybe_more {
            records.last().map(|r| format!("s{}", r.seq))
        } else {
            None
        };
        let mut names: BTreeMap<String, Option<String>> = BTreeMap::new();
        let mut entries = Vec::with_capacity(records.len());
        for r in records {
            let e = &r.event;
            let actor = match e.actor() {
                Actor::User(id) => {
                    if !names.contains_key(id) {
                        let name = self.users.get(UserKey::Id(id)).await?.map(|u| u.name);
                        names.insert(id.clone(), name);
                    }
                    Who {
                        kind: "user".into(),
                        id: Some(id.clone()),
                        name: names.get(id).cloned().flatten(),
                    }
                }
                Actor::Service(s) => match s.strip_prefix("link:") {
                    Some(link) => Who {
                        kind: "link".into(),
                        id: Some(link.to_owned()),
                        name: None,
                    },
                    None => Who {
                        kind: "service".into(),
                        id: Some(s.clone()),
                        name: None,
                    },
                },
                Actor::Anonymous => Who {
                    kind: "anonymous".into(),
                    id: None,
                    name: None,
                },
            };
            let mut details = e.attributes().clone();
            details.retain(|k, _| !HIDDEN.iter().any(|h| k.contains(h)));
            entries.push(Entry {
                id: e.id().to_string(),
                time: e.time().to_string(),
                action: e.action().to_owned(),
                outcome: e.outcome().as_str().to_owned(),
                actor,
                resource: About {
                    kind: e.resource().kind.clone(),
                    id: e.resource().id.clone(),
                },
                details,
            });
        }
        Ok(History { entries, next })
    }
}
