//! Public read routes: slots, dates, products.
//!
//! Slots and dates come from what the store keeps with each day at `apply_day` (one indexed
//! lookup, no join), go through the byte-bounded read cache, and carry `ETag` and
//! `Last-Modified`; a request whose `If-None-Match` holds the current tag gets `304`.

use std::sync::LazyLock;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Datelike, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tickete_core::served::ENCODING_VERSION;
use tickete_core::ProductId;

use std::net::IpAddr;

use tickete_core::engine::LiveOutcome;

use super::freshness::{self, Client};
use crate::cache::{CacheKey, CacheKind, CachedBody};
use crate::dto::{DataEnvelope, DatesBody, PageEnvelope, ProductBody, SlotsBody};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{parse_product_id, PathParam, QueryParams};
use crate::state::AppState;

/// Serves a cached body, or fills the cache with what `fill` reads; answers `304` when the
/// request's `If-None-Match` holds the body's tag.
async fn cached<F>(
    state: &AppState,
    key: CacheKey,
    request: &HeaderMap,
    fill: F,
) -> ApiResult<Response>
where
    F: std::future::Future<Output = ApiResult<CachedBody>>,
{
    let entry = state.cache().get_or_fill(key, fill).await?;
    let synced_at = entry.synced_at;
    let mut response = respond(entry, request);
    let now = state.engine().clock().now();
    freshness::stamp(response.headers_mut(), synced_at, now, None);
    Ok(response)
}

fn respond(entry: CachedBody, request: &HeaderMap) -> Response {
    let fresh = entry
        .etag
        .as_ref()
        .is_some_and(|etag| none_match_fails(request, etag));
    let mut response = if fresh {
        (StatusCode::NOT_MODIFIED, Body::empty()).into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            entry.body,
        )
            .into_response()
    };
    let headers = response.headers_mut();
    if let Some(etag) = entry.etag {
        headers.insert(header::ETAG, etag);
    }
    if let Some(last_modified) = entry.last_modified {
        headers.insert(header::LAST_MODIFIED, last_modified);
    }
    response
}

/// Whether `If-None-Match` names the current tag (or is `*`), so the answer is `304`. Tags
/// compare weakly (RFC 9110 §13.1.2): `W/"x"` matches `"x"`.
fn none_match_fails(request: &HeaderMap, etag: &HeaderValue) -> bool {
    let current = etag.as_bytes();
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || tag.trim_start_matches("W/").as_bytes() == current)
}

/// `Last-Modified`: an IMF-fixdate (RFC 9110 §5.6.7), whole seconds. None outside years
/// 1970–9999, which `httpdate` cannot write (it panics): a stored fetch time there is
/// corrupt, and the answer goes without the header rather than failing.
fn http_date(at: DateTime<Utc>) -> Option<HeaderValue> {
    (1970..=9999)
        .contains(&at.year())
        .then(|| HeaderValue::try_from(httpdate::fmt_http_date(at.into())).ok())
        .flatten()
}

/// A strong `ETag` of `"<prefix>-<content>"`.
fn tag(prefix: &str, content: &str) -> Option<HeaderValue> {
    let mut text = String::with_capacity(prefix.len() + content.len() + 3);
    text.push('"');
    text.push_str(prefix);
    text.push('-');
    text.push_str(content);
    text.push('"');
    HeaderValue::try_from(text).ok()
}

/// `{"data": <body>, "statusCode": 200}` around a body already serialised.
fn wrap(body: &str) -> String {
    const OPEN: &str = r#"{"data":"#;
    const CLOSE: &str = r#","statusCode":200}"#;
    let mut wrapped = String::with_capacity(OPEN.len() + body.len() + CLOSE.len());
    wrapped.push_str(OPEN);
    wrapped.push_str(body);
    wrapped.push_str(CLOSE);
    wrapped
}

/// Serialises into a buffer of `capacity` bytes, so a body of about that size is not grown
/// (and copied) step by step.
fn serialise<T: Serialize>(value: T, wrapped: bool, capacity: usize) -> ApiResult<Bytes> {
    let mut buffer = Vec::with_capacity(capacity);
    if wrapped {
        serde_json::to_writer(&mut buffer, &DataEnvelope::ok(value))
    } else {
        serde_json::to_writer(&mut buffer, &value)
    }
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(Bytes::from(buffer))
}

/// Tag prefixes: the route, the body's encoding version and the envelope change the bytes, so
/// they are part of the tag (`s1e-<hash>`: slots, encoding 1, bare).
static SLOTS_TAG_BARE: LazyLock<String> = LazyLock::new(|| format!("s{ENCODING_VERSION}e"));
static SLOTS_TAG_WRAPPED: LazyLock<String> = LazyLock::new(|| format!("s{ENCODING_VERSION}p"));
static DATES_TAG: LazyLock<String> = LazyLock::new(|| format!("d{ENCODING_VERSION}"));

async fn slots_of(
    state: &AppState,
    id: ProductId,
    query: &QueryParams,
    request: &HeaderMap,
    wrapped: bool,
    client: Option<IpAddr>,
) -> ApiResult<Response> {
    let date = query.required_date("date")?;
    let max_age = freshness::requested_max_age(query, request)?;
    let key = CacheKey {
        product: id,
        kind: CacheKind::Slots(date),
        wrapped,
    };
    let mut entry = state
        .cache()
        .get_or_fill(key, read_slots(state, id, date, wrapped))
        .await?;
    let mut fallback = None;
    if let Some(max_age) = max_age {
        let now = state.engine().clock().now();
        let today = state.engine().today();
        let in_window = date >= today
            && (date - today).num_days() < i64::from(tickete_core::engine::MAX_WINDOW_DAYS);
        if in_window && freshness::older_than(entry.synced_at, max_age, now) {
            let max_age = std::time::Duration::from_secs(u64::from(max_age));
            match state.engine().live_fetch(id, date, max_age, client).await {
                LiveOutcome::Fetched => {
                    state.cache().invalidate(id);
                    entry = read_slots(state, id, date, wrapped).await?;
                }
                other => fallback = Some(other),
            }
        }
    }
    // Answered reads (cached or not, never a 404) feed the refresh policy's importance,
    // each client within its bound.
    match client {
        Some(address) => state.engine().note_read_by(address, id, date),
        None => state.engine().note_read(id, date),
    }
    let synced_at = entry.synced_at;
    let mut response = respond(entry, request);
    let now = state.engine().clock().now();
    freshness::stamp(response.headers_mut(), synced_at, now, fallback);
    Ok(response)
}

/// The slots body of (product, date) as stored, with its validators.
async fn read_slots(
    state: &AppState,
    id: ProductId,
    date: chrono::NaiveDate,
    wrapped: bool,
) -> ApiResult<CachedBody> {
    let served = state.actions().slots(id, date).await?;
    // The day's content hash names the body; the encoding version and the envelope are
    // part of the tag, since they change the bytes.
    let content = served
        .hash
        .as_deref()
        .map_or("none", |hash| &hash[..hash.len().min(32)]);
    let prefix = match wrapped {
        true => SLOTS_TAG_WRAPPED.as_str(),
        false => SLOTS_TAG_BARE.as_str(),
    };
    let body = if wrapped {
        Bytes::from(wrap(&served.body))
    } else {
        Bytes::from(served.body)
    };
    Ok(CachedBody {
        body,
        etag: tag(prefix, content),
        last_modified: served.synced_at.and_then(http_date),
        synced_at: served.synced_at,
    })
}

async fn dates_of(
    state: &AppState,
    id: ProductId,
    request: &HeaderMap,
    wrapped: bool,
    client: Option<IpAddr>,
) -> ApiResult<Response> {
    let key = CacheKey {
        product: id,
        kind: CacheKind::Dates(state.engine().today()),
        wrapped,
    };
    let response = cached(state, key, request, async {
        let served = state.actions().dates(id).await?;
        // About 110 bytes a date.
        let capacity = 64 + 128 * served.dates.len();
        let body = serialise(DatesBody::from(&served), wrapped, capacity)?;
        // The body depends on the window too, so the tag is its digest.
        let digest = hex::encode(&Sha256::digest(&body)[..16]);
        Ok(CachedBody {
            body,
            etag: tag(&DATES_TAG, &digest),
            last_modified: served.synced_at.and_then(http_date),
            synced_at: served.synced_at,
        })
    })
    .await?;
    // Answered dates reads count too, spread over the product's window.
    match client {
        Some(address) => state.engine().note_dates_read_by(address, id),
        None => state.engine().note_dates_read(id),
    }
    Ok(response)
}

/// Slots of a product on a date.
#[utoipa::path(get, path = "/api/v1/experience/{id}/slots", tag = "public",
    params(("id" = u32, Path, description = "Product id: a positive integer", minimum = 1, maximum = 4_294_967_295_f64, format = Int64), ("date" = String, Query, description = "Calendar date YYYY-MM-DD", format = Date), ("maxAge" = Option<u32>, Query, description = "Live read: the oldest data accepted, in seconds; older (or never fetched) data is fetched from the partner now, waiting up to TICKETE_LIVE_WAIT_MS", minimum = 0, maximum = 86400), ("Cache-Control" = Option<String>, Header, description = "`max-age=N` (or `no-cache`, as 0): the same as `maxAge`; the smaller of the two applies")),
    responses((status = 200, body = SlotsBody, headers(("Age" = u64, description = "Seconds since the data was fetched from the partner; 0 after a live fetch"), ("Last-Modified" = String, description = "When the data was fetched from the partner"), ("Tickete-Freshness" = String, description = "Only on a live read served from the store: `timeout`, `hold`, `partner-error` or `budget`"))), (status = 304, description = "Not modified: `If-None-Match` holds the current `ETag`"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn experience_slots(
    State(state): State<AppState>,
    PathParam(id): PathParam,
    Client(client): Client,
    headers: HeaderMap,
    query: QueryParams,
) -> ApiResult<Response> {
    slots_of(
        &state,
        parse_product_id(&id)?,
        &query,
        &headers,
        false,
        client,
    )
    .await
}

/// Bookable dates of a product for the next two months, with their lowest price.
#[utoipa::path(get, path = "/api/v1/experience/{id}/dates", tag = "public",
    params(("id" = u32, Path, description = "Product id: a positive integer", minimum = 1, maximum = 4_294_967_295_f64, format = Int64)),
    responses((status = 200, body = DatesBody), (status = 304, description = "Not modified: `If-None-Match` holds the current `ETag`"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn experience_dates(
    State(state): State<AppState>,
    PathParam(id): PathParam,
    Client(client): Client,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let id = parse_product_id(&id)?;
    dates_of(&state, id, &headers, false, client).await
}

/// Slots, wrapped in the data envelope.
#[utoipa::path(get, path = "/api/v1/products/{id}/slots", tag = "public",
    params(("id" = u32, Path, description = "Product id: a positive integer", minimum = 1, maximum = 4_294_967_295_f64, format = Int64), ("date" = String, Query, description = "Calendar date YYYY-MM-DD", format = Date), ("maxAge" = Option<u32>, Query, description = "Live read: the oldest data accepted, in seconds; older (or never fetched) data is fetched from the partner now, waiting up to TICKETE_LIVE_WAIT_MS", minimum = 0, maximum = 86400), ("Cache-Control" = Option<String>, Header, description = "`max-age=N` (or `no-cache`, as 0): the same as `maxAge`; the smaller of the two applies")),
    responses((status = 200, body = DataEnvelope<SlotsBody>, headers(("Age" = u64, description = "Seconds since the data was fetched from the partner; 0 after a live fetch"), ("Last-Modified" = String, description = "When the data was fetched from the partner"), ("Tickete-Freshness" = String, description = "Only on a live read served from the store: `timeout`, `hold`, `partner-error` or `budget`"))), (status = 304, description = "Not modified: `If-None-Match` holds the current `ETag`"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn product_slots(
    State(state): State<AppState>,
    PathParam(id): PathParam,
    Client(client): Client,
    headers: HeaderMap,
    query: QueryParams,
) -> ApiResult<Response> {
    slots_of(
        &state,
        parse_product_id(&id)?,
        &query,
        &headers,
        true,
        client,
    )
    .await
}

/// Dates, wrapped in the data envelope.
#[utoipa::path(get, path = "/api/v1/products/{id}/dates", tag = "public",
    params(("id" = u32, Path, description = "Product id: a positive integer", minimum = 1, maximum = 4_294_967_295_f64, format = Int64)),
    responses((status = 200, body = DataEnvelope<DatesBody>), (status = 304, description = "Not modified: `If-None-Match` holds the current `ETag`"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn product_dates(
    State(state): State<AppState>,
    PathParam(id): PathParam,
    Client(client): Client,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let id = parse_product_id(&id)?;
    dates_of(&state, id, &headers, true, client).await
}

/// One product.
#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "public",
    params(("id" = u32, Path, description = "Product id: a positive integer", minimum = 1, maximum = 4_294_967_295_f64, format = Int64)),
    responses((status = 200, body = DataEnvelope<ProductBody>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn product(
    State(state): State<AppState>,
    PathParam(id): PathParam,
) -> ApiResult<Response> {
    let id = parse_product_id(&id)?;
    let key = CacheKey {
        product: id,
        kind: CacheKind::Product,
        wrapped: true,
    };
    cached(&state, key, &HeaderMap::new(), async {
        let body = state.actions().get_product(id).await?;
        Ok(CachedBody::plain(serialise(body, true, 256)?))
    })
    .await
}

/// Products, paginated.
#[utoipa::path(get, path = "/api/v1/products", tag = "public",
    params(("page" = Option<u32>, Query, description = "1-based, default 1", minimum = 1, maximum = 1000000), ("limit" = Option<u32>, Query, description = "1..=100, default 10", minimum = 1, maximum = 100)),
    responses((status = 200, body = PageEnvelope<ProductBody>), (status = 400, body = ErrorBody)))]
pub async fn products(
    State(state): State<AppState>,
    query: QueryParams,
) -> ApiResult<Json<PageEnvelope<ProductBody>>> {
    let page = query.page()?;
    Ok(Json(state.actions().list_products(page).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_modified_is_an_imf_fixdate_and_absent_for_impossible_times() {
        let at = DateTime::parse_from_rfc3339("2026-11-22T06:05:09.750Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            http_date(at).unwrap(),
            HeaderValue::from_static("Sun, 22 Nov 2026 06:05:09 GMT")
        );
        for corrupt in [DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
            assert_eq!(http_date(corrupt), None);
        }
        let epoch = DateTime::<Utc>::UNIX_EPOCH;
        assert_eq!(
            http_date(epoch).unwrap(),
            HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT")
        );
    }
}
