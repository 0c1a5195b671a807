//! The invitations table, and what an acceptance writes with it.

use super::{People, event, fresh, user};
use crate::store::Error;
use crate::store::invitations::{Accepter, InvitationRecord, InvitationStore, Invitations};
use crate::store::teams::{TeamRecord, TeamStore};
use crate::store::users::{UserKey, UserStore};

fn invitation(id: &str, email: &str, team: Option<&str>, role: &str, by: &str) -> InvitationRecord {
    InvitationRecord {
        id: id.to_owned(),
        token_hash: format!("hash-{id}"),
        email: email.to_owned(),
        team_id: team.map(str::to_owned),
        role: role.to_owned(),
        invited_by: by.to_owned(),
        created_at: 10,
        expires_at: 1_000,
        accepted_at: None,
        accepted_by: None,
        revoked_at: None,
    }
}

/// Create (unique ids and token hashes, an existing team), get, list per team and per inviter
/// (newest first), accept once (the hash must match, before the expiry; the new account, the
/// team role (an existing one kept) or the administrator flag written with it; nothing and no
/// event on a refusal), reissue (expired ones too, never used or revoked ones) and revoke.
pub async fn invitations_contract<S>(store: &S, p: People<'_>, events: impl AsyncFn() -> u64)
where
    S: InvitationStore + TeamStore + UserStore + ?Sized,
{
    let team = fresh("team");
    TeamStore::create(
        store,
        &TeamRecord {
            id: team.clone(),
            name: "Invited".into(),
            space_id: fresh("space"),
            created_by: p.ann.0.to_owned(),
            created_at: 1,
            updated_at: 1,
        },
        p.ann.0,
        &event("team.created"),
    )
    .await
    .unwrap();
    let (a, b, c) = (fresh("inv"), fresh("inv"), fresh("inv"));
    let new_email = format!("{}@example.com", fresh("new"));
    let before = events().await;
    InvitationStore::create(
        store,
        &invitation(&a, &new_email, Some(&team), "editor", p.ann.0),
        &event("invitation.created"),
    )
    .await
    .unwrap();
    let mut later = invitation(&b, p.bob.1, Some(&team), "guest", p.ann.0);
    later.created_at = 20;
    InvitationStore::create(store, &later, &event("invitation.created"))
        .await
        .unwrap();
    assert_eq!(events().await - before, 2);
    for dup in [
        invitation(&a, "x@example.com", None, "member", p.admin.0),
        InvitationRecord {
            id: fresh("inv"),
            ..invitation(&a, "x@example.com", None, "member", p.admin.0)
        },
    ] {
        assert!(matches!(
            InvitationStore::create(store, &dup, &event("invitation.created")).await,
            Err(Error::Conflict(_))
        ));
    }
    assert!(matches!(
        InvitationStore::create(
            store,
            &invitation(
                &fresh("inv"),
                "x@example.com",
                Some("no-team"),
                "guest",
                p.ann.0
            ),
            &event("invitation.created")
        )
        .await,
        Err(Error::NotFound)
    ));
    assert_eq!(
        InvitationStore::get(store, &a)
            .await
            .unwrap()
            .unwrap()
            .email,
        new_email
    );
    assert!(InvitationStore::get(store, "nope").await.unwrap().is_none());
    let listed: Vec<String> = InvitationStore::list(store, Invitations::ToTeam(&team))
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(listed, vec![b.clone(), a.clone()], "newest first");
    assert!(
        InvitationStore::list(store, Invitations::SentBy(p.ann.0))
            .await
            .unwrap()
            .len()
            >= 2
    );

    // Accepting: a wrong hash or a late one writes nothing.
    let newcomer = user(&fresh("u"), &new_email, false);
    let before = events().await;
    for (hash, at) in [("hash-wrong", 50), (format!("hash-{a}").as_str(), 1_000)] {
        assert!(matches!(
            store
                .accept(
                    &a,
                    hash,
                    Accepter::New(&newcomer),
                    at,
                    &event("invitation.accepted")
                )
                .await,
            Err(Error::Conflict(_))
        ));
    }
    assert!(matches!(
        store
            .accept(
                "nope",
                "h",
                Accepter::New(&newcomer),
                50,
                &event("invitation.accepted")
            )
            .await,
        Err(Error::NotFound)
    ));
    assert_eq!(events().await, before);
    assert!(
        UserStore::get(store, UserKey::Email(&new_email))
            .await
            .unwrap()
            .is_none()
    );
    // Once, with the account and the role.
    store
        .accept(
            &a,
            &format!("hash-{a}"),
            Accepter::New(&newcomer),
            50,
            &event("invitation.accepted"),
        )
        .await
        .unwrap();
    let made = UserStore::get(store, UserKey::Email(&new_email))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(made.id, newcomer.id);
    let roles = store.members(&team).await.unwrap();
    assert!(
        roles
            .iter()
            .any(|m| m.user_id == newcomer.id && m.role == "editor")
    );
    let got = InvitationStore::get(store, &a).await.unwrap().unwrap();
    assert_eq!(
        (got.accepted_at, got.accepted_by.as_deref()),
        (Some(50), Some(newcomer.id.as_str()))
    );
    assert!(matches!(
        store
            .accept(
                &a,
                &format!("hash-{a}"),
                Accepter::Existing(p.bob.0),
                60,
                &event("invitation.accepted")
            )
            .await,
        Err(Error::Conflict(_))
    ));
    // An existing member keeps the role they have.
    store
        .set_role(
            &team,
            p.bob.0,
            "editor",
            p.ann.0,
            60,
            &event("team.member_role_set"),
        )
        .await
        .unwrap();
    store
        .accept(
            &b,
            &format!("hash-{b}"),
            Accepter::Existing(p.bob.0),
            70,
            &event("invitation.accepted"),
        )
        .await
        .unwrap();
    let roles = store.members(&team).await.unwrap();
    assert!(
        roles
            .iter()
            .any(|m| m.user_id == p.bob.0 && m.role == "editor")
    );

    // A platform invitation as administrator sets the flag.
    let admin_email = format!("{}@example.com", fresh("ops"));
    InvitationStore::create(
        store,
        &invitation(&c, &admin_email, None, "admin", p.admin.0),
        &event("invitation.created"),
    )
    .await
    .unwrap();
    let ops = user(&fresh("u"), &admin_email, false);
    store
        .accept(
            &c,
            &format!("hash-{c}"),
            Accepter::New(&ops),
            80,
            &event("invitation.accepted"),
        )
        .await
        .unwrap();
    assert!(
        UserStore::get(store, UserKey::Id(&ops.id))
            .await
            .unwrap()
            .unwrap()
            .is_admin
    );

    // Reissue and revoke.
    let d = fresh("inv");
    InvitationStore::create(
        store,
        &invitation(&d, "late@example.com", Some(&team), "guest", p.ann.0),
        &event("invitation.created"),
    )
    .await
    .unwrap();
    // Expired at 2000, renewed until 5000 with a new hash.
    store
        .reissue(&d, "hash-new", 5_000, 2_000, &event("invitation.resent"))
        .await
        .unwrap();
    let got = InvitationStore::get(store, &d).await.unwrap().unwrap();
    assert_eq!(
        (got.token_hash.as_str(), got.expires_at),
        ("hash-new", 5_000)
    );
    assert!(
        matches!(
            store
                .reissue(&d, "h", 1_000, 2_000, &event("invitation.resent"))
                .await,
            Err(Error::Conflict(_))
        ),
        "an expiry in the past"
    );
    assert!(
        matches!(
            store
                .reissue(&a, "h", 9_000, 2_000, &event("invitation.resent"))
                .await,
            Err(Error::Conflict(_))
        ),
        "a used one"
    );
    assert!(matches!(
        store
            .reissue("nope", "h", 9_000, 2_000, &event("invitation.resent"))
            .await,
        Err(Error::NotFound)
    ));
    assert!(
        store
            .revoke(&d, 3_000, &event("invitation.revoked"))
            .await
            .unwrap()
    );
    let before = events().await;
    assert!(
        !store
            .revoke(&d, 3_000, &event("invitation.revoked"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke(&a, 3_000, &event("invitation.revoked"))
            .await
            .unwrap()
    );
    assert_eq!(events().await, before, "nothing to revoke, no event");
    assert!(matches!(
        store
            .accept(
                &d,
                "hash-new",
                Accepter::Existing(p.admin.0),
                3_500,
                &event("invitation.accepted")
            )
            .await,
        Err(Error::Conflict(_))
    ));
    assert!(
        matches!(
            store
                .reissue(&d, "h", 9_000, 3_500, &event("invitation.resent"))
                .await,
            Err(Error::Conflict(_))
        ),
        "a revoked one"
    );
    assert!(matches!(
        store.revoke("nope", 1, &event("invitation.revoked")).await,
        Err(Error::NotFound)
    ));
}
