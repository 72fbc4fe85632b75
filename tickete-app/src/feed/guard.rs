//! Which addresses webhooks may reach: never loopback, private, link-local or other
//! non-public ranges unless `TICKETE_WEBHOOK_ALLOW_PRIVATE=true`. The check is made on the
//! address a name RESOLVES to (a DNS resolver for the outbound client), so a public name that
//! points at 127.0.0.1 is refused too; URLs are checked when a webhook is saved as well.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::Url;

use crate::error::ActionError;

/// Longest webhook URL accepted.
const MAX_URL_LEN: usize = 2048;

/// Whether `ip` is on a range webhooks may not reach by default.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
                || (a == 192 && b == 0 && v4.octets()[2] == 0) // IETF protocol assignments
                || a >= 240 // reserved
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || (first == 0x64 && v6.segments()[1] == 0xff9b) // NAT64 of any IPv4
        }
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
