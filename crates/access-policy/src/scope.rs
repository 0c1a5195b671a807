//! Policy scopes (`principal in G`, `action in [..]`, `resource is T`) checked directly, for
//! slicing policy sets and explaining scope misses.

use cedar_policy::{
    ActionConstraint, Entities, EntityUid, Policy, PrincipalConstraint, ResourceConstraint,
};

/// `b in a`, reflexive.
pub(crate) fn is_in(entities: &Entities, b: &EntityUid, a: &EntityUid) -> bool {
    a == b || entities.is_ancestor_of(a, b)
}

pub(crate) fn principal_matches(
    c: &PrincipalConstraint,
    uid: &EntityUid,
    entities: &Entities,
) -> bool {
    match c {
        PrincipalConstraint::Any => true,
        PrincipalConstraint::Eq(e) => uid == e,
        PrincipalConstraint::In(e) => is_in(entities, uid, e),
        PrincipalConstraint::Is(t) => uid.type_name() == t,
        PrincipalConstraint::IsIn(t, e) => uid.type_name() == t && is_in(entities, uid, e),
    }
}

pub(crate) fn resource_matches(
    c: &ResourceConstraint,
    uid: &EntityUid,
    entities: &Entities,
) -> bool {
    match c {
        ResourceConstraint::Any => true,
        ResourceConstraint::Eq(e) => uid == e,
        ResourceConstraint::In(e) => is_in(entities, uid, e),
        ResourceConstraint::Is(t) => uid.type_name() == t,
        ResourceConstraint::IsIn(t, e) => uid.type_name() == t && is_in(entities, uid, e),
    }
}

pub(crate) fn action_matches(c: &ActionConstraint, uid: &EntityUid, entities: &Entities) -> bool {
    match c {
        ActionConstraint::Any => true,
        ActionConstraint::Eq(e) => uid == e,
        ActionConstraint::In(es) => es.iter().any(|e| is_in(entities, uid, e)),
    }
}

pub(crate) fn principal_text(c: &PrincipalConstraint) -> Option<String> {
    Some(match c {
        PrincipalConstraint::Any => return None,
        PrincipalConstraint::Eq(e) => format!("principal == {e}"),
        PrincipalConstraint::In(e) => format!("principal in {e}"),
        PrincipalConstraint::Is(t) => format!("principal is {t}"),
        PrincipalConstraint::IsIn(t, e) => format!("principal is {t} in {e}"),
    })
}

pub(crate) fn resource_text(c: &ResourceConstraint) -> Option<String> {
    Some(match c {
        ResourceConstraint::Any => return None,
        ResourceConstraint::Eq(e) => format!("resource == {e}"),
        ResourceConstraint::In(e) => format!("resource in {e}"),
        ResourceConstraint::Is(t) => format!("resource is {t}"),
        ResourceConstraint::IsIn(t, e) => format!("resource is {t} in {e}"),
    })
}

pub(crate) fn action_text(c: &ActionConstraint) -> Option<String> {
    Some(match c {
        ActionConstraint::Any => return None,
        ActionConstraint::Eq(e) => format!("action == {e}"),
        ActionConstraint::In(es) => format!(
            "action in [{}]",
            es.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
}

/// Whether `policy` can apply to requests by `principal` for `action` (its resource scope and
/// conditions are not looked at).
pub(crate) fn may_apply(
    policy: &Policy,
    principal: &EntityUid,
    action: &EntityUid,
    entities: &Entities,
) -> bool {
    action_matches(&policy.action_constraint(), action, entities)
        && principal_matches(&policy.principal_constraint(), principal, entities)
}
