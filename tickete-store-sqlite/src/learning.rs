//! Reads of what the refresh policy learns, SQLite's way: read counts added as one JSON
//! parameter per chunk, learnt pairs and read counts read off the runtime. Recording a fetch
//! and pruning are written once in `tickete-store-sql`.

use chrono::{DateTime, NaiveDate, Utc};
use tickete_core::engine::policy::reads::{period_carry, scaled};
use tickete_core::learning::{LearntPair, ReadDelta, StoredReads};
use tickete_core::StoreError;

use tickete_store_sql::rows::{self, LEARNT_PAIRS_FROM, READS_FROM};

use crate::codec::{day, instant};
use crate::error::db;
use crate::SqliteStore;

/// A row of `learnt_pairs`.
type LearntPairRow = rows::LearntPairRow<String, i64>;
/// A row of `read_counts`.
type ReadCountRow = rows::ReadCountRow<String>;

/// Adds a batch of reads: the CASE is [`tickete_core::engine::policy::reads::combine`]
/// (the store contract suite proves they agree); `?3` is its carry from one period to the next.
const ADD_READS: &str = "
    INSERT INTO read_counts (product_id, day, period, scaled)
    SELECT r.value ->> '$[0]', r.value ->> '$[1]', r.value ->> '$[2]', r.value ->> '$[3]'
    FROM json_each(?1) AS r
    WHERE EXISTS (SELECT 1 FROM products AS p WHERE p.id = r.value ->> '$[0]')
    ON CONFLICT (product_id, day) DO UPDATE SET
        scaled = CASE
            WHEN excluded.period = read_counts.period THEN read_counts.scaled + excluded.scaled
            WHEN excluded.period = read_counts.period + 1
                THEN read_counts.scaled * ?2 + excluded.scaled
            WHEN excluded.period > read_counts.period + 1 THEN excluded.scaled
            WHEN excluded.period = read_counts.period - 1
                THEN read_counts.scaled + excluded.scaled * ?2
            ELSE read_counts.scaled
        END,
        period = MAX(excluded.period, read_counts.period)";

/// Reads added by one statement of [`ADD_READS`]: its JSON text stays around 160 KB.
const READS_PER_STATEMENT: usize = 4096;

/// Reads as [`ADD_READS`] takes them: `[[product, "day", period, scaled], ...]`, written
/// straight from the deltas.
struct ReadRows<'a> {
    reads: &'a [ReadDelta],
    at: DateTime<Utc>,
}

impl serde::Serialize for ReadRows<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.reads.iter().map(|read| {
            let (period, weight) = scaled(read.count, self.at);
            (
                i64::from(read.product.get()),
                day(read.date),
                period,
                weight,
            )
        }))
    }
}

impl SqliteStore {
    /// Learnt pairs from `from`, read off the runtime on a file database.
    pub(crate) async fn learnt_pairs_off_runtime(
        &self,
        from: NaiveDate,
        fetched_since: Option<DateTime<Utc>>,
    ) -> Option<Result<Vec<LearntPair>, StoreError>> {
        let readers = self.readers()?;
        let read = readers.collect_off_runtime(
            "read learnt pairs",
            LEARNT_PAIRS_FROM.to_owned(),
            (day(from), fetched_since.map(instant)),
            learnt_row,
            LearntPairRow::into_pair,
        );
        Some(read.await)
    }

    /// Adds a checked, non-empty batch of reads.
    pub(crate) async fn add_read_batch(
        &self,
        reads: &[ReadDelta],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        // A flush after a busy minute holds a delta for each of tens of thousands of pairs:
        // written as JSON text a chunk at a time (no `serde_json::Value` per row, which cost
        // the server ~30 MB of RSS for 60,000 pairs), all chunks in one transaction.
        let mut tx = self
            .pool()
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db("add reads"))?;
        for chunk in reads.chunks(READS_PER_STATEMENT) {
            let rows = serde_json::to_string(&ReadRows { reads: chunk, at })
                .map_err(|e| StoreError::Conflict(format!("add reads: {e}")))?;
            sqlx::query(ADD_READS)
                .bind(rows)
                .bind(period_carry())
                .execute(&mut *tx)
                .await
                .map_err(db("add reads"))?;
        }
        tx.commit().await.map_err(db("add reads"))?;
        Ok(())
    }

    /// Read counts from `from`, read off the runtime on a file database.
    pub(crate) async fn stored_reads_off_runtime(
        &self,
        from: NaiveDate,
    ) -> Option<Result<Vec<StoredReads>, StoreError>> {
        let readers = self.readers()?;
        let read = readers.collect_off_runtime(
            "read reads",
            READS_FROM.to_owned(),
            [day(from)],
            read_count_row,
            ReadCountRow::into_reads,
        );
        Some(read.await)
    }
}

/// A `learnt_pairs` row of a `rusqlite` read of [`LEARNT_COLUMNS`].
fn learnt_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<LearntPairRow> {
    Ok(LearntPairRow {
        product_id: row.get(0)?,
        day: row.get(1)?,
        observations: row.get(2)?,
        last_fetched: row.get(3)?,
        empty_streak: row.get(4)?,
    })
}

/// A `read_counts` row of a `rusqlite` read of [`READ_COLUMNS`].
fn read_count_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ReadCountRow> {
    Ok(ReadCountRow {
        product_id: row.get(0)?,
        day: row.get(1)?,
        period: row.get(2)?,
        scaled: row.get(3)?,
    })
}
