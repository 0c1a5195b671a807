//! The `PolicyStore` conformance suite: every backend runs it.
//!
//! Each function **deletes everything in the store** before it runs. This module is for
//! testing backends (this crate's and yours); it is not a stable API.

use crate::bundle::{PolicyDocument, TemplateLink};
use crate::clock::Timestamp;
use crate::engine::PolicyEngine;
use crate::error::Error;
use crate::pack;
use crate::store::{DynPolicyStore, reload_if_changed};

/// Runs every conformance test.
pub async fn run_all(store: &DynPolicyStore) {
    documents_round_trip(store).await;
    links_round_trip(store).await;
    bad_input_is_refused(store).await;
    snapshot_builds_an_engine_and_reloads(store).await;
}

/// Removes every document and link.
pub async fn clear(store: &DynPolicyStore) {
    let snap = store.snapshot().await.expect("snapshot");
    for d in snap.documents {
        store.delete_document(&d.id).await.expect("delete document");
    }
    for l in snap.links {
        store.delete_link(&l.id).await.expect("delete link");
    }
}

const ALLOW_ALL: &str = "permit(principal, action, resource);";
const FORBID_ALL: &str = "forbid(principal, action, resource);";

/// Put, replace, read and delete documents; versions change on every write.
pub async fn documents_round_trip(store: &DynPolicyStore) {
    clear(store).await;
    let v0 = store.version().await.unwrap();
    let v1 = store
        .put_document(&PolicyDocument::new("b", ALLOW_ALL))
        .await
        .unwrap();
    let v2 = store
        .put_document(&PolicyDocument::new("a", FORBID_ALL))
        .await
        .unwrap();
    assert!(v0 != v1 && v1 != v2);
    assert_eq!(store.version().await.unwrap(), v2);
    let snap = store.snapshot().await.unwrap();
    assert_eq!(snap.version, v2);
    assert_eq!(
        snap.documents,
        vec![
            PolicyDocument::new("a", FORBID_ALL),
            PolicyDocument::new("b", ALLOW_ALL)
        ]
    );
    // replace
    let v3 = store
        .put_document(&PolicyDocument::new("a", ALLOW_ALL))
        .await
        .unwrap();
    assert_ne!(v3, v2);
    assert_eq!(store.snapshot().await.unwrap().documents[0].text, ALLOW_ALL);
    store.delete_document("a").await.unwrap();
    let err = store.delete_document("a").await.unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err}");
    assert_eq!(store.snapshot().await.unwrap().documents.len(), 1);
}

/// Create, read and delete links, expiry included; ids are unique.
pub async fn links_round_trip(store: &DynPolicyStore) {
    clear(store).await;
    let expires = Timestamp::parse("2027-01-02T03:04:05.678Z").unwrap();
    let l1 = TemplateLink::new("share-1", "share-viewer")
        .principal(r#"User::"bob""#)
        .resource(r#"Folder::"docs""#)
        .expires_at(expires);
    let l2 = TemplateLink::new("share-0", "share-editor")
        .principal(r#"Group::"staff""#)
        .resource(r#"File::"f""#);
    let before = store.version().await.unwrap();
    store.put_link(&l1).await.unwrap();
    store.put_link(&l2).await.unwrap();
    assert_ne!(store.version().await.unwrap(), before);
    let err = store.put_link(&l1).await.unwrap_err();
    assert!(matches!(err, Error::AlreadyExists(_)), "{err}");
    let snap = store.snapshot().await.unwrap();
    assert_eq!(snap.links, vec![l2.clone(), l1.clone()]);
    store.delete_link("share-1").await.unwrap();
    let err = store.delete_link("share-1").await.unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err}");
    assert_eq!(store.snapshot().await.unwrap().links, vec![l2]);
}

/// Unparseable text, bad ids and bad uids are refused and change nothing.
pub async fn bad_input_is_refused(store: &DynPolicyStore) {
    clear(store).await;
    let before = store.snapshot().await.unwrap();
    let err = store
        .put_document(&PolicyDocument::new("bad", "permit(principal, action"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Parse { .. }), "{err}");
    let err = store
        .put_document(&PolicyDocument::new("", ALLOW_ALL))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
    let err = store
        .put_document(&PolicyDocument::new("white space", ALLOW_ALL))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
    let err = store
        .put_link(&TemplateLink::new("l", "t").principal("bob"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidLink { .. }), "{err}");
    let err = store
        .put_link(&TemplateLink::new("", "t"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
    let err = store.delete_document("never-was").await.unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err}");
    assert_eq!(store.snapshot().await.unwrap(), before);
}

/// A stored pack builds an engine; reloads pick up changes and refuse invalid sets.
pub async fn snapshot_builds_an_engine_and_reloads(store: &DynPolicyStore) {
    clear(store).await;
    store
        .put_document(&PolicyDocument::new("file_platform", pack::POLICIES))
        .await
        .unwrap();
    store
        .put_document(&PolicyDocument::new("shares", pack::SHARE_TEMPLATES))
        .await
        .unwrap();
    let schema = pack::schema().unwrap();
    let engine = PolicyEngine::new(crate::PolicyBundle::new(schema.clone())).unwrap();
    let seen = reload_if_changed(store, &engine, &schema, None)
        .await
        .unwrap();
    assert!(seen.is_some());
    assert_eq!(engine.version(), 2);
    assert!(engine.policy("viewer-read").is_ok());
    // unchanged: nothing to do
    assert_eq!(
        reload_if_changed(store, &engine, &schema, seen)
            .await
            .unwrap(),
        None
    );
    // a link is data: storing one makes it live at the next reload
    let bob = pack::user("bob").unwrap();
    let link = pack::share(
        "s1",
        &bob,
        pack::Role::Viewer,
        &pack::Res::folder("docs"),
        None,
    )
    .unwrap();
    store.put_link(&link).await.unwrap();
    let seen = reload_if_changed(store, &engine, &schema, seen)
        .await
        .unwrap();
    assert!(seen.is_some());
    assert_eq!(
        engine.policy("s1").unwrap().template.as_deref(),
        Some("share-viewer")
    );
    // a document that parses but fails validation is refused; the live set stays
    store
        .put_document(&PolicyDocument::new(
            "typo",
            "permit(principal, action, resource) when { resource.nope };",
        ))
        .await
        .unwrap();
    let err = reload_if_changed(store, &engine, &schema, seen)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Validation { .. }), "{err}");
    assert_eq!(engine.version(), 3);
    assert!(engine.policy("s1").is_ok());
    clear(store).await;
}
