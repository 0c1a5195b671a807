//! Encryption at rest: each owner has a random data key, stored wrapped (AES-256-GCM) by a
//! key-encryption key (KEK) from the key directory; chunk ids and chunk encryption use keys
//! derived from it. Rotating the KEK rewraps the data keys and leaves every chunk as it is.
//!
//! KEKs are the files `content-kek-<n>.key` (32 random bytes, mode 0600) in the key directory;
//! the highest `n` wraps new data keys. Old ones stay readable until `strongroom keys rotate`
//! has rewrapped every data key under the newest, after which they may be deleted.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use aes_gcm::aead::{Aead, AeadInOut, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use bytes::BytesMut;
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::Error;
use crate::store::chunks::{DynChunkStore, WrappedKey};

const KEK_PREFIX: &str = "content-kek-";
/// Owners whose unwrapped keys are kept in memory at most.
const CACHED_KEYS: usize = 10_000;
const NONCE: usize = 12;
/// The header of a sealed chunk object: the magic, then the nonce.
pub const HEADER: usize = SEALED_MAGIC.len() + NONCE;
/// The AES-GCM tag at the end of a sealed chunk object.
pub const TAG: usize = 16;
/// The first bytes of a sealed chunk object: format version 1 (AES-256-GCM, 96-bit nonce).
const SEALED_MAGIC: &[u8; 4] = b"SRC1";

type HmacSha256 = Hmac<Sha256>;

fn derive(key: &[u8], label: &str) -> Zeroizing<[u8; 32]> {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).expect("any key length");
    mac.update(label.as_bytes());
    Zeroizing::new(mac.finalize().into_bytes().into())
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::rng().fill_bytes(&mut b);
    b
}

/// One owner's keys, unwrapped.
pub struct TenantKey {
    id_key: Zeroizing<[u8; 32]>,
    bind_key: Zeroizing<[u8; 32]>,
    aead: Aes256Gcm,
}

impl std::fmt::Debug for TenantKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TenantKey(..)")
    }
}

impl TenantKey {
    fn from_data_key(dek: &[u8]) -> TenantKey {
        let seal = derive(dek, "strongroom/chunk-seal/v1");
        TenantKey {
            id_key: derive(dek, "strongroom/chunk-id/v1"),
            bind_key: derive(dek, "strongroom/content-binding/v1"),
            aead: Aes256Gcm::new_from_slice(&seal[..]).expect("32-byte key"),
        }
    }

    /// The chunk id of `plain`: keyed BLAKE3 (a MAC, like HMAC, and several times faster than
    /// HMAC-SHA256 here) under this owner's id key, hex. Equal content of two owners gets
    /// unrelated ids, so dedup never tells one owner what another stores.
    pub fn chunk_id(&self, plain: &[u8]) -> String {
        blake3::keyed_hash(&self.id_key, plain).to_hex().to_string()
    }

    /// The binding of a content: its chunk list (ids, offsets, sizes, in order) together with
    /// the file signature its bytes produced, under this owner's binding key (keyed BLAKE3,
    /// hex). Every chunk authenticates itself when read (its seal, or its keyed id), so a
    /// download that checks the binding first has checked the whole content against the
    /// signature without hashing it again; a chunk list edited, reordered or swapped for
    /// another content's in the database does not match.
    pub fn bind<'a>(
        &self,
        signature: &str,
        chunks: impl IntoIterator<Item = (&'a str, u64, u64)>,
    ) -> String {
        let mut h = blake3::Hasher::new_keyed(&self.bind_key);
        h.update(&(signature.len() as u64).to_le_bytes());
        h.update(signature.as_bytes());
        for (id, offset, size) in chunks {
            h.update(&(id.len() as u64).to_le_bytes());
            h.update(id.as_bytes());
            h.update(&offset.to_le_bytes());
            h.update(&size.to_le_bytes());
        }
        h.finalize().to_hex().to_string()
    }

    /// Whether `binding` is [`TenantKey::bind`] of `signature` and `chunks` (constant time).
    pub fn is_bound<'a>(
        &self,
        binding: &str,
        signature: &str,
        chunks: impl IntoIterator<Item = (&'a str, u64, u64)>,
    ) -> bool {
        match blake3::Hash::from_hex(binding) {
            Ok(want) => {
                blake3::Hash::from_hex(self.bind(signature, chunks)).is_ok_and(|got| got == want)
            }
            Err(_) => false,
        }
    }

    /// Whether `plain` is the chunk `chunk_id` (constant-time comparison).
    pub fn is_chunk(&self, chunk_id: &str, plain: &[u8]) -> bool {
        match blake3::Hash::from_hex(chunk_id) {
            // `blake3::Hash` compares in constant time.
            Ok(want) => blake3::keyed_hash(&self.id_key, plain) == want,
            Err(_) => false,
        }
    }

    /// Encrypts a chunk in place; the owner and chunk id are authenticated with it, so an
    /// object moved under another name fails to open. The object is `header`, then `chunk`
    /// (now ciphertext), then `tag`: written as three parts, nothing is copied.
    pub fn seal(&self, owner: &str, chunk_id: &str, chunk: &mut [u8]) -> Result<Sealed, Error> {
        let nonce: [u8; NONCE] = random_bytes();
        let aad = format!("{owner}/{chunk_id}");
        let tag = self
            .aead
            .encrypt_inout_detached(&Nonce::from(nonce), aad.as_bytes(), chunk.into())
            .map_err(|_| Error::Internal("chunk encryption failed".into()))?;
        let mut header = [0u8; HEADER];
        header[..SEALED_MAGIC.len()].copy_from_slice(SEALED_MAGIC);
        header[SEALED_MAGIC.len()..].copy_from_slice(&nonce);
        Ok(Sealed {
            header,
            tag: tag.into(),
        })
    }

    /// Decrypts and authenticates a sealed chunk object in place, giving back its plaintext
    /// (a part of the same buffer); `None` if it was altered.
    pub fn open(&self, owner: &str, chunk_id: &str, sealed: BytesMut) -> Option<BytesMut> {
        let mut sealed = sealed;
        if sealed.len() < HEADER + TAG || !sealed.starts_with(SEALED_MAGIC) {
            return None;
        }
        let header = sealed.split_to(HEADER);
        let tag = sealed.split_off(sealed.len() - TAG);
        let nonce = <[u8; NONCE]>::try_from(&header[SEALED_MAGIC.len()..]).ok()?;
        let aad = format!("{owner}/{chunk_id}");
        self.aead
            .decrypt_inout_detached(
                &Nonce::from(nonce),
                aad.as_bytes(),
                sealed.as_mut().into(),
                &aes_gcm::Tag::try_from(&tag[..]).ok()?,
            )
            .ok()?;
        Some(sealed)
    }
}

/// What [`TenantKey::seal`] puts around the ciphertext.
#[derive(Debug, Clone, Copy)]
pub struct Sealed {
    /// The format's magic and the nonce.
    pub header: [u8; HEADER],
    /// The authentication tag.
    pub tag: [u8; TAG],
}

/// The key-encryption keys of the key directory.
#[derive(Debug)]
pub struct Keks {
    dir: PathBuf,
    keys: RwLock<BTreeMap<u64, Zeroizing<Vec<u8>>>>,
}

impl Keks {
    /// Loads the KEKs of `dir`, creating `content-kek-1.key` if there is none.
    pub fn open(dir: PathBuf) -> Result<Keks, String> {
        let keks = Keks {
            dir,
            keys: RwLock::new(BTreeMap::new()),
        };
        keks.rescan()?;
        if keks
            .keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
        {
            keks.create(1)?;
        }
        Ok(keks)
    }

    fn rescan(&self) -> Result<(), String> {
        std::fs::create_dir_all(&self.dir).map_err(|e| format!("{}: {e}", self.dir.display()))?;
        let entries =
            std::fs::read_dir(&self.dir).map_err(|e| format!("{}: {e}", self.dir.display()))?;
        let mut found = Vec::new();
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(n) = name
                .strip_prefix(KEK_PREFIX)
                .and_then(|r| r.strip_suffix(".key"))
                .and_then(|n| n.parse::<u64>().ok())
            {
                found.push((n, name));
            }
        }
        for (n, name) in found {
            if self
                .keys
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .contains_key(&n)
            {
                continue;
            }
            let (bytes, _) = crate::keys::load_or_create(&self.dir, &name, || {
                Zeroizing::new(random_bytes::<32>().to_vec())
            })
            .map_err(|e| format!("{name}: {e}"))?;
            if bytes.len() != 32 {
                return Err(format!("{name} must hold 32 bytes, not {}", bytes.len()));
            }
            self.keys
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .insert(n, bytes);
        }
        Ok(())
    }

    fn create(&self, n: u64) -> Result<(), String> {
        let name = format!("{KEK_PREFIX}{n}.key");
        let (bytes, _) = crate::keys::load_or_create(&self.dir, &name, || {
            Zeroizing::new(random_bytes::<32>().to_vec())
        })
        .map_err(|e| format!("{name}: {e}"))?;
        self.keys
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(n, bytes);
        Ok(())
    }

    /// Adds the next KEK (`content-kek-<n+1>.key`) and makes it current; returns its id.
    pub fn add_next(&self) -> Result<String, String> {
        self.rescan()?;
        let next = self.current_number() + 1;
        self.create(next)?;
        Ok(next.to_string())
    }

    fn current_number(&self) -> u64 {
        self.keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .next_back()
            .copied()
            .unwrap_or(0)
    }

    /// The id of the KEK that wraps new data keys.
    pub fn current(&self) -> String {
        self.current_number().to_string()
    }

    fn cipher(&self, id: &str) -> Result<Aes256Gcm, Error> {
        let n: u64 = id
            .parse()
            .map_err(|_| Error::Internal(format!("data key wrapped by unknown KEK {id:?}")))?;
        if !self
            .keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(&n)
        {
            // Another process may have rotated: look again.
            self.rescan().map_err(Error::Internal)?;
        }
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        let key = keys.get(&n).ok_or_else(|| {
            Error::Internal(format!(
                "the key-encryption key {KEK_PREFIX}{n}.key is missing from the key directory"
            ))
        })?;
        Aes256Gcm::new_from_slice(key).map_err(|_| Error::Internal("KEK length".into()))
    }

    /// Wraps `dek` for `owner` under KEK `id`.
    pub fn wrap(&self, id: &str, owner: &str, dek: &[u8]) -> Result<WrappedKey, Error> {
        let nonce: [u8; NONCE] = random_bytes();
        let ct = self
            .cipher(id)?
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: dek,
                    aad: owner.as_bytes(),
                },
            )
            .map_err(|_| Error::Internal("wrapping a data key failed".into()))?;
        let mut wrapped = nonce.to_vec();
        wrapped.extend_from_slice(&ct);
        Ok(WrappedKey {
            owner_id: owner.to_owned(),
            kek_id: id.to_owned(),
            wrapped,
        })
    }

    /// Unwraps a data key.
    pub fn unwrap_key(&self, w: &WrappedKey) -> Result<Zeroizing<Vec<u8>>, Error> {
        if w.wrapped.len() < NONCE {
            return Err(Error::Internal(format!(
                "the data key of {} is damaged",
                w.owner_id
            )));
        }
        let (nonce, ct) = w.wrapped.split_at(NONCE);
        let nonce: [u8; NONCE] = nonce.try_into().expect("split at NONCE");
        self.cipher(&w.kek_id)?
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ct,
                    aad: w.owner_id.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| {
                Error::Internal(format!(
                    "the data key of {} does not open with KEK {}",
                    w.owner_id, w.kek_id
                ))
            })
    }
}

/// Every owner's keys: unwrapped on first use and kept in memory.
#[derive(Debug, Clone)]
pub struct DataKeys {
    keks: Arc<Keks>,
    index: Arc<DynChunkStore>,
    cache: Arc<Mutex<BTreeMap<String, Arc<TenantKey>>>>,
}

impl DataKeys {
    /// Over the KEKs and the index that stores wrapped data keys.
    pub fn new(keks: Arc<Keks>, index: Arc<DynChunkStore>) -> DataKeys {
        DataKeys {
            keks,
            index,
            cache: Arc::default(),
        }
    }

    /// The KEKs.
    pub fn keks(&self) -> &Arc<Keks> {
        &self.keks
    }

    /// The keys of `owner`, creating its data key on first use.
    pub async fn of(&self, owner: &str, now: i64) -> Result<Arc<TenantKey>, Error> {
        if let Some(k) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(owner)
        {
            return Ok(k.clone());
        }
        let wrapped = match self.index.data_key(owner).await? {
            Some(w) => w,
            None => {
                let dek = Zeroizing::new(random_bytes::<32>());
                let _ = self.keks.rescan();
                let fresh = self.keks.wrap(&self.keks.current(), owner, &dek[..])?;
                // Two first uploads racing: one key wins, both use it.
                self.index.put_data_key(&fresh, now).await?
            }
        };
        let dek = self.keks.unwrap_key(&wrapped)?;
        let key = Arc::new(TenantKey::from_data_key(&dek));
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        // Bounded (about 1 KiB an owner): past the bound it starts over, and keys are unwrapped
        // again as owners come back.
        if cache.len() >= CACHED_KEYS {
            cache.clear();
        }
        cache.insert(owner.to_owned(), key.clone());
        Ok(key)
    }

    /// Rewraps every data key not under the newest KEK (the data keys themselves, and so every
    /// chunk, stay as they are); returns how many were rewrapped.
    pub async fn rewrap_all(&self, now: i64) -> Result<u64, Error> {
        let _ = self.keks.rescan();
        let current = self.keks.current();
        let mut done = 0;
        loop {
            let batch = self.index.keys_not_under(&current, 500).await?;
            if batch.is_empty() {
                return Ok(done);
            }
            for old in batch {
                let dek = self.keks.unwrap_key(&old)?;
                let new = self.keks.wrap(&current, &old.owner_id, &dek)?;
                if self.index.rewrap(&new, &old.kek_id, now).await? {
                    done += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_chunks_open_only_as_themselves() {
        let k = TenantKey::from_data_key(&[7; 32]);
        let other = TenantKey::from_data_key(&[8; 32]);
        let id = k.chunk_id(b"hello");
        assert_ne!(id, other.chunk_id(b"hello"), "ids are per owner");
        assert!(k.is_chunk(&id, b"hello"));
        assert!(!k.is_chunk(&id, b"hellO"));
        let mut chunk = *b"hello";
        let s = k.seal("ann", &id, &mut chunk).unwrap();
        assert_ne!(&chunk, b"hello", "encrypted in place");
        let sealed = BytesMut::from(&[&s.header[..], &chunk[..], &s.tag[..]].concat()[..]);
        assert_eq!(&k.open("ann", &id, sealed.clone()).unwrap()[..], b"hello");
        assert!(
            k.open("bob", &id, sealed.clone()).is_none(),
            "bound to its owner"
        );
        assert!(
            other.open("ann", &id, sealed.clone()).is_none(),
            "another owner's key"
        );
        for at in [0, HEADER - 1, HEADER, sealed.len() - 1] {
            let mut altered = sealed.clone();
            altered[at] ^= 1;
            assert!(k.open("ann", &id, altered).is_none(), "altered at {at}");
        }
        assert!(
            k.open("ann", &id, BytesMut::from(&b"SRC1short"[..]))
                .is_none()
        );
    }

    #[test]
    fn a_binding_holds_only_for_its_signature_and_exact_chunk_list() {
        let k = TenantKey::from_data_key(&[7; 32]);
        let list = [("aa", 0, 10), ("bb", 10, 5)];
        let b = k.bind("sig", list);
        assert!(k.is_bound(&b, "sig", list));
        assert!(!k.is_bound(&b, "sig2", list), "another file's signature");
        assert!(
            !k.is_bound(&b, "sig", [("bb", 0, 5), ("aa", 5, 10)]),
            "reordered"
        );
        assert!(!k.is_bound(&b, "sig", [("aa", 0, 10)]), "cut short");
        assert!(
            !k.is_bound(&b, "sig", [("aa", 0, 10), ("bb", 10, 6)]),
            "resized"
        );
        let other = TenantKey::from_data_key(&[8; 32]);
        assert!(!other.is_bound(&b, "sig", list), "another owner's key");
        assert!(!k.is_bound("not hex", "sig", list));
    }

    #[test]
    fn keks_rotate_and_old_wrappings_still_open() {
        let dir = tempfile::tempdir().unwrap();
        let keks = Keks::open(dir.path().to_owned()).unwrap();
        assert_eq!(keks.current(), "1");
        let w = keks.wrap("1", "ann", &[9; 32]).unwrap();
        assert_eq!(keks.add_next().unwrap(), "2");
        assert_eq!(&keks.unwrap_key(&w).unwrap()[..], &[9; 32]);
        let mut tampered = w.clone();
        tampered.owner_id = "bob".into();
        assert!(keks.unwrap_key(&tampered).is_err(), "bound to its owner");
        // A second process sees the rotation.
        let again = Keks::open(dir.path().to_owned()).unwrap();
        assert_eq!(again.current(), "2");
    }
}
