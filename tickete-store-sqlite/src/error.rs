//! sqlx errors to [`StoreError`], at the edge: messages name the operation, never SQL text.

use sqlx::error::ErrorKind;
use tickete_core::StoreError;

/// Classifies a driver error raised while doing `operation`.
pub(crate) fn classify(operation: &str, error: sqlx::Error) -> StoreError {
    tracing::warn!(operation, error = %error, "sqlite store error");
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
                _ => StoreError::Unavailable(format!("{operation}: SQLite error code {code}")),
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
        sqlx::Error::Migrate(_) => {
            StoreError::Unavailable(format!("{operation}: schema migration failed"))
        }
        _ => StoreError::Unavailable(format!("{operation}: SQLite store failed")),
    }
}

/// `map_err` adapter: `.map_err(db("list products"))`.
pub(crate) fn db(operation: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |error| classify(operation, error)
}

/// A stored value this version cannot interpret.
pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}
