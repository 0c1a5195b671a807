//! The teams tables, and the team's account and space written with it.

use super::{People, event, fresh};
use crate::store::files::FileStore;
use crate::store::folders::{FolderChange, FolderStore};
use crate::store::grants::GrantStore;
use crate::store::groups::{GroupRecord, GroupStore};
use crate::store::teams::{HandOver, TeamRecord, TeamStore};
use crate::store::users::{UserKey, UserQuery, UserStore};
use crate::store::{Error, Quota};
use crate::store::{NewVersion, VersionStore};

/// Create (writing the space and the first admin; the team's account invisible to the user
/// store), get, page, `teams_of`, rename (the space too), roles (add, change, the last admin
/// kept on demotion and removal, with no event for a refusal), `access` reporting team roles,
/// transfer, the space refusing trash, delete and move, and delete refused while the team owns
/// anything but its empty space, then taking the team with it.
pub async fn teams_contract<S>(store: &S, p: People<'_>, events: impl AsyncFn() -> u64)
where
    S: TeamStore + UserStore + FolderStore + FileStore + GrantStore + ?Sized,
{
    let (id, space) = (fresh("team"), fresh("space"));
    let t = TeamRecord {
        id: id.clone(),
        name: "Research".into(),
        space_id: space.clone(),
        created_by: p.ann.0.to_owned(),
        created_at: 10,
        updated_at: 10,
    };
    let before = events().await;
    TeamStore::create(store, &t, p.ann.0, &event("team.created"))
        .await
        .unwrap();
    assert_eq!(events().await - before, 1);
    assert!(matches!(
        TeamStore::create(store, &t, p.ann.0, &event("team.created")).await,
        Err(Error::Conflict(_))
    ));
    assert_eq!(TeamStore::get(store, &id).await.unwrap().unwrap(), t);
    let s = FolderStore::get(store, &space).await.unwrap().unwrap();
    assert_eq!(
        (s.owner_id.as_str(), s.parent_id.as_str(), s.name.as_str()),
        (id.as_str(), "", "Research")
    );
    // The team's account is no person.
    assert!(
        UserStore::get(store, UserKey::Id(&id))
            .await
            .unwrap()
            .is_none()
    );
    let everyone = UserStore::list(
        store,
        &UserQuery {
            limit: 10_000,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(everyone.iter().all(|u| u.id != id));
    assert!(TeamStore::get(store, "nope").await.unwrap().is_none());
    assert!(
        TeamStore::list(store, None, 10_000)
            .await
            .unwrap()
            .iter()
            .any(|x| x.id == id)
    );

    let mine = store.teams_of(p.ann.0).await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(
        (mine[0].team.id.as_str(), mine[0].role.as_str()),
        (id.as_str(), "admin")
    );
    assert!(store.teams_of(p.bob.0).await.unwrap().is_empty());

    TeamStore::rename(store, &id, "Lab", 20, &event("team.renamed"))
        .await
        .unwrap();
    assert_eq!(
        TeamStore::get(store, &id).await.unwrap().unwrap().name,
        "Lab"
    );
    assert_eq!(
        FolderStore::get(store, &space).await.unwrap().unwrap().name,
        "Lab"
    );
    assert!(matches!(
        TeamStore::rename(store, "nope", "x", 20, &event("team.renamed")).await,
        Err(Error::NotFound)
    ));

    // Roles.
    let set = async |user: &str, role: &str| {
        store
            .set_role(&id, user, role, p.ann.0, 30, &event("team.member_role_set"))
            .await
    };
    assert_eq!(set(p.bob.0, "guest").await.unwrap(), None);
    assert_eq!(
        set(p.bob.0, "editor").await.unwrap().as_deref(),
        Some("guest")
    );
    assert!(matches!(
        set("nobody", "editor").await,
        Err(Error::NotFound)
    ));
    assert!(
        matches!(set(&id, "editor").await, Err(Error::NotFound)),
        "a team is no member"
    );
    let before = events().await;
    assert!(
        matches!(set(p.ann.0, "editor").await, Err(Error::Conflict(_))),
        "last admin"
    );
    assert!(matches!(
        store
            .remove_member(&id, p.ann.0, &event("team.member_removed"))
            .await,
        Err(Error::Conflict(_))
    ));
    assert_eq!(events().await, before, "refusals record nothing");
    let members = store.members(&id).await.unwrap();
    let roles: Vec<(&str, &str)> = members
        .iter()
        .map(|m| (m.user_id.as_str(), m.role.as_str()))
        .collect();
    assert!(roles.contains(&(p.ann.0, "admin")) && roles.contains(&(p.bob.0, "editor")));
    assert_eq!(members.len(), 2);

    // Decisions see team roles.
    let access = store.access(&[p.bob.0], &[]).await.unwrap();
    assert_eq!(
        access.team_roles,
        vec![(p.bob.0.to_owned(), id.clone(), "editor".to_owned())]
    );

    // Handing over: bob admin, ann editor; then ann may go.
    store
        .transfer(&id, p.ann.0, p.bob.0, 40, &event("team.transferred"))
        .await
        .unwrap();
    assert!(matches!(
        store
            .transfer(&id, p.ann.0, "nobody", 40, &event("team.transferred"))
            .await,
        Err(Error::NotFound)
    ));
    let roles: Vec<(String, String)> = store
        .members(&id)
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.user_id, m.role))
        .collect();
    assert!(roles.contains(&(p.bob.0.to_owned(), "admin".to_owned())));
    assert!(roles.contains(&(p.ann.0.to_owned(), "editor".to_owned())));
    store
        .remove_member(&id, p.ann.0, &event("team.member_removed"))
        .await
        .unwrap();
    assert!(matches!(
        store
            .remove_member(&id, p.ann.0, &event("team.member_removed"))
            .await,
        Err(Error::NotFound)
    ));
    assert!(store.teams_of(p.ann.0).await.unwrap().is_empty());

    // The space stays put.
    for refused in [
        FolderStore::trash(store, &space, 50, &event("folder.trashed")).await,
        FolderStore::delete(store, &space, &event("folder.deleted")).await,
    ] {
        assert!(matches!(refused, Err(Error::Conflict(_))), "{refused:?}");
    }
    let inside = fresh("sub");
    FolderStore::create(
        store,
        &super::folder(&inside, &id, &space, "Drafts"),
        &event("folder.created"),
    )
    .await
    .unwrap();
    let into_sub = FolderChange {
        parent_id: Some(inside.clone()),
        ..Default::default()
    };
    assert!(matches!(
        FolderStore::update(store, &space, &into_sub, 50, &event("folder.moved")).await,
        Err(Error::Conflict(_) | Error::Invalid(_))
    ));

    // Not empty: refused; empty: gone, with its account and space.
    assert!(matches!(
        TeamStore::delete(store, &id, &event("team.deleted")).await,
        Err(Error::Conflict(_))
    ));
    FolderStore::delete(store, &inside, &event("folder.deleted"))
        .await
        .unwrap();
    let f = fresh("file");
    store
        .insert(
            &super::file(&f, &id, &space, "a.txt", 3, 60),
            "",
            &Quota::NONE,
            &event("file.uploaded"),
        )
        .await
        .unwrap();
    assert!(matches!(
        TeamStore::delete(store, &id, &event("team.deleted")).await,
        Err(Error::Conflict(_))
    ));
    FileStore::delete(store, &f, &event("file.deleted"))
        .await
        .unwrap();
    TeamStore::delete(store, &id, &event("team.deleted"))
        .await
        .unwrap();
    assert!(TeamStore::get(store, &id).await.unwrap().is_none());
    assert!(FolderStore::get(store, &space).await.unwrap().is_none());
    assert!(store.teams_of(p.bob.0).await.unwrap().is_empty());
    assert!(matches!(
        TeamStore::delete(store, &id, &event("team.deleted")).await,
        Err(Error::NotFound)
    ));
}

/// `contents` lists each content of the team's files once (trash included); `hand_over`
/// refuses a receiver outside the team, contents other than the team's, and a quota too small
/// (nothing changed, no event), then gives every folder and file (versions pointed at the new
/// keys) to the member, names the space after the team at the top of their tree (" (2)" when
/// taken) and deletes the team with its groups.
pub async fn team_hand_over_contract<S>(store: &S, p: People<'_>, events: impl AsyncFn() -> u64)
where
    S: TeamStore + UserStore + FolderStore + FileStore + VersionStore + GroupStore + ?Sized,
{
    let (id, space) = (fresh("team"), fresh("space"));
    let t = TeamRecord {
        id: id.clone(),
        name: "Handed".into(),
        space_id: space.clone(),
        created_by: p.ann.0.to_owned(),
        created_at: 10,
        updated_at: 10,
    };
    TeamStore::create(store, &t, p.ann.0, &event("team.created"))
        .await
        .unwrap();
    TeamStore::set_role(
        store,
        &id,
        p.bob.0,
        "editor",
        p.ann.0,
        11,
        &event("team.role_set"),
    )
    .await
    .unwrap();
    // bob has a folder of the team's name already.
    let taken = fresh("taken");
    FolderStore::create(
        store,
        &super::folder(&taken, p.bob.0, "", "Handed"),
        &event("folder.created"),
    )
    .await
    .unwrap();
    let sub = fresh("sub");
    FolderStore::create(
        store,
        &super::folder(&sub, &id, &space, "Drafts"),
        &event("folder.created"),
    )
    .await
    .unwrap();
    let (a, b) = (fresh("file"), fresh("file"));
    for (f, folder) in [(&a, &space), (&b, &sub)] {
        store
            .insert(
                &super::file(f, &id, folder, "x.txt", 5, 20),
                "",
                &Quota::NONE,
                &event("file.uploaded"),
            )
            .await
            .unwrap();
    }
    // a second version of a, with its own content.
    let v2 = NewVersion {
        file_id: a.clone(),
        if_match: None,
        size: 7,
        content_type: "text/plain".into(),
        sha256: "11".repeat(32),
        signature: "sr1:test".into(),
        blob_key: format!("blobs/{a}-2"),
        created_by: p.ann.0.to_owned(),
        at: 21,
        restored_from: None,
        quota: Quota::NONE,
        words: String::new(),
    };
    VersionStore::add(store, &v2, &event("file.versioned"))
        .await
        .unwrap();
    FileStore::trash(store, &b, 22, &event("file.trashed"))
        .await
        .unwrap();
    let group = format!("{id}.crew");
    let g = GroupRecord {
        id: group.clone(),
        team_id: Some(id.clone()),
        name: "crew".into(),
        description: String::new(),
        created_by: p.ann.0.to_owned(),
        created_at: 1,
        updated_at: 1,
    };
    GroupStore::create(store, &g, &event("group.created"))
        .await
        .unwrap();

    let contents = TeamStore::contents(store, &id).await.unwrap();
    let mut keys: Vec<&str> = contents.iter().map(|c| c.blob_key.as_str()).collect();
    keys.sort_unstable();
    let mut want = vec![
        format!("blobs/{a}"),
        format!("blobs/{a}-2"),
        format!("blobs/{b}"),
    ];
    want.sort();
    assert_eq!(keys, want, "each content once, the trash's too");
    let rekeyed: Vec<(String, String)> = want
        .iter()
        .map(|k| (k.clone(), format!("{k}-bob")))
        .collect();

    let before = events().await;
    let attempt = async |to: &str, rekeyed: &[(String, String)], quota: &Quota| {
        let h = HandOver {
            to,
            rekeyed,
            chunked: false,
            quota,
        };
        TeamStore::hand_over(store, &id, &h, &event("team.deleted")).await
    };
    assert!(matches!(
        attempt(p.admin.0, &rekeyed, &Quota::NONE).await,
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        attempt(p.bob.0, &rekeyed[1..], &Quota::NONE).await,
        Err(Error::Conflict(_))
    ));
    let small = Quota {
        bytes: Some(10),
        files: None,
    };
    assert!(matches!(
        attempt(p.bob.0, &rekeyed, &small).await,
        Err(Error::QuotaExceeded(_))
    ));
    assert_eq!(events().await - before, 0, "refusals record nothing");
    assert!(TeamStore::get(store, &id).await.unwrap().is_some());

    let name = attempt(p.bob.0, &rekeyed, &Quota::NONE).await.unwrap();
    assert_eq!(name, "Handed (2)");
    assert!(TeamStore::get(store, &id).await.unwrap().is_none());
    assert!(GroupStore::get(store, &group).await.unwrap().is_none());
    let s = FolderStore::get(store, &space).await.unwrap().unwrap();
    assert_eq!(
        (s.owner_id.as_str(), s.parent_id.as_str(), s.name.as_str()),
        (p.bob.0, "", "Handed (2)")
    );
    assert_eq!(
        FolderStore::get(store, &sub)
            .await
            .unwrap()
            .unwrap()
            .owner_id,
        p.bob.0
    );
    let fa = FileStore::get(store, &a).await.unwrap().unwrap();
    assert_eq!(
        (fa.owner_id.as_str(), fa.blob_key.clone()),
        (p.bob.0, format!("blobs/{a}-2-bob"))
    );
    let fb = FileStore::get(store, &b).await.unwrap().unwrap();
    assert_eq!(fb.owner_id, p.bob.0);
    assert!(fb.trashed_at.is_some(), "the trash moves as it is");
    let versions: Vec<String> = VersionStore::list(store, &a)
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.blob_key)
        .collect();
    assert!(
        versions.contains(&format!("blobs/{a}-bob"))
            && versions.contains(&format!("blobs/{a}-2-bob")),
        "{versions:?}"
    );
    assert!(
        !VersionStore::blob_in_use(store, &format!("blobs/{a}"))
            .await
            .unwrap()
    );
    assert!(matches!(
        attempt(p.bob.0, &rekeyed, &Quota::NONE).await,
        Err(Error::NotFound)
    ));
}
