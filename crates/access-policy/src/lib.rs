#![doc = include_str!("../README.md")]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]

mod bundle;
mod clock;
mod decision;
mod engine;
mod error;
mod explain;
pub mod pack;
mod provider;
mod query;
mod request;
mod scope;
mod sink;
mod slice;
mod store;
mod testing;

#[cfg(any(feature = "conformance", test))]
pub mod conformance;

pub use crate::{
    bundle::{
        MAX_POLICY_TEXT_BYTES, PolicyBundle, PolicyDocument, TemplateLink, parse_schema,
        parse_schema_json,
    },
    clock::{Clock, ManualClock, SystemClock, Timestamp},
    decision::{Decision, Effect, PolicyError, PolicyInfo},
    engine::{EngineBuilder, PARALLEL_THRESHOLD, PolicyEngine},
    error::{Diagnostic, Error, Result},
    explain::{
        ClausePart, ClauseTrace, DEFAULT_MAX_CANDIDATES, Explanation, Outcome, PolicyTrace,
        SeenValue,
    },
    provider::{EntityProvider, MemoryEntityProvider},
    query::{LIST_PARALLEL_THRESHOLD, MAX_CANDIDATES},
    request::{
        EntitiesBuilder, EntityBuilder, MAX_ENTITIES, Request, RequestBuilder, entities_from_json,
        entity_uid, parse_uid, uid_json,
    },
    sink::{ChannelSink, DecisionEvent, DecisionRecord, DecisionSink, MemorySink},
    store::{
        DynPolicyStore, PolicyStore, StoreSnapshot, dir::DirPolicyStore, memory::MemoryPolicyStore,
        reload_if_changed,
    },
    testing::{CaseResult, Expect, TestCase, TestReport, TestSuite},
};

#[cfg(feature = "postgres")]
pub use crate::store::postgres::PostgresPolicyStore;
#[cfg(feature = "watch")]
pub use crate::store::spawn_reloader;
#[cfg(feature = "sqlite")]
pub use crate::store::sqlite::SqlitePolicyStore;

/// The Cedar crate this one is built on, re-exported so callers use the same version.
pub use cedar_policy;
