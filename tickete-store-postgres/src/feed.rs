//! Postgres' side of the change feed's outbox (written once in `tickete-store-sql`): event
//! writers are ordered by one lock and each write notifies [`CHANNEL`] on commit, so the
//! delivery worker and the event stream of every replica wake without waiting for a poll.

use sqlx::PgConnection;
use tickete_core::StoreError;

use crate::error::db;
use crate::PostgresStore;

/// The `LISTEN` channel notified when events commit.
pub const CHANNEL: &str = "tickete_events";

/// The advisory lock that orders event writers (see the migration).
const EVENT_LOCK: i64 = 0x7469_636b_6576_7473;

impl PostgresStore {
    /// Before an event is written: takes the lock that orders event writers, so sequences
    /// commit in order, and notifies [`CHANNEL`], delivered when the transaction commits.
    pub(crate) async fn order_event_write(tx: &mut PgConnection) -> Result<(), StoreError> {
        sqlx::query("SELECT pg_advisory_xact_lock($1), pg_notify($2, '')")
            .bind(EVENT_LOCK)
            .bind(CHANNEL)
            .execute(&mut *tx)
            .await
            .map_err(db("record event"))?;
        Ok(())
    }
}

/// Wakes `wake` (the delivery worker) and announces to `commits` (the event streams)
/// whenever events commit on any replica (`LISTEN` on [`CHANNEL`]); reconnects after a lost
/// connection, telling `commits` whether it is heard meanwhile. Ends when the store closes or
/// nothing else holds `wake`.
pub async fn wake_on_events(
    store: PostgresStore,
    wake: std::sync::Arc<tokio::sync::Notify>,
    commits: std::sync::Arc<tickete_core::feed::Commits>,
) {
    use std::time::Duration;
    while !store.pool().is_closed() && std::sync::Arc::strong_count(&wake) > 1 {
        let mut listener = match sqlx::postgres::PgListener::connect_with(store.pool()).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::debug!(%error, "event listener could not connect; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if let Err(error) = listener.listen(CHANNEL).await {
            tracing::debug!(%error, "event listener could not LISTEN; retrying");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        commits.set_heard(true);
        loop {
            match tokio::time::timeout(Duration::from_secs(5), listener.try_recv()).await {
                Ok(Ok(Some(_))) => {
                    wake.notify_one();
                    commits.announce();
                }
                // The connection was lost: reconnect (commits meanwhile are found by the
                // worker's and the streams' polls).
                Ok(Ok(None)) | Ok(Err(_)) => break,
                Err(_) if std::sync::Arc::strong_count(&wake) > 1 => {}
                Err(_) => break,
            }
        }
        commits.set_heard(false);
    }
}
