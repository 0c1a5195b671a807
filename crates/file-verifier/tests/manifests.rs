//! Manifests of directory trees: signed, path-safe, and precise about what changed.

use std::path::Path;

use strongroom_file_verifier::{Algorithm, Change, EntryKind, Error, KeyRing, Manifest, SecretKey};

fn ring() -> KeyRing {
    let mut ring = KeyRing::new();
    ring.insert_signing_key("k1", SecretKey::from_bytes(&[7; 32]).unwrap())
        .unwrap();
    ring
}

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("docs/empty")).unwrap();
    std::fs::write(root.join("a.txt"), "alpha").unwrap();
    std::fs::write(root.join("docs/b.txt"), "bravo").unwrap();
    std::fs::write(root.join("docs/big.bin"), vec![3u8; 700_000]).unwrap();
    dir
}

fn kind<'a>(manifest: &'a Manifest, path: &str) -> &'a EntryKind {
    &manifest
        .entries()
        .iter()
        .find(|e| e.path == path)
        .unwrap_or_else(|| panic!("no {path}"))
        .kind
}

#[test]
fn an_untouched_tree_verifies_clean() {
    let dir = tree();
    let ring = ring();
    let manifest = ring.create_manifest(dir.path()).unwrap();
    let paths: Vec<_> = manifest.entries().iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        ["a.txt", "docs", "docs/b.txt", "docs/big.bin", "docs/empty"]
    );
    let report = ring
        .verify_manifest(
            &Manifest::from_json(&manifest.to_json()).unwrap(),
            dir.path(),
        )
        .unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.checked, 5);
}

#[test]
fn sha256_digests_match_sha256sum() {
    let dir = tree();
    let manifest = ring().create_manifest(dir.path()).unwrap();
    let EntryKind::File { digest, size } = kind(&manifest, "a.txt") else {
        panic!()
    };
    assert_eq!(*size, 5);
    // sha256("alpha")
    assert_eq!(
        digest,
        "8ed3f6ad685b959ead7022518e1af76cd816f8e8ec7ccdda1ed4018e8f2223f8"
    );
}

#[test]
fn added_removed_and_modified_paths_are_reported() {
    let dir = tree();
    let ring = ring();
    let manifest = ring.create_manifest(dir.path()).unwrap();
    let root = dir.path();
    std::fs::write(root.join("a.txt"), "ALPHA").unwrap(); // same size, other content
    std::fs::write(root.join("docs/b.txt"), "bravo!").unwrap(); // other size
    std::fs::remove_file(root.join("docs/big.bin")).unwrap();
    std::fs::remove_dir(root.join("docs/empty")).unwrap();
    std::fs::write(root.join("docs/new.txt"), "new").unwrap();
    std::fs::create_dir(root.join("newdir")).unwrap();

    let report = ring.verify_manifest(&manifest, root).unwrap();
    assert_eq!(report.added, ["docs/new.txt", "newdir"]);
    assert_eq!(report.removed, ["docs/big.bin", "docs/empty"]);
    assert_eq!(report.modified.len(), 2);
    assert_eq!(report.modified[0].path, "a.txt");
    assert_eq!(report.modified[0].change, Change::Content);
    assert_eq!(report.modified[1].path, "docs/b.txt");
    assert_eq!(
        report.modified[1].change,
        Change::Size {
            expected: 5,
            actual: 6
        }
    );
    assert!(report.unreadable.is_empty());
    assert!(!report.is_clean());
}

#[cfg(unix)]
#[test]
fn symlinks_are_recorded_by_target_and_never_followed() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "outside the tree").unwrap();
    let dir = tree();
    let root = dir.path();
    std::os::unix::fs::symlink(outside.path(), root.join("escape")).unwrap();
    std::os::unix::fs::symlink("a.txt", root.join("alias")).unwrap();

    let ring = ring();
    let manifest = ring.create_manifest(root).unwrap();
    assert!(
        manifest
            .entries()
            .iter()
            .all(|e| !e.path.contains("secret"))
    );
    assert_eq!(
        kind(&manifest, "alias"),
        &EntryKind::Symlink {
            target: "a.txt".into()
        }
    );
    assert!(matches!(
        kind(&manifest, "escape"),
        EntryKind::Symlink { .. }
    ));

    std::fs::remove_file(root.join("alias")).unwrap();
    std::os::unix::fs::symlink("docs/b.txt", root.join("alias")).unwrap();
    std::fs::remove_file(root.join("a.txt")).unwrap();
    std::os::unix::fs::symlink("docs/b.txt", root.join("a.txt")).unwrap();
    let report = ring.verify_manifest(&manifest, root).unwrap();
    assert_eq!(report.modified.len(), 2, "{report:?}");
    assert_eq!(
        report.modified[0].change,
        Change::Kind {
            expected: "file",
            actual: "symlink"
        }
    );
    assert!(
        matches!(&report.modified[1].change, Change::SymlinkTarget { actual, .. } if actual == "docs/b.txt")
    );
}

#[cfg(unix)]
#[test]
fn special_files_are_recorded_but_never_opened() {
    let dir = tree();
    let socket_path = dir.path().join("control.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket_path).unwrap();
    let ring = ring();
    let manifest = ring.create_manifest(dir.path()).unwrap();
    assert_eq!(kind(&manifest, "control.sock"), &EntryKind::Special);
    assert!(
        ring.verify_manifest(&manifest, dir.path())
            .unwrap()
            .is_clean()
    );
}

#[test]
fn a_tampered_manifest_is_refused_before_the_tree_is_examined() {
    let dir = tree();
    let ring = ring();
    let json = ring.create_manifest(dir.path()).unwrap().to_json();
    // Someone "blesses" a modified file by editing its recorded size.
    let forged = json.replacen("\"size\": 5", "\"size\": 6", 1);
    assert_ne!(forged, json);
    let err = ring
        .verify_manifest(&Manifest::from_json(&forged).unwrap(), dir.path())
        .unwrap_err();
    assert!(matches!(err, Error::Mismatch { .. }), "{err:?}");
}

#[test]
fn unsafe_paths_in_a_manifest_are_refused() {
    let dir = tree();
    let json = ring().create_manifest(dir.path()).unwrap().to_json();
    for evil in [
        "../etc/passwd",
        "/etc/passwd",
        "docs/../../x",
        "docs//b.txt",
        "./a.txt",
        "docs\\b.txt",
        "",
    ] {
        let forged = json.replacen(
            "\"path\": \"a.txt\"",
            &format!("\"path\": {}", serde_json::json!(evil)),
            1,
        );
        let err = Manifest::from_json(&forged).unwrap_err();
        assert!(matches!(err, Error::UnsafePath { .. }), "{evil:?}: {err:?}");
    }
}

#[test]
fn malformed_manifests_fail_with_typed_errors() {
    let dir = tree();
    let json = ring().create_manifest(dir.path()).unwrap().to_json();
    let unsorted = json.replacen("\"path\": \"docs/b.txt\"", "\"path\": \"0.txt\"", 1);
    assert!(matches!(
        Manifest::from_json(&unsorted).unwrap_err(),
        Error::Malformed { .. }
    ));
    let future = json.replace("strongroom-manifest/1", "strongroom-manifest/2");
    assert!(matches!(
        Manifest::from_json(&future).unwrap_err(),
        Error::UnknownVersion { .. }
    ));
    assert!(matches!(
        Manifest::from_json("[]").unwrap_err(),
        Error::Malformed { .. }
    ));
    let bad_digest = json.replacen("\"digest\": \"8ed3", "\"digest\": \"XYZ3", 1);
    assert!(matches!(
        Manifest::from_json(&bad_digest).unwrap_err(),
        Error::Malformed { .. }
    ));
}

#[test]
fn blake3_manifests_use_blake3_digests() {
    let dir = tree();
    let mut ring = KeyRing::with_algorithm(Algorithm::Blake3Keyed);
    ring.insert_signing_key("b3", SecretKey::from_bytes(&[1; 32]).unwrap())
        .unwrap();
    let manifest = ring.create_manifest(dir.path()).unwrap();
    let EntryKind::File { digest, .. } = kind(&manifest, "a.txt") else {
        panic!()
    };
    assert_eq!(digest, &blake3::hash(b"alpha").to_hex().to_string());
    assert!(
        ring.verify_manifest(&manifest, dir.path())
            .unwrap()
            .is_clean()
    );
}

#[test]
fn a_missing_root_is_an_io_error() {
    let err = ring()
        .create_manifest(Path::new("/definitely/not/here"))
        .unwrap_err();
    assert!(matches!(err, Error::Io { path: Some(_), .. }));
    let file = tempfile::NamedTempFile::new().unwrap();
    assert!(matches!(
        ring().create_manifest(file.path()).unwrap_err(),
        Error::Io { .. }
    ));
}

#[test]
fn many_files_are_hashed_in_parallel_and_listed_in_order() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..500 {
        let sub = dir.path().join(format!("d{}", i % 7));
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join(format!("f{i:04}")), i.to_string()).unwrap();
    }
    let ring = ring();
    let manifest = ring.create_manifest(dir.path()).unwrap();
    assert_eq!(manifest.entries().len(), 507);
    assert!(manifest.entries().windows(2).all(|w| w[0].path < w[1].path));
    assert!(
        ring.verify_manifest(&manifest, dir.path())
            .unwrap()
            .is_clean()
    );
}
