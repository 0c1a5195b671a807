//! Timestamps that must carry a zone, and durations written for people.

use jiff::civil::{Date, DateTime};
use jiff::{SignedDuration, Timestamp};

/// Why a timestamp was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TimeError {
    /// A local date-time with no offset: which instant it names depends on where it was written.
    MissingZone,
    /// Not a timestamp at all.
    Invalid(String),
}

/// Parses an RFC 3339 timestamp, refusing local times (no `Z` or `±hh:mm`) instead of guessing.
pub(crate) fn parse_timestamp(text: &str) -> Result<Timestamp, TimeError> {
    let text = text.trim();
    match text.parse::<Timestamp>() {
        Ok(ts) => Ok(ts),
        Err(err) => {
            if text.parse::<DateTime>().is_ok() {
                Err(TimeError::MissingZone)
            } else {
                Err(TimeError::Invalid(err.to_string()))
            }
        }
    }
}

/// The message for a refused timestamp, shared by every input so they all read alike.
pub(crate) fn describe(text: &str, err: &TimeError) -> String {
    let text = text.trim();
    match err {
        TimeError::MissingZone => format!(
            "`{text}` has no time zone; write it as RFC 3339 with `Z` or an offset, e.g. `{text}Z`"
        ),
        TimeError::Invalid(why) => format!("`{text}` is not an RFC 3339 timestamp ({why})"),
    }
}

pub(crate) fn parse_date(text: &str) -> Result<Date, String> {
    text.trim().parse::<Date>().map_err(|e| e.to_string())
}

/// `7m 30s`, `1h 05m`, `2d 3h`: precise enough for a postmortem, short enough for a table cell.
pub(crate) fn human_duration(d: SignedDuration) -> String {
    let sign = if d.is_negative() { "-" } else { "" };
    let secs = d.as_secs().unsigned_abs();
    let (days, hours, minutes, seconds) = (
        secs / 86_400,
        secs % 86_400 / 3_600,
        secs % 3_600 / 60,
        secs % 60,
    );
    let body = if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {minutes:02}m")
    } else if minutes > 0 {
        format!("{minutes}m {seconds:02}s")
    } else {
        format!("{seconds}s")
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_need_a_zone() {
        assert!(parse_timestamp("2025-03-14T09:02:00Z").is_ok());
        assert!(parse_timestamp("2025-03-14T10:02:00+01:00").is_ok());
        assert_eq!(
            parse_timestamp("2025-03-14T09:02:00+01:00").unwrap(),
            parse_timestamp("2025-03-14T08:02:00Z").unwrap()
        );
        assert_eq!(
            parse_timestamp("2025-03-14T09:02:00"),
            Err(TimeError::MissingZone)
        );
        assert_eq!(parse_timestamp("2025-03-14"), Err(TimeError::MissingZone));
        assert!(matches!(
            parse_timestamp("yesterday"),
            Err(TimeError::Invalid(_))
        ));
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human_duration(SignedDuration::from_secs(45)), "45s");
        assert_eq!(human_duration(SignedDuration::from_secs(450)), "7m 30s");
        assert_eq!(human_duration(SignedDuration::from_secs(3_900)), "1h 05m");
        assert_eq!(human_duration(SignedDuration::from_secs(183_600)), "2d 3h");
        assert_eq!(human_duration(SignedDuration::from_secs(-60)), "-1m 00s");
    }
}
