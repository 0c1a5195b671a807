//! Readers, paths and async readers give the same signature as bytes, in constant memory.

use std::io::Read;

use proptest::prelude::*;
use strongroom_file_verifier::{Error, KeyRing, SecretKey};

fn ring() -> KeyRing {
    let mut ring = KeyRing::new();
    ring.insert_signing_key("k1", SecretKey::from_bytes(&[9; 32]).unwrap())
        .unwrap();
    ring
}

/// A reader that hands out data in small, irregular pieces, like a socket.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        self.step = self.step % 97 + 13;
        Ok(n)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn reader_and_bytes_agree_across_block_boundaries(len in prop_oneof![0usize..1024, 262_000usize..263_000, 600_000usize..700_000], seed: u8) {
        let data: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect();
        let ring = ring();
        let expected = ring.sign(&data).unwrap();
        prop_assert_eq!(&ring.sign_reader(Trickle { data: &data, step: 1 }).unwrap(), &expected);
        prop_assert_eq!(&ring.sign_reader(&data[..]).unwrap(), &expected);
        ring.verify_reader(&data[..], &expected).unwrap();
    }
}

#[test]
fn paths_sign_like_their_bytes_and_detect_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.bin");
    let data = vec![42u8; 1_000_000];
    std::fs::write(&path, &data).unwrap();
    let ring = ring();
    let signature = ring.sign_path(&path).unwrap();
    assert_eq!(signature, ring.sign(&data).unwrap());
    ring.verify_path(&path, &signature).unwrap();

    let mut tampered = data.clone();
    tampered[999_999] ^= 1;
    std::fs::write(&path, &tampered).unwrap();
    assert!(matches!(
        ring.verify_path(&path, &signature).unwrap_err(),
        Error::Mismatch { .. }
    ));
}

#[test]
fn missing_files_and_directories_are_io_errors_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let ring = ring();
    let missing = dir.path().join("nope");
    match ring.sign_path(&missing).unwrap_err() {
        Error::Io { path: Some(p), .. } => assert_eq!(p, missing),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        ring.sign_path(dir.path()).unwrap_err(),
        Error::Io { path: Some(_), .. }
    ));
}

#[test]
fn read_errors_surface_as_io_errors() {
    struct Broken;
    impl Read for Broken {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk on fire"))
        }
    }
    assert!(matches!(
        ring().sign_reader(Broken).unwrap_err(),
        Error::Io { path: None, .. }
    ));
}

#[cfg(feature = "tokio")]
#[tokio::test]
async fn async_readers_sign_like_their_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.bin");
    let data: Vec<u8> = (0..700_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(&path, &data).unwrap();
    let ring = ring();
    let file = tokio::fs::File::open(&path).await.unwrap();
    let signature = ring.sign_async_reader(file).await.unwrap();
    assert_eq!(signature, ring.sign(&data).unwrap());
    ring.verify_async_reader(&data[..], &signature)
        .await
        .unwrap();
    let err = ring
        .verify_async_reader(&data[1..], &signature)
        .await
        .unwrap_err();
    assert!(err.is_mismatch());
}
