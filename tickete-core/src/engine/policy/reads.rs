//! What shoppers read: the public slots and dates routes count each (product, date) asked
//! for, decayed over time, bounded in memory, capped per product so one client hammering one
//! product cannot take the budget from the others.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::ProductId;

/// Reads lose half their weight in this many seconds.
pub const HALF_LIFE_SECS: f64 = 6.0 * 3600.0;
/// Pairs counted at most (catalogue × horizon is far below; past dates are pruned).
pub const MAX_PAIRS: usize = 100_000;
/// Most a pair's reads can multiply its importance.
pub const MAX_BOOST: f64 = 8.0;
/// Largest share of all reads one product's pairs are credited with.
pub const MAX_PRODUCT_SHARE: f64 = 0.2;

/// Decayed read counts. Counts are kept scaled by `e^((t − origin)/τ)` so decaying them all
/// costs nothing: a read at `t` adds that factor, and a weight is read back divided by it.
#[derive(Debug, Default)]
pub struct Reads {
    pairs: HashMap<(ProductId, NaiveDate), f64>,
    products: HashMap<ProductId, f64>,
    total: f64,
    origin: Option<DateTime<Utc>>,
}

impl Reads {
    fn scale(&self, now: DateTime<Utc>) -> f64 {
        let origin = self.origin.unwrap_or(now);
        let elapsed = (now - origin).num_milliseconds() as f64 / 1000.0;
        (elapsed * std::f64::consts::LN_2 / HALF_LIFE_SECS).exp()
    }

    /// Counts `count` reads of (product, date) at `now`.
    pub fn add(&mut self, product: ProductId, date: NaiveDate, count: f64, now: DateTime<Utc>) {
        let origin = *self.origin.get_or_insert(now);
        let mut scale = self.scale(now);
        if scale > 1e12 {
            // Re-base before the scaled counts overflow.
            for value in self.pairs.values_mut().chain(self.products.values_mut()) {
                *value /= scale;
            }
            self.total /= scale;
            self.origin = Some(now);
            scale = 1.0;
        }
        let _ = origin;
        if self.pairs.len() >= MAX_PAIRS && !self.pairs.contains_key(&(product, date)) {
            return;
        }
        let added = count * scale;
        *self.pairs.entry((product, date)).or_default() += added;
        *self.products.entry(product).or_default() += added;
        self.total += added;
    }

    /// How much reads raise the pair's importance: 1 (no reads) up to `1 + MAX_BOOST`, by its
    /// reads relative to the mean pair read, with its product's share capped.
    pub fn boost(&self, product: ProductId, date: NaiveDate) -> f64 {
        let Some(&reads) = self.pairs.get(&(product, date)) else {
            return 1.0;
        };
        if self.total <= 0.0 || self.pairs.is_empty() {
            return 1.0;
        }
        let mean = self.total / self.pairs.len() as f64;
        let product_share = self.products.get(&product).copied().unwrap_or(0.0) / self.total;
        let cap = if product_share > MAX_PRODUCT_SHARE {
            MAX_PRODUCT_SHARE / product_share
        } else {
            1.0
        };
        1.0 + (reads * cap / mean).min(MAX_BOOST)
    }

    /// The pairs read, with their decayed counts at `now` (for sharing through the store).
    pub fn snapshot(&self, now: DateTime<Utc>) -> Vec<((ProductId, NaiveDate), f64)> {
        let scale = self.scale(now);
        self.pairs.iter().map(|(k, v)| (*k, v / scale)).collect()
    }

    /// Forgets dates before `today`.
    pub fn prune_before(&mut self, today: NaiveDate) {
        let mut dropped: HashMap<ProductId, f64> = HashMap::new();
        self.pairs.retain(|(product, date), value| {
            let keep = *date >= today;
            if !keep {
                *dropped.entry(*product).or_default() += *value;
            }
            keep
        });
        for (product, value) in dropped {
            if let Some(total) = self.products.get_mut(&product) {
                *total = (*total - value).max(0.0);
            }
            self.total = (self.total - value).max(0.0);
        }
    }

    /// Pairs counted.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether nothing was read.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn pid(raw: u32) -> ProductId {
        ProductId::new(raw).unwrap()
    }

    #[test]
    fn read_pairs_weigh_more_and_reads_fade() {
        let now = DateTime::parse_from_rfc3339("2026-03-02T00:00:00Z")
            .unwrap()
            .to_utc();
        let date = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let mut reads = Reads::default();
        for product in 1..=10 {
            reads.add(pid(product), date, 1.0, now);
        }
        reads.add(pid(1), date, 3.0, now);
        assert!(reads.boost(pid(1), date) > reads.boost(pid(2), date));
        assert_eq!(reads.boost(pid(11), date), 1.0);
        let later = now + Duration::hours(12);
        let faded: f64 = reads.snapshot(later).iter().map(|(_, v)| v).sum();
        assert!((faded - 13.0 / 4.0).abs() < 0.01, "{faded}");
    }

    #[test]
    fn a_hammered_product_is_capped_and_others_keep_their_weight() {
        let now = DateTime::parse_from_rfc3339("2026-03-02T00:00:00Z")
            .unwrap()
            .to_utc();
        let date = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let mut reads = Reads::default();
        for product in 2..=20 {
            reads.add(pid(product), date, 1.0, now);
        }
        reads.add(pid(1), date, 1_000_000.0, now);
        assert!(reads.boost(pid(1), date) <= 1.0 + MAX_BOOST);
        // Its share is capped at 20 %: it weighs like a few pairs, not a million.
        let hammered = reads.boost(pid(1), date);
        let other = reads.boost(pid(2), date);
        assert!(other >= 1.0);
        assert!(hammered < 1.0 + MAX_BOOST + 1e-9);
    }
}
