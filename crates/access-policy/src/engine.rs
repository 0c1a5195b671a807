//! The policy decision point: a validated policy set behind an atomic swap.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use arc_swap::ArcSwap;
use cedar_policy::{
    AuthorizationError, Authorizer, Entities, EvalResult, Expression, PolicyId, PolicySet, Schema,
};
use rayon::prelude::*;

use crate::bundle::PolicyBundle;
use crate::clock::{Clock, SystemClock, Timestamp};
use crate::decision::{Decision, PolicyError, PolicyInfo};
use crate::error::{Error, Result};
use crate::provider::EntityProvider;
use crate::request::{EntitiesBuilder, Request, RequestBuilder};
use crate::sink::{DecisionEvent, DecisionSink};

/// Batches at least this long are decided in parallel (rayon); shorter ones in a loop, where
/// thread hand-off would cost more than it saves.
pub const PARALLEL_THRESHOLD: usize = 64;

/// One installed generation: what readers see, immutable once published.
#[derive(Debug)]
pub(crate) struct Live {
    pub(crate) version: u64,
    pub(crate) bundle: PolicyBundle,
    pub(crate) info: HashMap<PolicyId, Arc<PolicyInfo>>,
    pub(crate) has_expiring: bool,
    pub(crate) explain: OnceLock<Arc<crate::explain::Plans>>,
    /// Present when the set has many template links: decisions then use per-request slices.
    pub(crate) links: Option<crate::slice::LinkIndex>,
}

impl Live {
    fn new(bundle: PolicyBundle, version: u64) -> Self {
        let mut info = HashMap::new();
        let mut has_expiring = false;
        for p in bundle.policies.policies() {
            let template = p.template_id().map(ToString::to_string);
            let own = |(k, v): (&str, &str)| (k.to_owned(), v.to_owned());
            let annotations = match p.template_id().and_then(|t| bundle.policies.template(t)) {
                Some(t) => t.annotations().map(own).collect(),
                None => p.annotations().map(own).collect(),
            };
            let expires_at = bundle
                .links
                .get(&p.id().to_string())
                .and_then(|l| l.expires_at);
            has_expiring |= expires_at.is_some();
            info.insert(
                p.id().clone(),
                Arc::new(PolicyInfo {
                    id: p.id().to_string(),
                    effect: p.effect().into(),
                    template,
                    annotations,
                    expires_at,
                }),
            );
        }
        Self {
            version,
            links: crate::slice::LinkIndex::build(&bundle.policies),
            bundle,
            info,
            has_expiring,
            explain: OnceLock::new(),
        }
    }
}

/// Frees a replaced generation on the writer's thread. Readers that loaded it before the swap
/// still hold clones for the length of one decision; waiting for them (briefly) means a reader
/// never ends up paying to free a large policy set. After `RETIRE_WAIT` the writer stops waiting
/// and the last reader frees it, as before.
fn retire(old: Arc<Live>) {
    const RETIRE_WAIT: std::time::Duration = std::time::Duration::from_secs(1);
    let start = Instant::now();
    while Arc::strong_count(&old) > 1 && start.elapsed() < RETIRE_WAIT {
        std::thread::yield_now();
    }
    drop(old);
}

/// Builds a [`PolicyEngine`] with a clock or a decision sink.
#[derive(Debug)]
pub struct EngineBuilder {
    bundle: PolicyBundle,
    clock: Arc<dyn Clock>,
    sink: Option<Arc<dyn DecisionSink>>,
}

impl EngineBuilder {
    /// The clock used for link expiry when a request's context has no `now`.
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Hands every decision to `sink`.
    #[must_use]
    pub fn decision_sink(mut self, sink: Arc<dyn DecisionSink>) -> Self {
        self.sink = Some(sink);
        self
    }

    /// Validates the bundle and builds the engine (version 1).
    pub fn build(self) -> Result<PolicyEngine> {
        self.bundle.validate()?;
        Ok(PolicyEngine {
            live: ArcSwap::from_pointee(Live::new(self.bundle, 1)),
            authorizer: Authorizer::new(),
            clock: self.clock,
            sink: self.sink,
            writer: Mutex::new(()),
        })
    }
}

/// A Cedar policy decision point.
///
/// Holds a schema and a validated policy set (with template links) behind an atomic pointer:
/// deciding takes a snapshot without locks, so readers never block, and
/// [`PolicyEngine::replace`] validates a new bundle before swapping it in, so a bad update leaves
/// the live set untouched. Share it as `Arc<PolicyEngine>`.
pub struct PolicyEngine {
    live: ArcSwap<Live>,
    authorizer: Authorizer,
    clock: Arc<dyn Clock>,
    sink: Option<Arc<dyn DecisionSink>>,
    writer: Mutex<()>,
}

impl std::fmt::Debug for PolicyEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let live = self.live.load();
        f.debug_struct("PolicyEngine")
            .field("version", &live.version)
            .field("policies", &live.bundle.policies.num_of_policies())
            .field("templates", &live.bundle.policies.num_of_templates())
            .field("clock", &self.clock)
            .field("sink", &self.sink)
            .finish()
    }
}

fn now_expression() -> &'static Expression {
    static NOW: OnceLock<Expression> = OnceLock::new();
    NOW.get_or_init(|| {
        #[expect(clippy::expect_used, reason = "a constant, valid Cedar expression")]
        Expression::from_str(
            r#"context.now.durationSince(datetime("1970-01-01")).toMilliseconds()"#,
        )
        .expect("valid expression")
    })
}

impl PolicyEngine {
    /// Validates `bundle` and builds an engine over it (version 1).
    pub fn new(bundle: PolicyBundle) -> Result<Self> {
        Self::builder(bundle).build()
    }

    /// A builder, for a clock or a decision sink.
    pub fn builder(bundle: PolicyBundle) -> EngineBuilder {
        EngineBuilder {
            bundle,
            clock: Arc::new(SystemClock),
            sink: None,
        }
    }

    /// Validates `bundle` and, if it passes, makes it live; returns the new version.
    /// On failure ([`Error::Validation`] with the validator's messages) the live set is unchanged.
    pub fn replace(&self, bundle: PolicyBundle) -> Result<u64> {
        bundle.validate()?;
        // Writers serialise so versions stay strictly increasing; readers never take this lock.
        let _guard = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let version = self.live.load().version + 1;
        let old = self.live.swap(Arc::new(Live::new(bundle, version)));
        retire(old);
        Ok(version)
    }

    /// Version of the live set (1 at construction, +1 per successful replace).
    pub fn version(&self) -> u64 {
        self.live.load().version
    }

    /// A copy of the live bundle, to edit and pass back to [`PolicyEngine::replace`].
    pub fn bundle(&self) -> PolicyBundle {
        self.live.load().bundle.clone()
    }

    /// The live schema.
    pub fn schema(&self) -> Arc<Schema> {
        self.live.load().bundle.schema.clone()
    }

    /// The live policies (static and linked).
    pub fn policies(&self) -> Vec<Arc<PolicyInfo>> {
        let mut all: Vec<_> = self.live.load().info.values().cloned().collect();
        all.sort_by(|a, b| a.id.cmp(&b.id));
        all
    }

    pub(crate) fn live(&self) -> Arc<Live> {
        self.live.load_full()
    }

    /// Builds a request checked against the live schema.
    pub fn request(&self, builder: RequestBuilder) -> Result<Request> {
        builder.build(&self.live.load().bundle.schema)
    }

    /// Builds entities checked against the live schema.
    pub fn entities(&self, builder: EntitiesBuilder) -> Result<Entities> {
        builder.build(&self.live.load().bundle.schema)
    }

    /// Decides one request over `entities`.
    pub fn authorize(&self, request: &Request, entities: &Entities) -> Decision {
        let live = self.live.load();
        match &self.sink {
            None => self.decide(&live, request, entities),
            Some(sink) => {
                let start = Instant::now();
                let decision = self.decide(&live, request, entities);
                sink.record(&DecisionEvent {
                    request,
                    decision: &decision,
                    duration: start.elapsed(),
                });
                decision
            }
        }
    }

    /// Decides many requests over one entity set against one snapshot of the policies;
    /// results are in request order. Large batches run in parallel.
    pub fn authorize_batch(&self, requests: &[Request], entities: &Entities) -> Vec<Decision> {
        let live = self.live.load_full();
        let one = |r: &Request| match &self.sink {
            None => self.decide(&live, r, entities),
            Some(sink) => {
                let start = Instant::now();
                let decision = self.decide(&live, r, entities);
                sink.record(&DecisionEvent {
                    request: r,
                    decision: &decision,
                    duration: start.elapsed(),
                });
                decision
            }
        };
        if requests.len() >= PARALLEL_THRESHOLD {
            requests.par_iter().map(one).collect()
        } else {
            requests.iter().map(one).collect()
        }
    }

    /// Fetches the entities for `request` from `provider`, then decides.
    pub async fn authorize_with(
        &self,
        provider: &dyn EntityProvider,
        request: &Request,
    ) -> Result<Decision> {
        let schema = self.schema();
        let entities = provider.entities_for(request, &schema).await?;
        Ok(self.authorize(request, &entities))
    }

    pub(crate) fn decide(&self, live: &Live, request: &Request, entities: &Entities) -> Decision {
        match &live.links {
            Some(index) => {
                let slice = index.slice(request, entities);
                self.decide_over(live, &slice, request, entities)
            }
            None => self.decide_over(live, &live.bundle.policies, request, entities),
        }
    }

    /// Decides against `policies`, which must be `live`'s set or a slice of it.
    pub(crate) fn decide_over(
        &self,
        live: &Live,
        policies: &PolicySet,
        request: &Request,
        entities: &Entities,
    ) -> Decision {
        let response = self
            .authorizer
            .is_authorized(&request.inner, policies, entities);
        let mut allowed = response.decision() == cedar_policy::Decision::Allow;
        let mut policies: Vec<Arc<PolicyInfo>> = response
            .diagnostics()
            .reason()
            .filter_map(|id| live.info.get(id).cloned())
            .collect();
        // Cedar reports reasons from a hash set; a stable order keeps decisions comparable.
        policies.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        let errors = response
            .diagnostics()
            .errors()
            .map(|e| {
                let AuthorizationError::PolicyEvaluationError(pe) = e;
                PolicyError {
                    policy: pe.policy_id().to_string(),
                    message: pe.inner().to_string(),
                }
            })
            .collect();
        let mut expired_links = Vec::new();
        // Only permits can expire and forbids win, so dropping expired permits from an allow is
        // exactly the decision the set without them would give.
        if allowed && live.has_expiring && policies.iter().any(|p| p.expires_at.is_some()) {
            let now = self.now_for(request, entities);
            policies.retain(|p| match p.expires_at {
                Some(at) if now >= at => {
                    expired_links.push(p.id.clone());
                    false
                }
                _ => true,
            });
            allowed = !policies.is_empty();
        }
        Decision {
            allowed,
            policies,
            errors,
            expired_links,
            version: live.version,
        }
    }

    /// The request's `context.now` if it has a datetime there, else the engine's clock.
    pub(crate) fn now_for(&self, request: &Request, entities: &Entities) -> Timestamp {
        match cedar_policy::eval_expression(&request.inner, entities, now_expression()) {
            Ok(EvalResult::Long(ms)) => {
                Timestamp::from_millis(ms).unwrap_or_else(|_| self.clock.now())
            }
            _ => self.clock.now(),
        }
    }

    /// Looks up a live policy's info by id.
    pub fn policy(&self, id: &str) -> Result<Arc<PolicyInfo>> {
        self.live
            .load()
            .info
            .get(&PolicyId::new(id))
            .cloned()
            .ok_or_else(|| Error::NotFound(format!("policy `{id}`")))
    }
}
