//! What the refresh policy learns ([`Learning`]), shared by every replica: learnt pairs,
//! updated by the core's pair rule under the row's lock, and merged read counts, added by one
//! atomic upsert.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use tickete_core::engine::policy::learnt::encode_observations;
use tickete_core::engine::policy::reads::{period_carry, scaled};
use tickete_core::learning::{
    check_reads, Learning, LearntPair, PairStats, ReadDelta, StoredReads, MAX_PAIRS,
};
use tickete_core::{ProductId, StoreError};

use tickete_store_sql::rows::{self, LEARNT_COLUMNS, READ_COLUMNS};

use crate::error::db;
use crate::PostgresStore;

/// A row of `learnt_pairs`.
type LearntPairRow = rows::LearntPairRow<NaiveDate, DateTime<Utc>>;
/// A row of `read_counts`.
type ReadCountRow = rows::ReadCountRow<NaiveDate>;

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

#[async_trait]
impl Learning for PostgresStore {
    async fn record_fetch(
        &self,
        product: ProductId,
        date: NaiveDate,
        changed: bool,
        empty: bool,
        at: DateTime<Utc>,
    ) -> Result<PairStats, StoreError> {
        // Instants are kept to the microsecond: the state returned is the one stored.
        let at = at.trunc_subsecs(6);
        let mut tx = self.pool().begin().await.map_err(db("record fetch"))?;
        let known: Option<i64> = sqlx::query_scalar("SELECT id FROM products WHERE id = $1")
            .bind(i64::from(product.get()))
            .fetch_optional(&mut *tx)
            .await
            .map_err(db("record fetch"))?;
        if known.is_none() {
            return Err(StoreError::NotFound(format!("product {product}")));
        }
        // The row's lock orders replicas recording fetches of one pair (the queue already
        // keeps two from fetching it at once).
        let row: Option<LearntPairRow> = sqlx::query_as(&format!(
            "SELECT {LEARNT_COLUMNS} FROM learnt_pairs WHERE product_id = $1 AND day = $2
             FOR UPDATE"
        ))
        .bind(i64::from(product.get()))
        .bind(date)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db("record fetch"))?;
        let mut stats = row.map(|row| row.stats()).transpose()?.unwrap_or_default();
        stats.record(changed, empty, at);
        sqlx::query(
            "INSERT INTO learnt_pairs (product_id, day, observations, last_fetched, empty_streak)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (product_id, day) DO UPDATE SET observations = excluded.observations,
                 last_fetched = excluded.last_fetched, empty_streak = excluded.empty_streak",
        )
        .bind(i64::from(product.get()))
        .bind(date)
        .bind(encode_observations(&stats.observations))
        .bind(stats.last_fetched.unwrap_or(at))
        .bind(i64::from(stats.empty_streak))
        .execute(&mut *tx)
        .await
        .map_err(db("record fetch"))?;
        tx.commit().await.map_err(db("record fetch"))?;
        Ok(stats)
    }

    async fn learnt_pairs(
        &self,
        from: NaiveDate,
        fetched_since: Option<DateTime<Utc>>,
    ) -> Result<Vec<LearntPair>, StoreError> {
        let rows: Vec<LearntPairRow> = sqlx::query_as(&format!(
            "SELECT {LEARNT_COLUMNS} FROM learnt_pairs
             WHERE day >= $1 AND ($2::timestamptz IS NULL OR last_fetched >= $2)
             ORDER BY product_id, day"
        ))
        .bind(from)
        .bind(fetched_since)
        .fetch_all(self.pool())
        .await
        .map_err(db("read learnt pairs"))?;
        rows.into_iter().map(LearntPairRow::into_pair).collect()
    }

    async fn add_reads(&self, reads: &[ReadDelta], at: DateTime<Utc>) -> Result<(), StoreError> {
        check_reads(reads)?;
        if reads.is_empty() {
            return Ok(());
        }
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

    async fn stored_reads(&self, from: NaiveDate) -> Result<Vec<StoredReads>, StoreError> {
        let rows: Vec<ReadCountRow> = sqlx::query_as(&format!(
            "SELECT {READ_COLUMNS} FROM read_counts WHERE day >= $1
             ORDER BY product_id, day"
        ))
        .bind(from)
        .fetch_all(self.pool())
        .await
        .map_err(db("read reads"))?;
        rows.into_iter().map(ReadCountRow::into_reads).collect()
    }

    async fn prune_learning(
        &self,
        before: NaiveDate,
        oldest_period: i64,
    ) -> Result<u64, StoreError> {
        let mut tx = self.pool().begin().await.map_err(db("prune learning"))?;
        let pairs = sqlx::query("DELETE FROM learnt_pairs WHERE day < $1")
            .bind(before)
            .execute(&mut *tx)
            .await
            .map_err(db("prune learning"))?;
        let reads = sqlx::query("DELETE FROM read_counts WHERE day < $1 OR period < $2")
            .bind(before)
            .bind(oldest_period)
            .execute(&mut *tx)
            .await
            .map_err(db("prune learning"))?;
        let capped = sqlx::query(
            "DELETE FROM read_counts WHERE (product_id, day) IN (
                 SELECT product_id, day FROM read_counts
                 ORDER BY period DESC, scaled DESC OFFSET $1)",
        )
        .bind(i64::try_from(MAX_PAIRS).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await
        .map_err(db("prune learning"))?;
        tx.commit().await.map_err(db("prune learning"))?;
        Ok(pairs.rows_affected() + reads.rows_affected() + capped.rows_affected())
    }
}
