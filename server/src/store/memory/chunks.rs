//! [`ChunkStore`] in memory, with the SQL backends' rules.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::MemoryStore;
use crate::store::chunks::{
    ChunkRef, ChunkStore, ChunkUsage, Claimed, ContentRecord, NewPin, Pinned, StoredChunk,
    WrappedKey,
};
use crate::store::{Error, Result};

#[derive(Debug, Clone)]
struct Chunk {
    size: u64,
    refs: i64,
    generation: i64,
    written: bool,
    sealed: bool,
}

/// The chunk index's tables.
#[derive(Debug, Default)]
pub(super) struct Index {
    /// (owner, chunk id) -> chunk.
    chunks: BTreeMap<(String, String), Chunk>,
    /// key -> content and its list.
    contents: BTreeMap<String, (ContentRecord, Vec<ChunkRef>)>,
    /// (upload, chunk id) -> (owner, count, pinned at).
    pins: BTreeMap<(String, String), (String, i64, i64)>,
    /// owner -> wrapped data key.
    pub(super) data_keys: BTreeMap<String, WrappedKey>,
}

impl Index {
    /// Whether content `key` of `owner` is committed.
    pub(super) fn has_content(&self, key: &str, owner: &str) -> bool {
        self.contents
            .get(key)
            .is_some_and(|(c, _)| c.owner_id == owner)
    }
}

#[async_trait]
impl ChunkStore for MemoryStore {
    async fn pin(&self, p: &NewPin<'_>) -> Result<Pinned> {
        let mut s = self.lock();
        let ix = &mut s.chunks;
        let c = ix
            .chunks
            .entry((p.owner_id.to_owned(), p.chunk_id.to_owned()))
            .or_insert(Chunk {
                size: p.size,
                refs: 0,
                generation: p.generation,
                written: false,
                sealed: p.sealed,
            });
        if c.refs < 0 {
            c.refs = 0;
            c.generation += 1;
            c.written = false;
            c.sealed = p.sealed;
        }
        c.refs += 1;
        let pinned = Pinned {
            generation: c.generation,
            must_write: !c.written,
            sealed: c.sealed,
        };
        ix.pins
            .entry((p.upload_id.to_owned(), p.chunk_id.to_owned()))
            .or_insert((p.owner_id.to_owned(), 0, p.at))
            .1 += 1;
        Ok(pinned)
    }

    async fn commit(
        &self,
        upload_id: &str,
        key: &str,
        owner_id: &str,
        chunks: &[ChunkRef],
        binding: &str,
        at: i64,
    ) -> Result<()> {
        let mut s = self.lock();
        let ix = &mut s.chunks;
        let pinned: i64 = ix
            .pins
            .iter()
            .filter(|((u, _), _)| u == upload_id)
            .map(|(_, (_, n, _))| *n)
            .sum();
        if pinned != chunks.len() as i64 {
            return Err(Error::NotFound);
        }
        if ix.contents.contains_key(key) {
            return Err(Error::Conflict("that already exists".into()));
        }
        let mine: Vec<(String, String)> = ix
            .pins
            .keys()
            .filter(|(u, _)| u == upload_id)
            .cloned()
            .collect();
        for (u, chunk) in mine {
            ix.pins.remove(&(u, chunk.clone()));
            if let Some(c) = ix.chunks.get_mut(&(owner_id.to_owned(), chunk)) {
                c.written = true;
            }
        }
        let record = ContentRecord {
            key: key.to_owned(),
            owner_id: owner_id.to_owned(),
            size: chunks.iter().map(|c| c.size).sum(),
            created_at: at,
            binding: Some(binding.to_owned()),
        };
        ix.contents
            .insert(key.to_owned(), (record, chunks.to_vec()));
        Ok(())
    }

    async fn release(&self, upload_id: &str) -> Result<()> {
        let mut s = self.lock();
        let ix = &mut s.chunks;
        let mine: Vec<((String, String), (String, i64, i64))> = ix
            .pins
            .iter()
            .filter(|((u, _), _)| u == upload_id)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for ((u, chunk), (owner, n, _)) in mine {
            ix.pins.remove(&(u, chunk.clone()));
            if let Some(c) = ix.chunks.get_mut(&(owner, chunk)) {
                c.refs -= n;
            }
        }
        Ok(())
    }

    async fn stale_uploads(&self, before: i64) -> Result<Vec<String>> {
        let s = self.lock();
        let mut out: Vec<String> = s
            .chunks
            .pins
            .iter()
            .filter(|(_, (_, _, at))| *at < before)
            .map(|((u, _), _)| u.clone())
            .collect();
        out.dedup();
        Ok(out)
    }

    async fn content(&self, key: &str) -> Result<Option<ContentRecord>> {
        Ok(self.lock().chunks.contents.get(key).map(|(c, _)| c.clone()))
    }

    async fn chunks_of(&self, key: &str, start: u64, end: u64) -> Result<Vec<StoredChunk>> {
        let s = self.lock();
        let Some((record, list)) = s.chunks.contents.get(key) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for r in list
            .iter()
            .filter(|r| r.offset < end && r.offset + r.size > start)
        {
            let c = s
                .chunks
                .chunks
                .get(&(record.owner_id.clone(), r.chunk_id.clone()))
                .ok_or_else(|| {
                    Error::Corrupt(format!(
                        "content {key} lists chunk {}, which the index does not have",
                        r.chunk_id
                    ))
                })?;
            out.push(StoredChunk {
                chunk_id: r.chunk_id.clone(),
                offset: r.offset,
                size: r.size,
                generation: c.generation,
                sealed: c.sealed,
            });
        }
        Ok(out)
    }

    async fn drop_content(&self, key: &str) -> Result<Vec<(String, String)>> {
        let mut s = self.lock();
        let ix = &mut s.chunks;
        let Some((record, list)) = ix.contents.remove(key) else {
            return Ok(Vec::new());
        };
        let mut freed = Vec::new();
        for r in list {
            let id = (record.owner_id.clone(), r.chunk_id);
            if let Some(c) = ix.chunks.get_mut(&id) {
                c.refs -= 1;
                if c.refs <= 0 && !freed.contains(&id) {
                    freed.push(id);
                }
            }
        }
        Ok(freed)
    }

    async fn contents_before(&self, before: i64, limit: u32) -> Result<Vec<ContentRecord>> {
        let s = self.lock();
        let mut out: Vec<ContentRecord> = s
            .chunks
            .contents
            .values()
            .filter(|(c, _)| c.created_at <= before)
            .map(|(c, _)| c.clone())
            .collect();
        out.sort_by_key(|c| c.created_at);
        out.truncate(limit as usize);
        Ok(out)
    }

    async fn claim(&self, only: Option<&[(String, String)]>, limit: u32) -> Result<Vec<Claimed>> {
        let mut s = self.lock();
        let ix = &mut s.chunks;
        let candidates: Vec<(String, String)> = match only {
            Some(list) => list.to_vec(),
            None => ix
                .chunks
                .iter()
                .filter(|(_, c)| c.refs <= 0)
                .map(|(k, _)| k.clone())
                .collect(),
        };
        let mut out = Vec::new();
        for id in candidates.into_iter().take(limit as usize) {
            if let Some(c) = ix.chunks.get_mut(&id)
                && c.refs <= 0
            {
                c.refs = -1;
                out.push(Claimed {
                    owner_id: id.0,
                    chunk_id: id.1,
                    generation: c.generation,
                });
            }
        }
        Ok(out)
    }

    async fn forget(&self, claimed: &Claimed) -> Result<()> {
        let mut s = self.lock();
        let id = (claimed.owner_id.clone(), claimed.chunk_id.clone());
        if s.chunks
            .chunks
            .get(&id)
            .is_some_and(|c| c.refs == -1 && c.generation == claimed.generation)
        {
            s.chunks.chunks.remove(&id);
        }
        Ok(())
    }

    async fn usage(&self, owner_id: &str) -> Result<ChunkUsage> {
        let s = self.lock();
        let mut u = ChunkUsage::default();
        for ((owner, _), c) in &s.chunks.chunks {
            if owner == owner_id && c.refs > 0 {
                u.chunks += 1;
                u.bytes += c.size;
            }
        }
        Ok(u)
    }

    async fn data_key(&self, owner_id: &str) -> Result<Option<WrappedKey>> {
        Ok(self.lock().chunks.data_keys.get(owner_id).cloned())
    }

    async fn put_data_key(&self, key: &WrappedKey, _at: i64) -> Result<WrappedKey> {
        let mut s = self.lock();
        Ok(s.chunks
            .data_keys
            .entry(key.owner_id.clone())
            .or_insert_with(|| key.clone())
            .clone())
    }

    async fn keys_not_under(&self, kek_id: &str, limit: u32) -> Result<Vec<WrappedKey>> {
        let s = self.lock();
        Ok(s.chunks
            .data_keys
            .values()
            .filter(|k| k.kek_id != kek_id)
            .take(limit as usize)
            .cloned()
            .collect())
    }

    async fn rewrap(&self, key: &WrappedKey, old_kek_id: &str, _at: i64) -> Result<bool> {
        let mut s = self.lock();
        match s.chunks.data_keys.get_mut(&key.owner_id) {
            Some(k) if k.kek_id == old_kek_id => {
                *k = key.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}
