//! Typed fields on files (the `file_fields` table) and each owner's optional field schema
//! (`field_schemas`).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use strongroom_audit::AuditEvent;

use super::{Error, Result};

/// The kind of a field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FieldKind {
    /// Text.
    String,
    /// A number (a double).
    Number,
    /// True or false.
    Boolean,
    /// A point in time (microseconds since the epoch).
    Date,
}

impl FieldKind {
    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            FieldKind::String => "string",
            FieldKind::Number => "number",
            FieldKind::Boolean => "boolean",
            FieldKind::Date => "date",
        }
    }

    /// By stored name.
    pub fn parse(name: &str) -> Option<FieldKind> {
        Some(match name {
            "string" => FieldKind::String,
            "number" => FieldKind::Number,
            "boolean" => FieldKind::Boolean,
            "date" => FieldKind::Date,
            _ => return None,
        })
    }
}

/// A field's value.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// Text.
    String(String),
    /// A finite number.
    Number(f64),
    /// True or false.
    Boolean(bool),
    /// Microseconds since the epoch.
    Date(i64),
}

impl FieldValue {
    /// Its kind.
    pub fn kind(&self) -> FieldKind {
        match self {
            FieldValue::String(_) => FieldKind::String,
            FieldValue::Number(_) => FieldKind::Number,
            FieldValue::Boolean(_) => FieldKind::Boolean,
            FieldValue::Date(_) => FieldKind::Date,
        }
    }

    /// The number ranges compare (`None` for text).
    pub fn number(&self) -> Option<f64> {
        match self {
            FieldValue::String(_) => None,
            FieldValue::Number(n) => Some(*n),
            FieldValue::Boolean(b) => Some(if *b { 1.0 } else { 0.0 }),
            FieldValue::Date(t) => Some(*t as f64),
        }
    }
}

/// One declared field of an owner's schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDef {
    /// The key.
    pub key: String,
    /// The kind its values have.
    pub kind: FieldKind,
    /// For strings: the values allowed (`None`: any).
    pub choices: Option<Vec<String>>,
    /// What it is for.
    pub description: String,
}

/// Changes to one file's fields: keys to set, keys to remove.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldChanges {
    /// Set (added or replaced).
    pub set: BTreeMap<String, FieldValue>,
    /// Removed (absent keys are ignored).
    pub unset: Vec<String>,
}

/// Whether `changes` keep to `schema` (an empty schema allows any field).
pub fn conforms(schema: &[FieldDef], changes: &FieldChanges) -> Result<()> {
    if schema.is_empty() {
        return Ok(());
    }
    for (key, value) in &changes.set {
        let Some(def) = schema.iter().find(|d| &d.key == key) else {
            let known: Vec<&str> = schema.iter().map(|d| d.key.as_str()).collect();
            return Err(Error::Invalid(format!(
                "field {key:?} is not in this owner's schema (it has {})",
                known.join(", ")
            )));
        };
        if def.kind != value.kind() {
            return Err(Error::Invalid(format!(
                "field {key:?} is a {} in this owner's schema, not a {}",
                def.kind.name(),
                value.kind().name()
            )));
        }
        if let (Some(choices), FieldValue::String(s)) = (&def.choices, value)
            && !choices.contains(s)
        {
            return Err(Error::Invalid(format!(
                "field {key:?} is one of {}",
                choices.join(", ")
            )));
        }
    }
    Ok(())
}

/// The field tables.
///
/// Contract (checked by [`super::conformance`]): `change` of a missing file is `NotFound`;
/// it checks the changes against the file owner's schema inside its transaction
/// ([`conforms`]: `Invalid`, and nothing changes); `set_schema` replaces the owner's schema
/// (an empty one removes it) and leaves existing values as they are; deleting a file removes
/// its fields. Every write records its event in the same transaction.
#[async_trait]
pub trait FieldStore: Debug + Send + Sync + 'static {
    /// Sets and removes fields of a file at `at` (its `updated_at`), with its event.
    async fn change(
        &self,
        file_id: &str,
        changes: &FieldChanges,
        at: i64,
        event: &AuditEvent,
    ) -> Result<()>;
    /// The fields of each of these files, by file id.
    async fn of_files(&self, ids: &[&str])
    -> Result<HashMap<String, BTreeMap<String, FieldValue>>>;
    /// An owner's schema, by key (empty: none).
    async fn schema(&self, owner_id: &str) -> Result<Vec<FieldDef>>;
    /// Replaces an owner's schema, with its event.
    async fn set_schema(&self, owner_id: &str, defs: &[FieldDef], event: &AuditEvent)
    -> Result<()>;
}

/// A field store behind a pointer.
pub type DynFieldStore = dyn FieldStore;

#[deny(clippy::missing_trait_methods)]
#[async_trait]
impl<T: FieldStore + ?Sized> FieldStore for Arc<T> {
    async fn change(
        &self,
        file_id: &str,
        changes: &FieldChanges,
        at: i64,
        event: &AuditEvent,
    ) -> Result<()> {
        (**self).change(file_id, changes, at, event).await
    }
    async fn of_files(
        &self,
        ids: &[&str],
    ) -> Result<HashMap<String, BTreeMap<String, FieldValue>>> {
        (**self).of_files(ids).await
    }
    async fn schema(&self, owner_id: &str) -> Result<Vec<FieldDef>> {
        (**self).schema(owner_id).await
    }
    async fn set_schema(
        &self,
        owner_id: &str,
        defs: &[FieldDef],
        event: &AuditEvent,
    ) -> Result<()> {
        (**self).set_schema(owner_id, defs, event).await
    }
}
