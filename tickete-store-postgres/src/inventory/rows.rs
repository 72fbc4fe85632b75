//! The rows inventory reads decode, one `FromRow` struct per query shape.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use tickete_core::Price;

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
