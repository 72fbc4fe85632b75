//! Fanning events out to webhooks and claiming due deliveries: SQLite takes its write lock
//! only when there is something to do, so most rounds cost one read.

use chrono::{DateTime, Utc};
use tickete_core::feed::ClaimedDelivery;
use tickete_core::StoreError;
use tickete_store_sql::rows::{self, DELIVERY_COLUMNS};
use tickete_store_sql::webhooks::DUE_DELIVERIES;

use crate::codec::instant;
use crate::error::db;
use crate::SqliteStore;

type ClaimRow = rows::ClaimRow<i64, i64>;

impl SqliteStore {
    pub(crate) async fn fan_out_events(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        // Most rounds find nothing new: say so without taking the write lock.
        let behind: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM webhooks WHERE enabled
                 AND cursor < (SELECT COALESCE(max(seq), 0) FROM events))",
        )
        .fetch_one(self.pool())
        .await
        .map_err(db("fan out events"))?;
        if !behind {
            return Ok(0);
        }
        let mut tx = self
            .pool()
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db("fan out events"))?;
        let upto: i64 = sqlx::query_scalar("SELECT COALESCE(max(seq), 0) FROM events")
            .fetch_one(&mut *tx)
            .await
            .map_err(db("fan out events"))?;
        let created = sqlx::query(
            "INSERT INTO deliveries (id, webhook_id, event_seq, event_id, type, subject, status,
                                     next_attempt_at)
             SELECT 'dlv_' || lower(hex(randomblob(12))), w.id, e.seq, e.id, e.type,
                    CASE WHEN e.product_id IS NULL THEN NULL ELSE e.product_id || '/' || e.day END,
                    'pending', $1
             FROM webhooks AS w JOIN events AS e ON e.seq > w.cursor AND e.seq <= $2
             WHERE w.enabled
               AND (w.events = '' OR instr(',' || w.events || ',', ',' || e.type || ',') > 0)
             ORDER BY e.seq
             ON CONFLICT DO NOTHING",
        )
        .bind(instant(now))
        .bind(upto)
        .execute(&mut *tx)
        .await
        .map_err(db("fan out events"))?;
        sqlx::query("UPDATE webhooks SET cursor = $1 WHERE enabled AND cursor < $1")
            .bind(upto)
            .execute(&mut *tx)
            .await
            .map_err(db("fan out events"))?;
        tx.commit().await.map_err(db("fan out events"))?;
        Ok(created.rows_affected())
    }

    pub(crate) async fn claim_due_deliveries(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let due: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM deliveries WHERE status = 'pending'
                 AND next_attempt_at <= $1 AND (lease_until IS NULL OR lease_until <= $1))",
        )
        .bind(instant(now))
        .fetch_one(self.pool())
        .await
        .map_err(db("claim deliveries"))?;
        if !due {
            return Ok(Vec::new());
        }
        let mut tx = self
            .pool()
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db("claim deliveries"))?;
        let rows: Vec<ClaimRow> = sqlx::query_as(&format!(
            "SELECT {DELIVERY_COLUMNS}, w.url, w.secret, e.body {DUE_DELIVERIES}"
        ))
        .bind(instant(now))
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(db("claim deliveries"))?;
        let ids: Vec<&str> = rows.iter().map(|r| r.delivery.id.as_str()).collect();
        sqlx::query(
            "UPDATE deliveries SET lease_until = $1
             WHERE id IN (SELECT value FROM json_each($2))",
        )
        .bind(instant(lease_until))
        .bind(serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into()))
        .execute(&mut *tx)
        .await
        .map_err(db("claim deliveries"))?;
        tx.commit().await.map_err(db("claim deliveries"))?;
        rows.into_iter().map(ClaimRow::into_claimed).collect()
    }
}
