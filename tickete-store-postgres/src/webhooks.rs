//! Fanning events out to webhooks and claiming due deliveries: each replica claims its own
//! deliveries (`SKIP LOCKED`), and one fan-out runs at a time.

use chrono::{DateTime, Utc};
use tickete_core::feed::ClaimedDelivery;
use tickete_core::StoreError;
use tickete_store_sql::rows::{self, DELIVERY_COLUMNS};
use tickete_store_sql::webhooks::DUE_DELIVERIES;

use crate::error::db;
use crate::PostgresStore;

type ClaimRow = rows::ClaimRow<DateTime<Utc>, i32>;

impl PostgresStore {
    pub(crate) async fn fan_out_events(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut tx = self.pool().begin().await.map_err(db("fan out events"))?;
        // One fan-out at a time across replicas (the deliveries' unique key would also hold).
        sqlx::query("SELECT pg_advisory_xact_lock(7469636)")
            .execute(&mut *tx)
            .await
            .map_err(db("fan out events"))?;
        let upto: i64 = sqlx::query_scalar("SELECT COALESCE(max(seq), 0) FROM events")
            .fetch_one(&mut *tx)
            .await
            .map_err(db("fan out events"))?;
        let created = sqlx::query(
            "INSERT INTO deliveries (id, webhook_id, event_seq, event_id, type, subject, status,
                                     next_attempt_at)
             SELECT 'dlv_' || replace(gen_random_uuid()::text, '-', ''), w.id, e.seq, e.id, e.type,
                    CASE WHEN e.product_id IS NULL THEN NULL ELSE e.product_id || '/' || e.day::text END,
                    'pending', $1
             FROM webhooks AS w JOIN events AS e ON e.seq > w.cursor AND e.seq <= $2
             WHERE w.enabled
               AND (w.events = '' OR e.type = ANY(string_to_array(w.events, ',')))
             ORDER BY e.seq
             ON CONFLICT DO NOTHING",
        )
        .bind(now)
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
        let mut tx = self.pool().begin().await.map_err(db("claim deliveries"))?;
        let rows: Vec<ClaimRow> = sqlx::query_as(&format!(
            "SELECT {DELIVERY_COLUMNS}, w.url, w.secret, e.body {DUE_DELIVERIES}
             FOR UPDATE OF d SKIP LOCKED"
        ))
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(db("claim deliveries"))?;
        let ids: Vec<&str> = rows.iter().map(|r| r.delivery.id.as_str()).collect();
        sqlx::query(
            "UPDATE deliveries SET lease_until = $1
             WHERE id = ANY($2)",
        )
        .bind(lease_until)
        .bind(&ids)
        .execute(&mut *tx)
        .await
        .map_err(db("claim deliveries"))?;
        tx.commit().await.map_err(db("claim deliveries"))?;
        rows.into_iter().map(ClaimRow::into_claimed).collect()
    }
}
