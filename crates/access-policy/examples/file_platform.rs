//! The built-in file-platform pack: a folder tree, a team, a time-boxed share and the context rules.
//!
//! `cargo run -p strongroom-access-policy --example file_platform`

use strongroom_access_policy::pack::{
    self, Graph, PackContext, Res, ResourceOptions, Role, TeamRole, Who,
};
use strongroom_access_policy::{PolicyEngine, Request, Timestamp};

fn main() -> Result<(), strongroom_access_policy::Error> {
    let now = Timestamp::parse("2026-06-01T12:00:00Z")?;
    let mut bundle = pack::bundle()?;
    // A scoped share as data: bob may comment on everything under /projects for one hour.
    bundle.add_link(pack::share(
        "bob-projects",
        &pack::user("bob")?,
        Role::Commenter,
        &Res::folder("projects"),
        Some(now.plus_seconds(3600)),
    )?)?;
    let engine = PolicyEngine::new(bundle)?;

    let mut g = Graph::new();
    g.user("ann", &[]).user("bob", &[]).user("cyd", &[]);
    g.team("design")
        .team_member("design", "cyd", TeamRole::Editor);
    g.folder("projects", None, "ann", &ResourceOptions::default());
    g.file(
        "plan.pdf",
        Some("projects"),
        "ann",
        &ResourceOptions {
            confidential: true,
            ..Default::default()
        },
    );
    g.grant(
        &Res::folder("projects"),
        &Who::Team("design".into(), TeamRole::Editor),
        Role::Editor,
    );
    let entities = g.build(&engine.schema())?;

    let mut ctx = PackContext::new(now, "10.0.0.5");
    ctx.mfa = true;
    let file = pack::file("plan.pdf")?;
    for who in ["ann", "bob", "cyd"] {
        let actions =
            engine.allowed_actions(&pack::user(who)?, &file, &ctx.to_json(), &entities)?;
        let names: Vec<_> = actions
            .iter()
            .map(|a| a.id().unescaped().to_owned())
            .collect();
        println!("{who} on plan.pdf: {}", names.join(", "));
    }
    // Why can't cyd download? (confidential, untrusted device)
    let download = engine.request(
        Request::builder()
            .principal("User", "cyd")
            .action("download")
            .resource("File", "plan.pdf")
            .context_json(ctx.to_json()),
    )?;
    print!("{}", engine.explain(&download, &entities));
    // Two hours later bob's share has expired.
    ctx.now = now.plus_seconds(7200);
    let comment = engine.request(
        Request::builder()
            .principal("User", "bob")
            .action("comment")
            .resource("File", "plan.pdf")
            .context_json(ctx.to_json()),
    )?;
    print!("{}", engine.explain(&comment, &entities));
    Ok(())
}
