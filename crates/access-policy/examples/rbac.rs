//! Plain RBAC with your own schema: users get roles, roles get actions.
//!
//! `cargo run -p strongroom-access-policy --example rbac`

use strongroom_access_policy::{
    EntitiesBuilder, EntityBuilder, PolicyBundle, PolicyEngine, Request, entity_uid,
};

const SCHEMA: &str = r#"
entity Role;
entity User in [Role];
entity Report;
action view, edit, approve appliesTo { principal: User, resource: Report };
"#;

const POLICIES: &str = r#"
@id("readers-view") permit(principal in Role::"reader", action == Action::"view", resource);
@id("editors-edit") permit(principal in Role::"editor", action in [Action::"view", Action::"edit"], resource);
@id("managers-approve") permit(principal in Role::"manager", action, resource);
"#;

fn main() -> Result<(), strongroom_access_policy::Error> {
    let mut bundle = PolicyBundle::from_cedarschema(SCHEMA)?;
    bundle.add_policies("rbac", POLICIES)?;
    let engine = PolicyEngine::new(bundle)?;

    let role = |r: &str| entity_uid("Role", r);
    let entities = engine.entities(
        EntitiesBuilder::new()
            .entity(EntityBuilder::new("Role", "reader"))
            .entity(EntityBuilder::new("Role", "editor"))
            .entity(EntityBuilder::new("Role", "manager"))
            .entity(EntityBuilder::new("User", "ria").parent(role("reader")?))
            .entity(EntityBuilder::new("User", "eve").parent(role("editor")?))
            .entity(EntityBuilder::new("User", "max").parent(role("manager")?)),
    )?;
    for user in ["ria", "eve", "max"] {
        let allowed = engine.allowed_actions(
            &entity_uid("User", user)?,
            &entity_uid("Report", "q3")?,
            &serde_json::json!({}),
            &entities,
        )?;
        let names: Vec<_> = allowed
            .iter()
            .map(|a| a.id().unescaped().to_owned())
            .collect();
        println!("{user}: {}", names.join(", "));
    }
    let why = engine.explain(
        &engine.request(
            Request::builder()
                .principal("User", "eve")
                .action("approve")
                .resource("Report", "q3"),
        )?,
        &entities,
    );
    print!("{why}");
    Ok(())
}
