//! A schema plus the policies, templates and template links to install: the unit `replace` validates.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::Arc;

use cedar_policy::{
    Effect, EntityUid, PolicyId, PolicySet, Schema, SlotId, ValidationMode, Validator,
};
use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::error::{Diagnostic, Error, Result, collect};

/// Policy text larger than this is refused before parsing (a guard against absurd inputs).
pub const MAX_POLICY_TEXT_BYTES: usize = 8 * 1024 * 1024;

/// A named piece of Cedar policy text holding one or more policies and templates
/// (a `.cedar` file, a database row).
///
/// Ids of the policies inside: the `@id("...")` annotation when present; otherwise the document id
/// when the document holds exactly one policy, else `"<document>.<n>"` in source order (from 0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyDocument {
    /// The document id (file stem, row key). Letters, digits, `_`, `-`, `.`, `:`, `/`.
    pub id: String,
    /// Cedar policy text.
    pub text: String,
}

impl PolicyDocument {
    /// A document with this id and text.
    pub fn new(id: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            text: text.into(),
        }
    }
}

/// A template link: the template, the entities bound to its slots, and an optional expiry.
///
/// The expiry is enforced by the engine at decision time against the request's `context.now`
/// (or the engine's clock when the context has no `now`): an expired link grants nothing.
/// Only `permit` templates may carry an expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateLink {
    /// Id of the linked policy.
    pub id: String,
    /// Id of the template.
    pub template: String,
    /// Entity for `?principal`, in Cedar syntax (`User::"alice"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// Entity for `?resource`, in Cedar syntax (`Folder::"reports"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// After this instant the link grants nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

impl TemplateLink {
    /// A link of `template` under the id `id`, with no slots bound yet.
    pub fn new(id: impl Into<String>, template: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            template: template.into(),
            principal: None,
            resource: None,
            expires_at: None,
        }
    }

    /// Binds `?principal`.
    #[must_use]
    pub fn principal(mut self, uid: impl Into<String>) -> Self {
        self.principal = Some(uid.into());
        self
    }

    /// Binds `?resource`.
    #[must_use]
    pub fn resource(mut self, uid: impl Into<String>) -> Self {
        self.resource = Some(uid.into());
        self
    }

    /// Sets the expiry.
    #[must_use]
    pub fn expires_at(mut self, at: Timestamp) -> Self {
        self.expires_at = Some(at);
        self
    }
}

/// Everything a [`PolicyEngine`](crate::PolicyEngine) installs at once: a schema, policies,
/// templates and links. Building one parses; [`PolicyBundle::validate`] (which `replace` calls)
/// checks it against the schema.
#[derive(Debug, Clone)]
pub struct PolicyBundle {
    pub(crate) schema: Arc<Schema>,
    pub(crate) policies: PolicySet,
    pub(crate) links: BTreeMap<String, TemplateLink>,
    pub(crate) sources: HashMap<String, Arc<str>>,
}

pub(crate) fn valid_id(kind: &str, id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 256
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '/'));
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "{kind} id `{id}` must be 1..=256 characters of letters, digits, `_-.:/`"
        )))
    }
}

/// Parses a Cedar schema in its human-readable syntax.
pub fn parse_schema(src: &str) -> Result<Schema> {
    if src.len() > MAX_POLICY_TEXT_BYTES {
        return Err(Error::InvalidInput("schema text too large".into()));
    }
    Schema::from_cedarschema_str(src)
        .map(|(schema, _warnings)| schema)
        .map_err(|e| Error::parse("schema", &e, src))
}

/// Parses a Cedar schema in its JSON syntax.
pub fn parse_schema_json(value: serde_json::Value) -> Result<Schema> {
    Schema::from_json_value(value).map_err(|e| Error::Parse {
        what: "schema (JSON)".into(),
        diagnostics: collect(Some("schema".into()), &e, None),
    })
}

impl PolicyBundle {
    /// An empty bundle over `schema` (it permits nothing: Cedar denies by default).
    pub fn new(schema: Schema) -> Self {
        Self {
            schema: Arc::new(schema),
            policies: PolicySet::new(),
            links: BTreeMap::new(),
            sources: HashMap::new(),
        }
    }

    /// An empty bundle over a schema in Cedar's human-readable schema syntax.
    pub fn from_cedarschema(src: &str) -> Result<Self> {
        Ok(Self::new(parse_schema(src)?))
    }

    /// The schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The policies, templates and links as a Cedar policy set.
    pub fn policy_set(&self) -> &PolicySet {
        &self.policies
    }

    /// The links with their expiries.
    pub fn links(&self) -> impl Iterator<Item = &TemplateLink> {
        self.links.values()
    }

    /// Adds a document's policies and templates, returning their ids.
    pub fn add_document(&mut self, doc: &PolicyDocument) -> Result<Vec<String>> {
        self.add_policies(&doc.id, &doc.text)
    }

    /// Adds the policies and templates in `text` (see [`PolicyDocument`] for how ids are given),
    /// returning their ids. On error nothing is added.
    pub fn add_policies(&mut self, document: &str, text: &str) -> Result<Vec<String>> {
        valid_id("document", document)?;
        if text.len() > MAX_POLICY_TEXT_BYTES {
            return Err(Error::InvalidInput(format!(
                "document `{document}` is {} bytes; the limit is {MAX_POLICY_TEXT_BYTES}",
                text.len()
            )));
        }
        let parsed = PolicySet::from_str(text).map_err(|e| Error::parse(document, &e, text))?;
        // Cedar names parsed items policy0, policy1, ... in source order, across both kinds.
        let mut items: Vec<(usize, Item)> = parsed
            .policies()
            .map(|p| (auto_index(p.id()), Item::Policy(p.clone())))
            .chain(
                parsed
                    .templates()
                    .map(|t| (auto_index(t.id()), Item::Template(t.clone()))),
            )
            .collect();
        items.sort_by_key(|(n, _)| *n);
        let single = items.len() == 1;
        let mut next = self.policies.clone();
        let mut ids = Vec::with_capacity(items.len());
        for (n, item) in items {
            let id = match item.annotation("id") {
                Some(id) => id.to_owned(),
                None if single => document.to_owned(),
                None => format!("{document}.{n}"),
            };
            valid_id("policy", &id)?;
            if next.policy(&PolicyId::new(&id)).is_some()
                || next.template(&PolicyId::new(&id)).is_some()
            {
                return Err(Error::AlreadyExists(format!("policy `{id}`")));
            }
            let added = match item {
                Item::Policy(p) => next.add(p.new_id(PolicyId::new(&id))),
                Item::Template(t) => next.add_template(t.new_id(PolicyId::new(&id))),
            };
            added.map_err(|e| Error::Parse {
                what: document.to_owned(),
                diagnostics: collect(Some(id.clone()), &e, None),
            })?;
            ids.push(id);
        }
        self.policies = next;
        let src: Arc<str> = Arc::from(text);
        for id in &ids {
            self.sources.insert(id.clone(), src.clone());
        }
        Ok(ids)
    }

    /// Adds policies and templates given in Cedar's JSON policy-set format
    /// (`{"staticPolicies": {...}, "templates": {...}, "templateLinks": [...]}`); the JSON's own ids are kept.
    pub fn add_policies_json(&mut self, value: serde_json::Value) -> Result<Vec<String>> {
        let parsed = PolicySet::from_json_value(value).map_err(|e| Error::Parse {
            what: "policy set (JSON)".into(),
            diagnostics: collect(None, &e, None),
        })?;
        let merged = {
            let mut next = self.policies.clone();
            next.merge(&parsed, false).map_err(|e| {
                Error::AlreadyExists(format!("policy ids clash when merging JSON policies: {e}"))
            })?;
            next
        };
        let ids = parsed
            .policies()
            .map(|p| p.id().to_string())
            .chain(parsed.templates().map(|t| t.id().to_string()))
            .collect();
        self.policies = merged;
        Ok(ids)
    }

    /// Links a template. On error the bundle is unchanged.
    pub fn add_link(&mut self, link: TemplateLink) -> Result<()> {
        valid_id("link", &link.id)?;
        let bad = |reason: String| Error::InvalidLink {
            link: link.id.clone(),
            reason,
        };
        if self.links.contains_key(&link.id) {
            return Err(Error::AlreadyExists(format!("link `{}`", link.id)));
        }
        let template = self
            .policies
            .template(&PolicyId::new(&link.template))
            .ok_or_else(|| bad(format!("no template `{}`", link.template)))?;
        if link.expires_at.is_some() && template.effect() == Effect::Forbid {
            return Err(bad("only permit templates may expire".into()));
        }
        let mut vals = HashMap::new();
        let mut bind = |slot: SlotId, uid: &Option<String>, name: &str| -> Result<()> {
            if let Some(text) = uid {
                let uid = EntityUid::from_str(text)
                    .map_err(|e| bad(format!("{name} `{text}` is not an entity uid: {e}")))?;
                vals.insert(slot, uid);
            }
            Ok(())
        };
        bind(SlotId::principal(), &link.principal, "principal")?;
        bind(SlotId::resource(), &link.resource, "resource")?;
        // Cedar's `link` leaves the set untouched when it fails, so no copy is needed (copying
        // made loading n links cost O(n²)).
        self.policies
            .link(PolicyId::new(&link.template), PolicyId::new(&link.id), vals)
            .map_err(|e| match e {
                cedar_policy::PolicySetError::AlreadyDefined(_) => {
                    Error::AlreadyExists(format!("policy `{}`", link.id))
                }
                other => bad(other.to_string()),
            })?;
        self.links.insert(link.id.clone(), link);
        Ok(())
    }

    /// Removes a link.
    pub fn remove_link(&mut self, id: &str) -> Result<TemplateLink> {
        let link = self
            .links
            .remove(id)
            .ok_or_else(|| Error::NotFound(format!("link `{id}`")))?;
        if let Err(e) = self.policies.unlink(PolicyId::new(id)) {
            self.links.insert(id.to_owned(), link);
            return Err(Error::NotFound(format!("link `{id}`: {e}")));
        }
        Ok(link)
    }

    /// Validates every policy, template and link against the schema (Cedar's strict mode).
    pub fn validate(&self) -> Result<()> {
        let validator = Validator::new((*self.schema).clone());
        let result = validator.validate(&self.policies, ValidationMode::Strict);
        if result.validation_passed() {
            return Ok(());
        }
        let diagnostics: Vec<Diagnostic> = result
            .validation_errors()
            .map(|e| {
                let id = e.policy_id().to_string();
                let src = self.sources.get(&id).map(|s| &**s);
                Diagnostic::from_miette(Some(id), e, src)
            })
            .collect();
        Err(Error::Validation { diagnostics })
    }
}

enum Item {
    Policy(cedar_policy::Policy),
    Template(cedar_policy::Template),
}

impl Item {
    fn annotation(&self, key: &str) -> Option<&str> {
        match self {
            Item::Policy(p) => p.annotation(key),
            Item::Template(t) => t.annotation(key),
        }
    }
}

fn auto_index(id: &PolicyId) -> usize {
    id.to_string()
        .strip_prefix("policy")
        .and_then(|n| n.parse().ok())
        .unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = r#"
        entity User; entity Doc { owner: User };
        action read appliesTo { principal: User, resource: Doc };
    "#;

    fn bundle() -> PolicyBundle {
        PolicyBundle::from_cedarschema(SCHEMA).unwrap()
    }

    #[test]
    fn ids_come_from_annotations_document_or_position() {
        let mut b = bundle();
        assert_eq!(
            b.add_policies("one", "permit(principal, action, resource);")
                .unwrap(),
            vec!["one"]
        );
        let ids = b
            .add_policies(
                "many",
                r#"permit(principal, action, resource);
                   @id("named") forbid(principal, action, resource);
                   permit(principal == ?principal, action, resource);"#,
            )
            .unwrap();
        assert_eq!(ids, vec!["many.0", "named", "many.2"]);
        assert!(b.policy_set().template(&PolicyId::new("many.2")).is_some());
    }

    #[test]
    fn duplicate_ids_are_refused_and_nothing_is_added() {
        let mut b = bundle();
        b.add_policies("a", r#"@id("x") permit(principal, action, resource);"#)
            .unwrap();
        let err = b
            .add_policies(
                "b",
                r#"permit(principal, action, resource); @id("x") permit(principal, action, resource);"#,
            )
            .unwrap_err();
        assert!(matches!(err, Error::AlreadyExists(_)), "{err}");
        assert_eq!(b.policy_set().policies().count(), 1);
    }

    #[test]
    fn parse_errors_carry_locations() {
        let mut b = bundle();
        let err = b
            .add_policies(
                "bad",
                "permit(principal, action, resource)\nwhen { principal.. };",
            )
            .unwrap_err();
        match err {
            Error::Parse { diagnostics, .. } => {
                assert!(
                    diagnostics.iter().any(|d| d.line == Some(2)),
                    "{diagnostics:?}"
                );
            }
            other => panic!("expected a parse error, got {other}"),
        }
    }

    #[test]
    fn validation_reports_the_validator_messages() {
        let mut b = bundle();
        b.add_policies(
            "p",
            "permit(principal, action, resource) when { resource.nope == 1 };",
        )
        .unwrap();
        match b.validate().unwrap_err() {
            Error::Validation { diagnostics } => {
                assert_eq!(diagnostics[0].policy.as_deref(), Some("p"));
                assert!(diagnostics[0].message.contains("nope"), "{diagnostics:?}");
                assert!(diagnostics[0].line.is_some());
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn links_are_checked() {
        let mut b = bundle();
        b.add_policies(
            "t",
            r#"@id("share") permit(principal == ?principal, action, resource == ?resource);
               @id("ban") forbid(principal == ?principal, action, resource);"#,
        )
        .unwrap();
        let ok = TemplateLink::new("l1", "share")
            .principal(r#"User::"a""#)
            .resource(r#"Doc::"d""#);
        b.add_link(ok.clone()).unwrap();
        assert!(matches!(b.add_link(ok), Err(Error::AlreadyExists(_))));
        let missing_slot = TemplateLink::new("l2", "share").principal(r#"User::"a""#);
        assert!(matches!(
            b.add_link(missing_slot),
            Err(Error::InvalidLink { .. })
        ));
        let no_template = TemplateLink::new("l3", "nope");
        assert!(matches!(
            b.add_link(no_template),
            Err(Error::InvalidLink { .. })
        ));
        let bad_uid = TemplateLink::new("l4", "ban").principal("not a uid");
        assert!(matches!(
            b.add_link(bad_uid),
            Err(Error::InvalidLink { .. })
        ));
        let expiring_forbid = TemplateLink::new("l5", "ban")
            .principal(r#"User::"a""#)
            .expires_at(Timestamp::from_millis(0).unwrap());
        assert!(matches!(
            b.add_link(expiring_forbid),
            Err(Error::InvalidLink { .. })
        ));
        b.validate().unwrap();
        b.remove_link("l1").unwrap();
        assert!(matches!(b.remove_link("l1"), Err(Error::NotFound(_))));
    }

    #[test]
    fn absurd_inputs_are_refused() {
        let mut b = bundle();
        let big = "x".repeat(MAX_POLICY_TEXT_BYTES + 1);
        assert!(matches!(
            b.add_policies("big", &big),
            Err(Error::InvalidInput(_))
        ));
        assert!(matches!(
            b.add_policies("bad id!", ""),
            Err(Error::InvalidInput(_))
        ));
    }
}
