//! Per-request slices of a policy set with many template links.
//!
//! Cedar evaluates every policy in the set it is given, so with 100,000 share links a decision
//! would pay for 100,000 links that concern other users and files. A link can only apply when
//! its `?principal` is the request's principal or one of its ancestors and its `?resource` is
//! the resource or one of its ancestors (every template scope is `==`, `in` or `is .. in` a
//! slot), so the engine decides over the static policies plus just those links.

use std::collections::{HashMap, HashSet};
use std::iter;

use cedar_policy::{Entities, EntityUid, PolicyId, PolicySet, SlotId};

use crate::request::Request;

/// Below this many links, slicing costs more than evaluating every link.
pub(crate) const LINK_INDEX_THRESHOLD: usize = 32;

#[derive(Debug)]
struct Link {
    id: PolicyId,
    template: PolicyId,
    principal: Option<EntityUid>,
    resource: Option<EntityUid>,
}

/// The links of a policy set, indexed by slot value, and the set without them.
#[derive(Debug)]
pub(crate) struct LinkIndex {
    base: PolicySet,
    links: Vec<Link>,
    by_principal: HashMap<EntityUid, Vec<usize>>,
    by_resource_only: HashMap<EntityUid, Vec<usize>>,
}

impl LinkIndex {
    /// `None` when the set has too few links to be worth slicing (or a link has no slot value,
    /// which Cedar does not allow; the full set is then used, which is always correct).
    pub(crate) fn build(set: &PolicySet) -> Option<Self> {
        let linked: Vec<_> = set.policies().filter(|p| !p.is_static()).collect();
        if linked.len() < LINK_INDEX_THRESHOLD {
            return None;
        }
        let mut base = PolicySet::new();
        for template in set.templates() {
            base.add_template(template.clone()).ok()?;
        }
        for policy in set.policies().filter(|p| p.is_static()) {
            base.add(policy.clone()).ok()?;
        }
        let mut index = LinkIndex {
            base,
            links: Vec::with_capacity(linked.len()),
            by_principal: HashMap::new(),
            by_resource_only: HashMap::new(),
        };
        for policy in linked {
            let values = policy.template_links()?;
            let link = Link {
                id: policy.id().clone(),
                template: policy.template_id()?.clone(),
                principal: values.get(&SlotId::principal()).cloned(),
                resource: values.get(&SlotId::resource()).cloned(),
            };
            let at = index.links.len();
            match (&link.principal, &link.resource) {
                (Some(p), _) => index.by_principal.entry(p.clone()).or_default().push(at),
                (None, Some(r)) => index
                    .by_resource_only
                    .entry(r.clone())
                    .or_default()
                    .push(at),
                (None, None) => return None,
            }
            index.links.push(link);
        }
        Some(index)
    }

    /// The static policies and templates plus every link that could apply to `request`.
    pub(crate) fn slice(&self, request: &Request, entities: &Entities) -> PolicySet {
        let with_ancestors = |uid: &EntityUid| -> HashSet<EntityUid> {
            iter::once(uid.clone())
                .chain(entities.ancestors(uid).into_iter().flatten().cloned())
                .collect()
        };
        let principals = with_ancestors(request.principal());
        let resources = with_ancestors(request.resource());
        let mut set = self.base.clone();
        let candidates = principals
            .iter()
            .filter_map(|p| self.by_principal.get(p))
            .chain(
                resources
                    .iter()
                    .filter_map(|r| self.by_resource_only.get(r)),
            )
            .flatten();
        for &at in candidates {
            let link = &self.links[at];
            if link
                .resource
                .as_ref()
                .is_some_and(|r| !resources.contains(r))
            {
                continue;
            }
            let mut values = HashMap::new();
            if let Some(p) = &link.principal {
                values.insert(SlotId::principal(), p.clone());
            }
            if let Some(r) = &link.resource {
                values.insert(SlotId::resource(), r.clone());
            }
            // Each link is reached once (one index entry, distinct keys) and was linked into
            // the full set already, so linking it again into the slice cannot fail.
            let linked = set.link(link.template.clone(), link.id.clone(), values);
            debug_assert!(linked.is_ok(), "relinking {} failed", link.id);
        }
        set
    }
}
