//! Postgres as a [`Dialect`] of the shared SQL store, and the capabilities written once there.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgPool, Postgres};
use tickete_store_sql::Dialect;

use crate::PostgresStore;

impl Dialect for PostgresStore {
    type Db = Postgres;
    type Instant = DateTime<Utc>;
    type Day = NaiveDate;
    type Time = chrono::NaiveTime;
    type Money = rust_decimal::Decimal;
    type Texts = Vec<String>;
    type Integer = i32;

    const NAME: &'static str = "Postgres";
    const BEGIN_WRITE: &'static str = "BEGIN";
    const BEGIN_READ: &'static str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
    const GREATEST: &'static str = "GREATEST";
    const INTERRUPTED_RUN_RESETS: &'static str = ", outstanding = 0";
    const LATEST_EVENT_SEQ: &'static str = "(SELECT COALESCE(max(seq), 0) FROM events)";
    const NEW_DELIVERY_ID: &'static str = "'dlv_' || replace(gen_random_uuid()::text, '-', '')";
    const CLAIM_LOCK: &'static str = "FOR UPDATE OF d SKIP LOCKED";
    const IN_TEXTS: &'static str = "= ANY({texts})";
    const LOCK_ROW: &'static str = "FOR UPDATE";
    const INSERTION_ORDER: &'static str = "position";

    fn instant(at: DateTime<Utc>) -> DateTime<Utc> {
        at
    }

    fn day(date: NaiveDate) -> NaiveDate {
        date
    }

    fn texts(list: &[String]) -> Vec<String> {
        list.to_vec()
    }

    fn pool(&self) -> &PgPool {
        self.pool()
    }
}

tickete_store_sql::impl_catalogue!(PostgresStore);
tickete_store_sql::impl_events!(PostgresStore);
tickete_store_sql::impl_inventory!(PostgresStore);
tickete_store_sql::impl_learning!(PostgresStore);
tickete_store_sql::impl_processes!(PostgresStore);
tickete_store_sql::impl_runs!(PostgresStore);
tickete_store_sql::impl_webhooks!(PostgresStore);
