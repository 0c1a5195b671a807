//! The records a [`SessionStore`](crate::SessionStore) keeps.

use std::fmt;
use std::net::IpAddr;
use std::time::SystemTime;

use crate::ids::SessionId;
use crate::refresh::{SealedSuccessor, TokenHash};

/// A login on one device: the unit that is listed, expires and is revoked.
///
/// Every refresh token issued for the session belongs to its one token family; revoking the
/// session revokes them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Identifier (the `sid` claim).
    pub id: SessionId,
    /// The user who logged in.
    pub user_id: String,
    /// Client-supplied device id, if any.
    pub device_id: Option<String>,
    /// Human-readable device name ("Alice's laptop").
    pub device_name: Option<String>,
    /// IP address at the last login or refresh.
    pub ip: Option<IpAddr>,
    /// User agent at the last login or refresh.
    pub user_agent: Option<String>,
    /// Roles copied into every access token of the session.
    pub roles: Vec<String>,
    /// Authentication methods used at login.
    pub amr: Vec<String>,
    /// Refresh tokens work only when presented with `device_id`.
    pub device_bound: bool,
    /// When the session was created.
    pub created_at: SystemTime,
    /// When it was last used (login or refresh).
    pub last_used_at: SystemTime,
    /// When it expires if not used again (`last_used_at + idle timeout`, capped by `expires_at`).
    pub idle_expires_at: SystemTime,
    /// Absolute end of the session, however active it is.
    pub expires_at: SystemTime,
    /// Set once the session is revoked.
    pub revoked_at: Option<SystemTime>,
    /// Why it was revoked.
    pub revoke_reason: Option<RevokeReason>,
}

impl Session {
    /// Not revoked and neither idle- nor absolutely expired at `now`.
    pub fn is_active_at(&self, now: SystemTime) -> bool {
        self.revoked_at.is_none() && now < self.idle_expires_at && now < self.expires_at
    }
}

/// Where a refresh token is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RefreshState {
    /// The one token of its session that may be exchanged.
    Active,
    /// Exchanged once; presenting it again is reuse (or, within the grace window, a retry).
    Rotated,
}

impl RefreshState {
    /// Storage form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Rotated => "rotated",
        }
    }

    /// Parses the storage form.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "rotated" => Some(Self::Rotated),
            _ => None,
        }
    }
}

/// The successor of a rotated token: its hash and the sealed token itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Successor {
    /// Hash of the token that replaced this one.
    pub hash: TokenHash,
    /// The successor, readable only with the rotated token (see [`SealedSuccessor`]).
    pub sealed: SealedSuccessor,
}

/// A refresh token as stored: never the token, only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshTokenRecord {
    /// SHA-256 of the token.
    pub hash: TokenHash,
    /// The session (token family) it belongs to.
    pub session_id: SessionId,
    /// 0 for the token issued at login, +1 per rotation.
    pub generation: u64,
    /// Active or rotated.
    pub state: RefreshState,
    /// When it was issued.
    pub issued_at: SystemTime,
    /// When it was rotated, if it was.
    pub rotated_at: Option<SystemTime>,
    /// What replaced it, if it was rotated.
    pub successor: Option<Successor>,
}

/// One refresh-token rotation, applied atomically by [`SessionStore::rotate`].
///
/// [`SessionStore::rotate`]: crate::SessionStore::rotate
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The session both tokens belong to.
    pub session_id: SessionId,
    /// The token being exchanged; must be active.
    pub previous: TokenHash,
    /// Its replacement, inserted as active.
    pub next: RefreshTokenRecord,
    /// `next`, sealed under `previous` (for grace-window retries).
    pub sealed_next: SealedSuccessor,
    /// Time of the rotation (becomes `rotated_at` and the session's `last_used_at`).
    pub at: SystemTime,
    /// The session's new idle expiry.
    pub idle_expires_at: SystemTime,
    /// The client's IP, if known (kept otherwise).
    pub ip: Option<IpAddr>,
    /// The client's user agent, if known (kept otherwise).
    pub user_agent: Option<String>,
}

/// Which sessions [`SessionStore::revoke`](crate::SessionStore::revoke) revokes.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevokeScope {
    /// One session.
    Session(SessionId),
    /// Every session of a user.
    User(String),
    /// Every session of a user except one (sign out other devices).
    UserExcept {
        /// The user.
        user_id: String,
        /// The session to keep.
        keep: SessionId,
    },
}

/// Why a session was revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RevokeReason {
    /// The session was signed out.
    Logout,
    /// The user signed out everywhere.
    LogoutAll,
    /// The user signed out every other session.
    LogoutOthers,
    /// A rotated refresh token was presented again (RFC 9700 §4.14.2).
    ReuseDetected,
    /// An administrator or an automated response revoked it.
    Admin,
}

impl RevokeReason {
    /// Storage form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Logout => "logout",
            Self::LogoutAll => "logout_all",
            Self::LogoutOthers => "logout_others",
            Self::ReuseDetected => "reuse_detected",
            Self::Admin => "admin",
        }
    }

    /// Parses the storage form.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "logout" => Self::Logout,
            "logout_all" => Self::LogoutAll,
            "logout_others" => Self::LogoutOthers,
            "reuse_detected" => Self::ReuseDetected,
            "admin" => Self::Admin,
            _ => return None,
        })
    }
}

impl fmt::Display for RevokeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A device a user has logged in from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRecord {
    /// The user.
    pub user_id: String,
    /// Client-supplied device id.
    pub device_id: String,
    /// Human-readable name, last one seen.
    pub name: Option<String>,
    /// First login from this device.
    pub first_seen: SystemTime,
    /// Latest login from this device.
    pub last_seen: SystemTime,
    /// Trusted (for example: skip MFA) until this time.
    pub trusted_until: Option<SystemTime>,
}

impl DeviceRecord {
    /// Whether the device is trusted at `now`.
    pub fn is_trusted_at(&self, now: SystemTime) -> bool {
        self.trusted_until.is_some_and(|until| now < until)
    }
}

/// What the server knows about the client making a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// A stable id the client generated for itself (for binding and new-device detection).
    pub device_id: Option<String>,
    /// A human-readable device name.
    pub device_name: Option<String>,
    /// The client's IP address.
    pub ip: Option<IpAddr>,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// No information.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the device id.
    pub fn device_id(mut self, id: impl Into<String>) -> Self {
        self.device_id = Some(id.into());
        self
    }

    /// Sets the device name.
    pub fn device_name(mut self, name: impl Into<String>) -> Self {
        self.device_name = Some(name.into());
        self
    }

    /// Sets the IP address.
    pub fn ip(mut self, ip: IpAddr) -> Self {
        self.ip = Some(ip);
        self
    }

    /// Sets the user agent.
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = Some(ua.into());
        self
    }
}
