//! Audit events as the audit crate exports them: JSON lines, each either the native event or
//! its CloudEvents 1.0 form.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use super::{EntryKind, Party, TimelineEntry, TimelineSource, ZonedTime};
use crate::error::{Error, InputFormat, Result};
use crate::parse::strip_json_position;

/// Audit events read from a JSON-lines export.
///
/// Each non-blank line is one event, in either shape:
///
/// - native: `{"id", "time", "actor": {"type", "id"}, "action", "resource": {"type", "id"},
///   "outcome", "ip", "user_agent", "request_id", "attributes"}`;
/// - CloudEvents 1.0: `{"specversion": "1.0", "id", "source", "type", "time", "subject",
///   "data"}`, where `data` holds the native fields; the action is `data.action`, else `type`;
///   the resource is `data.resource`, else `subject` read as `type/id` or `type:id`.
///
/// `id`, `time` (with a zone) and the action are required; unknown fields are ignored so newer
/// exports still load. The service an event belongs to is `attributes.service`.
#[derive(Debug, Clone)]
pub struct AuditSource {
    entries: Vec<TimelineEntry>,
}

impl AuditSource {
    /// Parses an export; `origin` names it in errors (a path or a label).
    pub fn from_json_lines(text: &str, origin: &str) -> Result<Self> {
        let mut entries = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line_no = index as u64 + 1;
            if line.trim().is_empty() {
                continue;
            }
            let malformed = |column: Option<u64>, message: String| Error::Malformed {
                origin: origin.to_owned(),
                format: InputFormat::JsonLines,
                line: Some(line_no),
                column,
                message,
            };
            let value: Value = serde_json::from_str(line).map_err(|e| {
                malformed(
                    (e.column() > 0).then_some(e.column() as u64),
                    strip_json_position(&e.to_string()),
                )
            })?;
            let entry = event_entry(value).map_err(|message| malformed(None, message))?;
            entries.push(entry.with_source("audit"));
        }
        Ok(Self { entries })
    }

    /// Reads an export file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_json_lines(&text, &path.display().to_string())
    }

    /// How many events were read.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the export held no events.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl TimelineSource for AuditSource {
    fn name(&self) -> &str {
        "audit"
    }

    fn entries(&self) -> Result<Vec<TimelineEntry>> {
        Ok(self.entries.clone())
    }
}

#[derive(Deserialize)]
struct NativeEvent {
    id: String,
    time: ZonedTime,
    action: String,
    #[serde(default)]
    actor: Option<Value>,
    #[serde(default)]
    resource: Option<Value>,
    #[serde(default)]
    outcome: Option<Value>,
    #[serde(default)]
    attributes: Option<Value>,
}

#[derive(Deserialize)]
struct CloudEvent {
    specversion: String,
    id: String,
    #[allow(
        dead_code,
        reason = "required by CloudEvents 1.0; checked for presence only"
    )]
    source: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    time: Option<ZonedTime>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    data: Option<Value>,
}

fn event_entry(value: Value) -> std::result::Result<TimelineEntry, String> {
    let is_cloud_event = value.get("specversion").is_some();
    let event = if is_cloud_event {
        let ce: CloudEvent = from_value(value, "CloudEvent")?;
        if ce.specversion != "1.0" {
            return Err(format!(
                "unsupported CloudEvents specversion `{}` (expected `1.0`)",
                ce.specversion
            ));
        }
        let time = ce
            .time
            .ok_or_else(|| format!("CloudEvent `{}` has no `time`", ce.id))?;
        let data = ce.data.unwrap_or(Value::Null);
        let action = data
            .get("action")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or(ce.kind);
        let resource = data
            .get("resource")
            .and_then(party)
            .or_else(|| ce.subject.as_deref().and_then(party_from_str));
        NativeEvent {
            id: ce.id,
            time,
            action,
            actor: data.get("actor").cloned(),
            resource: resource.map(|p| serde_json::json!({"type": p.kind, "id": p.id})),
            outcome: data.get("outcome").cloned(),
            attributes: data.get("attributes").cloned(),
        }
    } else {
        from_value(value, "audit event")?
    };
    if event.id.trim().is_empty() {
        return Err("audit event has an empty `id`".into());
    }
    let action = event.action.trim().to_owned();
    if action.is_empty() {
        return Err(format!("audit event `{}` has an empty action", event.id));
    }
    let actor = event.actor.as_ref().and_then(party);
    let resource = event.resource.as_ref().and_then(party);
    let outcome = event.outcome.as_ref().and_then(outcome);
    let service = event
        .attributes
        .as_ref()
        .and_then(|a| a.get("service"))
        .and_then(Value::as_str)
        .map(str::to_owned);

    let mut text = format!("`{action}`");
    if let Some(actor) = &actor {
        text.push_str(&format!(" by {actor}"));
    }
    if let Some(resource) = &resource {
        text.push_str(&format!(" on {resource}"));
    }
    if let Some(outcome) = &outcome {
        text.push_str(&format!(" ({outcome})"));
    }
    Ok(TimelineEntry::new(
        event.time.0,
        EntryKind::Audit,
        format!("audit:{}", event.id),
        text,
    )
    .with_service(service)
    .with_audit(action, actor, resource, outcome))
}

fn from_value<T: serde::de::DeserializeOwned>(
    value: Value,
    what: &str,
) -> std::result::Result<T, String> {
    serde_json::from_value(value).map_err(|e| format!("invalid {what}: {e}"))
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `{"type": "user", "id": "u-1"}` or `"user:u-1"`.
fn party(value: &Value) -> Option<Party> {
    match value {
        Value::Object(map) => {
            let kind = map
                .get("type")
                .or_else(|| map.get("kind"))
                .and_then(scalar)?;
            Some(Party::new(kind, map.get("id").and_then(scalar)))
        }
        Value::String(s) => party_from_str(s),
        _ => None,
    }
}

fn party_from_str(text: &str) -> Option<Party> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match text.split_once([':', '/']) {
        Some((kind, id)) if !kind.is_empty() && !id.is_empty() => {
            Some(Party::new(kind, Some(id.to_owned())))
        }
        _ => Some(Party::new(text, None)),
    }
}

/// `"failure"` or `{"status": "failure", ...}`.
fn outcome(value: &Value) -> Option<String> {
    match value {
        Value::Object(map) => map
            .get("status")
            .or_else(|| map.get("result"))
            .and_then(scalar),
        other => scalar(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NATIVE: &str = r#"{"id":"01959a3e-0000-7000-8000-000000000001","time":"2025-03-14T09:05:00Z","actor":{"type":"user","id":"u-1"},"action":"file.downloaded","resource":{"type":"file","id":"f-1"},"outcome":"failure","ip":"203.0.113.7","user_agent":"curl/8","request_id":"r-1","attributes":{"service":"files-api"}}"#;
    const CLOUD: &str = r#"{"specversion":"1.0","id":"01959a3e-0000-7000-8000-000000000002","source":"/strongroom/files-api","type":"file.uploaded","time":"2025-03-14T09:06:00+01:00","subject":"file/f-2","data":{"actor":{"type":"user","id":"u-2"},"outcome":"success","attributes":{"service":"files-api"}}}"#;

    #[test]
    fn reads_both_shapes() {
        let text = format!("{NATIVE}\n\n{CLOUD}\n");
        let source = AuditSource::from_json_lines(&text, "export.jsonl").unwrap();
        let entries = source.entries().unwrap();
        assert_eq!(entries.len(), 2);
        let native = &entries[0];
        assert_eq!(native.action.as_deref(), Some("file.downloaded"));
        assert_eq!(native.actor, Some(Party::new("user", Some("u-1".into()))));
        assert_eq!(
            native.resource,
            Some(Party::new("file", Some("f-1".into())))
        );
        assert_eq!(native.outcome.as_deref(), Some("failure"));
        assert_eq!(native.service.as_deref(), Some("files-api"));
        assert_eq!(native.key, "audit:01959a3e-0000-7000-8000-000000000001");
        let cloud = &entries[1];
        assert_eq!(cloud.action.as_deref(), Some("file.uploaded"));
        assert_eq!(cloud.resource, Some(Party::new("file", Some("f-2".into()))));
        assert_eq!(cloud.time.to_string(), "2025-03-14T08:06:00Z");
    }

    #[test]
    fn malformed_line_is_reported_with_its_number() {
        let text = format!("{NATIVE}\n{{\"id\": \"x\",\n");
        let err = AuditSource::from_json_lines(&text, "export.jsonl").unwrap_err();
        assert!(
            matches!(
                err,
                Error::Malformed {
                    line: Some(2),
                    format: InputFormat::JsonLines,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn local_time_is_refused_with_its_line() {
        let bad = NATIVE.replace("09:05:00Z", "09:05:00");
        let text = format!("{NATIVE}\n{NATIVE}\n{bad}\n");
        let err = AuditSource::from_json_lines(&text, "export.jsonl").unwrap_err();
        let Error::Malformed { line, message, .. } = &err else {
            panic!("unexpected {err:?}")
        };
        assert_eq!(*line, Some(3));
        assert!(message.contains("no time zone"), "{message}");
    }

    #[test]
    fn missing_action_and_bad_specversion_are_refused() {
        let no_action = r#"{"id":"a","time":"2025-03-14T09:05:00Z"}"#;
        assert!(matches!(
            AuditSource::from_json_lines(no_action, "x").unwrap_err(),
            Error::Malformed { line: Some(1), .. }
        ));
        let v2 = CLOUD.replace("\"1.0\"", "\"2.0\"");
        let err = AuditSource::from_json_lines(&v2, "x").unwrap_err();
        assert!(err.to_string().contains("specversion"), "{err}");
    }

    #[test]
    fn actor_strings_and_anonymous_actors() {
        assert_eq!(
            party(&serde_json::json!("user:alice")),
            Some(Party::new("user", Some("alice".into())))
        );
        assert_eq!(
            party(&serde_json::json!({"type": "anonymous"})),
            Some(Party::new("anonymous", None))
        );
        assert_eq!(party(&serde_json::json!(42)), None);
    }
}
