//! Operations: liveness, readiness, metrics, OpenAPI.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use chrono::Days;
use utoipa::OpenApi;

use crate::dto::OpsStatusBody;
use crate::error::{ApiError, ApiResult};
use crate::openapi::ApiDoc;
use crate::state::AppState;

/// Process alive; no I/O.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = OpsStatusBody)))]
pub async fn healthz() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"status":"ok"}"#,
    )
        .into_response()
}

/// Store reachable, else 503.
#[utoipa::path(get, path = "/readyz", tag = "ops", responses((status = 200, body = OpsStatusBody)))]
pub async fn readyz(State(state): State<AppState>) -> ApiResult<Json<OpsStatusBody>> {
    state.engine().control().ping().await?;
    Ok(Json(OpsStatusBody {
        status: "ready".to_owned(),
    }))
}

/// Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    record_data_age(&state).await;
    if let Ok(status) = state.engine().status().await {
        metrics::gauge!("tickete_queue_depth").set(status.pending as f64);
        metrics::gauge!("tickete_in_flight").set(status.in_flight as f64);
        let now = state.engine().clock().now();
        let held = status
            .held_until
            .map_or(0, |until| (until - now).num_seconds().max(0));
        metrics::gauge!("tickete_partner_hold_seconds").set(held as f64);
    }
    let paused = state.engine().pause_state().paused;
    metrics::gauge!("tickete_paused").set(if paused { 1.0 } else { 0.0 });
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics().render(),
    )
        .into_response()
}

/// Age of the stalest synced (product, date) in each job window, in seconds.
async fn record_data_age(state: &AppState) {
    let engine = state.engine();
    let today = engine.today();
    let now = engine.clock().now();
    let Ok(products) = state.engine().catalogue().enabled_products().await else {
        return;
    };
    for (window, days) in [("today", 1u64), ("7d", 7), ("30d", 30)] {
        let until = today + Days::new(days);
        let Ok(states) = state.engine().inventory().day_states(today, until).await else {
            return;
        };
        let expected = products.len() as u64 * days;
        let synced: Vec<_> = states
            .iter()
            .filter(|s| products.contains(&s.product))
            .filter_map(|s| s.synced_at)
            .collect();
        let oldest = synced
            .iter()
            .min()
            .map(|at| (now - *at).num_seconds().max(0));
        if let Some(age) = oldest {
            metrics::gauge!("tickete_data_age_seconds", "window" => window).set(age as f64);
        }
        metrics::gauge!("tickete_data_never_synced", "window" => window)
            .set(expected.saturating_sub(synced.len() as u64) as f64);
    }
}

/// The OpenAPI document generated from the handlers.
pub async fn openapi_json() -> Response {
    match ApiDoc::openapi().to_json() {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(error) => {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response()
        }
    }
}

/// Scalar's browser bundle, vendored (see `assets/scalar/README.md`): the docs page loads
/// nothing from another host, so it works offline.
const SCALAR_JS: &str = include_str!("../../assets/scalar/standalone.js");

/// The docs page: the OpenAPI document inline, Scalar from this server, its web fonts off.
const DOCS_HTML: &str = r#"<!doctype html>
<html>
<head>
<title>tickete API</title>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<link rel="icon" href="data:,"/>
</head>
<body>
<script id="api-reference" type="application/json" data-configuration='{"withDefaultFonts":false,"hideClientButton":true}'>
$spec
</script>
<script src="/api/docs/scalar.js"></script>
</body>
</html>"#;

/// What the docs page may load: this origin only (Scalar injects its styles inline).
const DOCS_CSP: &str = "default-src 'self'; img-src 'self' data:; font-src 'self' data:; \
     style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; \
     connect-src 'self'; frame-ancestors 'none'";

/// Browsable API docs (Scalar, with the OpenAPI document inline).
pub async fn docs() -> Response {
    let html = utoipa_scalar::Scalar::new(ApiDoc::openapi())
        .custom_html(DOCS_HTML)
        .to_html();
    ([(header::CONTENT_SECURITY_POLICY, DOCS_CSP)], Html(html)).into_response()
}

/// `GET /api/docs/scalar.js`.
pub async fn docs_script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        SCALAR_JS,
    )
        .into_response()
}
