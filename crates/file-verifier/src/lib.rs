#![doc = include_str!("../README.md")]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod algorithm;
mod chunk_map;
mod error;
mod io;
mod key;
mod manifest;
mod sign;
mod signature;

pub use crate::algorithm::Algorithm;
pub use crate::chunk_map::ChunkMap;
pub use crate::error::{Error, Result};
pub use crate::key::{KeyId, KeyRing, SecretKey};
pub use crate::manifest::{
    Change, Entry, EntryKind, Manifest, ManifestReport, Modified, Unreadable,
};
pub use crate::sign::{Signer, Verifier};
pub use crate::signature::Signature;
