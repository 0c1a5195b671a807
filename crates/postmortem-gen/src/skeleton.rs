//! A fresh incident file to fill in.

use jiff::Timestamp;

use crate::error::{Error, Result};
use crate::incident::Severity;

/// A YAML incident with every section present and commented, ready to fill in; it parses as
/// is, and lint then lists what is still missing.
///
/// `id` and `title` must be non-empty single lines.
pub fn incident_skeleton(
    id: &str,
    title: &str,
    severity: Severity,
    start: Timestamp,
) -> Result<String> {
    for (name, value) in [("id", id), ("title", title)] {
        if value.trim().is_empty() || value.contains(['\n', '\r']) {
            return Err(Error::InvalidArgument(format!(
                "the incident {name} must be a non-empty single line"
            )));
        }
    }
    // JSON strings are valid YAML double-quoted scalars: this quotes any title safely.
    let quote = |s: &str| serde_json::Value::from(s.trim()).to_string();
    Ok(format!(
        r#"# Incident record for strongroom-postmortem. Times are RFC 3339 and need a zone (Z or +hh:mm).
# Render:  strongroom-postmortem render this.yaml --audit audit.jsonl --alerts alerts.json
# Check:   strongroom-postmortem lint this.yaml
id: {id}
title: {title}
severity: {severity}          # SEV1 (worst) .. SEV5
status: investigating  # investigating | identified | mitigated | monitoring | resolved | closed
start: {start}   # impact began
# detected:            # when it was noticed (inferred from the first alert when absent)
# acknowledged:        # when a responder took it
# mitigated:           # when impact stopped
# resolved:            # when it was over
services: []
owners: []

summary: |
impact: |
trigger: |
detection: |
resolution: |

root_causes: []
#  - summary: A config push removed the EU bucket's read policy.
#    five_whys:
#      - Why did downloads fail? The gateway got 403 from storage.
#      - Why 403? ...

action_items: []
#  - title: Validate bucket policies in CI
#    kind: prevent       # mitigate | prevent | detect | process | other
#    owner: alice
#    priority: P1        # P0 .. P3
#    due: 2025-04-01
#    ticket: OPS-123
#    status: open        # open | in progress | done | won't do

lessons:
  went_well: []
  went_wrong: []
  got_lucky: []

notes: []
#  - time: 2025-03-14T09:15:00Z
#    text: Rolled back deploy 4711
#    service: files-api

# Which audit events count as affected users/resources (empty: all during the incident).
affected:
  actions: []     # prefixes, e.g. file.downloaded
  outcomes: []    # e.g. failure, denied
"#,
        id = quote(id),
        title = quote(title),
        severity = severity,
        start = start,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Incident;

    #[test]
    fn skeleton_parses_back() {
        let start: Timestamp = "2025-03-14T09:02:00Z".parse().unwrap();
        let text =
            incident_skeleton("INC-1", "Downloads \"fail\": EU #1", Severity::Sev2, start).unwrap();
        let incident = Incident::from_yaml_str(&text).unwrap();
        assert_eq!(incident.id, "INC-1");
        assert_eq!(incident.title, "Downloads \"fail\": EU #1");
        assert_eq!(incident.severity, Severity::Sev2);
        assert_eq!(incident.start, start);
        assert!(incident.summary.is_none());
    }

    #[test]
    fn refuses_multiline_or_empty_titles() {
        let start = Timestamp::UNIX_EPOCH;
        assert!(incident_skeleton("INC-1", "a\nb", Severity::Sev3, start).is_err());
        assert!(incident_skeleton(" ", "t", Severity::Sev3, start).is_err());
    }
}
