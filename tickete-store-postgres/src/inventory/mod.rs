//! Postgres' side of synced inventory (the rest is written once in `tickete-store-sql`): a
//! day's rows written over `UNNEST`ed column arrays under the day state's row lock, and the
//! public reads on their own connections.

mod apply;
mod rows;

use chrono::NaiveDate;
use tickete_core::pricing::{lowest_prices, DatePrice};
use tickete_core::served::{slots_body, ServedDates, ServedSlots};
use tickete_core::{DayState, Inventory, ProductId, StoreError};

use crate::PostgresStore;
use rows::ServedDayRow;

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

impl PostgresStore {
    /// Records `$3` as the last error of (`$1`, `$2`) when the product exists.
    pub(crate) const RECORD_DAY_ERROR: &str = "
        INSERT INTO day_states (product_id, day, last_error)
        SELECT $1::int8, $2::date, $3::text WHERE EXISTS (SELECT 1 FROM products WHERE id = $1)
        ON CONFLICT (product_id, day) DO UPDATE SET last_error = excluded.last_error";

    /// Day states are read by the shared code.
    pub(crate) async fn day_states_off_runtime(
        &self,
        _from: NaiveDate,
        _until: NaiveDate,
    ) -> Option<Result<Vec<DayState>, StoreError>> {
        None
    }

    /// The served slots of (product, date): one lookup of the product and its day state.
    pub(crate) async fn read_served_slots(
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
    pub(crate) async fn read_served_dates(
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
