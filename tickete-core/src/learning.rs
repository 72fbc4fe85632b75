//! What the refresh policy learns, kept by the store: so a restart does not forget
//! it and replicas on one database share it.
//!
//! - Per (product, date): the recent fetch observations (interval, changed?), the last fetch
//!   and the empty streak ([`PairStats`]). A fetch is recorded with [`Learning::record_fetch`],
//!   which applies [`PairStats::record`] to the stored state under the row's lock, so two
//!   replicas never lose each other's observations.
//! - Per (product, date): the public reads of every replica, decayed (6 h half-life), as a
//!   weight scaled to a week-long period ([`crate::engine::policy::reads::scaled`]); adding
//!   reads is an addition, merged by [`crate::engine::policy::reads::combine`].
//!
//! Both are bounded: past dates are pruned with the rest of upkeep, reads to
//! [`MAX_PAIRS`] rows.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::ProductId;
pub use crate::engine::policy::learnt::PairStats;
pub use crate::engine::policy::reads::{ReadDelta, MAX_PAIRS};
use crate::store::StoreError;

/// The learnt state of one (product, date) as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct LearntPair {
    /// Product.
    pub product: ProductId,
    /// Date.
    pub date: NaiveDate,
    /// What its fetches taught.
    pub stats: PairStats,
}

/// The merged reads of one (product, date) as stored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StoredReads {
    /// Product.
    pub product: ProductId,
    /// Date.
    pub date: NaiveDate,
    /// Period the weight is scaled to ([`crate::engine::policy::reads::period_of`]).
    pub period: i64,
    /// Decayed reads scaled to the period's start.
    pub scaled: f64,
}

impl StoredReads {
    /// The decayed reads at `now`.
    pub fn weight_at(&self, now: DateTime<Utc>) -> f64 {
        crate::engine::policy::reads::weight_at(self.period, self.scaled, now)
    }
}

/// Keeps what the refresh policy learns (see the module docs).
#[async_trait]
pub trait Learning: Send + Sync + 'static {
    /// Records a successful fetch of (product, date) at `at` that found the day `changed`
    /// and `empty`, by [`PairStats::record`] on the stored state, atomically; returns the
    /// state as now stored. `NotFound` when the product is not in the catalogue.
    async fn record_fetch(
        &self,
        product: ProductId,
        date: NaiveDate,
        changed: bool,
        empty: bool,
        at: DateTime<Utc>,
    ) -> Result<PairStats, StoreError>;

    /// The learnt pairs with a date on or after `from`; with `fetched_since`, only those last
    /// fetched at or after it (what other replicas learnt lately). Ordered by product, date.
    async fn learnt_pairs(
        &self,
        from: NaiveDate,
        fetched_since: Option<DateTime<Utc>>,
    ) -> Result<Vec<LearntPair>, StoreError>;

    /// Adds reads counted at `at` to the merged counts (by
    /// [`crate::engine::policy::reads::combine`]). Reads of products not in the catalogue
    /// are dropped; a count that is not finite and > 0 is `Conflict` (nothing is written).
    async fn add_reads(&self, reads: &[ReadDelta], at: DateTime<Utc>) -> Result<(), StoreError>;

    /// The merged reads of dates on or after `from`.
    async fn stored_reads(&self, from: NaiveDate) -> Result<Vec<StoredReads>, StoreError>;

    /// Upkeep: forgets pairs and reads of dates before `before`, reads of periods before
    /// `oldest_period` (worth nothing any more), and the least read rows beyond [`MAX_PAIRS`]
    /// (latest period first, then heaviest). Returns how many rows went.
    async fn prune_learning(
        &self,
        before: NaiveDate,
        oldest_period: i64,
    ) -> Result<u64, StoreError>;
}

/// Checks deltas before a store writes them.
pub fn check_reads(reads: &[ReadDelta]) -> Result<(), StoreError> {
    match reads
        .iter()
        .find(|read| !(read.count.is_finite() && read.count > 0.0))
    {
        Some(read) => Err(StoreError::Conflict(format!(
            "read count {} of product {} on {} is not a finite number above 0",
            read.count, read.product, read.date
        ))),
        None => Ok(()),
    }
}
