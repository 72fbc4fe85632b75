//! Reads of what the refresh policy learns, Postgres' way: read counts added by one atomic
//! upsert over `UNNEST`ed arrays. Recording a fetch and pruning are written once in
//! `tickete-store-sql`.

use chrono::{DateTime, NaiveDate, Utc};
use tickete_core::engine::policy::reads::{period_carry, scaled};
use tickete_core::learning::{LearntPair, ReadDelta, StoredReads};
use tickete_core::StoreError;

use crate::error::db;
use crate::PostgresStore;

/// Adds a batch of reads: the CASE is [`tickete_core::engine::policy::reads::combine`]
/// (the store contract suite proves they agree); `$5` is its carry from one period to the next.
const ADD_READS: &str = "
    INSERT INTO read_counts AS r (product_id, day, period, scaled)
    SELECT u.product_id, u.day, $3, u.scaled
    FROM UNNEST($1::int8[], $2::date[], $4::float8[]) AS u (product_id, day, scaled)
    WHERE EXISTS (SELECT 1 FROM products AS p WHERE p.id = u.product_id)
    ORDER BY u.product_id, u.day
    ON CONFLICT (product_id, day) DO UPDATE SET
        scaled = CASE
            WHEN excluded.period = r.period THEN r.scaled + excluded.scaled
            WHEN excluded.period = r.period + 1 THEN r.scaled * $5 + excluded.scaled
            WHEN excluded.period > r.period + 1 THEN excluded.scaled
            WHEN excluded.period = r.period - 1 THEN r.scaled + excluded.scaled * $5
            ELSE r.scaled
        END,
        period = GREATEST(excluded.period, r.period)";

impl PostgresStore {
    /// Learnt pairs are read by the shared code.
    pub(crate) async fn learnt_pairs_off_runtime(
        &self,
        _from: NaiveDate,
        _fetched_since: Option<DateTime<Utc>>,
    ) -> Option<Result<Vec<LearntPair>, StoreError>> {
        None
    }

    /// Adds a checked, non-empty batch of reads.
    pub(crate) async fn add_read_batch(
        &self,
        reads: &[ReadDelta],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        // One instant for the batch: every row is scaled to its period.
        let period = scaled(1.0, at).0;
        let products: Vec<i64> = reads.iter().map(|r| i64::from(r.product.get())).collect();
        let days: Vec<NaiveDate> = reads.iter().map(|r| r.date).collect();
        let weights: Vec<f64> = reads.iter().map(|r| scaled(r.count, at).1).collect();
        sqlx::query(ADD_READS)
            .bind(products)
            .bind(days)
            .bind(period)
            .bind(weights)
            .bind(period_carry())
            .execute(self.pool())
            .await
            .map_err(db("add reads"))?;
        Ok(())
    }

    /// Read counts are read by the shared code.
    pub(crate) async fn stored_reads_off_runtime(
        &self,
        _from: NaiveDate,
    ) -> Option<Result<Vec<StoredReads>, StoreError>> {
        None
    }
}
