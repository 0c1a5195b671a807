//! Statistics: what an owner (a person or a team) or the whole platform stores, by media type
//! and extension, how much of it is older versions and trash, and uploads and downloads per
//! day.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::civil::Date;
use serde::Serialize;
use utoipa::ToSchema;

use super::teams::Teams;
use super::{Ctx, Guard};
use crate::error::{Error, Result};
use crate::store::stats::{DayCounts, Holding};
use crate::store::{DynStatsStore, DynTeamStore, DynUserStore, UserKey};

/// Buckets listed by media type or extension; the rest is summed.
pub const TOP_BUCKETS: usize = 50;
/// Owners listed in the platform's figures; the rest is summed.
pub const TOP_OWNERS: usize = 100;
/// Days one report covers at most.
pub const MAX_DAYS: i64 = 366;

/// Files and their bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Totals {
    /// How many.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
}

impl Totals {
    fn add(&mut self, files: u64, bytes: u64) {
        self.files += files;
        self.bytes += bytes;
    }
}

/// One media type or extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Bucket {
    /// The media type (without parameters) or the extension (`""`: none).
    pub key: String,
    /// Files.
    pub files: u64,
    /// Bytes of their current versions.
    pub bytes: u64,
}

/// The largest buckets, and the rest summed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Breakdown {
    /// At most [`TOP_BUCKETS`], by bytes (then files, then key).
    pub top: Vec<Bucket>,
    /// Everything not in `top`.
    pub rest: Totals,
}

/// How the stored bytes split (fractions of `current + versions + trash`; 0 when empty).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, ToSchema)]
pub struct Split {
    /// Current versions of files not in the trash.
    pub current: f64,
    /// Versions that are not current.
    pub versions: f64,
    /// Files in the trash (their current versions).
    pub trash: f64,
}

/// Uploads and downloads on one UTC day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Day {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// New files and new versions.
    pub uploads: u64,
    /// Their bytes.
    pub upload_bytes: u64,
    /// Downloads, full or ranged (through links too).
    pub downloads: u64,
    /// Bytes sent.
    pub download_bytes: u64,
}

/// One owner in the platform's figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct OwnerFigures {
    /// The account id (a team's id for a team).
    pub id: String,
    /// `user` or `team`; `gone` for an id no account has any more.
    pub kind: String,
    /// Display name.
    pub name: String,
    /// E-mail, for a person.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Current files not in the trash.
    pub current: Totals,
    /// Older versions.
    pub versions: Totals,
    /// The trash.
    pub trash: Totals,
}

/// The figures of one owner or of the platform.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Report {
    /// `user`, `team` or `platform`.
    pub scope: String,
    /// The person or team, unless the platform.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Current files not in the trash.
    pub current: Totals,
    /// Versions that are not current (`files`: how many versions).
    pub versions: Totals,
    /// Files in the trash.
    pub trash: Totals,
    /// How the bytes split between the three.
    pub split: Split,
    /// Current files by media type.
    pub by_type: Breakdown,
    /// Current files by extension.
    pub by_extension: Breakdown,
    /// Every day of the period, oldest first (days without any are zeros).
    pub days: Vec<Day>,
    /// The platform's largest owners by stored bytes (platform only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by_owner: Option<Vec<OwnerFigures>>,
    /// Owners storing anything (platform only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owners: Option<u64>,
}

/// The days a report covers: `from..=to` (`YYYY-MM-DD`), by default the `days` (30) up to
/// today.
#[derive(Debug, Clone, Default)]
pub struct Period {
    /// First day.
    pub from: Option<String>,
    /// Last day (default today, UTC).
    pub to: Option<String>,
    /// How many days up to `to`, when `from` is not given.
    pub days: Option<i64>,
}

/// See the module docs.
#[derive(Debug, Clone)]
pub struct Stats {
    store: Arc<DynStatsStore>,
    users: Arc<DynUserStore>,
    team_store: Arc<DynTeamStore>,
    teams: Teams,
    guard: Guard,
}

impl Stats {
    /// Over the statistics store, accounts and teams (for names and team access).
    pub fn new(
        store: Arc<DynStatsStore>,
        users: Arc<DynUserStore>,
        team_store: Arc<DynTeamStore>,
        teams: Teams,
        guard: Guard,
    ) -> Stats {
        Stats {
            store,
            users,
            team_store,
            teams,
            guard,
        }
    }

    /// The caller's own figures, or with `team` those of a team they may see.
    pub async fn owned(&self, ctx: &Ctx, team: Option<&str>, period: &Period) -> Result<Report> {
        let (scope, owner) = match team {
            None => ("user", self.guard.authorize_own_account(ctx).await?),
            Some(t) => (
                "team",
                self.teams.authorized_team(ctx, "view_team", t).await?.id,
            ),
        };
        let (from, to) = self.period(period)?;
        let holdings = self.store.holdings(Some(&owner)).await?;
        let older = self.store.older_versions(Some(&owner)).await?;
        let days = self.store.days(Some(&owner), &from, &to).await?;
        let mut report = report(scope, &holdings, &older, &from, &to, days)?;
        report.id = Some(owner.clone());
        self.viewed(ctx, "stats.viewed", scope, &owner).await?;
        Ok(report)
    }

    /// The platform's figures (administrators).
    pub async fn platform(&self, ctx: &Ctx, period: &Period) -> Result<Report> {
        self.guard.authorize_platform(ctx, "administer").await?;
        let (from, to) = self.period(period)?;
        let holdings = self.store.holdings(None).await?;
        let older = self.store.older_versions(None).await?;
        let days = self.store.days(None, &from, &to).await?;
        let mut report = report("platform", &holdings, &older, &from, &to, days)?;
        let mut owners: BTreeMap<String, OwnerFigures> = BTreeMap::new();
        for h in &holdings {
            let o = owner_entry(&mut owners, &h.owner_id);
            if h.trashed {
                o.trash.add(h.files, h.bytes);
            } else {
                o.current.add(h.files, h.bytes);
            }
        }
        for v in &older {
            owner_entry(&mut owners, &v.owner_id)
                .versions
                .add(v.versions, v.bytes);
        }
        let stored = |o: &OwnerFigures| o.current.bytes + o.versions.bytes + o.trash.bytes;
        let mut ranked: Vec<OwnerFigures> = owners.into_values().collect();
        ranked.sort_by(|a, b| stored(b).cmp(&stored(a)).then_with(|| a.id.cmp(&b.id)));
        report.owners = Some(ranked.len() as u64);
        ranked.truncate(TOP_OWNERS);
        for o in &mut ranked {
            if let Some(t) = self.team_store.get(&o.id).await? {
                o.kind = "team".into();
                o.name = t.name;
            } else if let Some(u) = self.users.get(UserKey::Id(&o.id)).await? {
                o.kind = "user".into();
                o.name = u.name;
                o.email = Some(u.email);
            } else {
                o.kind = "gone".into();
            }
        }
        report.by_owner = Some(ranked);
        self.viewed(ctx, "stats.viewed", "platform", "strongroom")
            .await?;
        Ok(report)
    }

    async fn viewed(&self, ctx: &Ctx, action: &str, kind: &str, id: &str) -> Result<()> {
        let kind = if kind == "team" || kind == "user" {
            kind
        } else {
            "platform"
        };
        self.guard.record_read(ctx.event(action, kind, id)).await
    }

    /// The first and last day of `period`, checked.
    fn period(&self, period: &Period) -> Result<(String, String)> {
        let parse = |what: &str, s: &str| -> Result<Date> {
            s.parse::<Date>().map_err(|_| {
                Error::BadRequest(format!("{what} must be a date as YYYY-MM-DD, not {s:?}"))
            })
        };
        let today = jiff::Timestamp::from_microsecond(self.guard.now())
            .map_err(|e| Error::Internal(format!("clock: {e}")))?
            .strftime("%Y-%m-%d")
            .to_string()
            .parse::<Date>()
            .map_err(|e| Error::Internal(format!("today: {e}")))?;
        let to = match &period.to {
            Some(s) => parse("to", s)?,
            None => today,
        };
        let from = match (&period.from, period.days) {
            (Some(_), Some(_)) => {
                return Err(Error::BadRequest("give from or days, not both".into()));
            }
            (Some(s), None) => parse("from", s)?,
            (None, days) => {
                let days = days.unwrap_or(30);
                if !(1..=MAX_DAYS).contains(&days) {
                    return Err(Error::BadRequest(format!(
                        "days must be between 1 and {MAX_DAYS}"
                    )));
                }
                to.checked_sub(jiff::Span::new().days(days - 1))
                    .map_err(|_| Error::BadRequest("the period starts before year -9999".into()))?
            }
        };
        if from > to {
            return Err(Error::BadRequest("from is after to".into()));
        }
        let span = from
            .until(to)
            .map_err(|e| Error::BadRequest(format!("period: {e}")))?
            .get_days()
            + 1;
        if i64::from(span) > MAX_DAYS {
            return Err(Error::BadRequest(format!(
                "a period covers at most {MAX_DAYS} days"
            )));
        }
        Ok((from.to_string(), to.to_string()))
    }
}

fn owner_entry<'a>(
    owners: &'a mut BTreeMap<String, OwnerFigures>,
    id: &str,
) -> &'a mut OwnerFigures {
    owners.entry(id.to_owned()).or_insert_with(|| OwnerFigures {
        id: id.to_owned(),
        kind: String::new(),
        name: String::new(),
        email: None,
        current: Totals::default(),
        versions: Totals::default(),
        trash: Totals::default(),
    })
}

/// The media type without parameters, lowercase.
fn media_type(ct: &str) -> String {
    ct.split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// An extension as reported: 1 to 10 ASCII letters and digits, lowercase; anything else
/// (none, or the tail of a name like `v1.2 final`) is `""`.
fn extension(ext: &str) -> String {
    if (1..=10).contains(&ext.len()) && ext.bytes().all(|b| b.is_ascii_alphanumeric()) {
        ext.to_ascii_lowercase()
    } else {
        String::new()
    }
}

fn breakdown(sums: BTreeMap<String, Totals>) -> Breakdown {
    let mut all: Vec<Bucket> = sums
        .into_iter()
        .map(|(key, t)| Bucket {
            key,
            files: t.files,
            bytes: t.bytes,
        })
        .collect();
    all.sort_by(|a, b| {
        (b.bytes, b.files)
            .cmp(&(a.bytes, a.files))
            .then_with(|| a.key.cmp(&b.key))
    });
    let mut rest = Totals::default();
    for b in all.iter().skip(TOP_BUCKETS) {
        rest.add(b.files, b.bytes);
    }
    all.truncate(TOP_BUCKETS);
    Breakdown { top: all, rest }
}

fn report(
    scope: &str,
    holdings: &[Holding],
    older: &[crate::store::stats::OlderVersions],
    from: &str,
    to: &str,
    days: Vec<(String, DayCounts)>,
) -> Result<Report> {
    let (mut current, mut trash, mut versions) =
        (Totals::default(), Totals::default(), Totals::default());
    let mut by_type: BTreeMap<String, Totals> = BTreeMap::new();
    let mut by_ext: BTreeMap<String, Totals> = BTreeMap::new();
    for h in holdings {
        if h.trashed {
            trash.add(h.files, h.bytes);
            continue;
        }
        current.add(h.files, h.bytes);
        by_type
            .entry(media_type(&h.content_type))
            .or_default()
            .add(h.files, h.bytes);
        by_ext
            .entry(extension(&h.extension))
            .or_default()
            .add(h.files, h.bytes);
    }
    for v in older {
        versions.add(v.versions, v.bytes);
    }
    let total = (current.bytes + versions.bytes + trash.bytes) as f64;
    let part = |b: u64| if total > 0.0 { b as f64 / total } else { 0.0 };
    let split = Split {
        current: part(current.bytes),
        versions: part(versions.bytes),
        trash: part(trash.bytes),
    };
    let counted: BTreeMap<String, DayCounts> = days.into_iter().collect();
    let mut all_days = Vec::new();
    let (mut day, last) = (
        from.parse::<Date>()
            .map_err(|e| Error::Internal(format!("day: {e}")))?,
        to.parse::<Date>()
            .map_err(|e| Error::Internal(format!("day: {e}")))?,
    );
    while day <= last {
        let key = day.to_string();
        let c = counted.get(&key).copied().unwrap_or_default();
        all_days.push(Day {
            day: key,
            uploads: c.uploads,
            upload_bytes: c.upload_bytes,
            downloads: c.downloads,
            download_bytes: c.download_bytes,
        });
        day = match day.tomorrow() {
            Ok(d) => d,
            Err(_) => break,
        };
    }
    Ok(Report {
        scope: scope.into(),
        id: None,
        current,
        versions,
        trash,
        split,
        by_type: breakdown(by_type),
        by_extension: breakdown(by_ext),
        days: all_days,
        by_owner: None,
        owners: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_and_media_types_are_normalized() {
        assert_eq!(extension("PDF"), "pdf");
        assert_eq!(extension("2 final"), "");
        assert_eq!(extension("averyverylongext"), "");
        assert_eq!(extension(""), "");
        assert_eq!(media_type("Text/Plain; charset=utf-8"), "text/plain");
    }

    #[test]
    fn the_rest_sums_what_is_not_on_top() {
        let sums: BTreeMap<String, Totals> = (0..60u64)
            .map(|i| (format!("k{i:02}"), Totals { files: 1, bytes: i }))
            .collect();
        let b = breakdown(sums);
        assert_eq!(b.top.len(), TOP_BUCKETS);
        assert_eq!(b.top[0].key, "k59");
        assert_eq!(
            b.rest,
            Totals {
                files: 10,
                bytes: (0..10).sum()
            }
        );
    }
}
