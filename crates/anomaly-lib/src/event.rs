//! What the model scores: logins and file actions.

use serde::{Deserialize, Serialize};

/// A point in time, in whole seconds since the Unix epoch (UTC).
///
/// The model never reads a wall clock: every time-dependent computation (decay, rate windows,
/// travel speed, hour of week) uses the times carried by events, which makes replay and tests
/// deterministic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    /// From seconds since the Unix epoch.
    pub const fn from_unix_seconds(seconds: i64) -> Self {
        Timestamp(seconds)
    }

    /// From milliseconds since the Unix epoch (rounded down to the second).
    pub const fn from_unix_millis(millis: i64) -> Self {
        Timestamp(millis.div_euclid(1000))
    }

    /// Seconds since the Unix epoch.
    pub const fn unix_seconds(self) -> i64 {
        self.0
    }

    /// Hour of the week in UTC, 0 = Monday 00:00-00:59 ... 167 = Sunday 23:00-23:59.
    pub const fn hour_of_week(self) -> u8 {
        // 1970-01-01 was a Thursday, three days after a Monday.
        let hours = self.0.div_euclid(3600) + 3 * 24;
        hours.rem_euclid(168) as u8
    }
}

/// What kind of event happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// An authentication attempt.
    Login,
    /// An action on a file.
    File(FileAction),
}

/// An action on a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FileAction {
    /// Content left the platform (counts towards download rate and volume).
    Download,
    /// Content viewed in place.
    Read,
    /// Content added or replaced.
    Upload,
    /// A file removed.
    Delete,
    /// A share or link created.
    Share,
    /// Anything else.
    Other,
}

/// Whether the attempt succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The login or action succeeded.
    #[default]
    Success,
    /// It was refused (wrong password, permission denied...).
    Failure,
}

/// A geographic position in degrees (WGS 84).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    /// Latitude, -90..=90.
    pub lat: f64,
    /// Longitude, -180..=180.
    pub lon: f64,
}

impl GeoPoint {
    /// Whether both numbers are finite and within range; invalid points are ignored (and
    /// reported) by the model.
    pub fn is_valid(&self) -> bool {
        self.lat.is_finite()
            && self.lon.is_finite()
            && (-90.0..=90.0).contains(&self.lat)
            && (-180.0..=180.0).contains(&self.lon)
    }

    /// Great-circle distance in kilometres (haversine).
    pub fn distance_km(&self, other: &GeoPoint) -> f64 {
        const EARTH_RADIUS_KM: f64 = 6371.0;
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon - self.lon).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
    }
}

/// One login or file action, as the platform saw it.
///
/// Only `user`, `time` and `kind` are required; every other field is optional and its absence
/// is reported in the [`Risk`](crate::Risk) reasons rather than treated as an error. Network
/// fields are accepted as strings, the way they arrive from logs and geo-IP lookups, so that
/// a malformed value is scored (and explained) instead of rejected.
///
/// ```
/// use strongroom_anomaly::{Event, FileAction, Timestamp};
/// let t = Timestamp::from_unix_seconds(1_700_000_000);
/// let login = Event::login("alice", t)
///     .with_ip("203.0.113.7")
///     .with_asn(64500)
///     .with_country("DE")
///     .with_user_agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36");
/// let download = Event::file("alice", t, FileAction::Download)
///     .with_resource("/reports/q3.xlsx")
///     .with_bytes(48_000);
/// # let _ = (login, download);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Event {
    /// The account the event belongs to.
    pub user: String,
    /// When it happened.
    pub time: Timestamp,
    /// Login or file action.
    pub kind: EventKind,
    /// Success or failure.
    #[serde(default)]
    pub outcome: Outcome,
    /// Client IP address, as text (IPv4 or IPv6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// Network prefix; derived from `ip` (/24 or /48) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Autonomous system number of the network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asn: Option<u32>,
    /// Country code (ISO 3166-1 alpha-2 expected, any text accepted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// City name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// Geo-IP position, used for impossible-travel detection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coordinates: Option<GeoPoint>,
    /// Raw `User-Agent` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// A stable device identifier (cookie, device-bound session key...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// Size of the transfer, for file actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// The file or folder acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
}

impl Event {
    fn new(user: impl Into<String>, time: Timestamp, kind: EventKind) -> Self {
        Event {
            user: user.into(),
            time,
            kind,
            outcome: Outcome::Success,
            ip: None,
            prefix: None,
            asn: None,
            country: None,
            city: None,
            coordinates: None,
            user_agent: None,
            device_id: None,
            bytes: None,
            resource: None,
        }
    }

    /// A successful login; chain `with_*` to add context.
    pub fn login(user: impl Into<String>, time: Timestamp) -> Self {
        Self::new(user, time, EventKind::Login)
    }

    /// A successful file action; chain `with_*` to add context.
    pub fn file(user: impl Into<String>, time: Timestamp, action: FileAction) -> Self {
        Self::new(user, time, EventKind::File(action))
    }

    /// Sets the outcome.
    pub fn with_outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    /// Sets the client IP address (text; a malformed address is scored as such).
    pub fn with_ip(mut self, ip: impl Into<String>) -> Self {
        self.ip = Some(ip.into());
        self
    }

    /// Sets the network prefix explicitly (for example a BGP prefix from a geo-IP database).
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// Sets the autonomous system number.
    pub fn with_asn(mut self, asn: u32) -> Self {
        self.asn = Some(asn);
        self
    }

    /// Sets the country code.
    pub fn with_country(mut self, country: impl Into<String>) -> Self {
        self.country = Some(country.into());
        self
    }

    /// Sets the city.
    pub fn with_city(mut self, city: impl Into<String>) -> Self {
        self.city = Some(city.into());
        self
    }

    /// Sets the geo-IP position.
    pub fn with_coordinates(mut self, lat: f64, lon: f64) -> Self {
        self.coordinates = Some(GeoPoint { lat, lon });
        self
    }

    /// Sets the raw `User-Agent` header.
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// Sets the device identifier.
    pub fn with_device_id(mut self, device_id: impl Into<String>) -> Self {
        self.device_id = Some(device_id.into());
        self
    }

    /// Sets the transfer size in bytes.
    pub fn with_bytes(mut self, bytes: u64) -> Self {
        self.bytes = Some(bytes);
        self
    }

    /// Sets the file or folder acted on.
    pub fn with_resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hour_of_week_starts_monday() {
        // 2024-01-01 00:30 UTC was a Monday.
        assert_eq!(
            Timestamp::from_unix_seconds(1_704_069_000).hour_of_week(),
            0
        );
        // 2024-01-07 23:30 UTC was a Sunday.
        assert_eq!(
            Timestamp::from_unix_seconds(1_704_670_200).hour_of_week(),
            167
        );
        assert!(Timestamp::from_unix_seconds(i64::MIN).hour_of_week() < 168);
        assert!(Timestamp::from_unix_seconds(i64::MAX).hour_of_week() < 168);
    }

    #[test]
    fn millis_round_down() {
        assert_eq!(Timestamp::from_unix_millis(-1).unix_seconds(), -1);
        assert_eq!(Timestamp::from_unix_millis(1999).unix_seconds(), 1);
    }

    #[test]
    fn distance_is_sane() {
        let berlin = GeoPoint {
            lat: 52.52,
            lon: 13.405,
        };
        let paris = GeoPoint {
            lat: 48.8566,
            lon: 2.3522,
        };
        let d = berlin.distance_km(&paris);
        assert!((870.0..890.0).contains(&d), "{d}");
        assert!(
            !GeoPoint {
                lat: f64::NAN,
                lon: 0.0
            }
            .is_valid()
        );
        assert!(
            !GeoPoint {
                lat: 91.0,
                lon: 0.0
            }
            .is_valid()
        );
    }
}
