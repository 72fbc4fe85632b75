//! Rows of `slots` joined with `pax`, and of `day_states`, as the inventory reads decode them.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use rust_decimal::Decimal;
use tickete_core::{DayState, PaxAvailability, Price, Slot, StoreError};

use crate::stored::{load_optional, Stored};
use crate::{corrupt, count, product_id};

/// The joined columns of a slots read: a slot with one of its pax (none when it has none).
pub const SLOT_PAX_COLUMNS: &str = "
    SELECT s.provider_slot_id, s.day, s.start_time, s.end_time, s.remaining AS slot_remaining,
           s.currency_code AS slot_currency, s.variant_id, p.pax_type, p.name, p.description,
           p.min_count, p.max_count, p.remaining AS pax_remaining, p.is_primary, p.final_price,
           p.original_price, p.discount, p.currency_code AS pax_currency
    FROM slots AS s LEFT JOIN pax AS p ON p.slot_id = s.id";

/// The sync state of the days of `[$1, $2)`, in no particular order (SQLite reads them from
/// its narrow day-ordered index alone; sorting by product would sort the whole window).
pub const DAY_STATES_BETWEEN: &str = "
    SELECT product_id, day, synced_at, hash, last_error FROM day_states
    WHERE day >= $1 AND day < $2";

/// A row of `slots` left-joined with one row of `pax`, with dates stored as `D`, times as `T`
/// and amounts as `M`.
#[derive(sqlx::FromRow)]
pub struct SlotPaxRow<D, T, M> {
    provider_slot_id: String,
    day: D,
    start_time: T,
    end_time: T,
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
    final_price: Option<M>,
    original_price: Option<M>,
    discount: Option<M>,
    pax_currency: Option<String>,
}

impl<D: Stored<NaiveDate>, T: Stored<NaiveTime>, M: Stored<Decimal>> SlotPaxRow<D, T, M> {
    /// The row's slot (without pax) and its pax, if any.
    fn into_parts(self) -> Result<(Slot, Option<PaxAvailability>), StoreError> {
        let slot = Slot {
            provider_slot_id: self.provider_slot_id,
            start_date: self.day.load()?,
            start_time: self.start_time.load()?,
            end_time: self.end_time.load()?,
            remaining: count(self.slot_remaining, "slot remaining")?,
            currency_code: self.slot_currency,
            variant_id: self.variant_id,
            pax: Vec::new(),
        };
        let Some(pax_type) = self.pax_type else {
            return Ok((slot, None));
        };
        let missing = |what: &str| corrupt(format!("pax {pax_type} without {what}"));
        let optional = |value: Option<i64>, what: &str| value.map(|v| count(v, what)).transpose();
        let mut price = Price {
            final_price: self.final_price.ok_or_else(|| missing("price"))?.load()?,
            original_price: self
                .original_price
                .ok_or_else(|| missing("price"))?
                .load()?,
            discount: self.discount.ok_or_else(|| missing("discount"))?.load()?,
            currency_code: self.pax_currency.ok_or_else(|| missing("currency"))?,
        };
        // Postgres' NUMERIC(12,2) pads `73` to `73.00`; snapshots keep the canonical form.
        price.normalize();
        let pax = PaxAvailability {
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
        };
        Ok((slot, Some(pax)))
    }
}

/// Folds joined (slot, pax) rows, already in order, into slots.
pub fn assemble<D: Stored<NaiveDate>, T: Stored<NaiveTime>, M: Stored<Decimal>>(
    rows: Vec<SlotPaxRow<D, T, M>>,
) -> Result<Vec<Slot>, StoreError> {
    crate::fold_slots(rows.into_iter().map(SlotPaxRow::into_parts))
}

/// A row of `day_states` as the engine sees it, with dates stored as `D` and instants as `I`.
#[derive(sqlx::FromRow)]
pub struct DayStateRow<D, I> {
    /// Product id.
    pub product_id: i64,
    /// Date.
    pub day: D,
    /// Last successful fetch.
    pub synced_at: Option<I>,
    /// Content hash of the stored day.
    pub hash: Option<String>,
    /// Last fetch error.
    pub last_error: Option<String>,
}

impl<D: Stored<NaiveDate>, I: Stored<DateTime<Utc>>> DayStateRow<D, I> {
    /// The day's sync state.
    pub fn into_state(self) -> Result<DayState, StoreError> {
        Ok(DayState {
            product: product_id(self.product_id)?,
            date: self.day.load()?,
            synced_at: load_optional(self.synced_at)?,
            hash: self.hash,
            last_error: self.last_error,
        })
    }
}
