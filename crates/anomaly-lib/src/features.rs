//! From an [`Event`] to hashed categorical values, once per event.

use std::net::IpAddr;
use std::sync::Arc;

use crate::event::{Event, GeoPoint};
use crate::hash::{hash_value, mix};
use crate::risk::Feature;
use crate::user_agent::{ParsedUserAgent, UserAgentParser};

/// Categorical slots; the index is also the hash namespace (plus one) and the index of the
/// user's table.
pub(crate) const IP: usize = 0;
pub(crate) const PREFIX: usize = 1;
pub(crate) const ASN: usize = 2;
pub(crate) const COUNTRY: usize = 3;
pub(crate) const USER_AGENT: usize = 4;
pub(crate) const BROWSER: usize = 5;
pub(crate) const OS: usize = 6;
pub(crate) const DEVICE_CLASS: usize = 7;
pub(crate) const DEVICE_ID: usize = 8;
pub(crate) const SLOTS: usize = 9;
const RESOURCE_TAG: u8 = 100;

pub(crate) const SLOT_FEATURES: [Feature; SLOTS] = [
    Feature::Ip,
    Feature::Prefix,
    Feature::Asn,
    Feature::Country,
    Feature::UserAgent,
    Feature::Browser,
    Feature::Os,
    Feature::DeviceClass,
    Feature::DeviceId,
];

/// Coarse to fine, after Freeman et al.: a finer value is scored given its coarser one.
pub(crate) const NETWORK: [usize; 4] = [COUNTRY, ASN, PREFIX, IP];
pub(crate) const CLIENT: [usize; 4] = [DEVICE_CLASS, OS, BROWSER, USER_AGENT];
pub(crate) const DEVICE: [usize; 1] = [DEVICE_ID];

/// Longest free-text value kept verbatim in a reason.
const MAX_REASON_TEXT: usize = 200;

#[derive(Debug)]
pub(crate) struct Extracted<'e> {
    pub event: &'e Event,
    pub hashes: [Option<u64>; SLOTS],
    pub ip: Option<IpAddr>,
    pub ip_malformed: bool,
    pub user_agent: Option<Arc<ParsedUserAgent>>,
    pub coordinates: Option<GeoPoint>,
    pub coordinates_malformed: bool,
    pub resource: Option<u64>,
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn hash_bytes(tag: u8, bytes: &[u8]) -> u64 {
    let mut h = u64::from(tag) << 56;
    for chunk in bytes.chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        h = mix(h ^ u64::from_le_bytes(word));
    }
    h
}

fn tag(slot: usize) -> u8 {
    slot as u8 + 1
}

fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// The network prefix of an address: /24 for IPv4, /48 for IPv6.
fn prefix_hash(ip: IpAddr) -> u64 {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            hash_bytes(tag(PREFIX), &[o[0], o[1], o[2], 24])
        }
        IpAddr::V6(v6) => {
            let o = v6.octets();
            hash_bytes(tag(PREFIX), &[o[0], o[1], o[2], o[3], o[4], o[5], 48])
        }
    }
}

impl<'e> Extracted<'e> {
    pub(crate) fn new(event: &'e Event, parser: &UserAgentParser) -> Self {
        let mut hashes = [None; SLOTS];

        let (ip, ip_malformed) = match non_empty(&event.ip) {
            Some(text) => match text.parse::<IpAddr>() {
                Ok(ip) => (Some(canonical_ip(ip)), false),
                Err(_) => (None, true),
            },
            None => (None, false),
        };
        if let Some(ip) = ip {
            hashes[IP] = Some(match ip {
                IpAddr::V4(v4) => hash_bytes(tag(IP), &v4.octets()),
                IpAddr::V6(v6) => hash_bytes(tag(IP), &v6.octets()),
            });
        }
        hashes[PREFIX] = match non_empty(&event.prefix) {
            Some(p) => Some(hash_value(tag(PREFIX), p)),
            None => ip.map(prefix_hash),
        };
        hashes[ASN] = event.asn.map(|a| hash_bytes(tag(ASN), &a.to_le_bytes()));
        hashes[COUNTRY] =
            non_empty(&event.country).map(|c| hash_value(tag(COUNTRY), &c.to_ascii_uppercase()));

        let user_agent = event.user_agent.as_deref().map(|ua| parser.parse(ua));
        if let (Some(raw), Some(parsed)) = (event.user_agent.as_deref(), user_agent.as_deref()) {
            if !parsed.malformed {
                hashes[USER_AGENT] = Some(hash_value(tag(USER_AGENT), raw));
            }
            hashes[BROWSER] = parsed
                .browser
                .as_deref()
                .map(|v| hash_value(tag(BROWSER), v));
            hashes[OS] = parsed.os.as_deref().map(|v| hash_value(tag(OS), v));
            hashes[DEVICE_CLASS] = parsed
                .device_class
                .as_deref()
                .map(|v| hash_value(tag(DEVICE_CLASS), v));
        }
        hashes[DEVICE_ID] = non_empty(&event.device_id).map(|d| hash_value(tag(DEVICE_ID), d));

        let (coordinates, coordinates_malformed) = match event.coordinates {
            Some(p) if p.is_valid() => (Some(p), false),
            Some(_) => (None, true),
            None => (None, false),
        };
        let resource = non_empty(&event.resource).map(|r| hash_value(RESOURCE_TAG, r));

        Extracted {
            event,
            hashes,
            ip,
            ip_malformed,
            user_agent,
            coordinates,
            coordinates_malformed,
            resource,
        }
    }

    /// Human-readable value of a slot, for reasons.
    pub(crate) fn text(&self, slot: usize) -> String {
        let e = self.event;
        let s = match slot {
            IP => self.ip.map(|ip| ip.to_string()),
            PREFIX => match non_empty(&e.prefix) {
                Some(p) => Some(p.to_owned()),
                None => self.ip.map(|ip| match ip {
                    IpAddr::V4(v4) => {
                        let o = v4.octets();
                        format!("{}.{}.{}.0/24", o[0], o[1], o[2])
                    }
                    IpAddr::V6(v6) => {
                        let s = v6.segments();
                        format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
                    }
                }),
            },
            ASN => e.asn.map(|a| format!("AS{a}")),
            COUNTRY => non_empty(&e.country).map(str::to_ascii_uppercase),
            USER_AGENT => e.user_agent.clone(),
            BROWSER => self.user_agent.as_ref().and_then(|u| u.browser.clone()),
            OS => self.user_agent.as_ref().and_then(|u| u.os.clone()),
            DEVICE_CLASS => self
                .user_agent
                .as_ref()
                .and_then(|u| u.device_class.clone()),
            DEVICE_ID => non_empty(&e.device_id).map(str::to_owned),
            _ => None,
        };
        let mut s = s.unwrap_or_default();
        if s.len() > MAX_REASON_TEXT {
            let mut cut = MAX_REASON_TEXT;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            s.truncate(cut);
            s.push('…');
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Timestamp;

    fn extract(e: &Event) -> Extracted<'_> {
        Extracted::new(e, &UserAgentParser::new(8))
    }

    #[test]
    fn prefix_is_derived_and_ipv4_mapped_is_canonical() {
        let a = Event::login("u", Timestamp::from_unix_seconds(0)).with_ip("192.0.2.7");
        let b = Event::login("u", Timestamp::from_unix_seconds(0)).with_ip("::ffff:192.0.2.9");
        let (xa, xb) = (extract(&a), extract(&b));
        assert_eq!(xa.hashes[PREFIX], xb.hashes[PREFIX]);
        assert_ne!(xa.hashes[IP], xb.hashes[IP]);
        assert_eq!(xa.text(PREFIX), "192.0.2.0/24");
    }

    #[test]
    fn malformed_and_empty_fields() {
        let e = Event::login("u", Timestamp::from_unix_seconds(0))
            .with_ip("999.1.1.1")
            .with_country("  ")
            .with_coordinates(f64::NAN, 0.0);
        let x = extract(&e);
        assert!(x.ip_malformed);
        assert!(
            x.hashes[IP].is_none() && x.hashes[PREFIX].is_none() && x.hashes[COUNTRY].is_none()
        );
        assert!(x.coordinates_malformed && x.coordinates.is_none());
    }

    #[test]
    fn long_text_is_truncated_on_a_char_boundary() {
        let e = Event::login("u", Timestamp::from_unix_seconds(0)).with_device_id("é".repeat(300));
        let t = extract(&e).text(DEVICE_ID);
        assert!(t.len() <= MAX_REASON_TEXT + '…'.len_utf8());
    }
}
