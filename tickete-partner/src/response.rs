//! Reading partner responses defensively: bounded bodies, excerpts, rate-limit resets.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use reqwest::header::{CONTENT_LENGTH, RETRY_AFTER};
use reqwest::Response;
use serde::Deserialize;
use tickete_core::SourceError;

/// How much of an error or 429 body is read: enough for a message, never a flood.
const SMALL_BODY_BYTES: usize = 64 * 1024;

/// Characters of a body quoted in an error message.
const EXCERPT_CHARS: usize = 120;

/// Longest error message built from partner content.
const MAX_MESSAGE_CHARS: usize = 500;

/// Wait used when a 429 carries no usable reset time (SPEC §1).
const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

/// Default longest wait a 429 may impose (`PartnerConfig::max_hold`); a reset further out is
/// clamped so a hostile or broken answer cannot stall the service for days. After it the
/// engine simply asks again.
pub(crate) use tickete_core::engine::DEFAULT_MAX_HOLD;

/// Removes the API key from any text that could end up in a message or a log.
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    key: Option<String>,
}

impl Redactor {
    pub(crate) fn new(key: Option<String>) -> Self {
        Self {
            key: key.filter(|k| !k.is_empty()),
        }
    }

    /// The text without the key, cut to [`MAX_MESSAGE_CHARS`] (a hostile body can make a
    /// parser error quote megabytes).
    pub(crate) fn clean(&self, text: &str) -> String {
        let redacted = match &self.key {
            Some(key) => text.replace(key.as_str(), "***"),
            None => text.to_owned(),
        };
        if redacted.chars().count() <= MAX_MESSAGE_CHARS {
            return redacted;
        }
        let mut cut: String = redacted.chars().take(MAX_MESSAGE_CHARS).collect();
        cut.push('…');
        cut
    }
}

/// A short, printable excerpt of a body, with the key removed before it is cut (so a key
/// straddling the cut cannot leak in part).
pub(crate) fn excerpt(body: &[u8], redactor: &Redactor) -> String {
    let window = EXCERPT_CHARS * 4 + redactor.key.as_ref().map_or(0, String::len);
    let raw = String::from_utf8_lossy(&body[..body.len().min(window)]);
    let text = match &redactor.key {
        Some(key) => raw.replace(key.as_str(), "***"),
        None => raw.into_owned(),
    };
    let mut out: String = text
        .chars()
        .take(EXCERPT_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().count() > EXCERPT_CHARS || body.len() > window {
        out.push('…');
    }
    if out.trim().is_empty() {
        "(empty)".into()
    } else {
        out
    }
}

/// A transport failure (no status): timeouts and connection trouble are worth a retry.
pub(crate) fn transport_error(error: &reqwest::Error, redactor: &Redactor) -> SourceError {
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    SourceError::Transient(redactor.clean(&format!("partner {what}: {}", error_chain(error))))
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// Reads the body, refusing it as soon as it grows past `limit` bytes.
pub(crate) async fn read_limited(
    mut response: Response,
    limit: usize,
    redactor: &Redactor,
) -> Result<Vec<u8>, SourceError> {
    let too_large = || {
        SourceError::InvalidResponse(format!(
            "partner body is larger than the {limit}-byte limit; refused unread"
        ))
    };
    let declared = response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(too_large());
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(0).min(limit as u64) as usize);
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(&e, redactor))?
    {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Up to [`SMALL_BODY_BYTES`] of the body, for messages; failures read as an empty body.
async fn read_small(mut response: Response) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = SMALL_BODY_BYTES - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= SMALL_BODY_BYTES {
            break;
        }
    }
    body
}

/// An excerpt of an error body, with the key removed.
pub(crate) async fn body_excerpt(response: Response, redactor: &Redactor) -> String {
    excerpt(&read_small(response).await, redactor)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RateLimitBody {
    rate_limit_state: RateLimitState,
}

#[derive(Deserialize)]
struct RateLimitState {
    reset: serde_json::Number,
}

/// When a 429 says the window resets: `rateLimitState.reset` (epoch ms), else `Retry-After`
/// (seconds or an HTTP date), else 60 s from `now`; never earlier than `now`, never more
/// than `max_hold` ahead.
pub(crate) async fn rate_limit_reset(
    response: Response,
    now: DateTime<Utc>,
    max_hold: Duration,
) -> DateTime<Utc> {
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = read_small(response).await;
    let latest = chrono::Duration::from_std(max_hold)
        .ok()
        .and_then(|hold| now.checked_add_signed(hold))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    from_body(&body)
        .filter(|reset| *reset > now)
        .or_else(|| retry_after.and_then(|v| from_retry_after(v.trim(), now, max_hold)))
        .unwrap_or(now + DEFAULT_RATE_LIMIT_WAIT)
        .clamp(now, latest)
}

fn from_body(body: &[u8]) -> Option<DateTime<Utc>> {
    let parsed: RateLimitBody = serde_json::from_slice(body).ok()?;
    let reset = &parsed.rate_limit_state.reset;
    let millis = reset.as_i64().or_else(|| {
        // A fractional epoch-ms value: keep the whole milliseconds.
        let text = reset.to_string();
        let whole = text.split('.').next()?;
        whole.parse::<i64>().ok()
    })?;
    Utc.timestamp_millis_opt(millis).single()
}

fn from_retry_after(value: &str, now: DateTime<Utc>, max_hold: Duration) -> Option<DateTime<Utc>> {
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        let seconds = value.parse::<u64>().unwrap_or(u64::MAX);
        let wait = Duration::from_secs(seconds).min(max_hold);
        return Some(now + wait);
    }
    DateTime::parse_from_rfc2822(value)
        .ok()
        .map(|date| date.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 3, 25, 10, 0, 0).unwrap()
    }

    #[test]
    fn body_reset_is_epoch_millis() {
        let at = now() + Duration::from_secs(17);
        let body = format!(
            r#"{{"rateLimitState":{{"reset":{},"remaining":0}}}}"#,
            at.timestamp_millis()
        );
        assert_eq!(from_body(body.as_bytes()), Some(at));
        assert_eq!(from_body(b"not json"), None);
        assert_eq!(from_body(br#"{"rateLimitState":{}}"#), None);
        assert_eq!(
            from_body(br#"{"rateLimitState":{"reset":1742896817000.5}}"#),
            Some(Utc.timestamp_millis_opt(1_742_896_817_000).unwrap())
        );
    }

    #[test]
    fn retry_after_takes_seconds_or_http_dates() {
        assert_eq!(
            from_retry_after("7", now(), DEFAULT_MAX_HOLD),
            Some(now() + Duration::from_secs(7))
        );
        assert_eq!(
            from_retry_after("Tue, 25 Mar 2025 10:00:30 GMT", now(), DEFAULT_MAX_HOLD),
            Some(now() + Duration::from_secs(30))
        );
        assert_eq!(
            from_retry_after("99999999999999999999999", now(), DEFAULT_MAX_HOLD),
            Some(now() + DEFAULT_MAX_HOLD)
        );
        assert_eq!(from_retry_after("soon", now(), DEFAULT_MAX_HOLD), None);
        assert_eq!(from_retry_after("-5", now(), DEFAULT_MAX_HOLD), None);
    }

    #[test]
    fn excerpts_are_short_and_printable() {
        let none = Redactor::default();
        assert_eq!(excerpt(b"", &none), "(empty)");
        assert_eq!(excerpt(b"a\nb", &none), "a b");
        let long = vec![b'x'; 10_000];
        let text = excerpt(&long, &none);
        assert_eq!(text.chars().count(), EXCERPT_CHARS + 1);
        assert!(text.ends_with('…'));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000),
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// A 429's reset from any body or `Retry-After` never panics and stays within the hold.
        #[test]
        fn rate_limit_resets_from_anything_stay_in_bounds(
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            millis in proptest::prelude::any::<i64>(),
            retry_after in "\\PC{0,40}",
            seconds in proptest::prelude::any::<u64>(),
        ) {
            let _ = from_body(&body);
            let shaped = format!(r#"{{"rateLimitState":{{"reset":{millis}}}}}"#);
            let _ = from_body(shaped.as_bytes());
            for value in [retry_after, seconds.to_string()] {
                if let Some(at) = from_retry_after(value.trim(), now(), DEFAULT_MAX_HOLD) {
                    proptest::prop_assert!(at <= now() + DEFAULT_MAX_HOLD || !value.bytes().all(|b| b.is_ascii_digit()));
                }
            }
        }

        /// Excerpts of any body are short, printable and never hold the key.
        #[test]
        fn excerpts_of_any_body_are_short_and_clean(
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2000),
        ) {
            let redactor = Redactor::new(Some("k3y-s3cret".into()));
            let mut with_key = body.clone();
            with_key.extend_from_slice(b"k3y-s3cret");
            for bytes in [&body, &with_key] {
                let text = excerpt(bytes, &redactor);
                proptest::prop_assert!(text.chars().count() <= EXCERPT_CHARS + 1);
                proptest::prop_assert!(!text.chars().any(char::is_control), "{:?}", text);
                proptest::prop_assert!(!text.contains("k3y-s3cret"));
            }
        }
    }

    #[test]
    fn redactor_hides_the_key() {
        let redactor = Redactor::new(Some("s3cret".into()));
        assert_eq!(redactor.clean("key s3cret refused"), "key *** refused");
        // A key straddling the excerpt's cut is removed whole, not left in part.
        let straddling = format!("{}s3cret", "a".repeat(EXCERPT_CHARS - 3));
        let cut = excerpt(straddling.as_bytes(), &redactor);
        assert!(!cut.contains("s3c"), "{cut}");
        assert_eq!(Redactor::new(Some(String::new())).clean("abc"), "abc");
        let long = "y".repeat(100_000);
        assert_eq!(redactor.clean(&long).chars().count(), MAX_MESSAGE_CHARS + 1);
    }
}
