//! How SQLite opens a fan-out or a delivery claim (written once in `tickete-store-sql`): the
//! write lock is taken only when there is something to do, so most rounds cost one read.

use chrono::{DateTime, Utc};
use sqlx::{Sqlite, Transaction};
use tickete_core::StoreError;

use crate::codec::instant;
use crate::error::db;
use crate::SqliteStore;

impl SqliteStore {
    /// The write transaction to fan events out in, or `None` when every webhook is caught up.
    pub(crate) async fn begin_fan_out(
        &self,
    ) -> Result<Option<Transaction<'static, Sqlite>>, StoreError> {
        let behind: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM webhooks WHERE enabled
                 AND cursor < (SELECT COALESCE(max(seq), 0) FROM events))",
        )
        .fetch_one(self.pool())
        .await
        .map_err(db("fan out events"))?;
        self.begin_write_if(behind, "fan out events").await
    }

    /// The write transaction to claim deliveries in, or `None` when none is due at `now`.
    pub(crate) async fn begin_claim(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Option<Transaction<'static, Sqlite>>, StoreError> {
        let due: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM deliveries WHERE status = 'pending'
                 AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until <= $1))",
        )
        .bind(instant(now))
        .fetch_one(self.pool())
        .await
        .map_err(db("claim deliveries"))?;
        self.begin_write_if(due, "claim deliveries").await
    }

    async fn begin_write_if(
        &self,
        needed: bool,
        operation: &'static str,
    ) -> Result<Option<Transaction<'static, Sqlite>>, StoreError> {
        if !needed {
            return Ok(None);
        }
        let tx = self
            .pool()
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db(operation))?;
        Ok(Some(tx))
    }
}
