//! The partner budget stored in the database file, so every process on it (the server and a
//! `tickete` CLI next to it) shares one pacer.

use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::SqlitePool;
use tickete_core::engine::{calls_from_rows, minute_of, PartnerBudget, CALLS_KEPT_MINUTES};
use tickete_core::{Clock, StoreError};

use crate::codec::{instant, parse_instant};
use crate::error::db;

/// GCRA with burst 1 on one row: a call is allowed when `next_at ≤ now` and no 429 hold is in
/// force; taking it moves `next_at` to `now + (60 s + margin) / rate` in the same statement
/// (SQLite serialises writers across processes), so two processes never take the same slot.
/// Time is the engine's clock; processes on one file share a machine, hence a wall clock.
pub struct SqliteBudget {
    pool: SqlitePool,
    rate_per_minute: NonZeroU32,
    period_micros: i64,
    clock: Arc<dyn Clock>,
    known_hold: Mutex<Option<DateTime<Utc>>>,
}

impl std::fmt::Debug for SqliteBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteBudget")
            .field("rate_per_minute", &self.rate_per_minute)
            .finish()
    }
}

/// Shortest wait between two looks at the budget row.
const MIN_POLL: Duration = Duration::from_millis(5);
/// Longest wait between two looks at the budget row.
const MAX_POLL: Duration = Duration::from_secs(1);

impl SqliteBudget {
    /// A budget of `rate_per_minute` calls for every process on the file, timed by `clock`.
    pub fn new(pool: SqlitePool, rate_per_minute: NonZeroU32, clock: Arc<dyn Clock>) -> Self {
        Self {
            pool,
            rate_per_minute,
            period_micros: i64::try_from(
                tickete_core::engine::pacing_interval(rate_per_minute).as_micros(),
            )
            .unwrap_or(i64::MAX),
            clock,
            known_hold: Mutex::new(None),
        }
    }
}

impl SqliteBudget {
    /// Counts a call in its minute; the first call of a minute also forgets minutes past the
    /// kept ones. The call is taken already: a failure here only costs the chart a call, so
    /// it is logged, not returned.
    async fn count_call(&self, at: DateTime<Utc>) {
        let minute = minute_of(at);
        let counted: Result<i64, sqlx::Error> = sqlx::query_scalar(
            "INSERT INTO partner_calls (minute, calls) VALUES ($1, 1)
                 ON CONFLICT (minute) DO UPDATE SET calls = calls + 1
              RETURNING calls",
        )
        .bind(minute)
        .fetch_one(&self.pool)
        .await;
        let pruned = match counted {
            Ok(1) => sqlx::query("DELETE FROM partner_calls WHERE minute < $1")
                .bind(minute - CALLS_KEPT_MINUTES)
                .execute(&self.pool)
                .await
                .map(drop),
            other => other.map(drop),
        };
        if let Err(error) = pruned {
            tracing::warn!(%error, "could not count a partner call by minute");
        }
    }
}

#[async_trait]
impl PartnerBudget for SqliteBudget {
    async fn acquire(&self) -> Result<(), StoreError> {
        loop {
            let now = instant(self.clock.now());
            let taken = sqlx::query(
                "UPDATE partner_budget SET next_at = $1 + $2
                  WHERE id = 1 AND next_at <= $1 AND (held_until IS NULL OR held_until <= $1)",
            )
            .bind(now)
            .bind(self.period_micros)
            .execute(&self.pool)
            .await
            .map_err(db("take partner budget"))?;
            if taken.rows_affected() == 1 {
                self.count_call(self.clock.now()).await;
                return Ok(());
            }
            let (next_at, held_until): (i64, Option<i64>) =
                sqlx::query_as("SELECT next_at, held_until FROM partner_budget WHERE id = 1")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(db("read partner budget"))?;
            *self.known_hold.lock().expect("hold lock") = held_until
                .filter(|held| *held > now)
                .map(parse_instant)
                .transpose()?;
            let resume = next_at.max(held_until.unwrap_or(next_at));
            let wait = Duration::from_micros(u64::try_from(resume - now).unwrap_or(0));
            // Look again at least every second: another process may lift the hold.
            tokio::time::sleep(wait.clamp(MIN_POLL, MAX_POLL)).await;
        }
    }

    async fn hold_until(&self, until: DateTime<Utc>) -> Result<(), StoreError> {
        let jitter = chrono::Duration::milliseconds(i64::from(rand::random::<u16>() % 1000));
        let until = until + jitter;
        sqlx::query(
            "UPDATE partner_budget SET held_until = MAX(COALESCE(held_until, $1), $1) WHERE id = 1",
        )
        .bind(instant(until))
        .execute(&self.pool)
        .await
        .map_err(db("hold partner budget"))?;
        *self.known_hold.lock().expect("hold lock") = Some(until);
        Ok(())
    }

    async fn calls_by_minute(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, u32)>, StoreError> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT minute, calls FROM partner_calls WHERE minute >= $1 ORDER BY minute",
        )
        .bind(minute_of(since))
        .fetch_all(&self.pool)
        .await
        .map_err(db("read partner calls"))?;
        Ok(calls_from_rows(rows))
    }

    fn rate_per_minute(&self) -> u32 {
        self.rate_per_minute.get()
    }

    async fn clear_hold(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let lifted = self.read_hold().await?;
        sqlx::query("UPDATE partner_budget SET held_until = NULL WHERE id = 1")
            .execute(&self.pool)
            .await
            .map_err(db("lift partner hold"))?;
        *self.known_hold.lock().expect("hold lock") = None;
        Ok(lifted)
    }

    async fn read_hold(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let now = instant(self.clock.now());
        let held_until: Option<i64> =
            sqlx::query_scalar("SELECT held_until FROM partner_budget WHERE id = 1")
                .fetch_optional(&self.pool)
                .await
                .map_err(db("read partner hold"))?
                .flatten();
        let hold = held_until
            .filter(|held| *held > now)
            .map(parse_instant)
            .transpose()?;
        *self.known_hold.lock().expect("hold lock") = hold;
        Ok(hold)
    }

    fn held_until(&self) -> Option<DateTime<Utc>> {
        let now = self.clock.now();
        self.known_hold
            .lock()
            .expect("hold lock")
            .filter(|hold| *hold > now)
    }
}
