//! Custom fields on files: typed values (string, number, boolean, date) set by whoever may
//! write the file, checked against the owning team's schema when it has one.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::files::{FileMeta, Files};
use super::teams::Teams;
use super::{Ctx, Guard};
use crate::error::{Error, Result};
use crate::store::{DynFieldStore, FieldChanges, FieldDef, FieldKind, FieldValue};

/// Fields one file holds at most.
pub const MAX_FIELDS: usize = 50;
/// Characters a text value holds at most.
pub const MAX_TEXT: usize = 1000;
/// Fields a schema declares at most.
pub const MAX_SCHEMA: usize = 100;

/// One declared field of a team's schema.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct FieldSpec {
    /// The key (letters, digits, `_`, `-`, `.`; at most 64).
    pub key: String,
    /// `string`, `number`, `boolean` or `date`.
    #[serde(rename = "type")]
    pub kind: String,
    /// For strings: the values allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices: Option<Vec<String>>,
    /// What it is for.
    #[serde(default)]
    pub description: String,
}

/// A field key: 1 to 64 letters, digits, `_`, `-` or `.`, starting with a letter or digit.
pub fn key(k: &str) -> Result<String> {
    let ok = !k.is_empty()
        && k.len() <= 64
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
        && k.as_bytes()[0].is_ascii_alphanumeric();
    if !ok {
        return Err(Error::Invalid(format!(
            "invalid field key {k:?}: 1 to 64 letters, digits, '_', '-' or '.', starting with a letter or digit"
        )));
    }
    Ok(k.to_owned())
}

/// A date: RFC 3339 (`2026-12-31T09:30:00Z`) or a day (`2026-12-31`, midnight UTC); in
/// microseconds since the epoch.
pub fn date(text: &str) -> Result<i64> {
    if let Ok(t) = text.parse::<jiff::Timestamp>() {
        return Ok(t.as_microsecond());
    }
    if text.parse::<jiff::civil::Date>().is_ok()
        && let Ok(t) = format!("{text}T00:00:00Z").parse::<jiff::Timestamp>()
    {
        return Ok(t.as_microsecond());
    }
    Err(Error::Invalid(format!(
        "invalid date {text:?}: use RFC 3339 (2026-12-31T09:30:00Z) or a day (2026-12-31)"
    )))
}

fn text(s: &str) -> Result<String> {
    if s.chars().count() > MAX_TEXT || s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(Error::Invalid(format!(
            "a text field holds at most {MAX_TEXT} characters, no control characters"
        )));
    }
    Ok(s.to_owned())
}

fn number(n: &serde_json::Number) -> Result<f64> {
    n.as_f64()
        .filter(|f| f.is_finite())
        .ok_or_else(|| Error::Invalid("a number field holds a finite number".into()))
}

/// A value from JSON: a string, number or boolean (a string is a date when `declared` says
/// so), or `{"type": …, "value": …}`.
pub fn value(v: &serde_json::Value, declared: Option<FieldKind>) -> Result<FieldValue> {
    use serde_json::Value as J;
    Ok(match v {
        J::String(s) if declared == Some(FieldKind::Date) => FieldValue::Date(date(s)?),
        J::String(s) => FieldValue::String(text(s)?),
        J::Number(n) => FieldValue::Number(number(n)?),
        J::Bool(b) => FieldValue::Boolean(*b),
        J::Object(o) => {
            let kind = o
                .get("type")
                .and_then(J::as_str)
                .and_then(FieldKind::parse)
                .ok_or_else(|| {
                    Error::Invalid(
                        "a typed field is {\"type\": \"string\"|\"number\"|\"boolean\"|\"date\", \"value\": …}".into(),
                    )
                })?;
            let inner = o.get("value").unwrap_or(&J::Null);
            match (kind, inner) {
                (FieldKind::String, J::String(s)) => FieldValue::String(text(s)?),
                (FieldKind::Date, J::String(s)) => FieldValue::Date(date(s)?),
                (FieldKind::Number, J::Number(n)) => FieldValue::Number(number(n)?),
                (FieldKind::Boolean, J::Bool(b)) => FieldValue::Boolean(*b),
                _ => {
                    return Err(Error::Invalid(format!(
                        "the value does not match its type {:?}",
                        kind.name()
                    )));
                }
            }
        }
        _ => {
            return Err(Error::Invalid(
                "a field value is a string, number, boolean or {\"type\", \"value\"}; null removes it".into(),
            ));
        }
    })
}

/// Custom fields and team schemas.
#[derive(Debug, Clone)]
pub struct Fields {
    store: Arc<DynFieldStore>,
    files: Files,
    teams: Teams,
    guard: Guard,
}

impl Fields {
    /// Over the field store, authorizing through the file and team services.
    pub fn new(store: Arc<DynFieldStore>, files: Files, teams: Teams, guard: Guard) -> Fields {
        Fields {
            store,
            files,
            teams,
            guard,
        }
    }

    /// Sets fields of a file (`null` removes one), after authorizing `write` on it; the file's
    /// metadata with its fields.
    pub async fn change(
        &self,
        ctx: &Ctx,
        id: &str,
        patch: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<FileMeta> {
        let file = self.files.authorize_on(ctx, "write", id).await?;
        if patch.is_empty() {
            return Err(Error::Invalid(
                "nothing to change: give an object of fields (null removes one)".into(),
            ));
        }
        let schema = self.store.schema(&file.owner_id).await?;
        let mut changes = FieldChanges::default();
        for (k, v) in patch {
            let k = key(k)?;
            if v.is_null() {
                changes.unset.push(k);
                continue;
            }
            let declared = schema.iter().find(|d| d.key == k).map(|d| d.kind);
            let value = value(v, declared).map_err(|e| match e {
                Error::Invalid(m) => Error::Invalid(format!("field {k:?}: {m}")),
                e => e,
            })?;
            changes.set.insert(k, value);
        }
        let existing = self
            .store
            .of_files(&[&file.id])
            .await?
            .remove(&file.id)
            .unwrap_or_default();
        let after = existing
            .keys()
            .filter(|k| !changes.unset.contains(k))
            .chain(changes.set.keys())
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        if after > MAX_FIELDS {
            return Err(Error::Invalid(format!(
                "a file holds at most {MAX_FIELDS} fields"
            )));
        }
        let keys: Vec<&String> = changes.set.keys().chain(&changes.unset).collect();
        let event = ctx
            .event("file.fields_changed", "file", &file.id)
            .attr("keys", serde_json::to_value(keys).unwrap_or_default())
            .build()?;
        match self
            .store
            .change(&file.id, &changes, self.guard.now(), &event)
            .await
        {
            Err(crate::store::Error::NotFound) => {
                return Err(Error::NotFound("no such file".into()));
            }
            other => other?,
        }
        self.files.meta(ctx, &file.id).await
    }

    /// A team's field schema (empty: none), for its members.
    pub async fn schema(&self, ctx: &Ctx, team: &str) -> Result<Vec<FieldSpec>> {
        let t = self.teams.authorized_team(ctx, "view_team", team).await?;
        Ok(self
            .store
            .schema(&t.id)
            .await?
            .into_iter()
            .map(spec)
            .collect())
    }

    /// Replaces a team's field schema (an empty one removes it), for its admins. Values already
    /// set stay; new writes keep to the schema.
    pub async fn set_schema(
        &self,
        ctx: &Ctx,
        team: &str,
        specs: &[FieldSpec],
    ) -> Result<Vec<FieldSpec>> {
        let t = self.teams.authorized_team(ctx, "manage_team", team).await?;
        if specs.len() > MAX_SCHEMA {
            return Err(Error::Invalid(format!(
                "a schema declares at most {MAX_SCHEMA} fields"
            )));
        }
        let mut defs: BTreeMap<String, FieldDef> = BTreeMap::new();
        for s in specs {
            let k = key(&s.key)?;
            let kind = FieldKind::parse(&s.kind).ok_or_else(|| {
                Error::Invalid(format!(
                    "field {k:?}: type is string, number, boolean or date, not {:?}",
                    s.kind
                ))
            })?;
            if let Some(c) = &s.choices {
                if kind != FieldKind::String || c.is_empty() || c.len() > 100 {
                    return Err(Error::Invalid(format!(
                        "field {k:?}: choices are 1 to 100 values of a string field"
                    )));
                }
                for v in c {
                    text(v)?;
                }
            }
            if s.description.chars().count() > 500 {
                return Err(Error::Invalid(format!(
                    "field {k:?}: a description is at most 500 characters"
                )));
            }
            let def = FieldDef {
                key: k.clone(),
                kind,
                choices: s.choices.clone(),
                description: s.description.clone(),
            };
            if defs.insert(k.clone(), def).is_some() {
                return Err(Error::Invalid(format!("field {k:?} is declared twice")));
            }
        }
        let defs: Vec<FieldDef> = defs.into_values().collect();
        let event = ctx
            .event("team.fields_schema_set", "team", &t.id)
            .attr(
                "keys",
                serde_json::to_value(defs.iter().map(|d| d.key.as_str()).collect::<Vec<_>>())
                    .unwrap_or_default(),
            )
            .build()?;
        self.store.set_schema(&t.id, &defs, &event).await?;
        Ok(defs.into_iter().map(spec).collect())
    }
}

fn spec(d: FieldDef) -> FieldSpec {
    FieldSpec {
        key: d.key,
        kind: d.kind.name().to_owned(),
        choices: d.choices,
        description: d.description,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_typed() {
        assert_eq!(
            value(&json!("x"), None).unwrap(),
            FieldValue::String("x".into())
        );
        assert_eq!(value(&json!(2.5), None).unwrap(), FieldValue::Number(2.5));
        assert_eq!(
            value(&json!(true), None).unwrap(),
            FieldValue::Boolean(true)
        );
        assert_eq!(
            value(&json!("2026-01-01"), Some(FieldKind::Date)).unwrap(),
            FieldValue::Date(1_767_225_600_000_000)
        );
        assert_eq!(
            value(
                &json!({"type": "date", "value": "2026-01-01T00:00:00Z"}),
                None
            )
            .unwrap(),
            FieldValue::Date(1_767_225_600_000_000)
        );
        for bad in [
            json!([1]),
            json!({"type": "number", "value": "1"}),
            json!({"value": 1}),
        ] {
            assert!(value(&bad, None).is_err(), "{bad}");
        }
        assert!(value(&json!("x".repeat(MAX_TEXT + 1)), None).is_err());
        assert!(key("due-date.v2").is_ok());
        for bad in ["", "-x", "a b", &"k".repeat(65)] {
            assert!(key(bad).is_err(), "{bad}");
        }
    }
}
