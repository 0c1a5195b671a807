//! [`ChunkStore`] in SQL: one statement set for SQLite and PostgreSQL (upserts with
//! `ON CONFLICT … DO UPDATE … RETURNING`, which both speak).

use async_trait::async_trait;
use sqlx::Row;

use super::SqlStore;
use crate::store::chunks::{
    ChunkRef, ChunkStore, ChunkUsage, Claimed, ContentRecord, NewPin, Pinned, StoredChunk,
    WrappedKey,
};
use crate::store::db::{in_tx, on_db};
use crate::store::{Error, Result};

/// Rows per multi-row insert of a chunk list.
const INSERT_BATCH: usize = 200;

fn to_i64(n: u64) -> i64 {
    n.min(i64::MAX as u64) as i64
}

macro_rules! content_from_row {
    ($row:expr) => {{
        let row = $row;
        let size: i64 = row.try_get("size")?;
        ContentRecord {
            key: row.try_get("blob_key")?,
            owner_id: row.try_get("owner_id")?,
            size: size.max(0) as u64,
            created_at: row.try_get("created_at")?,
            binding: row.try_get("binding")?,
        }
    }};
}

macro_rules! key_from_row {
    ($row:expr) => {{
        let row = $row;
        let hex_text: String = row.try_get("wrapped")?;
        WrappedKey {
            owner_id: row.try_get("owner_id")?,
            kek_id: row.try_get("kek_id")?,
            wrapped: hex::decode(&hex_text)
                .map_err(|_| Error::Corrupt("a wrapped data key is not hex".into()))?,
        }
    }};
}

#[async_trait]
impl ChunkStore for SqlStore {
    async fn pin(&self, p: &NewPin<'_>) -> Result<Pinned> {
        let pinned: Pinned;
        in_tx!(&self.db, |tx| {
            // A claimed chunk (refs -1) comes back under a new generation: its old object may be
            // deleted any moment, so the uploader writes a new one.
            let row = sqlx::query(
                "INSERT INTO chunks (owner_id, chunk_id, size, refs, generation, written, sealed, created_at) \
                 VALUES ($1, $2, $3, 1, $6, FALSE, $4, $5) \
                 ON CONFLICT (owner_id, chunk_id) DO UPDATE SET \
                   refs = CASE WHEN chunks.refs < 0 THEN 1 ELSE chunks.refs + 1 END, \
                   generation = CASE WHEN chunks.refs < 0 THEN chunks.generation + 1 ELSE chunks.generation END, \
                   written = CASE WHEN chunks.refs < 0 THEN FALSE ELSE chunks.written END, \
                   sealed = CASE WHEN chunks.refs < 0 THEN excluded.sealed ELSE chunks.sealed END \
                 RETURNING generation, written, sealed",
            )
            .bind(p.owner_id)
            .bind(p.chunk_id)
            .bind(to_i64(p.size))
            .bind(p.sealed)
            .bind(p.at)
            .bind(p.generation)
            .fetch_one(&mut *tx)
            .await?;
            pinned = Pinned {
                generation: row.try_get("generation")?,
                must_write: !row.try_get::<bool, _>("written")?,
                sealed: row.try_get("sealed")?,
            };
            sqlx::query(
                "INSERT INTO upload_pins (upload_id, owner_id, chunk_id, count, pinned_at) VALUES ($1, $2, $3, 1, $4) \
                 ON CONFLICT (upload_id, chunk_id) DO UPDATE SET count = upload_pins.count + 1",
            )
            .bind(p.upload_id)
            .bind(p.owner_id)
            .bind(p.chunk_id)
            .bind(p.at)
            .execute(&mut *tx)
            .await?
        });
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
        let size: u64 = chunks.iter().map(|c| c.size).sum();
        in_tx!(&self.db, |tx| {
            // Every occurrence must still be pinned: an upload swept as abandoned lost its pins,
            // and its chunks may be gone.
            let pinned: i64 = sqlx::query(
                "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) AS n FROM upload_pins WHERE upload_id = $1",
            )
            .bind(upload_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
            if pinned != chunks.len() as i64 {
                return Err(Error::NotFound);
            }
            sqlx::query("INSERT INTO contents (blob_key, owner_id, size, created_at, binding) VALUES ($1, $2, $3, $4, $5)")
                .bind(key)
                .bind(owner_id)
                .bind(to_i64(size))
                .bind(at)
                .bind(binding)
                .execute(&mut *tx)
                .await?;
            for (batch_no, batch) in chunks.chunks(INSERT_BATCH).enumerate() {
                let mut q = sqlx::QueryBuilder::new(
                    "INSERT INTO content_chunks (blob_key, seq, chunk_id, byte_offset, size) ",
                );
                q.push_values(batch.iter().enumerate(), |mut b, (i, c)| {
                    b.push_bind(key)
                        .push_bind((batch_no * INSERT_BATCH + i) as i64)
                        .push_bind(c.chunk_id.as_str())
                        .push_bind(to_i64(c.offset))
                        .push_bind(to_i64(c.size));
                });
                q.build().execute(&mut *tx).await?;
            }
            // The pins become the list's references (refs unchanged) and the chunks are known to
            // be written.
            sqlx::query(
                "UPDATE chunks SET written = TRUE WHERE owner_id = $1 AND written = FALSE \
                 AND chunk_id IN (SELECT chunk_id FROM upload_pins WHERE upload_id = $2)",
            )
            .bind(owner_id)
            .bind(upload_id)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM upload_pins WHERE upload_id = $1")
                .bind(upload_id)
                .execute(&mut *tx)
                .await?
        });
        Ok(())
    }

    async fn release(&self, upload_id: &str) -> Result<()> {
        in_tx!(&self.db, |tx| {
            sqlx::query(
                "UPDATE chunks SET refs = refs - (SELECT p.count FROM upload_pins p \
                   WHERE p.upload_id = $1 AND p.owner_id = chunks.owner_id AND p.chunk_id = chunks.chunk_id) \
                 WHERE EXISTS (SELECT 1 FROM upload_pins p \
                   WHERE p.upload_id = $1 AND p.owner_id = chunks.owner_id AND p.chunk_id = chunks.chunk_id)",
            )
            .bind(upload_id)
            .execute(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM upload_pins WHERE upload_id = $1")
                .bind(upload_id)
                .execute(&mut *tx)
                .await?
        });
        Ok(())
    }

    async fn stale_uploads(&self, before: i64) -> Result<Vec<String>> {
        on_db!(&self.db, pool => {
            let rows = sqlx::query("SELECT DISTINCT upload_id FROM upload_pins WHERE pinned_at < $1 LIMIT 1000")
                .bind(before)
                .fetch_all(pool)
                .await?;
            rows.iter().map(|r| Ok(r.try_get("upload_id")?)).collect()
        })
    }

    async fn content(&self, key: &str) -> Result<Option<ContentRecord>> {
        on_db!(&self.db, pool => {
            match sqlx::query("SELECT blob_key, owner_id, size, created_at, binding FROM contents WHERE blob_key = $1")
                .bind(key)
                .fetch_optional(pool)
                .await?
            {
                Some(row) => Ok(Some(content_from_row!(&row))),
                None => Ok(None),
            }
        })
    }

    async fn chunks_of(&self, key: &str, start: u64, end: u64) -> Result<Vec<StoredChunk>> {
        on_db!(&self.db, pool => {
            let rows = sqlx::query(
                "SELECT cc.chunk_id, cc.byte_offset, cc.size, c.generation, c.sealed \
                 FROM content_chunks cc JOIN contents ct ON ct.blob_key = cc.blob_key \
                 LEFT JOIN chunks c ON c.owner_id = ct.owner_id AND c.chunk_id = cc.chunk_id \
                 WHERE cc.blob_key = $1 AND cc.byte_offset < $3 AND cc.byte_offset + cc.size > $2 \
                 ORDER BY cc.seq",
            )
            .bind(key)
            .bind(to_i64(start))
            .bind(to_i64(end))
            .fetch_all(pool)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let chunk_id: String = r.try_get("chunk_id")?;
                let Some(generation) = r.try_get::<Option<i64>, _>("generation")? else {
                    return Err(Error::Corrupt(format!(
                        "content {key} lists chunk {chunk_id}, which the index does not have"
                    )));
                };
                let offset: i64 = r.try_get("byte_offset")?;
                let size: i64 = r.try_get("size")?;
                out.push(StoredChunk {
                    chunk_id,
                    offset: offset.max(0) as u64,
                    size: size.max(0) as u64,
                    generation,
                    sealed: r.try_get::<Option<bool>, _>("sealed")?.unwrap_or(false),
                });
            }
            Ok(out)
        })
    }

    async fn drop_content(&self, key: &str) -> Result<Vec<(String, String)>> {
        let freed: Vec<(String, String)>;
        in_tx!(&self.db, |tx| {
            let owner: Option<String> =
                sqlx::query("SELECT owner_id FROM contents WHERE blob_key = $1")
                    .bind(key)
                    .fetch_optional(&mut *tx)
                    .await?
                    .map(|r| r.try_get("owner_id"))
                    .transpose()?;
            let Some(owner) = owner else {
                return Ok(Vec::new());
            };
            let rows = sqlx::query(
                "UPDATE chunks SET refs = refs - (SELECT COUNT(*) FROM content_chunks cc \
                   WHERE cc.blob_key = $1 AND cc.chunk_id = chunks.chunk_id) \
                 WHERE owner_id = $2 AND chunk_id IN (SELECT chunk_id FROM content_chunks WHERE blob_key = $1) \
                 RETURNING chunk_id, refs",
            )
            .bind(key)
            .bind(&owner)
            .fetch_all(&mut *tx)
            .await?;
            let mut gone = Vec::new();
            for r in &rows {
                if r.try_get::<i64, _>("refs")? <= 0 {
                    gone.push((owner.clone(), r.try_get::<String, _>("chunk_id")?));
                }
            }
            freed = gone;
            sqlx::query("DELETE FROM content_chunks WHERE blob_key = $1")
                .bind(key)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM contents WHERE blob_key = $1")
                .bind(key)
                .execute(&mut *tx)
                .await?
        });
        Ok(freed)
    }

    async fn contents_before(&self, before: i64, limit: u32) -> Result<Vec<ContentRecord>> {
        on_db!(&self.db, pool => {
            let rows = sqlx::query(
                "SELECT blob_key, owner_id, size, created_at, binding FROM contents WHERE created_at <= $1 ORDER BY created_at LIMIT $2",
            )
            .bind(before)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(content_from_row!(r));
            }
            Ok(out)
        })
    }

    async fn claim(&self, only: Option<&[(String, String)]>, limit: u32) -> Result<Vec<Claimed>> {
        let mut claimed = Vec::new();
        match only {
            Some(list) => {
                for (owner, chunk) in list.iter().take(limit as usize) {
                    in_tx!(&self.db, |tx| {
                        let row = sqlx::query(
                            "UPDATE chunks SET refs = -1 WHERE owner_id = $1 AND chunk_id = $2 AND refs <= 0 \
                             RETURNING owner_id, chunk_id, generation",
                        )
                        .bind(owner)
                        .bind(chunk)
                        .fetch_optional(&mut *tx)
                        .await?;
                        if let Some(r) = row {
                            claimed.push(Claimed {
                                owner_id: r.try_get("owner_id")?,
                                chunk_id: r.try_get("chunk_id")?,
                                generation: r.try_get("generation")?,
                            });
                        }
                    });
                }
            }
            None => {
                in_tx!(&self.db, |tx| {
                    let rows = sqlx::query(
                        // `refs <= 0` again outside the subquery: PostgreSQL re-checks it on
                        // the row's latest version, so a chunk pinned after the subquery ran
                        // is left alone.
                        "UPDATE chunks SET refs = -1 WHERE (owner_id, chunk_id) IN \
                           (SELECT owner_id, chunk_id FROM chunks WHERE refs <= 0 LIMIT $1) \
                         AND refs <= 0 \
                         RETURNING owner_id, chunk_id, generation",
                    )
                    .bind(i64::from(limit))
                    .fetch_all(&mut *tx)
                    .await?;
                    for r in &rows {
                        claimed.push(Claimed {
                            owner_id: r.try_get("owner_id")?,
                            chunk_id: r.try_get("chunk_id")?,
                            generation: r.try_get("generation")?,
                        });
                    }
                });
            }
        }
        Ok(claimed)
    }

    async fn forget(&self, c: &Claimed) -> Result<()> {
        in_tx!(&self.db, |tx| {
            sqlx::query(
                "DELETE FROM chunks WHERE owner_id = $1 AND chunk_id = $2 AND refs = -1 AND generation = $3",
            )
            .bind(&c.owner_id)
            .bind(&c.chunk_id)
            .bind(c.generation)
            .execute(&mut *tx)
            .await?
        });
        Ok(())
    }

    async fn usage(&self, owner_id: &str) -> Result<ChunkUsage> {
        on_db!(&self.db, pool => {
            let row = sqlx::query(
                "SELECT CAST(COUNT(*) AS BIGINT) AS n, CAST(COALESCE(SUM(size), 0) AS BIGINT) AS bytes \
                 FROM chunks WHERE owner_id = $1 AND refs > 0",
            )
            .bind(owner_id)
            .fetch_one(pool)
            .await?;
            let n: i64 = row.try_get("n")?;
            let bytes: i64 = row.try_get("bytes")?;
            Ok(ChunkUsage { chunks: n.max(0) as u64, bytes: bytes.max(0) as u64 })
        })
    }

    async fn data_key(&self, owner_id: &str) -> Result<Option<WrappedKey>> {
        on_db!(&self.db, pool => {
            match sqlx::query("SELECT owner_id, kek_id, wrapped FROM data_keys WHERE owner_id = $1")
                .bind(owner_id)
                .fetch_optional(pool)
                .await?
            {
                Some(row) => Ok(Some(key_from_row!(&row))),
                None => Ok(None),
            }
        })
    }

    async fn put_data_key(&self, key: &WrappedKey, at: i64) -> Result<WrappedKey> {
        in_tx!(&self.db, |tx| {
            sqlx::query(
                "INSERT INTO data_keys (owner_id, kek_id, wrapped, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) \
                 ON CONFLICT (owner_id) DO NOTHING",
            )
            .bind(&key.owner_id)
            .bind(&key.kek_id)
            .bind(hex::encode(&key.wrapped))
            .bind(at)
            .execute(&mut *tx)
            .await?
        });
        self.data_key(&key.owner_id)
            .await?
            .ok_or_else(|| Error::Backend("the data key vanished".into()))
    }

    async fn keys_not_under(&self, kek_id: &str, limit: u32) -> Result<Vec<WrappedKey>> {
        on_db!(&self.db, pool => {
            let rows = sqlx::query("SELECT owner_id, kek_id, wrapped FROM data_keys WHERE kek_id <> $1 ORDER BY owner_id LIMIT $2")
                .bind(kek_id)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                out.push(key_from_row!(r));
            }
            Ok(out)
        })
    }

    async fn rewrap(&self, key: &WrappedKey, old_kek_id: &str, at: i64) -> Result<bool> {
        let n: u64;
        in_tx!(&self.db, |tx| {
            n = sqlx::query(
                "UPDATE data_keys SET kek_id = $1, wrapped = $2, updated_at = $3 WHERE owner_id = $4 AND kek_id = $5",
            )
            .bind(&key.kek_id)
            .bind(hex::encode(&key.wrapped))
            .bind(at)
            .bind(&key.owner_id)
            .bind(old_kek_id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }
}
