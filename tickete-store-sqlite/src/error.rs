//! sqlx errors to [`StoreError`], at the edge (classified by `tickete-store-sql`).

use tickete_core::StoreError;

pub(crate) use tickete_store_sql::corrupt;

/// Classifies a driver error raised while doing `operation`.
pub(crate) fn classify(operation: &str, error: sqlx::Error) -> StoreError {
    tickete_store_sql::classify("SQLite", operation, error)
}

/// `map_err` adapter: `.map_err(db("list products"))`.
pub(crate) fn db(operation: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |error| classify(operation, error)
}
