//! Reading the RBA dataset (Wiefling et al.) or any CSV with its columns.
//!
//! Columns used, by header name: `Login Timestamp`, `User ID`, `IP Address`, `Country`,
//! `City`, `ASN`, `User Agent String`, `Login Successful`, `Is Account Takeover`. Others are
//! ignored. The dataset has no device ids, coordinates or file actions.

use std::io::BufRead;

use super::generator::{AttackKind, LabelledEvent, Stream};
use crate::{Error, Event, Outcome, Result, Timestamp};

/// Splits one CSV line (RFC 4180 quoting, `""` inside quotes).
fn split_csv(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if field.is_empty() => quoted = true,
            (',', false) => fields.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// Days from 1970-01-01 to a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses `YYYY-MM-DD HH:MM:SS[.fff]` (UTC) or integer Unix milliseconds.
fn parse_time(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if let Ok(ms) = s.parse::<i64>() {
        return Some(Timestamp::from_unix_millis(ms));
    }
    let (date, time) = s.split_once([' ', 'T'])?;
    let mut d = date.splitn(3, '-').map(|x| x.parse::<i64>().ok());
    let (y, mo, da) = (d.next()??, d.next()??, d.next()??);
    let time = time.split('.').next()?;
    let mut t = time.splitn(3, ':').map(|x| x.parse::<i64>().ok());
    let (h, mi, se) = (t.next()??, t.next()??, t.next().flatten().unwrap_or(0));
    if !(1..=12).contains(&mo)
        || !(1..=31).contains(&da)
        || !(0..24).contains(&h)
        || !(0..60).contains(&mi)
        || !(0..=60).contains(&se)
    {
        return None;
    }
    Some(Timestamp::from_unix_seconds(
        days_from_civil(y, mo, da) * 86_400 + h * 3600 + mi * 60 + se,
    ))
}

fn truthy(s: &str) -> bool {
    matches!(s.trim().to_ascii_lowercase().as_str(), "true" | "1" | "yes")
}

/// Reads an RBA-style CSV into a [`Stream`]; account takeovers are labelled
/// [`AttackKind::AccountTakeover`]. Metrics count events from `warmup_end` on.
///
/// # Errors
/// [`Error::Io`] on read errors; [`Error::Csv`] when a required column is missing from the
/// header or a row has an unreadable timestamp or ASN.
pub fn read_rba_csv(reader: impl BufRead, warmup_end: Timestamp) -> Result<Stream> {
    let mut lines = reader.lines();
    let header = lines.next().ok_or(Error::Csv {
        line: 1,
        reason: "empty file".into(),
    })??;
    let header: Vec<String> = split_csv(header.trim_start_matches('\u{feff}'));
    let column = |name: &str| -> Result<usize> {
        header
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
            .ok_or_else(|| Error::Csv {
                line: 1,
                reason: format!("missing column {name:?}"),
            })
    };
    let (time, user, ip, country, city, asn, ua, success, ato) = (
        column("Login Timestamp")?,
        column("User ID")?,
        column("IP Address")?,
        column("Country")?,
        column("City")?,
        column("ASN")?,
        column("User Agent String")?,
        column("Login Successful")?,
        column("Is Account Takeover")?,
    );
    let mut events = Vec::new();
    for (i, line) in lines.enumerate() {
        let line = line?;
        let n = i + 2;
        if line.trim().is_empty() {
            continue;
        }
        let f = split_csv(&line);
        let get = |c: usize| f.get(c).map(String::as_str).unwrap_or("");
        let t = parse_time(get(time)).ok_or_else(|| Error::Csv {
            line: n,
            reason: "unreadable Login Timestamp".into(),
        })?;
        let mut e = Event::login(get(user), t);
        if !get(ip).is_empty() {
            e = e.with_ip(get(ip));
        }
        if !get(country).is_empty() && get(country) != "-" {
            e = e.with_country(get(country));
        }
        if !get(city).is_empty() && get(city) != "-" {
            e = e.with_city(get(city));
        }
        if !get(asn).trim().is_empty() {
            let a = get(asn).trim().trim_start_matches("AS").parse::<u32>();
            e = e.with_asn(a.map_err(|_| Error::Csv {
                line: n,
                reason: "unreadable ASN".into(),
            })?);
        }
        if !get(ua).is_empty() {
            e = e.with_user_agent(get(ua));
        }
        if !truthy(get(success)) {
            e = e.with_outcome(Outcome::Failure);
        }
        let attack = truthy(get(ato)).then_some(AttackKind::AccountTakeover);
        events.push(LabelledEvent { event: e, attack });
    }
    Ok(Stream::new(events, warmup_end))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "index,Login Timestamp,User ID,Round-Trip Time [ms],IP Address,Country,Region,City,ASN,User Agent String,Browser Name and Version,OS Name and Version,Device Type,Login Successful,Is Attack IP,Is Account Takeover
0,2020-02-03 12:43:30.772,-4324475583306591935,,10.0.65.171,NO,-,-,29695,\"Mozilla/5.0  (iPhone; CPU iPhone OS 13_4 like Mac OS X) AppleWebKit/537.36 (KHTML, like Gecko Chrome/70.0.3538.121.128 Mobile Safari/537.36 iOS 13.4\",Chrome Mobile 70.0.3538,iOS 13.4,mobile,False,False,False
1,2020-02-03 12:43:43.549,-4324475583306591935,,10.0.65.171,NO,-,-,29695,\"Mozilla/5.0 (iPad)\",Chrome,iOS,mobile,True,True,True
";

    #[test]
    fn reads_the_rba_columns() {
        let s = read_rba_csv(SAMPLE.as_bytes(), Timestamp::from_unix_seconds(0)).unwrap();
        assert_eq!(s.events.len(), 2);
        let first = &s.events[0];
        assert_eq!(first.event.time.unix_seconds(), 1_580_733_810);
        assert_eq!(first.event.outcome, Outcome::Failure);
        assert_eq!(first.event.asn, Some(29695));
        assert!(
            first
                .event
                .user_agent
                .as_deref()
                .unwrap()
                .contains("KHTML, like Gecko")
        );
        assert_eq!(first.attack, None);
        assert_eq!(s.events[1].attack, Some(AttackKind::AccountTakeover));
    }

    #[test]
    fn reports_missing_columns_and_bad_rows() {
        let err =
            read_rba_csv("a,b\n1,2\n".as_bytes(), Timestamp::from_unix_seconds(0)).unwrap_err();
        assert!(matches!(err, Error::Csv { line: 1, .. }));
        let bad = SAMPLE.replace("2020-02-03 12:43:43.549", "yesterday");
        let err = read_rba_csv(bad.as_bytes(), Timestamp::from_unix_seconds(0)).unwrap_err();
        assert!(matches!(err, Error::Csv { line: 3, .. }));
    }

    #[test]
    fn civil_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2024, 1, 1), 19_723);
        assert_eq!(
            parse_time("2024-01-01T00:00:00").map(|t| t.unix_seconds()),
            Some(1_704_067_200)
        );
        assert_eq!(parse_time("2024-13-01 00:00:00"), None);
    }
}
