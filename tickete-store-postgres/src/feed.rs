//! Writing the change feed's events: by `apply_day` inside its transaction, or one on its own.
//! Reading and pruning them is written once in `tickete-store-sql`.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;
use tickete_core::feed::{Event, NewEvent};
use tickete_core::served::EncodedDay;
use tickete_core::{DaySnapshot, ProductId, StoreError};

use crate::error::db;
use crate::PostgresStore;
use tickete_store_sql::rows;

/// The `LISTEN` channel notified when events commit.
pub const CHANNEL: &str = "tickete_events";

/// The advisory lock that orders event writers (see the migration).
const EVENT_LOCK: i64 = 0x7469_636b_6576_7473;

type EventRow = rows::EventRow<NaiveDate, DateTime<Utc>>;

async fn insert(tx: &mut PgConnection, event: &NewEvent) -> Result<Event, StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1), pg_notify($2, '')")
        .bind(EVENT_LOCK)
        .bind(CHANNEL)
        .execute(&mut *tx)
        .await
        .map_err(db("record event"))?;
    let row: EventRow = sqlx::query_as(
        "INSERT INTO events (id, type, product_id, day, created_at, body)
         VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING seq, id, type, product_id, day, created_at, body",
    )
    .bind(&event.id)
    .bind(event.kind.as_str())
    .bind(event.subject.map(|(p, _)| i64::from(p.get())))
    .bind(event.subject.map(|(_, d)| d))
    .bind(event.timestamp)
    .bind(&event.body)
    .fetch_one(&mut *tx)
    .await
    .map_err(db("record event"))?;
    row.into_event()
}

/// Records the `availability.changed` event of a day being applied, inside the apply's
/// transaction (so the change and its event commit together or not at all).
pub(crate) async fn record_change(
    tx: &mut PgConnection,
    product: ProductId,
    snapshot: &DaySnapshot,
    encoded: &EncodedDay,
    synced_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let event =
        NewEvent::availability_changed(product, snapshot.date, &snapshot.slots, encoded, synced_at);
    insert(tx, &event).await.map(drop)
}

impl PostgresStore {
    /// Records one event on its own (not part of applying a day).
    pub(crate) async fn append_one_event(&self, event: &NewEvent) -> Result<Event, StoreError> {
        let mut tx = self.pool().begin().await.map_err(db("record event"))?;
        let stored = insert(&mut tx, event).await?;
        tx.commit().await.map_err(db("record event"))?;
        Ok(stored)
    }
}

/// Wakes `wake` whenever events commit on any replica (`LISTEN` on [`CHANNEL`]); reconnects
/// after a lost connection. Ends when the store closes or nothing else holds `wake`.
pub async fn wake_on_events(store: PostgresStore, wake: std::sync::Arc<tokio::sync::Notify>) {
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
        loop {
            match tokio::time::timeout(Duration::from_secs(5), listener.try_recv()).await {
                Ok(Ok(Some(_))) => wake.notify_one(),
                // The connection was lost: reconnect (notifications meanwhile are covered by
                // the worker's poll).
                Ok(Ok(None)) | Ok(Err(_)) => break,
                Err(_) if std::sync::Arc::strong_count(&wake) > 1 => {}
                Err(_) => return,
            }
        }
    }
}
