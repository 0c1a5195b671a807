//! With many template links the engine decides over a per-request slice of the policy set; the
//! decision must be exactly Cedar's over the whole set, for every request.

use cedar_policy::Authorizer;
use strongroom_access_policy::pack::{self, Graph, PackContext, Res, ResourceOptions, Role};
use strongroom_access_policy::{PolicyEngine, Request, Timestamp};

const USERS: usize = 12;
const FOLDERS: usize = 6;
const FILES: usize = 40;

fn world() -> Graph {
    let mut g = Graph::new();
    g.group("staff", &[]).group("finance", &["staff"]);
    for u in 0..USERS {
        let groups: &[&str] = match u % 3 {
            0 => &["finance"],
            1 => &["staff"],
            _ => &[],
        };
        g.user(&format!("u{u}"), groups);
    }
    g.folder("root", None, "u0", &ResourceOptions::default());
    for f in 0..FOLDERS {
        let parent = if f == 0 {
            "root".to_owned()
        } else {
            format!("d{}", f / 2)
        };
        g.folder(
            &format!("d{f}"),
            Some(&parent),
            "u0",
            &ResourceOptions::default(),
        );
    }
    for i in 0..FILES {
        g.file(
            &format!("f{i}"),
            Some(&format!("d{}", i % FOLDERS)),
            "u1",
            &ResourceOptions::default(),
        );
    }
    g
}

#[test]
fn sliced_decisions_equal_cedar_over_the_whole_set() {
    let mut bundle = pack::bundle().unwrap();
    let roles = [Role::Viewer, Role::Commenter, Role::Editor];
    // 240 links: to users, to groups, on files and on folders (so `in` over ancestors matters).
    for n in 0..240usize {
        let who = match n % 4 {
            0 => pack::group(if n % 8 == 0 { "finance" } else { "staff" }).unwrap(),
            _ => pack::user(&format!("u{}", (n * 7) % USERS)).unwrap(),
        };
        let on = if n % 3 == 0 {
            Res::folder(&format!("d{}", n % FOLDERS))
        } else {
            Res::file(&format!("f{}", (n * 13) % FILES))
        };
        bundle
            .add_link(pack::share(&format!("s{n}"), &who, roles[n % 3], &on, None).unwrap())
            .unwrap();
    }
    let full = bundle.policy_set().clone();
    let engine = PolicyEngine::new(bundle).unwrap();
    let entities = world().build(&engine.schema()).unwrap();
    let context = PackContext::new(
        Timestamp::parse("2026-06-01T12:00:00Z").unwrap(),
        "10.0.0.7",
    );
    let cedar = Authorizer::new();
    let mut allowed = 0;
    let mut by_link = 0;
    for u in 0..USERS {
        for i in 0..FILES {
            for action in ["read", "write", "comment", "delete"] {
                let request = engine
                    .request(
                        Request::builder()
                            .principal("User", &format!("u{u}"))
                            .action(action)
                            .resource("File", &format!("f{i}"))
                            .context_json(context.to_json()),
                    )
                    .unwrap();
                let ours = engine.authorize(&request, &entities);
                let theirs = cedar.is_authorized(request.as_cedar(), &full, &entities);
                let mut reasons: Vec<String> = theirs
                    .diagnostics()
                    .reason()
                    .map(ToString::to_string)
                    .collect();
                reasons.sort();
                assert_eq!(
                    ours.allowed,
                    theirs.decision() == cedar_policy::Decision::Allow,
                    "u{u} {action} f{i}"
                );
                assert_eq!(
                    ours.policy_ids().collect::<Vec<_>>(),
                    reasons,
                    "u{u} {action} f{i}"
                );
                allowed += usize::from(ours.allowed);
                by_link += usize::from(ours.policy_ids().any(|id| id.starts_with('s')));
            }
        }
    }
    // The fixture must exercise both outcomes and the links themselves.
    assert!(allowed > 100, "only {allowed} allows");
    assert!(allowed < USERS * FILES * 4, "everything allowed");
    assert!(
        by_link > 50,
        "only {by_link} decisions came from share links"
    );
}
