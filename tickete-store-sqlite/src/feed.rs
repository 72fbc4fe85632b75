//! The change feed's outbox ([`Events`]): written by `apply_day` in its transaction, read by
//! sequence, pruned by age.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;
use tickete_core::feed::{join_types, Event, EventType, Events, NewEvent};
use tickete_core::served::EncodedDay;
use tickete_core::{DaySnapshot, ProductId, StoreError};

use crate::codec::{day, instant};
use crate::error::db;
use crate::SqliteStore;
use tickete_store_sql::rows::{self, EVENT_COLUMNS};

type EventRow = rows::EventRow<String, i64>;

const INSERT_EVENT: &str = "
    INSERT INTO events (id, type, product_id, day, created_at, body)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6)
    RETURNING seq, id, type, product_id, day, created_at, body";

async fn insert(tx: &mut SqliteConnection, event: &NewEvent) -> Result<Event, StoreError> {
    let row: EventRow = sqlx::query_as(INSERT_EVENT)
        .bind(&event.id)
        .bind(event.kind.as_str())
        .bind(event.subject.map(|(p, _)| i64::from(p.get())))
        .bind(event.subject.map(|(_, d)| day(d)))
        .bind(instant(event.timestamp))
        .bind(&event.body)
        .fetch_one(tx)
        .await
        .map_err(db("record event"))?;
    row.into_event()
}

/// Records the `availability.changed` event of a day being applied, inside the apply's
/// transaction (so the change and its event commit together or not at all).
pub(crate) async fn record_change(
    tx: &mut SqliteConnection,
    product: ProductId,
    snapshot: &DaySnapshot,
    encoded: &EncodedDay,
    synced_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let event =
        NewEvent::availability_changed(product, snapshot.date, &snapshot.slots, encoded, synced_at);
    insert(tx, &event).await.map(drop)
}

#[async_trait]
impl Events for SqliteStore {
    async fn append_event(&self, event: &NewEvent) -> Result<Event, StoreError> {
        let mut conn = self.pool().acquire().await.map_err(db("record event"))?;
        insert(&mut conn, event).await
    }

    async fn events_after(
        &self,
        after: u64,
        types: &[EventType],
        limit: u32,
    ) -> Result<Vec<Event>, StoreError> {
        let rows: Vec<EventRow> = sqlx::query_as(&format!(
            "SELECT {EVENT_COLUMNS} FROM events
             WHERE seq > ?1 AND (?2 = '' OR instr(',' || ?2 || ',', ',' || type || ',') > 0)
             ORDER BY seq LIMIT ?3"
        ))
        .bind(i64::try_from(after).unwrap_or(i64::MAX))
        .bind(join_types(types))
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await
        .map_err(db("read events"))?;
        rows.into_iter().map(EventRow::into_event).collect()
    }

    async fn latest_event_seq(&self) -> Result<u64, StoreError> {
        // AUTOINCREMENT keeps the highest sequence ever used in `sqlite_sequence`, also after
        // every event was pruned.
        let seq: Option<i64> =
            sqlx::query_scalar("SELECT seq FROM sqlite_sequence WHERE name = 'events'")
                .fetch_optional(self.pool())
                .await
                .map_err(db("read events"))?;
        Ok(seq.and_then(|s| u64::try_from(s).ok()).unwrap_or(0))
    }

    async fn prune_events(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM events WHERE created_at < ?1")
            .bind(instant(before))
            .execute(self.pool())
            .await
            .map_err(db("prune events"))?;
        // Settled deliveries go with their event; pending ones stay (their attempt reports
        // the event gone).
        sqlx::query(
            "DELETE FROM deliveries WHERE status <> 'pending'
             AND NOT EXISTS (SELECT 1 FROM events AS e WHERE e.seq = deliveries.event_seq)",
        )
        .execute(self.pool())
        .await
        .map_err(db("prune events"))?;
        Ok(done.rows_affected())
    }
}
