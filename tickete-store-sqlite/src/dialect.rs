//! SQLite as a [`Dialect`] of the shared SQL store, and the capabilities written once there.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{Sqlite, SqlitePool};
use tickete_store_sql::Dialect;

use crate::codec;
use crate::SqliteStore;

impl Dialect for SqliteStore {
    type Db = Sqlite;
    type Instant = i64;
    type Day = String;
    type Time = String;
    type Money = String;
    type Texts = String;
    type Integer = i64;

    const NAME: &'static str = "SQLite";
    const BEGIN_WRITE: &'static str = "BEGIN IMMEDIATE";
    /// A deferred transaction reads one snapshot from its first statement on (WAL mode).
    const BEGIN_READ: &'static str = "BEGIN";
    const GREATEST: &'static str = "max";
    const INTERRUPTED_RUN_RESETS: &'static str = "";
    const LATEST_EVENT_SEQ: &'static str =
        "COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0)";
    const NEW_DELIVERY_ID: &'static str = "'dlv_' || lower(hex(randomblob(12)))";
    const CLAIM_LOCK: &'static str = "";
    const IN_TEXTS: &'static str = "IN (SELECT value FROM json_each({texts}))";
    const LOCK_ROW: &'static str = "";
    const INSERTION_ORDER: &'static str = "rowid";

    fn instant(at: DateTime<Utc>) -> i64 {
        codec::instant(at)
    }

    fn day(date: NaiveDate) -> String {
        codec::day(date)
    }

    fn texts(list: &[String]) -> String {
        // A list of strings always serializes.
        serde_json::to_string(list).unwrap_or_else(|_| "[]".to_owned())
    }

    fn pool(&self) -> &SqlitePool {
        self.pool()
    }

    fn served_write(&self) {
        self.note_served_write();
    }
}

tickete_store_sql::impl_catalogue!(SqliteStore);
tickete_store_sql::impl_events!(SqliteStore);
tickete_store_sql::impl_inventory!(SqliteStore);
tickete_store_sql::impl_learning!(SqliteStore);
tickete_store_sql::impl_processes!(SqliteStore);
tickete_store_sql::impl_runs!(SqliteStore);
tickete_store_sql::impl_webhooks!(SqliteStore);
