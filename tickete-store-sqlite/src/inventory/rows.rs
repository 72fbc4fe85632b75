//! The rows inventory reads decode, one `FromRow` struct per query shape.

use tickete_core::pricing::DatePrice;
use tickete_core::{Price, StoreError};

use crate::codec::{parse_day, parse_money};
use crate::error::corrupt;

/// A row of `day_states` as SQLite stores it.
pub(super) type DayStateRow = tickete_store_sql::rows::DayStateRow<String, i64>;

/// The [`DayStateRow`] of a `rusqlite` read of its columns ([`crate::readers`]).
pub(super) fn day_state_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<DayStateRow> {
    Ok(DayStateRow {
        product_id: row.get(0)?,
        day: row.get(1)?,
        synced_at: row.get(2)?,
        hash: row.get(3)?,
        last_error: row.get(4)?,
    })
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
