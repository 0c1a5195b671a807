//! The teams tables, and the team's account and space written with it.

use super::{People, event, fresh};
use crate::store::files::FileStore;
use crate::store::folders::{FolderChange, FolderStore};
use crate::store::grants::GrantStore;
use crate::store::teams::{TeamRecord, TeamStore};
use crate::store::users::{UserKey, UserQuery, UserStore};
use crate::store::{Error, Quota};

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
