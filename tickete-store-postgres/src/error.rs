//! sqlx errors to [`StoreError`], at the edge (classified by `tickete-store-sql`), and the
//! stored-value checks both SQL stores share.

use tickete_core::StoreError;

pub(crate) use tickete_store_sql::{count, product_id};

/// Classifies a driver error raised while doing `operation`.
pub(crate) fn classify(operation: &str, error: sqlx::Error) -> StoreError {
    tickete_store_sql::classify("Postgres", operation, error)
}

/// `map_err` adapter: `.map_err(db("list products"))`.
pub(crate) fn db(operation: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |error| classify(operation, error)
}
