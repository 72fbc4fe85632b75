//! Where availability comes from: the partner (or a second partner, or a fake).

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::{DaySnapshot, ProductId};
use crate::validate::ValidationError;

/// A classified fetch failure; the engine branches on the variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// The partner's budget is spent; nothing may be sent before `reset_at`.
    #[error("rate limited by the partner until {reset_at}")]
    RateLimited {
        /// When the partner's window resets.
        reset_at: DateTime<Utc>,
    },
    /// Worth retrying soon: 5xx, timeout, connection failure.
    #[error("transient partner failure: {0}")]
    Transient(String),
    /// Retrying will not help: refused key, other 4xx.
    #[error("permanent partner failure: {0}")]
    Permanent(String),
    /// The partner does not know the product (404): the refresh policy learns it and backs
    /// off to one fetch a day (SPEC §4).
    #[error("the partner does not know this product: {0}")]
    UnknownProduct(String),
    /// The partner answered, but not with a valid day.
    #[error("invalid partner response: {0}")]
    InvalidResponse(String),
}

impl From<ValidationError> for SourceError {
    fn from(error: ValidationError) -> Self {
        SourceError::InvalidResponse(error.to_string())
    }
}

/// Fetches one product on one date.
///
/// Implementations return a validated snapshot (see [`crate::validate`]) and never retry or
/// pace on their own: the engine owns the budget.
#[async_trait]
pub trait InventorySource: Send + Sync + 'static {
    /// One partner call for `product` on `date`.
    async fn fetch(&self, product: ProductId, date: NaiveDate) -> Result<DaySnapshot, SourceError>;
}
