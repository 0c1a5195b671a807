//! The Strongroom reference server: the Strongroom crates composed into a file platform
//! (accounts, files, sharing, authorization, audit, observability), and its command-line client.
//!
//! The binary is `strongroom`; this library exists so that tests and embedders can build the
//! router ([`http::app`]) and the state ([`app::App`]) without a socket.

pub mod app;
pub mod attributes;
pub mod authz;
pub mod blobs;
pub mod cli;
pub mod clock;
pub mod config;
pub mod conn;
pub mod denials;
pub mod domain;
pub mod error;
pub mod http;
pub mod keys;
pub mod mail;
pub mod metrics;
pub mod ratelimit;
pub mod serve;
pub mod store;
pub mod tasks;
pub mod token;
