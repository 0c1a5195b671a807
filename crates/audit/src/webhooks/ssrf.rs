use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::{Error, Result};

/// Which destinations webhooks may be sent to. Deny by default: loopback, private (RFC 1918,
/// CGNAT, unique-local IPv6) and link-local (including the cloud metadata address
/// 169.254.169.254) are refused unless allowed here; unspecified, multicast, broadcast and
/// reserved addresses are always refused. IPv4-mapped and NAT64 IPv6 forms are checked as the
/// IPv4 address they carry.
///
/// The check runs on every address a host name resolves to, at connection time (so a DNS answer
/// that changes between registration and delivery cannot slip through), and on IP literals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SsrfGuard {
    loopback: bool,
    private: bool,
    link_local: bool,
}

impl SsrfGuard {
    /// Refuses every internal range (the default).
    pub fn strict() -> SsrfGuard {
        SsrfGuard::default()
    }

    /// Allows 127.0.0.0/8 and ::1 (for tests and single-host setups).
    #[must_use]
    pub fn allow_loopback(mut self) -> SsrfGuard {
        self.loopback = true;
        self
    }

    /// Allows private networks: 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7.
    #[must_use]
    pub fn allow_private_networks(mut self) -> SsrfGuard {
        self.private = true;
        self
    }

    /// Allows link-local addresses: 169.254/16 (cloud metadata lives there), fe80::/10.
    #[must_use]
    pub fn allow_link_local(mut self) -> SsrfGuard {
        self.link_local = true;
        self
    }

    /// Why `ip` is refused, or `Ok`.
    pub fn check_ip(&self, ip: IpAddr) -> std::result::Result<(), &'static str> {
        match ip {
            IpAddr::V4(v4) => self.check_v4(v4),
            IpAddr::V6(v6) => {
                if let Some(v4) = embedded_v4(v6) {
                    return self.check_v4(v4);
                }
                let seg0 = v6.segments()[0];
                if v6.is_unspecified() || v6.is_multicast() {
                    Err("unspecified or multicast address")
                } else if v6.is_loopback() {
                    if self.loopback {
                        Ok(())
                    } else {
                        Err("loopback address")
                    }
                } else if seg0 & 0xfe00 == 0xfc00 {
                    if self.private {
                        Ok(())
                    } else {
                        Err("private (unique local) address")
                    }
                } else if seg0 & 0xffc0 == 0xfe80 {
                    if self.link_local {
                        Ok(())
                    } else {
                        Err("link-local address")
                    }
                } else {
                    Ok(())
                }
            }
        }
    }

    fn check_v4(&self, ip: Ipv4Addr) -> std::result::Result<(), &'static str> {
        let [a, b, ..] = ip.octets();
        if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || a == 0 || a >= 240 {
            Err("unspecified, broadcast, multicast or reserved address")
        } else if ip.is_loopback() {
            if self.loopback {
                Ok(())
            } else {
                Err("loopback address")
            }
        } else if ip.is_private() || (a == 100 && (64..128).contains(&b)) {
            if self.private {
                Ok(())
            } else {
                Err("private network address")
            }
        } else if ip.is_link_local() {
            if self.link_local {
                Ok(())
            } else {
                Err("link-local address")
            }
        } else {
            Ok(())
        }
    }

    /// Parses a webhook URL and checks what can be checked without DNS: `http`/`https` only, a
    /// host, no credentials, and an IP-literal host must be allowed.
    pub fn check_url(&self, url: &str) -> Result<Url> {
        let refuse = |reason: &str| Error::UnsafeUrl {
            url: redact(url),
            reason: reason.to_owned(),
        };
        let parsed = Url::parse(url).map_err(|e| refuse(&format!("not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(refuse("scheme must be http or https"));
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(refuse("credentials in the URL are not allowed"));
        }
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| refuse("no host"))?;
        if let Ok(ip) = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            self.check_ip(ip).map_err(refuse)?;
        }
        Ok(parsed)
    }

    /// [`check_url`](Self::check_url), then resolves the host and checks every address.
    pub async fn resolve_url(&self, url: &str) -> Result<Vec<SocketAddr>> {
        let parsed = self.check_url(url)?;
        let host = parsed
            .host_str()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = parsed.port_or_known_default().unwrap_or(443);
        self.resolve(&host, port)
            .await
            .map_err(|reason| Error::UnsafeUrl {
                url: redact(url),
                reason,
            })
    }

    async fn resolve(&self, host: &str, port: u16) -> std::result::Result<Vec<SocketAddr>, String> {
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| format!("cannot resolve {host}: {e}"))?
            .collect();
        if addrs.is_empty() {
            return Err(format!("{host} has no addresses"));
        }
        for addr in &addrs {
            self.check_ip(addr.ip()).map_err(|reason| {
                format!("{host} resolves to a refused {reason} ({})", addr.ip())
            })?;
        }
        Ok(addrs)
    }
}

/// IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) forms.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    let tail = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0]
        || (s[..6] == [0; 6] && !ip.is_loopback() && !ip.is_unspecified())
    {
        return Some(tail);
    }
    None
}

/// The URL without credentials or query, for error messages.
fn redact(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.to_string()
        }
        Err(_) => url.chars().take(100).collect(),
    }
}

/// The DNS resolver of the webhook HTTP client: refuses host names that resolve into a refused
/// range, at connection time.
#[derive(Debug)]
pub(crate) struct GuardedResolver(pub(crate) SsrfGuard);

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.0;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = guard
                .resolve(&host, 0)
                .await
                .map_err(|reason| -> Box<dyn std::error::Error + Send + Sync> { reason.into() })?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_ranges_are_refused_by_default() {
        let strict = SsrfGuard::strict();
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "169.254.169.254",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "::7f00:1",
        ] {
            assert!(
                strict.check_ip(ip.parse().unwrap()).is_err(),
                "{ip} should be refused"
            );
        }
        for ip in [
            "93.184.216.34",
            "2606:2800:220:1:248:1893:25c8:1946",
            "1.1.1.1",
            "::ffff:8.8.8.8",
        ] {
            assert!(
                strict.check_ip(ip.parse().unwrap()).is_ok(),
                "{ip} should be allowed"
            );
        }
        let loopback = SsrfGuard::strict().allow_loopback();
        assert!(loopback.check_ip("127.0.0.1".parse().unwrap()).is_ok());
        assert!(loopback.check_ip("::1".parse().unwrap()).is_ok());
        assert!(loopback.check_ip("10.0.0.1".parse().unwrap()).is_err());
        assert!(loopback.check_ip("0.0.0.0".parse().unwrap()).is_err());
        assert!(
            SsrfGuard::strict()
                .allow_private_networks()
                .check_ip("10.0.0.1".parse().unwrap())
                .is_ok()
        );
        assert!(
            SsrfGuard::strict()
                .allow_link_local()
                .check_ip("169.254.169.254".parse().unwrap())
                .is_ok()
        );
    }

    #[tokio::test]
    async fn urls_are_checked_before_and_after_resolution() {
        let strict = SsrfGuard::strict();
        for url in [
            "ftp://example.com/x",
            "not a url",
            "http://127.0.0.1:8080/hook",
            "http://[::1]/",
            "http://10.0.0.8/",
            "http://169.254.169.254/latest/meta-data",
            "http://user:pw@example.com/",
            "file:///etc/passwd",
            "http://[::ffff:7f00:1]/",
        ] {
            let err = strict.check_url(url).unwrap_err();
            assert!(matches!(err, Error::UnsafeUrl { .. }), "{url}: {err}");
            assert!(!err.to_string().contains("pw@"));
        }
        strict
            .check_url("https://hooks.example.com/x?token=1")
            .unwrap();
        // A name that resolves to loopback is refused once resolved.
        let err = strict.resolve_url("http://localhost:9/").await.unwrap_err();
        assert!(matches!(err, Error::UnsafeUrl { .. }), "{err}");
        let addrs = SsrfGuard::strict()
            .allow_loopback()
            .resolve_url("http://localhost:9/")
            .await
            .unwrap();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()));
    }
}
