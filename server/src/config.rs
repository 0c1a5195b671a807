//! One typed configuration: built-in defaults < TOML file < `STRONGROOM_*` environment.
//!
//! The defaults need nothing installed: SQLite and a local-disk object store under
//! `./strongroom-data`, the in-process event bus. Moving to PostgreSQL, S3 or Kafka is one
//! setting each (`database.url`, `storage.url`, `events.kafka_brokers`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file or a variable is not valid.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// The whole server configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The URL clients reach the server at (token issuer, links).
    pub public_url: String,
    /// Directory for the default SQLite file, local blobs and generated keys.
    pub data_dir: PathBuf,
    /// Metadata database.
    pub database: DatabaseConfig,
    /// Blob storage.
    pub storage: StorageConfig,
    /// Event publishing.
    pub events: EventsConfig,
    /// Accounts and sessions.
    pub auth: AuthConfig,
    /// Uploads and downloads.
    pub files: FilesConfig,
    /// Request protection.
    pub http: HttpConfig,
    /// Logging.
    pub log: LogConfig,
    /// Outgoing mail (invitations).
    pub smtp: SmtpConfig,
    /// Custom fields on accounts, for policies.
    pub attributes: AttributesConfig,
    /// Outgoing webhooks.
    pub webhooks: WebhooksConfig,
    /// Search.
    pub search: SearchConfig,
}

/// `[search]`: what the search index holds of file content.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SearchConfig {
    /// Bytes read from the start of a text-like file (text/*, JSON, XML, YAML, CSV, source code)
    /// for its words in the index (0: content is not indexed, names, tags and fields still
    /// are). The words kept are at most 512 KiB.
    pub content_bytes: u64,
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self {
            content_bytes: 1024 * 1024,
        }
    }
}

/// `[webhooks]`: delivery of events to the endpoints users, teams and administrators register.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhooksConfig {
    /// Whether this process sends deliveries (several may: each delivery is leased to one).
    pub deliver: bool,
    /// Let endpoints be on loopback addresses (127.0.0.0/8, ::1). Off: a request never goes to
    /// this machine.
    pub allow_loopback: bool,
    /// Let endpoints be on private networks (10/8, 172.16/12, 192.168/16, fc00::/7).
    pub allow_private_networks: bool,
    /// Let endpoints use plain `http` (otherwise `https` only: a delivery carries the event).
    pub allow_http: bool,
    /// Seconds one attempt may take.
    pub timeout_secs: u64,
    /// Seconds between looks at the queue when nothing is due.
    pub poll_interval_secs: u64,
    /// Waits before each retry, in seconds (the first attempt is immediate); after the last
    /// the delivery is given up (dead, redeliverable by hand).
    pub retry_schedule_secs: Vec<u64>,
    /// Days a settled delivery (delivered or dead) and its attempts are kept.
    pub keep_days: u64,
    /// Endpoints per user, team or the platform.
    pub max_endpoints: usize,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            deliver: true,
            allow_loopback: false,
            allow_private_networks: false,
            allow_http: false,
            timeout_secs: 15,
            poll_interval_secs: 2,
            retry_schedule_secs: vec![5, 300, 1800, 7200, 18000, 36000, 36000],
            keep_days: 14,
            max_endpoints: 20,
        }
    }
}

/// `[attributes]`: the custom fields administrators may set on accounts, by name and type
/// (`string`, `number`, `boolean`, `date`); policies read them as `principal.<name>`. Tags need
/// no declaration. Only in the configuration file (a table has no environment form).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttributesConfig {
    /// Field name -> type.
    pub fields: std::collections::BTreeMap<String, String>,
}

/// `[smtp]`: where invitations are mailed from. Without a host, nothing is mailed and the
/// inviter is shown the link to pass on.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    /// The SMTP server's host name (empty: no mail).
    pub host: String,
    /// Its port (0: 465 for `tls`, 587 for `starttls`, 25 for `none`).
    pub port: u16,
    /// `starttls` (upgrade, refused if the server cannot), `tls` (implicit TLS) or `none`
    /// (plain text: only for a relay on the same machine or in tests).
    pub security: String,
    /// User name, if the server wants one.
    pub username: String,
    /// A file holding the password (mode 0600); never the password itself in the config.
    pub password_file: String,
    /// The sender, e.g. `Strongroom <no-reply@example.com>`.
    pub from: String,
    /// Seconds to wait for the server.
    pub timeout_secs: u64,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 0,
            security: "starttls".into(),
            username: String::new(),
            password_file: String::new(),
            from: String::new(),
            timeout_secs: 10,
        }
    }
}

/// `[database]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://path` or `postgres://…`; empty means `<data_dir>/strongroom.db`.
    pub url: String,
    /// Maximum pool connections.
    pub max_connections: u32,
}

/// `[storage]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// `file:///dir` or `s3://bucket`; empty means `<data_dir>/blobs`.
    pub url: String,
    /// S3 endpoint (for S3-compatible servers such as Garage or MinIO).
    pub s3_endpoint: Option<String>,
    /// S3 region.
    pub s3_region: Option<String>,
    /// S3 access key id.
    pub s3_access_key_id: Option<String>,
    /// S3 secret access key.
    pub s3_secret_access_key: Option<String>,
    /// Allow plain HTTP to the S3 endpoint (loopback test servers).
    pub s3_allow_http: bool,
    /// Local disk: fsync each blob (and its directory) before its metadata commits, so that a
    /// power loss cannot leave metadata pointing at a lost blob.
    pub fsync: bool,
    /// Split content into content-defined chunks stored once per owner (FastCDC, about 1 MiB
    /// each). Off: one object per version, as before chunking (and no encryption).
    pub dedup: bool,
    /// Encrypt every chunk (AES-256-GCM under the owner's data key, wrapped by the key
    /// directory's key-encryption key). Turn off only when the storage below already encrypts;
    /// needs `dedup`. Changing it affects chunks written afterwards.
    pub encrypt: bool,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            s3_endpoint: None,
            s3_region: None,
            s3_access_key_id: None,
            s3_secret_access_key: None,
            s3_allow_http: false,
            fsync: true,
            dedup: true,
            encrypt: true,
        }
    }
}

/// `[events]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventsConfig {
    /// Kafka bootstrap servers; empty keeps events in process.
    pub kafka_brokers: String,
    /// Kafka topic for audit events.
    pub kafka_topic: String,
    /// Whether this process runs an outbox relay (several may, they share the work).
    pub relay: bool,
    /// Whether reads of metadata and listings (a file's or folder's metadata, a folder
    /// listing, a search, statistics) are recorded as audit events too; changes and downloads
    /// always are.
    pub read_events: bool,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            max_connections: 16,
        }
    }
}

impl Default for EventsConfig {
    fn default() -> Self {
        Self {
            kafka_brokers: String::new(),
            kafka_topic: "strongroom.audit".into(),
            relay: true,
            read_events: true,
        }
    }
}

/// `[auth]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Anyone may register (otherwise only the bootstrap admin exists until an admin adds users).
    pub open_registration: bool,
    /// Access token lifetime in seconds.
    pub access_ttl_secs: u64,
    /// Session idle timeout in seconds.
    pub idle_timeout_secs: u64,
    /// Session absolute lifetime in seconds.
    pub session_lifetime_secs: u64,
    /// How long a revocation made by another process may take to be seen, in milliseconds.
    pub revocation_cache_ms: u64,
    /// Directory of the persisted signing keys; empty means `<data_dir>/keys`.
    pub keys_dir: String,
    /// Directory of extra Cedar policies (`*.cedar`) added to the built-in ones; empty: none.
    pub policy_dir: String,
    /// Failed sign-ins in a row that lock an account until an administrator or a password
    /// reset lifts it (0: never locked).
    pub lock_after_failures: u32,
    /// Failed sign-ins of an account before delays start.
    pub backoff_after_failures: u32,
    /// The first delay after those, in seconds; each further failure doubles it (0: no delays).
    pub backoff_base_secs: u64,
    /// The longest delay, in seconds.
    pub backoff_max_secs: u64,
    /// An account or address with no failed sign-in for this long starts again from zero (a
    /// locked one does not), in seconds.
    pub forget_failures_secs: u64,
    /// Failed sign-ins from one client address (any accounts) before it gets delays too.
    pub ip_backoff_after_failures: u32,
    /// The longest delay for an address, in seconds.
    pub ip_backoff_max_secs: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            open_registration: true,
            access_ttl_secs: 900,
            idle_timeout_secs: 14 * 86_400,
            session_lifetime_secs: 30 * 86_400,
            revocation_cache_ms: 1_000,
            keys_dir: String::new(),
            policy_dir: String::new(),
            lock_after_failures: 20,
            backoff_after_failures: 5,
            backoff_base_secs: 1,
            backoff_max_secs: 900,
            forget_failures_secs: 86_400,
            ip_backoff_after_failures: 100,
            ip_backoff_max_secs: 300,
        }
    }
}

/// `[files]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FilesConfig {
    /// Largest accepted upload in bytes.
    pub max_upload_bytes: u64,
    /// Blobs without metadata older than this are swept, in seconds.
    pub orphan_grace_secs: u64,
    /// How often the orphan sweeper runs, in seconds (0: never).
    pub sweep_interval_secs: u64,
    /// Failed link-password attempts before the link locks for `link_lock_secs`.
    pub link_max_attempts: u32,
    /// How long a link stays locked after too many wrong passwords, in seconds.
    pub link_lock_secs: u64,
    /// Check every whole-file download against its signature while it streams, and cut it off
    /// before its last bytes if the stored content was altered (costs one keyed BLAKE3 pass).
    pub verify_downloads: bool,
    /// Versions kept per file by count: the newest this many (0: no count rule).
    pub versions_keep_last: u32,
    /// Versions kept by age: those younger than this many days (0: no age rule). A version
    /// either rule keeps stays; the current version always stays; with neither rule, all stay.
    pub versions_keep_days: u32,
    /// The largest side, in bytes, of a text diff between versions (larger ones get a summary).
    pub diff_max_bytes: u64,
    /// Days a deleted file or folder stays in the trash before the sweeper purges it (at least 1).
    pub trash_keep_days: u32,
    /// Each account's quota in bytes (all versions of all files, trash included) unless an
    /// administrator set another for it; 0: unlimited.
    pub default_quota_bytes: u64,
    /// Each account's quota in files (trash included) unless set for it; 0: unlimited.
    pub default_quota_files: u64,
    /// How often the usage meter samples every account, in seconds (0: never). A change of
    /// usage becomes a `usage.changed` event and a ledger sample at the next pass.
    pub meter_interval_secs: u64,
}

impl Default for FilesConfig {
    fn default() -> Self {
        Self {
            max_upload_bytes: 10 * 1024 * 1024 * 1024,
            orphan_grace_secs: 3_600,
            sweep_interval_secs: 600,
            link_max_attempts: 5,
            link_lock_secs: 300,
            verify_downloads: true,
            versions_keep_last: 10,
            versions_keep_days: 30,
            diff_max_bytes: 1024 * 1024,
            trash_keep_days: 30,
            default_quota_bytes: 0,
            default_quota_files: 0,
            meter_interval_secs: 300,
        }
    }
}

/// `[http]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Largest JSON body in bytes.
    pub max_json_bytes: usize,
    /// Timeout for requests other than transfers, in seconds.
    pub request_timeout_secs: u64,
    /// Requests per minute per client IP.
    pub rate_limit_per_ip: u32,
    /// Requests per minute per user.
    pub rate_limit_per_user: u32,
    /// On PostgreSQL, count the rate limits in the database, so that all servers on it enforce
    /// one limit together (SQLite servers always count in memory).
    pub shared_rate_limits: bool,
    /// Origins allowed by CORS (empty: none).
    pub cors_origins: Vec<String>,
    /// Take the client IP from `X-Forwarded-For` when the request comes from a trusted proxy
    /// (only behind proxies you run): the right-most address no trusted proxy holds.
    pub trust_forwarded_for: bool,
    /// The proxies trusted to append to `X-Forwarded-For`, as CIDR blocks or addresses. Empty:
    /// the direct peer is the one proxy (its appended entry, the right-most, is the client).
    pub trusted_proxies: Vec<String>,
    /// A client must send a request's whole header within this many seconds.
    pub header_read_timeout_secs: u64,
    /// A connection that moves no byte either way for this many seconds is closed (idle
    /// keep-alive connections, stalled uploads and downloads).
    pub idle_timeout_secs: u64,
    /// Upload and download bodies must move at least this many bytes per
    /// `min_rate_window_secs` (0: no minimum), or the transfer is cut off.
    pub min_rate_bytes: u64,
    /// The window of `min_rate_bytes`, in seconds.
    pub min_rate_window_secs: u64,
    /// Open connections at most; more are refused at once.
    pub max_connections: usize,
    /// Open connections from one client address at most.
    pub max_connections_per_ip: usize,
    /// Anonymous denials from one address: the first in each window of this many seconds is
    /// audited on its own, the rest as one summary.
    pub anonymous_denial_window_secs: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            max_json_bytes: 64 * 1024,
            request_timeout_secs: 30,
            rate_limit_per_ip: 1_200,
            rate_limit_per_user: 2_400,
            shared_rate_limits: true,
            cors_origins: Vec::new(),
            trust_forwarded_for: false,
            trusted_proxies: Vec::new(),
            header_read_timeout_secs: 10,
            idle_timeout_secs: 60,
            min_rate_bytes: 8 * 1024,
            min_rate_window_secs: 30,
            max_connections: 4_096,
            max_connections_per_ip: 256,
            anonymous_denial_window_secs: 60,
        }
    }
}

/// `[log]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `tracing` filter, e.g. `info` or `strongroom=debug`.
    pub level: String,
    /// `json` or `text`.
    pub format: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            format: "json".into(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: String::new(),
            data_dir: PathBuf::from("strongroom-data"),
            database: DatabaseConfig::default(),
            storage: StorageConfig::default(),
            events: EventsConfig::default(),
            auth: AuthConfig::default(),
            files: FilesConfig::default(),
            http: HttpConfig::default(),
            log: LogConfig::default(),
            smtp: SmtpConfig::default(),
            attributes: AttributesConfig::default(),
            webhooks: WebhooksConfig::default(),
            search: SearchConfig::default(),
        }
    }
}

/// Environment variables and the config keys they set.
const ENV_KEYS: &[(&str, &str)] = &[
    ("STRONGROOM_LISTEN", "listen"),
    ("STRONGROOM_PUBLIC_URL", "public_url"),
    ("STRONGROOM_DATA_DIR", "data_dir"),
    ("STRONGROOM_DATABASE_URL", "database.url"),
    (
        "STRONGROOM_DATABASE_MAX_CONNECTIONS",
        "database.max_connections",
    ),
    ("STRONGROOM_STORAGE_URL", "storage.url"),
    ("STRONGROOM_STORAGE_S3_ENDPOINT", "storage.s3_endpoint"),
    ("STRONGROOM_STORAGE_S3_REGION", "storage.s3_region"),
    (
        "STRONGROOM_STORAGE_S3_ACCESS_KEY_ID",
        "storage.s3_access_key_id",
    ),
    (
        "STRONGROOM_STORAGE_S3_SECRET_ACCESS_KEY",
        "storage.s3_secret_access_key",
    ),
    ("STRONGROOM_STORAGE_S3_ALLOW_HTTP", "storage.s3_allow_http"),
    ("STRONGROOM_STORAGE_FSYNC", "storage.fsync"),
    ("STRONGROOM_STORAGE_DEDUP", "storage.dedup"),
    ("STRONGROOM_STORAGE_ENCRYPT", "storage.encrypt"),
    ("STRONGROOM_EVENTS_KAFKA_BROKERS", "events.kafka_brokers"),
    ("STRONGROOM_EVENTS_KAFKA_TOPIC", "events.kafka_topic"),
    ("STRONGROOM_EVENTS_RELAY", "events.relay"),
    ("STRONGROOM_EVENTS_READ_EVENTS", "events.read_events"),
    ("STRONGROOM_WEBHOOKS_DELIVER", "webhooks.deliver"),
    (
        "STRONGROOM_WEBHOOKS_ALLOW_LOOPBACK",
        "webhooks.allow_loopback",
    ),
    (
        "STRONGROOM_WEBHOOKS_ALLOW_PRIVATE_NETWORKS",
        "webhooks.allow_private_networks",
    ),
    ("STRONGROOM_WEBHOOKS_ALLOW_HTTP", "webhooks.allow_http"),
    ("STRONGROOM_WEBHOOKS_TIMEOUT_SECS", "webhooks.timeout_secs"),
    (
        "STRONGROOM_WEBHOOKS_POLL_INTERVAL_SECS",
        "webhooks.poll_interval_secs",
    ),
    ("STRONGROOM_WEBHOOKS_KEEP_DAYS", "webhooks.keep_days"),
    ("STRONGROOM_SEARCH_CONTENT_BYTES", "search.content_bytes"),
    (
        "STRONGROOM_AUTH_OPEN_REGISTRATION",
        "auth.open_registration",
    ),
    ("STRONGROOM_AUTH_ACCESS_TTL_SECS", "auth.access_ttl_secs"),
    (
        "STRONGROOM_AUTH_IDLE_TIMEOUT_SECS",
        "auth.idle_timeout_secs",
    ),
    (
        "STRONGROOM_AUTH_SESSION_LIFETIME_SECS",
        "auth.session_lifetime_secs",
    ),
    (
        "STRONGROOM_AUTH_REVOCATION_CACHE_MS",
        "auth.revocation_cache_ms",
    ),
    ("STRONGROOM_AUTH_KEYS_DIR", "auth.keys_dir"),
    ("STRONGROOM_AUTH_POLICY_DIR", "auth.policy_dir"),
    (
        "STRONGROOM_AUTH_LOCK_AFTER_FAILURES",
        "auth.lock_after_failures",
    ),
    (
        "STRONGROOM_AUTH_BACKOFF_AFTER_FAILURES",
        "auth.backoff_after_failures",
    ),
    (
        "STRONGROOM_AUTH_BACKOFF_BASE_SECS",
        "auth.backoff_base_secs",
    ),
    ("STRONGROOM_AUTH_BACKOFF_MAX_SECS", "auth.backoff_max_secs"),
    (
        "STRONGROOM_AUTH_FORGET_FAILURES_SECS",
        "auth.forget_failures_secs",
    ),
    (
        "STRONGROOM_AUTH_IP_BACKOFF_AFTER_FAILURES",
        "auth.ip_backoff_after_failures",
    ),
    (
        "STRONGROOM_AUTH_IP_BACKOFF_MAX_SECS",
        "auth.ip_backoff_max_secs",
    ),
    (
        "STRONGROOM_FILES_MAX_UPLOAD_BYTES",
        "files.max_upload_bytes",
    ),
    (
        "STRONGROOM_FILES_ORPHAN_GRACE_SECS",
        "files.orphan_grace_secs",
    ),
    (
        "STRONGROOM_FILES_SWEEP_INTERVAL_SECS",
        "files.sweep_interval_secs",
    ),
    (
        "STRONGROOM_FILES_LINK_MAX_ATTEMPTS",
        "files.link_max_attempts",
    ),
    ("STRONGROOM_FILES_LINK_LOCK_SECS", "files.link_lock_secs"),
    (
        "STRONGROOM_FILES_VERIFY_DOWNLOADS",
        "files.verify_downloads",
    ),
    (
        "STRONGROOM_FILES_VERSIONS_KEEP_LAST",
        "files.versions_keep_last",
    ),
    (
        "STRONGROOM_FILES_VERSIONS_KEEP_DAYS",
        "files.versions_keep_days",
    ),
    ("STRONGROOM_FILES_DIFF_MAX_BYTES", "files.diff_max_bytes"),
    ("STRONGROOM_FILES_TRASH_KEEP_DAYS", "files.trash_keep_days"),
    (
        "STRONGROOM_FILES_DEFAULT_QUOTA_BYTES",
        "files.default_quota_bytes",
    ),
    (
        "STRONGROOM_FILES_DEFAULT_QUOTA_FILES",
        "files.default_quota_files",
    ),
    (
        "STRONGROOM_FILES_METER_INTERVAL_SECS",
        "files.meter_interval_secs",
    ),
    ("STRONGROOM_HTTP_MAX_JSON_BYTES", "http.max_json_bytes"),
    (
        "STRONGROOM_HTTP_REQUEST_TIMEOUT_SECS",
        "http.request_timeout_secs",
    ),
    (
        "STRONGROOM_HTTP_RATE_LIMIT_PER_IP",
        "http.rate_limit_per_ip",
    ),
    (
        "STRONGROOM_HTTP_RATE_LIMIT_PER_USER",
        "http.rate_limit_per_user",
    ),
    (
        "STRONGROOM_HTTP_SHARED_RATE_LIMITS",
        "http.shared_rate_limits",
    ),
    ("STRONGROOM_HTTP_CORS_ORIGINS", "http.cors_origins"),
    (
        "STRONGROOM_HTTP_TRUST_FORWARDED_FOR",
        "http.trust_forwarded_for",
    ),
    ("STRONGROOM_HTTP_TRUSTED_PROXIES", "http.trusted_proxies"),
    (
        "STRONGROOM_HTTP_HEADER_READ_TIMEOUT_SECS",
        "http.header_read_timeout_secs",
    ),
    (
        "STRONGROOM_HTTP_IDLE_TIMEOUT_SECS",
        "http.idle_timeout_secs",
    ),
    ("STRONGROOM_HTTP_MIN_RATE_BYTES", "http.min_rate_bytes"),
    (
        "STRONGROOM_HTTP_MIN_RATE_WINDOW_SECS",
        "http.min_rate_window_secs",
    ),
    ("STRONGROOM_HTTP_MAX_CONNECTIONS", "http.max_connections"),
    (
        "STRONGROOM_HTTP_MAX_CONNECTIONS_PER_IP",
        "http.max_connections_per_ip",
    ),
    (
        "STRONGROOM_HTTP_ANONYMOUS_DENIAL_WINDOW_SECS",
        "http.anonymous_denial_window_secs",
    ),
    ("STRONGROOM_SMTP_HOST", "smtp.host"),
    ("STRONGROOM_SMTP_PORT", "smtp.port"),
    ("STRONGROOM_SMTP_SECURITY", "smtp.security"),
    ("STRONGROOM_SMTP_USERNAME", "smtp.username"),
    ("STRONGROOM_SMTP_PASSWORD_FILE", "smtp.password_file"),
    ("STRONGROOM_SMTP_FROM", "smtp.from"),
    ("STRONGROOM_SMTP_TIMEOUT_SECS", "smtp.timeout_secs"),
    ("STRONGROOM_LOG_LEVEL", "log.level"),
    ("STRONGROOM_LOG_FORMAT", "log.format"),
];

impl Config {
    /// Loads defaults, then `file` (if any), then the `STRONGROOM_*` variables of `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut doc = toml::Table::new();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                path: path.to_owned(),
                source,
            })?;
            doc = text
                .parse::<toml::Table>()
                .map_err(|e| ConfigError::Invalid(format!("{}: {e}", path.display())))?;
        }
        for (name, value) in env {
            if !name.starts_with("STRONGROOM_") || name == "STRONGROOM_CONFIG" {
                continue;
            }
            let Some((_, key)) = ENV_KEYS.iter().find(|(n, _)| *n == name) else {
                // Client-side variables (server URL, tokens) share the prefix; they are not ours.
                if name.starts_with("STRONGROOM_CLIENT_") || name.starts_with("STRONGROOM_TEST_") {
                    continue;
                }
                return Err(ConfigError::Invalid(format!(
                    "unknown environment variable {name}"
                )));
            };
            set_path(&mut doc, key, env_value(key, &value));
        }
        let config: Config = toml::Value::Table(doc)
            .try_into()
            .map_err(|e: toml::de::Error| ConfigError::Invalid(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |m: &str| Err(ConfigError::Invalid(m.to_owned()));
        crate::http::forwarded::Proxies::new(
            self.http.trust_forwarded_for,
            &self.http.trusted_proxies,
        )
        .map_err(ConfigError::Invalid)?;
        if self.storage.encrypt && !self.storage.dedup {
            return bad("storage.encrypt needs storage.dedup (chunks are what is encrypted)");
        }
        if self.files.trash_keep_days == 0 {
            return bad("files.trash_keep_days must be at least 1");
        }
        if self.files.max_upload_bytes == 0 {
            return bad("files.max_upload_bytes must be positive");
        }
        if self.http.max_json_bytes < 1024 {
            return bad("http.max_json_bytes must be at least 1024");
        }
        if self.auth.forget_failures_secs == 0 {
            return bad("auth.forget_failures_secs must be positive");
        }
        if self.auth.backoff_base_secs > self.auth.backoff_max_secs {
            return bad("auth.backoff_base_secs must not exceed auth.backoff_max_secs");
        }
        if self.auth.access_ttl_secs == 0 || self.auth.access_ttl_secs > 86_400 {
            return bad("auth.access_ttl_secs must be between 1 and 86400");
        }
        if let Err(e) = crate::attributes::UserFields::from_config(&self.attributes.fields) {
            return Err(ConfigError::Invalid(e));
        }
        if !matches!(self.smtp.security.as_str(), "starttls" | "tls" | "none") {
            return bad("smtp.security must be starttls, tls or none");
        }
        if !self.smtp.host.is_empty() && self.smtp.from.is_empty() {
            return bad("smtp.from is needed when smtp.host is set");
        }
        if self.smtp.username.is_empty() != self.smtp.password_file.is_empty() {
            return bad("smtp.username and smtp.password_file go together");
        }
        let w = &self.webhooks;
        if w.timeout_secs == 0 || w.timeout_secs > 300 || w.poll_interval_secs == 0 {
            return bad(
                "webhooks.timeout_secs must be 1 to 300 and webhooks.poll_interval_secs positive",
            );
        }
        if w.retry_schedule_secs.len() > 50 || w.keep_days == 0 || w.max_endpoints == 0 {
            return bad(
                "webhooks.retry_schedule_secs holds at most 50 waits; keep_days and max_endpoints must be positive",
            );
        }
        if !matches!(self.log.format.as_str(), "json" | "text") {
            return bad("log.format must be json or text");
        }
        if self.http.rate_limit_per_ip == 0 || self.http.rate_limit_per_user == 0 {
            return bad("rate limits must be positive");
        }
        if self.http.header_read_timeout_secs == 0
            || self.http.idle_timeout_secs == 0
            || self.http.min_rate_window_secs == 0
        {
            return bad("http timeouts and the minimum-rate window must be positive");
        }
        if self.http.max_connections == 0 || self.http.max_connections_per_ip == 0 {
            return bad("http connection limits must be positive");
        }
        let db = self.database_url();
        if !(db.starts_with("sqlite:")
            || db.starts_with("postgres:")
            || db.starts_with("postgresql:"))
        {
            return bad("database.url must start with sqlite: or postgres://");
        }
        let st = self.storage_url();
        if !(st.starts_with("file://") || st.starts_with("s3://") || st == "memory://") {
            return bad("storage.url must start with file://, s3:// or be memory://");
        }
        Ok(())
    }

    /// The database URL, defaulting to a SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("strongroom.db").display()
            )
        } else {
            self.database.url.clone()
        }
    }

    /// The storage URL, defaulting to `<data_dir>/blobs`.
    pub fn storage_url(&self) -> String {
        if self.storage.url.is_empty() {
            format!("file://{}", self.data_dir.join("blobs").display())
        } else {
            self.storage.url.clone()
        }
    }

    /// The directory of persisted keys.
    pub fn keys_dir(&self) -> PathBuf {
        if self.auth.keys_dir.is_empty() {
            self.data_dir.join("keys")
        } else {
            PathBuf::from(&self.auth.keys_dir)
        }
    }

    /// The public URL, defaulting to `http://<listen>`.
    pub fn public_url(&self) -> String {
        if self.public_url.is_empty() {
            format!("http://{}", self.listen)
        } else {
            self.public_url.trim_end_matches('/').to_owned()
        }
    }

    /// The timeout for non-transfer requests.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.http.request_timeout_secs)
    }
}

/// Environment strings become TOML values of the shape the key expects.
fn env_value(key: &str, value: &str) -> toml::Value {
    if key == "http.cors_origins" || key == "http.trusted_proxies" {
        return toml::Value::Array(
            value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| toml::Value::String(s.to_owned()))
                .collect(),
        );
    }
    let last = key.rsplit('.').next().unwrap_or(key);
    let is_bool = matches!(
        last,
        "s3_allow_http"
            | "relay"
            | "open_registration"
            | "trust_forwarded_for"
            | "shared_rate_limits"
            | "read_events"
            | "fsync"
            | "verify_downloads"
            | "dedup"
            | "encrypt"
            | "deliver"
            | "allow_loopback"
            | "allow_private_networks"
            | "allow_http"
    );
    let is_int = last.ends_with("_secs")
        || last.ends_with("_ms")
        || last.ends_with("_bytes")
        || last.starts_with("rate_limit")
        || matches!(
            last,
            "max_connections"
                | "port"
                | "max_connections_per_ip"
                | "link_max_attempts"
                | "versions_keep_last"
                | "versions_keep_days"
                | "trash_keep_days"
                | "default_quota_files"
                | "keep_days"
        )
        || last.ends_with("_failures");
    if is_bool {
        if let Ok(b) = value.parse::<bool>() {
            return toml::Value::Boolean(b);
        }
    } else if is_int && let Ok(n) = value.parse::<i64>() {
        return toml::Value::Integer(n);
    }
    // Anything else stays a string; a wrong type is then reported by deserialization.
    toml::Value::String(value.to_owned())
}

fn set_path(doc: &mut toml::Table, key: &str, value: toml::Value) {
    match key.split_once('.') {
        None => {
            doc.insert(key.to_owned(), value);
        }
        Some((table, rest)) => {
            let entry = doc
                .entry(table.to_owned())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let toml::Value::Table(t) = entry {
                set_path(t, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_need_nothing_installed() {
        let c = Config::load(None, env(&[])).unwrap();
        assert!(
            c.database_url()
                .starts_with("sqlite://strongroom-data/strongroom.db")
        );
        assert_eq!(c.storage_url(), "file://strongroom-data/blobs");
        assert!(c.events.kafka_brokers.is_empty());
    }

    /// Every variable of the table takes some value an operator would write for it (`true`,
    /// `10`, a URL, an address …): a setting whose type the env parser does not know fails here
    /// instead of at an operator's start.
    #[test]
    fn every_variable_accepts_a_value() {
        let candidates = [
            "true",
            "10",
            "65536",
            "info",
            "json",
            "127.0.0.1:9",
            "http://127.0.0.1:9",
            "sqlite://x.db",
            "s3://bucket",
            "x",
            "starttls",
            "10.0.0.0/8",
        ];
        // The mail settings go together: each is tried with the others set.
        let smtp = [
            ("STRONGROOM_SMTP_HOST", "mail.example.com"),
            ("STRONGROOM_SMTP_FROM", "no-reply@example.com"),
            ("STRONGROOM_SMTP_USERNAME", "strongroom"),
            (
                "STRONGROOM_SMTP_PASSWORD_FILE",
                "/etc/strongroom/smtp-password",
            ),
        ];
        for (var, _) in ENV_KEYS {
            let errors: Vec<String> = candidates
                .iter()
                .filter_map(|v| {
                    let mut vars: Vec<(&str, &str)> = Vec::new();
                    if var.starts_with("STRONGROOM_SMTP_") {
                        vars.extend(smtp.iter().filter(|(n, _)| n != var));
                    }
                    vars.push((var, v));
                    Config::load(None, env(&vars)).err()
                })
                .map(|e| e.to_string())
                .collect();
            assert!(
                errors.len() < candidates.len(),
                "{var} accepts none of {candidates:?}: {errors:?}"
            );
        }
    }

    #[test]
    fn env_overrides_file_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("strongroom.toml");
        std::fs::write(
            &file,
            "listen = \"0.0.0.0:9000\"\n[files]\nmax_upload_bytes = 100\n[database]\nurl = \"sqlite://x.db\"\n",
        )
        .unwrap();
        let c = Config::load(
            Some(&file),
            env(&[
                ("STRONGROOM_FILES_MAX_UPLOAD_BYTES", "200"),
                (
                    "STRONGROOM_HTTP_CORS_ORIGINS",
                    "https://a.example, https://b.example",
                ),
                ("STRONGROOM_CLIENT_SERVER", "ignored"),
                ("STRONGROOM_STORAGE_S3_SECRET_ACCESS_KEY", "12345"),
                ("STRONGROOM_EVENTS_RELAY", "false"),
                ("STRONGROOM_EVENTS_READ_EVENTS", "false"),
            ]),
        )
        .unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.files.max_upload_bytes, 200);
        assert_eq!(c.database_url(), "sqlite://x.db");
        assert_eq!(c.http.cors_origins.len(), 2);
        assert_eq!(c.storage.s3_secret_access_key.as_deref(), Some("12345"));
        assert!(!c.events.relay);
        assert!(!c.events.read_events);
        // A table given partly keeps the defaults of the rest.
        let c = Config::load(None, env(&[("STRONGROOM_EVENTS_KAFKA_BROKERS", "k:9092")])).unwrap();
        assert_eq!(
            (c.events.kafka_topic.as_str(), c.events.relay),
            ("strongroom.audit", true)
        );
        let c = Config::load(None, env(&[("STRONGROOM_DATABASE_URL", "sqlite://y.db")])).unwrap();
        assert_eq!(c.database.max_connections, 16);
    }

    #[test]
    fn mistakes_are_named() {
        let err = Config::load(None, env(&[("STRONGROOM_LISTNE", "x")])).unwrap_err();
        assert!(err.to_string().contains("STRONGROOM_LISTNE"), "{err}");
        let err = Config::load(None, env(&[("STRONGROOM_DATABASE_URL", "mysql://x")])).unwrap_err();
        assert!(err.to_string().contains("database.url"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "[files]\nmax_upload = 1\n").unwrap();
        let err = Config::load(Some(&file), env(&[])).unwrap_err();
        assert!(err.to_string().contains("max_upload"), "{err}");
    }
}
