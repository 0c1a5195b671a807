//! Tags, fields and search: vocabularies unique regardless of case, taggings only within an
//! owner's tree and gone with what they tag, fields checked against a schema inside the write,
//! and one search behaviour on every backend (substrings of names in any script, word prefixes
//! of content, tags, fields, filters, orders and pages).

use std::collections::BTreeMap;

use super::tree::{file, folder, owner};
use super::{event, fresh};
use crate::store::fields::{FieldChanges, FieldDef, FieldKind, FieldStore, FieldValue};
use crate::store::search::{
    After, Compare, FieldFilter, FieldOperand, Match, Scope, SearchIndex, SearchOrder, SearchQuery,
};
use crate::store::tags::{Item, TagRecord, TagStore};
use crate::store::{
    Error, FileChange, FileStore, FolderStore, NewVersion, Quota, UserStore, VersionStore,
};

fn tag(id: &str, owner: &str, name: &str) -> TagRecord {
    TagRecord {
        id: id.into(),
        owner_id: owner.into(),
        name: name.into(),
        colour: None,
        created_by: owner.into(),
        created_at: 5,
    }
}

/// Tags: unique names per owner regardless of case, counted use, taggings in bulk (new ones
/// counted), refused across owners and for missing items, listed in order, gone with the tag,
/// the file or the folder; every write with its event, a refused one with none.
pub async fn tags_contract<S>(store: &S, events: impl AsyncFn() -> u64)
where
    S: UserStore + FolderStore + FileStore + TagStore + ?Sized,
{
    let (ann, bob) = (owner(store).await, owner(store).await);
    let (dir, f1, f2, fb) = (fresh("td"), fresh("tf"), fresh("tf"), fresh("tfb"));
    FolderStore::create(
        store,
        &folder(&dir, &ann, "", "docs"),
        &event("folder.created"),
    )
    .await
    .unwrap();
    for (id, who, name) in [
        (&f1, &ann, "a.txt"),
        (&f2, &ann, "b.txt"),
        (&fb, &bob, "c.txt"),
    ] {
        FileStore::insert(
            store,
            &file(id, who, "", name, 1, 10),
            "",
            &Quota::NONE,
            &event("file.uploaded"),
        )
        .await
        .unwrap();
    }
    let (urgent, later) = (fresh("tag"), fresh("tag"));
    let before = events().await;
    TagStore::create(store, &tag(&urgent, &ann, "Urgent"), &event("tag.created"))
        .await
        .unwrap();
    TagStore::create(store, &tag(&later, &ann, "later"), &event("tag.created"))
        .await
        .unwrap();
    let dup = TagStore::create(
        store,
        &tag(&fresh("tag"), &ann, "URGENT"),
        &event("tag.created"),
    )
    .await;
    assert!(matches!(dup, Err(Error::Conflict(_))), "{dup:?}");
    // Another owner's vocabulary is its own.
    TagStore::create(
        store,
        &tag(&fresh("tag"), &bob, "urgent"),
        &event("tag.created"),
    )
    .await
    .unwrap();
    assert_eq!(
        events().await - before,
        3,
        "a refused create leaves no event"
    );

    let items = [
        Item::File(f1.clone()),
        Item::File(f2.clone()),
        Item::Folder(dir.clone()),
    ];
    let n = TagStore::apply(store, &urgent, &items, &ann, 20, &event("tag.applied"))
        .await
        .unwrap();
    assert_eq!(n, 3);
    let again = TagStore::apply(store, &urgent, &items[..1], &ann, 21, &event("tag.applied"))
        .await
        .unwrap();
    assert_eq!(again, 0, "only new taggings count");
    let before = events().await;
    let across = TagStore::apply(
        store,
        &urgent,
        &[Item::File(fb.clone())],
        &ann,
        22,
        &event("tag.applied"),
    )
    .await;
    assert!(matches!(across, Err(Error::Invalid(_))), "{across:?}");
    let missing = TagStore::apply(
        store,
        &urgent,
        &[Item::File(f1.clone()), Item::File(fresh("gone"))],
        &ann,
        22,
        &event("tag.applied"),
    )
    .await;
    assert!(matches!(missing, Err(Error::NotFound)), "{missing:?}");
    let no_tag = TagStore::apply(
        store,
        "no-such-tag",
        &items,
        &ann,
        22,
        &event("tag.applied"),
    )
    .await;
    assert!(matches!(no_tag, Err(Error::NotFound)), "{no_tag:?}");
    assert_eq!(events().await - before, 0);

    let vocab = TagStore::vocabulary(store, &ann).await.unwrap();
    let names: Vec<(&str, u64, u64)> = vocab
        .iter()
        .map(|u| (u.tag.name.as_str(), u.files, u.folders))
        .collect();
    assert_eq!(names, [("later", 0, 0), ("Urgent", 2, 1)]);
    let on = TagStore::of_items(store, &[&f1, &dir, &fb]).await.unwrap();
    assert_eq!(on[&f1].len(), 1);
    assert_eq!(on[&dir][0].id, urgent);
    assert!(!on.contains_key(&fb));

    let page = TagStore::items(store, &urgent, None, 2).await.unwrap();
    let mut files = [f1.clone(), f2.clone()];
    files.sort();
    assert_eq!(
        page,
        [Item::File(files[0].clone()), Item::File(files[1].clone())]
    );
    let rest = TagStore::items(store, &urgent, page.last(), 10)
        .await
        .unwrap();
    assert_eq!(rest, [Item::Folder(dir.clone())]);

    let removed = TagStore::remove(
        store,
        &urgent,
        &[Item::File(f2.clone()), Item::File(fb.clone())],
        &event("tag.removed"),
    )
    .await
    .unwrap();
    assert_eq!(removed, 1);

    TagStore::update(
        store,
        &later,
        Some("Someday"),
        Some(Some("#00aa88")),
        &event("tag.updated"),
    )
    .await
    .unwrap();
    let t = TagStore::get(store, &later).await.unwrap().unwrap();
    assert_eq!(
        (t.name.as_str(), t.colour.as_deref()),
        ("Someday", Some("#00aa88"))
    );
    let clash = TagStore::update(store, &later, Some("urgent"), None, &event("tag.updated")).await;
    assert!(matches!(clash, Err(Error::Conflict(_))), "{clash:?}");
    TagStore::update(store, &later, None, Some(None), &event("tag.updated"))
        .await
        .unwrap();
    assert_eq!(
        TagStore::get(store, &later).await.unwrap().unwrap().colour,
        None
    );

    // Gone with the file, the folder, and the tag.
    FileStore::delete(store, &f1, &event("file.deleted"))
        .await
        .unwrap();
    FolderStore::delete(store, &dir, &event("folder.deleted"))
        .await
        .unwrap();
    let vocab = TagStore::vocabulary(store, &ann).await.unwrap();
    let urgent_use = vocab.iter().find(|u| u.tag.id == urgent).unwrap();
    assert_eq!((urgent_use.files, urgent_use.folders), (0, 0));
    TagStore::apply(
        store,
        &urgent,
        &[Item::File(f2.clone())],
        &ann,
        30,
        &event("tag.applied"),
    )
    .await
    .unwrap();
    TagStore::delete(store, &urgent, &event("tag.deleted"))
        .await
        .unwrap();
    assert!(TagStore::of_items(store, &[&f2]).await.unwrap().is_empty());
    let gone = TagStore::delete(store, &urgent, &event("tag.deleted")).await;
    assert!(matches!(gone, Err(Error::NotFound)), "{gone:?}");
}

fn set(pairs: &[(&str, FieldValue)]) -> FieldChanges {
    FieldChanges {
        set: pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect(),
        unset: Vec::new(),
    }
}

/// Fields: set and replaced and removed, typed values read back, a schema checked inside the
/// write (unknown key, wrong kind, a value outside the choices: `Invalid`, nothing written),
/// and gone with the file.
pub async fn fields_contract<S>(store: &S, events: impl AsyncFn() -> u64)
where
    S: UserStore + FileStore + FieldStore + ?Sized,
{
    let ann = owner(store).await;
    let f = fresh("ff");
    FileStore::insert(
        store,
        &file(&f, &ann, "", "report.txt", 1, 10),
        "",
        &Quota::NONE,
        &event("file.uploaded"),
    )
    .await
    .unwrap();
    let missing = FieldStore::change(
        store,
        &fresh("gone"),
        &set(&[("a", FieldValue::Number(1.0))]),
        11,
        &event("file.fields_changed"),
    )
    .await;
    assert!(matches!(missing, Err(Error::NotFound)), "{missing:?}");
    let before = events().await;
    FieldStore::change(
        store,
        &f,
        &set(&[
            ("client", FieldValue::String("Acme Corp".into())),
            ("pages", FieldValue::Number(12.5)),
            ("signed", FieldValue::Boolean(true)),
            ("due", FieldValue::Date(1_767_225_600_000_000)),
        ]),
        20,
        &event("file.fields_changed"),
    )
    .await
    .unwrap();
    assert_eq!(events().await - before, 1);
    assert_eq!(
        FileStore::get(store, &f).await.unwrap().unwrap().updated_at,
        20
    );
    let mut changes = set(&[("pages", FieldValue::Number(13.0))]);
    changes.unset = vec!["signed".into(), "absent".into()];
    FieldStore::change(store, &f, &changes, 21, &event("file.fields_changed"))
        .await
        .unwrap();
    let got = FieldStore::of_files(store, &[&f]).await.unwrap();
    let want: BTreeMap<String, FieldValue> = [
        ("client".to_owned(), FieldValue::String("Acme Corp".into())),
        ("due".to_owned(), FieldValue::Date(1_767_225_600_000_000)),
        ("pages".to_owned(), FieldValue::Number(13.0)),
    ]
    .into();
    assert_eq!(got[&f], want);

    let schema = [
        FieldDef {
            key: "client".into(),
            kind: FieldKind::String,
            choices: Some(vec!["Acme Corp".into(), "Globex".into()]),
            description: "who it is for".into(),
        },
        FieldDef {
            key: "pages".into(),
            kind: FieldKind::Number,
            choices: None,
            description: String::new(),
        },
    ];
    FieldStore::set_schema(store, &ann, &schema, &event("fields.schema_set"))
        .await
        .unwrap();
    assert_eq!(FieldStore::schema(store, &ann).await.unwrap(), schema);
    let before = events().await;
    for bad in [
        set(&[("colour", FieldValue::String("red".into()))]),
        set(&[("pages", FieldValue::String("ten".into()))]),
        set(&[("client", FieldValue::String("Initech".into()))]),
    ] {
        let r = FieldStore::change(store, &f, &bad, 30, &event("file.fields_changed")).await;
        assert!(matches!(r, Err(Error::Invalid(_))), "{bad:?}: {r:?}");
    }
    assert_eq!(events().await - before, 0);
    assert_eq!(
        FieldStore::of_files(store, &[&f]).await.unwrap()[&f],
        want,
        "a refused change writes nothing"
    );
    FieldStore::change(
        store,
        &f,
        &set(&[("client", FieldValue::String("Globex".into()))]),
        31,
        &event("file.fields_changed"),
    )
    .await
    .unwrap();
    FieldStore::set_schema(store, &ann, &[], &event("fields.schema_set"))
        .await
        .unwrap();
    assert!(FieldStore::schema(store, &ann).await.unwrap().is_empty());

    FileStore::delete(store, &f, &event("file.deleted"))
        .await
        .unwrap();
    assert!(FieldStore::of_files(store, &[&f]).await.unwrap().is_empty());
}

fn ids(files: &[crate::store::FileRecord]) -> Vec<&str> {
    files.iter().map(|f| f.name.as_str()).collect()
}

fn term(t: &str) -> Option<Match> {
    Some(Match::Term(t.into()))
}

/// Search: what a term matches (name substrings in any script, content word prefixes, tag
/// names, text fields), `All`/`Any`/`Not`, the scope (owners, shared files, shared folders at
/// any depth), the filters, the orders with pages, and the index kept through new versions,
/// renames, the trash and deletion.
pub async fn search_contract<S>(store: &S)
where
    S: UserStore
        + FolderStore
        + FileStore
        + VersionStore
        + TagStore
        + FieldStore
        + SearchIndex
        + ?Sized,
{
    let (ann, bob) = (owner(store).await, owner(store).await);
    let (projects, deep) = (fresh("sp"), fresh("sd"));
    FolderStore::create(
        store,
        &folder(&projects, &ann, "", "projects"),
        &event("folder.created"),
    )
    .await
    .unwrap();
    FolderStore::create(
        store,
        &folder(&deep, &ann, &projects, "deep"),
        &event("folder.created"),
    )
    .await
    .unwrap();
    let mut n = 0;
    let mut put = async |who: &str, dir: &str, name: &str, size: u64, ct: &str, words: &str| {
        n += 1;
        let id = fresh("sf");
        let mut f = file(&id, who, dir, name, size, 100 + n);
        f.content_type = ct.into();
        FileStore::insert(store, &f, words, &Quota::NONE, &event("file.uploaded"))
            .await
            .unwrap();
        id
    };
    let report = put(&ann, "", "Quarterly Report.pdf", 300, "application/pdf", "").await;
    let notes = put(
        &ann,
        &projects,
        "notes.md",
        20,
        "text/markdown",
        "meeting budget approved",
    )
    .await;
    let tokyo = put(
        &ann,
        &deep,
        "東京タワー.txt",
        40,
        "text/plain",
        "観光 tower",
    )
    .await;
    let cafe = put(
        &ann,
        "",
        "Café menu.txt",
        10,
        "text/plain",
        "espresso crème",
    )
    .await;
    let arabic = put(&ann, "", "تقرير.txt", 5, "text/plain", "مرحبا").await;
    let pct = put(&ann, "", "50%_off.txt", 1, "text/plain", "").await;
    let bobs = put(&bob, "", "bob report.txt", 7, "text/plain", "budget").await;

    let mine = Scope {
        owners: vec![ann.clone()],
        ..Default::default()
    };
    let q = |m: Option<Match>| SearchQuery {
        scope: mine.clone(),
        matching: m,
        order: SearchOrder::Name,
        limit: 50,
        ..Default::default()
    };
    let found = async |query: &SearchQuery| SearchIndex::search(store, query).await.unwrap();

    // Names: case-insensitive substrings, in any script; wildcards are literal.
    assert_eq!(
        ids(&found(&q(term("report"))).await),
        ["Quarterly Report.pdf"]
    );
    assert_eq!(ids(&found(&q(term("タワ"))).await), ["東京タワー.txt"]);
    assert_eq!(ids(&found(&q(term("café"))).await), ["Café menu.txt"]);
    assert_eq!(ids(&found(&q(term("قري"))).await), ["تقرير.txt"]);
    assert_eq!(ids(&found(&q(term("0%_"))).await), ["50%_off.txt"]);
    assert_eq!(ids(&found(&q(term("%"))).await), ["50%_off.txt"]);
    assert!(found(&q(term("zz"))).await.is_empty());
    // Content: word prefixes; every word of a term.
    assert_eq!(ids(&found(&q(term("budg"))).await), ["notes.md"]);
    assert_eq!(ids(&found(&q(term("crème"))).await), ["Café menu.txt"]);
    assert_eq!(
        ids(&found(&q(term("meeting-approved"))).await),
        ["notes.md"]
    );
    assert!(
        found(&q(term("udget"))).await.is_empty(),
        "content matches word prefixes, not substrings"
    );
    assert_eq!(ids(&found(&q(term("観光"))).await), ["東京タワー.txt"]);
    // All, Any, Not.
    let all = Match::All(vec![Match::Term("txt".into()), Match::Term("tower".into())]);
    assert_eq!(ids(&found(&q(Some(all))).await), ["東京タワー.txt"]);
    let any = Match::Any(vec![
        Match::Term("espresso".into()),
        Match::Term("budget".into()),
    ]);
    assert_eq!(
        ids(&found(&q(Some(any))).await),
        ["Café menu.txt", "notes.md"]
    );
    let not = Match::All(vec![
        Match::Term("txt".into()),
        Match::Not(Box::new(Match::Term("tower".into()))),
    ]);
    assert_eq!(
        ids(&found(&q(Some(not))).await),
        ["50%_off.txt", "Café menu.txt", "تقرير.txt"]
    );

    // Scope: owners, shared files, shared folders at any depth; never beyond.
    let shared = SearchQuery {
        scope: Scope {
            owners: vec![bob.clone()],
            files: vec![cafe.clone()],
            folders: vec![projects.clone()],
        },
        order: SearchOrder::Name,
        limit: 50,
        ..Default::default()
    };
    assert_eq!(
        ids(&found(&shared).await),
        [
            "Café menu.txt",
            "bob report.txt",
            "notes.md",
            "東京タワー.txt"
        ]
    );
    let nothing = SearchQuery {
        limit: 50,
        ..Default::default()
    };
    assert!(
        found(&nothing).await.is_empty(),
        "an empty scope finds nothing"
    );

    // Tags and fields match terms and filter.
    let t = fresh("tag");
    TagStore::create(store, &tag(&t, &ann, "Confidential"), &event("tag.created"))
        .await
        .unwrap();
    TagStore::apply(
        store,
        &t,
        &[Item::File(report.clone()), Item::File(tokyo.clone())],
        &ann,
        1,
        &event("tag.applied"),
    )
    .await
    .unwrap();
    assert_eq!(
        ids(&found(&q(term("confid"))).await),
        ["Quarterly Report.pdf", "東京タワー.txt"]
    );
    let mut by_tag = q(None);
    by_tag.tags = vec![t.clone()];
    assert_eq!(
        ids(&found(&by_tag).await),
        ["Quarterly Report.pdf", "東京タワー.txt"]
    );
    FieldStore::change(
        store,
        &report,
        &set(&[
            ("client", FieldValue::String("Globex".into())),
            ("pages", FieldValue::Number(12.0)),
        ]),
        200,
        &event("file.fields_changed"),
    )
    .await
    .unwrap();
    FieldStore::change(
        store,
        &notes,
        &set(&[
            ("pages", FieldValue::Number(3.0)),
            ("due", FieldValue::Date(5)),
        ]),
        201,
        &event("file.fields_changed"),
    )
    .await
    .unwrap();
    assert_eq!(
        ids(&found(&q(term("globex"))).await),
        ["Quarterly Report.pdf"]
    );
    let mut fields = q(None);
    fields.fields = vec![FieldFilter {
        key: "pages".into(),
        op: Compare::Ge,
        value: FieldOperand::Number(FieldKind::Number, 5.0),
    }];
    assert_eq!(ids(&found(&fields).await), ["Quarterly Report.pdf"]);
    fields.fields[0].op = Compare::Lt;
    assert_eq!(ids(&found(&fields).await), ["notes.md"]);
    fields.fields = vec![FieldFilter {
        key: "client".into(),
        op: Compare::Eq,
        value: FieldOperand::Text("Globex".into()),
    }];
    assert_eq!(ids(&found(&fields).await), ["Quarterly Report.pdf"]);
    fields.fields[0].value = FieldOperand::Number(FieldKind::Number, 1.0);
    assert!(
        found(&fields).await.is_empty(),
        "a number filter never matches a text field"
    );

    // Filters: type (exact, prefix), extension, size, owner, modified, folder subtree.
    let mut f = q(None);
    f.types = vec!["text/".into()];
    assert_eq!(found(&f).await.len(), 5);
    f.types = vec!["application/pdf".into(), "text/markdown".into()];
    assert_eq!(ids(&found(&f).await), ["Quarterly Report.pdf", "notes.md"]);
    let mut f = q(None);
    f.extensions = vec!["md".into(), "pdf".into()];
    assert_eq!(found(&f).await.len(), 2);
    let mut f = q(None);
    (f.min_size, f.max_size) = (Some(10), Some(40));
    assert_eq!(
        ids(&found(&f).await),
        ["Café menu.txt", "notes.md", "東京タワー.txt"]
    );
    let mut f = shared.clone();
    f.owner = Some(bob.clone());
    assert_eq!(ids(&found(&f).await), ["bob report.txt"]);
    let mut f = q(None);
    (f.modified_after, f.modified_before) = (Some(103), Some(105));
    assert_eq!(ids(&found(&f).await), ["Café menu.txt", "東京タワー.txt"]);
    let mut f = q(None);
    f.folder = Some(projects.clone());
    assert_eq!(ids(&found(&f).await), ["notes.md", "東京タワー.txt"]);

    // Orders and pages: keyset, ties by id, both directions.
    let mut page = q(None);
    page.order = SearchOrder::Size;
    page.desc = true;
    page.limit = 2;
    let first = found(&page).await;
    assert_eq!(ids(&first), ["Quarterly Report.pdf", "東京タワー.txt"]);
    let last = first.last().unwrap();
    page.after = Some(After::Number(last.size as i64, last.id.clone()));
    assert_eq!(ids(&found(&page).await), ["notes.md", "Café menu.txt"]);
    let mut by_name = q(None);
    by_name.limit = 3;
    by_name.after = Some(After::Text("Café menu.txt".into(), cafe.clone()));
    assert_eq!(
        ids(&found(&by_name).await),
        ["Quarterly Report.pdf", "notes.md", "تقرير.txt"]
    );
    let mut newest = q(None);
    newest.order = SearchOrder::Updated;
    newest.desc = true;
    newest.limit = 1;
    assert_eq!(
        ids(&found(&newest).await),
        ["notes.md"],
        "a field change is a change"
    );

    // Kept through a new version, a rename, the trash and deletion.
    VersionStore::add(
        store,
        &NewVersion {
            file_id: notes.clone(),
            if_match: None,
            size: 21,
            content_type: "text/markdown".into(),
            sha256: "11".repeat(32),
            signature: "sr1:test".into(),
            blob_key: format!("blobs/{notes}-2"),
            created_by: ann.clone(),
            at: 300,
            restored_from: None,
            quota: Quota::NONE,
            words: "minutes".into(),
        },
        &event("file.versioned"),
    )
    .await
    .unwrap();
    assert!(found(&q(term("budget"))).await.is_empty());
    assert_eq!(ids(&found(&q(term("minu"))).await), ["notes.md"]);
    FileStore::update(
        store,
        &arabic,
        &FileChange {
            name: Some("Ünïcode ÉTÉ.txt".into()),
            ..Default::default()
        },
        301,
        &event("file.renamed"),
    )
    .await
    .unwrap();
    assert!(found(&q(term("قري"))).await.is_empty());
    assert_eq!(
        ids(&found(&q(term("ünïcode été"))).await),
        ["Ünïcode ÉTÉ.txt"]
    );
    FileStore::trash(store, &pct, 302, &event("file.trashed"))
        .await
        .unwrap();
    assert!(
        found(&q(term("50%"))).await.is_empty(),
        "trashed files are not found"
    );
    FileStore::restore(
        store,
        &pct,
        "",
        "half price.txt",
        303,
        &event("file.restored"),
    )
    .await
    .unwrap();
    assert_eq!(ids(&found(&q(term("half"))).await), ["half price.txt"]);
    FileStore::delete(store, &bobs, &event("file.deleted"))
        .await
        .unwrap();
    let mut f = shared.clone();
    f.owner = Some(bob.clone());
    assert!(found(&f).await.is_empty());

    // Reindexing replaces a document's words and refolds its name.
    assert!(SearchIndex::reindex(store, &cafe, "latte").await.unwrap());
    assert_eq!(ids(&found(&q(term("latt"))).await), ["Café menu.txt"]);
    assert!(found(&q(term("espresso"))).await.is_empty());
    assert!(
        !SearchIndex::reindex(store, &fresh("gone"), "x")
            .await
            .unwrap()
    );
    let walked = SearchIndex::file_ids(store, None, 100_000).await.unwrap();
    assert!(walked.contains(&cafe) && walked.windows(2).all(|w| w[0] < w[1]));
}
