//! What files and folders carry besides their content: tags and typed fields, as the API shows
//! them, and filling them in on file metadata (one query each per page of files).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use utoipa::ToSchema;

use super::files::FileMeta;
use super::rfc3339;
use crate::error::Result;
use crate::store::{DynFieldStore, DynTagStore, FieldValue, TagRecord};

/// A tag on a file or folder.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct TagRef {
    /// Tag id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Colour (`#rrggbb`), if set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub colour: Option<String>,
}

impl From<TagRecord> for TagRef {
    fn from(t: TagRecord) -> TagRef {
        TagRef {
            id: t.id,
            name: t.name,
            colour: t.colour,
        }
    }
}

/// A typed field value.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Field {
    /// `string`, `number`, `boolean` or `date`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The value: text, a number, true/false, or a date as RFC 3339.
    #[schema(value_type = Object)]
    pub value: serde_json::Value,
}

impl From<&FieldValue> for Field {
    fn from(v: &FieldValue) -> Field {
        let value = match v {
            FieldValue::String(s) => serde_json::Value::from(s.as_str()),
            FieldValue::Number(n) => serde_json::Number::from_f64(*n)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            FieldValue::Boolean(b) => serde_json::Value::from(*b),
            FieldValue::Date(t) => serde_json::Value::from(rfc3339(*t)),
        };
        Field {
            kind: v.kind().name().to_owned(),
            value,
        }
    }
}

/// Fills in the tags and fields of file metadata.
#[derive(Debug, Clone)]
pub struct Labels {
    tags: Arc<DynTagStore>,
    fields: Arc<DynFieldStore>,
}

impl Labels {
    /// Over the tag and field stores.
    pub fn new(tags: Arc<DynTagStore>, fields: Arc<DynFieldStore>) -> Labels {
        Labels { tags, fields }
    }

    /// Sets `tags` and `fields` of each file (two queries for all of them).
    pub async fn fill(&self, files: &mut [FileMeta]) -> Result<()> {
        if files.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = files.iter().map(|f| f.id.as_str()).collect();
        let mut tags = self.tags.of_items(&ids).await?;
        let mut fields = self.fields.of_files(&ids).await?;
        for f in files {
            f.tags = tags
                .remove(&f.id)
                .unwrap_or_default()
                .into_iter()
                .map(TagRef::from)
                .collect();
            f.fields = fields
                .remove(&f.id)
                .unwrap_or_default()
                .iter()
                .map(|(k, v)| (k.clone(), Field::from(v)))
                .collect::<BTreeMap<_, _>>();
        }
        Ok(())
    }

    /// The tags on each of these folders, by id.
    pub async fn folder_tags(
        &self,
        ids: &[&str],
    ) -> Result<std::collections::HashMap<String, Vec<TagRef>>> {
        Ok(self
            .tags
            .of_items(ids)
            .await?
            .into_iter()
            .map(|(k, v)| (k, v.into_iter().map(TagRef::from).collect()))
            .collect())
    }
}
