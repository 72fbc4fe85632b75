//! Sign-in with the admin token and sign-out.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use maud::html;
use serde::Deserialize;

use super::forms::ActionForm;
use super::layout::{bare, problem};
use super::session::{
    cookie, cross_site_refusal, is_https, set_cookie, SESSION_COOKIE, SESSION_SECONDS,
};
use crate::router::{client_address, retry_wait};
use crate::state::AppState;

fn login_page(status: StatusCode, refusal: Option<&str>) -> Response {
    bare(
        status,
        "Sign in",
        html! {
            p { "Paste the admin token (" code { "TICKETE_ADMIN_TOKEN" } ", or the one the server printed at start)." }
            @if let Some(refusal) = refusal {
                p.flash.failed role="alert" id="login-error" { (refusal) }
            }
            form.login method="post" action="/admin/login" {
                label for="token" { "Admin token" }
                input id="token" name="token" type="password" autocomplete="current-password" required autofocus;
                button.primary type="submit" id="sign-in" { "Sign in" }
            }
        },
    )
}

/// `GET /admin/login`: the form, or the overview when already signed in.
pub async fn form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let now = state.engine().clock().now().timestamp();
    let signed_in = cookie(&headers, SESSION_COOKIE)
        .and_then(|value| state.dashboard_keys().verify(value, now))
        .is_some();
    if signed_in {
        return Redirect::to("/admin").into_response();
    }
    login_page(StatusCode::OK, None)
}

#[derive(Deserialize)]
pub struct SignIn {
    #[serde(default)]
    token: String,
}

/// `POST /admin/login`: a right token sets the session cookie; a wrong one is refused.
pub async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<SignIn>, axum::extract::rejection::FormRejection>,
) -> Response {
    // A page elsewhere must not sign the browser into its own session either.
    if let Some(reason) = cross_site_refusal(&headers) {
        return problem(StatusCode::FORBIDDEN, reason);
    }
    let Ok(Form(form)) = form else {
        return login_page(
            StatusCode::BAD_REQUEST,
            Some("the sign-in form must be posted as a form with a `token` field"),
        );
    };
    let token = form.token.trim();
    if token.is_empty() {
        return login_page(StatusCode::BAD_REQUEST, Some("enter the admin token"));
    }
    if !state.admin_token_matches(token) {
        tracing::warn!("dashboard sign-in refused: wrong admin token");
        return login_page(StatusCode::UNAUTHORIZED, Some("the admin token is wrong"));
    }
    let now = state.engine().clock().now().timestamp();
    let keys = state.dashboard_keys();
    let value = keys.issue(now);
    let session = keys
        .verify(&value, now)
        .expect("a session just issued verifies");
    let expires_at = crate::dashboard::session::SessionKeys::expires_at(&session);
    if let Err(error) = state
        .actions()
        .start_session(&keys.session_id(&session), expires_at)
        .await
    {
        let error = crate::error::ApiError::from(error);
        return problem(error.status, &error.message);
    }
    let mut response = Redirect::to("/admin").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, &value, SESSION_SECONDS, is_https(&headers)),
    );
    response
}

/// Refuses a client's sign-in attempts past [`crate::state::SIGN_INS_PER_MINUTE`] with 429 and
/// `Retry-After`, before the token is looked at, so a token cannot be guessed by trying.
pub async fn throttle(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(client) = client_address(&state, &request) else {
        return next.run(request).await;
    };
    match state.sign_in_limiter().check_key(&client) {
        Ok(()) => next.run(request).await,
        Err(not_until) => {
            let wait = retry_wait(&not_until).as_secs() + 1;
            tracing::warn!(%client, "dashboard sign-in throttled");
            let mut response = login_page(
                StatusCode::TOO_MANY_REQUESTS,
                Some(&format!(
                    "too many sign-in attempts from this address; try again in {wait} s"
                )),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from(wait));
            response
        }
    }
}

#[derive(Deserialize)]
pub struct NoFields {}

/// `POST /admin/logout`: ends the session in the store (a copy of its cookie is refused from
/// now on, on every replica) and forgets the cookie in this browser.
pub async fn sign_out(State(state): State<AppState>, form: ActionForm<NoFields>) -> Response {
    if let Err(error) = state.actions().end_session(&form.session_id).await {
        let error = crate::error::ApiError::from(error);
        return problem(error.status, &error.message);
    }
    let mut response = Redirect::to("/admin/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", 0, form.https),
    );
    response
}

/// `POST /admin/sessions/end-all`: signs every session out, this one included.
pub async fn sign_out_everywhere(
    State(state): State<AppState>,
    form: ActionForm<NoFields>,
) -> Response {
    if let Err(error) = state.actions().end_all_sessions().await {
        let error = crate::error::ApiError::from(error);
        return problem(error.status, &error.message);
    }
    let mut response = Redirect::to("/admin/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", 0, form.https),
    );
    response
}
