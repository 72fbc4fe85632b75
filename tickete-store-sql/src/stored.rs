//! How a value the domain has one type for is read back from either dialect's column type:
//! Postgres keeps instants as `timestamptz` and lists as `text[]`, SQLite as microseconds and
//! JSON text. The shared row structs are generic over the column type and call [`Stored::load`].

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use rust_decimal::Decimal;
use tickete_core::StoreError;

use crate::corrupt;

/// A column value that reads back as a `T`.
pub trait Stored<T> {
    /// The domain value, or `Corrupt` when the stored value cannot be one.
    fn load(self) -> Result<T, StoreError>;
}

impl Stored<DateTime<Utc>> for DateTime<Utc> {
    fn load(self) -> Result<DateTime<Utc>, StoreError> {
        Ok(self)
    }
}

/// SQLite: microseconds since the epoch.
impl Stored<DateTime<Utc>> for i64 {
    fn load(self) -> Result<DateTime<Utc>, StoreError> {
        DateTime::from_timestamp_micros(self).ok_or_else(|| corrupt(format!("instant {self}")))
    }
}

impl Stored<NaiveDate> for NaiveDate {
    fn load(self) -> Result<NaiveDate, StoreError> {
        Ok(self)
    }
}

/// SQLite: `YYYY-MM-DD`.
impl Stored<NaiveDate> for String {
    fn load(self) -> Result<NaiveDate, StoreError> {
        NaiveDate::parse_from_str(&self, "%Y-%m-%d").map_err(|_| corrupt(format!("date `{self}`")))
    }
}

impl Stored<NaiveTime> for NaiveTime {
    fn load(self) -> Result<NaiveTime, StoreError> {
        Ok(self)
    }
}

/// SQLite: `HH:MM:SS` with optional fractions.
impl Stored<NaiveTime> for String {
    fn load(self) -> Result<NaiveTime, StoreError> {
        NaiveTime::parse_from_str(&self, "%H:%M:%S%.f")
            .map_err(|_| corrupt(format!("time `{self}`")))
    }
}

impl Stored<Decimal> for Decimal {
    fn load(self) -> Result<Decimal, StoreError> {
        Ok(self)
    }
}

/// SQLite: the exact decimal as text (never a float).
impl Stored<Decimal> for String {
    fn load(self) -> Result<Decimal, StoreError> {
        Decimal::from_str(&self).map_err(|_| corrupt(format!("amount `{self}`")))
    }
}

impl Stored<Vec<String>> for Vec<String> {
    fn load(self) -> Result<Vec<String>, StoreError> {
        Ok(self)
    }
}

/// SQLite: a JSON array of strings.
impl Stored<Vec<String>> for String {
    fn load(self) -> Result<Vec<String>, StoreError> {
        serde_json::from_str(&self).map_err(|_| corrupt("a stored list of texts"))
    }
}

/// Postgres `integer` and SQLite's 64-bit integers both read back as `i64`.
impl Stored<i64> for i32 {
    fn load(self) -> Result<i64, StoreError> {
        Ok(i64::from(self))
    }
}

impl Stored<i64> for i64 {
    fn load(self) -> Result<i64, StoreError> {
        Ok(self)
    }
}

/// An optional column: `None` stays `None`.
pub fn load_optional<S: Stored<T>, T>(value: Option<S>) -> Result<Option<T>, StoreError> {
    value.map(Stored::load).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_read_back_as_the_same_value() {
        let at = DateTime::parse_from_rfc3339("2026-11-22T10:00:00.123456Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(Stored::<DateTime<Utc>>::load(at.timestamp_micros()), Ok(at));
        assert_eq!(Stored::<DateTime<Utc>>::load(at), Ok(at));
        let day = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        assert_eq!(Stored::<NaiveDate>::load("2026-11-22".to_owned()), Ok(day));
        let time = NaiveTime::from_hms_opt(9, 30, 0).unwrap();
        assert_eq!(Stored::<NaiveTime>::load("09:30:00".to_owned()), Ok(time));
        assert_eq!(Stored::<NaiveTime>::load(time), Ok(time));
        let amount = Decimal::new(21214, 2);
        assert_eq!(Stored::<Decimal>::load("212.14".to_owned()), Ok(amount));
        assert_eq!(Stored::<Decimal>::load(amount), Ok(amount));
        let texts = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(
            Stored::<Vec<String>>::load(r#"["a","b"]"#.to_owned()),
            Ok(texts)
        );
    }

    #[test]
    fn what_cannot_be_read_is_corrupt() {
        assert!(matches!(
            Stored::<DateTime<Utc>>::load(i64::MAX),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            Stored::<NaiveDate>::load("22/11/2026".to_owned()),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            Stored::<NaiveTime>::load("9h30".to_owned()),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            Stored::<Decimal>::load("212,14".to_owned()),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            Stored::<Vec<String>>::load("not json".to_owned()),
            Err(StoreError::Corrupt(_))
        ));
    }
}
