//! The `strongroom-verify` binary: flows, exit codes (0 ok, 1 mismatch, 2 usage/I-O) and JSON.
#![cfg(feature = "cli")]

use std::path::Path;
use std::process::{Command, Output};

fn cli(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strongroom-verify"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exited normally")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        code(&cli(dir.path(), &["keygen", "--out", "release.key"])),
        0
    );
    std::fs::write(dir.path().join("file.bin"), vec![1u8; 300_000]).unwrap();
    dir
}

#[cfg(unix)]
#[test]
fn keygen_writes_a_private_key_and_never_overwrites() {
    use std::os::unix::fs::PermissionsExt;
    let dir = setup();
    let mode = std::fs::metadata(dir.path().join("release.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let hex = std::fs::read_to_string(dir.path().join("release.key")).unwrap();
    assert_eq!(hex.trim().len(), 64);
    let again = cli(dir.path(), &["keygen", "--out", "release.key"]);
    assert_eq!(code(&again), 2);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("release.key")).unwrap(),
        hex
    );
}

#[test]
fn sign_then_verify_and_detect_tampering() {
    let dir = setup();
    let signed = cli(dir.path(), &["sign", "--key", "release.key", "file.bin"]);
    assert_eq!(code(&signed), 0);
    let line = stdout(&signed);
    let signature = line.split("  ").next().unwrap().to_owned();
    assert!(signature.starts_with("sr1:hmac-sha256:release:"), "{line}");

    let ok = cli(
        dir.path(),
        &[
            "verify",
            "--key",
            "release.key",
            "--signature",
            &signature,
            "file.bin",
        ],
    );
    assert_eq!(code(&ok), 0, "{ok:?}");

    std::fs::write(dir.path().join("sigs"), &line).unwrap();
    assert_eq!(
        code(&cli(
            dir.path(),
            &["verify", "--key", "release.key", "--check", "sigs"]
        )),
        0
    );

    std::fs::write(dir.path().join("file.bin"), vec![2u8; 300_000]).unwrap();
    let bad = cli(
        dir.path(),
        &[
            "verify",
            "--key",
            "release.key",
            "--signature",
            &signature,
            "file.bin",
            "--json",
        ],
    );
    assert_eq!(code(&bad), 1);
    let json: serde_json::Value = serde_json::from_str(&stdout(&bad)).unwrap();
    assert_eq!(json["ok"], false);
}

#[test]
fn usage_and_io_errors_exit_2() {
    let dir = setup();
    assert_eq!(
        code(&cli(
            dir.path(),
            &["sign", "--key", "release.key", "missing.bin"]
        )),
        2
    );
    assert_eq!(
        code(&cli(
            dir.path(),
            &["sign", "--key", "missing.key", "file.bin"]
        )),
        2
    );
    assert_eq!(
        code(&cli(
            dir.path(),
            &[
                "verify",
                "--key",
                "release.key",
                "--signature",
                "garbage",
                "file.bin"
            ]
        )),
        2
    );
    assert_eq!(code(&cli(dir.path(), &["frobnicate"])), 2);
    let json = cli(
        dir.path(),
        &["sign", "--key", "release.key", "missing.bin", "--json"],
    );
    assert_eq!(code(&json), 2);
    let value: serde_json::Value = serde_json::from_str(&stdout(&json)).unwrap();
    assert!(value["error"].as_str().unwrap().contains("missing.bin"));
}

#[test]
fn rotated_keys_verify_old_signatures() {
    let dir = setup();
    let old = stdout(&cli(
        dir.path(),
        &["sign", "--key", "release.key", "file.bin"],
    ));
    assert_eq!(code(&cli(dir.path(), &["keygen", "--out", "next.key"])), 0);
    let new = stdout(&cli(
        dir.path(),
        &[
            "sign",
            "--key",
            "release.key",
            "--key",
            "next.key",
            "file.bin",
        ],
    ));
    assert!(new.starts_with("sr1:hmac-sha256:next:"));
    std::fs::write(dir.path().join("sigs"), format!("{old}{new}")).unwrap();
    let both = cli(
        dir.path(),
        &[
            "verify",
            "--key",
            "release.key",
            "--key",
            "next.key",
            "--check",
            "sigs",
        ],
    );
    assert_eq!(code(&both), 0, "{both:?}");
    let only_new = cli(
        dir.path(),
        &["verify", "--key", "next.key", "--check", "sigs"],
    );
    assert_eq!(
        code(&only_new),
        2,
        "unknown key id is an input error, not a mismatch"
    );
}

#[test]
fn chunk_maps_verify_ranges_and_name_bad_chunks() {
    let dir = setup();
    let args = [
        "sign",
        "--key",
        "release.key",
        "--chunk-map",
        "file.map",
        "--chunk-size",
        "4096",
        "file.bin",
    ];
    assert_eq!(code(&cli(dir.path(), &args)), 0);
    let verify = |range: Option<&str>| {
        let mut args = vec![
            "verify",
            "--key",
            "release.key",
            "--chunk-map",
            "file.map",
            "file.bin",
            "--json",
        ];
        if let Some(range) = range {
            args.extend(["--range", range]);
        }
        cli(dir.path(), &args)
    };
    assert_eq!(code(&verify(None)), 0);
    let mut data = std::fs::read(dir.path().join("file.bin")).unwrap();
    data[5 * 4096] ^= 1;
    std::fs::write(dir.path().join("file.bin"), data).unwrap();
    let whole = verify(None);
    assert_eq!(code(&whole), 1);
    let json: serde_json::Value = serde_json::from_str(&stdout(&whole)).unwrap();
    assert_eq!(json["bad_chunks"], serde_json::json!([5]));
    assert_eq!(code(&verify(Some("0-20480"))), 0);
    assert_eq!(code(&verify(Some("0-20481"))), 1);
    assert_eq!(code(&verify(Some("0-999999999"))), 2);
}

#[test]
fn manifests_create_and_verify() {
    let dir = setup();
    std::fs::create_dir(dir.path().join("tree")).unwrap();
    std::fs::write(dir.path().join("tree/a"), "a").unwrap();
    let create = [
        "manifest",
        "create",
        "--key",
        "release.key",
        "--out",
        "tree.json",
        "tree",
    ];
    assert_eq!(code(&cli(dir.path(), &create)), 0);
    let verify = [
        "manifest",
        "verify",
        "--key",
        "release.key",
        "--manifest",
        "tree.json",
        "tree",
        "--json",
    ];
    assert_eq!(code(&cli(dir.path(), &verify)), 0);
    std::fs::write(dir.path().join("tree/b"), "b").unwrap();
    let differs = cli(dir.path(), &verify);
    assert_eq!(code(&differs), 1);
    let json: serde_json::Value = serde_json::from_str(&stdout(&differs)).unwrap();
    assert_eq!(json["report"]["added"], serde_json::json!(["b"]));
}
