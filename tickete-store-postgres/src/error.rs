//! sqlx errors to [`StoreError`], at the edge: messages name the operation and the SQLSTATE,
//! never SQL text.

use sqlx::error::ErrorKind;
use tickete_core::StoreError;

/// Classifies a driver error raised while doing `operation`.
pub(crate) fn classify(operation: &str, error: sqlx::Error) -> StoreError {
    tracing::warn!(operation, error = %error, "postgres store error");
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
                _ => StoreError::Unavailable(format!("{operation}: Postgres error {code}")),
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
        _ => StoreError::Unavailable(format!("{operation}: Postgres store failed")),
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

/// One column of a row; a value of the wrong type is corrupt data.
pub(crate) fn column<'r, T>(row: &'r sqlx::postgres::PgRow, index: usize) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    use sqlx::Row;
    row.try_get(index)
        .map_err(|error| classify("read row", error))
}

/// A stored non-negative count as `u32`.
pub(crate) fn count(value: i64, what: &str) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| corrupt(format!("{what} {value}")))
}

/// A stored product id.
pub(crate) fn product_id(value: i64) -> Result<tickete_core::ProductId, StoreError> {
    u32::try_from(value)
        .ok()
        .and_then(|raw| tickete_core::ProductId::new(raw).ok())
        .ok_or_else(|| corrupt(format!("product id {value}")))
}

/// `LIMIT`/`OFFSET` values for a page request.
pub(crate) fn limit_offset(page: tickete_core::PageRequest) -> (i64, i64) {
    (
        i64::from(page.limit),
        i64::try_from(page.offset()).unwrap_or(i64::MAX),
    )
}
