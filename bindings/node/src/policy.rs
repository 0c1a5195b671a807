//! PolicyEngine for JavaScript: a pre-parsed, validated Cedar policy set; requests and entities
//! in Cedar's JSON shapes, entities parsed once and reused.

use std::collections::BTreeMap;

use napi::bindgen_prelude::*;
use napi_derive::napi;
use strongroom_access_policy::{
    self as policy, PolicyBundle, Request, cedar_policy, entities_from_json, parse_uid,
};

use crate::errors::{invalid_arg, policy_error};

fn bundle(
    schema: &str,
    policies: Either<String, BTreeMap<String, String>>,
) -> Result<PolicyBundle> {
    let mut bundle = PolicyBundle::from_cedarschema(schema).map_err(policy_error)?;
    match policies {
        Either::A(text) => {
            bundle
                .add_policies("policies", &text)
                .map_err(policy_error)?;
        }
        Either::B(documents) => {
            for (name, text) in documents {
                bundle.add_policies(&name, &text).map_err(policy_error)?;
            }
        }
    }
    Ok(bundle)
}

/// Entities parsed and validated once, for many decisions.
#[napi]
pub struct Entities {
    entities: cedar_policy::Entities,
    count: u32,
}

#[napi]
impl Entities {
    /// How many entities were given.
    #[napi(getter)]
    pub fn length(&self) -> u32 {
        self.count
    }
}

/// The outcome of one request.
#[napi(object)]
pub struct Decision {
    /// Whether the request is allowed.
    pub allowed: bool,
    /// Ids of the determining policies (the permits for an allow, the forbids for a deny).
    pub policies: Vec<String>,
    /// Annotations of the determining policies, by policy id.
    pub annotations: BTreeMap<String, BTreeMap<String, String>>,
    /// Evaluation errors, as "policy: message".
    pub errors: Vec<String>,
    /// Version of the policy set that decided.
    pub version: i64,
}

impl From<policy::Decision> for Decision {
    fn from(d: policy::Decision) -> Self {
        Decision {
            allowed: d.allowed,
            policies: d.policy_ids().map(str::to_owned).collect(),
            annotations: d
                .policies
                .iter()
                .map(|p| (p.id.clone(), p.annotations.clone()))
                .collect(),
            errors: d
                .errors
                .iter()
                .map(|e| format!("{}: {}", e.policy, e.message))
                .collect(),
            version: i64::try_from(d.version).unwrap_or(i64::MAX),
        }
    }
}

/// A Cedar policy engine: schema + validated policies, hot-swappable.
#[napi]
pub struct PolicyEngine {
    engine: policy::PolicyEngine,
}

impl PolicyEngine {
    /// Runs `f` with the entities argument: borrowed when already parsed (cloning a large entity
    /// set would cost more than the decision), parsed on the spot otherwise.
    fn with_entities<R>(
        &self,
        entities: Either<&Entities, Vec<serde_json::Value>>,
        f: impl FnOnce(&cedar_policy::Entities) -> R,
    ) -> Result<R> {
        match entities {
            Either::A(parsed) => Ok(f(&parsed.entities)),
            Either::B(list) => Ok(f(&self
                .parse_entities(serde_json::Value::Array(list))?
                .entities)),
        }
    }

    fn parse_entities(&self, value: serde_json::Value) -> Result<Entities> {
        let Some(list) = value.as_array() else {
            return Err(invalid_arg(
                "entities must be an array of Cedar entity objects",
            ));
        };
        let count = u32::try_from(list.len()).unwrap_or(u32::MAX);
        let entities =
            entities_from_json(value, Some(&self.engine.schema())).map_err(policy_error)?;
        Ok(Entities { entities, count })
    }

    fn request_arg(&self, request: serde_json::Value) -> Result<Request> {
        Request::from_json(&request, Some(&self.engine.schema())).map_err(policy_error)
    }
}

#[napi]
impl PolicyEngine {
    /// Builds an engine from Cedar schema text and policies (a string, or an object of
    /// name -> text). Throws ERR_STRONGROOM_FORMAT / ERR_STRONGROOM_VALIDATION with Cedar's messages.
    #[napi(constructor)]
    pub fn new(schema: String, policies: Either<String, BTreeMap<String, String>>) -> Result<Self> {
        let engine = policy::PolicyEngine::new(bundle(&schema, policies)?).map_err(policy_error)?;
        Ok(PolicyEngine { engine })
    }

    /// The built-in file-platform schema and policy pack.
    #[napi(factory)]
    pub fn file_platform() -> Result<Self> {
        Ok(PolicyEngine {
            engine: policy::pack::engine().map_err(policy_error)?,
        })
    }

    /// Checks schema + policies without building an engine; returns the problems (empty when
    /// valid): `{ policy, message, help, line, column }`.
    #[napi]
    pub fn validate(
        schema: String,
        policies: Either<String, BTreeMap<String, String>>,
    ) -> Result<Vec<serde_json::Value>> {
        match bundle(&schema, policies)?.validate() {
            Ok(()) => Ok(Vec::new()),
            Err(policy::Error::Validation { diagnostics }) => Ok(diagnostics
                .iter()
                .map(|d| serde_json::to_value(d).expect("serialises"))
                .collect()),
            Err(e) => Err(policy_error(e)),
        }
    }

    /// Validates and atomically installs new schema text and policies; on failure the current set
    /// stays live. Returns the new version.
    #[napi]
    pub fn replace(
        &self,
        schema: String,
        policies: Either<String, BTreeMap<String, String>>,
    ) -> Result<i64> {
        let version = self
            .engine
            .replace(bundle(&schema, policies)?)
            .map_err(policy_error)?;
        Ok(i64::try_from(version).unwrap_or(i64::MAX))
    }

    /// Version of the live policy set.
    #[napi(getter)]
    pub fn version(&self) -> i64 {
        i64::try_from(self.engine.version()).unwrap_or(i64::MAX)
    }

    /// Ids of the live policies and templates.
    #[napi(getter)]
    pub fn policy_ids(&self) -> Vec<String> {
        self.engine
            .policies()
            .iter()
            .map(|p| p.id.clone())
            .collect()
    }

    /// Parses and validates entities once (an array of Cedar entity objects).
    #[napi]
    pub fn entities(&self, entities: serde_json::Value) -> Result<Entities> {
        self.parse_entities(entities)
    }

    /// Decides one request: `{ principal: 'User::"alice"', action: 'Action::"read"',
    /// resource: 'File::"f1"', context: {...} }`.
    #[napi]
    pub fn authorize(
        &self,
        request: serde_json::Value,
        entities: Either<&Entities, Vec<serde_json::Value>>,
    ) -> Result<Decision> {
        let request = self.request_arg(request)?;
        let decision = self.with_entities(entities, |e| self.engine.authorize(&request, e))?;
        Ok(decision.into())
    }

    /// Decides many requests over one entity set, in order (parallel when large).
    #[napi]
    pub fn authorize_batch(
        &self,
        requests: Vec<serde_json::Value>,
        entities: Either<&Entities, Vec<serde_json::Value>>,
    ) -> Result<Vec<Decision>> {
        let requests = requests
            .into_iter()
            .map(|r| self.request_arg(r))
            .collect::<Result<Vec<_>>>()?;
        let decisions =
            self.with_entities(entities, |e| self.engine.authorize_batch(&requests, e))?;
        Ok(decisions.into_iter().map(Decision::from).collect())
    }

    /// Why a request got its decision (see the Rust crate's `Explanation`); `text` holds a
    /// readable rendering.
    #[napi]
    pub fn explain(
        &self,
        request: serde_json::Value,
        entities: Either<&Entities, Vec<serde_json::Value>>,
    ) -> Result<serde_json::Value> {
        let request = self.request_arg(request)?;
        let explanation = self.with_entities(entities, |e| self.engine.explain(&request, e))?;
        let mut value = serde_json::to_value(&explanation).expect("explanations serialise");
        value["text"] = serde_json::Value::String(explanation.to_string());
        Ok(value)
    }

    /// The candidates (entity uid strings) `principal` may take `action` on, in order.
    #[napi]
    pub fn list_resources(
        &self,
        principal: String,
        action: String,
        candidates: Vec<String>,
        entities: Either<&Entities, Vec<serde_json::Value>>,
        context: Option<serde_json::Value>,
    ) -> Result<Vec<String>> {
        let principal = parse_uid(&principal).map_err(policy_error)?;
        let action = parse_uid(&action).map_err(policy_error)?;
        let candidates = candidates
            .iter()
            .map(|c| parse_uid(c))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(policy_error)?;
        let context = context.unwrap_or_else(|| serde_json::json!({}));
        let allowed = self
            .with_entities(entities, |e| {
                self.engine
                    .list_resources(&principal, &action, &candidates, &context, e)
            })?
            .map_err(policy_error)?;
        Ok(allowed.iter().map(ToString::to_string).collect())
    }
}
