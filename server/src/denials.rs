//! Aggregates the denials of anonymous callers per source address.
//!
//! Every refusal is audited, but an anonymous client can be refused as fast as it can send
//! requests: one audit row each would let anyone fill the log (and the database) for free. So
//! the first anonymous denial from an address in a window is recorded as it happens, and the
//! rest of that window's denials from the same address become one summary event with their
//! count and actions when the window closes. Signed-in callers' denials are always recorded one
//! by one (they are rate-limited per user and attributable).
//!
//! Memory is bounded: past `max_sources` addresses in one window, new addresses share one
//! entry under the unspecified address.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;

/// Denials from one address in the current window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DenialSummary {
    /// The source address (the unspecified address stands for "many others").
    pub ip: IpAddr,
    /// When the window opened, microseconds since the epoch.
    pub since_micros: i64,
    /// Denials not recorded one by one (all but the first).
    pub suppressed: u64,
    /// Those denials by action.
    pub actions: BTreeMap<String, u64>,
}

#[derive(Debug)]
struct Entry {
    since_micros: i64,
    suppressed: u64,
    actions: BTreeMap<String, u64>,
}

/// See the module docs.
#[derive(Debug)]
pub struct DenialAggregator {
    window_micros: i64,
    max_sources: usize,
    entries: Mutex<HashMap<IpAddr, Entry>>,
}

/// The entry that stands for every address past `max_sources`.
const OVERFLOW: IpAddr = IpAddr::V6(Ipv6Addr::UNSPECIFIED);

impl DenialAggregator {
    /// Windows of `window_secs` seconds (at least 1), at most `max_sources` addresses each.
    pub fn new(window_secs: u64, max_sources: usize) -> DenialAggregator {
        DenialAggregator {
            window_micros: (window_secs.max(1) as i64) * 1_000_000,
            max_sources: max_sources.max(1),
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Notes an anonymous denial of `action` from `ip` at `now` (microseconds); true when it is
    /// the first from that address in its window and should be recorded now.
    pub fn admit(&self, ip: IpAddr, action: &str, now: i64) -> bool {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let key = if entries.contains_key(&ip) || entries.len() < self.max_sources {
            ip
        } else {
            OVERFLOW
        };
        // A window that closed but was not drained yet keeps counting: its summary is taken at
        // the next drain, so nothing is lost.
        if let Some(e) = entries.get_mut(&key) {
            e.suppressed += 1;
            *e.actions.entry(action.to_owned()).or_default() += 1;
            return false;
        }
        let first_here = key == ip;
        let mut actions = BTreeMap::new();
        if !first_here {
            actions.insert(action.to_owned(), 1);
        }
        entries.insert(
            key,
            Entry {
                since_micros: now,
                suppressed: u64::from(!first_here),
                actions,
            },
        );
        first_here
    }

    /// Takes the windows that closed by `now` (all of them with `everything`, at shutdown), and
    /// returns the summaries of those that suppressed anything.
    pub fn drain(&self, now: i64, everything: bool) -> Vec<DenialSummary> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let closed: Vec<IpAddr> = entries
            .iter()
            .filter(|(_, e)| everything || now - e.since_micros >= self.window_micros)
            .map(|(ip, _)| *ip)
            .collect();
        let mut out = Vec::new();
        for ip in closed {
            if let Some(e) = entries.remove(&ip)
                && e.suppressed > 0
            {
                out.push(DenialSummary {
                    ip,
                    since_micros: e.since_micros,
                    suppressed: e.suppressed,
                    actions: e.actions,
                });
            }
        }
        out.sort_by_key(|s| s.since_micros);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_denial_recorded_the_rest_summarized() {
        let a = DenialAggregator::new(60, 2);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(a.admit(ip, "list_root", 0));
        for _ in 0..49 {
            assert!(!a.admit(ip, "list_root", 1_000));
        }
        assert!(a.drain(59_000_000, false).is_empty(), "window still open");
        let s = a.drain(60_000_000, false);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].suppressed, 49);
        assert_eq!(s[0].actions["list_root"], 49);
        // A new window records its first denial again.
        assert!(a.admit(ip, "list_root", 61_000_000));
        assert!(a.drain(62_000_000, true).is_empty(), "nothing suppressed");
    }

    #[test]
    fn memory_is_bounded() {
        let a = DenialAggregator::new(60, 2);
        assert!(a.admit("192.0.2.1".parse().unwrap(), "x", 0));
        assert!(a.admit("192.0.2.2".parse().unwrap(), "x", 0));
        for i in 3..100 {
            assert!(!a.admit(format!("192.0.2.{i}").parse().unwrap(), "x", 0));
        }
        let s = a.drain(0, true);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].ip, OVERFLOW);
        assert_eq!(s[0].suppressed, 97);
    }
}
