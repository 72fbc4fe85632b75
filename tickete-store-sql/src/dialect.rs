//! What the shared SQL code asks of a database: how values are spelled in its columns, how a
//! transaction opens, and the few SQL words the two databases spell differently.
//!
//! The capabilities written once in this crate ([`impl_catalogue!`](crate::impl_catalogue) and
//! the like) expand in each store crate over its concrete driver types, so sqlx's generic
//! bounds never appear; a store crate implements this trait and invokes the macros. Every
//! statement spells its parameters `$1`, `$2`, …, which both drivers bind by number.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use rust_decimal::Decimal;
use tickete_core::StoreError;

use crate::stored::Stored;

/// A SQL database the shared capabilities run on.
pub trait Dialect {
    /// The sqlx driver.
    type Db: sqlx::Database;
    /// How an instant is stored: microseconds since the epoch, or `timestamptz`.
    type Instant: Stored<DateTime<Utc>>;
    /// How a calendar date is stored: `YYYY-MM-DD` text, or `date`.
    type Day: Stored<NaiveDate>;
    /// How a time of day is stored: `HH:MM:SS` text, or `time`.
    type Time: Stored<NaiveTime>;
    /// How an exact amount is stored: decimal text, or `NUMERIC(12,2)`.
    type Money: Stored<Decimal>;
    /// How a list of texts is stored: JSON text, or `text[]`.
    type Texts: Stored<Vec<String>>;
    /// How an `integer` column reads back: SQLite's 64-bit integer, or Postgres' 32-bit one.
    type Integer: Stored<i64>;

    /// The database's name in error messages (`"SQLite"`, `"Postgres"`).
    const NAME: &'static str;
    /// Opens a transaction that writes. SQLite takes the write lock at once (`BEGIN
    /// IMMEDIATE`), so a transaction that read first never fails to upgrade.
    const BEGIN_WRITE: &'static str;
    /// Opens a read of several statements that must see one snapshot.
    const BEGIN_READ: &'static str;
    /// The larger of two values of a row: SQLite's two-argument `max`, Postgres' `GREATEST`.
    const GREATEST: &'static str;
    /// What else an interrupted run resets: the Postgres queue counts a run's outstanding
    /// tasks in a column of its own (`, outstanding = 0`); SQLite has nothing more.
    const INTERRUPTED_RUN_RESETS: &'static str;
    /// The highest event sequence ever used, as an SQL expression: SQLite keeps it in
    /// `sqlite_sequence` (also after every event was pruned), Postgres reads the table.
    const LATEST_EVENT_SEQ: &'static str;
    /// A new delivery's id, as an SQL expression: `dlv_` and random hex digits.
    const NEW_DELIVERY_ID: &'static str;
    /// Locks the deliveries a claim reads, skipping those another process holds: `FOR UPDATE
    /// OF d SKIP LOCKED` on Postgres; nothing on SQLite, whose write lock is held already.
    const CLAIM_LOCK: &'static str;
    /// `IN` a list of texts bound as one parameter ([`Dialect::texts`]), with `{texts}`
    /// standing for the parameter: `IN (SELECT value FROM json_each({texts}))`, or
    /// `= ANY({texts})`.
    const IN_TEXTS: &'static str;
    /// Locks the row a `SELECT` reads until the transaction ends: `FOR UPDATE` on Postgres;
    /// nothing on SQLite, whose write transaction already excludes every other writer.
    const LOCK_ROW: &'static str;
    /// The column that orders webhooks as they were created.
    const INSERTION_ORDER: &'static str;

    /// An instant as its column stores it.
    fn instant(at: DateTime<Utc>) -> Self::Instant;
    /// A date as its column stores it.
    fn day(date: NaiveDate) -> Self::Day;
    /// A list of texts as its column stores it.
    fn texts(list: &[String]) -> Self::Texts;
    /// The connection pool.
    fn pool(&self) -> &sqlx::Pool<Self::Db>;
    /// Called after a commit that changed what the public reads serve (products, days), so
    /// read caches the store keeps see it.
    fn served_write(&self) {}

    /// `map_err` adapter naming the operation: `.map_err(Self::db("list products"))`.
    fn db(operation: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
        move |error| crate::classify(Self::NAME, operation, error)
    }
}
