//! The rows inventory reads decode, one `FromRow` struct per query shape.

use tickete_core::pricing::DatePrice;
use tickete_core::{DayState, PaxAvailability, Price, Slot, StoreError};

use crate::codec::{count, parse_day, parse_instant, parse_money, parse_time, product_id};
use crate::error::corrupt;

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
    day: String,
    start_time: String,
    end_time: String,
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
    final_price: Option<String>,
    original_price: Option<String>,
    discount: Option<String>,
    pax_currency: Option<String>,
}

impl SlotPaxRow {
    /// The row's slot (without pax) and its pax, if any.
    fn into_parts(self) -> Result<(Slot, Option<PaxAvailability>), StoreError> {
        let slot = Slot {
            provider_slot_id: self.provider_slot_id.clone(),
            start_date: parse_day(&self.day)?,
            start_time: parse_time(&self.start_time)?,
            end_time: parse_time(&self.end_time)?,
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
            price: Price {
                final_price: parse_money(&self.final_price.ok_or_else(|| missing("price"))?)?,
                original_price: parse_money(&self.original_price.ok_or_else(|| missing("price"))?)?,
                discount: parse_money(&self.discount.ok_or_else(|| missing("discount"))?)?,
                currency_code: self.pax_currency.ok_or_else(|| missing("currency"))?,
            },
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
    day: String,
    synced_at: Option<i64>,
    hash: Option<String>,
    last_error: Option<String>,
}

impl DayStateRow {
    /// The row of a `rusqlite` read of the same columns ([`crate::readers`]).
    pub(super) fn of(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            product_id: row.get(0)?,
            day: row.get(1)?,
            synced_at: row.get(2)?,
            hash: row.get(3)?,
            last_error: row.get(4)?,
        })
    }

    pub(super) fn into_state(self) -> Result<DayState, StoreError> {
        Ok(DayState {
            product: product_id(self.product_id)?,
            date: parse_day(&self.day)?,
            synced_at: self.synced_at.map(parse_instant).transpose()?,
            hash: self.hash,
            last_error: self.last_error,
        })
    }
}

/// The day-state columns a slots read needs.
#[derive(sqlx::FromRow)]
pub(super) struct ServedDayRow {
    pub(super) synced_at: Option<i64>,
    pub(super) hash: Option<String>,
    pub(super) served_hash: Option<String>,
    pub(super) body: Option<String>,
}

impl ServedDayRow {
    /// The row of a `rusqlite` read of the same columns ([`crate::readers`]).
    pub(super) fn of(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            synced_at: row.get("synced_at")?,
            hash: row.get("hash")?,
            served_hash: row.get("served_hash")?,
            body: row.get("body")?,
        })
    }

    /// Whether the served columns were written for the stored content (else the day was
    /// synced before they existed, or by an older release, and is read from its slots).
    pub(super) fn is_current(&self) -> bool {
        self.hash.is_none() || self.hash == self.served_hash
    }
}

/// The product's day states of a window folded into one row: the latest fetch, how many days
/// were synced without their served columns, and the bookable days' summaries as one text
/// (`day␟final␟original␟discount␟currency`, days separated by `␞`). One value instead of a row
/// per day keeps a dates read to a handful of values however long the window is.
#[derive(sqlx::FromRow)]
pub(super) struct DatesRow {
    pub(super) synced_at: Option<i64>,
    pub(super) stale: i64,
    pub(super) open: Option<String>,
}

impl DatesRow {
    /// The row of a `rusqlite` read of the same columns ([`crate::readers`]).
    pub(super) fn of(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            synced_at: row.get("synced_at")?,
            stale: row.get("stale")?,
            open: row.get("open")?,
        })
    }

    /// The bookable days of the summary text, by date.
    pub(super) fn open_dates(&self) -> Result<Vec<DatePrice>, StoreError> {
        let mut dates = Vec::new();
        for entry in self.open.as_deref().unwrap_or("").split('\u{1e}') {
            if entry.is_empty() {
                continue;
            }
            let mut fields = entry.splitn(5, '\u{1f}');
            let mut next = || {
                fields
                    .next()
                    .ok_or_else(|| corrupt(format!("dates summary `{entry}`")))
            };
            let date = parse_day(next()?)?;
            let price = Price {
                final_price: parse_money(next()?)?,
                original_price: parse_money(next()?)?,
                discount: parse_money(next()?)?,
                currency_code: next()?.to_owned(),
            };
            dates.push(DatePrice { date, price });
        }
        // group_concat keeps no order.
        dates.sort_by_key(|entry| entry.date);
        Ok(dates)
    }
}
