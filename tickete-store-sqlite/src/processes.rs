//! The engine processes working on this file, with their heartbeats, and the dashboard's
//! sessions.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tickete_core::sessions::{SessionRecord, Sessions};
use tickete_core::{EngineProcess, Page, PageRequest, Processes, StoreError};
use tickete_store_sql::rows::{ProcessRow, PROCESS_COLUMNS};

use crate::codec::{instant, limit_offset, parse_instant};
use crate::error::db;
use crate::SqliteStore;

#[async_trait]
impl Processes for SqliteStore {
    async fn register_process(&self, process: &EngineProcess) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO processes (id, kind, host, pid, started_at, last_seen_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (id) DO UPDATE SET last_seen_at = excluded.last_seen_at",
        )
        .bind(&process.id)
        .bind(process.kind.as_str())
        .bind(&process.host)
        .bind(i64::from(process.pid))
        .bind(instant(process.started_at))
        .bind(instant(process.last_seen_at))
        .execute(&self.pool)
        .await
        .map_err(db("register process"))?;
        Ok(())
    }

    async fn beat_process(&self, id: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let beat =
            sqlx::query("UPDATE processes SET last_seen_at = MAX(last_seen_at, ?2) WHERE id = ?1")
                .bind(id)
                .bind(instant(at))
                .execute(&self.pool)
                .await
                .map_err(db("report process alive"))?;
        Ok(beat.rows_affected() == 1)
    }

    async fn remove_process(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM processes WHERE id = ?1")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db("remove process"))?;
        Ok(())
    }

    async fn list_processes(
        &self,
        alive_since: DateTime<Utc>,
        page: PageRequest,
    ) -> Result<Page<EngineProcess>, StoreError> {
        let (limit, offset) = limit_offset(page);
        let mut tx = self.pool.begin().await.map_err(db("list processes"))?;
        let total: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM processes WHERE last_seen_at >= ?1")
                .bind(instant(alive_since))
                .fetch_one(&mut *tx)
                .await
                .map_err(db("list processes"))?;
        let rows: Vec<ProcessRow<i64>> = sqlx::query_as(&format!(
            "SELECT {PROCESS_COLUMNS} FROM processes WHERE last_seen_at >= ?1
             ORDER BY started_at, id LIMIT ?2 OFFSET ?3"
        ))
        .bind(instant(alive_since))
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *tx)
        .await
        .map_err(db("list processes"))?;
        tx.commit().await.map_err(db("list processes"))?;
        Ok(Page {
            items: rows
                .into_iter()
                .map(ProcessRow::into_process)
                .collect::<Result<_, _>>()?,
            total: u64::try_from(total).unwrap_or(0),
        })
    }
}

#[async_trait]
impl Sessions for SqliteStore {
    async fn start_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO dashboard_sessions (id, created_at, expires_at) VALUES (?1, ?2, ?3)",
        )
        .bind(&session.id)
        .bind(instant(session.created_at))
        .bind(instant(session.expires_at))
        .execute(&self.pool)
        .await
        .map_err(db("start session"))?;
        Ok(())
    }

    async fn session_active(&self, id: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM dashboard_sessions WHERE id = ?1 AND expires_at > ?2)",
        )
        .bind(id)
        .bind(instant(now))
        .fetch_one(&self.pool)
        .await
        .map_err(db("check session"))
    }

    async fn end_session(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM dashboard_sessions WHERE id = ?1")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db("end session"))?;
        Ok(())
    }

    async fn end_all_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let active: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM dashboard_sessions WHERE expires_at > ?1")
                .bind(instant(now))
                .fetch_one(&self.pool)
                .await
                .map_err(db("end sessions"))?;
        sqlx::query("DELETE FROM dashboard_sessions")
            .execute(&self.pool)
            .await
            .map_err(db("end sessions"))?;
        Ok(u64::try_from(active).unwrap_or(0))
    }

    async fn active_sessions(&self, now: DateTime<Utc>) -> Result<Vec<SessionRecord>, StoreError> {
        sqlx::query("DELETE FROM dashboard_sessions WHERE expires_at <= ?1")
            .bind(instant(now))
            .execute(&self.pool)
            .await
            .map_err(db("forget expired sessions"))?;
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT id, created_at, expires_at FROM dashboard_sessions
              ORDER BY created_at DESC, id DESC",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db("list sessions"))?;
        rows.into_iter()
            .map(|(id, created, expires)| {
                Ok(SessionRecord {
                    id,
                    created_at: parse_instant(created)?,
                    expires_at: parse_instant(expires)?,
                })
            })
            .collect()
    }
}
