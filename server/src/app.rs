//! Builds the running server from its configuration: database, blobs, keys, policy engine,
//! sessions, audit log and the background tasks (outbox relay, orphan sweeper, metrics refresh).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rand::RngCore;
use strongroom_audit::{
    AuditEvent, AuditLog, ChainId, CheckpointSigner, DynEventPublisher, EventPublisher,
    InProcessBus, OutboxRelay, PostgresAuditStore, SqliteAuditStore,
};
use strongroom_file_verifier::{Algorithm, KeyRing as FileKeys, SecretKey};
use strongroom_session_store::{
    Algorithm as TokenAlgorithm, KeyRing as TokenKeys, PostgresSessionStore, SessionManager,
    SigningKey, SqliteSessionStore, TokenPolicy,
};
use zeroize::Zeroizing;

use crate::authz::Authorizer;
use crate::blobs::Blobs;
use crate::config::Config;
use crate::domain;
use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;
use crate::store::Db;

/// Why the server could not be built from its configuration: the part that failed, and why.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A setting is invalid (for a configuration not made by [`Config::load`], which checks).
    #[error("config: {0}")]
    Config(String),
    /// The data directory cannot be created or made private.
    #[error("data directory: {0}")]
    DataDir(String),
    /// The database cannot be reached or migrated.
    #[error("database: {0}")]
    Database(String),
    /// The object store is misconfigured.
    #[error("storage: {0}")]
    Storage(String),
    /// A key cannot be read, created or parsed.
    #[error("keys: {0}")]
    Keys(String),
    /// The session store or manager cannot start.
    #[error("sessions: {0}")]
    Sessions(String),
    /// The audit log cannot start.
    #[error("audit: {0}")]
    Audit(String),
    /// The event path (in-process bus, Kafka) cannot start.
    #[error("events: {0}")]
    Events(String),
    /// A policy (built in or from `auth.policy_dir`) is invalid.
    #[error("policy: {0}")]
    Policy(String),
    /// Outgoing mail (`[smtp]`) is misconfigured.
    #[error("smtp: {0}")]
    Mail(String),
}

/// Everything a request needs, shared by all of them.
#[derive(Debug)]
pub struct App {
    /// The configuration.
    pub config: Config,
    /// `sqlite` or `postgres`.
    db_kind: &'static str,
    /// Events that change no row (the audit outbox): readiness and backlog.
    pub events: Arc<crate::store::DynEventLog>,
    /// Blobs.
    pub blobs: Blobs,
    /// Policy decisions.
    pub authz: Arc<Authorizer>,
    /// Access and refresh tokens, sessions.
    pub sessions: Arc<SessionManager>,
    /// What the services decide and record with.
    pub guard: domain::Guard,
    /// Accounts, sign-in, sessions, administration.
    pub accounts: domain::Accounts,
    /// Files.
    pub files: domain::Files,
    /// Folders.
    pub folders: domain::Folders,
    /// Usage metering and its export.
    pub metering: domain::metering::Metering,
    /// Public links.
    pub links: domain::Links,
    /// Shares with users and groups.
    pub shares: domain::Shares,
    /// Groups.
    pub groups: domain::Groups,
    /// Teams and their spaces.
    pub teams: domain::Teams,
    /// Invitations to the platform and to teams.
    pub invitations: domain::Invitations,
    /// Webhook endpoints and their deliveries.
    pub webhooks: domain::Webhooks,
    /// Tag vocabularies and taggings.
    pub tags: domain::tags::Tags,
    /// Custom fields on files and team schemas.
    pub fields: domain::fields::Fields,
    /// Search over what a caller may read.
    pub search: domain::search::Search,
    /// Statistics of owners and of the platform.
    pub stats: domain::stats::Stats,
    /// Histories of files and folders.
    pub activity: domain::activity::Activity,
    /// Failed sign-ins: delays and locks.
    pub lockout: domain::lockout::Lockout,
    /// This process's webhook sender, if it sends.
    pub webhook_worker: Option<domain::webhooks::WebhookWorker>,
    /// The hash-chained audit log.
    pub audit: Arc<AuditLog>,
    /// Live event fan-out inside this process.
    pub bus: InProcessBus,
    /// This process's outbox relay, if it runs one.
    pub relay: Option<Arc<OutboxRelay>>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Request rate limits.
    pub limiter: RateLimiter,
    /// Which peers may name the client in `X-Forwarded-For`.
    pub proxies: crate::http::forwarded::Proxies,
    /// The one clock domain code reads.
    pub clock: Arc<dyn crate::clock::Clock>,
    /// Whether events also go to Kafka.
    pub kafka: bool,
    /// A client used only to check that the brokers answer (readiness).
    #[cfg(feature = "kafka")]
    kafka_probe: Option<KafkaProbe>,
}

/// A Kafka client kept only for readiness checks.
#[cfg(feature = "kafka")]
#[derive(Clone)]
struct KafkaProbe(Arc<rdkafka::producer::BaseProducer>);

#[cfg(feature = "kafka")]
impl std::fmt::Debug for KafkaProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KafkaProbe")
    }
}

/// What the app keeps its data in.
struct Backends {
    db_kind: &'static str,
    events: Arc<crate::store::DynEventLog>,
    users: Arc<crate::store::DynUserStore>,
    links: Arc<crate::store::DynLinkStore>,
    grants: Arc<crate::store::DynGrantStore>,
    groups: Arc<crate::store::DynGroupStore>,
    teams: Arc<crate::store::DynTeamStore>,
    invitations: Arc<crate::store::DynInvitationStore>,
    webhooks: Arc<crate::store::DynWebhookStore>,
    files: Arc<crate::store::DynFileStore>,
    folders: Arc<crate::store::DynFolderStore>,
    versions: Arc<crate::store::DynVersionStore>,
    chunks: Arc<crate::store::chunks::DynChunkStore>,
    tags: Arc<crate::store::DynTagStore>,
    fields: Arc<crate::store::DynFieldStore>,
    search: Arc<crate::store::DynSearchIndex>,
    stats: Arc<crate::store::DynStatsStore>,
    throttle: Arc<crate::store::DynThrottleStore>,
    usage: Arc<crate::store::usage::DynUsageLedger>,
    sessions: Arc<strongroom_session_store::DynSessionStore>,
    audit: Arc<strongroom_audit::DynAuditStore>,
    /// The outbox to relay from.
    outbox: Option<Arc<strongroom_audit::DynOutbox>>,
}

/// The sign-in rules of `[auth]`.
fn lockout_rules(auth: &crate::config::AuthConfig) -> domain::lockout::LockoutRules {
    use crate::store::throttle::Rules;
    domain::lockout::LockoutRules {
        account: Rules {
            free: auth.backoff_after_failures,
            base_secs: auth.backoff_base_secs,
            max_secs: auth.backoff_max_secs,
            lock_after: auth.lock_after_failures,
            forget_after_secs: auth.forget_failures_secs,
        },
        ip: Rules {
            free: auth.ip_backoff_after_failures,
            base_secs: auth.backoff_base_secs,
            max_secs: auth.ip_backoff_max_secs,
            lock_after: 0,
            forget_after_secs: auth.forget_failures_secs,
        },
    }
}

/// The shared state handlers receive.
pub type AppState = Arc<App>;

/// Publishes to several publishers in order; a failure fails the batch (the relay retries it,
/// and every consumer deduplicates by event id).
#[derive(Debug)]
struct FanOut(Vec<Arc<DynEventPublisher>>);

#[async_trait]
impl EventPublisher for FanOut {
    async fn publish(&self, events: &[AuditEvent]) -> strongroom_audit::Result<()> {
        for p in &self.0 {
            p.publish(events).await?;
        }
        Ok(())
    }
}

fn random_key(len: usize) -> Zeroizing<Vec<u8>> {
    let mut k = Zeroizing::new(vec![0u8; len]);
    rand::rng().fill_bytes(&mut k);
    k
}

impl App {
    /// Opens every store, loads or creates keys and wires the event path. Starts nothing.
    pub async fn build(config: Config) -> Result<App, BuildError> {
        App::build_with_clock(config, Arc::new(crate::clock::SystemClock)).await
    }

    /// Now, in microseconds since the epoch, from the app's clock.
    pub fn now(&self) -> i64 {
        self.clock.now_micros()
    }

    /// [`App::build`] with the given clock (tests move a [`crate::clock::ManualClock`]).
    pub async fn build_with_clock(
        config: Config,
        clock: Arc<dyn crate::clock::Clock>,
    ) -> Result<App, BuildError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            BuildError::DataDir(format!("cannot create {}: {e}", config.data_dir.display()))
        })?;
        let db = Db::connect(&config.database_url(), config.database.max_connections)
            .await
            .map_err(|e| BuildError::Database(e.to_string()))?;
        let (sessions, audit): (
            Arc<strongroom_session_store::DynSessionStore>,
            Arc<strongroom_audit::DynAuditStore>,
        ) = match &db {
            Db::Sqlite { pool, .. } => (
                Arc::new(
                    SqliteSessionStore::from_pool(pool.clone())
                        .await
                        .map_err(|e| BuildError::Sessions(e.to_string()))?,
                ),
                Arc::new(
                    SqliteAuditStore::new(pool.clone())
                        .await
                        .map_err(|e| BuildError::Audit(e.to_string()))?,
                ),
            ),
            Db::Postgres { pool, .. } => (
                Arc::new(
                    PostgresSessionStore::from_pool(pool.clone())
                        .await
                        .map_err(|e| BuildError::Sessions(e.to_string()))?,
                ),
                Arc::new(
                    PostgresAuditStore::new(pool.clone())
                        .await
                        .map_err(|e| BuildError::Audit(e.to_string()))?,
                ),
            ),
        };
        let outbox: Arc<strongroom_audit::DynOutbox> = match &db {
            Db::Sqlite { outbox, .. } => Arc::new(outbox.clone()),
            Db::Postgres { outbox, .. } => Arc::new(outbox.clone()),
        };
        let db_kind = match &db {
            Db::Sqlite { .. } => "sqlite",
            Db::Postgres { .. } => "postgres",
        };
        let store = Arc::new(crate::store::SqlStore::new(db));
        let backends = Backends {
            db_kind,
            events: store.clone(),
            users: store.clone(),
            links: store.clone(),
            grants: store.clone(),
            groups: store.clone(),
            teams: store.clone(),
            invitations: store.clone(),
            webhooks: store.clone(),
            files: store.clone(),
            folders: store.clone(),
            versions: store.clone(),
            chunks: store.clone(),
            tags: store.clone(),
            fields: store.clone(),
            search: store.clone(),
            stats: store.clone(),
            throttle: store.clone(),
            usage: store,
            sessions,
            audit,
            outbox: Some(outbox),
        };
        App::assemble(config, clock, backends).await
    }

    async fn assemble(
        config: Config,
        clock: Arc<dyn crate::clock::Clock>,
        backends: Backends,
    ) -> Result<App, BuildError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            BuildError::DataDir(format!("cannot create {}: {e}", config.data_dir.display()))
        })?;
        crate::keys::make_private(&config.data_dir).map_err(|e| {
            BuildError::DataDir(format!("cannot secure {}: {e}", config.data_dir.display()))
        })?;
        let mut blobs =
            Blobs::open(&config.storage_url(), &config.storage).map_err(BuildError::Storage)?;
        let keys_dir = config.keys_dir();
        // Data keys (with dedup) and webhook secrets are wrapped by these.
        let keks = Arc::new(
            crate::blobs::seal::Keks::open(keys_dir.clone())
                .map_err(|e| BuildError::Keys(format!("key-encryption key: {e}")))?,
        );
        if config.storage.dedup {
            let keys = crate::blobs::seal::DataKeys::new(keks.clone(), backends.chunks.clone());
            blobs = blobs.with_chunks(
                backends.chunks.clone(),
                keys,
                config.storage.encrypt,
                clock.clone(),
            );
        }

        let (seed, _) =
            crate::keys::load_or_create(&keys_dir, "file-signing.key", || random_key(32))
                .map_err(|e| BuildError::Keys(format!("file signing key: {e}")))?;
        let mut verifier = FileKeys::with_algorithm(Algorithm::Blake3Keyed);
        verifier
            .insert_signing_key(
                "k1",
                SecretKey::from_bytes(&seed).map_err(|e| BuildError::Keys(e.to_string()))?,
            )
            .map_err(|e| BuildError::Keys(e.to_string()))?;

        let (der, _) = crate::keys::load_or_create(&keys_dir, "token-signing.pk8", || {
            SigningKey::generate(TokenAlgorithm::EdDSA)
                .and_then(|k| k.to_pkcs8_der())
                .unwrap_or_default()
        })
        .map_err(|e| BuildError::Keys(format!("token signing key: {e}")))?;
        let signing = SigningKey::from_pkcs8_der(TokenAlgorithm::EdDSA, &der)
            .map_err(|e| BuildError::Keys(format!("token signing key: {e}")))?;
        let token_policy = TokenPolicy::new(config.public_url(), "strongroom")
            .ttl(Duration::from_secs(config.auth.access_ttl_secs));
        let session_store = backends.sessions;
        let sessions =
            SessionManager::builder(session_store, TokenKeys::new(signing), token_policy)
                .clock(Arc::new(crate::clock::ForSessions(clock.clone())))
                .idle_timeout(Duration::from_secs(config.auth.idle_timeout_secs))
                .absolute_lifetime(Duration::from_secs(config.auth.session_lifetime_secs))
                .revocation_cache(
                    Duration::from_millis(config.auth.revocation_cache_ms),
                    10_000,
                )
                .build()
                .map_err(|e| BuildError::Sessions(e.to_string()))?;

        let (invitation_key, _) =
            crate::keys::load_or_create(&keys_dir, "invitation-signing.key", || random_key(32))
                .map_err(|e| BuildError::Keys(format!("invitation signing key: {e}")))?;
        let mailer = crate::mail::Mailer::from_config(&config.smtp).map_err(BuildError::Mail)?;

        let (audit_seed, _) =
            crate::keys::load_or_create(&keys_dir, "audit-checkpoint.seed", || random_key(32))
                .map_err(|e| BuildError::Keys(format!("audit checkpoint key: {e}")))?;
        let seed: [u8; 32] = audit_seed
            .as_slice()
            .try_into()
            .map_err(|_| BuildError::Keys("audit checkpoint key must be 32 bytes".to_owned()))?;
        let audit_store = backends.audit;
        let audit = Arc::new(
            AuditLog::builder(
                audit_store,
                ChainId::new("strongroom").map_err(|e| BuildError::Audit(e.to_string()))?,
                CheckpointSigner::from_seed(&seed),
            )
            .clock(Arc::new(crate::clock::ForAudit(clock.clone())))
            .checkpoint_every(1000)
            .checkpoint_interval(Duration::from_secs(60))
            // Outside the database: someone who can rewrite the tables cannot also move this
            // back, so cutting off or emptying the chain is found by verify.
            .anchor(Arc::new(strongroom_audit::FileCheckpointAnchor::new(
                keys_dir.join("audit-anchor"),
            )))
            .build(),
        );
        let bus = InProcessBus::new(1024).map_err(|e| BuildError::Events(e.to_string()))?;

        let mut publishers: Vec<Arc<DynEventPublisher>> = vec![
            audit.clone(),
            Arc::new(bus.clone()),
            Arc::new(domain::webhooks::WebhookFanout::new(
                backends.webhooks.clone(),
                backends.files.clone(),
                backends.folders.clone(),
                clock.clone(),
            )),
        ];
        let kafka = !config.events.kafka_brokers.is_empty();
        if kafka {
            ensure_topic(&config).await.map_err(BuildError::Events)?;
            publishers.push(kafka_publisher(&config).map_err(BuildError::Events)?);
        }
        let relay = match backends.outbox {
            Some(outbox) if config.events.relay => Some(Arc::new(OutboxRelay::new(
                outbox,
                Arc::new(FanOut(publishers)),
            ))),
            _ => None,
        };

        #[cfg(feature = "kafka")]
        let kafka_probe = if kafka {
            Some(KafkaProbe(Arc::new(
                rdkafka::ClientConfig::new()
                    .set("bootstrap.servers", &config.events.kafka_brokers)
                    .create::<rdkafka::producer::BaseProducer>()
                    .map_err(|e| BuildError::Events(format!("kafka: {e}")))?,
            )))
        } else {
            None
        };
        let fields = crate::attributes::UserFields::from_config(&config.attributes.fields)
            .map_err(BuildError::Policy)?;
        let authz = Authorizer::build(
            config.auth.open_registration,
            &operator_policies(&config).map_err(BuildError::Policy)?,
            fields.clone(),
        )
        .map_err(|e| BuildError::Policy(e.to_string()))?
        .with_clock(clock.clone());
        let proxies = crate::http::forwarded::Proxies::new(
            config.http.trust_forwarded_for,
            &config.http.trusted_proxies,
        )
        .map_err(BuildError::Config)?;
        let mut limiter = RateLimiter::new(
            config.http.rate_limit_per_ip,
            config.http.rate_limit_per_user,
            clock.clone(),
        );
        if config.http.shared_rate_limits && backends.db_kind == "postgres" {
            limiter = limiter.shared(backends.throttle.clone());
        }
        let authz = Arc::new(authz);
        let sessions = Arc::new(sessions);
        let metrics = Metrics::new();
        let guard = domain::Guard {
            authz: authz.clone(),
            events: backends.events.clone(),
            clock: clock.clone(),
            metrics: metrics.clone(),
            denials: Arc::new(crate::denials::DenialAggregator::new(
                config.http.anonymous_denial_window_secs,
                10_000,
            )),
            memberships: backends.grants.clone(),
            read_events: config.events.read_events,
        };
        let folders =
            domain::Folders::new(backends.folders, backends.grants.clone(), guard.clone())
                .with_teams(backends.teams.clone());
        let metering = domain::metering::Metering::new(
            backends.files.clone(),
            blobs.clone(),
            backends.usage,
            backends.users.clone(),
            guard.clone(),
        );
        let files = domain::Files::new(
            backends.files.clone(),
            backends.versions,
            folders.clone(),
            blobs.clone(),
            verifier,
            config.files.clone(),
            domain::usage::Quotas::new(
                backends.users.clone(),
                config.files.default_quota_bytes,
                config.files.default_quota_files,
            ),
            guard.clone(),
        )
        .indexing(config.search.content_bytes)
        .with_labels(domain::labels::Labels::new(
            backends.tags.clone(),
            backends.fields.clone(),
        ));
        let lockout = domain::lockout::Lockout::new(
            backends.throttle.clone(),
            backends.users.clone(),
            lockout_rules(&config.auth),
            guard.clone(),
        );
        let accounts = domain::Accounts::new(
            backends.users.clone(),
            sessions.clone(),
            blobs.clone(),
            guard.clone(),
        )
        .with_fields(fields)
        .with_lockout(lockout.clone());
        let links = domain::Links::new(
            backends.links,
            files.clone(),
            accounts.clone(),
            config.files.clone(),
            config.public_url(),
            guard.clone(),
        );
        let teams = domain::Teams::new(
            backends.teams.clone(),
            backends.users.clone(),
            backends.grants.clone(),
            files.clone(),
            guard.clone(),
        );
        let groups = domain::Groups::new(
            backends.groups.clone(),
            backends.users.clone(),
            teams.clone(),
            guard.clone(),
        );
        let invitations = domain::Invitations::new(
            backends.invitations,
            backends.users.clone(),
            teams.clone(),
            Arc::new(invitation_key),
            mailer,
            config.public_url(),
            guard.clone(),
        );
        let webhooks = domain::Webhooks::new(
            backends.webhooks.clone(),
            teams.clone(),
            keks.clone(),
            &config.webhooks,
            guard.clone(),
        );
        let webhook_worker = if config.webhooks.deliver {
            Some(
                domain::webhooks::WebhookWorker::new(
                    backends.webhooks.clone(),
                    keks.clone(),
                    &config.webhooks,
                    metrics.clone(),
                    clock.clone(),
                )
                .map_err(|e| BuildError::Events(e.to_string()))?,
            )
        } else {
            None
        };
        let tags = domain::tags::Tags::new(
            backends.tags,
            backends.teams.clone(),
            teams.clone(),
            files.clone(),
            folders.clone(),
            guard.clone(),
        );
        let fields_service = domain::fields::Fields::new(
            backends.fields,
            files.clone(),
            teams.clone(),
            guard.clone(),
        );
        let stats = domain::stats::Stats::new(
            backends.stats,
            backends.users.clone(),
            backends.teams.clone(),
            teams.clone(),
            guard.clone(),
        );
        let activity = domain::activity::Activity::new(
            audit.clone(),
            files.clone(),
            folders.clone(),
            backends.files.clone(),
            backends.users.clone(),
            guard.clone(),
        );
        let search = domain::search::Search::new(
            backends.search,
            backends.grants.clone(),
            files.clone(),
            folders.clone(),
            guard.clone(),
        );
        let shares = domain::Shares::new(
            backends.grants,
            backends.users,
            backends.groups,
            files.clone(),
            folders.clone(),
            guard.clone(),
        );
        Ok(App {
            config,
            db_kind: backends.db_kind,
            events: backends.events,
            blobs,
            authz,
            sessions,
            guard,
            accounts,
            files,
            folders,
            metering,
            links,
            shares,
            groups,
            teams,
            invitations,
            webhooks,
            webhook_worker,
            tags,
            fields: fields_service,
            search,
            stats,
            lockout,
            activity,
            audit,
            bus,
            relay,
            metrics,
            limiter,
            proxies,
            clock,
            kafka,
            #[cfg(feature = "kafka")]
            kafka_probe,
        })
    }

    /// Whether the event path works: always in process; with Kafka, the brokers answer a
    /// metadata request for the audit topic within two seconds.
    pub async fn bus_ready(&self) -> bool {
        #[cfg(feature = "kafka")]
        if let Some(probe) = self.kafka_probe.clone() {
            let topic = self.config.events.kafka_topic.clone();
            return tokio::task::spawn_blocking(move || {
                use rdkafka::producer::Producer;
                probe
                    .0
                    .client()
                    .fetch_metadata(Some(&topic), Duration::from_secs(2))
                    .is_ok()
            })
            .await
            .unwrap_or(false);
        }
        true
    }

    /// `sqlite` or `postgres`.
    pub fn db_kind(&self) -> &'static str {
        self.db_kind
    }

    /// Refreshes the gauges that are read, not counted (called at each scrape).
    pub async fn refresh_gauges(&self) {
        let m = &self.metrics;
        let backlog = self.events.backlog().await.unwrap_or_default();
        m.outbox_pending.set(backlog.pending as i64);
        m.outbox_lag_seconds.set(backlog.oldest.as_secs_f64());
        if let Some(r) = &self.relay {
            let rm = r.metrics();
            m.relay_published.set(rm.published as i64);
            m.relay_errors
                .set((rm.failed_attempts + rm.outbox_errors) as i64);
        }
        m.decisions_allowed.set(
            self.authz
                .counter
                .allowed
                .load(std::sync::atomic::Ordering::Relaxed) as i64,
        );
        m.decisions_denied.set(
            self.authz
                .counter
                .denied
                .load(std::sync::atomic::Ordering::Relaxed) as i64,
        );
    }
}

/// The `*.cedar` files of `auth.policy_dir`, by name.
fn operator_policies(config: &Config) -> Result<Vec<(String, String)>, String> {
    if config.auth.policy_dir.is_empty() {
        return Ok(Vec::new());
    }
    let dir = std::path::Path::new(&config.auth.policy_dir);
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("auth.policy_dir {}: {e}", dir.display()))?;
    let mut out = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_some_and(|e| e == "cedar") {
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push((name, text));
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(feature = "kafka")]
fn kafka_publisher(config: &Config) -> Result<Arc<DynEventPublisher>, String> {
    strongroom_audit::KafkaPublisher::new(&config.events.kafka_brokers, &config.events.kafka_topic)
        .map(|p| Arc::new(p) as Arc<DynEventPublisher>)
        .map_err(|e| format!("kafka: {e}"))
}

/// Creates the audit topic if it does not exist (3 partitions; events of one resource keep their
/// order because the resource id is the message key).
#[cfg(feature = "kafka")]
async fn ensure_topic(config: &Config) -> Result<(), String> {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    use rdkafka::client::DefaultClientContext;
    use rdkafka::types::RDKafkaErrorCode;
    let admin: AdminClient<DefaultClientContext> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &config.events.kafka_brokers)
        .create()
        .map_err(|e| format!("kafka: {e}"))?;
    let topic = NewTopic::new(&config.events.kafka_topic, 3, TopicReplication::Fixed(1));
    let results = admin
        .create_topics(
            &[topic],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .map_err(|e| format!("kafka at {}: {e}", config.events.kafka_brokers))?;
    for r in results {
        match r {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((t, e)) => return Err(format!("kafka: creating topic {t}: {e}")),
        }
    }
    Ok(())
}

#[cfg(not(feature = "kafka"))]
async fn ensure_topic(_config: &Config) -> Result<(), String> {
    Ok(())
}

#[cfg(not(feature = "kafka"))]
fn kafka_publisher(_config: &Config) -> Result<Arc<DynEventPublisher>, String> {
    Err("events.kafka_brokers is set but this build has no `kafka` feature".into())
}
