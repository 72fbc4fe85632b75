//! The rows inventory reads decode, one `FromRow` struct per query shape.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use rust_decimal::Decimal;
use tickete_core::{DayState, PaxAvailability, Price, Slot, StoreError};

use crate::error::{corrupt, count, product_id};

/// The joined columns of a slots read: a slot with one of its pax (none when it has none).
pub(super) const SLOT_PAX_COLUMNS: &str = "
    SELECT s.provider_slot_id, s.day, s.start_time, s.end_time, s.remaining AS slot_remaining,
           s.currency_code AS slot_currency, s.variant_id, p.pax_type, p.name, p.description,
           p.min_count, p.max_count, p.remaining AS pax_remaining, p.is_primary, p.final_price,
           p.original_price, p.discount, p.currency_code AS pax_currency
    FROM slots AS s LEFT JOIN pax AS p ON p.slot_id = s.id";

/// A row of `slots` left-joined with one row of `pax`.
#[derive(sqlx::FromRow)]
pub(super) struct SlotPaxRow {
    provider_slot_id: String,
    day: NaiveDate,
    start_time: NaiveTime,
    end_time: NaiveTime,
    slot_remaining: i64,
    slot_currency: String,
    variant_id: i64,
    pax_type: Option<String>,
    name: Option<String>,
    description: Option<String>,
    min_count: Option<i64>,
    max_count: Option<i64>,
    pax_remaining: Option<i64>,
    is_primary: Option<bool>,
    final_price: Option<Decimal>,
    original_price: Option<Decimal>,
    discount: Option<Decimal>,
    pax_currency: Option<String>,
}

impl SlotPaxRow {
    /// The row's slot (without pax) and its pax, if any.
    fn into_parts(self) -> Result<(Slot, Option<PaxAvailability>), StoreError> {
        let slot = Slot {
            provider_slot_id: self.provider_slot_id.clone(),
            start_date: self.day,
            start_time: self.start_time,
            end_time: self.end_time,
            remaining: count(self.slot_remaining, "slot remaining")?,
            currency_code: self.slot_currency.clone(),
            variant_id: self.variant_id,
            pax: Vec::new(),
        };
        Ok((slot, self.pax()?))
    }

    fn pax(self) -> Result<Option<PaxAvailability>, StoreError> {
        let Some(pax_type) = self.pax_type else {
            return Ok(None);
        };
        let missing = |what: &str| corrupt(format!("pax {pax_type} without {what}"));
        let optional = |value: Option<i64>, what: &str| value.map(|v| count(v, what)).transpose();
        let mut price = Price {
            final_price: self.final_price.ok_or_else(|| missing("price"))?,
            original_price: self.original_price.ok_or_else(|| missing("price"))?,
            discount: self.discount.ok_or_else(|| missing("discount"))?,
            currency_code: self.pax_currency.ok_or_else(|| missing("currency"))?,
        };
        // NUMERIC(12,2) pads `73` to `73.00`; snapshots store the canonical form.
        price.normalize();
        Ok(Some(PaxAvailability {
            name: self.name,
            description: self.description,
            min: optional(self.min_count, "pax min")?,
            max: optional(self.max_count, "pax max")?,
            remaining: count(
                self.pax_remaining.ok_or_else(|| missing("remaining"))?,
                "pax remaining",
            )?,
            is_primary: self.is_primary.unwrap_or(false),
            price,
            pax_type,
        }))
    }
}

/// Folds joined (slot, pax) rows, already in order, into slots.
pub(super) fn assemble(rows: Vec<SlotPaxRow>) -> Result<Vec<Slot>, StoreError> {
    tickete_store_sql::fold_slots(rows.into_iter().map(SlotPaxRow::into_parts))
}

/// A row of `day_states` as the engine sees it.
#[derive(sqlx::FromRow)]
pub(super) struct DayStateRow {
    product_id: i64,
    day: NaiveDate,
    synced_at: Option<DateTime<Utc>>,
    hash: Option<String>,
    last_error: Option<String>,
}

impl DayStateRow {
    pub(super) fn into_state(self) -> Result<DayState, StoreError> {
        Ok(DayState {
            product: product_id(self.product_id)?,
            date: self.day,
            synced_at: self.synced_at,
            hash: self.hash,
            last_error: self.last_error,
        })
    }
}

/// The day-state columns a read of the served forms needs.
#[derive(sqlx::FromRow)]
pub(super) struct ServedDayRow {
    pub(super) day: Option<NaiveDate>,
    pub(super) synced_at: Option<DateTime<Utc>>,
    pub(super) hash: Option<String>,
    pub(super) served_hash: Option<String>,
    pub(super) body: Option<String>,
    open_final_price: Option<Decimal>,
    open_original_price: Option<Decimal>,
    open_discount: Option<Decimal>,
    open_currency_code: Option<String>,
}

impl ServedDayRow {
    /// Whether the served columns were written for the stored content (else the day was
    /// synced before they existed, or by an older replica, and is read from its slots).
    pub(super) fn is_current(&self) -> bool {
        self.hash.is_none() || self.hash == self.served_hash
    }

    /// The lowest open primary price kept with the day, if it has an open slot.
    pub(super) fn open_price(&self) -> Option<Price> {
        let (Some(final_price), Some(original), Some(discount), Some(currency)) = (
            self.open_final_price,
            self.open_original_price,
            self.open_discount,
            &self.open_currency_code,
        ) else {
            return None;
        };
        let mut price = Price {
            final_price,
            original_price: original,
            discount,
            currency_code: currency.clone(),
        };
        // NUMERIC(12,2) pads `73` to `73.00`; snapshots store the canonical form.
        price.normalize();
        Some(price)
    }
}
