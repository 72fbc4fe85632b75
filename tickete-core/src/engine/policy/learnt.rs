//! What the policy has learnt from fetches: per (product, date) observations and rate, per
//! product and nearness its pooled rate (and the catalogue's, for a product with no history
//! yet), which products the partner does not know, and how likely a date not fetched yet is
//! to be open, from its product's other dates on the same weekday.
//!
//! Plain data updated by [`Learnt::observe`]; the engine keeps one behind a lock and the
//! policy reads it when ranking.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::estimator::{self, Observation, KEPT};
use super::pair_table::PairTable;
use crate::domain::ProductId;

/// Observations pooled per (product, nearness bucket).
const POOL_KEPT: usize = 48;
/// Observations pooled per nearness bucket over the whole catalogue.
const CATALOGUE_POOL_KEPT: usize = 400;
/// Chance that a date is closed before anything is known of its product's weekday.
pub const PRIOR_CLOSED: f64 = 0.2;
/// Weight of [`PRIOR_CLOSED`] against the product's fetched dates of the same weekday.
const CLOSED_PRIOR_WEIGHT: f64 = 1.0;
/// Fetches in a row that found an empty day before the day counts as learnt-empty.
pub const EMPTY_AFTER: u32 = 2;
/// Rate believed of a pair nobody knows anything about yet: a change every six hours.
pub const PRIOR_RATE: f64 = 1.0 / (6.0 * 3600.0);

/// What one fetch found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// A day came back; whether its content hash changed, whether it had no slots.
    Day {
        /// Content hash differed from the stored one.
        changed: bool,
        /// `[]`.
        empty: bool,
    },
    /// 404: the partner does not know the product.
    UnknownProduct,
}

/// Learnt state of one (product, date).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PairStats {
    /// Most recent last, at most [`KEPT`].
    pub observations: Vec<Observation>,
    /// Maximum-likelihood rate of the observations, per second.
    pub rate: Option<f64>,
    /// Last successful fetch.
    pub last_fetched: Option<DateTime<Utc>>,
    /// Fetches in a row that found `[]`.
    pub empty_streak: u32,
}

impl PairStats {
    /// The state as a store keeps it: observations (most recent last), the last fetch and
    /// the empty streak; the rate is recomputed.
    pub fn from_parts(
        mut observations: Vec<Observation>,
        last_fetched: Option<DateTime<Utc>>,
        empty_streak: u32,
    ) -> Self {
        if observations.len() > KEPT {
            observations.drain(..observations.len() - KEPT);
        }
        let rate = estimator::estimate(&observations);
        Self {
            observations,
            rate,
            last_fetched,
            empty_streak,
        }
    }

    /// The state from a store's columns: observations in [`encode_observations`]' form, the
    /// last fetch, the empty streak; says what was wrong with a corrupt one.
    pub fn from_stored(
        observations: &str,
        last_fetched: DateTime<Utc>,
        empty_streak: i64,
    ) -> Result<Self, String> {
        let observations = decode_observations(observations)?;
        let streak =
            u32::try_from(empty_streak).map_err(|_| format!("empty streak {empty_streak}"))?;
        Ok(Self::from_parts(observations, Some(last_fetched), streak))
    }

    /// Records a fetch at `at` that found the day `changed` (content hash differed) and
    /// `empty` (`[]`). Returns the observation it added (none for the first fetch, or for a
    /// fetch older than the last one known, e.g. another replica's that committed late).
    /// The one rule of what is learnt from a fetch: the engine and every store call it.
    pub fn record(&mut self, changed: bool, empty: bool, at: DateTime<Utc>) -> Option<Observation> {
        if self.last_fetched.is_some_and(|previous| at < previous) {
            return None;
        }
        let mut added = None;
        if let Some(previous) = self.last_fetched {
            let interval = (at - previous).num_milliseconds().max(0) as f64 / 1000.0;
            let observation = Observation { interval, changed };
            self.observations.push(observation);
            if self.observations.len() > KEPT {
                self.observations.remove(0);
            }
            self.rate = estimator::estimate(&self.observations);
            added = Some(observation);
        }
        self.last_fetched = Some(at);
        // A day that changes is treated in full again at once.
        self.empty_streak = if empty && !(changed && self.empty_streak > 0) {
            self.empty_streak + 1
        } else if empty {
            1
        } else {
            0
        };
        added
    }

    /// The observations with the instant of the fetch that made each, most recent last.
    pub fn timed_observations(&self) -> Vec<(DateTime<Utc>, Observation)> {
        let Some(mut at) = self.last_fetched else {
            return Vec::new();
        };
        let mut timed = Vec::with_capacity(self.observations.len());
        for observation in self.observations.iter().rev() {
            timed.push((at, *observation));
            let back = chrono::Duration::milliseconds((observation.interval * 1000.0) as i64);
            at = at.checked_sub_signed(back).unwrap_or(at);
        }
        timed.reverse();
        timed
    }

    /// Whether the day is learnt to stay empty (cheaper: fetched down to once a day).
    pub fn is_empty_day(&self) -> bool {
        self.empty_streak >= EMPTY_AFTER
    }
}

/// Observations as a store keeps them: `interval:changed` pairs, most recent last, comma
/// separated (`3600:1,1800.5:0`); interval in seconds, changed `1` or `0`.
pub fn encode_observations(observations: &[Observation]) -> String {
    observations
        .iter()
        .map(|o| format!("{}:{}", o.interval, u8::from(o.changed)))
        .collect::<Vec<_>>()
        .join(",")
}

/// Reads [`encode_observations`]' form back; says what was wrong with a malformed one. Keeps
/// the most recent [`KEPT`].
pub fn decode_observations(text: &str) -> Result<Vec<Observation>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let mut observations = text
        .split(',')
        .map(|item| {
            let (interval, changed) = item
                .split_once(':')
                .ok_or_else(|| format!("observation {item:?} is not interval:changed"))?;
            let interval: f64 = interval
                .parse()
                .ok()
                .filter(|i: &f64| i.is_finite() && *i >= 0.0)
                .ok_or_else(|| format!("observation interval {interval:?} is not seconds ≥ 0"))?;
            let changed = match changed {
                "1" => true,
                "0" => false,
                other => return Err(format!("observation flag {other:?} is not 0 or 1")),
            };
            Ok(Observation { interval, changed })
        })
        .collect::<Result<Vec<_>, String>>()?;
    if observations.len() > KEPT {
        observations.drain(..observations.len() - KEPT);
    }
    Ok(observations)
}

/// Learnt state of one product.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProductStats {
    /// Since when every fetch answered 404 (`None`: the partner knows it).
    pub unknown_since: Option<DateTime<Utc>>,
    /// Last fetch attempt while unknown.
    pub last_probe: Option<DateTime<Utc>>,
}

/// Nearness buckets rates are pooled in: today, tomorrow, this week, further.
pub fn bucket(days_ahead: u32) -> u8 {
    match days_ahead {
        0 => 0,
        1 => 1,
        2..=6 => 2,
        _ => 3,
    }
}

/// Everything learnt, keyed by pair and by product.
#[derive(Debug, Default)]
pub struct Learnt {
    pairs: PairTable<PairStats>,
    products: HashMap<ProductId, ProductStats>,
    pools: HashMap<(ProductId, u8), (VecDeque<Observation>, Option<f64>)>,
    catalogue_pools: HashMap<u8, (VecDeque<Observation>, Option<f64>)>,
}

/// Adds `observation` to a pool of at most `kept` and re-estimates its rate.
fn add_to_pool(
    (pool, rate): &mut (VecDeque<Observation>, Option<f64>),
    observation: Observation,
    kept: usize,
) {
    pool.push_back(observation);
    if pool.len() > kept {
        pool.pop_front();
    }
    *rate = estimator::estimate(pool.make_contiguous());
}

impl Learnt {
    /// Records one fetch of (product, date), `days_ahead` of today, at `now`.
    pub fn observe(
        &mut self,
        product: ProductId,
        date: NaiveDate,
        days_ahead: u32,
        seen: Seen,
        now: DateTime<Utc>,
    ) {
        let (changed, empty) = match seen {
            Seen::UnknownProduct => {
                let stats = self.products.entry(product).or_default();
                stats.unknown_since.get_or_insert(now);
                stats.last_probe = Some(now);
                return;
            }
            Seen::Day { changed, empty } => (changed, empty),
        };
        if let Some(stats) = self.products.get_mut(&product) {
            stats.unknown_since = None;
        }
        let pair = self
            .pairs
            .get_or_insert_with(product, date, PairStats::default);
        if let Some(observation) = pair.record(changed, empty, now) {
            self.pool(product, days_ahead, observation);
        }
    }

    fn pool(&mut self, product: ProductId, days_ahead: u32, observation: Observation) {
        let bucket = bucket(days_ahead);
        let product_pool = self.pools.entry((product, bucket)).or_default();
        add_to_pool(product_pool, observation, POOL_KEPT);
        let catalogue_pool = self.catalogue_pools.entry(bucket).or_default();
        add_to_pool(catalogue_pool, observation, CATALOGUE_POOL_KEPT);
    }

    /// Takes pairs as the store keeps them (loaded at start, written by another replica, or
    /// returned by this engine's own write): each replaces what is known of its pair unless
    /// that is as recent, and its observations not seen before join their product's pool in
    /// time order. `days_ahead_at` says how far ahead a date was at an instant (the pool's
    /// nearness bucket is the one of the observation's time).
    pub fn absorb(
        &mut self,
        pairs: impl IntoIterator<Item = (ProductId, NaiveDate, PairStats)>,
        days_ahead_at: impl Fn(NaiveDate, DateTime<Utc>) -> u32,
    ) {
        let mut fresh: Vec<(DateTime<Utc>, ProductId, u32, Observation)> = Vec::new();
        for (product, date, stats) in pairs {
            let known = self
                .pairs
                .get(product, date)
                .and_then(|pair| pair.last_fetched);
            if stats.last_fetched.is_none() || stats.last_fetched <= known {
                continue;
            }
            for (at, observation) in stats.timed_observations() {
                if known.is_none_or(|known| at > known) {
                    fresh.push((at, product, days_ahead_at(date, at), observation));
                }
            }
            if let Some(unknown) = self.products.get_mut(&product) {
                unknown.unknown_since = None;
            }
            self.pairs.insert(product, date, stats);
        }
        fresh.sort_by_key(|(at, ..)| *at);
        for (_, product, days_ahead, observation) in fresh {
            self.pool(product, days_ahead, observation);
        }
    }

    /// The rate (per second) the policy believes for (product, date): the pair's own
    /// estimate pooled with its product's at this nearness; a product with no history at this
    /// nearness borrows the catalogue's; [`PRIOR_RATE`] before anything was learnt.
    pub fn rate(&self, product: ProductId, date: NaiveDate, days_ahead: u32) -> f64 {
        let pair = self.pairs.get(product, date);
        let own = pair.and_then(|p| p.rate);
        let weight = pair.map_or(0.0, |p| estimator::weight_of(p.observations.len()));
        let bucket = bucket(days_ahead);
        let pool = self
            .pools
            .get(&(product, bucket))
            .and_then(|(_, rate)| *rate)
            .or_else(|| {
                self.catalogue_pools
                    .get(&bucket)
                    .and_then(|(_, rate)| *rate)
            });
        estimator::pooled(own, weight, pool).unwrap_or(PRIOR_RATE)
    }

    /// How likely (product, date) is to be open, from what its product's fetched dates of the
    /// same weekday last showed (a product closed on Mondays is likely closed next Monday):
    /// `1 − (closed + PRIOR_CLOSED·w) / (fetched + w)`. A date fetched itself answers for
    /// itself: 1 when its last fetch found slots, 0 when it found none.
    pub fn open_chance(&self, product: ProductId, date: NaiveDate) -> f64 {
        if let Some(pair) = self.pairs.get(product, date) {
            return if pair.empty_streak > 0 { 0.0 } else { 1.0 };
        }
        let (mut fetched, mut closed) = (0.0, 0.0);
        for (other, stats) in self.pairs.dates_of(product) {
            if (*other - date).num_days() % 7 == 0 && stats.last_fetched.is_some() {
                fetched += 1.0;
                closed += f64::from(u8::from(stats.empty_streak > 0));
            }
        }
        1.0 - (closed + PRIOR_CLOSED * CLOSED_PRIOR_WEIGHT) / (fetched + CLOSED_PRIOR_WEIGHT)
    }

    /// The pair's learnt state, if it was ever fetched.
    pub fn pair(&self, product: ProductId, date: NaiveDate) -> Option<&PairStats> {
        self.pairs.get(product, date)
    }

    /// The product's learnt state.
    pub fn product(&self, product: ProductId) -> Option<&ProductStats> {
        self.products.get(&product)
    }

    /// Whether the partner answered 404 for the product since its last 200.
    pub fn is_unknown(&self, product: ProductId) -> bool {
        self.products
            .get(&product)
            .is_some_and(|p| p.unknown_since.is_some())
    }

    /// Products the partner does not know.
    pub fn unknown_products(&self) -> impl Iterator<Item = ProductId> + '_ {
        self.products
            .iter()
            .filter(|(_, p)| p.unknown_since.is_some())
            .map(|(id, _)| *id)
    }

    /// Forgets dates before `today` (bounded memory: catalogue × horizon).
    pub fn prune_before(&mut self, today: NaiveDate) {
        self.pairs.retain(|_, date, _| date >= today);
    }

    /// Forgets a product (deleted from the catalogue).
    pub fn forget_product(&mut self, product: ProductId) {
        self.pairs.remove_product(product);
        self.products.remove(&product);
        self.pools.retain(|(id, _), _| *id != product);
        // The catalogue's pools keep what the product taught: they describe the partner.
    }

    /// Pairs learnt to stay empty.
    pub fn empty_days(&self) -> impl Iterator<Item = (ProductId, NaiveDate)> + '_ {
        self.pairs
            .iter()
            .filter(|(_, _, stats)| stats.is_empty_day())
            .map(|(product, date, _)| (product, date))
    }
}

#[cfg(test)]
mod tests;
