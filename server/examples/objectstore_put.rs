//! The yardstick for `bench/server.sh`: object_store's own streaming put of a file into a
//! local directory, with the part size (8 MiB) and parts in flight (4) the server uses, and no
//! HTTP, hashing or metadata. Whatever the server adds on top shows as the difference.
//!
//! Usage: `cargo run --release -p strongroom --example objectstore_put -- FILE DIR [--fsync] [--sha256]`
//! (`--fsync`: fsync the object and its directory, as the server does by default; `--sha256`:
//! also compute the content's SHA-256 on another thread alongside the writes, the one piece of
//! work the server cannot skip, to show what the server adds beyond it).
//! Writes `DIR/bench/<FILE's name>` and prints the bytes written and the seconds taken.

use std::time::Instant;

use bytes::BytesMut;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStoreExt, WriteMultipart};
use tokio::io::AsyncReadExt;

/// Part size, as the server's.
const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts in flight, as the server's.
const PART_CONCURRENCY: usize = 4;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(file), Some(dir)) = (args.next(), args.next()) else {
        return Err("usage: objectstore_put FILE DIR [--fsync]".into());
    };
    let (mut fsync, mut sha256) = (false, false);
    for flag in args {
        match flag.as_str() {
            "--fsync" => fsync = true,
            "--sha256" => sha256 = true,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let (hash_tx, hash_thread) = if sha256 {
        let (tx, rx) = std::sync::mpsc::sync_channel::<bytes::Bytes>(4);
        let thread = std::thread::spawn(move || {
            use sha2::Digest;
            let mut h = sha2::Sha256::new();
            for part in rx {
                h.update(&part);
            }
            hex::encode(h.finalize())
        });
        (Some(tx), Some(thread))
    } else {
        (None, None)
    };
    let started = Instant::now();
    std::fs::create_dir_all(&dir)?;
    let store = LocalFileSystem::new_with_prefix(&dir)?
        .with_automatic_cleanup(true)
        .with_fsync(fsync);
    let name = std::path::Path::new(&file)
        .file_name()
        .map_or_else(|| "blob".to_owned(), |n| n.to_string_lossy().into_owned());
    let key = ObjectPath::from(format!("bench/{name}"));

    let mut input = tokio::fs::File::open(&file).await?;
    let upload = store.put_multipart(&key).await?;
    let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
    let mut total: u64 = 0;
    loop {
        // Fill one whole part, then hand it over without copying.
        let mut part = BytesMut::with_capacity(PART_SIZE);
        while part.len() < PART_SIZE {
            if input.read_buf(&mut part).await? == 0 {
                break;
            }
        }
        if part.is_empty() {
            break;
        }
        let full = part.len() == PART_SIZE;
        total += part.len() as u64;
        let part = part.freeze();
        if let Some(tx) = &hash_tx {
            let tx = tx.clone();
            let part = part.clone();
            tokio::task::spawn_blocking(move || tx.send(part)).await??;
        }
        writer.put(part);
        writer.wait_for_capacity(PART_CONCURRENCY).await?;
        if !full {
            break;
        }
    }
    writer.finish().await?;
    drop(hash_tx);
    if let Some(t) = hash_thread {
        let digest = t.join().map_err(|_| "hash thread panicked")?;
        println!("sha256 {digest}");
    }
    println!(
        "object_store put: {total} bytes in {:.3} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
