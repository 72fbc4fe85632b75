//! The simulated partner's products and their base inventory, derived from the seed.
//!
//! Products 14 and 15 mirror the captured fixtures: 14 has nine half-hourly slots from 04:00
//! (adult 212.14 / 242.14, child on most slots) every day but Sunday; 15 has a single 00:00
//! slot on Sundays with adult, child and a free infant type. Every other product gets a
//! profile drawn from the seed: multi-slot or single-slot, on some weekdays, with 1–4 pax
//! types, prices with cents, and `isPrimary` present on some pax and absent on others.

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use tickete_core::validate::{RawPax, RawPrice, RawSlot};

use crate::rng::{mix, Rng};

/// How a product marks its primary pax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PrimaryStyle {
    /// `isPrimary: true` on the first pax, the field absent on the others (like the fixtures).
    FirstOnly,
    /// `isPrimary` absent everywhere (the first pax is primary by the contract).
    Absent,
    /// `isPrimary: true` on the first pax, `false` on the others.
    Explicit,
}

/// One passenger type of a product.
#[derive(Debug, Clone)]
struct PaxTemplate {
    code: &'static str,
    name: &'static str,
    description: &'static str,
    /// Final price in cents on even slots.
    cents: i64,
    /// Added to the final price on odd slots.
    odd_bump_cents: i64,
    /// Original price minus final price, in cents.
    markup_cents: i64,
    /// Seats of this type per slot.
    capacity: i64,
    /// Percent of slots that offer this type (the first pax is always offered).
    offered_percent: u64,
}

/// Everything that shapes one product's inventory.
#[derive(Debug, Clone)]
pub(crate) struct Profile {
    product: u32,
    /// Monday first.
    weekdays: [bool; 7],
    first_minute: u32,
    step_minutes: u32,
    slots: u32,
    variant_id: i64,
    slot_prefix: u64,
    currency: &'static str,
    capacity: i64,
    pax: Vec<PaxTemplate>,
    primary: PrimaryStyle,
    details: bool,
    limits: bool,
    /// Percent of seats already sold at most, per slot.
    presold_percent: i64,
    /// Weekend surcharge, percent.
    weekend_percent: i64,
}

fn fixture_14() -> Profile {
    Profile {
        product: 14,
        weekdays: [true, true, true, true, true, true, false],
        first_minute: 4 * 60,
        step_minutes: 30,
        slots: 9,
        variant_id: 32,
        slot_prefix: 225_532_707_686,
        currency: "SGD",
        capacity: 2000,
        pax: vec![
            pax(
                "ADULT_12~99",
                "Adult",
                "12-99 years",
                21214,
                3000,
                10000,
                1000,
                100,
            ),
            pax(
                "CHILD_3~11",
                "Child",
                "3-11 years",
                4300,
                3000,
                10000,
                1000,
                75,
            ),
        ],
        primary: PrimaryStyle::FirstOnly,
        details: true,
        limits: true,
        presold_percent: 0,
        weekend_percent: 0,
    }
}

fn fixture_15() -> Profile {
    Profile {
        product: 15,
        weekdays: [false, false, false, false, false, false, true],
        first_minute: 0,
        step_minutes: 60,
        slots: 1,
        variant_id: 122,
        slot_prefix: 225_532_707_687,
        currency: "SGD",
        capacity: 170,
        pax: vec![
            pax(
                "ADULT_12~99",
                "Adult",
                "12-99 years",
                34100,
                0,
                10000,
                150,
                100,
            ),
            pax(
                "CHILD_5~15",
                "Child",
                "5-15 years",
                13700,
                0,
                10000,
                10,
                100,
            ),
            pax("INFANT_0~4", "Infant", "0-4 years", 0, 0, 0, 10, 100),
        ],
        primary: PrimaryStyle::FirstOnly,
        details: true,
        limits: true,
        presold_percent: 0,
        weekend_percent: 0,
    }
}

#[allow(clippy::too_many_arguments)]
fn pax(
    code: &'static str,
    name: &'static str,
    description: &'static str,
    cents: i64,
    odd_bump_cents: i64,
    markup_cents: i64,
    capacity: i64,
    offered_percent: u64,
) -> PaxTemplate {
    PaxTemplate {
        code,
        name,
        description,
        cents,
        odd_bump_cents,
        markup_cents,
        capacity,
        offered_percent,
    }
}

impl Profile {
    /// The profile of `product` under `seed`.
    pub(crate) fn for_product(seed: u64, product: u32) -> Self {
        match product {
            14 => return fixture_14(),
            15 => return fixture_15(),
            _ => {}
        }
        let mut rng = Rng::new(&[seed, u64::from(product), 0x5052_4f46]);
        let multi = rng.percent(45);
        let mut weekdays = [false; 7];
        let days = if multi {
            rng.range(4, 7)
        } else {
            rng.range(1, 3)
        };
        while weekdays.iter().filter(|d| **d).count() < days as usize {
            // Single-slot products lean to weekends, like product 15.
            let day = if !multi && rng.percent(60) {
                rng.range(5, 6)
            } else {
                rng.range(0, 6)
            };
            weekdays[day as usize] = true;
        }
        let (first_minute, step_minutes, slots) = if multi {
            let step = if rng.percent(50) { 30 } else { 60 };
            (rng.range(6, 10) as u32 * 60, step, rng.range(3, 10) as u32)
        } else if rng.percent(40) {
            (0, 60, 1)
        } else {
            (
                rng.range(8, 14) as u32 * 60 + 30 * rng.range(0, 1) as u32,
                60,
                1,
            )
        };
        let adult = rng.range(2_000, 40_099);
        let markup = match rng.below(3) {
            0 => 0,
            1 => 10_000,
            _ => adult * rng.range(10, 30) / 100,
        };
        let child_percent = rng.range(50, 75);
        let mut types = vec![pax(
            "ADULT_12~99",
            "Adult",
            "12-99 years",
            adult,
            if multi { rng.range(0, 30_00) } else { 0 },
            markup,
            rng.range(20, 1000),
            100,
        )];
        if rng.percent(70) {
            let (code, description) = if rng.percent(50) {
                ("CHILD_3~11", "3-11 years")
            } else {
                ("CHILD_5~15", "5-15 years")
            };
            let cents = adult * child_percent / 100;
            types.push(pax(
                code,
                "Child",
                description,
                cents,
                0,
                markup * child_percent / 100,
                rng.range(10, 500),
                rng.range(60, 100) as u64,
            ));
        }
        if rng.percent(20) {
            let cents = adult * 80 / 100;
            types.push(pax(
                "SENIOR_65~99",
                "Senior",
                "65-99 years",
                cents,
                0,
                markup * 80 / 100,
                rng.range(5, 100),
                100,
            ));
        }
        if rng.percent(30) {
            types.push(pax("INFANT_0~4", "Infant", "0-4 years", 0, 0, 0, 10, 100));
        }
        Profile {
            product,
            weekdays,
            first_minute,
            step_minutes,
            slots: slots.min((24 * 60 - first_minute) / step_minutes),
            variant_id: rng.range(10, 999),
            slot_prefix: 225_532_700_000 + u64::from(product),
            currency: ["SGD", "SGD", "SGD", "SGD", "USD", "EUR"][rng.below(6) as usize],
            capacity: rng.range(20, 2000),
            pax: types,
            primary: match rng.below(3) {
                0 => PrimaryStyle::FirstOnly,
                1 => PrimaryStyle::Absent,
                _ => PrimaryStyle::Explicit,
            },
            details: rng.percent(85),
            limits: rng.percent(80),
            presold_percent: rng.range(0, 60),
            weekend_percent: rng.range(0, 15),
        }
    }

    /// The product's untouched inventory on `date` (before any simulated change).
    pub(crate) fn base_day(&self, seed: u64, date: NaiveDate) -> Vec<RawSlot> {
        let weekday = date.weekday().num_days_from_monday() as usize;
        let day_key = date.num_days_from_ce() as u64;
        let product = u64::from(self.product);
        let mut rng = Rng::new(&[seed, product, day_key, 0x0044_4159]);
        let fixture = matches!(self.product, 14 | 15);
        // A few dates on the pattern are closed (holidays, private hire).
        let blackout = !fixture && rng.percent(4);
        if !self.weekdays[weekday] || blackout {
            return Vec::new();
        }
        let weekend = weekday >= 5;
        let date_text = date.format("%Y-%m-%d").to_string();
        (0..self.slots)
            .map(|index| {
                let mut slot_rng = Rng::new(&[seed, product, day_key, u64::from(index)]);
                let minute = self.first_minute + index * self.step_minutes;
                let time = format!("{:02}:{:02}", minute / 60, minute % 60);
                let sold_out = !fixture && slot_rng.percent(5);
                let presold = |rng: &mut Rng, capacity: i64| {
                    if sold_out {
                        capacity
                    } else {
                        capacity * rng.range(0, self.presold_percent) / 100
                    }
                };
                let mut pax = Vec::with_capacity(self.pax.len());
                for (i, template) in self.pax.iter().enumerate() {
                    if i > 0 && !slot_rng.percent(template.offered_percent) {
                        continue;
                    }
                    let mut cents = template.cents;
                    if index % 2 == 1 {
                        cents += template.odd_bump_cents;
                    }
                    if weekend {
                        cents += cents * self.weekend_percent / 100;
                    }
                    let remaining = template.capacity - presold(&mut slot_rng, template.capacity);
                    pax.push(self.raw_pax(i, template, cents, remaining));
                }
                RawSlot {
                    start_date: date_text.clone(),
                    start_time: time.clone(),
                    end_time: time.clone(),
                    provider_slot_id: format!("{}_{date_text}T{time}", self.slot_prefix),
                    remaining: self.capacity - presold(&mut slot_rng, self.capacity),
                    currency_code: Some(self.currency.to_owned()),
                    variant_id: self.variant_id,
                    pax_availability: pax,
                }
            })
            .collect()
    }

    fn raw_pax(&self, index: usize, template: &PaxTemplate, cents: i64, remaining: i64) -> RawPax {
        let is_primary = match (self.primary, index) {
            (PrimaryStyle::Absent, _) => None,
            (_, 0) => Some(true),
            (PrimaryStyle::Explicit, _) => Some(false),
            (PrimaryStyle::FirstOnly, _) => None,
        };
        RawPax {
            pax_type: template.code.to_owned(),
            name: self.details.then(|| template.name.to_owned()),
            description: self.details.then(|| template.description.to_owned()),
            min: self.limits.then_some(1),
            max: self.limits.then_some(20),
            remaining,
            is_primary,
            price: RawPrice {
                final_price: money(cents),
                original_price: money(cents + template.markup_cents),
                discount: Some(Decimal::ZERO),
                currency_code: Some(self.currency.to_owned()),
            },
        }
    }

    /// Seats of the slot type and of each pax type when nothing is sold, for restocking.
    pub(crate) fn capacity(&self, pax_type: Option<&str>) -> i64 {
        match pax_type {
            None => self.capacity,
            Some(code) => self
                .pax
                .iter()
                .find(|t| t.code == code)
                .map_or(self.capacity, |t| t.capacity),
        }
    }
}

/// Cents as a normalised decimal: 21214 → 212.14, 7300 → 73 (as the partner writes them).
pub(crate) fn money(cents: i64) -> Decimal {
    Decimal::new(cents, 2).normalize()
}

/// A stable 64-bit key for a (product, date) pair.
pub(crate) fn day_key(seed: u64, product: u32, date: NaiveDate) -> u64 {
    mix(&[seed, u64::from(product), date.num_days_from_ce() as u64])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn products_14_and_15_look_like_the_fixtures() {
        let tuesday = Profile::for_product(1, 14).base_day(1, date("2025-03-25"));
        assert_eq!(tuesday.len(), 9);
        assert_eq!(tuesday[0].provider_slot_id, "225532707686_2025-03-25T04:00");
        assert_eq!(
            tuesday[0].pax_availability[0].price.final_price.to_string(),
            "212.14"
        );
        assert_eq!(
            tuesday[1].pax_availability[0].price.final_price.to_string(),
            "242.14"
        );
        assert!(Profile::for_product(1, 14)
            .base_day(1, date("2025-03-30"))
            .is_empty());
        let sunday = Profile::for_product(1, 15).base_day(1, date("2025-03-30"));
        assert_eq!(sunday.len(), 1);
        assert_eq!(sunday[0].remaining, 170);
        assert_eq!(
            sunday[0].pax_availability[2].price.final_price.to_string(),
            "0"
        );
        assert!(Profile::for_product(1, 15)
            .base_day(1, date("2025-03-25"))
            .is_empty());
    }

    #[test]
    fn every_generated_day_passes_core_validation() {
        let start = date("2025-03-24");
        for product in 1..=60 {
            let profile = Profile::for_product(9, product);
            for offset in 0..14 {
                let day = start + chrono::Days::new(offset);
                let raw = profile.base_day(9, day);
                assert_eq!(raw, profile.base_day(9, day), "deterministic");
                tickete_core::validate::validate_day(day, raw)
                    .unwrap_or_else(|e| panic!("product {product} {day}: {e}"));
            }
        }
    }
}
