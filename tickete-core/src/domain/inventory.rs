use chrono::{NaiveDate, NaiveTime};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A price exactly as the partner gave it (decimals, never floats).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Price {
    /// What the customer pays.
    pub final_price: Decimal,
    /// The list price before discount.
    pub original_price: Decimal,
    /// Discount as the partner reported it (0 when missing).
    pub discount: Decimal,
    /// ISO currency code, e.g. `SGD`.
    pub currency_code: String,
}

impl Price {
    /// Drops trailing zeros of every amount; the value is unchanged.
    pub fn normalize(&mut self) {
        self.final_price = self.final_price.normalize();
        self.original_price = self.original_price.normalize();
        self.discount = self.discount.normalize();
    }
}

/// Availability and price of one passenger type within a slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaxAvailability {
    /// Partner pax type such as `ADULT_12~99`; unique within a slot.
    pub pax_type: String,
    /// Display name, when the partner sends one.
    pub name: Option<String>,
    /// Description, when the partner sends one.
    pub description: Option<String>,
    /// Minimum bookable count, when given.
    pub min: Option<u32>,
    /// Maximum bookable count, when given.
    pub max: Option<u32>,
    /// Seats left for this type.
    pub remaining: u32,
    /// Whether this is the slot's primary (headline) pax type.
    pub is_primary: bool,
    /// Price for this type.
    pub price: Price,
}

/// One bookable time slot on one date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    /// The partner's unique slot id.
    pub provider_slot_id: String,
    /// The date of the slot (always the date it was fetched for).
    pub start_date: NaiveDate,
    /// Start time, minute precision.
    pub start_time: NaiveTime,
    /// End time, minute precision.
    pub end_time: NaiveTime,
    /// Slot capacity left, independent of the pax counts.
    pub remaining: u32,
    /// Currency of the slot.
    pub currency_code: String,
    /// Partner variant id.
    pub variant_id: i64,
    /// Pax types in partner order; at least one.
    pub pax: Vec<PaxAvailability>,
}

impl Slot {
    /// The pax whose price represents the slot: the one marked primary, else the first.
    pub fn primary_pax(&self) -> &PaxAvailability {
        self.pax
            .iter()
            .find(|pax| pax.is_primary)
            .unwrap_or(&self.pax[0])
    }
}

/// The validated partner answer for one product on one date.
///
/// Build it with [`crate::validate::validate_day`]; slots are sorted by start time, then
/// provider slot id, so equal content always hashes equally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaySnapshot {
    /// The date this snapshot describes.
    pub date: NaiveDate,
    /// Slots of the day; empty when the product has nothing that date.
    pub slots: Vec<Slot>,
}

impl DaySnapshot {
    /// A snapshot in canonical form: slots ordered by start time then provider slot id, and
    /// prices without trailing zeros (`73.00` is `73`), so equal content hashes equally and
    /// every store reads back the same numbers.
    pub fn new(date: NaiveDate, mut slots: Vec<Slot>) -> Self {
        for pax in slots.iter_mut().flat_map(|slot| slot.pax.iter_mut()) {
            pax.price.normalize();
        }
        slots.sort_by(|a, b| {
            (a.start_time, &a.provider_slot_id).cmp(&(b.start_time, &b.provider_slot_id))
        });
        Self { date, slots }
    }

    /// Hex SHA-256 of the canonical content; an unchanged hash means nothing to write.
    pub fn content_hash(&self) -> String {
        // Serialising our own types cannot fail: no maps with non-string keys, no floats.
        let canonical = serde_json::to_vec(self).expect("snapshot serialises");
        hex::encode(Sha256::digest(canonical))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_zeros_are_not_a_change() {
        let date = NaiveDate::from_ymd_opt(2025, 3, 25).unwrap();
        let day = |cents: i64, scale: u32| {
            let amount = Decimal::new(cents, scale);
            let time = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
            let pax = PaxAvailability {
                pax_type: "ADULT".into(),
                name: None,
                description: None,
                min: None,
                max: None,
                remaining: 1,
                is_primary: true,
                price: Price {
                    final_price: amount,
                    original_price: amount,
                    discount: Decimal::ZERO,
                    currency_code: "SGD".into(),
                },
            };
            let slot = Slot {
                provider_slot_id: "a".into(),
                start_date: date,
                start_time: time,
                end_time: time,
                remaining: 1,
                currency_code: "SGD".into(),
                variant_id: 1,
                pax: vec![pax],
            };
            DaySnapshot::new(date, vec![slot])
        };
        let whole = day(73, 0);
        let padded = day(7300, 2);
        assert_eq!(whole.content_hash(), padded.content_hash());
        assert_eq!(padded.slots[0].pax[0].price.final_price.to_string(), "73");
    }
}
