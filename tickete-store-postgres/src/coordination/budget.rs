use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tickete_core::engine::{calls_from_rows, minute_of, PartnerBudget, CALLS_KEPT_MINUTES};
use tickete_core::StoreError;

use crate::error::db;

/// Advisory lock key serialising the count of live fetches across replicas.
const LIVE_CALLS_LOCK: i64 = 0x7469_636b_6574_6502;

/// The partner budget of the whole cluster: GCRA with burst 1 on one row, using the
/// database's clock so replicas never disagree about time.
///
/// A call is allowed when `next_at ≤ now` and no 429 hold is in force; taking it moves
/// `next_at` to `now + (60 s + margin) / rate` in the same statement, so two replicas can
/// never take the same slot. Live fetches are counted here too, against the live share.
#[derive(Debug)]
pub struct PostgresBudget {
    pool: PgPool,
    rate_per_minute: NonZeroU32,
    period_micros: i64,
    known_hold: Mutex<Option<DateTime<Utc>>>,
}

impl Clone for PostgresBudget {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            rate_per_minute: self.rate_per_minute,
            period_micros: self.period_micros,
            known_hold: Mutex::new(*self.known_hold.lock().expect("hold lock")),
        }
    }
}

/// Shortest wait between two looks at the budget row, so idle replicas don't hammer it.
const MIN_POLL: Duration = Duration::from_millis(10);

/// Longest wait between two looks at the row while a 429 hold is in force, so a hold lifted
/// by an operator (on any replica, or by the CLI) is seen within this time by every replica.
const MAX_HELD_POLL: Duration = Duration::from_secs(1);

impl PostgresBudget {
    /// The 429 hold in force for the whole cluster, read from the database (the CLI's view:
    /// [`PartnerBudget::held_until`] is what this process last saw).
    pub async fn stored_hold(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let hold: Option<DateTime<Utc>> = sqlx::query_scalar(
            "SELECT CASE WHEN held_until > clock_timestamp() THEN held_until END
               FROM partner_budget WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db("read partner hold"))?
        .flatten();
        *self.known_hold.lock().expect("hold lock") = hold;
        Ok(hold)
    }

    /// A budget of `rate_per_minute` calls for every replica together.
    pub fn new(pool: PgPool, rate_per_minute: NonZeroU32) -> Self {
        Self {
            pool,
            rate_per_minute,
            period_micros: i64::try_from(
                tickete_core::engine::pacing_interval(rate_per_minute).as_micros(),
            )
            .unwrap_or(i64::MAX),
            known_hold: Mutex::new(None),
        }
    }
}

#[async_trait]
impl PartnerBudget for PostgresBudget {
    async fn acquire(&self) -> Result<(), StoreError> {
        loop {
            // Taking the slot also counts the call in its minute (for the dashboard's chart)
            // and forgets minutes past the kept ones, in the same round trip.
            let taken = sqlx::query(
                "WITH taken AS (
                     UPDATE partner_budget
                        SET next_at = clock_timestamp() + $1 * INTERVAL '1 microsecond'
                      WHERE id = 1
                        AND next_at <= clock_timestamp()
                        AND (held_until IS NULL OR held_until <= clock_timestamp())
                     RETURNING floor(extract(epoch FROM clock_timestamp()) / 60)::BIGINT AS minute
                 ), pruned AS (
                     DELETE FROM partner_calls
                      WHERE minute < (SELECT minute FROM taken) - $2
                 )
                 INSERT INTO partner_calls (minute, calls)
                 SELECT minute, 1 FROM taken
                     ON CONFLICT (minute) DO UPDATE SET calls = partner_calls.calls + 1",
            )
            .bind(self.period_micros)
            .bind(CALLS_KEPT_MINUTES)
            .execute(&self.pool)
            .await
            .map_err(db("take partner budget"))?;
            if taken.rows_affected() == 1 {
                // Taken: no hold is in force.
                *self.known_hold.lock().expect("hold lock") = None;
                return Ok(());
            }
            let (wait_micros, held_until): (i64, Option<DateTime<Utc>>) = sqlx::query_as(
                "SELECT (EXTRACT(EPOCH FROM (GREATEST(next_at, COALESCE(held_until, next_at))
                         - clock_timestamp())) * 1000000)::BIGINT,
                        held_until
                   FROM partner_budget WHERE id = 1",
            )
            .fetch_one(&self.pool)
            .await
            .map_err(db("read partner budget"))?;
            *self.known_hold.lock().expect("hold lock") = held_until.filter(|h| *h > Utc::now());
            // Jitter spreads replicas that wake for the same slot.
            let jitter = Duration::from_micros(rand::random::<u64>() % 5_000);
            let mut wait = Duration::from_micros(u64::try_from(wait_micros).unwrap_or(0));
            if held_until.is_some() {
                wait = wait.min(MAX_HELD_POLL);
            }
            tokio::time::sleep(wait.max(MIN_POLL) + jitter).await;
        }
    }

    async fn calls_by_minute(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, u32)>, StoreError> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT minute, calls::BIGINT FROM partner_calls WHERE minute >= $1 ORDER BY minute",
        )
        .bind(minute_of(since))
        .fetch_all(&self.pool)
        .await
        .map_err(db("read partner calls"))?;
        Ok(calls_from_rows(rows))
    }

    async fn hold_until(&self, until: DateTime<Utc>) -> Result<(), StoreError> {
        let jitter = chrono::Duration::milliseconds(i64::from(rand::random::<u16>() % 1000));
        let until = until + jitter;
        sqlx::query(
            "UPDATE partner_budget
                SET held_until = GREATEST(COALESCE(held_until, $1), $1)
              WHERE id = 1",
        )
        .bind(until)
        .execute(&self.pool)
        .await
        .map_err(db("hold partner budget"))?;
        *self.known_hold.lock().expect("hold lock") = Some(until);
        Ok(())
    }

    async fn clear_hold(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let lifted: Option<Option<DateTime<Utc>>> = sqlx::query_scalar(
            "UPDATE partner_budget
                SET held_until = NULL
               FROM partner_budget AS old
              WHERE partner_budget.id = 1 AND old.id = 1
          RETURNING CASE WHEN old.held_until > clock_timestamp() THEN old.held_until END",
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(db("lift partner hold"))?;
        *self.known_hold.lock().expect("hold lock") = None;
        Ok(lifted.flatten())
    }

    fn rate_per_minute(&self) -> u32 {
        self.rate_per_minute.get()
    }

    async fn read_hold(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.stored_hold().await
    }

    /// One transaction under an advisory lock: forgets live fetches older than a minute,
    /// counts the rest, and records this one when under `per_minute` (database clock).
    async fn admit_live(&self, per_minute: u32) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db("admit live fetch"))?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(LIVE_CALLS_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(db("admit live fetch"))?;
        sqlx::query("DELETE FROM live_calls WHERE at <= clock_timestamp() - INTERVAL '60 seconds'")
            .execute(&mut *tx)
            .await
            .map_err(db("admit live fetch"))?;
        let recent: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM live_calls")
            .fetch_one(&mut *tx)
            .await
            .map_err(db("admit live fetch"))?;
        let admitted = recent < i64::from(per_minute);
        if admitted {
            sqlx::query("INSERT INTO live_calls (at) VALUES (clock_timestamp())")
                .execute(&mut *tx)
                .await
                .map_err(db("admit live fetch"))?;
        }
        tx.commit().await.map_err(db("admit live fetch"))?;
        Ok(admitted)
    }

    fn held_until(&self) -> Option<DateTime<Utc>> {
        self.known_hold
            .lock()
            .expect("hold lock")
            .filter(|hold| *hold > Utc::now())
    }
}
