//! The engine processes working on a store, with their heartbeats
//! ([`Processes`](tickete_core::Processes)), and the dashboard's sessions
//! ([`Sessions`](tickete_core::sessions::Sessions)), written once for both dialects.

/// Implements [`Processes`](tickete_core::Processes) and
/// [`Sessions`](tickete_core::sessions::Sessions) for a store that implements
/// [`Dialect`](crate::Dialect).
#[macro_export]
macro_rules! impl_processes {
    ($store:ty) => {
        const _: () = {
            use $crate::macro_support::chrono::{DateTime, Utc};
            use $crate::macro_support::tickete_core::sessions::{SessionRecord, Sessions};
            use $crate::macro_support::tickete_core::{
                EngineProcess, Page, PageRequest, Processes, StoreError,
            };
            use $crate::macro_support::{async_trait, sqlx, Dialect};
            use $crate::rows::PROCESS_COLUMNS;
            use $crate::stored::Stored;

            type Store = $store;
            type Instant = <Store as Dialect>::Instant;
            type ProcessRow = $crate::rows::ProcessRow<Instant>;

            #[async_trait]
            impl Processes for Store {
                async fn register_process(&self, process: &EngineProcess) -> Result<(), StoreError> {
                    sqlx::query(
                        "INSERT INTO processes (id, kind, host, pid, started_at, last_seen_at)
                         VALUES ($1, $2, $3, $4, $5, $6)
                         ON CONFLICT (id) DO UPDATE SET last_seen_at = excluded.last_seen_at",
                    )
                    .bind(&process.id)
                    .bind(process.kind.as_str())
                    .bind(&process.host)
                    .bind(i64::from(process.pid))
                    .bind(Self::instant(process.started_at))
                    .bind(Self::instant(process.last_seen_at))
                    .execute(self.pool())
                    .await
                    .map_err(Self::db("register process"))?;
                    Ok(())
                }

                async fn beat_process(&self, id: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
                    let beat = sqlx::query(&format!(
                        "UPDATE processes SET last_seen_at = {}(last_seen_at, $2) WHERE id = $1",
                        Self::GREATEST
                    ))
                    .bind(id)
                    .bind(Self::instant(at))
                    .execute(self.pool())
                    .await
                    .map_err(Self::db("report process alive"))?;
                    Ok(beat.rows_affected() == 1)
                }

                async fn remove_process(&self, id: &str) -> Result<(), StoreError> {
                    sqlx::query("DELETE FROM processes WHERE id = $1")
                        .bind(id)
                        .execute(self.pool())
                        .await
                        .map_err(Self::db("remove process"))?;
                    Ok(())
                }

                async fn list_processes(
                    &self,
                    alive_since: DateTime<Utc>,
                    page: PageRequest,
                ) -> Result<Page<EngineProcess>, StoreError> {
                    let (limit, offset) = $crate::limit_offset(page);
                    let mut tx = self
                        .pool()
                        .begin_with(Self::BEGIN_READ)
                        .await
                        .map_err(Self::db("list processes"))?;
                    let total: i64 =
                        sqlx::query_scalar("SELECT COUNT(*) FROM processes WHERE last_seen_at >= $1")
                            .bind(Self::instant(alive_since))
                            .fetch_one(&mut *tx)
                            .await
                            .map_err(Self::db("list processes"))?;
                    let rows: Vec<ProcessRow> = sqlx::query_as(&format!(
                        "SELECT {PROCESS_COLUMNS} FROM processes WHERE last_seen_at >= $1
                         ORDER BY started_at, id LIMIT $2 OFFSET $3"
                    ))
                    .bind(Self::instant(alive_since))
                    .bind(limit)
                    .bind(offset)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(Self::db("list processes"))?;
                    tx.commit().await.map_err(Self::db("list processes"))?;
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
            impl Sessions for Store {
                async fn start_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
                    sqlx::query(
                        "INSERT INTO dashboard_sessions (id, created_at, expires_at)
                         VALUES ($1, $2, $3)",
                    )
                    .bind(&session.id)
                    .bind(Self::instant(session.created_at))
                    .bind(Self::instant(session.expires_at))
                    .execute(self.pool())
                    .await
                    .map_err(Self::db("start session"))?;
                    Ok(())
                }

                async fn session_active(
                    &self,
                    id: &str,
                    now: DateTime<Utc>,
                ) -> Result<bool, StoreError> {
                    sqlx::query_scalar(
                        "SELECT EXISTS (SELECT 1 FROM dashboard_sessions
                                         WHERE id = $1 AND expires_at > $2)",
                    )
                    .bind(id)
                    .bind(Self::instant(now))
                    .fetch_one(self.pool())
                    .await
                    .map_err(Self::db("check session"))
                }

                async fn end_session(&self, id: &str) -> Result<(), StoreError> {
                    sqlx::query("DELETE FROM dashboard_sessions WHERE id = $1")
                        .bind(id)
                        .execute(self.pool())
                        .await
                        .map_err(Self::db("end session"))?;
                    Ok(())
                }

                async fn end_all_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
                    let active: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM dashboard_sessions WHERE expires_at > $1",
                    )
                    .bind(Self::instant(now))
                    .fetch_one(self.pool())
                    .await
                    .map_err(Self::db("end sessions"))?;
                    sqlx::query("DELETE FROM dashboard_sessions")
                        .execute(self.pool())
                        .await
                        .map_err(Self::db("end sessions"))?;
                    Ok(u64::try_from(active).unwrap_or(0))
                }

                async fn active_sessions(
                    &self,
                    now: DateTime<Utc>,
                ) -> Result<Vec<SessionRecord>, StoreError> {
                    sqlx::query("DELETE FROM dashboard_sessions WHERE expires_at <= $1")
                        .bind(Self::instant(now))
                        .execute(self.pool())
                        .await
                        .map_err(Self::db("forget expired sessions"))?;
                    let rows: Vec<(String, Instant, Instant)> = sqlx::query_as(
                        "SELECT id, created_at, expires_at FROM dashboard_sessions
                          ORDER BY created_at DESC, id DESC",
                    )
                    .fetch_all(self.pool())
                    .await
                    .map_err(Self::db("list sessions"))?;
                    rows.into_iter()
                        .map(|(id, created, expires)| {
                            Ok(SessionRecord {
                                id,
                                created_at: created.load()?,
                                expires_at: expires.load()?,
                            })
                        })
                        .collect()
                }
            }
        };
    };
}
