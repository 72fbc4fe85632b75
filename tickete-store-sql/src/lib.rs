//! # tickete-store-sql
//!
//! What both SQL stores share, written once: sqlx errors turned into [`StoreError`] at the
//! edge (messages name the operation and the database's error code, never SQL text), and the
//! checks that turn stored integers back into domain values, and the row structs both decode
//! into ([`rows`], generic over the column types the dialects spell differently, [`stored`]).
//!
//! The capabilities whose SQL both databases accept are written here once, as macros a store
//! crate invokes for its store type ([`impl_catalogue!`] and the like): they expand over the
//! store's concrete driver types, with what differs asked of its [`Dialect`]. What truly
//! differs (connection, migrations, applying a day, the budget, the Postgres queue and
//! coordination, the fast read paths) stays in each store crate.

mod catalogue;
mod dialect;
mod feed;
pub mod inventory;
mod learning;
mod processes;
pub mod rows;
mod runs;
pub mod stored;
pub mod webhooks;

pub use dialect::Dialect;

/// What the capability macros name, reached through this crate so that a store crate needs
/// no dependency of its own for them.
#[doc(hidden)]
pub mod macro_support {
    pub use crate::Dialect;
    pub use async_trait::async_trait;
    pub use {chrono, sqlx, tickete_core, tracing};
}

use sqlx::error::ErrorKind;
use tickete_core::{PageRequest, PaxAvailability, ProductId, Slot, StoreError};

/// Classifies a driver error of the `database` (`"SQLite"`, `"Postgres"`) raised while doing
/// `operation`.
pub fn classify(database: &str, operation: &str, error: sqlx::Error) -> StoreError {
    tracing::warn!(database, operation, error = %error, "store error");
    match error {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|code| code.into_owned()).unwrap_or_default();
            match db.kind() {
                ErrorKind::UniqueViolation
                | ErrorKind::ForeignKeyViolation
                | ErrorKind::NotNullViolation
                | ErrorKind::CheckViolation => {
                    StoreError::Conflict(format!("{operation}: a stored constraint was violated"))
                }
                _ => StoreError::Unavailable(format!("{operation}: {database} error {code}")),
            }
        }
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. } => {
            StoreError::Corrupt(format!("{operation}: a stored value cannot be read"))
        }
        sqlx::Error::PoolTimedOut => {
            StoreError::Unavailable(format!("{operation}: timed out waiting for a connection"))
        }
        sqlx::Error::PoolClosed => StoreError::Unavailable(format!("{operation}: store is closed")),
        sqlx::Error::Io(io) => {
            StoreError::Unavailable(format!("{operation}: I/O error ({})", io.kind()))
        }
        sqlx::Error::Tls(_) => StoreError::Unavailable(format!("{operation}: TLS failure")),
        sqlx::Error::Migrate(_) => {
            StoreError::Unavailable(format!("{operation}: schema migration failed"))
        }
        _ => StoreError::Unavailable(format!("{operation}: {database} store failed")),
    }
}

/// A stored value this version cannot interpret.
pub fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

/// A stored non-negative count as `u32`.
pub fn count(value: i64, what: &str) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| corrupt(format!("{what} {value}")))
}

/// A stored product id.
pub fn product_id(value: i64) -> Result<ProductId, StoreError> {
    u32::try_from(value)
        .ok()
        .and_then(|raw| ProductId::new(raw).ok())
        .ok_or_else(|| corrupt(format!("product id {value}")))
}

/// `LIMIT`/`OFFSET` values for a page request.
pub fn limit_offset(page: PageRequest) -> (i64, i64) {
    (
        i64::from(page.limit),
        i64::try_from(page.offset()).unwrap_or(i64::MAX),
    )
}

/// Folds the rows of a slots read joined with their pax (ordered by day, slot, pax position;
/// a slot without pax comes as one row with `None`) into slots with their pax.
pub fn fold_slots(
    rows: impl IntoIterator<Item = Result<(Slot, Option<PaxAvailability>), StoreError>>,
) -> Result<Vec<Slot>, StoreError> {
    let mut slots: Vec<Slot> = Vec::new();
    for row in rows {
        let (slot, pax) = row?;
        let same = slots.last().is_some_and(|last| {
            last.provider_slot_id == slot.provider_slot_id && last.start_date == slot.start_date
        });
        if !same {
            slots.push(slot);
        }
        if let (Some(pax), Some(slot)) = (pax, slots.last_mut()) {
            slot.pax.push(pax);
        }
    }
    Ok(slots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_stored_values_are_corrupt_not_truncated() {
        assert_eq!(count(7, "seats"), Ok(7));
        assert!(matches!(count(-1, "seats"), Err(StoreError::Corrupt(m)) if m == "seats -1"));
        assert!(matches!(product_id(0), Err(StoreError::Corrupt(_))));
        assert!(matches!(product_id(i64::MAX), Err(StoreError::Corrupt(_))));
        assert_eq!(product_id(14).map(ProductId::get), Ok(14));
    }

    #[test]
    fn pool_failures_are_unavailable_and_name_the_operation() {
        let error = classify("SQLite", "read slots", sqlx::Error::PoolTimedOut);
        assert_eq!(
            error,
            StoreError::Unavailable("read slots: timed out waiting for a connection".into())
        );
    }
}
