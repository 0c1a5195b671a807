//! The groups tables and group-held, expiring shares.

use super::{People, event, fresh};
use crate::store::Error;
use crate::store::grants::{GrantStore, Holder, NewGrant, Shares};
use crate::store::groups::{GroupRecord, GroupStore};
use crate::store::teams::{TeamRecord, TeamStore};

fn group(id: &str, by: &str) -> GroupRecord {
    GroupRecord {
        id: id.to_owned(),
        team_id: None,
        name: format!("Group {id}"),
        description: String::new(),
        created_by: by.to_owned(),
        created_at: 1,
        updated_at: 1,
    }
}

/// Create (unique ids), get, page, update, members (users and nested groups, no cycles,
/// duplicate adds and missing members refused without an event), transitive `groups_of` and
/// `access` memberships, group-held shares listed for their members, expiries noted once, and
/// delete taking memberships and shares with it.
pub async fn groups_contract<S>(store: &S, p: People<'_>, events: impl AsyncFn() -> u64)
where
    S: GrantStore + GroupStore + ?Sized,
{
    let tag = fresh("g").replace('-', "");
    let (outer, mid, inner) = (format!("{tag}.a"), format!("{tag}.b"), format!("{tag}.c"));
    let before = events().await;
    for id in [&outer, &mid, &inner] {
        GroupStore::create(store, &group(id, p.admin.0), &event("group.created"))
            .await
            .unwrap();
    }
    assert!(matches!(
        GroupStore::create(store, &group(&outer, p.admin.0), &event("group.created")).await,
        Err(Error::Conflict(_))
    ));
    assert_eq!(events().await - before, 3);
    assert_eq!(
        GroupStore::get(store, &outer).await.unwrap().unwrap().name,
        format!("Group {outer}")
    );
    assert!(GroupStore::get(store, "nope").await.unwrap().is_none());
    let page = GroupStore::list(store, None, Some(&outer), 1)
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].id, mid, "by id, after the cursor");

    GroupStore::update(
        store,
        &outer,
        Some("Renamed"),
        None,
        5,
        &event("group.updated"),
    )
    .await
    .unwrap();
    let g = GroupStore::get(store, &outer).await.unwrap().unwrap();
    assert_eq!((g.name.as_str(), g.updated_at), ("Renamed", 5));
    assert!(matches!(
        GroupStore::update(store, "nope", Some("x"), None, 5, &event("group.updated")).await,
        Err(Error::NotFound)
    ));

    // ann in inner, inner in mid, mid in outer; bob directly in outer.
    let add = async |g: &str, m: Holder<'_>| {
        store
            .add_member(g, m, p.admin.0, 7, &event("group.member_added"))
            .await
    };
    assert!(add(&inner, Holder::User(p.ann.0)).await.unwrap());
    assert!(add(&mid, Holder::Group(&inner)).await.unwrap());
    assert!(add(&outer, Holder::Group(&mid)).await.unwrap());
    assert!(add(&outer, Holder::User(p.bob.0)).await.unwrap());
    let before = events().await;
    assert!(
        !add(&outer, Holder::User(p.bob.0)).await.unwrap(),
        "already a member"
    );
    for cycle in [(&inner, &outer), (&inner, &mid), (&outer, &outer)] {
        assert!(
            matches!(
                add(cycle.0, Holder::Group(cycle.1)).await,
                Err(Error::Invalid(_))
            ),
            "{cycle:?} closes a cycle"
        );
    }
    assert!(matches!(
        add(&outer, Holder::User("no-such-user")).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        add(&outer, Holder::Group("no-such-group")).await,
        Err(Error::NotFound)
    ));
    assert!(matches!(
        add("no-such-group", Holder::User(p.ann.0)).await,
        Err(Error::NotFound)
    ));
    assert_eq!(events().await - before, 0, "refused adds record nothing");

    let members = store.members(&outer).await.unwrap();
    let listed: Vec<(&str, &str)> = members
        .iter()
        .map(|m| (m.kind.as_str(), m.id.as_str()))
        .collect();
    assert_eq!(
        listed,
        [("user", p.bob.0), ("group", mid.as_str())],
        "users, then groups"
    );
    assert_eq!(members[0].name, p.bob.1);
    assert_eq!(members[1].name, format!("Group {mid}"));
    let of_ann: Vec<String> = store
        .groups_of(p.ann.0)
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.id)
        .filter(|g| g.starts_with(&tag))
        .collect();
    assert_eq!(
        of_ann,
        [outer.clone(), mid.clone(), inner.clone()],
        "transitive, by id"
    );

    // A share held by the outer group reaches ann through two levels of nesting.
    let (file, other) = (fresh("file"), fresh("file"));
    let put = async |node: &str, holder: Holder<'_>, by: &str, at: i64, expires: Option<i64>| {
        let g = NewGrant {
            resource_kind: "file",
            resource_id: node,
            holder,
            role: "viewer",
            granted_by: by,
            at,
            expires_at: expires,
        };
        store.put(&g, &event("share.granted")).await
    };
    put(&file, Holder::Group(&outer), p.bob.0, 100, Some(1_000))
        .await
        .unwrap();
    put(&other, Holder::User(p.ann.0), p.admin.0, 200, None)
        .await
        .unwrap();
    assert!(matches!(
        put(&file, Holder::Group("no-such-group"), p.bob.0, 100, None).await,
        Err(Error::NotFound)
    ));
    let held = GrantStore::list(store, Shares::HeldBy(p.ann.0))
        .await
        .unwrap();
    let mine: Vec<(&str, &str)> = held
        .iter()
        .filter(|g| g.resource_id == file || g.resource_id == other)
        .map(|g| (g.resource_id.as_str(), g.holder_kind.as_str()))
        .collect();
    assert_eq!(mine, [(other.as_str(), "user"), (file.as_str(), "group")]);
    let on = GrantStore::list(store, Shares::On("file", &file))
        .await
        .unwrap();
    assert_eq!(on.len(), 1);
    assert_eq!(
        (on[0].holder_name.as_str(), on[0].expires_at),
        ("Renamed", Some(1_000))
    );

    let access = store.access(&[p.ann.0], &[&file]).await.unwrap();
    assert_eq!(access.roles.len(), 1);
    assert_eq!(
        (
            access.roles[0].holder_kind.as_str(),
            access.roles[0].holder_id.as_str()
        ),
        ("group", outer.as_str())
    );
    assert_eq!(access.roles[0].expires_at, Some(1_000));
    let of = |user: &str| {
        let mut v: Vec<&str> = access
            .memberships
            .iter()
            .filter(|(u, g)| u == user && g.starts_with(&tag))
            .map(|(_, g)| g.as_str())
            .collect();
        v.sort();
        v
    };
    assert_eq!(of(p.ann.0), [outer.as_str(), mid.as_str(), inner.as_str()]);
    assert_eq!(
        of(p.bob.0),
        [outer.as_str()],
        "the sharer's groups come along"
    );

    // Expiry: due once the time passes, noted once with one event; sharing again renews it.
    let due = async |now: i64| {
        store
            .due_expiries(now, 1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|g| g.resource_id == file)
            .collect::<Vec<_>>()
    };
    assert!(due(999).await.is_empty());
    let expired = due(1_000).await;
    assert_eq!(expired.len(), 1);
    let before = events().await;
    assert!(
        store
            .note_expiry(&expired[0], 1_000, &event("share.expired"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .note_expiry(&expired[0], 1_001, &event("share.expired"))
            .await
            .unwrap()
    );
    assert_eq!(events().await - before, 1);
    assert!(due(5_000).await.is_empty(), "noted");
    put(&file, Holder::Group(&outer), p.bob.0, 300, Some(2_000))
        .await
        .unwrap();
    assert!(
        !store
            .note_expiry(&expired[0], 2_500, &event("share.expired"))
            .await
            .unwrap(),
        "a renewed share is not the one that expired"
    );
    assert_eq!(
        due(2_000).await.len(),
        1,
        "renewed, due again at its new expiry"
    );

    // Removing a member and deleting a group.
    assert!(
        store
            .remove_member(&mid, Holder::Group(&inner), &event("group.member_removed"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .remove_member(&mid, Holder::Group(&inner), &event("group.member_removed"))
            .await
            .unwrap()
    );
    let of_ann: Vec<String> = store
        .groups_of(p.ann.0)
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.id)
        .filter(|g| g.starts_with(&tag))
        .collect();
    assert_eq!(of_ann, std::slice::from_ref(&inner));
    assert!(add(&mid, Holder::Group(&inner)).await.unwrap());
    GroupStore::delete(store, &outer, &event("group.deleted"))
        .await
        .unwrap();
    assert!(matches!(
        GroupStore::delete(store, &outer, &event("group.deleted")).await,
        Err(Error::NotFound)
    ));
    assert!(
        GrantStore::list(store, Shares::On("file", &file))
            .await
            .unwrap()
            .is_empty(),
        "its shares went"
    );
    let of_ann: Vec<String> = store
        .groups_of(p.ann.0)
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.id)
        .filter(|g| g.starts_with(&tag))
        .collect();
    assert_eq!(
        of_ann,
        [mid.clone(), inner.clone()],
        "the nesting below it stays"
    );
    GroupStore::delete(store, &inner, &event("group.deleted"))
        .await
        .unwrap();
    assert!(
        store.members(&mid).await.unwrap().is_empty(),
        "gone from the groups it was in"
    );
}

/// A team's groups: members only from the team and groups only of the same team (platform and
/// team groups never nest in each other), refusals recording nothing; `list` by scope; a member
/// taken out of the team taken out of its groups; deleting the team taking its groups, their
/// memberships and the shares they held.
pub async fn team_groups_contract<S>(store: &S, p: People<'_>, events: impl AsyncFn() -> u64)
where
    S: TeamStore + GroupStore + GrantStore + ?Sized,
{
    let (team, space) = (fresh("team"), fresh("space"));
    let t = TeamRecord {
        id: team.clone(),
        name: "Groups".into(),
        space_id: space,
        created_by: p.ann.0.to_owned(),
        created_at: 1,
        updated_at: 1,
    };
    TeamStore::create(store, &t, p.ann.0, &event("team.created"))
        .await
        .unwrap();
    TeamStore::set_role(
        store,
        &team,
        p.bob.0,
        "guest",
        p.ann.0,
        2,
        &event("team.role_set"),
    )
    .await
    .unwrap();
    let (a, b) = (format!("{team}.a"), format!("{team}.b"));
    let platform = fresh("p").replace('-', "");
    for (id, scope) in [(&a, Some(&team)), (&b, Some(&team)), (&platform, None)] {
        let g = GroupRecord {
            team_id: scope.cloned(),
            ..group(id, p.ann.0)
        };
        GroupStore::create(store, &g, &event("group.created"))
            .await
            .unwrap();
    }
    let ids = |gs: Vec<GroupRecord>| gs.into_iter().map(|g| g.id).collect::<Vec<_>>();
    assert_eq!(
        ids(GroupStore::list(store, Some(&team), None, 10)
            .await
            .unwrap()),
        [a.clone(), b.clone()]
    );
    let platform_groups = ids(GroupStore::list(store, None, None, 100_000).await.unwrap());
    assert!(platform_groups.contains(&platform));
    assert!(
        !platform_groups.contains(&a),
        "team groups are not platform groups"
    );

    let add = async |g: &str, m: Holder<'_>| {
        store
            .add_member(g, m, p.ann.0, 3, &event("group.member_added"))
            .await
    };
    assert!(add(&a, Holder::User(p.bob.0)).await.unwrap());
    assert!(add(&b, Holder::Group(&a)).await.unwrap());
    let before = events().await;
    for (group, member) in [
        (&a, Holder::User(p.admin.0)),
        (&a, Holder::Group(&platform)),
        (&platform, Holder::Group(&a)),
    ] {
        assert!(
            matches!(add(group, member).await, Err(Error::Invalid(_))),
            "{member:?} into {group}"
        );
    }
    assert_eq!(events().await - before, 0, "refusals record nothing");
    let bobs = |gs: Vec<GroupRecord>| {
        gs.into_iter()
            .map(|g| g.id)
            .filter(|g| g.starts_with(&team))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        bobs(store.groups_of(p.bob.0).await.unwrap()),
        [a.clone(), b.clone()]
    );

    // A share held by the team's group, on a file outside the team.
    let file = fresh("file");
    let share = NewGrant {
        resource_kind: "file",
        resource_id: &file,
        holder: Holder::Group(&b),
        role: "viewer",
        granted_by: p.ann.0,
        at: 4,
        expires_at: None,
    };
    store.put(&share, &event("share.granted")).await.unwrap();
    let through_b = async || {
        let access = store.access(&[p.bob.0], &[&file]).await.unwrap();
        assert_eq!(access.roles.len(), 1);
        access
            .memberships
            .iter()
            .any(|(u, g)| u == p.bob.0 && *g == b)
    };
    assert!(through_b().await);

    // Out of the team, out of its groups (and of what they hold).
    TeamStore::remove_member(store, &team, p.bob.0, &event("team.member_removed"))
        .await
        .unwrap();
    assert!(bobs(store.groups_of(p.bob.0).await.unwrap()).is_empty());
    assert!(!through_b().await);
    assert!(matches!(
        add(&a, Holder::User(p.bob.0)).await,
        Err(Error::Invalid(_))
    ));

    TeamStore::delete(store, &team, &event("team.deleted"))
        .await
        .unwrap();
    assert!(GroupStore::get(store, &a).await.unwrap().is_none());
    assert!(GroupStore::get(store, &b).await.unwrap().is_none());
    assert!(
        GrantStore::list(store, Shares::On("file", &file))
            .await
            .unwrap()
            .is_empty(),
        "the shares its groups held went with them"
    );
    GroupStore::delete(store, &platform, &event("group.deleted"))
        .await
        .unwrap();
}
