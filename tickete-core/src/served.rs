//! What the public read routes serve (SPEC §2), in the form the stores keep precomputed.
//!
//! A store encodes a day once, when `apply_day` writes it, and keeps the body and the day's
//! dates summary with the day's sync state; a read is then one indexed lookup, never a join of
//! slots and pax. The encoding is written once, here, so every store keeps the same bytes.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::domain::{PaxAvailability, Price, Slot};
use crate::pricing::{lowest_prices, DatePrice};

/// Version of the served encoding; part of every entity tag, so a release that changes the
/// bytes of a body never answers `304` to a client holding the old bytes.
pub const ENCODING_VERSION: u32 = 1;

/// What the slots route serves for one (product, date).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedSlots {
    /// `{"slots": [Slot, …]}` exactly as [`slots_body`] encodes the day's slots.
    pub body: String,
    /// When the day was last fetched from the partner (`Last-Modified`); `None` when never.
    pub synced_at: Option<DateTime<Utc>>,
    /// Content hash of the stored day (the source of the `ETag`); `None` when never synced.
    pub hash: Option<String>,
}

impl ServedSlots {
    /// What a product serves for a date it has no synced data for.
    pub fn never_synced() -> Self {
        Self {
            body: slots_body([]),
            synced_at: None,
            hash: None,
        }
    }
}

/// What the dates route serves for one product and window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedDates {
    /// Bookable dates of the window with their lowest price, ascending (the rule of
    /// [`lowest_prices`]).
    pub dates: Vec<DatePrice>,
    /// The latest fetch among the product's synced days in the window (`Last-Modified`).
    pub synced_at: Option<DateTime<Utc>>,
}

/// The summary of one day that the dates route needs, kept with the day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaySummary {
    /// Slots of the day.
    pub slot_count: u32,
    /// Lowest primary-pax price among the day's slots with seats left; `None` when no slot
    /// has seats (the date is not bookable).
    pub open_price: Option<Price>,
}

impl DaySummary {
    /// The date's entry of the dates route, when it is bookable.
    pub fn date_price(&self, date: NaiveDate) -> Option<DatePrice> {
        self.open_price
            .clone()
            .map(|price| DatePrice { date, price })
    }
}

#[derive(Serialize)]
struct SlotsOut<'a> {
    slots: Vec<SlotOut<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SlotOut<'a> {
    start_time: String,
    start_date: NaiveDate,
    price: PriceOut<'a>,
    remaining: u32,
    pax_availability: Vec<PaxOut<'a>>,
}

#[derive(Serialize)]
struct PaxOut<'a> {
    #[serde(rename = "type")]
    pax_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    price: PriceOut<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max: Option<u32>,
    remaining: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PriceOut<'a> {
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    final_price: Decimal,
    currency_code: &'a str,
    #[serde(with = "rust_decimal::serde::arbitrary_precision")]
    original_price: Decimal,
}

impl<'a> From<&'a Price> for PriceOut<'a> {
    fn from(price: &'a Price) -> Self {
        Self {
            final_price: price.final_price,
            currency_code: &price.currency_code,
            original_price: price.original_price,
        }
    }
}

impl<'a> From<&'a PaxAvailability> for PaxOut<'a> {
    fn from(pax: &'a PaxAvailability) -> Self {
        Self {
            pax_type: &pax.pax_type,
            name: pax.name.as_deref(),
            description: pax.description.as_deref(),
            price: (&pax.price).into(),
            min: pax.min,
            max: pax.max,
            remaining: pax.remaining,
        }
    }
}

/// What a store keeps with a day when it applies it: the served body and the dates summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedDay {
    /// The slots route's body.
    pub body: String,
    /// The dates route's summary.
    pub summary: DaySummary,
}

impl EncodedDay {
    /// Encodes a day's slots in the order stores read them back (start time, then provider
    /// slot id), whatever order the snapshot holds them in.
    pub fn of(slots: &[Slot]) -> Self {
        let mut ordered: Vec<&Slot> = slots.iter().collect();
        ordered.sort_by(|a, b| {
            (a.start_time, &a.provider_slot_id).cmp(&(b.start_time, &b.provider_slot_id))
        });
        Self {
            body: slots_body(ordered.iter().copied()),
            summary: DaySummary {
                slot_count: u32::try_from(slots.len()).unwrap_or(u32::MAX),
                open_price: lowest_prices(ordered).into_iter().next().map(|d| d.price),
            },
        }
    }
}

/// The slots route's body, `{"slots": [...]}`: slots in the given order, each with its primary
/// pax's price, pax in partner order, prices as JSON numbers with their exact digits.
pub fn slots_body<'a>(slots: impl IntoIterator<Item = &'a Slot>) -> String {
    let out = SlotsOut {
        slots: slots
            .into_iter()
            .map(|slot| SlotOut {
                start_time: slot.start_time.format("%H:%M").to_string(),
                start_date: slot.start_date,
                price: (&slot.primary_pax().price).into(),
                remaining: slot.remaining,
                pax_availability: slot.pax.iter().map(PaxOut::from).collect(),
            })
            .collect(),
    };
    // Our own types: no maps with non-string keys, no floats, so this cannot fail.
    serde_json::to_string(&out).expect("slots body serialises")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::sample_day;

    #[test]
    fn an_empty_day_is_an_empty_list() {
        assert_eq!(slots_body([]), r#"{"slots":[]}"#);
    }

    #[test]
    fn prices_keep_their_digits_and_the_slot_shows_its_primary_pax() {
        let date = NaiveDate::from_ymd_opt(2025, 3, 25).unwrap();
        let day = sample_day(date, &["09:00"]);
        let body: serde_json::Value = serde_json::from_str(&slots_body(&day.slots)).unwrap();
        let slot = &body["slots"][0];
        assert_eq!(slot["startTime"], "09:00");
        assert_eq!(slot["startDate"], "2025-03-25");
        let primary = day.slots[0].primary_pax();
        assert_eq!(
            slot["price"]["finalPrice"].to_string(),
            primary.price.final_price.to_string()
        );
        assert!(slot["price"].get("discount").is_none());
        assert_eq!(summary_price(&day.slots), Some(primary.price.clone()));
    }

    fn summary_price(slots: &[Slot]) -> Option<Price> {
        EncodedDay::of(slots).summary.open_price
    }
}
