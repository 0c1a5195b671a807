//! Server keys, generated on first start and persisted (mode 0600) in the keys directory.
//!
//! Several processes pointed at one keys directory converge on one key: a new key is written
//! to a temporary file and hard-linked into place, which fails if another process won the race,
//! and then everyone reads the winner's file.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use zeroize::Zeroizing;

/// Reads the key `name` from `dir`, creating it with `generate` if missing.
pub fn load_or_create(
    dir: &Path,
    name: &str,
    generate: impl FnOnce() -> Zeroizing<Vec<u8>>,
) -> std::io::Result<(Zeroizing<Vec<u8>>, bool)> {
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    let path = dir.join(name);
    let mut created = false;
    if !path.exists() {
        let key = generate();
        let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::now_v7()));
        {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(&key)?;
            f.sync_all()?;
        }
        match std::fs::hard_link(&tmp, &path) {
            Ok(()) => created = true,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        }
        std::fs::remove_file(&tmp)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    let mode = std::fs::metadata(&path)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(std::io::Error::other(format!(
            "{} is readable by others (mode {mode:o}); chmod 600 it",
            path.display()
        )));
    }
    Ok((Zeroizing::new(std::fs::read(&path)?), created))
}

/// Makes the data directory private to this user: it and its direct entries become 0700
/// (folders) and 0600 (files), data written by an older version or under a permissive umask
/// included. A private directory already keeps everything below it from other users, so the
/// blobs are not walked one by one; new files are created private by `serve::private_files`.
/// Symbolic links are left alone.
pub fn make_private(dir: &Path) -> std::io::Result<()> {
    fn fix(path: &Path, meta: &std::fs::Metadata) -> std::io::Result<()> {
        let want = if meta.is_dir() {
            0o700
        } else if meta.is_file() {
            meta.permissions().mode() & 0o700
        } else {
            return Ok(());
        };
        if meta.permissions().mode() & 0o777 != want {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(want))?;
        }
        Ok(())
    }
    let meta = std::fs::symlink_metadata(dir)?;
    if !meta.is_dir() {
        return Ok(());
    }
    fix(dir, &meta)?;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        fix(&entry.path(), &entry.metadata()?)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_reused_with_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        let (a, created) = load_or_create(&keys, "k", || Zeroizing::new(vec![1; 32])).unwrap();
        assert!(created);
        let (b, created) = load_or_create(&keys, "k", || Zeroizing::new(vec![2; 32])).unwrap();
        assert!(!created);
        assert_eq!(*a, *b);
        let mode = std::fs::metadata(keys.join("k"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        std::fs::set_permissions(keys.join("k"), std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(load_or_create(&keys, "k", || Zeroizing::new(vec![3; 32])).is_err());
    }
}
