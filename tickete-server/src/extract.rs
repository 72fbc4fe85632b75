//! Request parsing with errors that name the parameter and the expected form.
//!
//! axum's own extractors answer malformed input with plain-text bodies; these helpers keep
//! every failure in the SPEC error shape.

use axum::body::Bytes;
use axum::extract::path::ErrorKind;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use tickete_core::{PageRequest, ProductId};

use crate::error::ApiError;

/// Query parameters as given (last value wins), parsed on demand. A list, not a hash map:
/// requests carry one or two, and a lookup in a short list costs less than hashing.
#[derive(Debug, Default)]
pub struct QueryParams(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        // `application/x-www-form-urlencoded` pairs, percent-decoded (invalid UTF-8 becomes
        // U+FFFD, which no parameter accepts); the last value of a name wins.
        let query = parts.uri.query().unwrap_or_default();
        Ok(Self(
            form_urlencoded::parse(query.as_bytes())
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect(),
        ))
    }
}

impl QueryParams {
    /// The raw value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(given, _)| given == name)
            .map(|(_, value)| value.as_str())
    }

    /// A required `YYYY-MM-DD` date.
    pub fn required_date(&self, name: &str) -> Result<NaiveDate, ApiError> {
        let value = self.get(name).ok_or_else(|| {
            ApiError::bad_request(format!(
                "query parameter `{name}` is required, as a date YYYY-MM-DD"
            ))
        })?;
        parse_date(name, value)
    }

    /// A required text value.
    pub fn required_text(&self, name: &str) -> Result<&str, ApiError> {
        self.optional_text(name)?
            .ok_or_else(|| ApiError::bad_request(format!("query parameter `{name}` is required")))
    }

    /// An optional text value; empty counts as absent.
    pub fn optional_text(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.get(name).filter(|value| !value.is_empty()) {
            Some(value) => Ok(Some(checked_text(
                &format!("query parameter `{name}`"),
                value,
            )?)),
            None => Ok(None),
        }
    }

    /// An integer in `min..=max`, or `default` when absent.
    pub fn int_in(
        &self,
        name: &str,
        min: u32,
        max: u32,
        default: Option<u32>,
    ) -> Result<u32, ApiError> {
        let Some(value) = self.get(name) else {
            return default.ok_or_else(|| {
                ApiError::bad_request(format!(
                    "query parameter `{name}` is required, as an integer from {min} to {max}"
                ))
            });
        };
        value
            .parse::<u32>()
            .ok()
            .filter(|n| (min..=max).contains(n) && value.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "query parameter `{name}` is `{}`: expected an integer from {min} to {max}",
                    excerpt(value)
                ))
            })
    }

    /// `page` (≥ 1, default 1) and `limit` (1..=100, default 10).
    pub fn page(&self) -> Result<PageRequest, ApiError> {
        Ok(PageRequest {
            page: self.int_in("page", 1, 1_000_000, Some(1))?,
            limit: self.int_in("limit", 1, PageRequest::MAX_LIMIT, Some(10))?,
        })
    }
}

/// Parses a `YYYY-MM-DD` date named `name`.
pub fn parse_date(name: &str, value: &str) -> Result<NaiveDate, ApiError> {
    calendar_date(value).ok_or_else(|| {
        ApiError::bad_request(format!(
            "`{name}` is `{}`: expected a calendar date YYYY-MM-DD",
            excerpt(value)
        ))
    })
}

/// `YYYY-MM-DD`, digits exactly there, naming a real day. By hand rather than with a
/// format string, which chrono parses anew on every call (a slots read parses one date).
fn calendar_date(value: &str) -> Option<NaiveDate> {
    let bytes = value.as_bytes();
    let shaped = bytes.len() == 10
        && bytes.iter().enumerate().all(|(at, byte)| match at {
            4 | 7 => *byte == b'-',
            _ => byte.is_ascii_digit(),
        });
    if !shaped {
        return None;
    }
    let number = |range: std::ops::Range<usize>| {
        bytes[range]
            .iter()
            .fold(0u32, |n, digit| n * 10 + u32::from(digit - b'0'))
    };
    let year = i32::try_from(number(0..4)).ok()?;
    NaiveDate::from_ymd_opt(year, number(5..7), number(8..10))
}

/// One path parameter as text.
///
/// axum's `Path` answers a segment that is not UTF-8 once percent-decoded (`/products/%FF`)
/// with a plain-text 400; this keeps it in the SPEC error shape and names the parameter.
#[derive(Debug)]
pub struct PathParam(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<Vec<(String, String)>>::from_request_parts(parts, state).await {
            Ok(Path(params)) => match params.into_iter().next() {
                Some((key, value)) => {
                    checked_text(&format!("path parameter `{key}`"), &value)?;
                    Ok(Self(value))
                }
                None => Err(ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "route has no path parameter",
                )),
            },
            Err(PathRejection::FailedToDeserializePathParams(error)) => {
                Err(ApiError::bad_request(match error.kind() {
                    ErrorKind::InvalidUtf8InPathParam { key } => {
                        format!("path parameter `{key}` is not valid UTF-8 once percent-decoded")
                    }
                    _ => format!("the path is malformed: {}", error.body_text()),
                }))
            }
            Err(rejection) => Err(ApiError::new(rejection.status(), rejection.body_text())),
        }
    }
}

/// Parses a product id from the path.
pub fn parse_product_id(value: &str) -> Result<ProductId, ApiError> {
    value
        .parse()
        .map_err(|e| ApiError::bad_request(format!("product id: {e}")))
}

/// A JSON body parsed with a message naming what was wrong.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = request
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                let status = rejection.status();
                if status == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(status, "request body is too large (limit 64 KiB)")
                } else {
                    ApiError::bad_request("request body could not be read")
                }
            })?;
        if bytes.is_empty() {
            return Err(ApiError::bad_request(
                "request body is empty: expected a JSON object",
            ));
        }
        if !content_type.as_deref().is_some_and(is_json_media_type) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "Content-Type is {}: expected application/json",
                    content_type.map_or_else(
                        || "missing".to_owned(),
                        |value| format!("`{}`", excerpt(&value))
                    )
                ),
            ));
        }
        let invalid =
            |e: serde_json::Error| ApiError::bad_request(format!("request body is invalid: {e}"));
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(invalid)?;
        // serde would also fill a struct from an array (`["sync-today", true]`); the bodies
        // are objects.
        if !value.is_object() {
            return Err(ApiError::bad_request(
                "request body is invalid: expected a JSON object",
            ));
        }
        // Text with NUL cannot be stored (Postgres rejects it); say so rather than letting
        // the store fail with a 503.
        if contains_nul(&value) {
            return Err(ApiError::bad_request(format!(
                "request body is invalid: {NUL_MESSAGE}"
            )));
        }
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(invalid)
    }
}

/// `application/json` or `application/<something>+json`, with any parameters.
fn is_json_media_type(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json") || subtype.to_ascii_lowercase().ends_with("+json"))
}

const NUL_MESSAGE: &str = "text must not contain the NUL character (\\u0000)";

/// `value` unless it holds a NUL character, which no store can keep.
fn checked_text<'a>(what: &str, value: &'a str) -> Result<&'a str, ApiError> {
    if value.contains('\0') {
        return Err(ApiError::bad_request(format!(
            "{what} is invalid: {NUL_MESSAGE}"
        )));
    }
    Ok(value)
}

fn contains_nul(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(text) => text.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(contains_nul),
        serde_json::Value::Object(fields) => fields
            .iter()
            .any(|(key, value)| key.contains('\0') || contains_nul(value)),
        _ => false,
    }
}

fn excerpt(value: &str) -> String {
    value.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_dates_are_exactly_yyyy_mm_dd_of_a_real_day() {
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
        assert_eq!(calendar_date("2025-03-25"), date(2025, 3, 25));
        assert_eq!(calendar_date("2024-02-29"), date(2024, 2, 29));
        assert_eq!(calendar_date("0001-01-01"), date(1, 1, 1));
        for bad in [
            "2025-02-29",
            "2025-13-01",
            "2025-00-10",
            "2025-04-31",
            "25-03-2025",
            "2025-3-25",
            "2025-03-5 ",
            "+202-03-25",
            "2025/03/25",
            "2025-03-2x",
            "２０２５-03-25",
            "",
        ] {
            assert_eq!(calendar_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_last_value_of_a_query_parameter_wins() {
        let query = QueryParams(vec![
            ("date".into(), "2025-01-01".into()),
            ("page".into(), "2".into()),
            ("date".into(), "2025-01-02".into()),
        ]);
        assert_eq!(query.get("date"), Some("2025-01-02"));
        assert_eq!(query.get("page"), Some("2"));
        assert_eq!(query.get("limit"), None);
    }
}
