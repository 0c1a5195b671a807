//! User attributes: tags (segments such as `contractor`) and typed custom fields (string,
//! number, boolean, date) that administrators set on accounts and policies read as principal
//! attributes (`principal.tags.contains("contractor")`, `principal.clearance >= 3`).
//!
//! The fields an operator may use are declared in the configuration (`[attributes] fields`),
//! because the policy schema must know every attribute a policy reads: policies are checked
//! against it when the server starts, and a value of the wrong type is refused when it is set.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

/// At most this many tags on one account.
pub const MAX_TAGS: usize = 64;
/// At most this many characters in a string field.
pub const MAX_STRING: usize = 256;

/// The type of a custom field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Text (Cedar `String`).
    String,
    /// A whole number (Cedar `Long`).
    Number,
    /// True or false (Cedar `Bool`).
    Boolean,
    /// A point in time, RFC 3339 (Cedar `datetime`).
    Date,
}

impl FieldType {
    /// From its configuration name: `string`, `number`, `boolean` or `date`.
    pub fn parse(name: &str) -> Option<FieldType> {
        match name {
            "string" => Some(FieldType::String),
            "number" => Some(FieldType::Number),
            "boolean" => Some(FieldType::Boolean),
            "date" => Some(FieldType::Date),
            _ => None,
        }
    }

    fn cedar(self) -> &'static str {
        match self {
            FieldType::String => "String",
            FieldType::Number => "Long",
            FieldType::Boolean => "Bool",
            FieldType::Date => "datetime",
        }
    }
}

/// An account's tags and field values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserAttributes {
    /// Tags: 1 to 64 of `a-z 0-9 . _ -` each, at most 64.
    #[serde(default)]
    pub tags: BTreeSet<String>,
    /// Custom field values by name (string, whole number, boolean, or an RFC 3339 date, as the
    /// field is declared).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub fields: BTreeMap<String, Value>,
}

/// The declared custom fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFields(BTreeMap<String, FieldType>);

/// Names a field cannot take: the attributes users have anyway.
const RESERVED: &[&str] = &["email", "tags"];

fn name_ok(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 32
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
}

fn tag_ok(tag: &str) -> bool {
    let b = tag.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"._-".contains(c))
}

impl UserFields {
    /// From the configuration's `name = "type"` table.
    pub fn from_config(fields: &BTreeMap<String, String>) -> Result<UserFields, String> {
        let mut out = BTreeMap::new();
        for (name, ty) in fields {
            if !name_ok(name) || RESERVED.contains(&name.as_str()) {
                return Err(format!(
                    "attributes.fields: {name:?} is not a field name (a-z, 0-9, '_', starting \
                     with a letter, at most 32; not email or tags)"
                ));
            }
            let ty = FieldType::parse(ty).ok_or_else(|| {
                format!("attributes.fields.{name}: {ty:?} is not string, number, boolean or date")
            })?;
            out.insert(name.clone(), ty);
        }
        Ok(UserFields(out))
    }

    /// The Cedar declarations they add to `User`: tags always, each field optional.
    pub fn cedar_declarations(&self) -> String {
        let mut out = String::from("\"tags\": Set<String>,");
        for (name, ty) in &self.0 {
            out.push_str(&format!(" \"{name}\"?: {},", ty.cedar()));
        }
        out
    }

    /// `attrs` checked against the declarations, in stored form (dates normalized to whole
    /// seconds, UTC), or what is wrong with it.
    pub fn validate(&self, attrs: &UserAttributes) -> Result<UserAttributes, String> {
        if attrs.tags.len() > MAX_TAGS {
            return Err(format!("at most {MAX_TAGS} tags"));
        }
        if let Some(bad) = attrs.tags.iter().find(|t| !tag_ok(t)) {
            return Err(format!(
                "tag {bad:?}: 1 to 64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit"
            ));
        }
        let mut fields = BTreeMap::new();
        for (name, value) in &attrs.fields {
            let ty = self.0.get(name).ok_or_else(|| {
                format!(
                    "no field {name:?} is declared (the operator declares them in [attributes])"
                )
            })?;
            let stored = match (ty, value) {
                (FieldType::String, Value::String(s)) if s.chars().count() <= MAX_STRING => {
                    json!(s)
                }
                (FieldType::Number, Value::Number(n)) if n.as_i64().is_some() => json!(n),
                (FieldType::Boolean, Value::Bool(b)) => json!(b),
                (FieldType::Date, Value::String(s)) => {
                    let t: jiff::Timestamp = s
                        .parse()
                        .map_err(|_| format!("{name}: {s:?} is not an RFC 3339 time"))?;
                    json!(t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
                }
                _ => {
                    return Err(format!(
                        "{name} is a {} field{}",
                        match ty {
                            FieldType::String => "string",
                            FieldType::Number => "whole-number",
                            FieldType::Boolean => "boolean",
                            FieldType::Date => "date (RFC 3339)",
                        },
                        if *ty == FieldType::String {
                            format!(" of at most {MAX_STRING} characters")
                        } else {
                            String::new()
                        }
                    ));
                }
            };
            fields.insert(name.clone(), stored);
        }
        Ok(UserAttributes {
            tags: attrs.tags.clone(),
            fields,
        })
    }

    /// `attrs` as Cedar entity attributes (JSON form). Values of fields no longer declared, or
    /// no longer of their declared type, are left out rather than failing the decision.
    pub fn to_cedar(&self, attrs: &UserAttributes) -> serde_json::Map<String, Value> {
        let mut out = serde_json::Map::new();
        out.insert("tags".into(), json!(attrs.tags));
        for (name, value) in &attrs.fields {
            let v = match (self.0.get(name), value) {
                (Some(FieldType::String), Value::String(_))
                | (Some(FieldType::Boolean), Value::Bool(_)) => value.clone(),
                (Some(FieldType::Number), Value::Number(n)) if n.is_i64() => value.clone(),
                (Some(FieldType::Date), Value::String(s)) => {
                    json!({ "__extn": { "fn": "datetime", "arg": s } })
                }
                _ => continue,
            };
            out.insert(name.clone(), v);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> UserFields {
        let mut c = BTreeMap::new();
        for (n, t) in [
            ("department", "string"),
            ("clearance", "number"),
            ("external", "boolean"),
            ("contract_end", "date"),
        ] {
            c.insert(n.to_owned(), t.to_owned());
        }
        UserFields::from_config(&c).unwrap()
    }

    #[test]
    fn declarations_parse_into_the_pack_schema() {
        let text = strongroom_access_policy::pack::schema_with_user_attributes(
            &fields().cedar_declarations(),
        );
        strongroom_access_policy::parse_schema(&text).unwrap();
    }

    #[test]
    fn values_are_checked_against_their_types() {
        let f = fields();
        let ok = UserAttributes {
            tags: ["contractor".to_owned()].into(),
            fields: [
                ("department".to_owned(), json!("eng")),
                ("clearance".to_owned(), json!(3)),
                ("external".to_owned(), json!(true)),
                (
                    "contract_end".to_owned(),
                    json!("2027-01-31T18:00:00.5+01:00"),
                ),
            ]
            .into(),
        };
        let stored = f.validate(&ok).unwrap();
        assert_eq!(stored.fields["contract_end"], json!("2027-01-31T17:00:00Z"));
        for (name, bad) in [
            ("clearance", json!("3")),
            ("clearance", json!(1.5)),
            ("external", json!("yes")),
            ("contract_end", json!("tomorrow")),
            ("department", json!("x".repeat(MAX_STRING + 1))),
            ("undeclared", json!(1)),
        ] {
            let a = UserAttributes {
                fields: [(name.to_owned(), bad.clone())].into(),
                ..Default::default()
            };
            assert!(f.validate(&a).is_err(), "{name} = {bad}");
        }
        for tag in ["", "Contractor", "-x", "a b"] {
            let a = UserAttributes {
                tags: [tag.to_owned()].into(),
                ..Default::default()
            };
            assert!(f.validate(&a).is_err(), "{tag:?}");
        }
        let mut bad = BTreeMap::new();
        bad.insert("email".to_owned(), "string".to_owned());
        assert!(UserFields::from_config(&bad).is_err());
        bad.clear();
        bad.insert("level".to_owned(), "float".to_owned());
        assert!(UserFields::from_config(&bad).is_err());
    }
}
