//! What a decision says: allow or deny, which policies determined it, and what went wrong.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::clock::Timestamp;

/// `permit` or `forbid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// A permit policy.
    Permit,
    /// A forbid policy.
    Forbid,
}

impl From<cedar_policy::Effect> for Effect {
    fn from(e: cedar_policy::Effect) -> Self {
        match e {
            cedar_policy::Effect::Permit => Self::Permit,
            cedar_policy::Effect::Forbid => Self::Forbid,
        }
    }
}

/// What the engine knows about one installed policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PolicyInfo {
    /// The policy id.
    pub id: String,
    /// permit or forbid.
    pub effect: Effect,
    /// The template it links, for a template-linked policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// Its annotations (`@reason("...")` and so on; for links, the template's).
    pub annotations: BTreeMap<String, String>,
    /// For an expiring link: when it stops granting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

/// An evaluation error in one policy (such a policy is skipped, as Cedar specifies).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyError {
    /// The policy that failed to evaluate.
    pub policy: String,
    /// What went wrong.
    pub message: String,
}

/// The outcome of one authorization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Decision {
    /// Whether the request is allowed.
    pub allowed: bool,
    /// The determining policies: the satisfied permits for an allow, the satisfied forbids for a
    /// deny (empty for a deny because nothing permitted).
    pub policies: Vec<Arc<PolicyInfo>>,
    /// Policies that failed to evaluate.
    pub errors: Vec<PolicyError>,
    /// Expiring links that matched but had expired (they granted nothing).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expired_links: Vec<String>,
    /// Version of the policy set that decided.
    pub version: u64,
}

impl Decision {
    /// Whether the request is allowed.
    pub fn is_allowed(&self) -> bool {
        self.allowed
    }

    /// Ids of the determining policies.
    pub fn policy_ids(&self) -> impl Iterator<Item = &str> {
        self.policies.iter().map(|p| p.id.as_str())
    }
}
