//! Requests and entities: typed builders and Cedar's JSON formats, checked against a schema.

use std::str::FromStr;

use cedar_policy::{Context, Entities, EntityId, EntityTypeName, EntityUid, Schema};
use serde_json::{Map, Value, json};

use crate::error::{Error, Result};

/// Entity JSON larger than this many entities is refused (a guard against absurd inputs).
pub const MAX_ENTITIES: usize = 1_000_000;

/// Builds an entity uid from a type name (`User`, `App::User`) and an id.
pub fn entity_uid(type_name: &str, id: &str) -> Result<EntityUid> {
    let ty = EntityTypeName::from_str(type_name).map_err(|e| {
        Error::InvalidInput(format!(
            "`{type_name}` is not a Cedar entity type name: {e}"
        ))
    })?;
    Ok(EntityUid::from_type_name_and_id(ty, EntityId::new(id)))
}

/// Parses an entity uid in Cedar syntax: `User::"alice"`.
pub fn parse_uid(text: &str) -> Result<EntityUid> {
    EntityUid::from_str(text)
        .map_err(|e| Error::InvalidInput(format!("`{text}` is not an entity uid: {e}")))
}

/// An authorization request, already checked against a schema (or deliberately not).
///
/// Build one once and reuse it: the check happens at build time, so deciding costs only Cedar's
/// evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub(crate) inner: cedar_policy::Request,
}

impl Request {
    /// A builder.
    pub fn builder() -> RequestBuilder {
        RequestBuilder::default()
    }

    /// Wraps a Cedar request as is.
    pub fn from_cedar(inner: cedar_policy::Request) -> Result<Self> {
        if inner.principal().is_none() || inner.action().is_none() || inner.resource().is_none() {
            return Err(Error::InvalidRequest(
                "principal, action and resource must all be known".into(),
            ));
        }
        Ok(Self { inner })
    }

    /// Parses Cedar's request JSON: `{"principal": "User::\"a\"" | {"type","id"}, "action": ...,
    /// "resource": ..., "context": {...}}`, checked against `schema` when given.
    pub fn from_json(value: &Value, schema: Option<&Schema>) -> Result<Self> {
        let obj = value
            .as_object()
            .ok_or_else(|| Error::InvalidRequest("a request must be a JSON object".into()))?;
        let uid = |key: &str| -> Result<EntityUid> {
            match obj.get(key) {
                Some(Value::String(s)) => {
                    parse_uid(s).map_err(|e| Error::InvalidRequest(format!("`{key}`: {e}")))
                }
                Some(v @ Value::Object(_)) => {
                    let inner = v.get("__entity").unwrap_or(v);
                    EntityUid::from_json(inner.clone())
                        .map_err(|e| Error::InvalidRequest(format!("`{key}`: {e}")))
                }
                _ => Err(Error::InvalidRequest(format!("`{key}` is missing"))),
            }
        };
        let mut b = Request::builder()
            .principal_uid(uid("principal")?)
            .action_uid(uid("action")?)
            .resource_uid(uid("resource")?);
        if let Some(ctx) = obj.get("context") {
            b = b.context_json(ctx.clone());
        }
        match schema {
            Some(s) => b.build(s),
            None => b.build_unchecked(),
        }
    }

    /// The principal.
    pub fn principal(&self) -> &EntityUid {
        self.inner
            .principal()
            .unwrap_or_else(|| unreachable_known())
    }

    /// The action.
    pub fn action(&self) -> &EntityUid {
        self.inner.action().unwrap_or_else(|| unreachable_known())
    }

    /// The resource.
    pub fn resource(&self) -> &EntityUid {
        self.inner.resource().unwrap_or_else(|| unreachable_known())
    }

    /// The context.
    pub fn context(&self) -> &Context {
        static EMPTY: std::sync::OnceLock<Context> = std::sync::OnceLock::new();
        self.inner
            .context()
            .unwrap_or_else(|| EMPTY.get_or_init(Context::empty))
    }

    /// The Cedar request.
    pub fn as_cedar(&self) -> &cedar_policy::Request {
        &self.inner
    }
}

// Every constructor checks that the three are known; Cedar only leaves them unknown for partial
// evaluation, which this crate never builds.
#[expect(
    clippy::panic,
    reason = "constructors guarantee known principal, action, resource"
)]
fn unreachable_known() -> &'static EntityUid {
    panic!("request built without a principal, action or resource")
}

/// Builds a [`Request`]. Context values use Cedar's JSON value format, typed by the schema on
/// [`RequestBuilder::build`] (so `"10.0.0.1"` becomes an `ipaddr` where the schema says so).
#[derive(Debug, Default, Clone)]
pub struct RequestBuilder {
    principal: Option<Result<EntityUid, String>>,
    action: Option<Result<EntityUid, String>>,
    resource: Option<Result<EntityUid, String>>,
    context: Map<String, Value>,
    context_error: Option<String>,
}

impl RequestBuilder {
    /// Sets the principal from a type and id.
    #[must_use]
    pub fn principal(mut self, type_name: &str, id: &str) -> Self {
        self.principal = Some(entity_uid(type_name, id).map_err(|e| e.to_string()));
        self
    }

    /// Sets the principal.
    #[must_use]
    pub fn principal_uid(mut self, uid: EntityUid) -> Self {
        self.principal = Some(Ok(uid));
        self
    }

    /// Sets the action by its id (type `Action`); use [`RequestBuilder::action_uid`] for namespaced actions.
    #[must_use]
    pub fn action(mut self, id: &str) -> Self {
        self.action = Some(entity_uid("Action", id).map_err(|e| e.to_string()));
        self
    }

    /// Sets the action.
    #[must_use]
    pub fn action_uid(mut self, uid: EntityUid) -> Self {
        self.action = Some(Ok(uid));
        self
    }

    /// Sets the resource from a type and id.
    #[must_use]
    pub fn resource(mut self, type_name: &str, id: &str) -> Self {
        self.resource = Some(entity_uid(type_name, id).map_err(|e| e.to_string()));
        self
    }

    /// Sets the resource.
    #[must_use]
    pub fn resource_uid(mut self, uid: EntityUid) -> Self {
        self.resource = Some(Ok(uid));
        self
    }

    /// Sets one context attribute (Cedar JSON value).
    #[must_use]
    pub fn context(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.context.insert(key.to_owned(), value.into());
        self
    }

    /// Replaces the whole context with a JSON object.
    #[must_use]
    pub fn context_json(mut self, value: Value) -> Self {
        match value {
            Value::Object(map) => self.context = map,
            other => {
                self.context_error = Some(format!("context must be a JSON object, got {other}"))
            }
        }
        self
    }

    fn parts(self) -> Result<(EntityUid, EntityUid, EntityUid, Map<String, Value>)> {
        if let Some(e) = self.context_error {
            return Err(Error::InvalidRequest(e));
        }
        let take = |v: Option<Result<EntityUid, String>>, name: &str| match v {
            Some(Ok(uid)) => Ok(uid),
            Some(Err(e)) => Err(Error::InvalidRequest(format!("{name}: {e}"))),
            None => Err(Error::InvalidRequest(format!("{name} is missing"))),
        };
        Ok((
            take(self.principal, "principal")?,
            take(self.action, "action")?,
            take(self.resource, "resource")?,
            self.context,
        ))
    }

    /// Builds the request, checking types, action applicability and context against `schema`.
    pub fn build(self, schema: &Schema) -> Result<Request> {
        let (p, a, r, ctx) = self.parts()?;
        let context = Context::from_json_value(Value::Object(ctx), Some((schema, &a)))
            .map_err(|e| Error::InvalidRequest(format!("context: {e}")))?;
        let inner = cedar_policy::Request::new(p, a, r, context, Some(schema))
            .map_err(|e| Error::InvalidRequest(e.to_string()))?;
        Ok(Request { inner })
    }

    /// Builds the request without a schema (context values are read as plain Cedar JSON).
    pub fn build_unchecked(self) -> Result<Request> {
        let (p, a, r, ctx) = self.parts()?;
        let context = Context::from_json_value(Value::Object(ctx), None)
            .map_err(|e| Error::InvalidRequest(format!("context: {e}")))?;
        let inner = cedar_policy::Request::new(p, a, r, context, None)
            .map_err(|e| Error::InvalidRequest(e.to_string()))?;
        Ok(Request { inner })
    }
}

/// One entity for an [`EntitiesBuilder`]: uid, attributes (Cedar JSON values) and parents.
#[derive(Debug, Clone)]
pub struct EntityBuilder {
    uid: Result<EntityUid, String>,
    attrs: Map<String, Value>,
    parents: Vec<EntityUid>,
    tags: Map<String, Value>,
}

impl EntityBuilder {
    /// An entity of `type_name` with `id`.
    pub fn new(type_name: &str, id: &str) -> Self {
        Self::from_result(entity_uid(type_name, id).map_err(|e| e.to_string()))
    }

    /// An entity with this uid.
    pub fn with_uid(uid: EntityUid) -> Self {
        Self::from_result(Ok(uid))
    }

    fn from_result(uid: Result<EntityUid, String>) -> Self {
        Self {
            uid,
            attrs: Map::new(),
            parents: Vec::new(),
            tags: Map::new(),
        }
    }

    /// Sets an attribute (Cedar JSON value; typed by the schema when built with one).
    #[must_use]
    pub fn attr(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.attrs.insert(name.to_owned(), value.into());
        self
    }

    /// Sets an attribute to an entity reference.
    #[must_use]
    pub fn attr_entity(mut self, name: &str, uid: &EntityUid) -> Self {
        self.attrs.insert(name.to_owned(), uid_json(uid));
        self
    }

    /// Sets a tag.
    #[must_use]
    pub fn tag(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.tags.insert(name.to_owned(), value.into());
        self
    }

    /// Adds a parent.
    #[must_use]
    pub fn parent(mut self, uid: EntityUid) -> Self {
        self.parents.push(uid);
        self
    }

    fn into_json(self) -> Result<Value> {
        let uid = self.uid.map_err(Error::InvalidEntities)?;
        let parents: Vec<Value> = self.parents.iter().map(uid_json).collect();
        let mut obj = json!({ "uid": uid_json(&uid), "attrs": self.attrs, "parents": parents });
        if !self.tags.is_empty() {
            obj["tags"] = Value::Object(self.tags);
        }
        Ok(obj)
    }
}

/// Entity reference in Cedar JSON form.
pub fn uid_json(uid: &EntityUid) -> Value {
    json!({ "type": uid.type_name().to_string(), "id": uid.id().unescaped() })
}

/// Builds a Cedar `Entities` set from [`EntityBuilder`]s and/or Cedar entity JSON.
#[derive(Debug, Default, Clone)]
pub struct EntitiesBuilder {
    items: Vec<Value>,
    error: Option<String>,
}

impl EntitiesBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an entity.
    #[must_use]
    pub fn entity(mut self, e: EntityBuilder) -> Self {
        match e.into_json() {
            Ok(v) => self.items.push(v),
            Err(err) => {
                self.error.get_or_insert(err.to_string());
            }
        }
        self
    }

    /// Adds entities in Cedar's entity JSON format (an array of `{uid, attrs, parents}`).
    #[must_use]
    pub fn json(mut self, value: Value) -> Self {
        match value {
            Value::Array(items) => self.items.extend(items),
            other => {
                self.error.get_or_insert(format!(
                    "entity JSON must be an array, got {}",
                    kind(&other)
                ));
            }
        }
        self
    }

    /// Builds, checking every entity against `schema` (and adding the schema's action entities).
    /// Cyclic parent chains, unknown types and ill-typed attributes are errors.
    pub fn build(self, schema: &Schema) -> Result<Entities> {
        self.finish(Some(schema))
    }

    /// Builds without a schema.
    pub fn build_unchecked(self) -> Result<Entities> {
        self.finish(None)
    }

    fn finish(self, schema: Option<&Schema>) -> Result<Entities> {
        if let Some(e) = self.error {
            return Err(Error::InvalidEntities(e));
        }
        if self.items.len() > MAX_ENTITIES {
            return Err(Error::InvalidEntities(format!(
                "{} entities; the limit is {MAX_ENTITIES}",
                self.items.len()
            )));
        }
        entities_from_json(Value::Array(self.items), schema)
    }
}

/// Parses Cedar's entity JSON, checked against `schema` when given.
pub fn entities_from_json(value: Value, schema: Option<&Schema>) -> Result<Entities> {
    if value.as_array().is_some_and(|a| a.len() > MAX_ENTITIES) {
        return Err(Error::InvalidEntities(format!(
            "more than {MAX_ENTITIES} entities"
        )));
    }
    Entities::from_json_value(value, schema).map_err(|e| Error::InvalidEntities(e.to_string()))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Schema {
        crate::bundle::parse_schema(
            r#"entity User in [Group] { age: Long }; entity Group; entity Doc;
               action read appliesTo { principal: User, resource: Doc, context: { ip: ipaddr } };"#,
        )
        .unwrap()
    }

    #[test]
    fn builds_a_checked_request() {
        let r = Request::builder()
            .principal("User", "alice")
            .action("read")
            .resource("Doc", "d1")
            .context("ip", "10.0.0.1")
            .build(&schema())
            .unwrap();
        assert_eq!(r.principal().to_string(), r#"User::"alice""#);
        assert_eq!(r.action().to_string(), r#"Action::"read""#);
    }

    #[test]
    fn request_errors_are_typed() {
        let s = schema();
        let cases = [
            Request::builder().action("read").resource("Doc", "d"),
            Request::builder()
                .principal("Doc", "x")
                .action("read")
                .resource("Doc", "d")
                .context("ip", "10.0.0.1"),
            Request::builder()
                .principal("User", "a")
                .action("nope")
                .resource("Doc", "d"),
            Request::builder()
                .principal("User", "a")
                .action("read")
                .resource("Doc", "d"),
            Request::builder()
                .principal("User", "a")
                .action("read")
                .resource("Doc", "d")
                .context("ip", "not-an-ip"),
            Request::builder()
                .principal("Not A Type", "a")
                .action("read")
                .resource("Doc", "d"),
            Request::builder()
                .principal("User", "a")
                .action("read")
                .resource("Doc", "d")
                .context_json(json!([1])),
        ];
        for (i, b) in cases.into_iter().enumerate() {
            assert!(
                matches!(b.build(&s), Err(Error::InvalidRequest(_))),
                "case {i}"
            );
        }
    }

    #[test]
    fn request_json_round_trip() {
        let r = Request::from_json(
            &json!({"principal": r#"User::"a""#, "action": {"type": "Action", "id": "read"},
                    "resource": {"__entity": {"type": "Doc", "id": "d"}}, "context": {"ip": "10.1.1.1"}}),
            Some(&schema()),
        )
        .unwrap();
        assert_eq!(r.resource().to_string(), r#"Doc::"d""#);
        assert!(matches!(
            Request::from_json(&json!(3), None),
            Err(Error::InvalidRequest(_))
        ));
        assert!(matches!(
            Request::from_json(&json!({"principal": "User::\"a\""}), None),
            Err(Error::InvalidRequest(_))
        ));
    }

    #[test]
    fn entities_are_checked() {
        let s = schema();
        let ok = EntitiesBuilder::new()
            .entity(
                EntityBuilder::new("User", "a")
                    .attr("age", 3)
                    .parent(entity_uid("Group", "g").unwrap()),
            )
            .entity(EntityBuilder::new("Group", "g"))
            .build(&s)
            .unwrap();
        assert!(ok.get(&entity_uid("User", "a").unwrap()).is_some());
        // action entities come from the schema
        assert!(ok.get(&entity_uid("Action", "read").unwrap()).is_some());
        let bad_attr =
            EntitiesBuilder::new().entity(EntityBuilder::new("User", "a").attr("age", "old"));
        assert!(matches!(bad_attr.build(&s), Err(Error::InvalidEntities(_))));
        let unknown = EntitiesBuilder::new().entity(EntityBuilder::new("Martian", "m"));
        assert!(matches!(unknown.build(&s), Err(Error::InvalidEntities(_))));
        let not_array = EntitiesBuilder::new().json(json!({}));
        assert!(matches!(
            not_array.build(&s),
            Err(Error::InvalidEntities(_))
        ));
    }

    #[test]
    fn cyclic_parents_are_refused() {
        let g = |id: &str| entity_uid("G", id).unwrap();
        let cyclic = EntitiesBuilder::new()
            .entity(EntityBuilder::new("G", "a").parent(g("b")))
            .entity(EntityBuilder::new("G", "b").parent(g("c")))
            .entity(EntityBuilder::new("G", "c").parent(g("a")));
        assert!(matches!(
            cyclic.build_unchecked(),
            Err(Error::InvalidEntities(_))
        ));
    }
}
