//! Prometheus Alertmanager webhook notifications (payload `version: "4"`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::{EntryKind, TimelineEntry, TimelineSource, ZonedTime};
use crate::error::{Error, InputFormat, Result};
use crate::parse::strip_json_position;

/// Label names read, in order, for the service an alert belongs to.
const SERVICE_LABELS: &[&str] = &["service", "app", "job"];

/// Alerts from Alertmanager webhook payloads.
///
/// The input is what a webhook receiver saved: one payload, a JSON array of payloads, or
/// several payloads one after another (JSON lines). Each alert yields a "firing" entry at
/// `startsAt` and, when its status is `resolved`, a "resolved" entry at `endsAt`. Repeated
/// notifications of the same alert (Alertmanager re-sends every `repeat_interval`) are the
/// same entries, identified by fingerprint and start time, and are deduplicated.
///
/// The service is the first of the labels `service`, `app`, `job` that is set.
#[derive(Debug, Clone)]
pub struct AlertmanagerSource {
    entries: Vec<TimelineEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    version: String,
    #[allow(
        dead_code,
        reason = "required by the format; per-alert status is what counts"
    )]
    status: String,
    alerts: Vec<Alert>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Alert {
    status: String,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    starts_at: ZonedTime,
    #[serde(default)]
    ends_at: Option<ZonedTime>,
    #[serde(default)]
    fingerprint: Option<String>,
}

impl AlertmanagerSource {
    /// Parses saved webhook payloads; `origin` names them in errors.
    pub fn from_json(text: &str, origin: &str) -> Result<Self> {
        let malformed = |e: serde_json::Error| Error::Malformed {
            origin: origin.to_owned(),
            format: InputFormat::Json,
            line: (e.line() > 0).then_some(e.line() as u64),
            column: (e.column() > 0).then_some(e.column() as u64),
            message: strip_json_position(&e.to_string()),
        };
        let mut payloads = Vec::new();
        let trimmed = text.trim_start();
        if trimmed.starts_with('[') {
            payloads = serde_json::from_str::<Vec<Payload>>(text).map_err(malformed)?;
        } else {
            for payload in serde_json::Deserializer::from_str(text).into_iter::<Payload>() {
                payloads.push(payload.map_err(malformed)?);
            }
        }
        if payloads.is_empty() {
            return Err(Error::Malformed {
                origin: origin.to_owned(),
                format: InputFormat::Json,
                line: None,
                column: None,
                message: "no Alertmanager payload found".into(),
            });
        }
        let mut entries = Vec::new();
        for (index, payload) in payloads.into_iter().enumerate() {
            if payload.version != "4" {
                return Err(Error::Malformed {
                    origin: origin.to_owned(),
                    format: InputFormat::Json,
                    line: None,
                    column: None,
                    message: format!(
                        "payload {} has version `{}`; only Alertmanager webhook version `4` is understood",
                        index + 1,
                        payload.version
                    ),
                });
            }
            for alert in payload.alerts {
                alert_entries(alert, &mut entries);
            }
        }
        Ok(Self { entries })
    }

    /// Reads saved payloads from a file.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_json(&text, &path.display().to_string())
    }
}

impl TimelineSource for AlertmanagerSource {
    fn name(&self) -> &str {
        "alertmanager"
    }

    fn entries(&self) -> Result<Vec<TimelineEntry>> {
        Ok(self.entries.clone())
    }
}

fn alert_entries(alert: Alert, out: &mut Vec<TimelineEntry>) {
    let name = alert
        .labels
        .get("alertname")
        .cloned()
        .unwrap_or_else(|| "alert".to_owned());
    // Alertmanager fingerprints are a hash of the label set; payloads from other senders may
    // omit them, and the label set itself is an equally stable identity.
    let fingerprint = alert.fingerprint.clone().unwrap_or_else(|| {
        alert
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    });
    let service = SERVICE_LABELS
        .iter()
        .find_map(|l| alert.labels.get(*l))
        .cloned();
    let mut detail = alert
        .annotations
        .get("summary")
        .or_else(|| alert.annotations.get("description"))
        .map(|s| format!(": {}", s.trim()))
        .unwrap_or_default();
    if let Some(severity) = alert.labels.get("severity") {
        detail.push_str(&format!(" (severity {severity})"));
    }
    let start = alert.starts_at.0;
    out.push(
        TimelineEntry::new(
            start,
            EntryKind::AlertFiring,
            format!("alert:{fingerprint}:{start}:firing"),
            format!("Alert `{name}` firing{detail}"),
        )
        .with_service(service.clone())
        .with_source("alertmanager"),
    );
    // Firing alerts carry either the zero time (0001-01-01) or a provisional end in the
    // future; only a resolved alert's endsAt is a real event.
    if alert.status.eq_ignore_ascii_case("resolved")
        && let Some(end) = alert.ends_at.map(|e| e.0).filter(|e| *e >= start)
    {
        out.push(
            TimelineEntry::new(
                end,
                EntryKind::AlertResolved,
                format!("alert:{fingerprint}:{start}:resolved"),
                format!("Alert `{name}` resolved"),
            )
            .with_service(service)
            .with_source("alertmanager"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRING: &str = r#"{
  "version": "4",
  "groupKey": "{}:{alertname=\"HighErrorRate\"}",
  "truncatedAlerts": 0,
  "status": "firing",
  "receiver": "postmortem",
  "groupLabels": {"alertname": "HighErrorRate"},
  "commonLabels": {"alertname": "HighErrorRate", "service": "files-api"},
  "commonAnnotations": {},
  "externalURL": "http://alertmanager:9093",
  "alerts": [{
    "status": "firing",
    "labels": {"alertname": "HighErrorRate", "service": "files-api", "severity": "page"},
    "annotations": {"summary": "5xx above 5%"},
    "startsAt": "2025-03-14T09:09:30Z",
    "endsAt": "0001-01-01T00:00:00Z",
    "generatorURL": "http://prometheus:9090/graph",
    "fingerprint": "c0ffee"
  }]
}"#;

    #[test]
    fn firing_then_resolved_and_repeats_share_keys() {
        let resolved = FIRING
            .replace("\"status\": \"firing\"", "\"status\": \"resolved\"")
            .replace("0001-01-01T00:00:00Z", "2025-03-14T09:45:00Z");
        let text = format!("{FIRING}\n{FIRING}\n{resolved}");
        let entries = AlertmanagerSource::from_json(&text, "alerts.json")
            .unwrap()
            .entries()
            .unwrap();
        // firing twice (a repeat) + firing and resolved from the last payload
        assert_eq!(entries.len(), 4);
        assert_eq!(entries[0].key, entries[1].key);
        let last = entries.last().unwrap();
        assert_eq!(last.kind, EntryKind::AlertResolved);
        assert_eq!(last.time.to_string(), "2025-03-14T09:45:00Z");
        assert_eq!(entries[0].service.as_deref(), Some("files-api"));
        assert!(entries[0].text.contains("5xx above 5%"));
    }

    #[test]
    fn arrays_of_payloads_are_accepted() {
        let text = format!("[{FIRING}, {FIRING}]");
        let source = AlertmanagerSource::from_json(&text, "alerts.json").unwrap();
        assert_eq!(source.entries().unwrap().len(), 2);
    }

    #[test]
    fn bad_payloads_are_refused_with_lines() {
        let broken = FIRING.replace("\"alerts\": [{", "\"alerts\": [{,");
        let err = AlertmanagerSource::from_json(&broken, "alerts.json").unwrap_err();
        assert!(
            matches!(err, Error::Malformed { line: Some(11), .. }),
            "{err}"
        );

        let local = FIRING.replace("09:09:30Z", "09:09:30");
        let err = AlertmanagerSource::from_json(&local, "alerts.json").unwrap_err();
        assert!(
            matches!(err, Error::Malformed { line: Some(15), .. }),
            "{err}"
        );
        assert!(err.to_string().contains("no time zone"), "{err}");

        let v3 = FIRING.replace("\"version\": \"4\"", "\"version\": \"3\"");
        assert!(
            AlertmanagerSource::from_json(&v3, "a")
                .unwrap_err()
                .to_string()
                .contains("version `3`")
        );
        assert!(AlertmanagerSource::from_json("  ", "a").is_err());
    }
}
