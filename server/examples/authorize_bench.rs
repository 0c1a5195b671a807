//! One authorization decision as the server makes it, against the same decision in raw
//! cedar-policy with the entities built beforehand.
//!
//! The world: bob is in 50 nested groups (g0 inside g1 … inside g49); ann owns a file 10
//! folders deep and shared the top folder with g49 (viewer); ann also shared 1000 other
//! folders with bob. The server's decision is `GET /files/{id}` minus HTTP: load the file with
//! its folder chain, load the roles on the chain with bob's groups (the two store round trips),
//! build the entities, decide. The peer is `cedar_policy::Authorizer::is_authorized` over the
//! request and entities that decision built.
//!
//! Run: `cargo run --release -p strongroom --example authorize_bench` (SQLite in a temporary
//! directory; `STRONGROOM_DATABASE_URL=postgres://…` for PostgreSQL).

use std::sync::Arc;
use std::time::Instant;

use strongroom::app::App;
use strongroom::authz::Principal;
use strongroom::config::Config;
use strongroom::domain::Ctx;
use strongroom::domain::files::NewFile;
use strongroom::domain::grants::ShareWith;
use strongroom::domain::groups::{NewMember, Scope};
use strongroom_access_policy::cedar_policy::{Authorizer, Decision};

/// The median of the samples.
fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(|a, b| a.total_cmp(b));
    samples[samples.len() / 2]
}

fn user(id: &str, admin: bool) -> Ctx {
    let mut c = Ctx::system();
    c.principal = Principal::User {
        id: id.to_owned(),
        admin,
    };
    c
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::load(None, Vec::<(String, String)>::new()).unwrap();
    config.data_dir = dir.path().to_owned();
    config.storage.url = "memory://".into();
    if let Ok(url) = std::env::var("STRONGROOM_DATABASE_URL") {
        config.database.url = url;
    }
    let clock = Arc::new(strongroom::clock::SystemClock);
    let app = App::build_with_clock(config, clock).await.unwrap();
    let anon = Ctx::system();
    for who in ["ann", "bob"] {
        app.accounts
            .register(
                &anon,
                &format!("{who}@example.com"),
                who,
                "correct horse battery",
            )
            .await
            .unwrap();
    }
    let id_of = async |email: &str| {
        let (u, _) = app
            .accounts
            .login(&anon, email, "correct horse battery", Default::default())
            .await
            .unwrap();
        u.id
    };
    let (ann_id, bob_id) = (
        id_of("ann@example.com").await,
        id_of("bob@example.com").await,
    );
    let (ann, bob, root) = (
        user(&ann_id, false),
        user(&bob_id, false),
        user(&ann_id, true),
    );

    for i in 0..50 {
        let g = format!("g{i}");
        app.groups
            .create(&root, Scope::Platform, &g, None, None)
            .await
            .unwrap();
        let child = format!("g{}", i.max(1) - 1);
        let member = if i == 0 {
            NewMember::Email("bob@example.com")
        } else {
            NewMember::Group(&child)
        };
        app.groups
            .add_member(&root, Scope::Platform, &g, Some(member))
            .await
            .unwrap();
    }
    let mut parent: Option<String> = None;
    let mut top = String::new();
    for level in 0..10 {
        let f = app
            .folders
            .create(&ann, parent.as_deref(), &format!("level {level}"))
            .await
            .unwrap();
        if level == 0 {
            top = f.id.clone();
        }
        parent = Some(f.id);
    }
    let body = futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"deep"))]);
    let new = NewFile {
        name: "deep.txt".into(),
        folder_id: parent.clone(),
        content_type: "text/plain".into(),
    };
    let file = app.files.upload(&ann, new, body).await.unwrap().file.id;
    for i in 0..1000 {
        let f = app
            .folders
            .create(&ann, None, &format!("other {i}"))
            .await
            .unwrap();
        app.shares
            .grant(
                &ann,
                "folder",
                &f.id,
                Some(ShareWith::Email("bob@example.com")),
                "viewer",
                None,
            )
            .await
            .unwrap();
    }
    app.shares
        .grant(
            &root,
            "folder",
            &top,
            Some(ShareWith::Group("g49")),
            "viewer",
            None,
        )
        .await
        .unwrap();

    // The server's whole decision.
    app.files.get(&bob, &file).await.unwrap();
    let iters = 200;
    let mut ours = Vec::new();
    for _ in 0..15 {
        let start = Instant::now();
        for _ in 0..iters {
            std::hint::black_box(app.files.get(&bob, &file).await.unwrap());
        }
        ours.push(start.elapsed().as_nanos() as f64 / iters as f64);
    }

    // The same decision in raw cedar-policy, entities built beforehand.
    let (_, target) = app.files.locate(&file, &[bob_id.as_str()]).await.unwrap();
    let facts = strongroom::authz::RequestFacts {
        ip: std::net::IpAddr::from([127, 0, 0, 1]),
        mfa: false,
        device_trusted: false,
    };
    let (request, entities) = app
        .authz
        .decision_inputs(&bob.principal, "read", &target, &facts)
        .unwrap();
    let policies = app.authz.policy_set();
    let raw = Authorizer::new();
    assert_eq!(
        raw.is_authorized(request.as_cedar(), &policies, &entities)
            .decision(),
        Decision::Allow
    );
    let iters = 2000;
    let mut peer = Vec::new();
    for _ in 0..15 {
        let start = Instant::now();
        for _ in 0..iters {
            std::hint::black_box(raw.is_authorized(request.as_cedar(), &policies, &entities));
        }
        peer.push(start.elapsed().as_nanos() as f64 / iters as f64);
    }
    // What the decision is made of: the two store round trips, and the policy decision over
    // entities built from their answer.
    let iters = 200;
    let mut loads = Vec::new();
    let mut checks = Vec::new();
    for _ in 0..15 {
        let start = Instant::now();
        for _ in 0..iters {
            std::hint::black_box(app.files.locate(&file, &[bob_id.as_str()]).await.unwrap());
        }
        loads.push(start.elapsed().as_nanos() as f64 / iters as f64);
        let start = Instant::now();
        for _ in 0..iters {
            app.authz
                .check(&bob.principal, "read", &target, &facts)
                .unwrap();
        }
        checks.push(start.elapsed().as_nanos() as f64 / iters as f64);
    }
    let (ours, peer) = (median(ours), median(peer));
    let (loads, checks) = (median(loads), median(checks));
    println!(
        "decision for a member of 50 groups, file 10 folders deep, 1000 shares ({}): \
         server {:.1} µs, cedar is_authorized {:.1} µs, ratio {:.3}×; of the server's: \
         two store round trips {:.1} µs, entities + decision {:.1} µs; entities {}",
        app.db_kind(),
        ours / 1000.0,
        peer / 1000.0,
        peer / ours,
        loads / 1000.0,
        checks / 1000.0,
        entities.iter().count()
    );
}
