use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::algorithm::{MAC_LEN, MacBytes, MacState, macs_equal, truncate};
use crate::io::{read_full, read_stable_file};
use crate::signature::{decode_mac, encode_mac};
use crate::{Algorithm, Error, KeyId, KeyRing, Result, SecretKey};

const JSON_FORMAT: &str = "strongroom-chunk-map/1";
const BINARY_MAGIC: &[u8; 4] = b"SRCM";
const BINARY_VERSION: u8 = 1;
// Domain separation: a chunk MAC can never be replayed as a root MAC or as a whole-file
// signature, and the index in every chunk MAC stops chunks from being reordered.
const CHUNK_DOMAIN: &[u8] = b"strongroom chunk v1\0";
const ROOT_DOMAIN: &[u8] = b"strongroom chunk-map v1\0";

/// Per-chunk MACs under one root MAC, so a byte range can be verified by reading only the chunks
/// it touches, and a damaged file reports which chunks differ.
///
/// The root MAC covers the algorithm, chunk size, file length and every chunk MAC, so the map is
/// itself tamper-evident: [`KeyRing::verify_chunk_map`] checks it before any chunk is trusted.
///
/// ```
/// use strongroom_file_verifier::{ChunkMap, KeyRing, SecretKey};
/// use std::io::Cursor;
///
/// let mut ring = KeyRing::new();
/// ring.insert_signing_key("k1", SecretKey::generate()?)?;
/// let data = vec![7u8; 100_000];
/// let map = ring.chunk_map_reader(&data[..], 4096)?;
/// assert_eq!(map.chunk_count(), 25);
///
/// // Store the map anywhere (JSON or compact binary), then check a slice of the file.
/// let map = ChunkMap::from_bytes(&map.to_bytes())?;
/// ring.verify_range(&map, Cursor::new(&data), 10_000..20_000)?;
/// # Ok::<(), strongroom_file_verifier::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkMap {
    algorithm: Algorithm,
    kid: KeyId,
    chunk_size: u32,
    file_len: u64,
    chunks: Vec<MacBytes>,
    root: MacBytes,
}

impl ChunkMap {
    /// The smallest chunk size accepted.
    pub const MIN_CHUNK_SIZE: u32 = 4 * 1024;
    /// The largest chunk size accepted.
    pub const MAX_CHUNK_SIZE: u32 = 64 * 1024 * 1024;
    /// A good default: 1 MiB chunks cost 32 bytes of map per MiB of file.
    pub const DEFAULT_CHUNK_SIZE: u32 = 1024 * 1024;

    /// The algorithm of every MAC in the map.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The key that made the map.
    pub fn kid(&self) -> &KeyId {
        &self.kid
    }

    /// Bytes per chunk (the last chunk may be shorter).
    pub fn chunk_size(&self) -> u32 {
        self.chunk_size
    }

    /// Length of the file the map describes.
    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// Number of chunks.
    pub fn chunk_count(&self) -> u64 {
        self.chunks.len() as u64
    }

    /// Indices of the chunks that hold the bytes of `range`.
    pub fn chunks_for_range(&self, range: Range<u64>) -> Result<Range<u64>> {
        if range.start > range.end || range.end > self.file_len {
            return Err(Error::RangeOutOfBounds {
                start: range.start,
                end: range.end,
                len: self.file_len,
            });
        }
        if range.is_empty() {
            return Ok(0..0);
        }
        let size = u64::from(self.chunk_size);
        Ok(range.start / size..(range.end - 1) / size + 1)
    }

    /// The JSON form (`strongroom-chunk-map/1`), MACs in base64url.
    pub fn to_json(&self) -> String {
        let json = JsonChunkMap {
            format: JSON_FORMAT.into(),
            algorithm: self.algorithm,
            kid: self.kid.to_string(),
            chunk_size: self.chunk_size,
            file_len: self.file_len,
            root: encode_mac(&self.root),
            chunks: self.chunks.iter().map(encode_mac).collect(),
        };
        serde_json::to_string_pretty(&json).expect("a chunk map always serialises")
    }

    /// Parses and checks the JSON form. The MACs are checked against a key by
    /// [`KeyRing::verify_chunk_map`], not here.
    pub fn from_json(text: &str) -> Result<Self> {
        let json: JsonChunkMap =
            serde_json::from_str(text).map_err(|e| Error::malformed("chunk map", e.to_string()))?;
        if json.format != JSON_FORMAT {
            return Err(Error::UnknownVersion {
                version: truncate(&json.format),
            });
        }
        let chunks = json
            .chunks
            .iter()
            .map(|c| decode_mac(c))
            .collect::<Result<Vec<_>>>()?;
        Self::checked(
            json.algorithm,
            KeyId::new(json.kid)?,
            json.chunk_size,
            json.file_len,
            chunks,
            decode_mac(&json.root)?,
        )
    }

    /// The compact binary form: 32 bytes per chunk plus a small header.
    pub fn to_bytes(&self) -> Vec<u8> {
        let kid = self.kid.as_str().as_bytes();
        let mut out = Vec::with_capacity(64 + kid.len() + MAC_LEN * (self.chunks.len() + 1));
        out.extend_from_slice(BINARY_MAGIC);
        out.push(BINARY_VERSION);
        out.push(algorithm_code(self.algorithm));
        out.push(kid.len() as u8); // KeyId guarantees 1..=64 bytes
        out.extend_from_slice(kid);
        out.extend_from_slice(&self.chunk_size.to_be_bytes());
        out.extend_from_slice(&self.file_len.to_be_bytes());
        out.extend_from_slice(&(self.chunks.len() as u64).to_be_bytes());
        out.extend_from_slice(&self.root);
        for chunk in &self.chunks {
            out.extend_from_slice(chunk);
        }
        out
    }

    /// Parses and checks the compact binary form.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut input = Bytes(bytes);
        if input.take(4)? != BINARY_MAGIC {
            return Err(Error::malformed(
                "chunk map",
                "not a binary chunk map (bad magic)",
            ));
        }
        let version = input.take(1)?[0];
        if version != BINARY_VERSION {
            return Err(Error::UnknownVersion {
                version: version.to_string(),
            });
        }
        let algorithm = match input.take(1)?[0] {
            1 => Algorithm::HmacSha256,
            2 => Algorithm::Blake3Keyed,
            other => {
                return Err(Error::UnknownAlgorithm {
                    algorithm: format!("code {other}"),
                });
            }
        };
        let kid_len = usize::from(input.take(1)?[0]);
        let kid = std::str::from_utf8(input.take(kid_len)?)
            .map_err(|_| Error::malformed("chunk map", "key id is not UTF-8"))?;
        let kid = KeyId::new(kid)?;
        let chunk_size = u32::from_be_bytes(input.array()?);
        let file_len = u64::from_be_bytes(input.array()?);
        let count = u64::from_be_bytes(input.array()?);
        let root: MacBytes = input.array()?;
        let expected_rest = count.checked_mul(MAC_LEN as u64);
        if expected_rest != Some(input.0.len() as u64) {
            return Err(Error::malformed(
                "chunk map",
                format!(
                    "header says {count} chunks but {} bytes follow",
                    input.0.len()
                ),
            ));
        }
        let chunks = input
            .0
            .chunks_exact(MAC_LEN)
            .map(|c| c.try_into().expect("exact chunks"))
            .collect();
        Self::checked(algorithm, kid, chunk_size, file_len, chunks, root)
    }

    fn checked(
        algorithm: Algorithm,
        kid: KeyId,
        chunk_size: u32,
        file_len: u64,
        chunks: Vec<MacBytes>,
        root: MacBytes,
    ) -> Result<Self> {
        check_chunk_size(chunk_size)?;
        let expected = file_len.div_ceil(u64::from(chunk_size));
        if chunks.len() as u64 != expected {
            return Err(Error::malformed(
                "chunk map",
                format!(
                    "{} chunks listed, but {file_len} bytes in chunks of {chunk_size} make {expected}",
                    chunks.len()
                ),
            ));
        }
        Ok(ChunkMap {
            algorithm,
            kid,
            chunk_size,
            file_len,
            chunks,
            root,
        })
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonChunkMap {
    format: String,
    algorithm: Algorithm,
    kid: String,
    chunk_size: u32,
    file_len: u64,
    root: String,
    chunks: Vec<String>,
}

/// A cursor over untrusted bytes whose reads fail instead of panicking.
struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        if self.0.len() < n {
            return Err(Error::malformed("chunk map", "truncated"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        Ok(self.take(N)?.try_into().expect("take returned N bytes"))
    }
}

fn algorithm_code(algorithm: Algorithm) -> u8 {
    match algorithm {
        Algorithm::HmacSha256 => 1,
        Algorithm::Blake3Keyed => 2,
    }
}

fn check_chunk_size(chunk_size: u32) -> Result<()> {
    if (ChunkMap::MIN_CHUNK_SIZE..=ChunkMap::MAX_CHUNK_SIZE).contains(&chunk_size) {
        Ok(())
    } else {
        Err(Error::malformed(
            "chunk map",
            format!(
                "chunk size {chunk_size} is outside {}..={}",
                ChunkMap::MIN_CHUNK_SIZE,
                ChunkMap::MAX_CHUNK_SIZE
            ),
        ))
    }
}

fn chunk_mac(algorithm: Algorithm, key: &SecretKey, index: u64, data: &[u8]) -> Result<MacBytes> {
    let mut mac = MacState::new(algorithm, key)?;
    mac.update(CHUNK_DOMAIN);
    mac.update(&index.to_be_bytes());
    mac.update(data);
    Ok(mac.finalize())
}

fn root_mac(
    algorithm: Algorithm,
    key: &SecretKey,
    chunk_size: u32,
    file_len: u64,
    chunks: &[MacBytes],
) -> Result<MacBytes> {
    let mut mac = MacState::new(algorithm, key)?;
    mac.update(ROOT_DOMAIN);
    mac.update(algorithm.name().as_bytes());
    mac.update(&[0]);
    mac.update(&chunk_size.to_be_bytes());
    mac.update(&file_len.to_be_bytes());
    mac.update(&(chunks.len() as u64).to_be_bytes());
    for chunk in chunks {
        mac.update(chunk);
    }
    Ok(mac.finalize())
}

impl KeyRing {
    /// Builds a chunk map of everything `reader` yields, with the signing key.
    pub fn chunk_map_reader(&self, mut reader: impl Read, chunk_size: u32) -> Result<ChunkMap> {
        check_chunk_size(chunk_size)?;
        let (kid, key) = self.signing_key()?;
        let algorithm = self.algorithm();
        let mut buf = vec![0u8; chunk_size as usize];
        let mut chunks = Vec::new();
        let mut file_len = 0u64;
        loop {
            let n = read_full(&mut reader, &mut buf)?;
            if n == 0 {
                break;
            }
            chunks.push(chunk_mac(algorithm, key, chunks.len() as u64, &buf[..n])?);
            file_len += n as u64;
            if n < buf.len() {
                break;
            }
        }
        let root = root_mac(algorithm, key, chunk_size, file_len, &chunks)?;
        Ok(ChunkMap {
            algorithm,
            kid: kid.clone(),
            chunk_size,
            file_len,
            chunks,
            root,
        })
    }

    /// Builds a chunk map of a file; fails with [`Error::ChangedWhileReading`] if the file is
    /// modified meanwhile.
    pub fn chunk_map_path(&self, path: impl AsRef<Path>, chunk_size: u32) -> Result<ChunkMap> {
        read_stable_file(path.as_ref(), |file, _| {
            let map = self.chunk_map_reader(file, chunk_size)?;
            let len = map.file_len;
            Ok((map, len))
        })
    }

    /// Checks the map's root MAC: the map was made by a key of this ring and not altered.
    pub fn verify_chunk_map(&self, map: &ChunkMap) -> Result<()> {
        let key = self.key(&map.kid)?;
        let root = root_mac(
            map.algorithm,
            key,
            map.chunk_size,
            map.file_len,
            &map.chunks,
        )?;
        if macs_equal(&root, &map.root) {
            Ok(())
        } else {
            Err(Error::Mismatch {
                kid: map.kid.to_string(),
            })
        }
    }

    /// Verifies the whole of `reader` against `map`, reporting every chunk that differs
    /// ([`Error::ChunksMismatch`]). Data past the map's length counts as a differing chunk at
    /// index `chunk_count()`.
    pub fn verify_chunks(&self, map: &ChunkMap, mut reader: impl Read) -> Result<()> {
        self.verify_chunk_map(map)?;
        let key = self.key(&map.kid)?;
        let mut buf = vec![0u8; map.chunk_size as usize];
        let mut bad = Vec::new();
        for (index, expected) in map.chunks.iter().enumerate() {
            let want = self.expected_chunk_len(map, index as u64);
            let n = read_full(&mut reader, &mut buf[..want])?;
            if n != want
                || !macs_equal(
                    &chunk_mac(map.algorithm, key, index as u64, &buf[..n])?,
                    expected,
                )
            {
                bad.push(index as u64);
            }
        }
        if read_full(&mut reader, &mut buf[..1])? != 0 {
            bad.push(map.chunk_count());
        }
        if bad.is_empty() {
            Ok(())
        } else {
            Err(Error::ChunksMismatch { chunks: bad })
        }
    }

    /// Verifies the bytes of `range` by reading only the chunks that hold them.
    pub fn verify_range<R: Read + Seek>(
        &self,
        map: &ChunkMap,
        mut reader: R,
        range: Range<u64>,
    ) -> Result<()> {
        self.verify_chunk_map(map)?;
        let indices = map.chunks_for_range(range)?;
        if indices.is_empty() {
            return Ok(());
        }
        let key = self.key(&map.kid)?;
        reader.seek(SeekFrom::Start(indices.start * u64::from(map.chunk_size)))?;
        let mut buf = vec![0u8; map.chunk_size as usize];
        let mut bad = Vec::new();
        for index in indices {
            let want = self.expected_chunk_len(map, index);
            let n = read_full(&mut reader, &mut buf[..want])?;
            let mac = chunk_mac(map.algorithm, key, index, &buf[..n])?;
            if n != want || !macs_equal(&mac, &map.chunks[index as usize]) {
                bad.push(index);
            }
        }
        if bad.is_empty() {
            Ok(())
        } else {
            Err(Error::ChunksMismatch { chunks: bad })
        }
    }

    fn expected_chunk_len(&self, map: &ChunkMap, index: u64) -> usize {
        let start = index * u64::from(map.chunk_size);
        (map.file_len - start).min(u64::from(map.chunk_size)) as usize
    }
}
