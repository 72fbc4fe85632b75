//! How domain values are spelled in SQLite columns.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use rust_decimal::Decimal;
use sqlx::sqlite::SqliteRow;
use sqlx::{Decode, Row, Sqlite, Type};
use tickete_core::{ProductId, StoreError};

use crate::error::corrupt;

pub(crate) fn day(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

pub(crate) fn parse_day(text: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| corrupt(format!("date `{text}`")))
}

pub(crate) fn time(time: NaiveTime) -> String {
    time.format("%H:%M:%S%.f").to_string()
}

pub(crate) fn parse_time(text: &str) -> Result<NaiveTime, StoreError> {
    NaiveTime::parse_from_str(text, "%H:%M:%S%.f").map_err(|_| corrupt(format!("time `{text}`")))
}

pub(crate) fn instant(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

pub(crate) fn parse_instant(micros: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(micros).ok_or_else(|| corrupt(format!("instant {micros}")))
}

pub(crate) fn parse_money(text: &str) -> Result<Decimal, StoreError> {
    Decimal::from_str(text).map_err(|_| corrupt(format!("amount `{text}`")))
}

pub(crate) fn count(value: i64, what: &str) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| corrupt(format!("{what} {value}")))
}

pub(crate) fn product_id(value: i64) -> Result<ProductId, StoreError> {
    u32::try_from(value)
        .ok()
        .and_then(|raw| ProductId::new(raw).ok())
        .ok_or_else(|| corrupt(format!("product id {value}")))
}

/// `LIMIT`/`OFFSET` values for a page request.
pub(crate) fn limit_offset(page: tickete_core::PageRequest) -> (i64, i64) {
    (
        i64::from(page.limit),
        i64::try_from(page.offset()).unwrap_or(i64::MAX),
    )
}

/// One column of a row; a value of the wrong type is corrupt data.
pub(crate) fn column<'r, T>(row: &'r SqliteRow, index: usize) -> Result<T, StoreError>
where
    T: Decode<'r, Sqlite> + Type<Sqlite>,
{
    row.try_get(index)
        .map_err(|error| crate::error::classify("read row", error))
}
