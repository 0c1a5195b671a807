//! `strongroom.policy`: a pre-parsed, validated Cedar policy engine.
//!
//! Requests and entities cross from Python as plain dicts in Cedar's JSON shapes; entities are
//! parsed and checked against the schema once (`engine.entities(...)`) and reused across calls,
//! which is where most of the per-call cost of re-parsing bindings goes.

use std::collections::BTreeMap;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};
use strongroom_access_policy::{
    self as policy, PolicyBundle, PolicyEngine, Request, cedar_policy::Entities,
    entities_from_json, parse_uid,
};

use crate::errors::policy_error;

/// Python object -> JSON value, through the standard library's encoder (exact for dicts, lists,
/// strings, numbers, booleans and None; anything else is a TypeError).
fn to_json(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<serde_json::Value> {
    let text: String = py
        .import("json")?
        .call_method1("dumps", (obj,))?
        .extract()?;
    serde_json::from_str(&text)
        .map_err(|e| PyTypeError::new_err(format!("not JSON-compatible: {e}")))
}

fn to_py<'py>(py: Python<'py>, value: &impl serde::Serialize) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(value).expect("serialisable");
    py.import("json")?.call_method1("loads", (text,))
}

/// Policies given as one text, or as a dict of document name -> text.
fn add_policies(
    py: Python<'_>,
    bundle: &mut PolicyBundle,
    policies: &Bound<'_, PyAny>,
) -> PyResult<()> {
    if let Ok(text) = policies.cast::<PyString>() {
        bundle
            .add_policies("policies", &text.to_cow()?)
            .map_err(|e| policy_error(py, e))?;
        return Ok(());
    }
    if let Ok(dict) = policies.cast::<PyDict>() {
        // Sorted, so policy ids do not depend on dict order.
        let mut docs = BTreeMap::new();
        for (name, text) in dict.iter() {
            docs.insert(name.extract::<String>()?, text.extract::<String>()?);
        }
        for (name, text) in docs {
            bundle
                .add_policies(&name, &text)
                .map_err(|e| policy_error(py, e))?;
        }
        return Ok(());
    }
    Err(PyTypeError::new_err(
        "policies must be a str or a dict of name -> str",
    ))
}

fn bundle(py: Python<'_>, schema: &str, policies: &Bound<'_, PyAny>) -> PyResult<PolicyBundle> {
    let mut bundle = PolicyBundle::from_cedarschema(schema).map_err(|e| policy_error(py, e))?;
    add_policies(py, &mut bundle, policies)?;
    Ok(bundle)
}

/// Entities parsed and validated once, for many decisions.
#[pyclass(name = "Entities", module = "strongroom.policy", frozen)]
pub(crate) struct PyEntities {
    entities: Entities,
    count: usize,
}

#[pymethods]
impl PyEntities {
    fn __len__(&self) -> usize {
        self.count
    }

    fn __repr__(&self) -> String {
        format!("Entities(<{} entities>)", self.count)
    }
}

/// The outcome of one request.
#[pyclass(name = "Decision", module = "strongroom.policy", frozen)]
pub(crate) struct PyDecision {
    decision: policy::Decision,
}

#[pymethods]
impl PyDecision {
    /// True when the request is allowed.
    #[getter]
    fn allowed(&self) -> bool {
        self.decision.allowed
    }

    /// Ids of the determining policies (the permits for an allow, the forbids for a deny).
    #[getter]
    fn policies(&self) -> Vec<String> {
        self.decision.policy_ids().map(str::to_owned).collect()
    }

    /// Annotations of the determining policies: {policy id: {name: value}}.
    #[getter]
    fn annotations(&self) -> BTreeMap<String, BTreeMap<String, String>> {
        self.decision
            .policies
            .iter()
            .map(|p| (p.id.clone(), p.annotations.clone()))
            .collect()
    }

    /// Evaluation errors, as "policy: message".
    #[getter]
    fn errors(&self) -> Vec<String> {
        self.decision
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.policy, e.message))
            .collect()
    }

    /// Version of the policy set that decided.
    #[getter]
    fn version(&self) -> u64 {
        self.decision.version
    }

    fn __bool__(&self) -> bool {
        self.decision.allowed
    }

    fn __repr__(&self) -> String {
        format!(
            "Decision(allowed={}, policies={:?})",
            if self.decision.allowed {
                "True"
            } else {
                "False"
            },
            self.decision.policy_ids().collect::<Vec<_>>()
        )
    }
}

/// A Cedar policy engine: schema + validated policies, hot-swappable, thread-safe.
#[pyclass(name = "PolicyEngine", module = "strongroom.policy", frozen)]
pub(crate) struct PyPolicyEngine {
    engine: PolicyEngine,
}

impl PyPolicyEngine {
    /// Runs `f` with the entities argument: borrowed when already parsed (cloning a large entity
    /// set would cost more than the decision), parsed on the spot otherwise.
    fn with_entities<R>(
        &self,
        py: Python<'_>,
        entities: &Bound<'_, PyAny>,
        f: impl FnOnce(&Entities) -> R,
    ) -> PyResult<R> {
        if let Ok(parsed) = entities.cast::<PyEntities>() {
            return Ok(f(&parsed.get().entities));
        }
        Ok(f(&self.parse_entities(py, entities)?.entities))
    }

    fn parse_entities(&self, py: Python<'_>, entities: &Bound<'_, PyAny>) -> PyResult<PyEntities> {
        let value = if let Ok(text) = entities.cast::<PyString>() {
            serde_json::from_str(&text.to_cow()?)
                .map_err(|e| PyTypeError::new_err(format!("entities: {e}")))?
        } else if entities.cast::<PyList>().is_ok() {
            to_json(py, entities)?
        } else {
            return Err(PyTypeError::new_err(
                "entities must be a list of Cedar entity dicts, a JSON str, or Entities",
            ));
        };
        let count = value.as_array().map_or(0, Vec::len);
        let schema = self.engine.schema();
        let entities = entities_from_json(value, Some(&schema)).map_err(|e| policy_error(py, e))?;
        Ok(PyEntities { entities, count })
    }

    fn request_arg(&self, py: Python<'_>, request: &Bound<'_, PyAny>) -> PyResult<Request> {
        if request.cast::<PyDict>().is_err() {
            return Err(PyTypeError::new_err(
                "a request is a dict with principal, action, resource and optional context",
            ));
        }
        let value = to_json(py, request)?;
        Request::from_json(&value, Some(&self.engine.schema())).map_err(|e| policy_error(py, e))
    }
}

#[pymethods]
impl PyPolicyEngine {
    /// Builds an engine from Cedar schema text and policies (a str, or a dict of name -> str).
    /// Raises FormatError (parse) or ValidationError (schema check) with Cedar's messages.
    #[new]
    fn new(py: Python<'_>, schema: &str, policies: &Bound<'_, PyAny>) -> PyResult<Self> {
        let bundle = bundle(py, schema, policies)?;
        let engine = PolicyEngine::new(bundle).map_err(|e| policy_error(py, e))?;
        Ok(PyPolicyEngine { engine })
    }

    /// The built-in file-platform schema and policy pack.
    #[staticmethod]
    fn file_platform(py: Python<'_>) -> PyResult<Self> {
        Ok(PyPolicyEngine {
            engine: policy::pack::engine().map_err(|e| policy_error(py, e))?,
        })
    }

    /// Checks schema + policies without building an engine; returns a list of problems
    /// (dicts with policy, message, help, line, column), empty when valid.
    #[staticmethod]
    fn validate<'py>(
        py: Python<'py>,
        schema: &str,
        policies: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let bundle = bundle(py, schema, policies)?;
        match bundle.validate() {
            Ok(()) => Ok(PyList::empty(py).into_any()),
            Err(policy::Error::Validation { diagnostics }) => to_py(py, &diagnostics),
            Err(e) => Err(policy_error(py, e)),
        }
    }

    /// Validates and atomically installs new schema text and policies; on failure the current
    /// set stays live. Returns the new version.
    fn replace(&self, py: Python<'_>, schema: &str, policies: &Bound<'_, PyAny>) -> PyResult<u64> {
        let bundle = bundle(py, schema, policies)?;
        self.engine.replace(bundle).map_err(|e| policy_error(py, e))
    }

    /// Version of the live policy set.
    #[getter]
    fn version(&self) -> u64 {
        self.engine.version()
    }

    /// Ids of the live policies and templates.
    #[getter]
    fn policy_ids(&self) -> Vec<String> {
        self.engine
            .policies()
            .iter()
            .map(|p| p.id.clone())
            .collect()
    }

    /// Parses and validates entities once (list of Cedar entity dicts, or JSON text).
    fn entities(&self, py: Python<'_>, entities: &Bound<'_, PyAny>) -> PyResult<PyEntities> {
        self.parse_entities(py, entities)
    }

    /// Decides one request: {"principal": 'User::"alice"', "action": 'Action::"read"',
    /// "resource": 'File::"f1"', "context": {...}}.
    fn authorize(
        &self,
        py: Python<'_>,
        request: &Bound<'_, PyAny>,
        entities: &Bound<'_, PyAny>,
    ) -> PyResult<PyDecision> {
        let request = self.request_arg(py, request)?;
        let decision = self.with_entities(py, entities, |entities| {
            self.engine.authorize(&request, entities)
        })?;
        Ok(PyDecision { decision })
    }

    /// Decides many requests over one entity set, in order; the GIL is released and large
    /// batches run in parallel.
    fn authorize_batch(
        &self,
        py: Python<'_>,
        requests: &Bound<'_, PyList>,
        entities: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<PyDecision>> {
        let requests = requests
            .iter()
            .map(|r| self.request_arg(py, &r))
            .collect::<PyResult<Vec<_>>>()?;
        let decisions = self.with_entities(py, entities, |entities| {
            py.detach(|| self.engine.authorize_batch(&requests, entities))
        })?;
        Ok(decisions
            .into_iter()
            .map(|decision| PyDecision { decision })
            .collect())
    }

    /// Why a request got its decision: for a deny, the forbid that fired or, for each candidate
    /// permit, the first clause that failed with the values it saw; for an allow, the permits
    /// that granted it. Returns a dict; its "text" key holds a readable rendering.
    fn explain<'py>(
        &self,
        py: Python<'py>,
        request: &Bound<'py, PyAny>,
        entities: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let request = self.request_arg(py, request)?;
        let explanation = self.with_entities(py, entities, |entities| {
            py.detach(|| self.engine.explain(&request, entities))
        })?;
        let mut value = serde_json::to_value(&explanation).expect("explanations serialise");
        value["text"] = serde_json::Value::String(explanation.to_string());
        to_py(py, &value)
    }

    /// The candidates (entity uid strings) `principal` may take `action` on, in order.
    #[pyo3(signature = (principal, action, candidates, entities, context = None))]
    fn list_resources(
        &self,
        py: Python<'_>,
        principal: &str,
        action: &str,
        candidates: Vec<String>,
        entities: &Bound<'_, PyAny>,
        context: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Vec<String>> {
        let principal = parse_uid(principal).map_err(|e| policy_error(py, e))?;
        let action = parse_uid(action).map_err(|e| policy_error(py, e))?;
        let candidates = candidates
            .iter()
            .map(|c| parse_uid(c))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| policy_error(py, e))?;
        let context = match context {
            Some(c) => to_json(py, c)?,
            None => serde_json::json!({}),
        };
        let allowed = self
            .with_entities(py, entities, |entities| {
                py.detach(|| {
                    self.engine
                        .list_resources(&principal, &action, &candidates, &context, entities)
                })
            })?
            .map_err(|e| policy_error(py, e))?;
        Ok(allowed.iter().map(ToString::to_string).collect())
    }

    /// The actions (entity uid strings) `principal` may take on `resource`.
    #[pyo3(signature = (principal, resource, entities, context = None))]
    fn allowed_actions(
        &self,
        py: Python<'_>,
        principal: &str,
        resource: &str,
        entities: &Bound<'_, PyAny>,
        context: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Vec<String>> {
        let principal = parse_uid(principal).map_err(|e| policy_error(py, e))?;
        let resource = parse_uid(resource).map_err(|e| policy_error(py, e))?;
        let context = match context {
            Some(c) => to_json(py, c)?,
            None => serde_json::json!({}),
        };
        let allowed = self
            .with_entities(py, entities, |entities| {
                self.engine
                    .allowed_actions(&principal, &resource, &context, entities)
            })?
            .map_err(|e| policy_error(py, e))?;
        Ok(allowed.iter().map(ToString::to_string).collect())
    }

    fn __repr__(&self) -> String {
        format!(
            "PolicyEngine(version={}, policies={})",
            self.engine.version(),
            self.engine.policies().len()
        )
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyPolicyEngine>()?;
    m.add_class::<PyEntities>()?;
    m.add_class::<PyDecision>()?;
    Ok(())
}
