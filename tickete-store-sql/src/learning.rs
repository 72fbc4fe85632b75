//! What the refresh policy learns ([`Learning`](tickete_core::learning::Learning)): recording
//! a fetch and pruning are written once for both dialects; adding and reading reads in bulk
//! stay with each store (SQLite feeds JSON and reads off the runtime, Postgres `UNNEST`s arrays).

/// Implements [`Learning`](tickete_core::learning::Learning) for a store that implements
/// [`Dialect`](crate::Dialect) and has the inherent methods `add_read_batch(&self, reads,
/// at)`, and `learnt_pairs_off_runtime(&self, from, fetched_since)` and
/// `stored_reads_off_runtime(&self, from)`, which answer `Some` when the store reads those
/// windows its own way (SQLite off the async runtime) and `None` to read them here.
#[macro_export]
macro_rules! impl_learning {
    ($store:ty) => {
        const _: () = {
            use $crate::macro_support::chrono::{DateTime, NaiveDate, SubsecRound, Utc};
            use $crate::macro_support::tickete_core::engine::policy::learnt::encode_observations;
            use $crate::macro_support::tickete_core::learning::{
                check_reads, Learning, LearntPair, PairStats, ReadDelta, StoredReads, MAX_PAIRS,
            };
            use $crate::macro_support::tickete_core::{ProductId, StoreError};
            use $crate::macro_support::{async_trait, sqlx, Dialect};
            use $crate::rows::LEARNT_COLUMNS;

            type Store = $store;
            type LearntPairRow =
                $crate::rows::LearntPairRow<<Store as Dialect>::Day, <Store as Dialect>::Instant>;
            type ReadCountRow = $crate::rows::ReadCountRow<<Store as Dialect>::Day>;

            #[async_trait]
            impl Learning for Store {
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
                    let mut tx = self
                        .pool()
                        .begin_with(Self::BEGIN_WRITE)
                        .await
                        .map_err(Self::db("record fetch"))?;
                    let known: Option<i64> =
                        sqlx::query_scalar("SELECT id FROM products WHERE id = $1")
                            .bind(i64::from(product.get()))
                            .fetch_optional(&mut *tx)
                            .await
                            .map_err(Self::db("record fetch"))?;
                    if known.is_none() {
                        return Err(StoreError::NotFound(format!("product {product}")));
                    }
                    // The row's lock (where the database locks rows) orders processes
                    // recording fetches of one pair.
                    let row: Option<LearntPairRow> = sqlx::query_as(&format!(
                        "SELECT {LEARNT_COLUMNS} FROM learnt_pairs
                         WHERE product_id = $1 AND day = $2 {}",
                        Self::LOCK_ROW
                    ))
                    .bind(i64::from(product.get()))
                    .bind(Self::day(date))
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(Self::db("record fetch"))?;
                    let mut stats = row.map(|row| row.stats()).transpose()?.unwrap_or_default();
                    stats.record(changed, empty, at);
                    sqlx::query(
                        "INSERT INTO learnt_pairs (product_id, day, observations, last_fetched,
                                                   empty_streak)
                         VALUES ($1, $2, $3, $4, $5)
                         ON CONFLICT (product_id, day) DO UPDATE SET
                             observations = excluded.observations,
                             last_fetched = excluded.last_fetched,
                             empty_streak = excluded.empty_streak",
                    )
                    .bind(i64::from(product.get()))
                    .bind(Self::day(date))
                    .bind(encode_observations(&stats.observations))
                    .bind(Self::instant(stats.last_fetched.unwrap_or(at)))
                    .bind(i64::from(stats.empty_streak))
                    .execute(&mut *tx)
                    .await
                    .map_err(Self::db("record fetch"))?;
                    tx.commit().await.map_err(Self::db("record fetch"))?;
                    Ok(stats)
                }

                async fn learnt_pairs(
                    &self,
                    from: NaiveDate,
                    fetched_since: Option<DateTime<Utc>>,
                ) -> Result<Vec<LearntPair>, StoreError> {
                    if let Some(read) = self.learnt_pairs_off_runtime(from, fetched_since).await {
                        return read;
                    }
                    let rows: Vec<LearntPairRow> = sqlx::query_as($crate::rows::LEARNT_PAIRS_FROM)
                        .bind(Self::day(from))
                        .bind(fetched_since.map(Self::instant))
                        .fetch_all(self.pool())
                        .await
                        .map_err(Self::db("read learnt pairs"))?;
                    rows.into_iter().map(LearntPairRow::into_pair).collect()
                }

                async fn add_reads(
                    &self,
                    reads: &[ReadDelta],
                    at: DateTime<Utc>,
                ) -> Result<(), StoreError> {
                    check_reads(reads)?;
                    if reads.is_empty() {
                        return Ok(());
                    }
                    self.add_read_batch(reads, at).await
                }

                async fn stored_reads(
                    &self,
                    from: NaiveDate,
                ) -> Result<Vec<StoredReads>, StoreError> {
                    if let Some(read) = self.stored_reads_off_runtime(from).await {
                        return read;
                    }
                    let rows: Vec<ReadCountRow> = sqlx::query_as($crate::rows::READS_FROM)
                        .bind(Self::day(from))
                        .fetch_all(self.pool())
                        .await
                        .map_err(Self::db("read reads"))?;
                    rows.into_iter().map(ReadCountRow::into_reads).collect()
                }

                async fn prune_learning(
                    &self,
                    before: NaiveDate,
                    oldest_period: i64,
                ) -> Result<u64, StoreError> {
                    let mut tx = self
                        .pool()
                        .begin_with(Self::BEGIN_WRITE)
                        .await
                        .map_err(Self::db("prune learning"))?;
                    let pairs = sqlx::query("DELETE FROM learnt_pairs WHERE day < $1")
                        .bind(Self::day(before))
                        .execute(&mut *tx)
                        .await
                        .map_err(Self::db("prune learning"))?;
                    let reads =
                        sqlx::query("DELETE FROM read_counts WHERE day < $1 OR period < $2")
                            .bind(Self::day(before))
                            .bind(oldest_period)
                            .execute(&mut *tx)
                            .await
                            .map_err(Self::db("prune learning"))?;
                    // Beyond the cap, the least read of the oldest periods go.
                    let capped = sqlx::query(
                        "DELETE FROM read_counts WHERE (product_id, day) IN (
                             SELECT product_id, day FROM read_counts
                             ORDER BY period DESC, scaled DESC LIMIT $2 OFFSET $1)",
                    )
                    .bind(i64::try_from(MAX_PAIRS).unwrap_or(i64::MAX))
                    .bind(i64::MAX)
                    .execute(&mut *tx)
                    .await
                    .map_err(Self::db("prune learning"))?;
                    tx.commit().await.map_err(Self::db("prune learning"))?;
                    Ok(pairs.rows_affected() + reads.rows_affected() + capped.rows_affected())
                }
            }
        };
    };
}
