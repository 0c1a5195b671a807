//! Metering: every account's usage sampled into the ledger when it changes, each change one
//! `usage.changed` event on the bus (written with its sample, so neither is lost), and the
//! per-period export an operator bills from.
//!
//! The meter runs every `files.meter_interval_secs`: a change is seen, and stamped, at the next
//! pass, so the ledger's resolution is that interval. The export integrates the ledger's step
//! function over the period: what each account held at the end, at its peak, and on average
//! (byte-hours divided by the period), for logical bytes (what quotas count) and stored bytes
//! (after dedup).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Ctx, Error, Guard, Result};
use crate::blobs::Blobs;
use crate::store::usage::{DynUsageLedger, UsageFigures, UsageSample};
use crate::store::{DynFileStore, DynUserStore, UserKey};

/// Accounts metered, and samples appended, per batch.
const BATCH: usize = 500;
/// The longest period one export covers.
const MAX_PERIOD_MICROS: i64 = 366 * 24 * 3600 * 1_000_000;
/// Microseconds in an hour.
const HOUR_MICROS: u128 = 3600 * 1_000_000;

/// Samples usage and exports it.
#[derive(Debug, Clone)]
pub struct Metering {
    files: Arc<DynFileStore>,
    blobs: Blobs,
    ledger: Arc<DynUsageLedger>,
    users: Arc<DynUserStore>,
    guard: Guard,
}

/// One account's usage over an export's period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UsageRow {
    /// The account.
    pub user_id: String,
    /// Its e-mail, when the account still exists.
    pub email: Option<String>,
    /// Files at the end of the period (trash included).
    pub files: u64,
    /// Versions at the end.
    pub versions: u64,
    /// Logical bytes (all versions, trash included; what quotas count) at the end.
    pub logical_bytes: u64,
    /// Bytes stored after dedup at the end.
    pub stored_bytes: u64,
    /// Bytes in the trash at the end.
    pub trash_bytes: u64,
    /// The most files at any time in the period.
    pub peak_files: u64,
    /// The most logical bytes at any time in the period.
    pub peak_logical_bytes: u64,
    /// The most stored bytes at any time in the period.
    pub peak_stored_bytes: u64,
    /// Logical bytes held over the period, in byte-hours.
    pub logical_byte_hours: u64,
    /// Stored bytes held over the period, in byte-hours.
    pub stored_byte_hours: u64,
    /// Logical bytes on average over the period (byte-hours / hours).
    pub avg_logical_bytes: u64,
    /// Stored bytes on average over the period.
    pub avg_stored_bytes: u64,
}

/// A page of an export.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UsageExport {
    /// The period's start (RFC 3339).
    pub from: String,
    /// The period's end (RFC 3339): the requested end, or now if that is earlier.
    pub to: String,
    /// One row per account that stored anything in the period, by account id.
    pub accounts: Vec<UsageRow>,
    /// Pass as `after` for the next page; `null` on the last.
    pub next: Option<String>,
}

/// The CSV header of an export, in [`UsageRow`]'s field order after the period.
pub const CSV_HEADER: &str = "from,to,user_id,email,files,versions,logical_bytes,stored_bytes,trash_bytes,peak_files,peak_logical_bytes,peak_stored_bytes,logical_byte_hours,stored_byte_hours,avg_logical_bytes,avg_stored_bytes";

impl UsageExport {
    /// The page as CSV rows (no header), one line each.
    pub fn csv_rows(&self) -> String {
        let mut out = String::new();
        for r in &self.accounts {
            let email = r.email.as_deref().unwrap_or("");
            out.push_str(&format!(
                "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
                self.from,
                self.to,
                csv_field(&r.user_id),
                csv_field(email),
                r.files,
                r.versions,
                r.logical_bytes,
                r.stored_bytes,
                r.trash_bytes,
                r.peak_files,
                r.peak_logical_bytes,
                r.peak_stored_bytes,
                r.logical_byte_hours,
                r.stored_byte_hours,
                r.avg_logical_bytes,
                r.avg_stored_bytes
            ));
        }
        out
    }
}

/// Quotes a CSV field that needs it (RFC 4180), and defuses a leading formula character so a
/// spreadsheet does not run an e-mail address as a formula.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// What `owner` stores now, by the file table and the chunk index.
pub(super) async fn figures_of(
    files: &DynFileStore,
    blobs: &Blobs,
    owner: &str,
) -> Result<UsageFigures> {
    let u = files.usage(owner).await?;
    let stored_bytes = blobs.stored_bytes(owner).await?.unwrap_or(u.bytes);
    Ok(UsageFigures {
        files: u.files,
        versions: u.versions,
        logical_bytes: u.bytes,
        stored_bytes,
        trash_files: u.trash_files,
        trash_bytes: u.trash_bytes,
    })
}

impl Metering {
    /// Over the file store and blobs (what is stored), the ledger, and the accounts (e-mails in
    /// the export).
    pub fn new(
        files: Arc<DynFileStore>,
        blobs: Blobs,
        ledger: Arc<DynUsageLedger>,
        users: Arc<DynUserStore>,
        guard: Guard,
    ) -> Metering {
        Metering {
            files,
            blobs,
            ledger,
            users,
            guard,
        }
    }

    /// One pass of the meter: every account whose usage differs from its last sample gets a
    /// new one, with its `usage.changed` event; an account that stores nothing any more (or was
    /// deleted) gets a closing zero sample. Returns the samples written (another server's meter
    /// may have written the same change first; that one is not written twice).
    pub async fn meter(&self) -> Result<u64> {
        let now = self.guard.now();
        let latest: HashMap<String, UsageSample> = self
            .ledger
            .latest()
            .await?
            .into_iter()
            .map(|s| (s.user_id.clone(), s))
            .collect();
        let mut seen = HashSet::new();
        let mut batch = Vec::new();
        let mut written = 0;
        let mut after: Option<String> = None;
        loop {
            let owners = self.files.owners(after.as_deref(), BATCH).await?;
            let Some(last) = owners.last().cloned() else {
                break;
            };
            for owner in owners {
                let figures = figures_of(self.files.as_ref(), &self.blobs, &owner).await?;
                if let Some(s) = self.changed(latest.get(&owner), &owner, figures, now)? {
                    batch.push(s);
                }
                seen.insert(owner);
            }
            if batch.len() >= BATCH {
                written += self.ledger.append(&std::mem::take(&mut batch)).await?;
            }
            after = Some(last);
        }
        for (user, last) in &latest {
            if !seen.contains(user)
                && let Some(s) = self.changed(Some(last), user, UsageFigures::ZERO, now)?
            {
                batch.push(s);
            }
        }
        if !batch.is_empty() {
            written += self.ledger.append(&batch).await?;
        }
        Ok(written)
    }

    /// The sample (and event) recording `figures` for `user`, unless its last sample says so.
    fn changed(
        &self,
        last: Option<&UsageSample>,
        user: &str,
        figures: UsageFigures,
        now: i64,
    ) -> Result<Option<(UsageSample, strongroom_audit::AuditEvent)>> {
        let previous = last.map(|s| s.figures).unwrap_or(UsageFigures::ZERO);
        if previous == figures {
            return Ok(None);
        }
        let seq = last.map_or(1, |s| s.seq + 1);
        let event = self
            .guard
            .system_ctx()
            .event("usage.changed", "user", user)
            .attr("seq", seq)
            .attr("usage", figures_json(&figures))
            .attr("previous", figures_json(&previous))
            .build()?;
        Ok(Some((
            UsageSample {
                user_id: user.to_owned(),
                seq,
                at: now,
                figures,
            },
            event,
        )))
    }

    /// A page of the usage export of `from..to` (microseconds; `to` is capped at now): up to
    /// `accounts` accounts whose id sorts after `after`. Administrators only; recorded as
    /// `usage.exported`.
    pub async fn export(
        &self,
        ctx: &Ctx,
        from: i64,
        to: i64,
        after: Option<&str>,
        accounts: usize,
    ) -> Result<UsageExport> {
        self.guard.authorize_platform(ctx, "administer").await?;
        if !(1..=1000).contains(&accounts) {
            return Err(Error::BadRequest(
                "limit must be between 1 and 1000 accounts".into(),
            ));
        }
        if from >= to {
            return Err(Error::BadRequest("from must be before to".into()));
        }
        if to - from > MAX_PERIOD_MICROS {
            return Err(Error::BadRequest(
                "an export covers at most 366 days; ask for several".into(),
            ));
        }
        let now = self.guard.now();
        let end = to.min(now);
        if end <= from {
            return Err(Error::BadRequest("the period has not started yet".into()));
        }
        // One account more than asked: whether there is a next page.
        let samples = self.ledger.history(from, end, after, accounts + 1).await?;
        let mut groups: Vec<&[UsageSample]> =
            samples.chunk_by(|a, b| a.user_id == b.user_id).collect();
        let next = (groups.len() > accounts).then(|| groups[accounts - 1][0].user_id.clone());
        groups.truncate(accounts);
        let mut rows = Vec::new();
        for group in groups {
            if let Some(mut row) = integrate(group, from, end) {
                row.email = self
                    .users
                    .get(UserKey::Id(&row.user_id))
                    .await?
                    .map(|u| u.email);
                rows.push(row);
            }
        }
        let stamp = |t: i64| {
            jiff::Timestamp::from_microsecond(t)
                .map(|t| t.to_string())
                .map_err(|e| Error::Internal(format!("time: {e}")))
        };
        let (from_s, to_s) = (stamp(from)?, stamp(end)?);
        let event = ctx
            .event("usage.exported", "platform", "usage")
            .attr("from", from_s.clone())
            .attr("to", to_s.clone())
            .attr("accounts", rows.len())
            .build()?;
        self.guard.record(&event).await?;
        Ok(UsageExport {
            from: from_s,
            to: to_s,
            accounts: rows,
            next,
        })
    }
}

fn figures_json(f: &UsageFigures) -> serde_json::Value {
    serde_json::json!({
        "files": f.files,
        "versions": f.versions,
        "logical_bytes": f.logical_bytes,
        "stored_bytes": f.stored_bytes,
        "trash_files": f.trash_files,
        "trash_bytes": f.trash_bytes,
    })
}

/// One account's row from its samples (its last before `from`, then those in `from..end`, in
/// order); `None` when it held nothing at any time in the period.
fn integrate(samples: &[UsageSample], from: i64, end: i64) -> Option<UsageRow> {
    let first = samples.first()?;
    let mut current = if first.at < from {
        first.figures
    } else {
        UsageFigures::ZERO
    };
    let (mut t, mut logical, mut stored) = (from, 0u128, 0u128);
    let mut peak = current;
    for s in samples.iter().filter(|s| s.at >= from && s.at < end) {
        let held = (s.at - t).max(0) as u128;
        logical += u128::from(current.logical_bytes) * held;
        stored += u128::from(current.stored_bytes) * held;
        current = s.figures;
        t = s.at;
        peak.files = peak.files.max(current.files);
        peak.logical_bytes = peak.logical_bytes.max(current.logical_bytes);
        peak.stored_bytes = peak.stored_bytes.max(current.stored_bytes);
    }
    let held = (end - t).max(0) as u128;
    logical += u128::from(current.logical_bytes) * held;
    stored += u128::from(current.stored_bytes) * held;
    if peak.files == 0 && peak.logical_bytes == 0 && peak.stored_bytes == 0 {
        return None;
    }
    let span = (end - from).max(1) as u128;
    let clamp = |v: u128| v.min(u128::from(u64::MAX)) as u64;
    Some(UsageRow {
        user_id: first.user_id.clone(),
        email: None,
        files: current.files,
        versions: current.versions,
        logical_bytes: current.logical_bytes,
        stored_bytes: current.stored_bytes,
        trash_bytes: current.trash_bytes,
        peak_files: peak.files,
        peak_logical_bytes: peak.logical_bytes,
        peak_stored_bytes: peak.stored_bytes,
        logical_byte_hours: clamp(logical / HOUR_MICROS),
        stored_byte_hours: clamp(stored / HOUR_MICROS),
        avg_logical_bytes: clamp(logical / span),
        avg_stored_bytes: clamp(stored / span),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3600 * 1_000_000;

    fn at(seq: i64, at: i64, bytes: u64) -> UsageSample {
        UsageSample {
            user_id: "u".into(),
            seq,
            at,
            figures: UsageFigures {
                files: 1,
                logical_bytes: bytes,
                stored_bytes: bytes / 2,
                ..UsageFigures::ZERO
            },
        }
    }

    #[test]
    fn integrates_the_step_function_over_the_period() {
        // 100 bytes from before the period, 300 from hour 2, nothing from hour 3; period 0..4h.
        let mut gone = at(3, 3 * H, 0);
        gone.figures = UsageFigures::ZERO;
        let row = integrate(&[at(1, -H, 100), at(2, 2 * H, 300), gone], 0, 4 * H).unwrap();
        assert_eq!(row.logical_byte_hours, 100 * 2 + 300);
        assert_eq!(row.stored_byte_hours, 50 * 2 + 150);
        assert_eq!(row.avg_logical_bytes, 500 / 4);
        assert_eq!((row.peak_logical_bytes, row.peak_files), (300, 1));
        assert_eq!((row.logical_bytes, row.files), (0, 0), "the end state");
    }

    #[test]
    fn usage_starting_inside_the_period_counts_from_its_sample() {
        let row = integrate(&[at(1, H, 1000)], 0, 2 * H).unwrap();
        assert_eq!(row.logical_byte_hours, 1000);
        assert_eq!(row.avg_logical_bytes, 500);
    }

    #[test]
    fn an_account_that_held_nothing_has_no_row() {
        let mut zero = at(2, -H, 0);
        zero.figures = UsageFigures::ZERO;
        assert!(integrate(&[zero], 0, H).is_none());
    }

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("a@b.c"), "a@b.c");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
        assert_eq!(csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
    }
}
