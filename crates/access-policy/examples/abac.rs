//! ABAC with your own schema: attributes of the principal, the resource and the context decide.
//!
//! `cargo run -p strongroom-access-policy --example abac`

use serde_json::json;
use strongroom_access_policy::{
    EntitiesBuilder, EntityBuilder, PolicyBundle, PolicyEngine, Request,
};

const SCHEMA: &str = r#"
entity User { department: String, clearance: Long };
entity Document { department: String, level: Long };
action read appliesTo {
  principal: User, resource: Document,
  context: { ip: ipaddr, hour: Long }
};
"#;

const POLICIES: &str = r#"
@id("same-department") @reason("staff read their department's documents up to their clearance")
permit(principal, action == Action::"read", resource)
when { principal.department == resource.department && principal.clearance >= resource.level };

@id("office-hours-on-site") @reason("only from the office network, 7:00 to 19:00")
forbid(principal, action, resource)
unless { context.ip.isInRange(ip("10.0.0.0/8")) && context.hour >= 7 && context.hour < 19 };
"#;

fn main() -> Result<(), strongroom_access_policy::Error> {
    let mut bundle = PolicyBundle::from_cedarschema(SCHEMA)?;
    bundle.add_policies("abac", POLICIES)?;
    let engine = PolicyEngine::new(bundle)?;
    let entities = engine.entities(
        EntitiesBuilder::new()
            .entity(
                EntityBuilder::new("User", "ana")
                    .attr("department", "finance")
                    .attr("clearance", 2),
            )
            .entity(
                EntityBuilder::new("Document", "budget")
                    .attr("department", "finance")
                    .attr("level", 3),
            )
            .entity(
                EntityBuilder::new("Document", "memo")
                    .attr("department", "finance")
                    .attr("level", 1),
            ),
    )?;
    for (doc, ip, hour) in [
        ("memo", "10.1.2.3", 10),
        ("budget", "10.1.2.3", 10),
        ("memo", "203.0.113.9", 10),
        ("memo", "10.1.2.3", 22),
    ] {
        let request = engine.request(
            Request::builder()
                .principal("User", "ana")
                .action("read")
                .resource("Document", doc)
                .context_json(json!({ "ip": ip, "hour": hour })),
        )?;
        println!("--- ana reads {doc} from {ip} at {hour}:00");
        print!("{}", engine.explain(&request, &entities));
    }
    Ok(())
}
