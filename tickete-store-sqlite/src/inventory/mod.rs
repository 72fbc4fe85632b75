//! SQLite's side of synced inventory (the rest is written once in `tickete-store-sql`): a
//! day's rows written by set-based statements fed one JSON parameter, and the public reads by
//! rowid off the async runtime.

mod apply;
mod rows;

use chrono::NaiveDate;
use rusqlite::OptionalExtension;
use tickete_core::pricing::lowest_prices;
use tickete_core::served::{slots_body, ServedDates, ServedSlots};
use tickete_core::{DayState, Inventory, ProductId, StoreError};

use crate::codec::{day, parse_instant};
use crate::error::db;
use crate::SqliteStore;
use rows::{day_state_of, DatesRow, DayStateRow, ServedDayRow};
use tickete_store_sql::rows::DAY_STATES_BETWEEN;

/// What a slots read needs of the day state: the body, not the dates summary. One rowid
/// lookup ([`day_key`]); the product and day are compared too, so a key that two (product,
/// day) pairs could share (dates past the year 4840) never answers for the wrong one.
const SERVED_SLOTS: &str = "
    SELECT synced_at, hash, served_hash, body FROM day_states
    WHERE id = ?1 AND product_id = ?2 AND day = ?3";

/// Whether a product is in the catalogue (a slots read that found no day state).
const PRODUCT_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM products WHERE id = ?1)";

/// The SQL of [`day_key`] over a statement's `$1` (product id) and `$2` (day text), for the
/// statements that insert day states (`concat!` needs a literal, hence a macro).
macro_rules! day_key_sql {
    () => {
        "$1 * 1048576 + CAST(julianday($2) - 2440587.5 AS INTEGER)"
    };
}
use day_key_sql;

/// The id of (product, date) in `day_states`: `product * 2^20 + days since 1970-01-01`, the
/// rule of the table's CHECK (migration `20261124100000_day_states_keyed`), so that a slots
/// read is one rowid lookup.
fn day_key(product: i64, date: NaiveDate) -> i64 {
    const DAYS_PER_PRODUCT: i64 = 1 << 20;
    let days = date
        .signed_duration_since(NaiveDate::from_ymd_opt(1970, 1, 1).expect("a valid date"))
        .num_days();
    product * DAYS_PER_PRODUCT + days
}

const SERVED_DATES: &str = "
    SELECT MAX(d.synced_at) AS synced_at,
           COALESCE(SUM(d.hash IS NOT NULL AND d.hash IS NOT d.served_hash), 0) AS stale,
           group_concat(
               CASE WHEN d.open_final_price IS NOT NULL THEN
                   d.day || char(31) || d.open_final_price || char(31) || d.open_original_price
                   || char(31) || d.open_discount || char(31) || d.open_currency_code
               END,
               char(30)) AS open
    FROM products AS p
    LEFT JOIN day_states AS d ON d.product_id = p.id AND d.day >= ?2 AND d.day < ?3
    WHERE p.id = ?1
    GROUP BY p.id";

impl SqliteStore {
    /// Records `$3` as the last error of (`$1`, `$2`) when the product exists; the row's id is
    /// its key ([`day_key`]).
    pub(crate) const RECORD_DAY_ERROR: &str = concat!(
        "INSERT INTO day_states (id, product_id, day, synced_at, hash, last_error)
         SELECT ",
        day_key_sql!(),
        ", $1, $2, NULL, NULL, $3
         WHERE EXISTS (SELECT 1 FROM products WHERE id = $1)
         ON CONFLICT (product_id, day) DO UPDATE SET last_error = excluded.last_error",
    );

    /// A window's day states, read off the runtime on a file database.
    pub(crate) async fn day_states_off_runtime(
        &self,
        from: NaiveDate,
        until: NaiveDate,
    ) -> Option<Result<Vec<DayState>, StoreError>> {
        let readers = self.readers.as_ref()?;
        let read = readers.collect_off_runtime(
            "read day states",
            DAY_STATES_BETWEEN.to_owned(),
            (day(from), day(until)),
            day_state_of,
            DayStateRow::into_state,
        );
        Some(read.await)
    }

    /// The served slots of (product, date): one lookup of the product and its day state.
    pub(crate) async fn read_served_slots(
        &self,
        product: ProductId,
        date: NaiveDate,
    ) -> Result<ServedSlots, StoreError> {
        let (id, date_text) = (i64::from(product.get()), day(date));
        let key = day_key(id, date);
        let (row, known): (Option<ServedDayRow>, bool) = match &self.readers {
            Some(readers) => readers.read_in_snapshot("read slots", |connection| {
                let row = connection
                    .prepare_cached(SERVED_SLOTS)?
                    .query_row((key, id, &date_text), ServedDayRow::of)
                    .optional()?;
                let known = row.is_some()
                    || connection
                        .prepare_cached(PRODUCT_EXISTS)?
                        .query_row([id], |row| row.get(0))?;
                Ok((row, known))
            })?,
            None => {
                let row: Option<ServedDayRow> = sqlx::query_as(SERVED_SLOTS)
                    .bind(key)
                    .bind(id)
                    .bind(&date_text)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db("read slots"))?;
                let known = row.is_some()
                    || sqlx::query_scalar(PRODUCT_EXISTS)
                        .bind(id)
                        .fetch_one(&self.pool)
                        .await
                        .map_err(db("read slots"))?;
                (row, known)
            }
        };
        if !known {
            return Err(StoreError::NotFound(format!("product {product}")));
        }
        let Some(row) = row else {
            return Ok(ServedSlots::never_synced());
        };
        let body = match (&row.hash, row.is_current(), row.body) {
            (None, _, _) => return Ok(ServedSlots::never_synced()),
            (Some(_), true, Some(body)) => body,
            _ => slots_body(&self.slots(product, date).await?),
        };
        Ok(ServedSlots {
            body,
            synced_at: row.synced_at.map(parse_instant).transpose()?,
            hash: row.hash,
        })
    }

    /// The served dates of `[from, until)`: one range scan of the product's day states.
    pub(crate) async fn read_served_dates(
        &self,
        product: ProductId,
        from: NaiveDate,
        until: NaiveDate,
    ) -> Result<ServedDates, StoreError> {
        let (id, from_text, until_text) = (i64::from(product.get()), day(from), day(until));
        let row: Option<DatesRow> = match &self.readers {
            Some(readers) => readers.read_in_snapshot("read dates", |connection| {
                connection
                    .prepare_cached(SERVED_DATES)?
                    .query_row((id, &from_text, &until_text), DatesRow::of)
                    .optional()
            })?,
            None => sqlx::query_as(SERVED_DATES)
                .bind(id)
                .bind(&from_text)
                .bind(&until_text)
                .fetch_optional(&self.pool)
                .await
                .map_err(db("read dates"))?,
        };
        let row = row.ok_or_else(|| StoreError::NotFound(format!("product {product}")))?;
        let synced_at = row.synced_at.map(parse_instant).transpose()?;
        let dates = if row.stale > 0 {
            lowest_prices(&self.slots_between(product, from, until).await?)
        } else {
            row.open_dates()?
        };
        Ok(ServedDates { dates, synced_at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn plan_of(sql: &str) -> String {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("plan.db").display());
        let store = SqliteStore::open(&url).await.expect("open");
        let rows: Vec<(i64, i64, i64, String)> =
            sqlx::query_as(&format!("EXPLAIN QUERY PLAN {sql}"))
                .bind("2025-03-01")
                .bind("2025-03-02")
                .fetch_all(store.pool())
                .await
                .expect("plan");
        rows.into_iter()
            .map(|row| row.3)
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// A slots read is one lookup of the table by its rowid: no index, no join.
    #[tokio::test]
    async fn a_slots_read_is_one_rowid_lookup() {
        let plan = plan_of(SERVED_SLOTS).await;
        assert!(
            plan.contains("USING INTEGER PRIMARY KEY (rowid=?)"),
            "{plan}"
        );
        assert!(!plan.contains("INDEX"), "{plan}");
    }

    /// The key computed in Rust for reads is the one SQL computes when writing (and the
    /// table's CHECK demands), before 1970 and far ahead too.
    #[tokio::test]
    async fn the_day_key_is_the_same_in_rust_and_in_sql() {
        let store = SqliteStore::open("sqlite::memory:").await.expect("open");
        for (product, text) in [
            (1, "1970-01-01"),
            (7, "1969-12-31"),
            (14, "2026-03-29"),
            (4_294_967_295, "2026-11-22"),
            (3, "4000-02-29"),
        ] {
            let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
            let in_sql: i64 = sqlx::query_scalar(concat!("SELECT ", day_key_sql!()))
                .bind(product)
                .bind(text)
                .fetch_one(store.pool())
                .await
                .expect("key");
            assert_eq!(day_key(product, date), in_sql, "{product} {text}");
        }
    }

    /// A database written before the keyed table keeps every day state, served body included,
    /// through the migration, and serves it by key afterwards.
    #[tokio::test]
    async fn days_stored_before_the_keyed_table_survive_its_migration() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("old.db").display());
        let options = <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(&url)
            .unwrap()
            .create_if_missing(true)
            .foreign_keys(true);
        let pool = sqlx::SqlitePool::connect_with(options).await.expect("pool");
        let earlier = sqlx::migrate::Migrator {
            migrations: crate::MIGRATOR
                .migrations
                .iter()
                .filter(|m| m.version < 20261124100000)
                .cloned()
                .collect(),
            ..sqlx::migrate::Migrator::DEFAULT
        };
        earlier.run(&pool).await.expect("earlier migrations");
        sqlx::query(
            "INSERT INTO products (id, name, enabled) VALUES (14, 'Tour', 1);
             INSERT INTO day_states (product_id, day, synced_at, hash, served_hash, body)
             VALUES (14, '2026-03-29', 1774742400000000, 'h1', 'h1', '{\"slots\":[]}'),
                    (14, '2026-03-30', NULL, NULL, NULL, NULL);",
        )
        .execute(&pool)
        .await
        .expect("old rows");
        pool.close().await;

        let store = SqliteStore::open(&url).await.expect("migrated");
        let served = store
            .served_slots(
                ProductId::new(14).unwrap(),
                NaiveDate::from_ymd_opt(2026, 3, 29).unwrap(),
            )
            .await
            .expect("served");
        assert_eq!(served.body, r#"{"slots":[]}"#);
        assert_eq!(served.hash.as_deref(), Some("h1"));
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM day_states ORDER BY day")
            .fetch_all(store.pool())
            .await
            .unwrap();
        let first = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap();
        assert_eq!(ids, [day_key(14, first), day_key(14, first) + 1]);
    }

    /// The heatmap, planning and `/metrics` read windows of day states: from the narrow
    /// index, never the wide rows that hold the served bodies, and without a sort.
    #[tokio::test]
    async fn a_window_of_day_states_is_read_from_the_narrow_index_alone() {
        let plan = plan_of(DAY_STATES_BETWEEN).await;
        assert!(
            plan.contains("USING COVERING INDEX day_states_sync_by_day"),
            "{plan}"
        );
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}
