//! Our HMAC-SHA256 MACs are the standard ones: openssl and Python compute the same values.
//!
//! Both tools are part of the supported development machine (scripts/test.sh runs on Debian with
//! openssl and python3); a missing tool fails the test rather than skipping it.

use std::process::Command;

use strongroom_file_verifier::{KeyRing, SecretKey};

const KEY_HEX: &str =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324252627";

fn fixture() -> (tempfile::TempDir, std::path::PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sample.bin");
    // Over one streaming block, with every byte value, so boundaries and encoding both matter.
    let data: Vec<u8> = (0..(300 * 1024 + 7))
        .map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, data).unwrap();
    let mut ring = KeyRing::new();
    ring.insert_signing_key("interop", SecretKey::from_hex(KEY_HEX).unwrap())
        .unwrap();
    let ours = ring.sign_path(&path).unwrap().mac_hex();
    (dir, path, ours)
}

fn run(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn mac_matches_openssl_dgst_hmac() {
    let (_dir, path, ours) = fixture();
    let stdout = run(Command::new("openssl")
        .args(["dgst", "-sha256", "-mac", "HMAC", "-macopt"])
        .arg(format!("hexkey:{KEY_HEX}"))
        .arg(&path));
    // "HMAC-SHA2-256(path)= <hex>" (the label varies across versions; the value does not).
    let theirs = stdout.trim().rsplit(' ').next().unwrap();
    assert_eq!(ours, theirs);
}

#[test]
fn mac_matches_python_hmac() {
    let (_dir, path, ours) = fixture();
    let script = "import hmac, hashlib, sys\n\
                  key = bytes.fromhex(sys.argv[1])\n\
                  print(hmac.new(key, open(sys.argv[2], 'rb').read(), hashlib.sha256).hexdigest())";
    let stdout = run(Command::new("python3")
        .args(["-c", script, KEY_HEX])
        .arg(&path));
    assert_eq!(ours, stdout.trim());
}
