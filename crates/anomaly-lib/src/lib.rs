#![doc = include_str!("../README.md")]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]

mod alert;
mod baseline;
mod config;
mod error;
pub mod eval;
mod event;
mod features;
mod hash;
mod model;
mod profile;
mod risk;
mod sketch;
mod table;
mod user_agent;

pub use crate::{
    alert::{Alert, AlertSink},
    config::{Config, Thresholds, Weights},
    error::{Error, Result, SnapshotFormatError},
    event::{Event, EventKind, FileAction, GeoPoint, Outcome, Timestamp},
    model::{MAX_USER_ID_BYTES, Model, SNAPSHOT_FORMAT_VERSION},
    risk::{Feature, Finding, Level, Reason, Risk},
};
