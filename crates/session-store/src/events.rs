use std::fmt;
use std::net::IpAddr;
use std::time::SystemTime;

use crate::ids::SessionId;
use crate::model::RevokeReason;

/// Something security-relevant happened to a session. Feed these to an audit log or an
/// anomaly detector through an [`EventSink`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionEvent {
    /// A user logged in and a session was created.
    Login {
        /// When.
        at: SystemTime,
        /// The new session.
        session_id: SessionId,
        /// Who.
        user_id: String,
        /// From which device, if known.
        device_id: Option<String>,
        /// From which address, if known.
        ip: Option<IpAddr>,
        /// With which user agent, if known.
        user_agent: Option<String>,
    },
    /// A user logged in from a device id never seen for them before.
    NewDevice {
        /// When.
        at: SystemTime,
        /// Who.
        user_id: String,
        /// The new device.
        device_id: String,
        /// Its name, if given.
        device_name: Option<String>,
        /// From which address, if known.
        ip: Option<IpAddr>,
    },
    /// A refresh token was exchanged for a new pair.
    Refreshed {
        /// When.
        at: SystemTime,
        /// The session.
        session_id: SessionId,
        /// Whose.
        user_id: String,
        /// Generation of the refresh token now active.
        generation: u64,
        /// `true` when a retry inside the grace window received the existing successor.
        grace_retry: bool,
        /// From which address, if known.
        ip: Option<IpAddr>,
    },
    /// A rotated refresh token was presented again: probable theft. The session was revoked.
    ReuseDetected {
        /// When.
        at: SystemTime,
        /// The session (token family), now revoked.
        session_id: SessionId,
        /// Whose.
        user_id: String,
        /// Generation of the token that was replayed.
        generation: u64,
        /// Who presented it: address, if known.
        ip: Option<IpAddr>,
        /// Who presented it: user agent, if known.
        user_agent: Option<String>,
        /// Who presented it: device id, if known.
        device_id: Option<String>,
    },
    /// Device binding refused a refresh token presented by another device.
    DeviceMismatch {
        /// When.
        at: SystemTime,
        /// The session.
        session_id: SessionId,
        /// Whose.
        user_id: String,
        /// The device id presented (the bound one is in the session).
        presented_device_id: Option<String>,
        /// From which address, if known.
        ip: Option<IpAddr>,
    },
    /// A session was revoked.
    Revoked {
        /// When.
        at: SystemTime,
        /// The session.
        session_id: SessionId,
        /// Whose.
        user_id: String,
        /// Why.
        reason: RevokeReason,
    },
}

/// Receives [`SessionEvent`]s. Called synchronously on the request path, so keep it quick:
/// push onto a channel or an outbox rather than doing I/O.
///
/// Any `Fn(&SessionEvent) + Send + Sync` closure is a sink.
pub trait EventSink: Send + Sync + 'static {
    /// Handles one event.
    fn emit(&self, event: &SessionEvent);
}

impl<F: Fn(&SessionEvent) + Send + Sync + 'static> EventSink for F {
    fn emit(&self, event: &SessionEvent) {
        self(event);
    }
}

/// The default sink: drops everything.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct NoEvents;

impl EventSink for NoEvents {
    fn emit(&self, _: &SessionEvent) {}
}

pub(crate) struct Sink(pub(crate) Box<dyn EventSink>);

impl fmt::Debug for Sink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EventSink")
    }
}
