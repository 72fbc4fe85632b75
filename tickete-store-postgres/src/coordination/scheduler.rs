use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tickete_core::engine::Scheduler;
use tickete_core::StoreError;

use crate::error::db;

/// Claims each cron tick for one replica with a unique (job, due time) row.
#[derive(Debug, Clone)]
pub struct PostgresScheduler {
    pool: PgPool,
    replica: String,
}

impl PostgresScheduler {
    /// A scheduler claiming ticks as `replica`.
    pub fn new(pool: PgPool, replica: &str) -> Self {
        Self {
            pool,
            replica: replica.to_owned(),
        }
    }
}

#[async_trait]
impl Scheduler for PostgresScheduler {
    async fn claim_tick(&self, job: &str, due_at: DateTime<Utc>) -> Result<bool, StoreError> {
        let claimed = sqlx::query(
            "INSERT INTO tick_claims (job, due_at, claimed_by) VALUES ($1, $2, $3)
             ON CONFLICT (job, due_at) DO NOTHING",
        )
        .bind(job)
        .bind(due_at)
        .bind(&self.replica)
        .execute(&self.pool)
        .await
        .map_err(db("claim tick"))?;
        Ok(claimed.rows_affected() == 1)
    }
}
