//! The router: routes, auth, rate limits, limits, metrics and request logs.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use governor::clock::{Clock, DefaultClock};
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::routes::{admin, events, ops, public, webhooks};
use crate::state::AppState;

/// Largest request body accepted.
pub const BODY_LIMIT: usize = 64 * 1024;
/// Longest request URI (path and query) accepted; longer is a 414.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Most header bytes (names, values and separators) accepted; more is a 431.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
/// Longest a request may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Every route of SPEC §2 with its middleware.
pub fn router(state: AppState) -> Router {
    let public = Router::new()
        .route("/experience/{id}/slots", get(public::experience_slots))
        .route("/experience/{id}/dates", get(public::experience_dates))
        .route("/products", get(public::products))
        .route("/products/{id}", get(public::product))
        .route("/products/{id}/dates", get(public::product_dates))
        .route("/products/{id}/slots", get(public::product_slots))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            public_rate_limit,
        ));
    let admin = Router::new()
        .route("/sync/pause", post(admin::pause))
        .route("/sync/resume", post(admin::resume))
        .route("/sync/status", get(admin::status))
        .route("/sync/clear-hold", post(admin::clear_hold))
        .route("/admin/cron", get(admin::list_jobs))
        .route("/admin/cron/toggle", put(admin::toggle_job))
        .route("/admin/cron/trigger", post(admin::trigger_job))
        .route("/admin/cron/sync", post(admin::sync_days))
        .route("/admin/cron/{name}", put(admin::update_job))
        .route("/admin/runs", get(admin::list_runs))
        .route("/admin/runs/{id}", get(admin::get_run))
        .route("/admin/processes", get(admin::list_processes))
        .route(
            "/admin/products/{id}",
            put(admin::put_product).delete(admin::delete_product),
        )
        // Change feed (SPEC §6).
        .route(
            "/admin/webhooks",
            get(webhooks::list_webhooks).post(webhooks::create_webhook),
        )
        .route(
            "/admin/webhooks/{id}",
            get(webhooks::get_webhook)
                .put(webhooks::update_webhook)
                .delete(webhooks::delete_webhook),
        )
        .route(
            "/admin/webhooks/{id}/rotate-secret",
            post(webhooks::rotate_secret),
        )
        .route(
            "/admin/webhooks/{id}/deliveries",
            get(webhooks::list_deliveries),
        )
        .route(
            "/admin/webhooks/{id}/deliveries/{delivery_id}/retry",
            post(webhooks::retry_delivery),
        )
        .route("/events", get(events::events))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_admin));
    let ops = Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics));
    Router::new()
        .nest("/api/v1", public.merge(admin).merge(ops.clone()))
        .merge(ops)
        .route("/api/openapi.json", get(ops::openapi_json))
        .route("/docs", get(ops::docs))
        .route("/api/docs", get(ops::docs))
        .route("/api/docs/scalar.js", get(ops::docs_script))
        .merge(crate::dashboard::router(state.clone()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(request_timeout))
        .layer(middleware::from_fn(http_metrics))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                let route = request
                    .extensions()
                    .get::<MatchedPath>()
                    .map_or("unmatched", MatchedPath::as_str);
                tracing::info_span!("http", method = %request.method(), route)
            }),
        )
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(http_limits))
        .with_state(state)
}

async fn not_found(request: Request) -> ApiError {
    ApiError::not_found(format!(
        "no route for {} {}",
        excerpt(request.method().as_str()),
        excerpt(request.uri().path())
    ))
}

async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "{} is not allowed on {}",
            excerpt(request.method().as_str()),
            excerpt(request.uri().path())
        ),
    )
}

/// What the HTTP layer refuses before routing, each with the SPEC body: an over-long URI
/// (414), too many header bytes (431), and a declared body over the limit (413 at once,
/// without waiting for a body that may never come).
async fn http_limits(request: Request, next: Next) -> Response {
    use axum::http::StatusCode;
    let refuse = |status: StatusCode, message: String| {
        metrics::counter!("tickete_http_refused_total", "status" => status.as_str().to_owned())
            .increment(1);
        let mut response = ApiError::new(status, message).into_response();
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
        response
    };
    let uri_bytes = request
        .uri()
        .path_and_query()
        .map_or(0, |path| path.as_str().len());
    if uri_bytes > MAX_URI_BYTES {
        return refuse(
            StatusCode::URI_TOO_LONG,
            format!("the request URI is {uri_bytes} bytes long (limit 8 KiB)"),
        );
    }
    let header_bytes: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return refuse(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!("the request headers are {header_bytes} bytes (limit 32 KiB)"),
        );
    }
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > BODY_LIMIT as u64) {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body is too large (limit 64 KiB)".to_owned(),
        );
    }
    next.run(request).await
}

/// The token of an `Authorization: Bearer <token>` header; the scheme is case-insensitive
/// (RFC 9110 §11.1), so `bearer` and `BEARER` work too.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

async fn require_admin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(bearer_token);
    match presented {
        None => ApiError::unauthorized("admin routes need `Authorization: Bearer <admin token>`")
            .into_response(),
        Some(token) if !state.admin_token_matches(token.trim()) => {
            ApiError::unauthorized("the admin token is wrong").into_response()
        }
        Some(_) => next.run(request).await,
    }
}

async fn public_rate_limit(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(limiter) = state.public_limiter() else {
        return next.run(request).await;
    };
    let Some(client) = client_address(&state, &request) else {
        return next.run(request).await;
    };
    match limiter.check_key(&client) {
        Ok(()) => next.run(request).await,
        Err(not_until) => too_many_requests(not_until).into_response(),
    }
}

/// The client a request is counted against: the address our proxy appended to
/// `X-Forwarded-For` when that is trusted, else the peer's.
pub(crate) fn client_address(state: &AppState, request: &Request) -> Option<std::net::IpAddr> {
    client_of(state, request.headers(), request.extensions())
}

/// [`client_address`] from a request's headers and extensions.
pub(crate) fn client_of(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    extensions: &axum::http::Extensions,
) -> Option<std::net::IpAddr> {
    let forwarded = state
        .trust_forwarded_for()
        .then(|| forwarded_client(headers))
        .flatten();
    forwarded.or_else(|| {
        extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip())
    })
}

/// A 429 whose `Retry-After` says when the client's limiter lets it in again.
pub(crate) fn too_many_requests(
    not_until: governor::NotUntil<<DefaultClock as Clock>::Instant>,
) -> ApiError {
    let wait = retry_wait(&not_until);
    let mut error = ApiError::new(
        axum::http::StatusCode::TOO_MANY_REQUESTS,
        "too many requests from this client; retry after the time in Retry-After",
    );
    error.retry_after = Some(wait.as_secs() + 1);
    error
}

/// How long until a limited client may try again.
pub(crate) fn retry_wait(
    not_until: &governor::NotUntil<<DefaultClock as Clock>::Instant>,
) -> Duration {
    not_until.wait_time_from(DefaultClock::default().now())
}

/// The right-most address of `X-Forwarded-For`: the one our proxy appended, so a client cannot
/// choose its own key by sending the header itself.
fn forwarded_client(headers: &axum::http::HeaderMap) -> Option<std::net::IpAddr> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|part| part.trim().parse().ok())
        .next_back()
}

async fn request_timeout(request: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "the request took too long; try again",
        )
        .into_response(),
    }
}

async fn http_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = method_label(request.method());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("tickete_http_requests_total", "route" => route.clone(), "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!("tickete_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The `method` label: the standard methods by name, anything a client made up as `OTHER`, so
/// no client can add series (200,000 made-up methods once grew `/metrics` to 21 MB).
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "OTHER",
    }
}

/// At most 100 characters of client input for a message.
fn excerpt(text: &str) -> String {
    crate::error::truncate(text, 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for header in ["Bearer abc", "bearer abc", "BEARER abc", "  Bearer   abc "] {
            assert_eq!(bearer_token(header), Some("abc"), "{header}");
        }
        for header in ["Basic abc", "Bearer", "Bearer ", "Bearerabc", "abc"] {
            assert_eq!(bearer_token(header), None, "{header}");
        }
    }

    #[test]
    fn made_up_methods_share_one_label() {
        use axum::http::Method;
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(
            method_label(&Method::from_bytes(b"FOO123").unwrap()),
            "OTHER"
        );
        assert_eq!(method_label(&Method::from_bytes(b"get").unwrap()), "OTHER");
    }
}
