//! Rows of `learnt_pairs` and `read_counts` (what the refresh policy learns).

use chrono::{DateTime, NaiveDate, Utc};
use tickete_core::learning::{LearntPair, PairStats, StoredReads};
use tickete_core::StoreError;

use crate::stored::Stored;
use crate::{corrupt, product_id};

/// The columns of [`LearntPairRow`].
pub const LEARNT_COLUMNS: &str = "product_id, day, observations, last_fetched, empty_streak";

/// The columns of [`ReadCountRow`].
pub const READ_COLUMNS: &str = "product_id, day, period, scaled";

/// The learnt pairs of dates from `$1`, fetched since `$2` when it is not NULL.
pub const LEARNT_PAIRS_FROM: &str = "
    SELECT product_id, day, observations, last_fetched, empty_streak FROM learnt_pairs
    WHERE day >= $1 AND ($2 IS NULL OR last_fetched >= $2)
    ORDER BY product_id, day";

/// The read counts of dates from `$1`.
pub const READS_FROM: &str = "
    SELECT product_id, day, period, scaled FROM read_counts WHERE day >= $1
    ORDER BY product_id, day";

/// A row of `learnt_pairs`, with dates stored as `D` and instants as `I`.
#[derive(sqlx::FromRow)]
pub struct LearntPairRow<D, I> {
    /// Product id.
    pub product_id: i64,
    /// Date.
    pub day: D,
    /// Encoded observations.
    pub observations: String,
    /// Last fetch.
    pub last_fetched: I,
    /// Fetches in a row that found the day empty.
    pub empty_streak: i64,
}

impl<D: Stored<NaiveDate>, I: Stored<DateTime<Utc>>> LearntPairRow<D, I> {
    /// What the pair's fetches taught.
    pub fn stats(self) -> Result<PairStats, StoreError> {
        let last_fetched = self.last_fetched.load()?;
        PairStats::from_stored(&self.observations, last_fetched, self.empty_streak).map_err(corrupt)
    }

    /// The pair with what its fetches taught.
    pub fn into_pair(self) -> Result<LearntPair, StoreError> {
        Ok(LearntPair {
            product: product_id(self.product_id)?,
            date: self.day.load()?,
            stats: PairStats::from_stored(
                &self.observations,
                self.last_fetched.load()?,
                self.empty_streak,
            )
            .map_err(corrupt)?,
        })
    }
}

/// A row of `read_counts`, with dates stored as `D`.
#[derive(sqlx::FromRow)]
pub struct ReadCountRow<D> {
    /// Product id.
    pub product_id: i64,
    /// Date.
    pub day: D,
    /// Period the weight is scaled to.
    pub period: i64,
    /// Weight.
    pub scaled: f64,
}

impl<D: Stored<NaiveDate>> ReadCountRow<D> {
    /// The merged reads of the row's pair.
    pub fn into_reads(self) -> Result<StoredReads, StoreError> {
        if !(self.scaled.is_finite() && self.scaled >= 0.0) {
            return Err(corrupt(format!("read weight {}", self.scaled)));
        }
        Ok(StoredReads {
            product: product_id(self.product_id)?,
            date: self.day.load()?,
            period: self.period,
            scaled: self.scaled,
        })
    }
}
