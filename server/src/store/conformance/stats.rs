//! Statistics: holdings grouped by owner, media type, extension and trash; older versions per
//! owner; uploads and downloads per day, bumped with the events that report them and only by
//! those (a failed download, an event without an owner, any other action count nothing).

use strongroom_audit::{Actor, AuditEvent, Outcome, Resource};

use super::fresh;
use super::tree::{file, owner};
use crate::store::stats::{DayCounts, Holding, OlderVersions, StatsStore};
use crate::store::{EventLog, FileStore, NewVersion, Quota, UserStore, VersionStore};

fn counted(action: &str, owner: &str, key: &str, n: u64, time: &str) -> AuditEvent {
    AuditEvent::builder(
        Actor::User(owner.into()),
        action,
        Resource::new("file", "f").unwrap(),
    )
    .time(time.parse().unwrap())
    .attributes(serde_json::json!({ "owner": owner, key: n }))
    .build()
    .unwrap()
}

fn holding(owner: &str, ct: &str, ext: &str, trashed: bool, files: u64, bytes: u64) -> Holding {
    Holding {
        owner_id: owner.into(),
        content_type: ct.into(),
        extension: ext.into(),
        trashed,
        files,
        bytes,
    }
}

/// See the module docs.
pub async fn stats_contract<S>(store: &S)
where
    S: UserStore + FileStore + VersionStore + EventLog + StatsStore + ?Sized,
{
    let (ann, bob) = (owner(store).await, owner(store).await);
    // A day of its own per run, so figures summed over every owner of a reused database are
    // still this run's.
    let n = uuid::Uuid::now_v7().as_u128();
    let (year, month) = (2100 + (n % 800) as u32, 1 + ((n >> 16) % 12) as u32);
    let (d1, d2) = (
        format!("{year}-{month:02}-04"),
        format!("{year}-{month:02}-05"),
    );
    let (t1, t2) = (format!("{d1}T23:59:59Z"), format!("{d2}T00:00:00Z"));

    let mut ids = Vec::new();
    for (who, name, ct, size) in [
        (&ann, "a.TXT", "text/plain", 10),
        (&ann, "b.txt", "text/plain", 20),
        (&ann, "photo.jpeg", "image/jpeg", 100),
        (&ann, "README", "application/octet-stream", 5),
        (&ann, "notes.", "application/octet-stream", 1),
        (&ann, "archive.tar.gz", "application/gzip", 50),
        (&bob, "c.txt", "text/plain", 7),
    ] {
        let id = fresh("sf");
        let mut f = file(&id, who, "", name, size, 10);
        f.content_type = ct.into();
        FileStore::insert(
            store,
            &f,
            "",
            &Quota::NONE,
            &counted("file.uploaded", who, "size", size, &t1),
        )
        .await
        .unwrap();
        ids.push(id);
    }
    // b.txt gets a second version of 30 bytes on day 2; the photo goes to the trash.
    store
        .add(
            &NewVersion {
                file_id: ids[1].clone(),
                if_match: None,
                size: 30,
                content_type: "text/plain".into(),
                sha256: "bb".into(),
                signature: "sig-bb".into(),
                blob_key: fresh("blob"),
                created_by: ann.clone(),
                at: 20,
                restored_from: None,
                quota: Quota::NONE,
                words: String::new(),
            },
            &counted("file.versioned", &ann, "size", 30, &t2),
        )
        .await
        .unwrap();
    FileStore::trash(store, &ids[2], 30, &super::event("file.trashed"))
        .await
        .unwrap();
    // Downloads: one counts; a failed one, one without an owner and another action do not.
    EventLog::record(store, &counted("file.downloaded", &ann, "bytes", 4, &t2))
        .await
        .unwrap();
    let failed = AuditEvent::builder(
        Actor::User(ann.clone()),
        "file.downloaded",
        Resource::new("file", "f").unwrap(),
    )
    .time(t2.parse().unwrap())
    .outcome(Outcome::Failure)
    .attributes(serde_json::json!({ "owner": ann, "bytes": 9 }))
    .build()
    .unwrap();
    EventLog::record(store, &failed).await.unwrap();
    EventLog::record(store, &super::event("file.downloaded"))
        .await
        .unwrap();
    EventLog::record(store, &counted("file.verified", &ann, "bytes", 9, &t2))
        .await
        .unwrap();

    let mut mine = store.holdings(Some(&ann)).await.unwrap();
    mine.sort_by(|a, b| (&a.content_type, &a.extension).cmp(&(&b.content_type, &b.extension)));
    assert_eq!(
        mine,
        vec![
            holding(&ann, "application/gzip", "gz", false, 1, 50),
            holding(&ann, "application/octet-stream", "", false, 2, 6),
            holding(&ann, "image/jpeg", "jpeg", true, 1, 100),
            holding(&ann, "text/plain", "txt", false, 2, 40),
        ]
    );
    let all = store.holdings(None).await.unwrap();
    assert!(all.contains(&holding(&bob, "text/plain", "txt", false, 1, 7)));
    assert!(all.iter().filter(|h| h.owner_id == ann).count() == 4);

    assert_eq!(
        store.older_versions(Some(&ann)).await.unwrap(),
        vec![OlderVersions {
            owner_id: ann.clone(),
            versions: 1,
            bytes: 20,
        }]
    );
    assert!(store.older_versions(Some(&bob)).await.unwrap().is_empty());

    let day1 = DayCounts {
        uploads: 6,
        upload_bytes: 186,
        ..DayCounts::default()
    };
    let day2 = DayCounts {
        uploads: 1,
        upload_bytes: 30,
        downloads: 1,
        download_bytes: 4,
    };
    assert_eq!(
        store.days(Some(&ann), &d1, &d2).await.unwrap(),
        vec![(d1.clone(), day1), (d2.clone(), day2)]
    );
    assert_eq!(
        store.days(Some(&ann), &d2, &d2).await.unwrap(),
        vec![(d2.clone(), day2)]
    );
    assert_eq!(
        store.days(None, &d1, &d1).await.unwrap(),
        vec![(
            d1.clone(),
            DayCounts {
                uploads: 7,
                upload_bytes: 193,
                ..DayCounts::default()
            }
        )]
    );
    assert!(store.days(Some(&bob), &d2, &d2).await.unwrap().is_empty());
}
