//! User-agent strings to browser / OS / device class, with a bounded cache.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Longest user agent parsed; longer ones are scored as malformed (real ones are < 512 bytes).
const MAX_USER_AGENT_BYTES: usize = 1024;

/// The parts of a user agent the model scores. `None` means the parser did not recognise it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedUserAgent {
    pub browser: Option<String>,
    pub os: Option<String>,
    pub device_class: Option<String>,
    /// Empty, over-long or containing control characters.
    pub malformed: bool,
}

#[derive(Debug)]
pub(crate) struct UserAgentParser {
    cache: Mutex<HashMap<String, Arc<ParsedUserAgent>>>,
    capacity: usize,
}

impl UserAgentParser {
    pub(crate) fn new(capacity: usize) -> Self {
        UserAgentParser {
            cache: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        // Entries are capped; count the cap, not the current fill, so the bound is honest.
        self.capacity * (MAX_USER_AGENT_BYTES / 4 + 160)
    }

    pub(crate) fn parse(&self, ua: &str) -> Arc<ParsedUserAgent> {
        // A poisoned lock only means another thread panicked mid-insert into a cache; the map
        // is still a valid map, so keep using it.
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(hit) = cache.get(ua) {
            return Arc::clone(hit);
        }
        let parsed = Arc::new(parse_uncached(ua));
        if ua.len() <= MAX_USER_AGENT_BYTES {
            if cache.len() >= self.capacity {
                // Wholesale reset keeps the bound trivially; hot user agents refill at once.
                cache.clear();
            }
            cache.insert(ua.to_owned(), Arc::clone(&parsed));
        }
        parsed
    }
}

fn known(s: &str) -> Option<String> {
    (!s.is_empty() && s != "UNKNOWN").then(|| s.to_owned())
}

fn parse_uncached(ua: &str) -> ParsedUserAgent {
    let malformed =
        ua.trim().is_empty() || ua.len() > MAX_USER_AGENT_BYTES || ua.chars().any(char::is_control);
    if malformed {
        return ParsedUserAgent {
            browser: None,
            os: None,
            device_class: None,
            malformed,
        };
    }
    parse_with_library(ua)
}

#[cfg(feature = "user-agent")]
fn parse_with_library(ua: &str) -> ParsedUserAgent {
    match woothee::parser::Parser::new().parse(ua) {
        Some(r) => ParsedUserAgent {
            browser: known(r.name),
            os: known(r.os),
            device_class: known(r.category),
            malformed: false,
        },
        None => ParsedUserAgent {
            browser: None,
            os: None,
            device_class: None,
            malformed: false,
        },
    }
}

#[cfg(not(feature = "user-agent"))]
fn parse_with_library(_ua: &str) -> ParsedUserAgent {
    let _ = known;
    ParsedUserAgent {
        browser: None,
        os: None,
        device_class: None,
        malformed: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_agents_are_flagged() {
        let p = UserAgentParser::new(4);
        assert!(p.parse("").malformed);
        assert!(p.parse("bad\u{0}agent").malformed);
        assert!(p.parse(&"x".repeat(5000)).malformed);
        assert!(!p.parse("curl/8.0").malformed);
    }

    #[test]
    fn cache_stays_bounded() {
        let p = UserAgentParser::new(4);
        for i in 0..100 {
            p.parse(&format!("agent/{i}"));
        }
        assert!(p.cache.lock().unwrap().len() <= 4);
    }

    #[cfg(feature = "user-agent")]
    #[test]
    fn parses_common_browsers() {
        let p = UserAgentParser::new(8);
        let chrome = p.parse(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
        );
        assert_eq!(chrome.browser.as_deref(), Some("Chrome"));
        assert_eq!(chrome.os.as_deref(), Some("Windows 10"));
        assert_eq!(chrome.device_class.as_deref(), Some("pc"));
        let iphone = p.parse(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
        );
        assert_eq!(iphone.device_class.as_deref(), Some("smartphone"));
        assert_eq!(iphone.browser.as_deref(), Some("Safari"));
    }
}
