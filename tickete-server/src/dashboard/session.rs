//! Dashboard sessions and cross-site protection.
//!
//! A session is a signed cookie, `<expiry>.<nonce>.<mac>` where the MAC is HMAC-SHA256 keyed
//! by a key derived from the admin token, AND a record in the store under a second MAC of its
//! nonce (the store never holds what would sign anyone in). A request needs both: signing out
//! deletes the record, so a copied cookie is refused at once on every replica; "sign out
//! everywhere" deletes them all; changing the token ends every session too. The CSRF token
//! of a session is a third MAC over its nonce, so forms carry a value an attacker's page
//! cannot compute or read.

use axum::http::{header, HeaderMap, HeaderValue};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "tickete_admin";
/// Name of the one-shot message cookie set before a redirect.
pub const FLASH_COOKIE: &str = "tickete_flash";
/// How long a sign-in lasts.
pub const SESSION_SECONDS: i64 = 12 * 3600;

type HmacSha256 = Hmac<Sha256>;

/// The signing key of sessions, derived from the admin token.
#[derive(Clone)]
pub struct SessionKeys {
    key: [u8; 32],
}

/// A verified session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    nonce: String,
    /// Unix seconds at which it ends.
    pub expires: i64,
}

impl SessionKeys {
    /// Keys for the given admin token.
    pub fn new(admin_token: &str) -> Self {
        let mut mac = HmacSha256::new_from_slice(admin_token.as_bytes()).expect("any key length");
        mac.update(b"tickete dashboard session key v1");
        Self {
            key: mac.finalize().into_bytes().into(),
        }
    }

    fn mac(&self, parts: &[&[u8]]) -> String {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("any key length");
        for part in parts {
            mac.update(part);
            mac.update(b"|");
        }
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// A new session cookie value ending `SESSION_SECONDS` after `now`.
    pub fn issue(&self, now: i64) -> String {
        let mut nonce = [0u8; 18];
        rand::thread_rng().fill_bytes(&mut nonce);
        let nonce = URL_SAFE_NO_PAD.encode(nonce);
        let expires = (now + SESSION_SECONDS).to_string();
        let mac = self.mac(&[b"session", expires.as_bytes(), nonce.as_bytes()]);
        format!("{expires}.{nonce}.{mac}")
    }

    /// The session of a cookie value, when its MAC is right and it has not expired.
    pub fn verify(&self, value: &str, now: i64) -> Option<Session> {
        let mut parts = value.split('.');
        let (expires, nonce, mac) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let expected = self.mac(&[b"session", expires.as_bytes(), nonce.as_bytes()]);
        if !bool::from(expected.as_bytes().ct_eq(mac.as_bytes())) {
            return None;
        }
        let expires: i64 = expires.parse().ok()?;
        (expires > now).then(|| Session {
            nonce: nonce.to_owned(),
            expires,
        })
    }

    /// The id the store keeps the session under.
    pub fn session_id(&self, session: &Session) -> String {
        self.mac(&[b"stored session id", session.nonce.as_bytes()])
    }

    /// When the session ends by itself.
    pub fn expires_at(session: &Session) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(session.expires, 0).unwrap_or_default()
    }

    /// The CSRF token forms of this session carry.
    pub fn csrf(&self, session: &Session) -> String {
        self.mac(&[b"csrf", session.nonce.as_bytes()])
    }

    /// Whether a presented CSRF token belongs to the session.
    pub fn csrf_matches(&self, session: &Session, presented: &str) -> bool {
        self.csrf(session)
            .as_bytes()
            .ct_eq(presented.as_bytes())
            .into()
    }
}

/// A cookie's value from the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// `Set-Cookie` for a dashboard cookie: `HttpOnly; SameSite=Strict; Path=/admin`, `Secure`
/// when the request came through a TLS-terminating proxy.
pub fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Max-Age={max_age}; Path=/admin; HttpOnly; SameSite=Strict{secure}"
    ))
    .expect("cookie values are base64, digits and dots")
}

/// Whether the request reached us over HTTPS (through a proxy that says so).
pub fn is_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
}

/// Why a state-changing request was refused before its CSRF token was looked at.
pub fn cross_site_refusal(headers: &HeaderMap) -> Option<&'static str> {
    // Browsers send Sec-Fetch-Site on every request; only our own pages may post.
    if let Some(site) = headers
        .get("sec-fetch-site")
        .and_then(|value| value.to_str().ok())
    {
        if site != "same-origin" && site != "none" {
            return Some("a form posted from another site is refused");
        }
    }
    // Origin, when sent, must be this host.
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
        let origin_host = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"));
        if origin == "null" || origin_host.is_none() || origin_host != host {
            return Some("a form posted from another origin is refused");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_verifies_until_it_expires_and_only_under_its_token() {
        let keys = SessionKeys::new("token-a");
        let value = keys.issue(1_000);
        let session = keys.verify(&value, 1_001).expect("valid");
        assert_eq!(session.expires, 1_000 + SESSION_SECONDS);
        assert!(keys.verify(&value, 1_000 + SESSION_SECONDS).is_none());
        assert!(SessionKeys::new("token-b").verify(&value, 1_001).is_none());
        let tampered = value.replacen('.', "9.", 1);
        assert!(keys.verify(&tampered, 1_001).is_none());
        assert!(keys.verify("garbage", 1_001).is_none());
    }

    #[test]
    fn the_csrf_token_belongs_to_one_session() {
        let keys = SessionKeys::new("token");
        let one = keys.verify(&keys.issue(0), 1).unwrap();
        let two = keys.verify(&keys.issue(0), 1).unwrap();
        let token = keys.csrf(&one);
        assert!(keys.csrf_matches(&one, &token));
        assert!(!keys.csrf_matches(&two, &token));
        assert!(!keys.csrf_matches(&one, ""));
    }

    #[test]
    fn cross_site_posts_are_recognised() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "127.0.0.1:3000".parse().unwrap());
        assert_eq!(cross_site_refusal(&headers), None);
        headers.insert(header::ORIGIN, "http://127.0.0.1:3000".parse().unwrap());
        headers.insert("sec-fetch-site", "same-origin".parse().unwrap());
        assert_eq!(cross_site_refusal(&headers), None);
        headers.insert(header::ORIGIN, "http://evil.example".parse().unwrap());
        assert!(cross_site_refusal(&headers).is_some());
        headers.insert(header::ORIGIN, "http://127.0.0.1:3000".parse().unwrap());
        headers.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(cross_site_refusal(&headers).is_some());
    }
}
