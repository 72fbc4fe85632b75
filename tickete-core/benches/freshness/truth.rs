//! The partner's truth in the simulation: every (product, date) changes as a Poisson process
//! whose rate is known, differs by product (a few hot ones) and grows as the date nears; some
//! days stay closed (`[]`, never changing) and some products do not exist (404 on every date).
//!
//! Everything is drawn from one seed, minute by minute in a fixed order, so two policies
//! simulated one after the other see exactly the same changes at the same instants.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use rust_decimal::Decimal;
use tickete_core::testing::sample_slot;
use tickete_core::{Clock, DaySnapshot, InventorySource, ProductId, SourceError};

/// How the simulated partner's inventory moves.
#[derive(Debug, Clone)]
pub struct Model {
    /// Seed of every draw.
    pub seed: u64,
    /// Products `1..=products` are in the catalogue.
    pub products: u32,
    /// Share of products that change far more often.
    pub hot_share: f64,
    /// Their rate multiplier.
    pub hot_factor: f64,
    /// Changes per hour of an ordinary product's date a week or more ahead... scaled by
    /// [`Model::nearness`].
    pub base_per_hour: f64,
    /// Share of products the partner does not know (404 on every date).
    pub unknown_share: f64,
    /// Share of products closed on two weekdays (`[]` that never changes).
    pub closed_share: f64,
    /// When set, the share of closed days instead: each product closes each weekday with
    /// probability 0.8 × it, and any other date at random with the rest.
    pub closed_days: Option<f64>,
    /// Zipf exponent of shoppers' interest by product rank.
    pub zipf: f64,
    /// Dates simulated ahead of today.
    pub horizon_days: u64,
}

impl Model {
    /// The model the figures of docs/benchmarks.md were measured with.
    pub fn standard(products: u32) -> Self {
        Self {
            seed: 0x7e_57_ed,
            products,
            hot_share: 0.1,
            hot_factor: 10.0,
            base_per_hour: 0.05,
            unknown_share: 0.03,
            closed_share: 0.4,
            closed_days: None,
            zipf: 1.0,
            horizon_days: 31,
        }
    }

    /// Rate multiplier by days ahead: shoppers book near dates, so near dates move more.
    pub fn nearness(days_ahead: u64) -> f64 {
        match days_ahead {
            0 => 6.0,
            1 => 3.0,
            2..=6 => 1.5,
            _ => 0.5,
        }
    }
}

/// One product as the partner sees it.
#[derive(Debug, Clone)]
pub struct ProductTruth {
    /// Rate multiplier (hot products > 1).
    pub factor: f64,
    /// The partner answers 404 for every date.
    pub unknown: bool,
    /// Weekdays with nothing on sale (bit 0 = Monday).
    pub closed_weekdays: u8,
    /// Probability that any other date is closed (drawn per date from the seed).
    pub random_closed: f64,
    /// Shoppers' interest, relative (Zipf by a seeded rank).
    pub popularity: f64,
}

/// The partner's inventory, as versions per (product, date).
pub struct Truth {
    pub model: Model,
    pub products: Vec<ProductTruth>,
    versions: HashMap<(u32, NaiveDate), u64>,
    rng: SplitMix,
}

impl Truth {
    pub fn new(model: Model) -> Self {
        let mut rng = SplitMix(model.seed);
        let mut ranks: Vec<u32> = (0..model.products).collect();
        for i in (1..ranks.len()).rev() {
            let j = (rng.next() % (i as u64 + 1)) as usize;
            ranks.swap(i, j);
        }
        let products = (0..model.products as usize)
            .map(|index| {
                let rank = ranks[index];
                // Popular products sell more, so they are more often hot.
                let hot = rng.unit()
                    < model.hot_share * if rank < model.products / 5 { 3.0 } else { 0.5 };
                let closed = rng.unit() < model.closed_share;
                let first = (rng.next() % 7) as u32;
                let unknown = rng.unit() < model.unknown_share;
                let (closed_weekdays, random_closed) = match model.closed_days {
                    None if closed => ((1u8 << first) | (1u8 << ((first + 3) % 7)), 0.0),
                    None => (0, 0.0),
                    Some(share) => {
                        let mut mask = 0u8;
                        for weekday in 0..7 {
                            if rng.unit() < 0.8 * share {
                                mask |= 1 << weekday;
                            }
                        }
                        // The rest of the share at random over the remaining dates.
                        (mask, (0.2 * share / (1.0 - 0.8 * share)).min(1.0))
                    }
                };
                ProductTruth {
                    factor: if hot { model.hot_factor } else { 1.0 },
                    unknown,
                    closed_weekdays,
                    random_closed,
                    popularity: 1.0 / f64::from(rank + 1).powf(model.zipf),
                }
            })
            .collect();
        Self {
            model,
            products,
            versions: HashMap::new(),
            rng,
        }
    }

    pub fn product(&self, id: u32) -> &ProductTruth {
        &self.products[(id - 1) as usize]
    }

    pub fn is_closed(&self, id: u32, date: NaiveDate) -> bool {
        let product = self.product(id);
        let weekday = date.weekday().num_days_from_monday();
        if product.closed_weekdays & (1 << weekday) != 0 {
            return true;
        }
        product.random_closed > 0.0 && {
            let day = u64::try_from(date.num_days_from_ce()).unwrap_or(0);
            let mut draw = SplitMix(self.model.seed ^ (u64::from(id) << 32) ^ day);
            draw.unit() < product.random_closed
        }
    }

    /// Change rate per hour of (product, date) when today is `today`.
    pub fn rate_per_hour(&self, id: u32, date: NaiveDate, today: NaiveDate) -> f64 {
        let product = self.product(id);
        if product.unknown || self.is_closed(id, date) {
            return 0.0;
        }
        let ahead = (date - today).num_days().max(0) as u64;
        self.model.base_per_hour * product.factor * Model::nearness(ahead)
    }

    /// One simulated minute passes: each open day changes with its Poisson probability.
    pub fn advance_minute(&mut self, today: NaiveDate) {
        for id in 1..=self.model.products {
            for ahead in 0..self.model.horizon_days {
                let date = today + Days::new(ahead);
                let rate = self.rate_per_hour(id, date, today);
                let draw = self.rng.unit();
                if rate > 0.0 && draw < 1.0 - (-rate / 60.0).exp() {
                    *self.versions.entry((id, date)).or_default() += 1;
                }
            }
        }
    }

    pub fn version(&self, id: u32, date: NaiveDate) -> u64 {
        self.versions.get(&(id, date)).copied().unwrap_or(0)
    }

    /// Forgets dates before `today`.
    pub fn prune(&mut self, today: NaiveDate) {
        self.versions.retain(|(_, date), _| *date >= today);
    }
}

/// What the engine got from the partner: version served per (product, date), calls, 429s.
#[derive(Default)]
pub struct Served {
    pub versions: HashMap<(u32, NaiveDate), u64>,
    pub calls: u64,
    pub rate_limited: u64,
    window_start: Option<DateTime<Utc>>,
    window_calls: u32,
}

/// The simulated partner as an [`InventorySource`], with the 30-a-minute fixed window.
pub struct SimSource {
    pub truth: Arc<Mutex<Truth>>,
    pub served: Arc<Mutex<Served>>,
    pub clock: Arc<dyn Clock>,
    pub limit: u32,
}

#[async_trait]
impl InventorySource for SimSource {
    async fn fetch(&self, product: ProductId, date: NaiveDate) -> Result<DaySnapshot, SourceError> {
        let now = self.clock.now();
        let id = product.get();
        {
            let mut served = self.served.lock().expect("served");
            served.calls += 1;
            let window = served
                .window_start
                .filter(|start| now - *start < chrono::Duration::seconds(60));
            match window {
                Some(start) if served.window_calls >= self.limit => {
                    served.rate_limited += 1;
                    return Err(SourceError::RateLimited {
                        reset_at: start + chrono::Duration::seconds(60),
                    });
                }
                Some(_) => served.window_calls += 1,
                None => {
                    served.window_start = Some(now);
                    served.window_calls = 1;
                }
            }
        }
        let truth = self.truth.lock().expect("truth");
        if id > truth.model.products || truth.product(id).unknown {
            return Err(SourceError::UnknownProduct(format!(
                "partner answered 404 Not Found for product {id}"
            )));
        }
        let version = truth.version(id, date);
        let slots = if truth.is_closed(id, date) {
            Vec::new()
        } else {
            let mut slot = sample_slot(
                date,
                "10:00",
                Decimal::new(10_000 + (version % 5000) as i64, 2),
            );
            slot.remaining = (version % 100_000) as u32;
            vec![slot]
        };
        drop(truth);
        self.served
            .lock()
            .expect("served")
            .versions
            .insert((id, date), version);
        Ok(DaySnapshot::new(date, slots))
    }
}

/// A small seeded generator (SplitMix64): the same stream on every machine.
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}
