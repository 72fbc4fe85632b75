//! Which addresses webhooks may reach: never loopback, private, link-local or other
//! non-public ranges unless `TICKETE_WEBHOOK_ALLOW_PRIVATE=true`. The check is made on the
//! address a name RESOLVES to (a DNS resolver for the outbound client), so a public name that
//! points at 127.0.0.1 is refused too; URLs are checked when a webhook is saved as well.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::Url;

use crate::error::ActionError;

/// Longest webhook URL accepted.
const MAX_URL_LEN: usize = 2048;

/// Whether `ip` is on a range webhooks may not reach by default: every range of the IANA
/// IPv4 and IPv6 special-purpose address registries that is not globally reachable, and the
/// IPv6 forms that embed an IPv4 address (mapped, compatible, 6to4, NAT64, Teredo), judged
/// by the address they embed or refused outright where it cannot be told.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_private_v4(v4),
        IpAddr::V6(v6) => is_private_v6(v6),
    }
}

fn is_private_v4(v4: Ipv4Addr) -> bool {
    let [a, b, c, _] = v4.octets();
    v4.is_loopback() // 127/8
        || v4.is_private() // 10/8, 172.16/12, 192.168/16
        || v4.is_link_local() // 169.254/16
        || v4.is_unspecified()
        || v4.is_broadcast()
        || v4.is_multicast() // 224/4
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && (c == 0 || c == 2)) // IETF assignments, TEST-NET-1
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // TEST-NET-3
        || a >= 240 // reserved
}

fn is_private_v6(v6: Ipv6Addr) -> bool {
    let s = v6.segments();
    let embedded = |high: u16, low: u16| {
        let [a, b] = high.to_be_bytes();
        let [c, d] = low.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    if let Some(v4) = v6.to_ipv4_mapped() {
        return is_private_v4(v4);
    }
    if s[..6] == [0; 6] {
        // ::, ::1 and the deprecated IPv4-compatible ::a.b.c.d: never a public target.
        return true;
    }
    if s[0] == 0x2002 {
        // 6to4 carries the IPv4 address it tunnels to.
        return is_private_v4(embedded(s[1], s[2]));
    }
    v6.is_multicast() // ff00::/8
        || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local fec0::/10 (deprecated)
        || (s[0] == 0x64 && s[1] == 0xff9b) // NAT64 64:ff9b::/96 and local 64:ff9b:1::/48
        || (s[0] == 0x100 && s[1..4] == [0, 0, 0]) // discard-only 100::/64
        || (s[0] == 0x2001 && s[1] < 0x200) // IETF protocol assignments 2001::/23 (Teredo…)
        || (s[0] == 0x2001 && s[1] == 0xdb8) // documentation 2001:db8::/32
        || (s[0] == 0x3fff && s[1] < 0x1000) // documentation 3fff::/20
        || (s[0] == 0x5f00) // segment routing 5f00::/16
}

/// A webhook URL as it may be logged: scheme, host and port only (a path or query may carry
/// a token).
pub fn redacted(url: &str) -> String {
    match Url::parse(url) {
        Ok(url) => {
            let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!(
                "{}://{}{port}/…",
                url.scheme(),
                url.host_str().unwrap_or_default()
            )
        }
        Err(_) => "(invalid url)".to_owned(),
    }
}

/// Checks a webhook URL: `http(s)`, a host, no credentials, not over-long, and (unless
/// `allow_private`) no host that is or resolves to a non-public address. A name that does not
/// resolve now is accepted: the delivery client checks every address it connects to.
pub async fn check_webhook_url(text: &str, allow_private: bool) -> Result<Url, ActionError> {
    let invalid = |why: &str| ActionError::Invalid(format!("url: {why}"));
    if text.len() > MAX_URL_LEN {
        return Err(invalid(&format!("longer than {MAX_URL_LEN} characters")));
    }
    let url = Url::parse(text).map_err(|e| invalid(&format!("not an absolute URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("credentials in the URL are not accepted"));
    }
    let Some(host) = url.host() else {
        return Err(invalid("a host is required"));
    };
    if allow_private {
        return Ok(url);
    }
    let refused = || {
        invalid(
            "loopback, private and link-local addresses are refused \
             (TICKETE_WEBHOOK_ALLOW_PRIVATE=true allows them)",
        )
    };
    match host {
        url::Host::Ipv4(ip) if is_private(ip.into()) => return Err(refused()),
        url::Host::Ipv6(ip) if is_private(ip.into()) => return Err(refused()),
        url::Host::Domain(name) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if name == "localhost" || name.ends_with(".localhost") {
                return Err(refused());
            }
            let port = url.port_or_known_default().unwrap_or(443);
            let lookup = tokio::net::lookup_host(format!("{name}:{port}"));
            let resolved = tokio::time::timeout(Duration::from_secs(3), lookup).await;
            if let Ok(Ok(mut addrs)) = resolved {
                if addrs.any(|a| is_private(a.ip())) {
                    return Err(refused());
                }
            }
        }
        _ => {}
    }
    Ok(url)
}

/// The outbound client's resolver: resolves with the system resolver and keeps only the
/// addresses webhooks may reach; a name left with none fails to connect.
#[derive(Debug, Clone, Copy)]
pub struct AddressGuard {
    /// Let every address through.
    pub allow_private: bool,
}

impl Resolve for AddressGuard {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|addr| allow_private || !is_private(addr.ip()))
                .collect();
            if found.is_empty() {
                return Err(format!(
                    "{host} resolves to no public address (private targets are refused)"
                )
                .into());
            }
            Ok(Box::new(found.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every special-purpose range of both families, the embedded-IPv4 forms, and public
    /// neighbours of each range's edges.
    #[test]
    fn every_special_purpose_range_is_refused_and_public_neighbours_are_not() {
        let refused = [
            "0.1.2.3",
            "10.0.0.1",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.255.255.255",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.10",
            "192.88.99.1",
            "192.168.0.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::127.0.0.1",
            "::8.8.8.8",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
            "64:ff9b::808:808",
            "64:ff9b:1::1",
            "100::1",
            "2001::1",
            "2001:0:4136:e378::1",
            "2001:db8::1",
            "2002:7f00:1::1",
            "2002:a00:1::1",
            "2002:c0a8:101::1",
            "3fff::1",
            "5f00::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
        ];
        let allowed = [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "192.0.3.1",
            "192.169.0.1",
            "198.17.255.255",
            "198.20.0.1",
            "223.255.255.255",
            "::ffff:8.8.8.8",
            "2002:808:808::1",
            "2606:4700::1111",
            "2a00:1450:4001::200e",
        ];
        assert!(refused.len() + allowed.len() >= 40);
        for address in refused {
            assert!(
                is_private(address.parse().unwrap()),
                "{address} must be refused"
            );
        }
        for address in allowed {
            assert!(!is_private(address.parse().unwrap()), "{address} is public");
        }
    }

    #[test]
    fn urls_are_logged_without_path_or_query() {
        assert_eq!(
            redacted("https://hooks.example.com:8443/t/SECRET?token=abc"),
            "https://hooks.example.com:8443/…"
        );
        assert_eq!(redacted("http://example.com"), "http://example.com/…");
        assert_eq!(redacted("not a url"), "(invalid url)");
    }

    #[test]
    fn private_ranges_are_recognised() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::",
        ] {
            assert!(is_private(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "172.32.0.1"] {
            assert!(!is_private(public.parse().unwrap()), "{public}");
        }
    }

    #[tokio::test]
    async fn urls_are_checked() {
        for (url, fragment) in [
            ("ftp://example.com/x", "scheme"),
            ("not a url", "absolute"),
            ("http://user:pw@example.com/", "credentials"),
            ("http://127.0.0.1:9000/hook", "loopback"),
            ("http://[::1]/hook", "loopback"),
            ("http://169.254.169.254/latest", "loopback"),
            ("http://localhost:8080/hook", "loopback"),
            ("http://api.localhost/hook", "loopback"),
        ] {
            let error = check_webhook_url(url, false).await.unwrap_err().to_string();
            assert!(error.contains(fragment), "{url}: {error}");
        }
        assert!(check_webhook_url("http://127.0.0.1:9000/hook", true)
            .await
            .is_ok());
        assert!(check_webhook_url("https://93.184.216.34/hook", false)
            .await
            .is_ok());
    }
}
