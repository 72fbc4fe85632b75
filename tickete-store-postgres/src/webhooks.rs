//! How Postgres opens a fan-out or a delivery claim (written once in `tickete-store-sql`):
//! one fan-out at a time across replicas; each replica claims its own deliveries (`SKIP
//! LOCKED`).

use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};
use tickete_core::StoreError;

use crate::error::db;
use crate::PostgresStore;

/// The advisory lock one fan-out holds (the deliveries' unique key would also hold).
const FAN_OUT_LOCK: i64 = 7469636;

impl PostgresStore {
    /// The transaction to fan events out in, holding the fan-out lock.
    pub(crate) async fn begin_fan_out(
        &self,
    ) -> Result<Option<Transaction<'static, Postgres>>, StoreError> {
        let mut tx = self.pool().begin().await.map_err(db("fan out events"))?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(FAN_OUT_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(db("fan out events"))?;
        Ok(Some(tx))
    }

    /// The transaction to claim deliveries in.
    pub(crate) async fn begin_claim(
        &self,
        _now: DateTime<Utc>,
    ) -> Result<Option<Transaction<'static, Postgres>>, StoreError> {
        let tx = self.pool().begin().await.map_err(db("claim deliveries"))?;
        Ok(Some(tx))
    }
}
