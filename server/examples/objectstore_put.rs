//! The yardstick for `bench/server.sh`: object_store's own streaming put of a file into a
//! local directory, with the part size (8 MiB) and parts in flight (4) the server uses, and no
//! HTTP, hashing or metadata. Whatever the server adds on top shows as the difference.
//!
//! Usage: `cargo run --release -p strongroom --example objectstore_put -- FILE DIR`
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
    let (Some(file), Some(dir), None) = (args.next(), args.next(), args.next()) else {
        return Err("usage: objectstore_put FILE DIR".into());
    };
    let started = Instant::now();
    std::fs::create_dir_all(&dir)?;
    let store = LocalFileSystem::new_with_prefix(&dir)?.with_automatic_cleanup(true);
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
        writer.put(part.freeze());
        writer.wait_for_capacity(PART_CONCURRENCY).await?;
        if !full {
            break;
        }
    }
    writer.finish().await?;
    println!(
        "object_store put: {total} bytes in {:.3} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
