//! The operator dashboard (SPEC §7), served at `/admin` from the binary itself: pages
//! rendered by maud, one stylesheet and one small script embedded, no other host needed.
//!
//! Every action calls `tickete_app::Actions`, as the API and the CLI do; this module only
//! translates forms to actions and results to pages.

mod assets;
mod budget_chart;
mod forms;
mod freshness;
mod jobs;
mod layout;
mod live;
mod login;
mod overview;
mod product_days;
mod products;
mod runs;
pub mod session;
mod webhooks;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;
use layout::problem;
use session::{cookie, Session, SESSION_COOKIE};

/// What the dashboard's pages may load: only this origin, no inline script or style.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
     style-src 'self'; script-src 'self'; connect-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// The dashboard's routes, to be merged at the root (they all start with `/admin`).
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/admin", get(overview::page))
        .route("/admin/", get(overview::page))
        .route(
            "/admin/login",
            get(login::form).merge(post(login::sign_in).route_layer(
                middleware::from_fn_with_state(state.clone(), login::throttle),
            )),
        )
        .route("/admin/logout", post(login::sign_out))
        .route("/admin/sessions/end-all", post(login::sign_out_everywhere))
        .route("/admin/live", get(live::figures))
        .route("/admin/freshness", get(freshness::page))
        .route("/admin/freshness/cell", get(freshness::cell))
        .route("/admin/jobs", get(jobs::page))
        .route("/admin/jobs/{name}/toggle", post(jobs::toggle))
        .route("/admin/jobs/{name}/trigger", post(jobs::trigger))
        .route("/admin/jobs/{name}/edit", post(jobs::edit))
        .route("/admin/runs", get(runs::list))
        .route("/admin/runs/{id}", get(runs::detail))
        .route("/admin/products", get(products::page).post(products::add))
        .route("/admin/products/{id}", get(product_days::page))
        .route("/admin/products/{id}/rename", post(products::rename))
        .route("/admin/products/{id}/toggle", post(products::toggle))
        .route("/admin/products/{id}/delete", post(products::delete))
        .route("/admin/sync/pause", post(overview::pause))
        .route("/admin/sync/resume", post(overview::resume))
        .route("/admin/sync/clear-hold", post(overview::clear_hold))
        .route("/admin/sync/days", post(overview::sync_days))
        .route(
            "/admin/webhooks",
            get(webhooks::page).post(webhooks::create),
        )
        .route("/admin/webhooks/{id}", get(webhooks::detail))
        .route("/admin/webhooks/{id}/toggle", post(webhooks::toggle))
        .route("/admin/webhooks/{id}/edit", post(webhooks::update))
        .route("/admin/webhooks/{id}/rotate", post(webhooks::rotate))
        .route("/admin/webhooks/{id}/delete", post(webhooks::delete))
        .route(
            "/admin/webhooks/{id}/deliveries/{delivery}/retry",
            post(webhooks::retry),
        )
        .route("/admin/assets/{file}", get(assets::serve))
        .route_layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// Headers on every dashboard response: the CSP, no framing, no caching of pages.
async fn security_headers(request: Request, next: Next) -> Response {
    let is_asset = request.uri().path().starts_with("/admin/assets/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if !is_asset {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// A signed-in operator: pages and live figures take this, and send anyone else to sign in.
pub struct Operator {
    session: Session,
    /// The id the store keeps this session under.
    pub session_id: String,
    csrf: String,
    flash: Option<forms::Flash>,
}

impl FromRequestParts<AppState> for Operator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let keys = state.dashboard_keys();
        let now = state.engine().clock().now().timestamp();
        let sign_in = || Redirect::to("/admin/login").into_response();
        let session = cookie(&parts.headers, SESSION_COOKIE)
            .and_then(|value| keys.verify(value, now))
            .ok_or_else(sign_in)?;
        // A cookie signed right is not enough: the session must still be signed in.
        let session_id = keys.session_id(&session);
        match state.actions().session_active(&session_id).await {
            Ok(true) => {}
            Ok(false) => return Err(sign_in()),
            Err(error) => {
                let error = crate::error::ApiError::from(error);
                return Err(problem(error.status, &error.message));
            }
        }
        Ok(Self {
            csrf: keys.csrf(&session),
            session,
            session_id,
            flash: cookie(&parts.headers, session::FLASH_COOKIE).and_then(forms::Flash::decode),
        })
    }
}
