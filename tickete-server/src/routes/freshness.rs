//! How fresh a read must be, and how fresh it is: the request's max age (`Cache-Control:
//! max-age=N`, RFC 9111 §5.2.1.1, or `?maxAge=N`) and the answer's `Age` (RFC 9111 §5.1)
//! and `Tickete-Freshness` (why a live read was served from the store).

use std::net::IpAddr;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue};
use chrono::{DateTime, Utc};
use tickete_core::engine::LiveOutcome;

use crate::error::ApiError;
use crate::extract::QueryParams;
use crate::state::AppState;

/// Largest max age a reader may ask for: one day.
pub const MAX_AGE_LIMIT: u32 = 86_400;

/// Why a live read answered from the store.
pub static TICKETE_FRESHNESS: HeaderName = HeaderName::from_static("tickete-freshness");

/// The address a live read is counted against (as the public rate limit counts it).
pub struct Client(pub Option<IpAddr>);

impl FromRequestParts<AppState> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Client(crate::router::client_of(
            state,
            &parts.headers,
            &parts.extensions,
        )))
    }
}

/// The oldest data, in seconds, the reader accepts: the smaller of `?maxAge=N` and the
/// `Cache-Control` request directives `max-age=N` (`no-cache` counts as 0); `None` when the
/// reader set neither. A malformed value is a 400 that names it.
pub fn requested_max_age(
    query: &QueryParams,
    headers: &HeaderMap,
) -> Result<Option<u32>, ApiError> {
    let mut max_age = match query.get("maxAge") {
        Some(_) => Some(query.int_in("maxAge", 0, MAX_AGE_LIMIT, None)?),
        None => None,
    };
    for value in headers.get_all(header::CACHE_CONTROL) {
        let text = value
            .to_str()
            .map_err(|_| ApiError::bad_request("header `Cache-Control` must be visible ASCII"))?;
        for directive in text.split(',').map(str::trim) {
            let (name, argument) = match directive.split_once('=') {
                Some((name, argument)) => (name.trim(), Some(argument.trim().trim_matches('"'))),
                None => (directive, None),
            };
            let seconds = if name.eq_ignore_ascii_case("max-age") {
                let argument = argument.unwrap_or_default();
                argument
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n <= MAX_AGE_LIMIT && argument.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "header `Cache-Control` directive `max-age` is `{}`: expected an integer from 0 to {MAX_AGE_LIMIT}",
                            argument.chars().take(40).collect::<String>()
                        ))
                    })?
            } else if name.eq_ignore_ascii_case("no-cache") {
                0
            } else {
                continue;
            };
            max_age = Some(max_age.map_or(seconds, |given| given.min(seconds)));
        }
    }
    Ok(max_age)
}

/// Whether data fetched at `synced_at` is older than `max_age` seconds at `now` (never
/// fetched: always).
pub fn older_than(synced_at: Option<DateTime<Utc>>, max_age: u32, now: DateTime<Utc>) -> bool {
    synced_at.is_none_or(|at| (now - at).num_seconds() > i64::from(max_age))
}

/// Adds `Age` (whole seconds since the data was fetched, never negative) when it was fetched,
/// and `Tickete-Freshness` when a live read fell back to the store.
pub fn stamp(
    headers: &mut HeaderMap,
    synced_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    fallback: Option<LiveOutcome>,
) {
    if let Some(at) = synced_at {
        let age = (now - at).num_seconds().max(0);
        headers.insert(header::AGE, HeaderValue::from(age));
    }
    if let Some(outcome) = fallback {
        headers.insert(
            TICKETE_FRESHNESS.clone(),
            HeaderValue::from_static(outcome.as_str()),
        );
    }
}
