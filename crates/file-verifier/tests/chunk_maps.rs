//! Chunk maps: range verification reads only the chunks it needs and names tampered chunks.

use std::io::{Cursor, Read, Seek, SeekFrom};

use proptest::prelude::*;
use strongroom_file_verifier::{ChunkMap, Error, KeyRing, SecretKey};

const CHUNK: u32 = 4096;

fn ring() -> KeyRing {
    let mut ring = KeyRing::new();
    ring.insert_signing_key("k1", SecretKey::from_bytes(&[5; 32]).unwrap())
        .unwrap();
    ring
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 249) as u8).collect()
}

/// Counts the bytes actually read, to prove range checks skip untouched chunks.
struct Counting<R> {
    inner: R,
    read: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        Ok(n)
    }
}

impl<R: Seek> Seek for Counting<R> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

#[test]
fn a_range_reads_only_the_chunks_that_hold_it() {
    let data = data(100 * CHUNK as usize + 123);
    let ring = ring();
    let map = ring.chunk_map_reader(&data[..], CHUNK).unwrap();
    assert_eq!(map.chunk_count(), 101);
    assert_eq!(map.file_len(), data.len() as u64);

    let mut reader = Counting {
        inner: Cursor::new(&data),
        read: 0,
    };
    ring.verify_range(&map, &mut reader, 10_000..20_000)
        .unwrap();
    assert_eq!(map.chunks_for_range(10_000..20_000).unwrap(), 2..5);
    assert_eq!(reader.read, 3 * u64::from(CHUNK));

    // The short last chunk.
    let mut reader = Counting {
        inner: Cursor::new(&data),
        read: 0,
    };
    ring.verify_range(&map, &mut reader, data.len() as u64 - 1..data.len() as u64)
        .unwrap();
    assert_eq!(reader.read, 123);
}

#[test]
fn tampered_chunks_are_named() {
    let mut data = data(20 * CHUNK as usize);
    let ring = ring();
    let map = ring.chunk_map_reader(&data[..], CHUNK).unwrap();
    data[3 * CHUNK as usize + 17] ^= 0xFF;
    data[11 * CHUNK as usize] ^= 0x01;

    let err = ring.verify_chunks(&map, &data[..]).unwrap_err();
    assert!(
        matches!(err, Error::ChunksMismatch { ref chunks } if chunks == &[3, 11]),
        "{err:?}"
    );
    // A range that avoids the damage still verifies; one that touches it names the chunk.
    ring.verify_range(&map, Cursor::new(&data), 0..3 * u64::from(CHUNK))
        .unwrap();
    let err = ring
        .verify_range(&map, Cursor::new(&data), 0..4 * u64::from(CHUNK))
        .unwrap_err();
    assert!(matches!(err, Error::ChunksMismatch { ref chunks } if chunks == &[3]));
}

#[test]
fn truncation_and_extension_are_detected() {
    let data = data(5 * CHUNK as usize);
    let ring = ring();
    let map = ring.chunk_map_reader(&data[..], CHUNK).unwrap();
    let err = ring
        .verify_chunks(&map, &data[..data.len() - 1])
        .unwrap_err();
    assert!(matches!(err, Error::ChunksMismatch { ref chunks } if chunks == &[4]));
    let mut longer = data.clone();
    longer.push(0);
    let err = ring.verify_chunks(&map, &longer[..]).unwrap_err();
    assert!(matches!(err, Error::ChunksMismatch { ref chunks } if chunks == &[5]));
    ring.verify_chunks(&map, &data[..]).unwrap();
}

#[test]
fn an_altered_map_fails_its_root_check_before_any_chunk_is_trusted() {
    let data = data(3 * CHUNK as usize);
    let ring = ring();
    let map = ring.chunk_map_reader(&data[..], CHUNK).unwrap();
    let mut bytes = map.to_bytes();
    let last = bytes.len() - 1;
    bytes[last] ^= 1; // flip a bit of the last chunk MAC
    let forged = ChunkMap::from_bytes(&bytes).unwrap();
    assert!(matches!(
        ring.verify_chunk_map(&forged).unwrap_err(),
        Error::Mismatch { .. }
    ));
    assert!(matches!(
        ring.verify_range(&forged, Cursor::new(&data), 0..1)
            .unwrap_err(),
        Error::Mismatch { .. }
    ));
}

#[test]
fn json_and_binary_forms_round_trip() {
    let ring = ring();
    for len in [
        0,
        1,
        CHUNK as usize,
        CHUNK as usize + 1,
        7 * CHUNK as usize - 3,
    ] {
        let map = ring.chunk_map_reader(&data(len)[..], CHUNK).unwrap();
        assert_eq!(ChunkMap::from_json(&map.to_json()).unwrap(), map);
        assert_eq!(ChunkMap::from_bytes(&map.to_bytes()).unwrap(), map);
        ring.verify_chunks(&map, &data(len)[..]).unwrap();
    }
}

#[test]
fn chunk_maps_of_paths_match_those_of_readers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    let data = data(50_000);
    std::fs::write(&path, &data).unwrap();
    let ring = ring();
    assert_eq!(
        ring.chunk_map_path(&path, CHUNK).unwrap(),
        ring.chunk_map_reader(&data[..], CHUNK).unwrap()
    );
}

#[test]
fn bad_ranges_and_chunk_sizes_are_refused() {
    let ring = ring();
    let map = ring.chunk_map_reader(&data(10_000)[..], CHUNK).unwrap();
    let err = ring
        .verify_range(&map, Cursor::new(data(10_000)), 9_000..10_001)
        .unwrap_err();
    assert!(matches!(
        err,
        Error::RangeOutOfBounds {
            start: 9_000,
            end: 10_001,
            len: 10_000
        }
    ));
    #[allow(clippy::reversed_empty_ranges)]
    let reversed = 5..4;
    assert!(matches!(
        map.chunks_for_range(reversed).unwrap_err(),
        Error::RangeOutOfBounds { .. }
    ));
    ring.verify_range(&map, Cursor::new(data(10_000)), 5..5)
        .unwrap();
    for bad in [
        0,
        1,
        ChunkMap::MIN_CHUNK_SIZE - 1,
        ChunkMap::MAX_CHUNK_SIZE + 1,
    ] {
        assert!(matches!(
            ring.chunk_map_reader(&b"x"[..], bad).unwrap_err(),
            Error::Malformed { .. }
        ));
    }
}

#[test]
fn malformed_maps_fail_with_typed_errors() {
    let ring = ring();
    let map = ring.chunk_map_reader(&data(9_000)[..], CHUNK).unwrap();
    let bytes = map.to_bytes();
    assert!(matches!(
        ChunkMap::from_bytes(&bytes[..bytes.len() - 1]).unwrap_err(),
        Error::Malformed { .. }
    ));
    assert!(matches!(
        ChunkMap::from_bytes(b"NOPE").unwrap_err(),
        Error::Malformed { .. }
    ));
    let mut wrong_version = bytes.clone();
    wrong_version[4] = 9;
    assert!(matches!(
        ChunkMap::from_bytes(&wrong_version).unwrap_err(),
        Error::UnknownVersion { .. }
    ));
    let mut wrong_algorithm = bytes.clone();
    wrong_algorithm[5] = 9;
    assert!(matches!(
        ChunkMap::from_bytes(&wrong_algorithm).unwrap_err(),
        Error::UnknownAlgorithm { .. }
    ));

    let json = map.to_json();
    let lying_len = json.replace("\"file_len\": 9000", "\"file_len\": 90000");
    assert!(matches!(
        ChunkMap::from_json(&lying_len).unwrap_err(),
        Error::Malformed { .. }
    ));
    let other_format = json.replace("strongroom-chunk-map/1", "strongroom-chunk-map/7");
    assert!(matches!(
        ChunkMap::from_json(&other_format).unwrap_err(),
        Error::UnknownVersion { .. }
    ));
    assert!(matches!(
        ChunkMap::from_json("{").unwrap_err(),
        Error::Malformed { .. }
    ));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_the_binary_parser(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = ChunkMap::from_bytes(&bytes);
        let mut prefixed = b"SRCM\x01\x01\x02k1".to_vec();
        prefixed.extend_from_slice(&bytes);
        let _ = ChunkMap::from_bytes(&prefixed);
    }

    #[test]
    fn arbitrary_text_never_panics_the_json_parser(text in ".{0,300}") {
        let _ = ChunkMap::from_json(&text);
    }
}
