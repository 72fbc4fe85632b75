//! What shoppers read: the public slots and dates routes count each (product, date) asked
//! for, decayed over time, bounded in memory. What one client address adds is bounded by
//! [`ClientGuard`], so a product weighs as much as shoppers read it and one client hammering
//! it cannot take the budget from the others.
//!
//! Reads are counted into a [`ReadTally`] (the hot path: one lock, one map entry), which the
//! engine flushes to the store now and then as [`ReadDelta`]s; the store keeps every
//! replica's reads merged, and the engine loads them back into [`Reads`]. A store keeps a
//! pair's weight scaled to the start of a week-long period ([`scaled`]), so adding reads is
//! an addition and only a pair last read in an earlier period needs [`combine`]'s carry.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};

use super::clients::{ClientGuard, ClientRead};
use super::pair_table::PairTable;
use crate::domain::ProductId;

/// Reads lose half their weight in this many seconds.
pub const HALF_LIFE_SECS: f64 = 6.0 * 3600.0;
/// Pairs counted at most (catalogue × horizon is far below; past dates are pruned).
pub const MAX_PAIRS: usize = 100_000;
/// Most a pair's reads can multiply its importance.
pub const MAX_BOOST: f64 = 8.0;

/// Length of a period of stored read weights (weights are scaled to its start).
pub const PERIOD_SECS: i64 = 7 * 86_400;

/// The period of `at`.
pub fn period_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(PERIOD_SECS)
}

fn growth(seconds: f64) -> f64 {
    (seconds * std::f64::consts::LN_2 / HALF_LIFE_SECS).exp()
}

/// What a weight scaled to one period's start is worth scaled to the next's: 2^(−28).
pub fn period_carry() -> f64 {
    1.0 / growth(PERIOD_SECS as f64)
}

/// `count` reads at `at` as a store keeps them: (period, weight scaled to its start).
pub fn scaled(count: f64, at: DateTime<Utc>) -> (i64, f64) {
    let period = period_of(at);
    let into = (at.timestamp_millis() - period * PERIOD_SECS * 1000) as f64 / 1000.0;
    (period, count * growth(into))
}

/// The weight at `now` of `scaled` kept in `period`.
pub fn weight_at(period: i64, scaled: f64, now: DateTime<Utc>) -> f64 {
    let since = (now.timestamp_millis() - period * PERIOD_SECS * 1000) as f64 / 1000.0;
    scaled / growth(since)
}

/// Merges reads added (`added`) into a stored weight (`stored`), both (period, scaled): the
/// later period wins and the other is carried into it; weights two or more periods older are
/// below 2^(−56) of a read and dropped. The SQL stores repeat this rule in their upsert; the
/// store contract suite proves they agree.
pub fn combine(stored: (i64, f64), added: (i64, f64)) -> (i64, f64) {
    let (old, new) = if added.0 >= stored.0 {
        (stored, added)
    } else {
        (added, stored)
    };
    let carried = match new.0 - old.0 {
        0 => old.1,
        1 => old.1 * period_carry(),
        _ => 0.0,
    };
    (new.0, new.1 + carried)
}

/// Reads of one (product, date) to add to the store.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReadDelta {
    /// Product read.
    pub product: ProductId,
    /// Date read.
    pub date: NaiveDate,
    /// Reads (a dates read spreads one over its window), finite and > 0.
    pub count: f64,
}

/// Reads counted since the last flush: the hot path adds here and nothing else.
#[derive(Debug, Default)]
pub struct ReadTally {
    pairs: PairTable<f64>,
    windows: HashMap<ProductId, f64>,
    clients: ClientGuard,
}

impl ReadTally {
    /// Counts a read of (product, date) by `client` at `now`, if the client's bound lets it
    /// add one (see [`ClientGuard`]).
    pub fn client_pair(
        &mut self,
        client: std::net::IpAddr,
        product: ProductId,
        date: NaiveDate,
        now: DateTime<Utc>,
    ) {
        let read = ClientRead::Pair(product, date);
        if let Some(weight) = self.clients.admit(client, read, now) {
            self.add_pair(product, date, weight);
        }
    }

    /// Counts a read of a product's dates by `client` at `now`, within the client's bound.
    pub fn client_window(
        &mut self,
        client: std::net::IpAddr,
        product: ProductId,
        now: DateTime<Utc>,
    ) {
        if let Some(weight) = self.clients.admit(client, ClientRead::Dates(product), now) {
            self.add_window(product, weight);
        }
    }

    /// Counts a read of one (product, date) (the slots route). At most [`MAX_PAIRS`] pairs
    /// are counted between flushes.
    pub fn pair(&mut self, product: ProductId, date: NaiveDate) {
        self.add_pair(product, date, 1.0);
    }

    fn add_pair(&mut self, product: ProductId, date: NaiveDate, weight: f64) {
        if self.pairs.len() < MAX_PAIRS || self.pairs.get(product, date).is_some() {
            *self.pairs.get_or_insert_with(product, date, f64::default) += weight;
        }
    }

    /// Counts a read of a product's dates (the dates route): spread over its window when
    /// flushed.
    pub fn window(&mut self, product: ProductId) {
        self.add_window(product, 1.0);
    }

    fn add_window(&mut self, product: ProductId, weight: f64) {
        if self.windows.len() < MAX_PAIRS || self.windows.contains_key(&product) {
            *self.windows.entry(product).or_default() += weight;
        }
    }

    /// Whether nothing was counted since the last flush.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty() && self.windows.is_empty()
    }

    /// Empties the tally into deltas: pair reads as counted, a window read as `1 / n` on
    /// each of the `window` dates.
    pub fn take(&mut self, window: &[NaiveDate]) -> Vec<ReadDelta> {
        let mut merged = std::mem::take(&mut self.pairs);
        let share = 1.0 / window.len().max(1) as f64;
        for (product, reads) in std::mem::take(&mut self.windows) {
            for date in window {
                *merged.get_or_insert_with(product, *date, f64::default) += reads * share;
            }
        }
        merged
            .drain()
            .map(|(product, date, count)| ReadDelta {
                product,
                date,
                count,
            })
            .collect()
    }

    /// Puts deltas back (a flush that failed), within the bound.
    pub fn restore(&mut self, deltas: &[ReadDelta]) {
        for delta in deltas {
            let (product, date) = (delta.product, delta.date);
            if self.pairs.len() < MAX_PAIRS || self.pairs.get(product, date).is_some() {
                *self.pairs.get_or_insert_with(product, date, f64::default) += delta.count;
            }
        }
    }
}

/// Decayed read counts. Counts are kept scaled by `e^((t − origin)/τ)` so decaying them all
/// costs nothing: a read at `t` adds that factor, and a weight is read back divided by it.
#[derive(Debug, Default)]
pub struct Reads {
    pairs: PairTable<f64>,
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
            self.pairs.values_mut().for_each(|value| *value /= scale);
            self.total /= scale;
            self.origin = Some(now);
            scale = 1.0;
        }
        let _ = origin;
        if self.pairs.len() >= MAX_PAIRS && self.pairs.get(product, date).is_none() {
            return;
        }
        let added = count * scale;
        *self.pairs.get_or_insert_with(product, date, f64::default) += added;
        self.total += added;
    }

    /// How much reads raise the pair's importance: 1 (no reads) up to `1 + MAX_BOOST`, by its
    /// reads relative to the mean pair read. A popular product is not capped: what one
    /// client can add is bounded where reads are counted.
    pub fn boost(&self, product: ProductId, date: NaiveDate) -> f64 {
        let Some(&reads) = self.pairs.get(product, date) else {
            return 1.0;
        };
        if self.total <= 0.0 || self.pairs.is_empty() {
            return 1.0;
        }
        let mean = self.total / self.pairs.len() as f64;
        1.0 + (reads / mean).min(MAX_BOOST)
    }

    /// Replaces every count with `weights` (each pair's decayed reads at `now`, as loaded
    /// from the store), keeping at most [`MAX_PAIRS`].
    pub fn replace(
        &mut self,
        weights: impl IntoIterator<Item = ((ProductId, NaiveDate), f64)>,
        now: DateTime<Utc>,
    ) {
        // Emptied, not replaced: the tables keep their capacity, so a reload of tens of
        // thousands of pairs every minute does not allocate (and fragment) them anew.
        self.pairs.clear();
        self.total = 0.0;
        self.origin = Some(now);
        for ((product, date), weight) in weights {
            if !(weight.is_finite() && weight > 0.0) || self.pairs.len() >= MAX_PAIRS {
                continue;
            }
            *self.pairs.get_or_insert_with(product, date, f64::default) += weight;
            self.total += weight;
        }
    }

    /// The pairs read, with their decayed counts at `now` (for sharing through the store).
    pub fn snapshot(&self, now: DateTime<Utc>) -> Vec<((ProductId, NaiveDate), f64)> {
        let scale = self.scale(now);
        self.pairs
            .iter()
            .map(|(product, date, value)| ((product, date), value / scale))
            .collect()
    }

    /// Forgets dates before `today`.
    pub fn prune_before(&mut self, today: NaiveDate) {
        let mut dropped = 0.0;
        self.pairs.retain(|_, date, value| {
            let keep = date >= today;
            if !keep {
                dropped += *value;
            }
            keep
        });
        self.total = (self.total - dropped).max(0.0);
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
    fn stored_weights_decay_like_counts_and_carry_across_periods() {
        let t = DateTime::parse_from_rfc3339("2026-03-02T05:00:00Z")
            .unwrap()
            .to_utc();
        let (period, weight) = scaled(2.0, t);
        assert!((weight_at(period, weight, t) - 2.0).abs() < 1e-9);
        let later = t + Duration::hours(6);
        assert!((weight_at(period, weight, later) - 1.0).abs() < 1e-9);
        // Two reads a week apart: the first carried into the second's period at a quarter
        // of a day's halvings (28 half-lives a week).
        let next_week = t + Duration::days(7);
        let merged = combine((period, weight), scaled(1.0, next_week));
        let expected = 1.0 + 2.0 * 0.5f64.powi(28);
        assert!((weight_at(merged.0, merged.1, next_week) - expected).abs() < 1e-9);
        // Order does not matter; two periods apart the old reads are dropped.
        assert_eq!(merged, combine(scaled(1.0, next_week), (period, weight)));
        let far = combine((period, weight), scaled(1.0, t + Duration::days(15)));
        assert!((weight_at(far.0, far.1, t + Duration::days(15)) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn a_tally_spreads_window_reads_and_replaced_counts_rank_pairs() {
        let date = |d| NaiveDate::from_ymd_opt(2026, 3, d).unwrap();
        let mut tally = ReadTally::default();
        tally.pair(pid(1), date(2));
        tally.pair(pid(1), date(2));
        tally.window(pid(2));
        let mut deltas = tally.take(&[date(2), date(3)]);
        deltas.sort_by_key(|d| (d.product, d.date));
        let counts: Vec<_> = deltas.iter().map(|d| (d.product.get(), d.count)).collect();
        assert_eq!(counts, [(1, 2.0), (2, 0.5), (2, 0.5)]);
        assert!(tally.is_empty());
        let now = DateTime::parse_from_rfc3339("2026-03-02T00:00:00Z")
            .unwrap()
            .to_utc();
        let mut reads = Reads::default();
        reads.replace(deltas.iter().map(|d| ((d.product, d.date), d.count)), now);
        assert!(reads.boost(pid(1), date(2)) > reads.boost(pid(2), date(2)));
        assert_eq!(reads.len(), 3);
    }

    #[test]
    fn a_product_many_clients_read_weighs_more_and_one_client_cannot_steer() {
        let now = DateTime::parse_from_rfc3339("2026-03-02T00:00:00Z")
            .unwrap()
            .to_utc();
        let date = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let client = |n: u32| std::net::IpAddr::from([10, 0, (n >> 8) as u8, n as u8]);
        let boosts = |tally: &mut ReadTally| {
            let mut reads = Reads::default();
            let deltas = tally.take(&[date]);
            reads.replace(deltas.iter().map(|d| ((d.product, d.date), d.count)), now);
            (reads.boost(pid(1), date), reads.boost(pid(2), date))
        };
        // 60 shoppers read product 1, 40 others one product each.
        let mut shoppers = ReadTally::default();
        for n in 0..60 {
            shoppers.client_pair(client(n), pid(1), date, now);
        }
        for n in 0..40 {
            shoppers.client_pair(client(100 + n), pid(2 + n), date, now);
        }
        let (popular, other) = boosts(&mut shoppers);
        assert!(popular >= 1.0 + MAX_BOOST * 0.9, "{popular} vs {other}");
        assert!(other < 2.0, "{other}");
        // One client making the same 60 reads, and walking every date besides, adds what one
        // shopper adds.
        let mut hammered = ReadTally::default();
        for _ in 0..60 {
            hammered.client_pair(client(0), pid(1), date, now);
        }
        for day in 3..=31 {
            let walked = NaiveDate::from_ymd_opt(2026, 3, day).unwrap();
            hammered.client_pair(client(0), pid(1), walked, now);
        }
        for n in 0..40 {
            hammered.client_pair(client(100 + n), pid(2 + n), date, now);
        }
        let (steered, other) = boosts(&mut hammered);
        assert!((steered - other).abs() < 1e-9, "{steered} vs {other}");
    }
}
