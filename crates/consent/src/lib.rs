#![doc = include_str!("../README.md")]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]

mod access;
mod canonical;
mod clock;
mod erasure;
mod error;
mod events;
mod export;
mod ledger;
mod purpose;
mod receipt;
mod record;
mod status;
mod store;
mod subject;

#[cfg(any(feature = "conformance", test))]
pub mod conformance;

pub use crate::access::{AccessAttribute, AccessGrant};
pub use crate::clock::{Clock, ManualClock, SystemClock};
pub use crate::erasure::{
    ErasureHandler, ErasureProof, ErasureReport, ErasureStatus, HandlerError, HandlerOutcome,
    HandlerProof, HandlerReport,
};
pub use crate::error::{Error, Result, StorageError};
pub use crate::events::{ConsentEvent, ConsentObserver};
pub use crate::export::{AccessGrantEntry, EXPORT_FORMAT, ExportContributor, ExportDocument};
pub use crate::ledger::{ConsentLedger, ConsentLedgerBuilder, Grant, Withdrawal};
pub use crate::purpose::{LegalBasis, PolicyVersion, Purpose};
pub use crate::receipt::{
    Controller, Delegation, RECEIPT_VERSION, Receipt, ReceiptPurpose, ReceiptService,
};
pub use crate::record::{
    BreakKind, ChainRecord, ChainVerification, GENESIS_HASH, RecordHeader, RecordKind,
};
pub use crate::status::{ConsentState, ConsentStatus};
pub use crate::store::memory::MemoryConsentStore;
#[cfg(feature = "postgres")]
pub use crate::store::postgres::PostgresConsentStore;
#[cfg(feature = "sqlite")]
pub use crate::store::sqlite::SqliteConsentStore;
pub use crate::store::{ConsentStore, ConsentStoreExt, DynConsentStore};
pub use crate::subject::LedgerKey;
pub use jiff::Timestamp;
