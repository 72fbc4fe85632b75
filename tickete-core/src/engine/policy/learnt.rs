//! What the policy has learnt from fetches: per (product, date) observations and rate, per
//! product and nearness its pooled rate, which products the partner does not know.
//!
//! Plain data updated by [`Learnt::observe`]; the engine keeps one behind a lock and the
//! policy reads it when ranking.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::estimator::{self, Observation, KEPT};
use crate::domain::ProductId;

/// Observations pooled per (product, nearness bucket).
const POOL_KEPT: usize = 48;
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
    /// Whether the day is learnt to stay empty (cheaper: fetched down to once a day).
    pub fn is_empty_day(&self) -> bool {
        self.empty_streak >= EMPTY_AFTER
    }
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
    pairs: HashMap<(ProductId, NaiveDate), PairStats>,
    products: HashMap<ProductId, ProductStats>,
    pools: HashMap<(ProductId, u8), (VecDeque<Observation>, Option<f64>)>,
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
        let pair = self.pairs.entry((product, date)).or_default();
        if let Some(previous) = pair.last_fetched {
            let interval = (now - previous).num_milliseconds().max(0) as f64 / 1000.0;
            let observation = Observation { interval, changed };
            pair.observations.push(observation);
            if pair.observations.len() > KEPT {
                pair.observations.remove(0);
            }
            pair.rate = estimator::estimate(&pair.observations);
            let (pool, rate) = self.pools.entry((product, bucket(days_ahead))).or_default();
            pool.push_back(observation);
            if pool.len() > POOL_KEPT {
                pool.pop_front();
            }
            *rate = estimator::estimate(pool.make_contiguous());
        }
        pair.last_fetched = Some(now);
        // A day that changes is treated in full again at once.
        pair.empty_streak = if empty && !(changed && pair.empty_streak > 0) {
            pair.empty_streak + 1
        } else if empty {
            1
        } else {
            0
        };
    }

    /// The rate (per second) the policy believes for (product, date): the pair's own
    /// estimate pooled with its product's at this nearness, else [`PRIOR_RATE`].
    pub fn rate(&self, product: ProductId, date: NaiveDate, days_ahead: u32) -> f64 {
        let pair = self.pairs.get(&(product, date));
        let own = pair.and_then(|p| p.rate);
        let weight = pair.map_or(0.0, |p| estimator::weight_of(p.observations.len()));
        let pool = self
            .pools
            .get(&(product, bucket(days_ahead)))
            .and_then(|(_, rate)| *rate);
        estimator::pooled(own, weight, pool).unwrap_or(PRIOR_RATE)
    }

    /// The pair's learnt state, if it was ever fetched.
    pub fn pair(&self, product: ProductId, date: NaiveDate) -> Option<&PairStats> {
        self.pairs.get(&(product, date))
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
        self.pairs.retain(|(_, date), _| *date >= today);
    }

    /// Forgets a product (deleted from the catalogue).
    pub fn forget_product(&mut self, product: ProductId) {
        self.pairs.retain(|(id, _), _| *id != product);
        self.products.remove(&product);
        self.pools.retain(|(id, _), _| *id != product);
    }

    /// Pairs learnt to stay empty.
    pub fn empty_days(&self) -> impl Iterator<Item = (ProductId, NaiveDate)> + '_ {
        self.pairs
            .iter()
            .filter(|(_, stats)| stats.is_empty_day())
            .map(|(key, _)| *key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn pid(raw: u32) -> ProductId {
        ProductId::new(raw).unwrap()
    }

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-02T00:00:00Z")
            .unwrap()
            .to_utc()
    }

    #[test]
    fn a_quiet_pair_is_believed_slow_and_a_waking_one_fast_within_a_few_fetches() {
        let mut learnt = Learnt::default();
        let date = NaiveDate::from_ymd_opt(2026, 3, 5).unwrap();
        let day = |changed| Seen::Day {
            changed,
            empty: false,
        };
        for hour in 0..10 {
            learnt.observe(
                pid(1),
                date,
                3,
                day(hour == 0),
                t0() + Duration::hours(hour),
            );
        }
        let quiet = learnt.rate(pid(1), date, 3);
        assert!(quiet < PRIOR_RATE / 10.0, "{quiet}");
        for hour in 10..13 {
            learnt.observe(pid(1), date, 3, day(true), t0() + Duration::hours(hour));
        }
        let waking = learnt.rate(pid(1), date, 3);
        assert!(waking > PRIOR_RATE, "{waking}");
    }

    #[test]
    fn empty_days_and_unknown_products_are_learnt_and_forgotten_on_the_first_change() {
        let mut learnt = Learnt::default();
        let date = NaiveDate::from_ymd_opt(2026, 3, 5).unwrap();
        let empty = Seen::Day {
            changed: false,
            empty: true,
        };
        learnt.observe(pid(1), date, 3, empty, t0());
        learnt.observe(pid(1), date, 3, empty, t0() + Duration::hours(1));
        assert!(learnt.pair(pid(1), date).unwrap().is_empty_day());
        let opened = Seen::Day {
            changed: true,
            empty: false,
        };
        learnt.observe(pid(1), date, 3, opened, t0() + Duration::hours(2));
        assert!(!learnt.pair(pid(1), date).unwrap().is_empty_day());

        learnt.observe(pid(2), date, 3, Seen::UnknownProduct, t0());
        assert!(learnt.is_unknown(pid(2)));
        learnt.observe(pid(2), date, 3, opened, t0() + Duration::days(1));
        assert!(!learnt.is_unknown(pid(2)));
    }
}
