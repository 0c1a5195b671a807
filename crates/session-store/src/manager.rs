use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use subtle::ConstantTimeEq as _;

use crate::access::{AccessClaims, AccessGrant, AccessToken, AccessTokens, TokenPolicy};
use crate::cache::{SessionCache, Snapshot};
use crate::clock::{self, Clock, SystemClock};
use crate::error::{Error, Result, TokenRejection};
use crate::events::{EventSink, NoEvents, SessionEvent, Sink};
use crate::ids::SessionId;
use crate::keys::KeyRing;
use crate::model::{
    ClientInfo, DeviceRecord, RefreshState, RefreshTokenRecord, RevokeReason, RevokeScope,
    Rotation, Session,
};
use crate::refresh::{RefreshToken, Secret, TokenHash};
use crate::store::DynSessionStore;

const MAX_USER_ID: usize = 256;
const MAX_DEVICE_ID: usize = 128;
const MAX_DEVICE_NAME: usize = 256;
const MAX_USER_AGENT: usize = 512;
const MAX_CLAIM_VALUES: usize = 64;
const MAX_CLAIM_VALUE: usize = 128;
const MAX_GRACE: Duration = Duration::from_secs(300);
const MAX_CACHE_TTL: Duration = Duration::from_secs(300);
const MAX_TRUST: Duration = Duration::from_secs(400 * 24 * 60 * 60);

/// A successful login or refresh: a new access token and the refresh token to use next.
#[derive(Debug, Clone)]
pub struct TokenPair {
    /// Short-lived JWT for `Authorization: Bearer`.
    pub access_token: AccessToken,
    /// The claims inside `access_token`.
    pub access_claims: AccessClaims,
    /// Opaque token for the next refresh. Store it securely; it is single-use.
    pub refresh_token: RefreshToken,
    /// The session both belong to.
    pub session_id: SessionId,
}

/// What [`SessionManager::login`] needs to know about a successful authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    user_id: String,
    roles: Vec<String>,
    amr: Vec<String>,
    client: ClientInfo,
}

impl Login {
    /// A login of `user_id` (1 to 256 bytes, no control characters).
    pub fn new(user_id: impl Into<String>) -> Self {
        Self {
            user_id: user_id.into(),
            roles: Vec::new(),
            amr: Vec::new(),
            client: ClientInfo::new(),
        }
    }

    /// Roles copied into every access token of the session.
    pub fn roles<S: Into<String>>(mut self, roles: impl IntoIterator<Item = S>) -> Self {
        self.roles = roles.into_iter().map(Into::into).collect();
        self
    }

    /// Authentication methods used (RFC 8176 values such as `pwd`, `otp`, `hwk`).
    pub fn amr<S: Into<String>>(mut self, amr: impl IntoIterator<Item = S>) -> Self {
        self.amr = amr.into_iter().map(Into::into).collect();
        self
    }

    /// The device, address and user agent of the client.
    pub fn client(mut self, client: ClientInfo) -> Self {
        self.client = client;
        self
    }
}

/// Session lifetimes and refresh behaviour.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SessionConfig {
    idle_timeout: Duration,
    absolute_lifetime: Duration,
    refresh_grace: Duration,
    device_binding: bool,
    cache_ttl: Duration,
    cache_capacity: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(14 * 24 * 60 * 60),
            absolute_lifetime: Duration::from_secs(30 * 24 * 60 * 60),
            refresh_grace: Duration::ZERO,
            device_binding: false,
            cache_ttl: Duration::from_secs(5),
            cache_capacity: 10_000,
        }
    }
}

/// Configures a [`SessionManager`]; start with [`SessionManager::builder`].
#[derive(Debug)]
pub struct SessionManagerBuilder {
    store: Arc<DynSessionStore>,
    keys: KeyRing,
    policy: TokenPolicy,
    config: SessionConfig,
    clock: Arc<dyn Clock>,
    events: Sink,
}

impl SessionManagerBuilder {
    /// A session ends this long after its last use (default 14 days).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.idle_timeout = timeout;
        self
    }

    /// A session ends this long after login, however active (default 30 days).
    pub fn absolute_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.absolute_lifetime = lifetime;
        self
    }

    /// For this long after a rotation, presenting the rotated token again returns the same
    /// successor (and a fresh access token) instead of revoking the session, as long as the
    /// successor itself is unused. Absorbs benign races: two tabs refreshing at once, a retry
    /// after a lost response. Default: zero, off (strict RFC 9700 reuse detection); at most
    /// 5 minutes.
    pub fn refresh_grace(mut self, grace: Duration) -> Self {
        self.config.refresh_grace = grace;
        self
    }

    /// When on, logins must name a device id and a refresh token works only when presented
    /// with the device id it was issued to (default off).
    pub fn device_binding(mut self, enabled: bool) -> Self {
        self.config.device_binding = enabled;
        self
    }

    /// The session-state cache behind `verify_access(.., check_revoked = true)`: a revocation
    /// made by *another* process is seen after at most `ttl` (default 5 s, at most 5 minutes;
    /// zero disables the cache). Revocations made through this manager apply at once.
    /// `capacity` bounds the number of sessions remembered (default 10 000).
    pub fn revocation_cache(mut self, ttl: Duration, capacity: usize) -> Self {
        self.config.cache_ttl = ttl;
        self.config.cache_capacity = capacity;
        self
    }

    /// The clock for every expiry (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Where [`SessionEvent`]s go (default: nowhere).
    pub fn events(mut self, sink: impl EventSink) -> Self {
        self.events = Sink(Box::new(sink));
        self
    }

    /// Validates the configuration.
    pub fn build(self) -> Result<SessionManager> {
        let c = &self.config;
        if c.idle_timeout.is_zero() {
            return Err(Error::input("idle_timeout", "must be positive"));
        }
        if c.absolute_lifetime.is_zero() {
            return Err(Error::input("absolute_lifetime", "must be positive"));
        }
        if c.refresh_grace > MAX_GRACE {
            return Err(Error::input("refresh_grace", "must be at most 5 minutes"));
        }
        if c.cache_ttl > MAX_CACHE_TTL {
            return Err(Error::input(
                "revocation_cache",
                "ttl must be at most 5 minutes",
            ));
        }
        let tokens = AccessTokens::new(self.keys, self.policy)?.with_clock(self.clock.clone());
        Ok(SessionManager {
            cache: SessionCache::new(c.cache_ttl, c.cache_capacity),
            store: self.store,
            tokens,
            config: self.config,
            clock: self.clock,
            events: self.events,
        })
    }
}

/// Logins, refresh-token rotation with reuse detection, access-token verification and session
/// management over any [`SessionStore`](crate::SessionStore).
pub struct SessionManager {
    store: Arc<DynSessionStore>,
    tokens: AccessTokens,
    config: SessionConfig,
    clock: Arc<dyn Clock>,
    events: Sink,
    cache: SessionCache,
}

impl fmt::Debug for SessionManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionManager")
            .field("store", &self.store)
            .field("tokens", &self.tokens)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl SessionManager {
    /// Starts configuring a manager that signs with `keys` under `policy` and keeps state in
    /// `store`.
    pub fn builder(
        store: Arc<DynSessionStore>,
        keys: KeyRing,
        policy: TokenPolicy,
    ) -> SessionManagerBuilder {
        SessionManagerBuilder {
            store,
            keys,
            policy,
            config: SessionConfig::default(),
            clock: Arc::new(SystemClock),
            events: Sink(Box::new(NoEvents)),
        }
    }

    /// Issuing, verification, key rotation and JWKS.
    pub fn access_tokens(&self) -> &AccessTokens {
        &self.tokens
    }

    /// The public keys as a JWKS document, for `/.well-known/jwks.json`.
    pub fn jwks(&self) -> String {
        self.tokens.jwks()
    }

    /// The store behind this manager.
    pub fn store(&self) -> &Arc<DynSessionStore> {
        &self.store
    }

    fn now(&self) -> SystemTime {
        clock::truncate_millis(self.clock.now())
    }

    fn emit(&self, event: SessionEvent) {
        self.events.0.emit(&event);
    }

    /// Creates a session for an authenticated user and returns its first token pair.
    ///
    /// Emits [`SessionEvent::NewDevice`] the first time the user logs in with a device id,
    /// then [`SessionEvent::Login`].
    pub async fn login(&self, login: Login) -> Result<TokenPair> {
        let Login {
            user_id,
            roles,
            amr,
            client,
        } = login;
        validate_user_id(&user_id)?;
        validate_claim_values("roles", &roles)?;
        validate_claim_values("amr", &amr)?;
        let client = sanitize_client(client)?;
        if self.config.device_binding && client.device_id.is_none() {
            return Err(Error::input(
                "device_id",
                "required when device binding is on",
            ));
        }
        let now = self.now();

        if let Some(device_id) = &client.device_id {
            let device = DeviceRecord {
                user_id: user_id.clone(),
                device_id: device_id.clone(),
                name: client.device_name.clone(),
                first_seen: now,
                last_seen: now,
                trusted_until: None,
            };
            if self.store.record_device(&device).await? {
                self.emit(SessionEvent::NewDevice {
                    at: now,
                    user_id: user_id.clone(),
                    device_id: device_id.clone(),
                    device_name: client.device_name.clone(),
                    ip: client.ip,
                });
            }
        }

        let expires_at = clock::add(now, self.config.absolute_lifetime);
        let session = Session {
            id: SessionId::generate(),
            user_id,
            device_id: client.device_id.clone(),
            device_name: client.device_name.clone(),
            ip: client.ip,
            user_agent: client.user_agent.clone(),
            roles,
            amr,
            device_bound: self.config.device_binding,
            created_at: now,
            last_used_at: now,
            idle_expires_at: clock::add(now, self.config.idle_timeout).min(expires_at),
            expires_at,
            revoked_at: None,
            revoke_reason: None,
        };
        let (_, refresh_token) = Secret::generate();
        let first = RefreshTokenRecord {
            hash: TokenHash::of(refresh_token.as_str()),
            session_id: session.id.clone(),
            generation: 0,
            state: RefreshState::Active,
            issued_at: now,
            rotated_at: None,
            successor: None,
        };
        self.store.create_session(&session, &first).await?;
        self.emit(SessionEvent::Login {
            at: now,
            session_id: session.id.clone(),
            user_id: session.user_id.clone(),
            device_id: client.device_id,
            ip: client.ip,
            user_agent: client.user_agent,
        });
        self.pair(&session, refresh_token)
    }

    /// Exchanges a refresh token for a new pair, rotating it.
    ///
    /// * A malformed or unknown token: [`Error::InvalidRefreshToken`].
    /// * A token already rotated: the session is revoked, [`SessionEvent::ReuseDetected`] is
    ///   emitted and [`Error::RefreshTokenReused`] returned, unless the grace window applies.
    ///   Two concurrent refreshes of one token are indistinguishable from theft, so without a
    ///   grace window exactly one wins and the session is then revoked.
    /// * Revoked, expired or (with device binding) wrong device: [`Error::SessionRevoked`],
    ///   [`Error::SessionExpired`], [`Error::DeviceMismatch`].
    pub async fn refresh(&self, refresh_token: &str, client: &ClientInfo) -> Result<TokenPair> {
        let secret = Secret::parse(refresh_token)?;
        let hash = TokenHash::of(refresh_token);
        let client = sanitize_client(client.clone())?;
        let (record, session) = match self.store.refresh_token_with_session(&hash).await {
            Err(Error::NotFound { .. }) => return Err(Error::InvalidRefreshToken),
            other => other?,
        };
        let now = self.now();
        if session.revoked_at.is_some() {
            return Err(Error::SessionRevoked);
        }
        if !session.is_active_at(now) {
            return Err(Error::SessionExpired);
        }
        if session.device_bound && !same_device(&session, &client) {
            self.emit(SessionEvent::DeviceMismatch {
                at: now,
                session_id: session.id.clone(),
                user_id: session.user_id.clone(),
                presented_device_id: client.device_id.clone(),
                ip: client.ip,
            });
            return Err(Error::DeviceMismatch);
        }
        if record.state != RefreshState::Active {
            return self
                .presented_after_rotation(&record, &secret, &session, &client, now)
                .await;
        }

        let (next_secret, next_token) = Secret::generate();
        let next = RefreshTokenRecord {
            hash: TokenHash::of(next_token.as_str()),
            session_id: session.id.clone(),
            generation: record.generation + 1,
            state: RefreshState::Active,
            issued_at: now,
            rotated_at: None,
            successor: None,
        };
        let rotation = Rotation {
            session_id: session.id.clone(),
            previous: hash,
            sealed_next: secret.seal(&next_secret),
            at: now,
            idle_expires_at: clock::add(now, self.config.idle_timeout).min(session.expires_at),
            ip: client.ip,
            user_agent: client.user_agent.clone(),
            next,
        };
        match self.store.rotate(&rotation).await {
            Ok(()) => {}
            Err(Error::Conflict) => {
                // Another request rotated this token first: we are the replay (or the retry).
                let record = self.store.refresh_token(&hash).await?;
                return self
                    .presented_after_rotation(&record, &secret, &session, &client, now)
                    .await;
            }
            Err(e) => return Err(e),
        }
        self.emit(SessionEvent::Refreshed {
            at: now,
            session_id: session.id.clone(),
            user_id: session.user_id.clone(),
            generation: rotation.next.generation,
            grace_retry: false,
            ip: client.ip,
        });
        self.pair(&session, next_token)
    }

    async fn presented_after_rotation(
        &self,
        record: &RefreshTokenRecord,
        secret: &Secret,
        session: &Session,
        client: &ClientInfo,
        now: SystemTime,
    ) -> Result<TokenPair> {
        if let Some(token) = self.grace_successor(record, secret, now).await? {
            self.emit(SessionEvent::Refreshed {
                at: now,
                session_id: session.id.clone(),
                user_id: session.user_id.clone(),
                generation: record.generation + 1,
                grace_retry: true,
                ip: client.ip,
            });
            return self.pair(session, token);
        }
        self.emit(SessionEvent::ReuseDetected {
            at: now,
            session_id: session.id.clone(),
            user_id: session.user_id.clone(),
            generation: record.generation,
            ip: client.ip,
            user_agent: client.user_agent.clone(),
            device_id: client.device_id.clone(),
        });
        match self
            .store
            .revoke(
                &RevokeScope::Session(session.id.clone()),
                now,
                RevokeReason::ReuseDetected,
            )
            .await
        {
            Ok(revoked) => {
                self.revoked(&session.user_id, revoked, RevokeReason::ReuseDetected, now)
            }
            Err(Error::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
        Err(Error::RefreshTokenReused)
    }

    /// The existing successor, if the grace window covers this replay and the successor has
    /// not been used yet.
    async fn grace_successor(
        &self,
        record: &RefreshTokenRecord,
        secret: &Secret,
        now: SystemTime,
    ) -> Result<Option<RefreshToken>> {
        let (Some(rotated_at), Some(successor)) = (record.rotated_at, record.successor) else {
            return Ok(None);
        };
        let within_grace = now
            .duration_since(rotated_at)
            .is_ok_and(|since| since < self.config.refresh_grace);
        if !within_grace {
            return Ok(None);
        }
        match self.store.refresh_token(&successor.hash).await {
            Ok(next) if next.state == RefreshState::Active => {
                Ok(secret.open(&successor.sealed, &successor.hash))
            }
            Ok(_) | Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn pair(&self, session: &Session, refresh_token: RefreshToken) -> Result<TokenPair> {
        let grant = AccessGrant {
            subject: session.user_id.clone(),
            session_id: session.id.to_string(),
            roles: session.roles.clone(),
            device: session.device_id.clone(),
            amr: session.amr.clone(),
        };
        let (access_token, access_claims) = self.tokens.issue(&grant)?;
        Ok(TokenPair {
            access_token,
            access_claims,
            refresh_token,
            session_id: session.id.clone(),
        })
    }

    fn revoked(&self, user_id: &str, ids: Vec<SessionId>, reason: RevokeReason, now: SystemTime) {
        for session_id in ids {
            self.cache.mark_revoked(&session_id, now);
            self.emit(SessionEvent::Revoked {
                at: now,
                session_id,
                user_id: user_id.to_owned(),
                reason,
            });
        }
    }

    /// Verifies an access token's signature and claims; with `check_revoked`, also that its
    /// session is still active.
    ///
    /// Without `check_revoked` this is pure computation: a revoked session's access tokens stay
    /// valid until they expire (minutes). With it, a revocation made through this manager is
    /// seen at once and one made elsewhere within the cache TTL (see
    /// [`SessionManagerBuilder::revocation_cache`]); a cache miss costs one store read.
    pub async fn verify_access(&self, token: &str, check_revoked: bool) -> Result<AccessClaims> {
        let claims = self.tokens.verify(token)?;
        if check_revoked {
            let id = SessionId::parse(&claims.sid)
                .map_err(|_| Error::rejected(TokenRejection::Malformed))?;
            self.check_session(&id).await?;
        }
        Ok(claims)
    }

    async fn check_session(&self, id: &SessionId) -> Result<()> {
        let now = self.now();
        if let Some(snapshot) = self.cache.get(id, now) {
            if snapshot.revoked {
                return Err(Error::rejected(TokenRejection::SessionRevoked));
            }
            if now < snapshot.active_until {
                return Ok(());
            }
            // The cached expiry may predate a refresh that extended it: ask the store.
        }
        let session = match self.store.session(id).await {
            Err(Error::NotFound { .. }) => {
                return Err(Error::rejected(TokenRejection::SessionInactive));
            }
            other => other?,
        };
        self.cache.put(id, Snapshot::of(&session, now));
        if session.revoked_at.is_some() {
            Err(Error::rejected(TokenRejection::SessionRevoked))
        } else if session.is_active_at(now) {
            Ok(())
        } else {
            Err(Error::rejected(TokenRejection::SessionInactive))
        }
    }

    /// One session. [`Error::NotFound`] if unknown or purged.
    pub async fn session(&self, id: &SessionId) -> Result<Session> {
        self.store.session(id).await
    }

    /// The user's active sessions (not revoked, not expired), oldest first: the "where you're
    /// logged in" list.
    pub async fn sessions(&self, user_id: &str) -> Result<Vec<Session>> {
        validate_user_id(user_id)?;
        let now = self.now();
        let mut sessions = self.store.sessions_for_user(user_id).await?;
        sessions.retain(|s| s.is_active_at(now));
        Ok(sessions)
    }

    /// Signs out one session of `user_id`. A session of another user is [`Error::NotFound`],
    /// so a user cannot probe or revoke others' sessions by id.
    pub async fn revoke_session(&self, user_id: &str, session_id: &SessionId) -> Result<()> {
        validate_user_id(user_id)?;
        let session = self.store.session(session_id).await?;
        if session.user_id != user_id {
            return Err(Error::NotFound { what: "session" });
        }
        let now = self.now();
        let reason = RevokeReason::Logout;
        let ids = self
            .store
            .revoke(&RevokeScope::Session(session_id.clone()), now, reason)
            .await?;
        self.revoked(user_id, ids, reason, now);
        Ok(())
    }

    /// Signs out every session of `user_id`; returns how many were revoked.
    pub async fn revoke_all(&self, user_id: &str) -> Result<usize> {
        validate_user_id(user_id)?;
        let now = self.now();
        let reason = RevokeReason::LogoutAll;
        let ids = self
            .store
            .revoke(&RevokeScope::User(user_id.to_owned()), now, reason)
            .await?;
        let count = ids.len();
        self.revoked(user_id, ids, reason, now);
        Ok(count)
    }

    /// Signs out every session of `user_id` except `keep` (usually the current one); returns
    /// how many were revoked.
    pub async fn revoke_all_except(&self, user_id: &str, keep: &SessionId) -> Result<usize> {
        validate_user_id(user_id)?;
        let now = self.now();
        let reason = RevokeReason::LogoutOthers;
        let scope = RevokeScope::UserExcept {
            user_id: user_id.to_owned(),
            keep: keep.clone(),
        };
        let ids = self.store.revoke(&scope, now, reason).await?;
        let count = ids.len();
        self.revoked(user_id, ids, reason, now);
        Ok(count)
    }

    /// The devices `user_id` has logged in from.
    pub async fn devices(&self, user_id: &str) -> Result<Vec<DeviceRecord>> {
        validate_user_id(user_id)?;
        self.store.devices_for_user(user_id).await
    }

    /// Trusts a known device for `ttl` (at most 400 days); returns the expiry.
    /// [`Error::NotFound`] if the user never logged in from it.
    pub async fn trust_device(
        &self,
        user_id: &str,
        device_id: &str,
        ttl: Duration,
    ) -> Result<SystemTime> {
        validate_user_id(user_id)?;
        validate_device_id(device_id)?;
        if ttl.is_zero() || ttl > MAX_TRUST {
            return Err(Error::input("ttl", "must be between 1 ms and 400 days"));
        }
        let until = clock::add(self.now(), ttl);
        self.store
            .set_device_trust(user_id, device_id, Some(until))
            .await?;
        Ok(until)
    }

    /// Withdraws trust from a device. [`Error::NotFound`] if unknown.
    pub async fn untrust_device(&self, user_id: &str, device_id: &str) -> Result<()> {
        validate_user_id(user_id)?;
        validate_device_id(device_id)?;
        self.store.set_device_trust(user_id, device_id, None).await
    }

    /// Whether the device is known and its trust has not expired. Unknown devices are not
    /// trusted.
    pub async fn is_trusted_device(&self, user_id: &str, device_id: &str) -> Result<bool> {
        validate_user_id(user_id)?;
        validate_device_id(device_id)?;
        match self.store.device(user_id, device_id).await {
            Ok(device) => Ok(device.is_trusted_at(self.now())),
            Err(Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Deletes expired sessions and their refresh tokens; schedule it (hourly is plenty).
    pub async fn purge_expired(&self) -> Result<u64> {
        self.store.purge_expired(self.now()).await
    }
}

fn same_device(session: &Session, client: &ClientInfo) -> bool {
    match (&session.device_id, &client.device_id) {
        // The device id acts as a weak second secret here, so compare it without a timing leak.
        (Some(bound), Some(presented)) => bound.as_bytes().ct_eq(presented.as_bytes()).into(),
        _ => false,
    }
}

fn validate_user_id(user_id: &str) -> Result<()> {
    if user_id.is_empty() || user_id.len() > MAX_USER_ID {
        return Err(Error::input("user_id", "must be 1 to 256 bytes"));
    }
    if user_id.chars().any(char::is_control) {
        return Err(Error::input(
            "user_id",
            "must not contain control characters",
        ));
    }
    Ok(())
}

fn validate_device_id(device_id: &str) -> Result<()> {
    if device_id.is_empty() || device_id.len() > MAX_DEVICE_ID {
        return Err(Error::input("device_id", "must be 1 to 128 bytes"));
    }
    if device_id.chars().any(char::is_control) {
        return Err(Error::input(
            "device_id",
            "must not contain control characters",
        ));
    }
    Ok(())
}

fn validate_claim_values(field: &'static str, values: &[String]) -> Result<()> {
    if values.len() > MAX_CLAIM_VALUES {
        return Err(Error::input(field, "at most 64 values"));
    }
    if values
        .iter()
        .any(|v| v.is_empty() || v.len() > MAX_CLAIM_VALUE)
    {
        return Err(Error::input(field, "each value must be 1 to 128 bytes"));
    }
    Ok(())
}

/// Validates identifiers; truncates free text (the user agent) that clients control and that
/// should never make a login fail.
fn sanitize_client(mut client: ClientInfo) -> Result<ClientInfo> {
    if let Some(id) = &client.device_id {
        validate_device_id(id)?;
    }
    if let Some(name) = &client.device_name
        && (name.len() > MAX_DEVICE_NAME || name.chars().any(char::is_control))
    {
        return Err(Error::input(
            "device_name",
            "at most 256 bytes, no control characters",
        ));
    }
    if let Some(ua) = &mut client.user_agent {
        ua.retain(|c| !c.is_control());
        if ua.len() > MAX_USER_AGENT {
            let mut end = MAX_USER_AGENT;
            while !ua.is_char_boundary(end) {
                end -= 1;
            }
            ua.truncate(end);
        }
    }
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::keys::Algorithm;
    use crate::store::memory::MemorySessionStore;

    fn builder() -> SessionManagerBuilder {
        SessionManager::builder(
            Arc::new(MemorySessionStore::new()),
            KeyRing::generate(Algorithm::EdDSA).unwrap(),
            TokenPolicy::new("https://auth.example", "api"),
        )
        .clock(Arc::new(ManualClock::at_unix(1_700_000_000)))
    }

    #[test]
    fn configuration_is_validated() {
        let bad = [
            builder().idle_timeout(Duration::ZERO),
            builder().absolute_lifetime(Duration::ZERO),
            builder().refresh_grace(Duration::from_secs(301)),
            builder().revocation_cache(Duration::from_secs(301), 10),
        ];
        for b in bad {
            assert!(matches!(b.build(), Err(Error::InvalidInput { .. })));
        }
        assert!(
            builder()
                .refresh_grace(Duration::from_secs(300))
                .build()
                .is_ok()
        );
    }

    #[tokio::test]
    async fn login_input_is_validated() {
        let m = builder().build().unwrap();
        let too_many: Vec<String> = (0..65).map(|i| format!("r{i}")).collect();
        let cases = [
            Login::new(""),
            Login::new("x".repeat(257)),
            Login::new("bad\nuser"),
            Login::new("u").roles([""]),
            Login::new("u").roles(too_many),
            Login::new("u").amr(["x".repeat(129)]),
            Login::new("u").client(ClientInfo::new().device_id("")),
            Login::new("u").client(ClientInfo::new().device_id("d".repeat(129))),
            Login::new("u").client(ClientInfo::new().device_name("n\0")),
        ];
        for login in cases {
            let debug = format!("{login:?}");
            assert!(
                matches!(m.login(login).await, Err(Error::InvalidInput { .. })),
                "{debug}"
            );
        }
        let long_ua = format!("{}é\u{7}", "a".repeat(511));
        let pair = m
            .login(Login::new("u").client(ClientInfo::new().user_agent(long_ua)))
            .await
            .unwrap();
        let session = m.session(&pair.session_id).await.unwrap();
        let ua = session.user_agent.unwrap();
        assert_eq!(
            ua.len(),
            511,
            "truncated on a char boundary, control characters dropped"
        );
        assert!(!ua.contains('\u{7}'));
    }

    #[tokio::test]
    async fn token_pair_debug_hides_both_tokens() {
        let m = builder().build().unwrap();
        let pair = m.login(Login::new("alice")).await.unwrap();
        let debug = format!("{pair:?}");
        assert!(!debug.contains(pair.access_token.as_str()));
        assert!(!debug.contains(&pair.refresh_token.as_str()[4..]));
        assert!(debug.contains("alice"), "claims are not secret");
    }

    #[tokio::test]
    async fn malformed_sid_in_a_valid_token_is_rejected_under_check_revoked() {
        let m = builder().build().unwrap();
        let grant = AccessGrant {
            subject: "alice".into(),
            session_id: "not-a-session".into(),
            ..AccessGrant::default()
        };
        let (token, _) = m.access_tokens().issue(&grant).unwrap();
        assert!(m.verify_access(token.as_str(), false).await.is_ok());
        let checked = m.verify_access(token.as_str(), true).await;
        assert!(matches!(
            checked,
            Err(Error::AccessTokenRejected(TokenRejection::Malformed))
        ));
        let grant = AccessGrant {
            session_id: SessionId::generate().to_string(),
            ..grant
        };
        let (token, _) = m.access_tokens().issue(&grant).unwrap();
        let unknown = m.verify_access(token.as_str(), true).await;
        assert!(matches!(
            unknown,
            Err(Error::AccessTokenRejected(TokenRejection::SessionInactive))
        ));
    }

    /// Real parallelism (the conformance race interleaves on one task): on a multi-threaded
    /// runtime, one refresh wins and the session ends revoked.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn parallel_refreshes_on_threads_exactly_one_wins() {
        let m = Arc::new(builder().build().unwrap());
        let pair = m.login(Login::new("alice")).await.unwrap();
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (m, token) = (m.clone(), pair.refresh_token.as_str().to_owned());
                tokio::spawn(async move { m.refresh(&token, &ClientInfo::new()).await })
            })
            .collect();
        let mut wins = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => wins += 1,
                Err(Error::RefreshTokenReused | Error::SessionRevoked) => {}
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        assert_eq!(wins, 1);
        assert!(
            m.session(&pair.session_id)
                .await
                .unwrap()
                .revoked_at
                .is_some()
        );
    }
}
