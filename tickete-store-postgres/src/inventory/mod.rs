//! Synced inventory: applying a day, reading slots and served bodies, day states.

mod apply;
mod rows;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use tickete_core::pricing::{lowest_prices, DatePrice};
use tickete_core::served::{slots_body, ServedDates, ServedSlots};
use tickete_core::store::check_storable;
use tickete_core::{
    ApplyOutcome, DayApply, DaySnapshot, DayState, Inventory, ProductId, Slot, StoreError,
};

use crate::error::db;
use crate::PostgresStore;
use apply::{apply_in, TOUCH_UNCHANGED_DAY};
use rows::{assemble, DayStateRow, ServedDayRow, SlotPaxRow, SLOT_PAX_COLUMNS};

/// What a slots read needs: the body, not the dates summary.
const SERVED_SLOTS: &str = "
    SELECT d.day, d.synced_at, d.hash, d.served_hash, d.body, NULL::numeric AS open_final_price,
           NULL::numeric AS open_original_price, NULL::numeric AS open_discount,
           NULL::text AS open_currency_code
    FROM products AS p
    LEFT JOIN day_states AS d ON d.product_id = p.id AND d.day = $2
    WHERE p.id = $1";

/// What a dates read needs: the summary, not the bodies.
const SERVED_DATES: &str = "
    SELECT d.day, d.synced_at, d.hash, d.served_hash, NULL::text AS body, d.open_final_price,
           d.open_original_price, d.open_discount, d.open_currency_code
    FROM products AS p
    LEFT JOIN day_states AS d ON d.product_id = p.id AND d.day >= $2 AND d.day < $3
    WHERE p.id = $1 ORDER BY d.day";

#[async_trait]
impl Inventory for PostgresStore {
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
            .bind(snapshot.date)
            .bind(synced_at)
            .bind(&hash)
            .execute(&self.pool)
            .await
            .map_err(db("apply day"))?;
        if touched.rows_affected() > 0 {
            return Ok(ApplyOutcome::Unchanged);
        }
        let mut tx = self.pool.begin().await.map_err(db("apply day"))?;
        let outcome = apply_in(&mut tx, product, snapshot, &hash, synced_at, false).await?;
        tx.commit().await.map_err(db("apply day"))?;
        Ok(outcome)
    }

    /// Applies several days in one transaction; any failure rolls back all. Days are locked in
    /// (product, date) order whatever the order given, so two batches never deadlock each other.
    #[tracing::instrument(skip_all, fields(days = days.len()))]
    async fn apply_days(&self, days: &[DayApply<'_>]) -> Result<Vec<ApplyOutcome>, StoreError> {
        for apply in days {
            check_storable(apply.snapshot)?;
        }
        if days.is_empty() {
            return Ok(Vec::new());
        }
        let mut order: Vec<usize> = (0..days.len()).collect();
        // Stable: a day given twice is applied in the order given.
        order.sort_by_key(|&i| (days[i].product, days[i].snapshot.date));
        let mut outcomes = vec![ApplyOutcome::Unchanged; days.len()];
        let mut tx = self.pool.begin().await.map_err(db("apply days"))?;
        for i in order {
            let apply = &days[i];
            let hash = apply.snapshot.content_hash();
            let (product, snapshot) = (apply.product, apply.snapshot);
            outcomes[i] =
                apply_in(&mut tx, product, snapshot, &hash, apply.synced_at, true).await?;
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
            "INSERT INTO day_states (product_id, day, last_error)
             SELECT $1::int8, $2::date, $3::text WHERE EXISTS (SELECT 1 FROM products WHERE id = $1)
             ON CONFLICT (product_id, day) DO UPDATE SET last_error = excluded.last_error",
        )
        .bind(i64::from(product.get()))
        .bind(date)
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
             WHERE s.product_id = $1 AND s.day = $2
             ORDER BY s.start_time, s.provider_slot_id, p.position"
        ))
        .bind(i64::from(product.get()))
        .bind(date)
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
             WHERE s.product_id = $1 AND s.day >= $2 AND s.day < $3
             ORDER BY s.day, s.start_time, s.provider_slot_id, p.position"
        ))
        .bind(i64::from(product.get()))
        .bind(from)
        .bind(until)
        .fetch_all(&self.pool)
        .await
        .map_err(db("read slots"))?;
        assemble(rows)
    }

    /// Deletes the slots (their pax cascade) and day states of dates before `date`, in one
    /// transaction; returns the number of day states removed.
    async fn prune_before(&self, date: NaiveDate) -> Result<u64, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db("begin prune"))?;
        sqlx::query("DELETE FROM slots WHERE day < $1")
            .bind(date)
            .execute(&mut *tx)
            .await
            .map_err(db("prune slots"))?;
        let days = sqlx::query("DELETE FROM day_states WHERE day < $1")
            .bind(date)
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
        let rows: Vec<DayStateRow> = sqlx::query_as(
            "SELECT product_id, day, synced_at, hash, last_error FROM day_states
             WHERE day >= $1 AND day < $2 ORDER BY product_id, day",
        )
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
        let product_id = i64::from(product.get());
        let row: Option<ServedDayRow> = self
            .readers
            .read("read slots", &move |connection| {
                Box::pin(
                    sqlx::query_as(SERVED_SLOTS)
                        .bind(product_id)
                        .bind(date)
                        .fetch_optional(connection),
                )
            })
            .await?;
        let row = row.ok_or_else(|| StoreError::NotFound(format!("product {product}")))?;
        let body = match (&row.hash, row.is_current(), row.body) {
            (None, _, _) => return Ok(ServedSlots::never_synced()),
            (Some(_), true, Some(body)) => body,
            _ => slots_body(&self.slots(product, date).await?),
        };
        Ok(ServedSlots {
            body,
            synced_at: row.synced_at,
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
        let product_id = i64::from(product.get());
        let rows: Vec<ServedDayRow> = self
            .readers
            .read("read dates", &move |connection| {
                Box::pin(
                    sqlx::query_as(SERVED_DATES)
                        .bind(product_id)
                        .bind(from)
                        .bind(until)
                        .fetch_all(connection),
                )
            })
            .await?;
        if rows.is_empty() {
            return Err(StoreError::NotFound(format!("product {product}")));
        }
        let mut synced_at = None;
        let mut dates = Vec::new();
        let mut current = true;
        for row in &rows {
            let Some(date) = row.day else { continue };
            synced_at = synced_at.max(row.synced_at);
            current &= row.is_current();
            if let Some(price) = row.open_price() {
                dates.push(DatePrice { date, price });
            }
        }
        if !current {
            dates = lowest_prices(&self.slots_between(product, from, until).await?);
        }
        Ok(ServedDates { dates, synced_at })
    }
}
