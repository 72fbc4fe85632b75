//! Synced inventory: applying a day, reading slots and served bodies, day states.

mod apply;
mod rows;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::OptionalExtension;
use tickete_core::pricing::lowest_prices;
use tickete_core::served::{slots_body, ServedDates, ServedSlots};
use tickete_core::store::check_storable;
use tickete_core::{
    ApplyOutcome, DayApply, DaySnapshot, DayState, Inventory, ProductId, Slot, StoreError,
};

use crate::codec::{day, instant, parse_instant};
use crate::error::db;
use crate::SqliteStore;
use apply::{apply_in, TOUCH_UNCHANGED_DAY};
use rows::{assemble, DatesRow, DayStateRow, ServedDayRow, SlotPaxRow, SLOT_PAX_COLUMNS};

/// What a slots read needs of the day state: the body, not the dates summary.
const SERVED_SLOTS: &str = "
    SELECT d.synced_at, d.hash, d.served_hash, d.body
    FROM products AS p
    LEFT JOIN day_states AS d ON d.product_id = p.id AND d.day = ?2
    WHERE p.id = ?1";

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

/// The sync state of a window, in day order, from `day_states_sync_by_day` alone (callers
/// take any order; sorting by product would cost a sort of the whole window).
const DAY_STATES: &str = "
    SELECT product_id, day, synced_at, hash, last_error FROM day_states
    WHERE day >= ?1 AND day < ?2";

#[async_trait]
impl Inventory for SqliteStore {
    #[tracing::instrument(skip_all, fields(product = %product, date = %snapshot.date))]
    async fn apply_day(
        &self,
        product: ProductId,
        snapshot: &DaySnapshot,
        synced_at: DateTime<Utc>,
    ) -> Result<ApplyOutcome, StoreError> {
        check_storable(snapshot)?;
        let hash = snapshot.content_hash();
        // Most fetches find the day unchanged: one statement, no explicit transaction.
        let touched = sqlx::query(TOUCH_UNCHANGED_DAY)
            .bind(i64::from(product.get()))
            .bind(day(snapshot.date))
            .bind(instant(synced_at))
            .bind(&hash)
            .execute(&self.pool)
            .await
            .map_err(db("apply day"))?;
        if touched.rows_affected() > 0 {
            return Ok(ApplyOutcome::Unchanged);
        }
        // IMMEDIATE takes the write lock up front: concurrent applies queue on the busy timeout
        // instead of failing when a read transaction would have to be upgraded.
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db("apply day"))?;
        let outcome = apply_in(&mut tx, product, snapshot, &hash, synced_at, false).await?;
        tx.commit().await.map_err(db("apply day"))?;
        Ok(outcome)
    }

    /// Applies several days in one `BEGIN IMMEDIATE` transaction; any failure rolls back all.
    #[tracing::instrument(skip_all, fields(days = days.len()))]
    async fn apply_days(&self, days: &[DayApply<'_>]) -> Result<Vec<ApplyOutcome>, StoreError> {
        for apply in days {
            check_storable(apply.snapshot)?;
        }
        if days.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db("apply days"))?;
        let mut outcomes = Vec::with_capacity(days.len());
        for apply in days {
            let hash = apply.snapshot.content_hash();
            let (product, snapshot) = (apply.product, apply.snapshot);
            outcomes
                .push(apply_in(&mut tx, product, snapshot, &hash, apply.synced_at, true).await?);
        }
        tx.commit().await.map_err(db("apply days"))?;
        Ok(outcomes)
    }

    async fn record_day_error(
        &self,
        product: ProductId,
        date: NaiveDate,
        error: &str,
    ) -> Result<(), StoreError> {
        let written = sqlx::query(
            "INSERT INTO day_states (product_id, day, synced_at, hash, last_error)
             SELECT ?1, ?2, NULL, NULL, ?3 WHERE EXISTS (SELECT 1 FROM products WHERE id = ?1)
             ON CONFLICT (product_id, day) DO UPDATE SET last_error = excluded.last_error",
        )
        .bind(i64::from(product.get()))
        .bind(day(date))
        .bind(error)
        .execute(&self.pool)
        .await
        .map_err(db("record day error"))?;
        if written.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("product {product}")));
        }
        Ok(())
    }

    async fn slots(&self, product: ProductId, date: NaiveDate) -> Result<Vec<Slot>, StoreError> {
        let rows: Vec<SlotPaxRow> = sqlx::query_as(&format!(
            "{SLOT_PAX_COLUMNS}
             WHERE s.product_id = ?1 AND s.day = ?2
             ORDER BY s.start_time, s.provider_slot_id, p.position"
        ))
        .bind(i64::from(product.get()))
        .bind(day(date))
        .fetch_all(&self.pool)
        .await
        .map_err(db("read slots"))?;
        assemble(rows)
    }

    /// Slots of `[from, until)`; one statement, so it reads one committed state of every day.
    async fn slots_between(
        &self,
        product: ProductId,
        from: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<Slot>, StoreError> {
        let rows: Vec<SlotPaxRow> = sqlx::query_as(&format!(
            "{SLOT_PAX_COLUMNS}
             WHERE s.product_id = ?1 AND s.day >= ?2 AND s.day < ?3
             ORDER BY s.day, s.start_time, s.provider_slot_id, p.position"
        ))
        .bind(i64::from(product.get()))
        .bind(day(from))
        .bind(day(until))
        .fetch_all(&self.pool)
        .await
        .map_err(db("read slots"))?;
        assemble(rows)
    }

    /// Deletes the slots (their pax cascade) and day states of dates before `date`, in one
    /// transaction; returns the number of day states removed.
    async fn prune_before(&self, date: NaiveDate) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db("begin prune"))?;
        sqlx::query("DELETE FROM slots WHERE day < ?1")
            .bind(day(date))
            .execute(&mut *tx)
            .await
            .map_err(db("prune slots"))?;
        let days = sqlx::query("DELETE FROM day_states WHERE day < ?1")
            .bind(day(date))
            .execute(&mut *tx)
            .await
            .map_err(db("prune day states"))?;
        tx.commit().await.map_err(db("commit prune"))?;
        Ok(days.rows_affected())
    }

    async fn day_states(
        &self,
        from: NaiveDate,
        until: NaiveDate,
    ) -> Result<Vec<DayState>, StoreError> {
        let (from, until) = (day(from), day(until));
        if let Some(readers) = &self.readers {
            return readers
                .collect_off_runtime(
                    "read day states",
                    DAY_STATES.to_owned(),
                    (from, until),
                    DayStateRow::of,
                    DayStateRow::into_state,
                )
                .await;
        }
        let rows: Vec<DayStateRow> = sqlx::query_as(DAY_STATES)
            .bind(from)
            .bind(until)
            .fetch_all(&self.pool)
            .await
            .map_err(db("read day states"))?;
        rows.into_iter().map(DayStateRow::into_state).collect()
    }

    /// The served slots of (product, date): one lookup of the product and its day state.
    async fn served_slots(
        &self,
        product: ProductId,
        date: NaiveDate,
    ) -> Result<ServedSlots, StoreError> {
        let (id, date_text) = (i64::from(product.get()), day(date));
        let row: Option<ServedDayRow> = match &self.readers {
            Some(readers) => readers.read("read slots", |connection| {
                connection
                    .prepare_cached(SERVED_SLOTS)?
                    .query_row((id, &date_text), ServedDayRow::of)
                    .optional()
            })?,
            None => sqlx::query_as(SERVED_SLOTS)
                .bind(id)
                .bind(&date_text)
                .fetch_optional(&self.pool)
                .await
                .map_err(db("read slots"))?,
        };
        let row = row.ok_or_else(|| StoreError::NotFound(format!("product {product}")))?;
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
    async fn served_dates(
        &self,
        product: ProductId,
        from: NaiveDate,
        until: NaiveDate,
    ) -> Result<ServedDates, StoreError> {
        let (id, from_text, until_text) = (i64::from(product.get()), day(from), day(until));
        let row: Option<DatesRow> = match &self.readers {
            Some(readers) => readers.read("read dates", |connection| {
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

    /// The heatmap, planning and `/metrics` read windows of day states: from the narrow
    /// index, never the wide rows that hold the served bodies, and without a sort.
    #[tokio::test]
    async fn a_window_of_day_states_is_read_from_the_narrow_index_alone() {
        let plan = plan_of(DAY_STATES).await;
        assert!(
            plan.contains("USING COVERING INDEX day_states_sync_by_day"),
            "{plan}"
        );
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}
