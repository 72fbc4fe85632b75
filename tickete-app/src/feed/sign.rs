//! Standard Webhooks secrets and signatures.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tickete_core::feed::WebhookSecret;

/// Random bytes in a new secret (Standard Webhooks asks for 24 to 64).
const SECRET_BYTES: usize = 32;
/// The prefix of every secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// A new secret: `whsec_` + base64 of 32 random bytes from the OS generator.
pub fn new_secret() -> WebhookSecret {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::Rng::fill(&mut rand::rngs::OsRng, &mut bytes[..]);
    WebhookSecret::new(format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes)))
}

/// `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` keyed with the secret's bytes.
pub fn signature(secret: &WebhookSecret, id: &str, timestamp: i64, body: &str) -> String {
    let encoded = secret
        .expose()
        .strip_prefix(SECRET_PREFIX)
        .unwrap_or(secret.expose());
    // Secrets are ours (always valid base64); an unreadable one signs with its text, which
    // no receiver will accept, rather than failing the worker.
    let key = STANDARD
        .decode(encoded)
        .unwrap_or_else(|_| encoded.as_bytes().to_vec());
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes keys of any length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_random_and_long_enough() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        let bytes = STANDARD
            .decode(a.expose().strip_prefix(SECRET_PREFIX).unwrap())
            .unwrap();
        assert!(bytes.len() >= 24);
        assert_eq!(format!("{a:?}"), "WebhookSecret(***)");
    }

    #[test]
    fn the_signature_matches_the_standard_webhooks_example() {
        // The example of the Standard Webhooks specification.
        let secret = WebhookSecret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into());
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }
}
