//! Reading an incident: the permissive source shape, then validation into [`Incident`].
//!
//! YAML is read by serde-saphyr, whose `Spanned` values let every validation problem name its
//! line. JSON is read by serde_json first (its syntax errors are the ones JSON authors expect),
//! then, since JSON is YAML 1.2, once more by serde-saphyr to recover lines for validation.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::error::{Error, InputFormat, Problem, ProblemKind, Result};
use crate::incident::{
    ActionItem, ActionKind, ActionStatus, AffectedFilter, Incident, Lessons, Note, Priority,
    RootCause, Severity, Status,
};
use crate::time::{TimeError, describe, parse_date, parse_timestamp};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIncident {
    id: Spanned<String>,
    title: Spanned<String>,
    severity: Spanned<String>,
    status: Spanned<String>,
    start: Spanned<String>,
    #[serde(default)]
    detected: Option<Spanned<String>>,
    #[serde(default)]
    acknowledged: Option<Spanned<String>>,
    #[serde(default)]
    mitigated: Option<Spanned<String>>,
    #[serde(default, alias = "end")]
    resolved: Option<Spanned<String>>,
    #[serde(default)]
    services: Vec<String>,
    #[serde(default)]
    owners: Vec<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    impact: Option<String>,
    #[serde(default)]
    root_causes: Vec<Spanned<RawRootCause>>,
    #[serde(default)]
    trigger: Option<String>,
    #[serde(default)]
    resolution: Option<String>,
    #[serde(default)]
    detection: Option<String>,
    #[serde(default)]
    action_items: Vec<Spanned<RawActionItem>>,
    #[serde(default)]
    lessons: RawLessons,
    #[serde(default)]
    notes: Vec<Spanned<RawNote>>,
    #[serde(default)]
    affected: RawAffected,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRootCause {
    summary: String,
    #[serde(default)]
    five_whys: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawActionItem {
    #[serde(alias = "action")]
    title: String,
    #[serde(default, alias = "type")]
    kind: Option<Spanned<String>>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    priority: Option<Spanned<String>>,
    #[serde(default)]
    due: Option<Spanned<String>>,
    #[serde(default, alias = "bug")]
    ticket: Option<String>,
    #[serde(default)]
    status: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLessons {
    #[serde(default)]
    went_well: Vec<String>,
    #[serde(default)]
    went_wrong: Vec<String>,
    #[serde(default)]
    got_lucky: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNote {
    time: Spanned<String>,
    text: String,
    #[serde(default)]
    service: Option<String>,
    #[serde(default)]
    author: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAffected {
    #[serde(default)]
    actions: Vec<String>,
    #[serde(default)]
    outcomes: Vec<String>,
}

/// Parses and validates an incident.
pub(crate) fn incident(text: &str, format: InputFormat, origin: &str) -> Result<Incident> {
    let raw: RawIncident = match format {
        InputFormat::Json => {
            let parsed = serde_json::from_str(text).map_err(|e| json_error(&e, origin))?;
            // Same document through the YAML reader only to learn line numbers; if some JSON
            // corner case trips it, the serde_json result is still correct, just line-less.
            serde_saphyr::from_str(text).unwrap_or(parsed)
        }
        _ => serde_saphyr::from_str(text).map_err(|e| yaml_error(&e, origin))?,
    };
    let mut checker = Checker::default();
    let incident = checker.incident(raw);
    match incident {
        Some(incident) if checker.problems.is_empty() => Ok(incident),
        _ => Err(Error::InvalidIncident {
            origin: origin.to_owned(),
            problems: checker.problems,
        }),
    }
}

pub(crate) fn json_error(err: &serde_json::Error, origin: &str) -> Error {
    Error::Malformed {
        origin: origin.to_owned(),
        format: InputFormat::Json,
        line: (err.line() > 0).then_some(err.line() as u64),
        column: (err.column() > 0).then_some(err.column() as u64),
        message: strip_json_position(&err.to_string()),
    }
}

/// serde_json appends " at line L column C" to its messages; the error carries them already.
pub(crate) fn strip_json_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

pub(crate) fn yaml_error(err: &serde_saphyr::Error, origin: &str) -> Error {
    let location = err.location().filter(|l| l.line() > 0);
    let message = err.without_snippet().to_string();
    Error::Malformed {
        origin: origin.to_owned(),
        format: InputFormat::Yaml,
        line: location.map(|l| l.line()),
        column: location.map(|l| l.column()),
        message: strip_yaml_position(&message),
    }
}

/// serde-saphyr ends messages with " at line L, column C"; the error carries them already.
fn strip_yaml_position(message: &str) -> String {
    let first = message.lines().next().unwrap_or(message);
    match first.rfind(" at line ") {
        Some(at) => first[..at].to_owned(),
        None => first.to_owned(),
    }
}

fn position<T>(value: &Spanned<T>) -> (Option<u64>, Option<u64>) {
    let line = value.referenced.line();
    if line == 0 {
        (None, None)
    } else {
        (Some(line), Some(value.referenced.column()))
    }
}

#[derive(Default)]
struct Checker {
    problems: Vec<Problem>,
    lines: BTreeMap<String, u64>,
}

impl Checker {
    fn problem<T>(&mut self, field: &str, at: &Spanned<T>, kind: ProblemKind, message: String) {
        let (line, column) = position(at);
        self.problems.push(Problem {
            field: field.to_owned(),
            line,
            column,
            kind,
            message,
        });
    }

    fn remember<T>(&mut self, field: &str, at: &Spanned<T>) {
        if let (Some(line), _) = position(at) {
            self.lines.insert(field.to_owned(), line);
        }
    }

    fn required_text(&mut self, field: &str, raw: &Spanned<String>) -> String {
        self.remember(field, raw);
        let value = raw.value.trim().to_owned();
        if value.is_empty() {
            self.problem(field, raw, ProblemKind::Empty, "must not be empty".into());
        } else if value.contains(['\n', '\r']) {
            // Both end up in headings and table cells, where a line break ends the element.
            self.problem(
                field,
                raw,
                ProblemKind::InvalidValue,
                "must be a single line".into(),
            );
        }
        value
    }

    fn time(&mut self, field: &str, raw: &Spanned<String>) -> Option<Timestamp> {
        self.remember(field, raw);
        match parse_timestamp(&raw.value) {
            Ok(ts) => Some(ts),
            Err(err) => {
                let kind = match err {
                    TimeError::MissingZone => ProblemKind::MissingZone,
                    TimeError::Invalid(_) => ProblemKind::InvalidTime,
                };
                self.problem(field, raw, kind, describe(&raw.value, &err));
                None
            }
        }
    }

    fn optional_time(&mut self, field: &str, raw: &Option<Spanned<String>>) -> Option<Timestamp> {
        raw.as_ref().and_then(|raw| self.time(field, raw))
    }

    fn word<E: Copy>(
        &mut self,
        field: &str,
        raw: &Spanned<String>,
        parse: fn(&str) -> Option<E>,
        allowed: &[&str],
    ) -> Option<E> {
        self.remember(field, raw);
        let parsed = parse(&raw.value);
        if parsed.is_none() {
            let message = format!(
                "`{}` is not one of {}",
                raw.value,
                allowed
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            self.problem(field, raw, ProblemKind::InvalidValue, message);
        }
        parsed
    }

    fn optional_word<E: Copy>(
        &mut self,
        field: &str,
        raw: &Option<Spanned<String>>,
        parse: fn(&str) -> Option<E>,
        allowed: &[&str],
        default: E,
    ) -> E {
        match raw {
            Some(raw) => self.word(field, raw, parse, allowed).unwrap_or(default),
            None => default,
        }
    }

    fn incident(&mut self, raw: RawIncident) -> Option<Incident> {
        let id = self.required_text("id", &raw.id);
        let title = self.required_text("title", &raw.title);
        let severity = self.word(
            "severity",
            &raw.severity,
            Severity::parse_word,
            Severity::ALL,
        );
        let status = self.word("status", &raw.status, Status::parse_word, Status::ALL);

        let start = self.time("start", &raw.start);
        let detected = self.optional_time("detected", &raw.detected);
        let acknowledged = self.optional_time("acknowledged", &raw.acknowledged);
        let mitigated = self.optional_time("mitigated", &raw.mitigated);
        let resolved = self.optional_time("resolved", &raw.resolved);
        self.check_order(
            &raw,
            [
                ("start", start),
                ("detected", detected),
                ("acknowledged", acknowledged),
                ("mitigated", mitigated),
                ("resolved", resolved),
            ],
        );

        let root_causes = raw
            .root_causes
            .into_iter()
            .enumerate()
            .map(|(i, rc)| {
                self.remember(&format!("root_causes[{i}]"), &rc);
                RootCause {
                    summary: rc.value.summary.trim().to_owned(),
                    five_whys: non_blank(rc.value.five_whys),
                }
            })
            .collect();
        let action_items = raw
            .action_items
            .into_iter()
            .enumerate()
            .map(|(i, item)| self.action_item(i, item))
            .collect();
        let notes = raw
            .notes
            .into_iter()
            .enumerate()
            .filter_map(|(i, note)| self.note(i, note))
            .collect();

        Some(Incident {
            id,
            title,
            severity: severity?,
            status: status?,
            start: start?,
            detected,
            acknowledged,
            mitigated,
            resolved,
            services: non_blank(raw.services),
            owners: non_blank(raw.owners),
            summary: text(raw.summary),
            impact: text(raw.impact),
            root_causes,
            trigger: text(raw.trigger),
            resolution: text(raw.resolution),
            detection: text(raw.detection),
            action_items,
            lessons: Lessons {
                went_well: non_blank(raw.lessons.went_well),
                went_wrong: non_blank(raw.lessons.went_wrong),
                got_lucky: non_blank(raw.lessons.got_lucky),
            },
            notes,
            affected: AffectedFilter::new(
                non_blank(raw.affected.actions),
                non_blank(raw.affected.outcomes),
            ),
            lines: std::mem::take(&mut self.lines),
        })
    }

    /// Milestones must not run backwards: nothing before `start`, acknowledging not before
    /// detecting, resolving not before detecting, mitigating or acknowledging. Mitigation may
    /// precede detection (automatic failover), so that pair is not checked.
    fn check_order(&mut self, raw: &RawIncident, times: [(&str, Option<Timestamp>); 5]) {
        const EARLIER: &[(&str, &[&str])] = &[
            ("detected", &["start"]),
            ("acknowledged", &["start", "detected"]),
            ("mitigated", &["start"]),
            (
                "resolved",
                &["start", "detected", "acknowledged", "mitigated"],
            ),
        ];
        let value = |name: &str| times.iter().find(|(n, _)| *n == name).and_then(|(_, t)| *t);
        for (later, earlier_names) in EARLIER {
            let Some(later_time) = value(later) else {
                continue;
            };
            let broken = earlier_names.iter().find_map(|earlier| {
                value(earlier)
                    .filter(|t| later_time < *t)
                    .map(|t| (*earlier, t))
            });
            if let Some((earlier, earlier_time)) = broken {
                let at = match *later {
                    "detected" => raw.detected.as_ref(),
                    "acknowledged" => raw.acknowledged.as_ref(),
                    "mitigated" => raw.mitigated.as_ref(),
                    _ => raw.resolved.as_ref(),
                };
                let message =
                    format!("{later} ({later_time}) is before {earlier} ({earlier_time})");
                match at {
                    Some(at) => self.problem(later, at, ProblemKind::OutOfOrder, message),
                    None => self.problems.push(Problem {
                        field: (*later).to_owned(),
                        line: None,
                        column: None,
                        kind: ProblemKind::OutOfOrder,
                        message,
                    }),
                }
            }
        }
    }

    fn action_item(&mut self, i: usize, raw: Spanned<RawActionItem>) -> ActionItem {
        let base = format!("action_items[{i}]");
        self.remember(&base, &raw);
        let (line, column) = position(&raw);
        let item = raw.value;
        let title = item.title.trim().to_owned();
        if title.is_empty() {
            self.problems.push(Problem {
                field: format!("{base}.title"),
                line,
                column,
                kind: ProblemKind::Empty,
                message: "must not be empty".into(),
            });
        }
        let due = item.due.as_ref().and_then(|due| {
            let field = format!("{base}.due");
            match parse_date(&due.value) {
                Ok(date) => Some(date),
                Err(why) => {
                    let message =
                        format!("`{}` is not a date like `2025-04-01` ({why})", due.value);
                    self.problem(&field, due, ProblemKind::InvalidTime, message);
                    None
                }
            }
        });
        ActionItem {
            title,
            kind: self.optional_word(
                &format!("{base}.kind"),
                &item.kind,
                ActionKind::parse_word,
                ActionKind::ALL,
                ActionKind::Other,
            ),
            owner: item
                .owner
                .map(|o| o.trim().to_owned())
                .filter(|o| !o.is_empty()),
            priority: self.optional_word(
                &format!("{base}.priority"),
                &item.priority,
                Priority::parse_word,
                Priority::ALL,
                Priority::P2,
            ),
            due,
            ticket: item
                .ticket
                .map(|t| t.trim().to_owned())
                .filter(|t| !t.is_empty()),
            status: self.optional_word(
                &format!("{base}.status"),
                &item.status,
                ActionStatus::parse_word,
                ActionStatus::ALL,
                ActionStatus::Open,
            ),
        }
    }

    fn note(&mut self, i: usize, raw: Spanned<RawNote>) -> Option<Note> {
        let base = format!("notes[{i}]");
        self.remember(&base, &raw);
        let note = raw.value;
        let time = self.time(&format!("{base}.time"), &note.time)?;
        let text = note.text.trim().to_owned();
        if text.is_empty() {
            self.problem(
                &format!("{base}.text"),
                &note.time,
                ProblemKind::Empty,
                "must not be empty".into(),
            );
        }
        Some(Note {
            time,
            text,
            service: note.service.filter(|s| !s.trim().is_empty()),
            author: note.author.filter(|s| !s.trim().is_empty()),
        })
    }
}

fn text(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn non_blank(values: Vec<String>) -> Vec<String> {
    values
        .into_iter()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect()
}
