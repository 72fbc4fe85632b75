//! Form posts: the signed-in session, the cross-site checks and the CSRF token, then the
//! fields; and the redirect with a one-shot message that answers every action.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use tickete_app::ActionError;

use super::layout::problem;
use super::session::{cross_site_refusal, is_https, set_cookie, FLASH_COOKIE};
use super::Operator;
use crate::error::ApiError;
use crate::state::AppState;

/// The fields of a form posted by a signed-in operator from one of our own pages.
pub struct ActionForm<T> {
    /// The fields.
    pub fields: T,
    /// Whether the request came over HTTPS (for the flash cookie).
    pub https: bool,
    /// The id the store keeps the posting session under.
    pub session_id: String,
}

#[derive(Deserialize)]
struct CsrfField {
    #[serde(default)]
    csrf: String,
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for ActionForm<T> {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        if let Some(reason) = cross_site_refusal(&parts.headers) {
            return Err(problem(StatusCode::FORBIDDEN, reason));
        }
        let operator = Operator::from_request_parts(&mut parts, state).await?;
        let https = is_https(&parts.headers);
        let request = Request::from_parts(parts, body);
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| problem(rejection.status(), &rejection.body_text()))?;
        let csrf: CsrfField = serde_urlencoded::from_bytes(&bytes)
            .map_err(|error| problem(StatusCode::BAD_REQUEST, &format!("form: {error}")))?;
        if !state
            .dashboard_keys()
            .csrf_matches(&operator.session, &csrf.csrf)
        {
            return Err(problem(
                StatusCode::FORBIDDEN,
                "the form's CSRF token is missing or belongs to another session; reload the page and try again",
            ));
        }
        let fields = serde_urlencoded::from_bytes(&bytes)
            .map_err(|error| problem(StatusCode::BAD_REQUEST, &format!("form: {error}")))?;
        Ok(Self {
            fields,
            https,
            session_id: operator.session_id,
        })
    }
}

/// A one-shot message shown on the next page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flash {
    /// The action happened.
    Done(String),
    /// The action was refused or failed.
    Failed(String),
}

impl Flash {
    /// The message of a failed action, as the API would word it (never SQL or driver text).
    pub fn failed(error: ActionError) -> Self {
        Self::Failed(ApiError::from(error).message)
    }

    fn encode(&self) -> String {
        let text = match self {
            Self::Done(message) => format!("d{message}"),
            Self::Failed(message) => format!("f{message}"),
        };
        URL_SAFE_NO_PAD.encode(crate::error::truncate(&text, 300))
    }

    /// The message of a flash cookie value.
    pub fn decode(value: &str) -> Option<Self> {
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(value).ok()?).ok()?;
        let mut chars = text.chars();
        match chars.next()? {
            'd' => Some(Self::Done(chars.as_str().to_owned())),
            'f' => Some(Self::Failed(chars.as_str().to_owned())),
            _ => None,
        }
    }
}

/// The `page` query parameter of a paginated page (1 when absent); `None` unless it is an
/// integer from 1 to 1,000,000 (answer [`bad_page`]).
pub fn page_number(raw: Option<&str>) -> Option<u32> {
    raw.map_or(Some(1), |p| {
        p.parse::<u32>()
            .ok()
            .filter(|p| (1..=1_000_000).contains(p))
    })
}

/// The 400 page for a `page` parameter [`page_number`] refused, naming the expected form.
pub fn bad_page() -> Response {
    problem(
        StatusCode::BAD_REQUEST,
        "query parameter `page` must be an integer from 1 to 1000000",
    )
}

/// `303 See Other` to `to`, carrying `flash` to the page shown there.
pub fn redirect(to: &str, flash: Flash, https: bool) -> Response {
    let mut response = Redirect::to(to).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(FLASH_COOKIE, &flash.encode(), 60, https),
    );
    response
}

/// The form of every enable/disable button: the state the button showed it would set, so a
/// double submit does not flip it back.
#[derive(Deserialize)]
pub struct Toggle {
    #[serde(default)]
    enabled: String,
}

impl Toggle {
    /// `enabled` as a boolean, or a message naming the field.
    pub fn enabled(&self) -> Result<bool, Flash> {
        match self.enabled.as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(Flash::Failed("enabled must be `true` or `false`".into())),
        }
    }
}

/// A form field as an integer in `range`, or a message naming the field.
pub fn int_field(
    name: &str,
    value: &str,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, Flash> {
    value
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            Flash::Failed(format!(
                "{name} `{}` is not an integer from {} to {}",
                crate::error::truncate(value, 40),
                range.start(),
                range.end()
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flash_survives_its_cookie() {
        for flash in [
            Flash::Done("Job sync-today disabled".into()),
            Flash::Failed("schedule: bad ✗".into()),
        ] {
            assert_eq!(Flash::decode(&flash.encode()), Some(flash));
        }
        assert_eq!(Flash::decode("%%%"), None);
    }

    #[test]
    fn integer_fields_name_themselves_when_wrong() {
        assert_eq!(int_field("days", " 7 ", 1..=62), Ok(7));
        let Err(Flash::Failed(message)) = int_field("days", "63", 1..=62) else {
            panic!("63 is out of range");
        };
        assert!(message.contains("days `63`"), "{message}");
    }
}
