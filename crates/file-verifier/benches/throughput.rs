//! In-process throughput of signing against the raw RustCrypto HMAC it wraps (the overhead of
//! this crate's layer) and BLAKE3 keyed, over the same 64 MiB buffer.
//!
//! `cargo bench -p strongroom-file-verifier --bench throughput`
//! Whole-process comparisons with openssl and sha256sum live in `bench/file-verifier.sh`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use std::hint::black_box;
use strongroom_file_verifier::{Algorithm, ChunkMap, KeyRing, SecretKey};

const LEN: usize = 64 * 1024 * 1024;
const KEY: [u8; 32] = [0x42; 32];

fn bench(c: &mut Criterion) {
    let data: Vec<u8> = (0..LEN).map(|i| (i % 251) as u8).collect();
    let mut group = c.benchmark_group("sign-64MiB");
    group.throughput(Throughput::Bytes(LEN as u64));
    group.sample_size(10);

    let mut ring = KeyRing::new();
    ring.insert_signing_key("k", SecretKey::from_bytes(&KEY).unwrap())
        .unwrap();
    group.bench_function("strongroom hmac-sha256 (sign_reader)", |b| {
        b.iter(|| ring.sign_reader(black_box(&data[..])).unwrap())
    });
    group.bench_function("raw hmac+sha2 (peer)", |b| {
        b.iter(|| {
            let mut mac = Hmac::<Sha256>::new_from_slice(&KEY).unwrap();
            mac.update(black_box(&data));
            mac.finalize().into_bytes()
        })
    });

    let mut blake = KeyRing::with_algorithm(Algorithm::Blake3Keyed);
    blake
        .insert_signing_key("k", SecretKey::from_bytes(&KEY).unwrap())
        .unwrap();
    group.bench_function("strongroom blake3-keyed", |b| {
        b.iter(|| blake.sign_reader(black_box(&data[..])).unwrap())
    });
    group.bench_function("strongroom chunk map (1 MiB chunks)", |b| {
        b.iter(|| {
            ring.chunk_map_reader(black_box(&data[..]), ChunkMap::DEFAULT_CHUNK_SIZE)
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
