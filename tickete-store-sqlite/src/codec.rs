//! How domain values are spelled in SQLite columns.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use rust_decimal::Decimal;
use tickete_core::StoreError;
use tickete_store_sql::stored::Stored;

use crate::error::corrupt;

pub(crate) fn day(date: NaiveDate) -> String {
    // `Display` writes `%Y-%m-%d` without parsing a format string on every call (a slots
    // read writes one date); the same text for every year, signs included beyond 0–9999.
    date.to_string()
}

pub(crate) fn parse_day(text: &str) -> Result<NaiveDate, StoreError> {
    Stored::<NaiveDate>::load(text.to_owned())
}

pub(crate) fn time(time: NaiveTime) -> String {
    time.format("%H:%M:%S%.f").to_string()
}

pub(crate) fn instant(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

pub(crate) fn parse_instant(micros: i64) -> Result<DateTime<Utc>, StoreError> {
    Stored::<DateTime<Utc>>::load(micros)
}

pub(crate) fn parse_money(text: &str) -> Result<Decimal, StoreError> {
    Decimal::from_str(text).map_err(|_| corrupt(format!("amount `{text}`")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_spelled_as_the_stored_rows_spell_them() {
        for year in [-44, -1, 0, 1, 999, 2025, 9999, 10_000, 262_000] {
            let date = NaiveDate::from_ymd_opt(year, 2, 3).expect("date");
            assert_eq!(day(date), date.format("%Y-%m-%d").to_string(), "{year}");
        }
        let date = NaiveDate::from_ymd_opt(2025, 2, 3).expect("date");
        assert_eq!(day(date), "2025-02-03");
        assert_eq!(parse_day(&day(date)).ok(), Some(date));
    }
}
