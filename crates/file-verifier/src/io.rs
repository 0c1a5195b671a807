//! Reading helpers shared by signatures, chunk maps and manifests.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use crate::{Error, Result};

/// Read size for streaming: large enough for the hash cores to run at full speed, small enough
/// that memory stays flat whatever the file size.
pub(crate) const BLOCK_LEN: usize = 256 * 1024;

/// Fills `buf` from `reader` until it is full or the reader is exhausted; returns the bytes read.
pub(crate) fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Calls `f` with consecutive blocks of `reader` until it is exhausted; returns the total length.
pub(crate) fn for_each_block(mut reader: impl Read, mut f: impl FnMut(&[u8])) -> io::Result<u64> {
    let mut buf = vec![0u8; BLOCK_LEN];
    let mut total = 0u64;
    loop {
        let n = read_full(&mut reader, &mut buf)?;
        if n == 0 {
            return Ok(total);
        }
        total += n as u64;
        f(&buf[..n]);
    }
}

/// Opens a regular file and hands it to `read` together with its length, then checks that the
/// file did not change (length, modification time, bytes actually read) while it was read.
///
/// `read` returns how many bytes it consumed. Signing a file that a writer is still appending to
/// would produce a signature of bytes that never existed as a whole, so it is an error instead.
pub(crate) fn read_stable_file<T>(
    path: &Path,
    read: impl FnOnce(&mut File, u64) -> Result<(T, u64)>,
) -> Result<T> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let before = file.metadata().map_err(|e| Error::io(path, e))?;
    if !before.is_file() {
        return Err(Error::io(
            path,
            io::Error::new(io::ErrorKind::InvalidInput, "not a regular file"),
        ));
    }
    let (value, consumed) = read(&mut file, before.len()).map_err(|e| match e {
        Error::Io { path: None, source } => Error::io(path, source),
        other => other,
    })?;
    let after = file.metadata().map_err(|e| Error::io(path, e))?;
    let unchanged = consumed == before.len()
        && after.len() == before.len()
        && after.modified().ok() == before.modified().ok();
    if !unchanged {
        return Err(Error::ChangedWhileReading {
            path: path.to_owned(),
        });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn a_file_growing_while_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("growing.log");
        std::fs::write(&path, vec![1u8; 100_000]).unwrap();
        let err = read_stable_file(&path, |file, _| {
            let consumed = for_each_block(&mut *file, |_| {})?;
            // Another writer appends while we are still "reading".
            std::fs::OpenOptions::new()
                .append(true)
                .open(&path)?
                .write_all(b"more")?;
            Ok(((), consumed))
        })
        .unwrap_err();
        assert!(matches!(err, Error::ChangedWhileReading { .. }), "{err:?}");
    }

    #[test]
    fn a_file_truncated_while_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shrinking.bin");
        std::fs::write(&path, vec![1u8; 600_000]).unwrap();
        let err = read_stable_file(&path, |file, _| {
            let mut first = vec![0u8; 1000];
            let n = read_full(file, &mut first)?;
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)?
                .set_len(2000)?;
            let rest = for_each_block(&mut *file, |_| {})?;
            Ok(((), n as u64 + rest))
        })
        .unwrap_err();
        assert!(matches!(err, Error::ChangedWhileReading { .. }), "{err:?}");
    }

    #[test]
    fn an_unchanged_file_reads_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("still.bin");
        std::fs::write(&path, vec![1u8; 300_000]).unwrap();
        let total = read_stable_file(&path, |file, len| {
            let n = for_each_block(file, |_| {})?;
            assert_eq!(n, len);
            Ok((n, n))
        })
        .unwrap();
        assert_eq!(total, 300_000);
    }
}
