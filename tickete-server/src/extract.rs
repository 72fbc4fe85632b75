//! Request parsing with errors that name the parameter and the expected form.
//!
//! axum's own extractors answer malformed input with plain-text bodies; these helpers keep
//! every failure in the SPEC error shape.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use tickete_core::{PageRequest, ProductId};

use crate::error::ApiError;

/// Query parameters as given (last value wins), parsed on demand.
#[derive(Debug, Default)]
pub struct QueryParams(HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let pairs: Vec<(String, String)> = serde_urlencoded_pairs(query)?;
        Ok(Self(pairs.into_iter().collect()))
    }
}

fn serde_urlencoded_pairs(query: &str) -> Result<Vec<(String, String)>, ApiError> {
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(
        &format!("/?{query}").parse().map_err(|_| bad_query())?,
    )
    .map(|q| q.0)
    .map_err(|_| bad_query())
}

fn bad_query() -> ApiError {
    ApiError::bad_request("the query string is malformed")
}

impl QueryParams {
    /// The raw value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
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
        self.get(name)
            .filter(|value| !value.is_empty())
            .ok_or_else(|| ApiError::bad_request(format!("query parameter `{name}` is required")))
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
    let well_formed =
        value.len() == 10 && value.as_bytes()[4] == b'-' && value.as_bytes()[7] == b'-';
    well_formed
        .then(|| NaiveDate::parse_from_str(value, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "`{name}` is `{}`: expected a calendar date YYYY-MM-DD",
                excerpt(value)
            ))
        })
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
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::bad_request(format!("request body is invalid: {e}")))
    }
}

fn excerpt(value: &str) -> String {
    value.chars().take(40).collect()
}
