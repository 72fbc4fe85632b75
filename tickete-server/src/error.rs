//! The SPEC error body: `{"statusCode", "error", "message"}` for every failure.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use tickete_app::ActionError;
use tickete_core::engine::schedule::ScheduleError;
use tickete_core::{EngineError, StoreError};

/// An API failure with its status and a message that says what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// What was wrong, for the caller.
    pub message: String,
    /// Seconds to wait, sent as `Retry-After`.
    pub retry_after: Option<u64>,
}

/// The error body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"statusCode": 400, "error": "Bad Request", "message": "query parameter `page` is `0`: expected an integer from 1 to 1000000"}))]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// HTTP status code.
    #[schema(minimum = 400, maximum = 599)]
    pub status_code: u16,
    /// Reason phrase, e.g. `Bad Request`.
    pub error: String,
    /// What was wrong.
    pub message: String,
}

impl ApiError {
    /// A failure with `status`.
    /// A failure with `status`. The message is cut to [`MAX_MESSAGE_CHARS`]: it may quote
    /// client input, which must never come back whole.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: truncate(&message.into(), MAX_MESSAGE_CHARS),
            retry_after: None,
        }
    }

    /// 400: malformed input.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// 409.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    /// 401 for a missing or wrong admin token.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }
}

/// Longest error message; longer ones end in `…`.
pub const MAX_MESSAGE_CHARS: usize = 300;

/// `text` cut to `max` characters, with `…` when something was cut.
pub fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            status_code: self.status.as_u16(),
            error: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            message: self.message,
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(what) => {
                Self::not_found(format!("{} not found", truncate(&what, 120)))
            }
            StoreError::Conflict(message) => Self::conflict(message),
            StoreError::Unavailable(reason) => {
                tracing::warn!(%reason, "store unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the store is unreachable; try again shortly",
                )
            }
            StoreError::Corrupt(reason) => {
                tracing::error!(%reason, "corrupt stored data");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "stored data could not be read",
                )
            }
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(error: EngineError) -> Self {
        match error {
            EngineError::Paused => Self::conflict("sync is paused; POST /api/v1/sync/resume first"),
            EngineError::AlreadyRunning(job) => {
                Self::conflict(format!("job {} is already running", truncate(&job, 120)))
            }
            EngineError::InvalidWindow(days) => Self::bad_request(format!(
                "daysToSync {days} is out of range: expected an integer from 1 to 62"
            )),
            EngineError::Store(store) => store.into(),
        }
    }
}

impl From<ScheduleError> for ApiError {
    fn from(error: ScheduleError) -> Self {
        Self::bad_request(format!("schedule: {error}"))
    }
}

impl From<ActionError> for ApiError {
    fn from(error: ActionError) -> Self {
        match error {
            ActionError::Invalid(message) => Self::bad_request(message),
            ActionError::Engine(engine) => engine.into(),
            ActionError::Store(store) => store.into(),
        }
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
