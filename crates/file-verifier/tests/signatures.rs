//! Signing, verifying, key handling and signature parsing.

use strongroom_file_verifier::{Algorithm, Error, KeyRing, SecretKey, Signature};

fn key(byte: u8) -> SecretKey {
    SecretKey::from_bytes(&[byte; 32]).unwrap()
}

fn ring_with(kid: &str, byte: u8) -> KeyRing {
    let mut ring = KeyRing::new();
    ring.insert_signing_key(kid, key(byte)).unwrap();
    ring
}

#[test]
fn sign_then_verify_round_trips_through_the_string_form() {
    let ring = ring_with("k1", 1);
    let signature = ring.sign(b"hello").unwrap();
    let parsed: Signature = signature.to_string().parse().unwrap();
    assert_eq!(parsed, signature);
    ring.verify(b"hello", &parsed).unwrap();
}

#[test]
fn any_change_to_the_data_is_a_mismatch() {
    let ring = ring_with("k1", 1);
    let signature = ring.sign(b"hello world").unwrap();
    for tampered in [&b"hello World"[..], b"hello world ", b"hello worl", b""] {
        let err = ring.verify(tampered, &signature).unwrap_err();
        assert!(
            matches!(err, Error::Mismatch { ref kid } if kid == "k1"),
            "{err:?}"
        );
        assert!(err.is_mismatch());
    }
}

#[test]
fn a_different_key_under_the_same_id_does_not_verify() {
    let signature = ring_with("k1", 1).sign(b"data").unwrap();
    let err = ring_with("k1", 2).verify(b"data", &signature).unwrap_err();
    assert!(matches!(err, Error::Mismatch { .. }));
}

#[test]
fn rotation_keeps_old_signatures_verifiable_until_the_key_is_removed() {
    let mut ring = ring_with("2026-01", 1);
    let old = ring.sign(b"doc").unwrap();
    ring.insert_signing_key("2026-07", key(2)).unwrap();
    let new = ring.sign(b"doc").unwrap();
    assert_eq!(new.kid().as_str(), "2026-07");
    assert_eq!(ring.signing_kid().unwrap().as_str(), "2026-07");
    ring.verify(b"doc", &old).unwrap();
    ring.verify(b"doc", &new).unwrap();

    assert!(ring.remove("2026-01"));
    let err = ring.verify(b"doc", &old).unwrap_err();
    assert!(matches!(err, Error::UnknownKeyId { ref kid } if kid == "2026-01"));
    ring.verify(b"doc", &new).unwrap();
}

#[test]
fn a_retired_key_verifies_but_no_longer_signs() {
    let mut ring = ring_with("k1", 1);
    let signature = ring.sign(b"x").unwrap();
    ring.retire("k1").unwrap();
    assert!(matches!(ring.sign(b"x").unwrap_err(), Error::NoSigningKey));
    ring.verify(b"x", &signature).unwrap();
    assert!(matches!(
        ring.retire("nope").unwrap_err(),
        Error::UnknownKeyId { .. }
    ));
}

#[test]
fn verify_only_keys_never_sign() {
    let mut ring = KeyRing::new();
    ring.insert_verify_key("old", key(1)).unwrap();
    assert!(matches!(ring.sign(b"x").unwrap_err(), Error::NoSigningKey));
    let signature = ring_with("old", 1).sign(b"x").unwrap();
    ring.verify(b"x", &signature).unwrap();
}

#[test]
fn key_ids_are_never_reused_for_another_key() {
    let mut ring = ring_with("k1", 1);
    assert!(matches!(
        ring.insert_signing_key("k1", key(2)).unwrap_err(),
        Error::DuplicateKeyId { .. }
    ));
    assert!(matches!(
        ring.insert_verify_key("k1", key(2)).unwrap_err(),
        Error::DuplicateKeyId { .. }
    ));
}

#[test]
fn key_ids_are_validated() {
    let mut ring = KeyRing::new();
    for bad in ["", "has space", "colon:sep", "a/b", "é", &"x".repeat(65)] {
        let err = ring.insert_signing_key(bad, key(1)).unwrap_err();
        assert!(
            matches!(err, Error::InvalidKeyId { .. }),
            "{bad:?}: {err:?}"
        );
    }
    ring.insert_signing_key("A-z_0.9", key(1)).unwrap();
    ring.insert_verify_key("x".repeat(64), key(1)).unwrap();
    assert_eq!(ring.kids().count(), 2);
}

#[test]
fn short_long_and_malformed_keys_are_refused() {
    assert!(matches!(
        SecretKey::from_bytes(&[0; 31]).unwrap_err(),
        Error::InvalidKey { .. }
    ));
    assert!(matches!(
        SecretKey::from_bytes(&[]).unwrap_err(),
        Error::InvalidKey { .. }
    ));
    assert!(matches!(
        SecretKey::from_bytes(&[0; 1025]).unwrap_err(),
        Error::InvalidKey { .. }
    ));
    assert!(matches!(
        SecretKey::from_hex("zz").unwrap_err(),
        Error::InvalidKey { .. }
    ));
    assert!(matches!(
        SecretKey::from_hex(&"ab".repeat(31)).unwrap_err(),
        Error::InvalidKey { .. }
    ));
    assert!(matches!(
        SecretKey::from_base64("!!!").unwrap_err(),
        Error::InvalidKey { .. }
    ));
    assert_eq!(SecretKey::from_bytes(&[0; 1024]).unwrap().len(), 1024);
}

#[test]
fn keys_parse_from_hex_and_every_base64_flavour_to_the_same_mac() {
    let raw: Vec<u8> = (0u8..40)
        .map(|i| i.wrapping_mul(37).wrapping_add(250))
        .collect();
    let reference = {
        let mut ring = KeyRing::new();
        ring.insert_signing_key("k", SecretKey::from_bytes(&raw).unwrap())
            .unwrap();
        ring.sign(b"payload").unwrap()
    };
    use base64::Engine as _;
    let encodings = [
        SecretKey::from_hex(&hex::encode(&raw)).unwrap(),
        SecretKey::from_hex(&format!("  {}\n", hex::encode_upper(&raw))).unwrap(),
        SecretKey::from_base64(&base64::engine::general_purpose::STANDARD.encode(&raw)).unwrap(),
        SecretKey::from_base64(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&raw))
            .unwrap(),
    ];
    for key in encodings {
        let mut ring = KeyRing::new();
        ring.insert_signing_key("k", key).unwrap();
        assert_eq!(ring.sign(b"payload").unwrap(), reference);
    }
}

#[test]
fn debug_output_never_contains_key_material() {
    let secret = SecretKey::from_bytes(&[0xAB; 32]).unwrap();
    let ring = {
        let mut ring = KeyRing::new();
        ring.insert_signing_key("k1", secret.clone()).unwrap();
        ring
    };
    for text in [
        format!("{secret:?}"),
        format!("{ring:?}"),
        format!("{:?}", ring.signer().unwrap()),
    ] {
        assert!(!text.to_lowercase().contains("abab"), "{text}");
        assert!(!text.contains("171, 171"), "{text}");
    }
    assert!(format!("{secret:?}").contains("len: 32"));
}

#[test]
fn generated_keys_are_32_random_bytes() {
    let a = SecretKey::generate().unwrap();
    let b = SecretKey::generate().unwrap();
    assert_eq!(a.len(), 32);
    assert_ne!(*a.expose_hex(), *b.expose_hex());
}

#[cfg(unix)]
#[test]
fn key_files_must_be_private_and_may_be_hex_or_base64() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.key");
    std::fs::write(&path, format!("{}\n", "11".repeat(32))).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = SecretKey::from_file(&path).unwrap_err();
    assert!(
        matches!(err, Error::KeyFilePermissions { mode: 0o644, .. }),
        "{err:?}"
    );

    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let from_hex = SecretKey::from_file(&path).unwrap();
    std::fs::write(
        &path,
        format!("base64:{}", "ERERERERERERERERERERERERERERERERERERERERERE="),
    )
    .unwrap();
    let from_b64 = SecretKey::from_file(&path).unwrap();
    assert_eq!(*from_hex.expose_hex(), *from_b64.expose_hex());

    let missing = SecretKey::from_file(dir.path().join("missing.key")).unwrap_err();
    assert!(matches!(missing, Error::Io { path: Some(_), .. }));
}

#[test]
fn signature_strings_fail_with_typed_errors() {
    let good = ring_with("k1", 1).sign(b"x").unwrap().to_string();
    let mac = good.rsplit(':').next().unwrap().to_owned();
    type IsExpected = fn(&Error) -> bool;
    let cases: Vec<(String, IsExpected)> = vec![
        (format!("sr9:hmac-sha256:k1:{mac}"), |e| {
            matches!(e, Error::UnknownVersion { .. })
        }),
        (format!("sr1:md5:k1:{mac}"), |e| {
            matches!(e, Error::UnknownAlgorithm { .. })
        }),
        (format!("sr1:hmac-sha256:bad kid:{mac}"), |e| {
            matches!(e, Error::InvalidKeyId { .. })
        }),
        ("sr1:hmac-sha256:k1:not*base64".into(), |e| {
            matches!(e, Error::MalformedMac { .. })
        }),
        ("sr1:hmac-sha256:k1:AAAA".into(), |e| {
            matches!(e, Error::MalformedMac { .. })
        }),
        ("sr1:hmac-sha256:k1".into(), |e| {
            matches!(
                e,
                Error::Malformed {
                    what: "signature",
                    ..
                }
            )
        }),
        (format!("{good}:extra"), |e| {
            matches!(e, Error::Malformed { .. })
        }),
        (String::new(), |e| matches!(e, Error::Malformed { .. })),
    ];
    for (text, expected) in cases {
        let err = text.parse::<Signature>().unwrap_err();
        assert!(expected(&err), "{text:?} gave {err:?}");
    }
    let unknown_kid: Signature = format!("sr1:hmac-sha256:k2:{mac}").parse().unwrap();
    assert!(matches!(
        ring_with("k1", 1).verify(b"x", &unknown_kid).unwrap_err(),
        Error::UnknownKeyId { .. }
    ));
}

#[test]
fn blake3_keyed_signs_and_needs_a_32_byte_key() {
    let mut ring = KeyRing::with_algorithm(Algorithm::Blake3Keyed);
    let err = ring
        .insert_signing_key("long", SecretKey::from_bytes(&[1; 48]).unwrap())
        .unwrap_err();
    assert!(matches!(err, Error::InvalidKey { .. }));
    ring.insert_signing_key("k1", key(1)).unwrap();
    let signature = ring.sign(b"data").unwrap();
    assert!(signature.to_string().starts_with("sr1:blake3-keyed:k1:"));
    assert_eq!(
        signature.mac(),
        blake3::keyed_hash(&[1; 32], b"data").as_bytes()
    );
    ring.verify(b"data", &signature).unwrap();
    assert!(ring.verify(b"Data", &signature).unwrap_err().is_mismatch());
    // An HMAC ring with the same key follows the algorithm the signature names.
    ring_with("k1", 1).verify(b"data", &signature).unwrap();
}

#[test]
fn incremental_signing_equals_one_shot_signing() {
    let ring = ring_with("k1", 3);
    let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    let mut signer = ring.signer().unwrap();
    for piece in data.chunks(777) {
        signer.update(piece);
    }
    let signature = signer.finish();
    assert_eq!(signature, ring.sign(&data).unwrap());
    let mut verifier = ring.verifier(&signature).unwrap();
    verifier.update(&data[..5000]);
    verifier.update(&data[5000..]);
    verifier.finish().unwrap();
}

#[test]
fn signatures_serialize_as_their_string_form() {
    let signature = ring_with("k1", 1).sign(b"x").unwrap();
    let json = serde_json::to_string(&signature).unwrap();
    assert_eq!(json, format!("\"{signature}\""));
    assert_eq!(serde_json::from_str::<Signature>(&json).unwrap(), signature);
    assert!(serde_json::from_str::<Signature>("\"sr1:nope\"").is_err());
}
