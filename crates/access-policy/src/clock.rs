//! Time: a millisecond timestamp with RFC 3339 text, and an injectable clock.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};

/// Milliseconds since the Unix epoch (UTC). Its text form is RFC 3339 (`2026-01-31T12:00:00.000Z`),
/// the same form Cedar's `datetime(...)` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// Cedar's datetime range is far wider, but four-digit years keep the text form unambiguous.
const MIN_MILLIS: i64 = -62_135_596_800_000; // 0001-01-01T00:00:00Z
const MAX_MILLIS: i64 = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

impl Timestamp {
    /// The timestamp `millis` milliseconds after the epoch; refuses years outside 0001..=9999.
    pub fn from_millis(millis: i64) -> Result<Self> {
        if (MIN_MILLIS..=MAX_MILLIS).contains(&millis) {
            Ok(Self(millis))
        } else {
            Err(Error::InvalidInput(format!(
                "timestamp {millis} ms is outside years 0001..=9999"
            )))
        }
    }

    /// Milliseconds since the epoch.
    pub fn as_millis(self) -> i64 {
        self.0
    }

    /// The timestamp for a `SystemTime`.
    pub fn from_system_time(t: SystemTime) -> Result<Self> {
        let millis = match t.duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
        };
        Self::from_millis(millis)
    }

    /// This timestamp plus `secs` seconds (saturating at the supported range).
    #[must_use]
    pub fn plus_seconds(self, secs: i64) -> Self {
        Self(
            self.0
                .saturating_add(secs.saturating_mul(1000))
                .clamp(MIN_MILLIS, MAX_MILLIS),
        )
    }

    /// Parses `YYYY-MM-DD`, `YYYY-MM-DDThh:mm:ss[.fff](Z|±hh:mm)`.
    pub fn parse(text: &str) -> Result<Self> {
        parse_rfc3339(text).ok_or_else(|| {
            Error::InvalidInput(format!(
                "`{text}` is not an RFC 3339 timestamp like 2026-01-31T12:00:00Z"
            ))
        })
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let days = self.0.div_euclid(86_400_000);
        let ms_of_day = self.0.rem_euclid(86_400_000);
        let (y, m, d) = civil_from_days(days);
        let (h, rest) = (ms_of_day / 3_600_000, ms_of_day % 3_600_000);
        let (min, rest) = (rest / 60_000, rest % 60_000);
        let (s, ms) = (rest / 1000, rest % 1000);
        write!(f, "{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{ms:03}Z")
    }
}

impl std::str::FromStr for Timestamp {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

// Howard Hinnant's days-from-civil algorithms (proleptic Gregorian calendar).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn digits(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_rfc3339(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    let (date, time) = match text.split_once(['T', 't']) {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let mut parts = date.split('-');
    let (y, m, d) = (
        parts.next().filter(|p| p.len() == 4).and_then(digits)?,
        parts.next().filter(|p| p.len() == 2).and_then(digits)?,
        parts.next().filter(|p| p.len() == 2).and_then(digits)?,
    );
    if parts.next().is_some() || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    let mut millis = days_from_civil(y, m, d) * 86_400_000;
    if let Some(time) = time {
        let (clock, offset_ms) = if let Some(c) = time.strip_suffix(['Z', 'z']) {
            (c, 0)
        } else {
            let pos = time.rfind(['+', '-'])?;
            let (c, off) = time.split_at(pos);
            let sign = if off.starts_with('-') { -1 } else { 1 };
            let (oh, om) = off.get(1..)?.split_once(':')?;
            let (oh, om) = (digits(oh)?, digits(om)?);
            if oh > 23 || om > 59 {
                return None;
            }
            (c, sign * (oh * 3_600_000 + om * 60_000))
        };
        let (hms, frac) = match clock.split_once('.') {
            Some((a, b)) => (a, Some(b)),
            None => (clock, None),
        };
        let mut hms = hms.split(':');
        let (h, mi, s) = (
            hms.next().filter(|p| p.len() == 2).and_then(digits)?,
            hms.next().filter(|p| p.len() == 2).and_then(digits)?,
            hms.next().filter(|p| p.len() == 2).and_then(digits)?,
        );
        if hms.next().is_some() || h > 23 || mi > 59 || s > 59 {
            return None;
        }
        let ms = match frac {
            Some(f) if !f.is_empty() && f.len() <= 9 => {
                let f3: String = f.chars().chain("000".chars()).take(3).collect();
                digits(f)?;
                digits(&f3)?
            }
            Some(_) => return None,
            None => 0,
        };
        millis += h * 3_600_000 + mi * 60_000 + s * 1000 + ms - offset_ms;
    }
    Timestamp::from_millis(millis).ok()
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Where the engine reads "now" when a request's context carries none (for share expiry).
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_system_time(SystemTime::now()).unwrap_or(Timestamp(MAX_MILLIS))
    }
}

/// A clock that only moves when told to: for tests.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: Timestamp) -> Self {
        Self(AtomicI64::new(start.as_millis()))
    }

    /// Sets the time.
    pub fn set(&self, t: Timestamp) {
        self.0.store(t.as_millis(), Ordering::SeqCst);
    }

    /// Moves the time forward by `secs` seconds.
    pub fn advance_seconds(&self, secs: i64) {
        let next = self.now().plus_seconds(secs);
        self.set(next);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_and_parses_known_instants() {
        let t = Timestamp::parse("2026-01-31T12:34:56.789Z").unwrap();
        assert_eq!(t.to_string(), "2026-01-31T12:34:56.789Z");
        assert_eq!(Timestamp::parse("1970-01-01").unwrap().as_millis(), 0);
        assert_eq!(
            Timestamp::parse("1970-01-01T01:00:00+01:00")
                .unwrap()
                .as_millis(),
            0
        );
        assert_eq!(
            Timestamp::parse("2024-02-29").unwrap().to_string(),
            "2024-02-29T00:00:00.000Z"
        );
    }

    #[test]
    fn refuses_bad_text() {
        for bad in [
            "",
            "2026-13-01",
            "2026-02-30",
            "2023-02-29",
            "2026-01-01T25:00:00Z",
            "x",
            "2026-01-01T10:00Z",
            "2026-1-01",
        ] {
            assert!(
                matches!(Timestamp::parse(bad), Err(Error::InvalidInput(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(Timestamp::from_millis(1000).unwrap());
        assert_eq!(c.now().as_millis(), 1000);
        c.advance_seconds(2);
        assert_eq!(c.now().as_millis(), 3000);
    }

    proptest! {
        #[test]
        fn round_trips(ms in MIN_MILLIS..=MAX_MILLIS) {
            let t = Timestamp::from_millis(ms).unwrap();
            prop_assert_eq!(Timestamp::parse(&t.to_string()).unwrap(), t);
        }

        #[test]
        fn parse_never_panics(s in ".{0,40}") {
            let _ = Timestamp::parse(&s);
        }
    }
}
