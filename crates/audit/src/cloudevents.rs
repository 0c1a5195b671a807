use serde_json::{Map, Value};

use crate::{AuditEvent, Error, Result};

/// The CloudEvents `source` attribute this crate writes.
pub const CLOUDEVENTS_SOURCE: &str = "/strongroom/audit";

/// The media type of a CloudEvent in structured JSON mode.
pub const CLOUDEVENTS_CONTENT_TYPE: &str = "application/cloudevents+json";

impl AuditEvent {
    /// This event as a CloudEvents 1.0 JSON object (structured mode).
    ///
    /// `id` is the event id, `type` the action, `time` RFC 3339, `subject` is `"<type>/<id>"` of the
    /// resource, `source` is [`CLOUDEVENTS_SOURCE`], and `data` (`application/json`) holds actor,
    /// resource, outcome, client details and attributes.
    pub fn to_cloudevent(&self) -> Value {
        let Value::Object(mut data) = serde_json::to_value(self).unwrap_or_default() else {
            return Value::Null;
        };
        let id = data.remove("id").unwrap_or_default();
        let time = data.remove("time").unwrap_or_default();
        let kind = data.remove("action").unwrap_or_default();
        let mut ce = Map::new();
        ce.insert("specversion".into(), "1.0".into());
        ce.insert("id".into(), id);
        ce.insert("source".into(), CLOUDEVENTS_SOURCE.into());
        ce.insert("type".into(), kind);
        ce.insert("time".into(), time);
        ce.insert(
            "subject".into(),
            format!("{}/{}", self.resource().kind, self.resource().id).into(),
        );
        ce.insert("datacontenttype".into(), "application/json".into());
        ce.insert("data".into(), Value::Object(data));
        Value::Object(ce)
    }

    /// [`to_cloudevent`](Self::to_cloudevent) serialized to a string.
    pub fn to_cloudevent_json(&self) -> String {
        self.to_cloudevent().to_string()
    }

    /// Parses a CloudEvents 1.0 JSON object written by [`to_cloudevent`](Self::to_cloudevent) (or by
    /// another producer following the same data layout), validating every field.
    ///
    /// Refused with [`Error::Malformed`]: another `specversion`, a missing `id`, `source` or `type`,
    /// a non-JSON `datacontenttype`, `data_base64`, or `data` that is not an object; fields that
    /// fail validation give [`Error::Invalid`] or [`Error::EventTooLarge`].
    pub fn from_cloudevent(value: &Value) -> Result<AuditEvent> {
        let bad = |reason: &str| Error::malformed("CloudEvent", reason);
        let ce = value.as_object().ok_or_else(|| bad("not a JSON object"))?;
        if ce.get("specversion").and_then(Value::as_str) != Some("1.0") {
            return Err(bad("specversion must be \"1.0\""));
        }
        for required in ["id", "source", "type"] {
            match ce.get(required).and_then(Value::as_str) {
                Some(s) if !s.is_empty() => {}
                _ => return Err(bad("id, source and type must be non-empty strings")),
            }
        }
        if let Some(ct) = ce.get("datacontenttype") {
            let ct = ct
                .as_str()
                .ok_or_else(|| bad("datacontenttype must be a string"))?;
            let essence = ct
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if essence != "application/json" && !essence.ends_with("+json") {
                return Err(bad("datacontenttype must be JSON"));
            }
        }
        if ce.contains_key("data_base64") {
            return Err(bad(
                "data_base64 is not supported: data must be a JSON object",
            ));
        }
        let Some(Value::Object(data)) = ce.get("data") else {
            return Err(bad("data must be a JSON object"));
        };
        let mut event = data.clone();
        event.insert("id".into(), ce["id"].clone());
        event.insert("action".into(), ce["type"].clone());
        let time = ce
            .get("time")
            .ok_or_else(|| bad("time is required for audit events"))?;
        event.insert("time".into(), time.clone());
        AuditEvent::from_value(Value::Object(event))
    }

    /// Parses a CloudEvents 1.0 JSON string; see [`from_cloudevent`](Self::from_cloudevent).
    pub fn from_cloudevent_json(json: &str) -> Result<AuditEvent> {
        let value: Value =
            serde_json::from_str(json).map_err(|e| Error::malformed("CloudEvent", e))?;
        AuditEvent::from_cloudevent(&value)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::{Actor, AuditEvent, Error, Outcome, Resource};

    #[test]
    fn cloudevent_round_trip() {
        let event = AuditEvent::builder(
            Actor::Service("indexer".into()),
            "file.scanned",
            Resource::new("file", "f9").unwrap(),
        )
        .outcome(Outcome::Denied)
        .ip("2001:db8::1".parse().unwrap())
        .attribute("engine", "clamav")
        .build()
        .unwrap();
        let ce = event.to_cloudevent();
        assert_eq!(ce["specversion"], "1.0");
        assert_eq!(ce["type"], "file.scanned");
        assert_eq!(ce["subject"], "file/f9");
        assert_eq!(ce["id"], event.id().to_string());
        assert_eq!(ce["data"]["outcome"], "denied");
        let back = AuditEvent::from_cloudevent_json(&event.to_cloudevent_json()).unwrap();
        assert_eq!(back, event);
    }

    #[test]
    fn foreign_cloudevent_with_nanoseconds_and_extension_attributes_parses() {
        let ce = json!({
            "specversion": "1.0", "id": "0190f2b4-7b1c-7cc4-9a6e-6f1f3c2b9e01", "source": "https://other.example/x",
            "type": "auth.login", "time": "2026-03-04T05:06:07.123456789+02:00", "someextension": "x",
            "data": {"actor": {"kind": "user", "id": "alice"}, "resource": {"type": "user", "id": "alice"}, "outcome": "success"}
        });
        let e = AuditEvent::from_cloudevent(&ce).unwrap();
        assert_eq!(e.action(), "auth.login");
        assert_eq!(e.time().to_string(), "2026-03-04T03:06:07.123456Z");
        assert!(e.attributes().is_empty());
    }

    #[test]
    fn malformed_cloudevents_are_refused() {
        let good = AuditEvent::builder(Actor::Anonymous, "a.b", Resource::new("x", "1").unwrap())
            .build()
            .unwrap()
            .to_cloudevent();
        let mutate = |f: &dyn Fn(&mut serde_json::Map<String, serde_json::Value>)| {
            let mut v = good.clone();
            f(v.as_object_mut().unwrap());
            AuditEvent::from_cloudevent(&v)
        };
        assert!(matches!(
            mutate(&|m| {
                m.insert("specversion".into(), "0.3".into());
            }),
            Err(Error::Malformed { .. })
        ));
        assert!(matches!(
            mutate(&|m| {
                m.remove("source");
            }),
            Err(Error::Malformed { .. })
        ));
        assert!(matches!(
            mutate(&|m| {
                m.insert("data".into(), json!("text"));
            }),
            Err(Error::Malformed { .. })
        ));
        assert!(matches!(
            mutate(&|m| {
                m.insert("datacontenttype".into(), "text/plain".into());
            }),
            Err(Error::Malformed { .. })
        ));
        assert!(matches!(
            mutate(&|m| {
                m.insert("type".into(), "NotDotted".into());
            }),
            Err(Error::Invalid {
                field: "action",
                ..
            })
        ));
        assert!(matches!(
            AuditEvent::from_cloudevent_json("[1"),
            Err(Error::Malformed { .. })
        ));
    }
}
