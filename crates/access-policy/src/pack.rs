//! The built-in file-platform schema and policies, and helpers to build its entities and context.
//!
//! Entity types: `User`, `Group`, `Team`, `Folder`, `File`, `ShareLink`, `Anonymous`, `Role`.
//! Each folder and file has four role entities (owner ⊂ editor ⊂ commenter ⊂ viewer by
//! membership) named `Role::"folder:<id>#<role>"` / `Role::"file:<id>#<role>"`; a folder's role
//! entities are members of each child's, so roles inherit down folders. Teams have
//! `Role::"team:<id>#admin|editor|guest"`. [`Graph`] builds all of that.
//!
//! Actions: `read`, `download`, `list`, `comment`, `write`, `delete`, `share`, `manage`,
//! `view_team`, `manage_team`. The context ([`PackContext`]) carries `now`, `ip`, `mfa`,
//! `device_trusted`, `risk_score` and `country`.
//!
//! Scoped shares are the templates `share-viewer`, `share-commenter` and `share-editor`
//! (`principal in ?principal`, `resource in ?resource`), linked with [`share`] and an optional
//! expiry. The policy text is in `policies/` of this crate; replace it with your own by building
//! a [`PolicyBundle`] from your own schema and policies.

use std::collections::{BTreeMap, BTreeSet};

use cedar_policy::{Entities, EntityUid, Schema};
use serde_json::{Map, Value, json};

use crate::bundle::{PolicyBundle, TemplateLink, parse_schema};
use crate::clock::Timestamp;
use crate::engine::PolicyEngine;
use crate::error::{Error, Result};
use crate::request::{entities_from_json, entity_uid};

/// The pack's schema (Cedar schema syntax).
pub const SCHEMA: &str = include_str!("../policies/file_platform.cedarschema");
/// The pack's policies.
pub const POLICIES: &str = include_str!("../policies/file_platform.cedar");
/// The pack's share templates.
pub const SHARE_TEMPLATES: &str = include_str!("../policies/shares.cedar");

/// The `User` entity's attributes as [`SCHEMA`] declares them.
const USER_ATTRIBUTES: &str = "entity User in [Group, Role] = {\n  \"email\"?: String,\n";

/// [`SCHEMA`] with more attributes on `User`: Cedar attribute declarations such as
/// `"tags": Set<String>, "department"?: String,` (each ending in a comma), for a platform that
/// keeps tags or custom fields on its users and lets policies read them (`principal.department`).
///
/// ```
/// use strongroom_access_policy::pack;
/// let text = pack::schema_with_user_attributes(r#""clearance"?: Long,"#);
/// assert!(strongroom_access_policy::parse_schema(&text).is_ok());
/// ```
pub fn schema_with_user_attributes(declarations: &str) -> String {
    debug_assert!(SCHEMA.contains(USER_ATTRIBUTES));
    SCHEMA.replacen(
        USER_ATTRIBUTES,
        &format!("{USER_ATTRIBUTES}  {declarations}\n"),
        1,
    )
}

/// The pack's schema, parsed.
pub fn schema() -> Result<Schema> {
    parse_schema(SCHEMA)
}

/// The pack as a bundle (schema, policies and share templates; no links).
pub fn bundle() -> Result<PolicyBundle> {
    let mut b = PolicyBundle::from_cedarschema(SCHEMA)?;
    b.add_policies("file_platform", POLICIES)?;
    b.add_policies("shares", SHARE_TEMPLATES)?;
    Ok(b)
}

/// An engine over the pack.
pub fn engine() -> Result<PolicyEngine> {
    PolicyEngine::new(bundle()?)
}

/// A role on a folder or file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Everything, including managing access.
    Owner,
    /// Read, comment, write, delete, share.
    Editor,
    /// Read and comment.
    Commenter,
    /// Read.
    Viewer,
}

impl Role {
    /// All roles, strongest first.
    pub const ALL: [Role; 4] = [Role::Owner, Role::Editor, Role::Commenter, Role::Viewer];

    /// The role's name in entity ids and templates.
    pub fn name(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Editor => "editor",
            Role::Commenter => "commenter",
            Role::Viewer => "viewer",
        }
    }

    fn weaker(self) -> Option<Role> {
        match self {
            Role::Owner => Some(Role::Editor),
            Role::Editor => Some(Role::Commenter),
            Role::Commenter => Some(Role::Viewer),
            Role::Viewer => None,
        }
    }
}

/// A role in a team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TeamRole {
    /// Manages the team.
    Admin,
    /// A full member.
    Editor,
    /// A guest.
    Guest,
}

impl TeamRole {
    /// The role's name in entity ids.
    pub fn name(self) -> &'static str {
        match self {
            TeamRole::Admin => "admin",
            TeamRole::Editor => "editor",
            TeamRole::Guest => "guest",
        }
    }
}

/// A folder or file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Res {
    /// A folder by id.
    Folder(String),
    /// A file by id.
    File(String),
}

impl Res {
    /// A folder.
    pub fn folder(id: &str) -> Self {
        Res::Folder(id.to_owned())
    }
    /// A file.
    pub fn file(id: &str) -> Self {
        Res::File(id.to_owned())
    }
    fn kind(&self) -> (&'static str, &'static str, &str) {
        match self {
            Res::Folder(id) => ("Folder", "folder", id),
            Res::File(id) => ("File", "file", id),
        }
    }
    /// Its entity uid.
    pub fn uid(&self) -> Result<EntityUid> {
        let (ty, _, id) = self.kind();
        entity_uid(ty, id)
    }
    fn role_id(&self, role: Role) -> String {
        let (_, prefix, id) = self.kind();
        format!("{prefix}:{id}#{}", role.name())
    }
}

/// Someone who can be given a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    /// A user by id.
    User(String),
    /// A group by id.
    Group(String),
    /// A share link by id.
    Link(String),
    /// Everyone holding a role in a team.
    Team(String, TeamRole),
}

/// Uid helpers for the pack's entity types.
pub fn user(id: &str) -> Result<EntityUid> {
    entity_uid("User", id)
}
/// A group uid.
pub fn group(id: &str) -> Result<EntityUid> {
    entity_uid("Group", id)
}
/// A team uid.
pub fn team(id: &str) -> Result<EntityUid> {
    entity_uid("Team", id)
}
/// A folder uid.
pub fn folder(id: &str) -> Result<EntityUid> {
    entity_uid("Folder", id)
}
/// A file uid.
pub fn file(id: &str) -> Result<EntityUid> {
    entity_uid("File", id)
}
/// A share-link principal uid.
pub fn link(id: &str) -> Result<EntityUid> {
    entity_uid("ShareLink", id)
}
/// The anonymous visitor.
pub fn anonymous() -> Result<EntityUid> {
    entity_uid("Anonymous", "anonymous")
}
/// An action uid.
pub fn action(id: &str) -> Result<EntityUid> {
    entity_uid("Action", id)
}

/// A scoped share: links template `share-<role>` (viewer, commenter or editor) for `who` on `on`.
pub fn share(
    id: &str,
    who: &EntityUid,
    role: Role,
    on: &Res,
    expires_at: Option<Timestamp>,
) -> Result<TemplateLink> {
    if role == Role::Owner {
        return Err(Error::InvalidInput(
            "ownership cannot be shared through a link; grant it in the graph".into(),
        ));
    }
    let mut l = TemplateLink::new(id, format!("share-{}", role.name()))
        .principal(who.to_string())
        .resource(on.uid()?.to_string());
    l.expires_at = expires_at;
    Ok(l)
}

/// Optional attributes of a folder or file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceOptions {
    /// Readable by anyone.
    pub public: bool,
    /// Downloads only to trusted devices.
    pub confidential: bool,
    /// Reachable only from this CIDR range.
    pub allowed_network: Option<String>,
    /// Refused for requests from these countries.
    pub blocked_countries: Vec<String>,
    /// Closed to non-owners until then.
    pub embargo_until: Option<Timestamp>,
}

#[derive(Debug, Clone)]
struct Node {
    attrs: Map<String, Value>,
    parents: BTreeSet<(String, String)>,
}

/// Builds the pack's entity graph: users, groups, teams, folders, files, links and roles.
#[derive(Debug, Clone, Default)]
pub struct Graph {
    nodes: BTreeMap<(String, String), Node>,
}

fn ext(f: &str, arg: &str) -> Value {
    json!({ "__extn": { "fn": f, "arg": arg } })
}

fn role_ref(id: &str) -> Value {
    json!({ "__entity": { "type": "Role", "id": id } })
}

impl Graph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    fn node(&mut self, ty: &str, id: &str) -> &mut Node {
        self.nodes
            .entry((ty.to_owned(), id.to_owned()))
            .or_insert_with(|| Node {
                attrs: Map::new(),
                parents: BTreeSet::new(),
            })
    }

    fn member(&mut self, ty: &str, id: &str, parent_ty: &str, parent_id: &str) {
        self.node(ty, id)
            .parents
            .insert((parent_ty.to_owned(), parent_id.to_owned()));
    }

    /// Adds a user in `groups`.
    pub fn user(&mut self, id: &str, groups: &[&str]) -> &mut Self {
        self.node("User", id);
        for g in groups {
            self.node("Group", g);
            self.member("User", id, "Group", g);
        }
        self
    }

    /// Adds a group inside `parents`.
    pub fn group(&mut self, id: &str, parents: &[&str]) -> &mut Self {
        self.node("Group", id);
        for g in parents {
            self.node("Group", g);
            self.member("Group", id, "Group", g);
        }
        self
    }

    /// Adds a team and its role entities.
    pub fn team(&mut self, id: &str) -> &mut Self {
        let names = [TeamRole::Admin, TeamRole::Editor, TeamRole::Guest]
            .map(|r| format!("team:{id}#{}", r.name()));
        for n in &names {
            self.node("Role", n);
        }
        self.member("Role", &names[0], "Role", &names[1]);
        self.member("Role", &names[1], "Role", &names[2]);
        let t = self.node("Team", id);
        t.attrs.insert("admin".into(), role_ref(&names[0]));
        t.attrs.insert("editor".into(), role_ref(&names[1]));
        t.attrs.insert("guest".into(), role_ref(&names[2]));
        self
    }

    /// Gives `user` a role in `team` (the team must have been added).
    pub fn team_member(&mut self, team: &str, user: &str, role: TeamRole) -> &mut Self {
        self.node("User", user);
        self.member(
            "User",
            user,
            "Role",
            &format!("team:{team}#{}", role.name()),
        );
        self
    }

    fn resource(&mut self, res: &Res, parent: Option<&str>, owner: &str, opts: &ResourceOptions) {
        let (ty, _, id) = res.kind();
        let roles = Role::ALL.map(|r| res.role_id(r));
        for (i, r) in Role::ALL.iter().enumerate() {
            self.node("Role", &roles[i]);
            if r.weaker().is_some() {
                self.member("Role", &roles[i], "Role", &roles[i + 1]);
            }
        }
        let node = self.node(ty, id);
        for (i, r) in Role::ALL.iter().enumerate() {
            node.attrs.insert(r.name().into(), role_ref(&roles[i]));
        }
        node.attrs.insert("public".into(), opts.public.into());
        node.attrs
            .insert("confidential".into(), opts.confidential.into());
        if let Some(net) = &opts.allowed_network {
            node.attrs.insert("allowed_network".into(), ext("ip", net));
        }
        if !opts.blocked_countries.is_empty() {
            node.attrs
                .insert("blocked_countries".into(), json!(opts.blocked_countries));
        }
        if let Some(t) = opts.embargo_until {
            node.attrs
                .insert("embargo_until".into(), ext("datetime", &t.to_string()));
        }
        if let Some(p) = parent {
            self.member(ty, id, "Folder", p);
            // Roles on the parent folder carry down: its role entities join this one's.
            for r in Role::ALL {
                let parent_role = Res::folder(p).role_id(r);
                self.member("Role", &parent_role, "Role", &res.role_id(r));
            }
        }
        self.member("User", owner, "Role", &res.role_id(Role::Owner));
    }

    /// Adds a folder (inside `parent`, if any) owned by `owner`.
    pub fn folder(
        &mut self,
        id: &str,
        parent: Option<&str>,
        owner: &str,
        opts: &ResourceOptions,
    ) -> &mut Self {
        self.resource(&Res::folder(id), parent, owner, opts);
        self
    }

    /// Adds a file (inside `folder`, if any) owned by `owner`.
    pub fn file(
        &mut self,
        id: &str,
        folder: Option<&str>,
        owner: &str,
        opts: &ResourceOptions,
    ) -> &mut Self {
        self.resource(&Res::file(id), folder, owner, opts);
        self
    }

    /// Gives `who` a role on a folder or file (in the graph, without a template link).
    pub fn grant(&mut self, on: &Res, who: &Who, role: Role) -> &mut Self {
        let target = on.role_id(role);
        match who {
            Who::User(id) => self.member("User", id, "Role", &target),
            Who::Group(id) => self.member("Group", id, "Role", &target),
            Who::Link(id) => self.member("ShareLink", id, "Role", &target),
            Who::Team(id, r) => {
                self.member("Role", &format!("team:{id}#{}", r.name()), "Role", &target)
            }
        }
        self
    }

    /// Adds a share link that holds `role` on `on` until `expires`.
    pub fn share_link(&mut self, id: &str, on: &Res, role: Role, expires: Timestamp) -> &mut Self {
        self.node("ShareLink", id)
            .attrs
            .insert("expires".into(), ext("datetime", &expires.to_string()));
        self.grant(on, &Who::Link(id.to_owned()), role)
    }

    /// Adds the anonymous visitor entity.
    pub fn anonymous(&mut self) -> &mut Self {
        self.node("Anonymous", "anonymous");
        self
    }

    /// The graph as Cedar entity JSON.
    pub fn to_json(&self) -> Value {
        Value::Array(
            self.nodes
                .iter()
                .map(|((ty, id), n)| {
                    let parents: Vec<Value> = n
                        .parents
                        .iter()
                        .map(|(t, i)| json!({ "type": t, "id": i }))
                        .collect();
                    json!({ "uid": { "type": ty, "id": id }, "attrs": n.attrs, "parents": parents })
                })
                .collect(),
        )
    }

    /// Builds the entities, checked against `schema` (use [`schema`] or the engine's).
    pub fn build(&self, schema: &Schema) -> Result<Entities> {
        entities_from_json(self.to_json(), Some(schema))
    }
}

/// The request context the pack's schema requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackContext {
    /// Decision time (share links and embargoes compare against it).
    pub now: Timestamp,
    /// Client IP address.
    pub ip: String,
    /// Whether the session passed a second factor.
    pub mfa: bool,
    /// Whether the device is trusted.
    pub device_trusted: bool,
    /// Risk score 0..=100 (80 and above is refused).
    pub risk_score: i64,
    /// ISO 3166 country code of the client.
    pub country: String,
}

impl PackContext {
    /// A context at `now` from `ip`, with no MFA, an untrusted device, risk 0 and country `ZZ`.
    pub fn new(now: Timestamp, ip: &str) -> Self {
        Self {
            now,
            ip: ip.to_owned(),
            mfa: false,
            device_trusted: false,
            risk_score: 0,
            country: "ZZ".into(),
        }
    }

    /// Cedar context JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "now": ext("datetime", &self.now.to_string()),
            "ip": ext("ip", &self.ip),
            "mfa": self.mfa,
            "device_trusted": self.device_trusted,
            "risk_score": self.risk_score,
            "country": self.country,
        })
    }
}
