//! Authorization: every route asks the access-policy engine, over the file-platform pack plus
//! the server's own policies (`policies/`), with the request's context (time, IP, MFA, device).
//!
//! The server builds the entities a decision needs (principal, resource, its folders, links)
//! from its database for each request; nothing is cached, so every process decides alike.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};
use strongroom_access_policy::pack::{
    self, Graph, PackContext, Res, ResourceOptions, Role, TeamRole, Who,
};
use strongroom_access_policy::{
    DecisionEvent, DecisionSink, PolicyBundle, PolicyEngine, Request, Timestamp, entities_from_json,
};

use crate::attributes::{UserAttributes, UserFields};
use crate::error::Error;

/// The server's schema additions.
pub const SERVER_SCHEMA: &str = include_str!("../policies/platform.cedarschema");
/// The server's policies.
pub const SERVER_POLICIES: &str = include_str!("../policies/platform.cedar");
/// Added when registration is open.
pub const REGISTRATION_POLICY: &str = include_str!("../policies/registration.cedar");

/// The group administrators are in (`Group::"admins"`); no other group may take its id.
pub const ADMINS: &str = "admins";

/// Pack policies the server leaves out, and why: the server has no second factor yet, so a
/// rule that demands one for deleting and sharing would refuse those to everyone.
pub const OMITTED_PACK_POLICIES: &[&str] = &["mfa-for-sensitive"];

/// The server's policy bundle: the pack (with the users' tags and declared fields), the
/// server's policies, and the operator's.
pub fn bundle(
    open_registration: bool,
    extra: &[(String, String)],
    fields: &UserFields,
) -> Result<PolicyBundle, strongroom_access_policy::Error> {
    let schema = format!(
        "{}\n{}",
        pack::schema_with_user_attributes(&fields.cedar_declarations()),
        SERVER_SCHEMA
    );
    let mut b = PolicyBundle::from_cedarschema(&schema)?;
    let mut policies = pack::POLICIES.to_owned();
    for id in OMITTED_PACK_POLICIES {
        policies = without_policy(&policies, id);
    }
    b.add_policies("file_platform", &policies)?;
    b.add_policies("shares", pack::SHARE_TEMPLATES)?;
    b.add_policies("platform", SERVER_POLICIES)?;
    if open_registration {
        b.add_policies("registration", REGISTRATION_POLICY)?;
    }
    // The operator's own policies (`auth.policy_dir`): typically forbids that narrow the
    // defaults, e.g. metrics only from the monitoring network.
    for (name, text) in extra {
        b.add_policies(&format!("operator/{name}"), text)?;
    }
    Ok(b)
}

/// `text` without the policy annotated `@id("<id>")` (up to the next `@id`).
fn without_policy(text: &str, id: &str) -> String {
    let marker = format!("@id(\"{id}\")");
    let Some(start) = text.find(&marker) else {
        return text.to_owned();
    };
    let end = text[start + marker.len()..]
        .find("@id(")
        .map_or(text.len(), |i| start + marker.len() + i);
    format!("{}{}", &text[..start], &text[end..])
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A signed-in user.
    User {
        /// User id.
        id: String,
        /// Member of the admins group.
        admin: bool,
    },
    /// A share-link holder (the link was found and its password, if any, checked).
    Link {
        /// Link id.
        id: String,
        /// The file it opens.
        file_id: String,
        /// When it stops granting.
        expires: Timestamp,
    },
    /// Nobody signed in.
    Anonymous,
}

impl Principal {
    /// The user id, for users.
    pub fn user_id(&self) -> Option<&str> {
        match self {
            Principal::User { id, .. } => Some(id),
            _ => None,
        }
    }
}

/// A file or folder and what decisions about it need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// File or folder.
    pub is_file: bool,
    /// Id.
    pub id: String,
    /// Owner's user id.
    pub owner: String,
    /// Public (readable by anyone).
    pub public: bool,
    /// Parent folder id ('' at the root).
    pub parent: String,
    /// Users given a role on this node (shares with named users).
    pub grants: Vec<NodeGrant>,
}

/// Who holds a role on a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// A user, by id.
    User(String),
    /// Everyone in a group (directly or through nested groups), by group id.
    Group(String),
}

/// A role a user or group holds on a node, and who handed it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeGrant {
    /// Who holds the role.
    pub holder: Holder,
    /// The role.
    pub role: Role,
    /// Who shared it.
    pub granted_by: String,
    /// The sharer as a principal, while their account exists and is enabled.
    pub granter: Option<Principal>,
    /// When it stops granting (microseconds since the epoch), if it does: from then on a
    /// decision leaves it out, on every path and every server, with no sweeper involved.
    pub expires_at: Option<i64>,
}

/// The groups and team roles of the users a decision is about (the caller and the sharers on
/// the chain): groups direct and through nested groups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Memberships {
    /// user id -> group ids.
    pub groups: BTreeMap<String, BTreeSet<String>>,
    /// user id -> (team id, role in it).
    pub teams: BTreeMap<String, BTreeMap<String, TeamRole>>,
    /// user id -> their tags and custom fields.
    pub attributes: BTreeMap<String, UserAttributes>,
}

impl Memberships {
    /// From `(user, group)` pairs.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Memberships {
        let mut m = Memberships::default();
        for (user, group) in pairs {
            m.groups.entry(user).or_default().insert(group);
        }
        m
    }

    /// With `user` holding `role` in `team`.
    pub fn with_team_role(mut self, user: &str, team: &str, role: TeamRole) -> Memberships {
        self.teams
            .entry(user.to_owned())
            .or_default()
            .insert(team.to_owned(), role);
        self
    }

    /// The groups of `user`.
    pub fn of(&self, user: &str) -> impl Iterator<Item = &str> {
        self.groups
            .get(user)
            .into_iter()
            .flatten()
            .map(String::as_str)
    }

    /// The teams of `user`, with their role.
    pub fn teams_of(&self, user: &str) -> impl Iterator<Item = (&str, TeamRole)> {
        self.teams
            .get(user)
            .into_iter()
            .flatten()
            .map(|(t, r)| (t.as_str(), *r))
    }

    /// Whether `id` is a team any of these users is in.
    fn is_team(&self, id: &str) -> bool {
        self.teams.values().any(|t| t.contains_key(id))
    }
}

/// A team role by its stored name.
pub fn team_role(name: &str) -> Option<TeamRole> {
    match name {
        "admin" => Some(TeamRole::Admin),
        "editor" => Some(TeamRole::Editor),
        "guest" => Some(TeamRole::Guest),
        _ => None,
    }
}

/// What is being acted on.
#[derive(Debug, Clone)]
pub enum Target {
    /// The platform (registration, own root, observability, administration), with the group
    /// memberships, team roles and attributes of the caller.
    Platform(Memberships),
    /// An account, with the group memberships, team roles and attributes of the caller.
    Account(String, Memberships),
    /// A file or folder: the node first, then its ancestor folders, nearest first; and the
    /// group memberships and team roles of the caller and of the sharers on the chain.
    Resource(Vec<Node>, Memberships),
    /// A team, by id, with the caller's team roles.
    Team(String, Memberships),
}

/// Adds a file or folder and its ancestors (nearest first in `chain`) to `graph`, with the
/// team roles on a team's space and the shares in force at `now_micros`.
fn add_chain(graph: &mut Graph, chain: &[Node], groups: &Memberships, now_micros: i64) {
    // Ancestors first, so each node's parent exists when it is added.
    for node in chain.iter().rev() {
        graph.user(&node.owner, &[]);
        let opts = ResourceOptions {
            public: node.public,
            ..Default::default()
        };
        let parent = (!node.parent.is_empty()).then_some(node.parent.as_str());
        let res = if node.is_file {
            graph.file(&node.id, parent, &node.owner, &opts);
            Res::file(&node.id)
        } else {
            graph.folder(&node.id, parent, &node.owner, &opts);
            Res::folder(&node.id)
        };
        // A team's space: its admins own it, its editors edit it, its guests see it, and all
        // of that carries down the tree. Only users in the team make it matter, so it is
        // added when one of them is in the decision.
        if node.parent.is_empty() && groups.is_team(&node.owner) {
            graph.team(&node.owner);
            for (role, on) in [
                (TeamRole::Admin, Role::Owner),
                (TeamRole::Editor, Role::Editor),
                (TeamRole::Guest, Role::Viewer),
            ] {
                graph.grant(&res, &Who::Team(node.owner.clone(), role), on);
            }
        }
        // An expired share is left out: it grants nothing from `now` on.
        for g in node
            .grants
            .iter()
            .filter(|g| g.expires_at.is_none_or(|e| now_micros < e))
        {
            let who = match &g.holder {
                Holder::User(u) => {
                    graph.user(u, &[]);
                    Who::User(u.clone())
                }
                Holder::Group(id) => {
                    graph.group(id, &[]);
                    Who::Group(id.clone())
                }
            };
            graph.grant(&res, &who, g.role);
        }
    }
}

/// What the request carries besides identity.
#[derive(Debug, Clone)]
pub struct RequestFacts {
    /// Client IP.
    pub ip: std::net::IpAddr,
    /// Second factor passed.
    pub mfa: bool,
    /// Trusted device.
    pub device_trusted: bool,
}

/// What one decision is made over.
struct DecisionInputs {
    principal: strongroom_access_policy::cedar_policy::EntityUid,
    resource: strongroom_access_policy::cedar_policy::EntityUid,
    context: Value,
    entities: strongroom_access_policy::cedar_policy::Entities,
}

/// Counts decisions by outcome (for `/metrics` and for the route-coverage test).
#[derive(Debug, Default)]
pub struct DecisionCounter {
    /// Allowed decisions.
    pub allowed: AtomicU64,
    /// Denied decisions.
    pub denied: AtomicU64,
}

impl DecisionSink for DecisionCounter {
    fn record(&self, event: &DecisionEvent<'_>) {
        let c = if event.decision.allowed {
            &self.allowed
        } else {
            &self.denied
        };
        c.fetch_add(1, Ordering::Relaxed);
    }
}

impl DecisionCounter {
    /// All decisions so far.
    pub fn total(&self) -> u64 {
        self.allowed.load(Ordering::Relaxed) + self.denied.load(Ordering::Relaxed)
    }
}

/// The policy decision point as the server uses it.
#[derive(Debug, Clone)]
pub struct Authorizer {
    engine: Arc<PolicyEngine>,
    fields: UserFields,
    clock: Arc<dyn crate::clock::Clock>,
    /// Decision counts.
    pub counter: Arc<DecisionCounter>,
}

impl Authorizer {
    /// An authorizer over the server bundle.
    pub fn new(open_registration: bool) -> Result<Authorizer, strongroom_access_policy::Error> {
        Authorizer::with_policies(open_registration, &[])
    }

    /// An authorizer over the server bundle plus the operator's policies (name, Cedar text).
    pub fn with_policies(
        open_registration: bool,
        extra: &[(String, String)],
    ) -> Result<Authorizer, strongroom_access_policy::Error> {
        Authorizer::build(open_registration, extra, UserFields::default())
    }

    /// An authorizer over the server bundle plus the operator's policies, with the users'
    /// declared custom fields readable by policies.
    pub fn build(
        open_registration: bool,
        extra: &[(String, String)],
        fields: UserFields,
    ) -> Result<Authorizer, strongroom_access_policy::Error> {
        let counter = Arc::new(DecisionCounter::default());
        let engine = PolicyEngine::builder(bundle(open_registration, extra, &fields)?)
            .decision_sink(counter.clone())
            .build()?;
        Ok(Authorizer {
            engine: Arc::new(engine),
            fields,
            clock: Arc::new(crate::clock::SystemClock),
            counter,
        })
    }

    /// Decides with `clock`'s time (`context.now`: link expiry, embargoes).
    pub fn with_clock(mut self, clock: Arc<dyn crate::clock::Clock>) -> Authorizer {
        self.clock = clock;
        self
    }

    /// The principal, resource, context and entities a decision by `who` on `target` is made
    /// over, as of the clock's now (expired shares left out).
    fn inputs(
        &self,
        who: &Principal,
        target: &Target,
        facts: &RequestFacts,
    ) -> Result<DecisionInputs, Error> {
        self.inputs_over(who, target, &[], facts)
    }

    /// [`Authorizer::inputs`] with `more` files and folders (each with its ancestors) in the
    /// entities besides the target, for deciding on many at once.
    fn inputs_over(
        &self,
        who: &Principal,
        target: &Target,
        more: &[Vec<Node>],
        facts: &RequestFacts,
    ) -> Result<DecisionInputs, Error> {
        let now_micros = self.clock.now_micros();
        let now = Timestamp::from_millis(now_micros / 1000)?;
        let groups = match target {
            Target::Resource(_, m)
            | Target::Team(_, m)
            | Target::Platform(m)
            | Target::Account(_, m) => m,
        };
        let mut ctx = PackContext::new(now, &facts.ip.to_string());
        ctx.mfa = facts.mfa;
        ctx.device_trusted = facts.device_trusted;

        let mut graph = Graph::new();
        graph.anonymous();
        let principal_uid = match who {
            Principal::User { id, admin } => {
                let mut of: Vec<&str> = groups.of(id).collect();
                if *admin {
                    of.push(ADMINS);
                }
                graph.user(id, &of);
                for (team, role) in groups.teams_of(id) {
                    graph.team(team).team_member(team, id, role);
                }
                pack::user(id)?
            }
            Principal::Link {
                id,
                file_id,
                expires,
            } => {
                graph.share_link(id, &Res::file(file_id), Role::Viewer, *expires);
                pack::link(id)?
            }
            Principal::Anonymous => pack::anonymous()?,
        };
        let mut extra = Vec::new();
        let resource_uid = match target {
            Target::Platform(_) => {
                extra.push(json!({ "uid": { "type": "Platform", "id": "strongroom" }, "attrs": {}, "parents": [] }));
                strongroom_access_policy::entity_uid("Platform", "strongroom")?
            }
            Target::Account(id, _) => {
                graph.user(id, &[]);
                pack::user(id)?
            }
            Target::Team(id, _) => {
                graph.team(id);
                pack::team(id)?
            }
            Target::Resource(chain, _) => {
                add_chain(&mut graph, chain, groups, now_micros);
                for chain in more {
                    add_chain(&mut graph, chain, groups, now_micros);
                }
                let first = chain
                    .first()
                    .ok_or_else(|| Error::Internal("empty resource chain".into()))?;
                if first.is_file {
                    pack::file(&first.id)?
                } else {
                    pack::folder(&first.id)?
                }
            }
        };
        let mut all = match graph.to_json() {
            Value::Array(v) => v,
            _ => Vec::new(),
        };
        // Every user carries their tags and fields (none known: no tags), so a policy may
        // read `principal.tags` without asking `has` first.
        let none = UserAttributes::default();
        for e in &mut all {
            if e["uid"]["type"] == "User" {
                let id = e["uid"]["id"].as_str().unwrap_or_default();
                let attrs = self
                    .fields
                    .to_cedar(groups.attributes.get(id).unwrap_or(&none));
                if let Some(map) = e["attrs"].as_object_mut() {
                    map.extend(attrs);
                }
            }
        }
        all.extend(extra);
        let entities = entities_from_json(Value::Array(all), Some(&self.engine.schema()))?;
        Ok(DecisionInputs {
            principal: principal_uid,
            resource: resource_uid,
            context: ctx.to_json(),
            entities,
        })
    }

    /// The request and entities of one decision, as [`Authorizer::check`] builds them: for
    /// measuring the policy engine alone against the whole decision (`examples/authorize_bench.rs`).
    pub fn decision_inputs(
        &self,
        who: &Principal,
        action: &str,
        target: &Target,
        facts: &RequestFacts,
    ) -> Result<(Request, strongroom_access_policy::cedar_policy::Entities), Error> {
        let i = self.inputs(who, target, facts)?;
        let request = self.engine.request(
            Request::builder()
                .principal_uid(i.principal)
                .action(action)
                .resource_uid(i.resource)
                .context_json(i.context),
        )?;
        Ok((request, i.entities))
    }

    /// The policies in force, for measuring the engine alone.
    pub fn policy_set(&self) -> strongroom_access_policy::cedar_policy::PolicySet {
        self.engine.bundle().policy_set().clone()
    }

    /// Allows or refuses `action` by `who` on `target`. A refusal is a 403 whose explanation is
    /// included only for the owner of the resource or an admin, or a 404 when the caller may not
    /// even read the file or folder (so its id reveals nothing) and is no administrator. Both
    /// questions are answered over the one entity set built for the decision.
    pub fn check(
        &self,
        who: &Principal,
        action: &str,
        target: &Target,
        facts: &RequestFacts,
    ) -> Result<(), Error> {
        let DecisionInputs {
            principal: principal_uid,
            resource: resource_uid,
            context,
            entities,
        } = self.inputs(who, target, facts)?;
        let request = match self.engine.request(
            Request::builder()
                .principal_uid(principal_uid.clone())
                .action(action)
                .resource_uid(resource_uid.clone())
                .context_json(context.clone()),
        ) {
            Ok(r) => r,
            // The schema does not let this kind of principal take this action at all (an
            // anonymous caller creating a folder): deny by default, like a decision would.
            Err(strongroom_access_policy::Error::InvalidRequest(_)) => {
                self.counter.denied.fetch_add(1, Ordering::Relaxed);
                return Err(Error::Forbidden {
                    detail: format!("the access policy does not allow {action} to this caller"),
                    explanation: None,
                });
            }
            Err(e) => return Err(e.into()),
        };
        let decision = self.engine.authorize(&request, &entities);
        if decision.allowed {
            return Ok(());
        }
        if let Target::Resource(..) = target
            && !matches!(who, Principal::User { admin: true, .. })
        {
            let may_read = action != "read"
                && self
                    .engine
                    .request(
                        Request::builder()
                            .principal_uid(principal_uid)
                            .action("read")
                            .resource_uid(resource_uid)
                            .context_json(context.clone()),
                    )
                    .is_ok_and(|read| self.engine.authorize(&read, &entities).allowed);
            if !may_read {
                return Err(Error::NotFound("no such file or folder".into()));
            }
        }
        let may_see_why = match (who, target) {
            (Principal::User { admin: true, .. }, _) => true,
            (Principal::User { id, .. }, Target::Resource(chain, _)) => {
                chain.first().is_some_and(|n| &n.owner == id)
            }
            _ => false,
        };
        let explanation = may_see_why
            .then(|| serde_json::to_value(self.engine.explain(&request, &entities)).ok())
            .flatten();
        Err(Error::Forbidden {
            detail: format!("the access policy does not allow {action} here"),
            explanation,
        })
    }

    /// Which of many files and folders (each with its ancestors, nearest first, and the shares
    /// on them) `who` may take `action` on, in their order: one entity set for all of them and
    /// the engine's list support (policies that cannot apply to this principal and action set
    /// aside once), not a decision built per item. Refusals here are not denials: nothing is
    /// recorded.
    pub fn allowed_many(
        &self,
        who: &Principal,
        action: &str,
        chains: &[Vec<Node>],
        groups: &Memberships,
        facts: &RequestFacts,
    ) -> Result<Vec<bool>, Error> {
        let Some((first, rest)) = chains.split_first() else {
            return Ok(Vec::new());
        };
        let i = self.inputs_over(
            who,
            &Target::Resource(first.clone(), groups.clone()),
            rest,
            facts,
        )?;
        let mut candidates = Vec::with_capacity(chains.len());
        for chain in chains {
            let node = chain
                .first()
                .ok_or_else(|| Error::Internal("empty resource chain".into()))?;
            candidates.push(if node.is_file {
                pack::file(&node.id)?
            } else {
                pack::folder(&node.id)?
            });
        }
        let allowed = match self.engine.list_resources(
            &i.principal,
            &pack::action(action)?,
            &candidates,
            &i.context,
            &i.entities,
        ) {
            Ok(a) => a,
            // This kind of principal may not take this action at all: nothing is allowed.
            Err(strongroom_access_policy::Error::InvalidRequest(_)) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        let allowed: std::collections::HashSet<_> = allowed.into_iter().collect();
        let answers: Vec<bool> = candidates.iter().map(|c| allowed.contains(c)).collect();
        // The engine's list support reports no decisions of its own: count them here, one per
        // item, like single decisions.
        let yes = answers.iter().filter(|a| **a).count() as u64;
        self.counter.allowed.fetch_add(yes, Ordering::Relaxed);
        self.counter
            .denied
            .fetch_add(answers.len() as u64 - yes, Ordering::Relaxed);
        Ok(answers)
    }

    /// Keeps only the grants whose sharer still holds the right they were made from: the owner
    /// of the node, or someone who may `share` it now (through the grants that remain). A share
    /// an editor made ends when the editor loses the role, the item moves out of their reach, or
    /// their account is disabled or deleted. Removing one grant can void others, so this runs to
    /// a fixed point; chains are short and most grants come from owners, who need no decision.
    pub fn effective(
        &self,
        mut chain: Vec<Node>,
        groups: &Memberships,
        facts: &RequestFacts,
    ) -> Vec<Node> {
        loop {
            let mut void = None;
            'find: for (i, node) in chain.iter().enumerate() {
                for (j, g) in node.grants.iter().enumerate() {
                    if g.granted_by == node.owner {
                        continue;
                    }
                    let holds = g.granter.as_ref().is_some_and(|p| {
                        self.check(
                            p,
                            "share",
                            &Target::Resource(chain[i..].to_vec(), groups.clone()),
                            facts,
                        )
                        .is_ok()
                    });
                    if !holds {
                        void = Some((i, j));
                        break 'find;
                    }
                }
            }
            match void {
                Some((i, j)) => {
                    chain[i].grants.remove(j);
                }
                None => return chain,
            }
        }
    }

    /// The policy ids in force.
    pub fn policy_ids(&self) -> Vec<String> {
        self.engine
            .policies()
            .iter()
            .map(|p| p.id.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> RequestFacts {
        RequestFacts {
            ip: "127.0.0.1".parse().unwrap(),
            mfa: false,
            device_trusted: false,
        }
    }

    fn user(id: &str) -> Principal {
        Principal::User {
            id: id.into(),
            admin: false,
        }
    }

    fn grant(user: &str, role: Role, by: &str) -> NodeGrant {
        NodeGrant {
            holder: Holder::User(user.into()),
            role,
            granted_by: by.into(),
            granter: Some(self::user(by)),
            expires_at: None,
        }
    }

    #[test]
    fn shares_end_with_their_sharers_right() {
        let a = Authorizer::new(true).unwrap();
        // ann owns d1; bob is an editor there and shared f1 (inside) with carl.
        let folder = |grants| Node {
            is_file: false,
            id: "d1".into(),
            owner: "ann".into(),
            public: false,
            parent: String::new(),
            grants,
        };
        let mut f1 = file("f1", "ann", false, "d1");
        f1.grants = vec![grant("carl", Role::Viewer, "bob")];
        let chain = vec![f1.clone(), folder(vec![grant("bob", Role::Editor, "ann")])];
        let kept = a.effective(chain, &Memberships::default(), &facts());
        assert_eq!(kept[0].grants.len(), 1, "bob may share, carl's role holds");
        a.check(
            &user("carl"),
            "read",
            &Target::Resource(kept, Memberships::default()),
            &facts(),
        )
        .unwrap();
        // bob is only a viewer now: carl's share goes.
        let chain = vec![f1.clone(), folder(vec![grant("bob", Role::Viewer, "ann")])];
        let kept = a.effective(chain, &Memberships::default(), &facts());
        assert!(kept[0].grants.is_empty());
        assert!(
            a.check(
                &user("carl"),
                "read",
                &Target::Resource(kept, Memberships::default()),
                &facts()
            )
            .is_err()
        );
        // bob's role gone entirely, or bob's account gone: likewise, and transitively.
        let mut f1b = f1.clone();
        f1b.grants.push(grant("dave", Role::Viewer, "carl"));
        let kept = a.effective(vec![f1b, folder(vec![])], &Memberships::default(), &facts());
        assert!(kept[0].grants.is_empty(), "{kept:?}");
        let mut gone = grant("bob", Role::Editor, "ann");
        gone.granter = Some(user("ann"));
        let mut carl = grant("carl", Role::Viewer, "bob");
        carl.granter = None;
        f1.grants = vec![carl];
        let kept = a.effective(
            vec![f1, folder(vec![gone])],
            &Memberships::default(),
            &facts(),
        );
        assert!(kept[0].grants.is_empty());
    }

    fn file(id: &str, owner: &str, public: bool, parent: &str) -> Node {
        Node {
            is_file: true,
            id: id.into(),
            owner: owner.into(),
            public,
            parent: parent.into(),
            grants: Vec::new(),
        }
    }

    #[test]
    fn bundle_keeps_the_pack_but_the_mfa_rule() {
        let a = Authorizer::new(true).unwrap();
        let ids = a.policy_ids();
        assert!(ids.iter().any(|i| i == "owner-all"));
        assert!(ids.iter().any(|i| i == "expired-link"));
        assert!(ids.iter().any(|i| i == "open-registration"));
        assert!(!ids.iter().any(|i| i == "mfa-for-sensitive"));
        let closed = Authorizer::new(false).unwrap();
        assert!(!closed.policy_ids().iter().any(|i| i == "open-registration"));
        let err = closed
            .check(
                &Principal::Anonymous,
                "register",
                &Target::Platform(Memberships::default()),
                &facts(),
            )
            .unwrap_err();
        assert!(matches!(err, Error::Forbidden { .. }));
    }

    #[test]
    fn operator_policies_narrow_the_defaults_and_bad_ones_are_refused() {
        let metrics_private = (
            "observe.cedar".to_owned(),
            "forbid (principal is Anonymous, action == Action::\"observe\", resource);".to_owned(),
        );
        let a = Authorizer::with_policies(true, &[metrics_private]).unwrap();
        let err = a
            .check(
                &Principal::Anonymous,
                "observe",
                &Target::Platform(Memberships::default()),
                &facts(),
            )
            .unwrap_err();
        assert!(matches!(err, Error::Forbidden { .. }));
        a.check(
            &user("ann"),
            "observe",
            &Target::Platform(Memberships::default()),
            &facts(),
        )
        .unwrap();
        let typo = (
            "bad.cedar".to_owned(),
            "forbid (principal, action == Action::\"obsreve\", resource);".to_owned(),
        );
        let err = Authorizer::with_policies(true, &[typo]).unwrap_err();
        assert!(err.to_string().contains("obsreve"), "{err}");
    }

    #[test]
    fn owners_act_others_are_refused_without_explanation() {
        let a = Authorizer::new(true).unwrap();
        let f = Target::Resource(vec![file("f1", "ann", false, "")], Memberships::default());
        a.check(&user("ann"), "delete", &f, &facts()).unwrap();
        // bob may not even read it: it does not exist for him.
        let err = a.check(&user("bob"), "read", &f, &facts()).unwrap_err();
        assert!(matches!(err, Error::NotFound(_)), "{err:?}");
        let err = a.check(&user("bob"), "delete", &f, &facts()).unwrap_err();
        assert!(matches!(err, Error::NotFound(_)), "{err:?}");
        // Someone who may read but not delete gets the 403, without the explanation.
        let mut shared = file("f1", "ann", false, "");
        shared.grants = vec![grant("bob", Role::Viewer, "ann")];
        let shared = Target::Resource(vec![shared], Memberships::default());
        let err = a
            .check(&user("bob"), "delete", &shared, &facts())
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Forbidden {
                    explanation: None,
                    ..
                }
            ),
            "{err:?}"
        );
        let admin = Principal::User {
            id: "root".into(),
            admin: true,
        };
        let err = a.check(&admin, "read", &f, &facts()).unwrap_err();
        assert!(matches!(
            err,
            Error::Forbidden {
                explanation: Some(_),
                ..
            }
        ));
        a.check(
            &admin,
            "read_audit",
            &Target::Platform(Memberships::default()),
            &facts(),
        )
        .unwrap();
        assert!(
            a.check(
                &user("bob"),
                "read_audit",
                &Target::Platform(Memberships::default()),
                &facts()
            )
            .is_err()
        );
    }

    #[test]
    fn folders_public_flags_and_links() {
        let a = Authorizer::new(true).unwrap();
        let folder = Node {
            is_file: false,
            id: "d1".into(),
            owner: "ann".into(),
            public: true,
            parent: String::new(),
            grants: Vec::new(),
        };
        let in_public_folder = Target::Resource(
            vec![file("f2", "ann", false, "d1"), folder],
            Memberships::default(),
        );
        // Public is a flag on the node itself; the folder's flag does not leak to children.
        assert!(
            a.check(&Principal::Anonymous, "read", &in_public_folder, &facts())
                .is_err()
        );
        let public_file =
            Target::Resource(vec![file("f3", "ann", true, "")], Memberships::default());
        a.check(&Principal::Anonymous, "download", &public_file, &facts())
            .unwrap();
        assert!(
            a.check(&Principal::Anonymous, "write", &public_file, &facts())
                .is_err()
        );

        let target = Target::Resource(vec![file("f4", "ann", false, "")], Memberships::default());
        let live = Principal::Link {
            id: "l1".into(),
            file_id: "f4".into(),
            expires: Timestamp::from_millis(i64::from(u32::MAX) * 1000).unwrap(),
        };
        a.check(&live, "download", &target, &facts()).unwrap();
        assert!(a.check(&live, "delete", &target, &facts()).is_err());
        let expired = Principal::Link {
            id: "l2".into(),
            file_id: "f4".into(),
            expires: Timestamp::from_millis(1_000).unwrap(),
        };
        assert!(a.check(&expired, "download", &target, &facts()).is_err());
        // A viewer grant on the folder reaches the file inside; it allows reading, not deleting.
        let mut folder = Node {
            is_file: false,
            id: "d9".into(),
            owner: "ann".into(),
            public: false,
            parent: String::new(),
            grants: vec![grant("bob", Role::Viewer, "ann")],
        };
        let shared = Target::Resource(
            vec![file("f9", "ann", false, "d9"), folder.clone()],
            Memberships::default(),
        );
        a.check(&user("bob"), "download", &shared, &facts())
            .unwrap();
        assert!(a.check(&user("bob"), "delete", &shared, &facts()).is_err());
        assert!(a.check(&user("carl"), "read", &shared, &facts()).is_err());
        folder.grants = vec![grant("bob", Role::Editor, "ann")];
        let shared = Target::Resource(
            vec![file("f9", "ann", false, "d9"), folder],
            Memberships::default(),
        );
        a.check(&user("bob"), "delete", &shared, &facts()).unwrap();

        let other = Principal::Link {
            id: "l3".into(),
            file_id: "f-other".into(),
            expires: Timestamp::from_millis(i64::from(u32::MAX) * 1000).unwrap(),
        };
        assert!(a.check(&other, "download", &target, &facts()).is_err());
    }

    #[test]
    fn group_grants_reach_members_and_expired_grants_nothing() {
        let clock = Arc::new(crate::clock::ManualClock::starting_now());
        let a = Authorizer::new(true).unwrap().with_clock(clock.clone());
        let now = crate::clock::Clock::now_micros(clock.as_ref());
        let mut f = file("f1", "ann", false, "");
        f.grants = vec![NodeGrant {
            holder: Holder::Group("eng".into()),
            ..grant("nobody", Role::Viewer, "ann")
        }];
        let groups = Memberships::from_pairs([("bob".to_owned(), "eng".to_owned())]);
        let target = Target::Resource(vec![f.clone()], groups.clone());
        a.check(&user("bob"), "download", &target, &facts())
            .unwrap();
        assert!(a.check(&user("carl"), "read", &target, &facts()).is_err());
        let outside = Target::Resource(vec![f], Memberships::default());
        assert!(
            a.check(&user("bob"), "read", &outside, &facts()).is_err(),
            "no membership, no role"
        );

        let mut g = file("f2", "ann", false, "");
        g.grants = vec![NodeGrant {
            expires_at: Some(now + 1_000_000),
            ..grant("bob", Role::Viewer, "ann")
        }];
        let target = Target::Resource(vec![g], Memberships::default());
        a.check(&user("bob"), "read", &target, &facts()).unwrap();
        clock.advance_secs(1);
        assert!(
            a.check(&user("bob"), "read", &target, &facts()).is_err(),
            "expired at the clock's now"
        );
    }
}

#[cfg(test)]
mod many {
    use super::*;

    fn facts() -> RequestFacts {
        RequestFacts {
            ip: "127.0.0.1".parse().unwrap(),
            mfa: false,
            device_trusted: false,
        }
    }

    fn node(is_file: bool, id: &str, owner: &str, public: bool, parent: &str) -> Node {
        Node {
            is_file,
            id: id.into(),
            owner: owner.into(),
            public,
            parent: parent.into(),
            grants: Vec::new(),
        }
    }

    /// Deciding on many at once answers what deciding on each answers.
    #[test]
    fn many_at_once_agree_with_one_by_one() {
        let a = Authorizer::new(true).unwrap();
        let carl = Principal::User {
            id: "carl".into(),
            admin: false,
        };
        let mut shared_dir = node(false, "d1", "ann", false, "");
        shared_dir.grants.push(NodeGrant {
            holder: Holder::User("carl".into()),
            role: Role::Viewer,
            granted_by: "ann".into(),
            granter: None,
            expires_at: None,
        });
        let mut expired = node(true, "f5", "ann", false, "");
        expired.grants.push(NodeGrant {
            holder: Holder::User("carl".into()),
            role: Role::Viewer,
            granted_by: "ann".into(),
            granter: None,
            expires_at: Some(1),
        });
        let chains = vec![
            vec![node(true, "f1", "carl", false, "")],
            vec![node(true, "f2", "ann", false, "")],
            vec![node(true, "f3", "ann", false, "d1"), shared_dir.clone()],
            vec![node(true, "f4", "bob", true, "")],
            vec![expired],
            vec![node(false, "d2", "ann", false, "d1"), shared_dir],
        ];
        let m = Memberships::default();
        let many = a
            .allowed_many(&carl, "read", &chains, &m, &facts())
            .unwrap();
        let one: Vec<bool> = chains
            .iter()
            .map(|c| {
                a.check(
                    &carl,
                    "read",
                    &Target::Resource(c.clone(), m.clone()),
                    &facts(),
                )
                .is_ok()
            })
            .collect();
        assert_eq!(many, [true, false, true, true, false, true]);
        assert_eq!(many, one);
        let write = a
            .allowed_many(&carl, "write", &chains, &m, &facts())
            .unwrap();
        assert_eq!(write, [true, false, false, false, false, false]);
        assert!(
            a.allowed_many(&Principal::Anonymous, "write", &chains, &m, &facts())
                .unwrap()
                .iter()
                .all(|w| !w)
        );
    }
}
