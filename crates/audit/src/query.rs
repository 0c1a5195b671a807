use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;

use crate::store::Columns;
use crate::{Actor, AuditRecord, Error, Outcome, Resource, Result};

/// The most records one query returns.
pub const MAX_PAGE_SIZE: usize = 1000;

/// The most resources one query asks about ([`AuditQuery::resources`]).
pub const MAX_RESOURCES: usize = 1000;

/// Which end of the chain a query starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// Oldest first (ascending sequence number).
    #[default]
    OldestFirst,
    /// Newest first.
    NewestFirst,
}

/// Where the previous page ended. Cursors are keyed on the chain's sequence numbers, which only
/// grow, so pages never skip or repeat a record while other writers append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub(crate) seq: u64,
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s{}", self.seq)
    }
}

impl FromStr for Cursor {
    type Err = Error;

    fn from_str(s: &str) -> Result<Cursor> {
        s.strip_prefix('s')
            .and_then(|n| n.parse::<u64>().ok())
            .map(|seq| Cursor { seq })
            .ok_or_else(|| Error::invalid("cursor", "not a cursor returned by a previous page"))
    }
}

/// Filters, order and position of a search; every filter set must match (AND).
#[derive(Debug, Clone, PartialEq)]
pub struct AuditQuery {
    pub(crate) actor: Option<Actor>,
    /// Any of these (empty: any resource).
    pub(crate) resources: Vec<Resource>,
    /// Set by an empty [`AuditQuery::resources`]: nothing matches.
    pub(crate) no_resource: bool,
    pub(crate) action_prefix: Option<String>,
    pub(crate) outcome: Option<Outcome>,
    pub(crate) since: Option<Timestamp>,
    pub(crate) until: Option<Timestamp>,
    pub(crate) order: Order,
    pub(crate) after: Option<Cursor>,
    pub(crate) limit: usize,
}

impl Default for AuditQuery {
    fn default() -> Self {
        AuditQuery {
            actor: None,
            resources: Vec::new(),
            no_resource: false,
            action_prefix: None,
            outcome: None,
            since: None,
            until: None,
            order: Order::OldestFirst,
            after: None,
            limit: 100,
        }
    }
}

impl AuditQuery {
    /// Everything, oldest first, 100 per page.
    pub fn new() -> AuditQuery {
        AuditQuery::default()
    }

    /// Only events by this actor.
    #[must_use]
    pub fn actor(mut self, actor: Actor) -> Self {
        self.actor = Some(actor);
        self
    }

    /// Only events on this resource.
    #[must_use]
    pub fn resource(mut self, resource: Resource) -> Self {
        self.resources = vec![resource];
        self
    }

    /// Only events on any of these resources (at most [`MAX_RESOURCES`], checked by
    /// [`AuditQuery::validate`]); replaces an earlier [`AuditQuery::resource`]. An empty list
    /// matches nothing.
    #[must_use]
    pub fn resources(mut self, resources: impl IntoIterator<Item = Resource>) -> Self {
        self.resources = resources.into_iter().collect();
        self.no_resource = self.resources.is_empty();
        self
    }

    /// Only actions equal to `prefix` or below it: `"file"` matches `file.uploaded` and
    /// `file.share.created` but not `filesystem.full`. Validated by [`AuditQuery::validate`].
    #[must_use]
    pub fn action_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.action_prefix = Some(prefix.into());
        self
    }

    /// Only this outcome.
    #[must_use]
    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = Some(outcome);
        self
    }

    /// Only events at or after `since`.
    #[must_use]
    pub fn since(mut self, since: Timestamp) -> Self {
        self.since = Some(since);
        self
    }

    /// Only events before `until`.
    #[must_use]
    pub fn until(mut self, until: Timestamp) -> Self {
        self.until = Some(until);
        self
    }

    /// Oldest or newest first.
    #[must_use]
    pub fn order(mut self, order: Order) -> Self {
        self.order = order;
        self
    }

    /// Continue after a previous page.
    #[must_use]
    pub fn after(mut self, cursor: Cursor) -> Self {
        self.after = Some(cursor);
        self
    }

    /// Page size, 1 to [`MAX_PAGE_SIZE`].
    #[must_use]
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Checks the page size, the action prefix and the time range.
    pub fn validate(&self) -> Result<()> {
        if !(1..=MAX_PAGE_SIZE).contains(&self.limit) {
            return Err(Error::invalid(
                "limit",
                format!("must be 1 to {MAX_PAGE_SIZE}"),
            ));
        }
        if let Some(prefix) = &self.action_prefix {
            let single = !prefix.is_empty()
                && prefix.split('.').all(|s| {
                    s.starts_with(|c: char| c.is_ascii_lowercase())
                        && s.chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                });
            if !single || prefix.len() > 128 {
                return Err(Error::invalid(
                    "action prefix",
                    "must be one or more dotted action segments",
                ));
            }
        }
        if let (Some(since), Some(until)) = (self.since, self.until)
            && since > until
        {
            return Err(Error::invalid("time range", "since is after until"));
        }
        if let Some(actor) = &self.actor {
            actor.validate()?;
        }
        if self.resources.len() > MAX_RESOURCES {
            return Err(Error::invalid(
                "resources",
                format!("at most {MAX_RESOURCES} per query"),
            ));
        }
        for resource in &self.resources {
            resource.validate()?;
        }
        Ok(())
    }

    /// Whether a row with these stored columns passes the filters and lies after the cursor
    /// (the memory store filters on its stored columns, as the SQL stores do).
    pub(crate) fn matches_columns(&self, seq: u64, columns: &Columns) -> bool {
        self.failing_filter(seq, columns).is_none()
    }

    /// The column of the first filter that a row with `seq` and `columns` fails, if any.
    pub(crate) fn failing_filter(&self, seq: u64, c: &Columns) -> Option<&'static str> {
        let after_cursor = match (self.after, self.order) {
            (None, _) => true,
            (Some(cursor), Order::OldestFirst) => seq > cursor.seq,
            (Some(cursor), Order::NewestFirst) => seq < cursor.seq,
        };
        let action = c.action.as_str();
        let checks = [
            ("seq", after_cursor),
            (
                "actor_kind",
                self.actor.as_ref().is_none_or(|a| a.kind() == c.actor_kind),
            ),
            (
                "actor_id",
                self.actor.as_ref().is_none_or(|a| a.id() == c.actor_id),
            ),
            (
                "resource_type",
                !self.no_resource
                    && (self.resources.is_empty()
                        || self.resources.iter().any(|r| r.kind == c.resource_type)),
            ),
            (
                "resource_id",
                self.resources.is_empty()
                    || self
                        .resources
                        .iter()
                        .any(|r| r.kind == c.resource_type && r.id == c.resource_id),
            ),
            (
                "action",
                self.action_prefix.as_ref().is_none_or(|p| {
                    action == p
                        || (action.starts_with(p.as_str())
                            && action.as_bytes().get(p.len()) == Some(&b'.'))
                }),
            ),
            (
                "outcome",
                self.outcome.is_none_or(|o| o.as_str() == c.outcome),
            ),
            (
                "time_us",
                self.since.is_none_or(|t| c.time_us >= t.as_microsecond())
                    && self.until.is_none_or(|t| c.time_us < t.as_microsecond()),
            ),
        ];
        checks
            .into_iter()
            .find_map(|(column, ok)| (!ok).then_some(column))
    }
}

/// One page of query results.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The records, in the query's order.
    pub records: Vec<AuditRecord>,
    /// Pass to [`AuditQuery::after`] for the next page; `None` when this was the last page.
    pub next: Option<Cursor>,
}
