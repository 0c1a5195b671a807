//! Questions over many requests: which actions may a principal take on a resource, and which
//! of many resources may it act on.

use std::collections::HashSet;

use cedar_policy::{Context, Entities, EntityUid, PolicyId, PolicySet, SlotId};
use rayon::prelude::*;
use serde_json::Value;

use crate::engine::{Live, PolicyEngine};
use crate::error::{Error, Result};
use crate::request::Request;
use crate::scope;

/// `list_resources` over at least this many candidates runs in parallel.
pub const LIST_PARALLEL_THRESHOLD: usize = 256;

/// Candidates per `list_resources` call are capped (a guard against absurd inputs).
pub const MAX_CANDIDATES: usize = 10_000_000;

impl PolicyEngine {
    /// The actions (from the schema) that `principal` may take on `resource`, sorted by action
    /// id (the schema's own iteration order is not stable). `context` is Cedar context JSON,
    /// typed per action by the schema.
    pub fn allowed_actions(
        &self,
        principal: &EntityUid,
        resource: &EntityUid,
        context: &Value,
        entities: &Entities,
    ) -> Result<Vec<EntityUid>> {
        let live = self.live();
        let schema = &live.bundle.schema;
        let mut actions: Vec<EntityUid> = schema
            .actions_for_principal_and_resource(principal.type_name(), resource.type_name())
            .cloned()
            .collect();
        actions.sort_by_cached_key(ToString::to_string);
        let mut allowed = Vec::new();
        for action in actions {
            let request = Request::builder()
                .principal_uid(principal.clone())
                .action_uid(action.clone())
                .resource_uid(resource.clone())
                .context_json(context.clone())
                .build(schema)?;
            if self.decide(&live, &request, entities).allowed {
                allowed.push(action);
            }
        }
        Ok(allowed)
    }

    /// The `candidates` that `principal` may take `action` on, in the given order.
    ///
    /// Policies whose principal or action scope excludes this principal and action are set aside
    /// once, before the candidates are decided (in parallel when there are many), so the cost
    /// per candidate is that of the policies that can matter.
    pub fn list_resources(
        &self,
        principal: &EntityUid,
        action: &EntityUid,
        candidates: &[EntityUid],
        context: &Value,
        entities: &Entities,
    ) -> Result<Vec<EntityUid>> {
        if candidates.len() > MAX_CANDIDATES {
            return Err(Error::InvalidInput(format!(
                "{} candidates; the limit is {MAX_CANDIDATES}",
                candidates.len()
            )));
        }
        let live = self.live();
        let schema = &live.bundle.schema;
        let context = Context::from_json_value(context.clone(), Some((schema, action)))
            .map_err(|e| Error::InvalidRequest(format!("context: {e}")))?;
        // One full check settles the principal type, the action and the context for all candidates.
        let resource_types: HashSet<_> = schema
            .resources_for_action(action)
            .ok_or_else(|| Error::InvalidRequest(format!("unknown action {action}")))?
            .cloned()
            .collect();
        if let Some(first) = candidates.first() {
            cedar_policy::Request::new(
                principal.clone(),
                action.clone(),
                first.clone(),
                context.clone(),
                Some(schema),
            )
            .map_err(|e| Error::InvalidRequest(e.to_string()))?;
        }
        if let Some(bad) = candidates
            .iter()
            .find(|c| !resource_types.contains(c.type_name()))
        {
            return Err(Error::InvalidRequest(format!(
                "{action} does not apply to resources of type {}",
                bad.type_name()
            )));
        }
        let sliced = slice(&live, principal, action, entities)?;
        let policies = sliced.as_ref().unwrap_or(&live.bundle.policies);
        let one = |resource: &EntityUid| -> Option<EntityUid> {
            let inner = cedar_policy::Request::new(
                principal.clone(),
                action.clone(),
                resource.clone(),
                context.clone(),
                None,
            )
            .ok()?;
            let request = Request { inner };
            self.decide_over(&live, policies, &request, entities)
                .allowed
                .then(|| resource.clone())
        };
        Ok(if candidates.len() >= LIST_PARALLEL_THRESHOLD {
            candidates.par_iter().filter_map(one).collect()
        } else {
            candidates.iter().filter_map(one).collect()
        })
    }
}

/// The policies that may apply to `principal` doing `action`, or `None` when that is nearly all
/// of them (copying would cost more than it saves).
fn slice(
    live: &Live,
    principal: &EntityUid,
    action: &EntityUid,
    entities: &Entities,
) -> Result<Option<PolicySet>> {
    let all = &live.bundle.policies;
    let keep: Vec<_> = all
        .policies()
        .filter(|p| scope::may_apply(p, principal, action, entities))
        .collect();
    if keep.len() * 10 >= all.num_of_policies() * 9 {
        return Ok(None);
    }
    let mut set = PolicySet::new();
    let internal = |e: cedar_policy::PolicySetError| {
        Error::InvalidInput(format!("slicing the policy set: {e}"))
    };
    let mut templates: HashSet<PolicyId> = HashSet::new();
    for p in keep {
        match p.template_id() {
            None => set.add(p.clone()).map_err(internal)?,
            Some(t) => {
                if templates.insert(t.clone())
                    && let Some(template) = all.template(t)
                {
                    set.add_template(template.clone()).map_err(internal)?;
                }
                let vals = p.template_links().unwrap_or_default();
                let vals = vals
                    .into_iter()
                    .filter(|(slot, _)| *slot == SlotId::principal() || *slot == SlotId::resource())
                    .collect();
                set.link(t.clone(), p.id().clone(), vals)
                    .map_err(internal)?;
            }
        }
    }
    Ok(Some(set))
}
