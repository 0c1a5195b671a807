//! The client's address: the socket's peer, or, behind trusted proxies, the right-most
//! `X-Forwarded-For` entry that no trusted proxy holds. Entries to the left of it are written
//! by the client and prove nothing, so they are never taken.

use std::net::IpAddr;

use ipnet::IpNet;

/// Which peers may speak for the client, parsed once from `http.trust_forwarded_for` and
/// `http.trusted_proxies`.
#[derive(Debug, Clone, Default)]
pub struct Proxies {
    trust: bool,
    nets: Vec<IpNet>,
}

impl Proxies {
    /// From the configuration: addresses or CIDR blocks; an error names a bad entry.
    pub fn new(trust: bool, proxies: &[String]) -> Result<Proxies, String> {
        let nets = proxies
            .iter()
            .map(|p| {
                let p = p.trim();
                p.parse::<IpNet>()
                    .or_else(|_| p.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!("http.trusted_proxies: {p:?} is not an address or CIDR block")
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Proxies { trust, nets })
    }

    fn holds(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(&ip))
    }

    /// The client address of a request from `peer` carrying `forwarded` (the
    /// `X-Forwarded-For` values, in order).
    pub fn client(&self, peer: IpAddr, forwarded: Option<&str>) -> IpAddr {
        if !self.trust {
            return peer;
        }
        let Some(header) = forwarded else {
            return peer;
        };
        if self.nets.is_empty() {
            // The peer is the one proxy: the entry it appended is the client.
            return header
                .rsplit(',')
                .next()
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(peer);
        }
        if !self.holds(peer) {
            // Not from a proxy of ours: the header is the client's own word.
            return peer;
        }
        let mut client = peer;
        for hop in header.rsplit(',') {
            match hop.trim().parse::<IpAddr>() {
                Ok(ip) if self.holds(ip) => client = ip,
                Ok(ip) => return ip,
                // Garbage from here on was not written by a proxy of ours.
                Err(_) => return client,
            }
        }
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn untrusted_headers_are_ignored() {
        let off = Proxies::new(false, &[]).unwrap();
        assert_eq!(
            off.client(ip("203.0.113.9"), Some("1.2.3.4")),
            ip("203.0.113.9")
        );
        let lan = Proxies::new(true, &["10.0.0.0/8".into()]).unwrap();
        // A client that talks to the server directly cannot choose its address.
        assert_eq!(
            lan.client(ip("203.0.113.9"), Some("1.2.3.4")),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let one = Proxies::new(true, &[]).unwrap();
        // The client wrote "6.6.6.6"; the proxy appended what it saw.
        assert_eq!(
            one.client(ip("10.0.0.2"), Some("6.6.6.6, 198.51.100.7")),
            ip("198.51.100.7")
        );
        let two = Proxies::new(true, &["10.0.0.0/8".into(), "192.0.2.1".into()]).unwrap();
        assert_eq!(
            two.client(ip("10.0.0.2"), Some("6.6.6.6, 198.51.100.7, 192.0.2.1")),
            ip("198.51.100.7")
        );
        assert_eq!(
            two.client(ip("10.0.0.2"), Some("nonsense, 10.1.1.1")),
            ip("10.1.1.1")
        );
        assert_eq!(two.client(ip("10.0.0.2"), None), ip("10.0.0.2"));
    }

    #[test]
    fn bad_entries_are_refused() {
        let err = Proxies::new(true, &["10.0.0.0/33".into()]).unwrap_err();
        assert!(err.contains("10.0.0.0/33"), "{err}");
    }
}
