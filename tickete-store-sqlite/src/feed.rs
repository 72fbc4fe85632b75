//! Writing the change feed's events: by `apply_day` inside its transaction, or one on its own.
//! Reading and pruning them is written once in `tickete-store-sql`.

use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;
use tickete_core::feed::{Event, NewEvent};
use tickete_core::served::EncodedDay;
use tickete_core::{DaySnapshot, ProductId, StoreError};

use crate::codec::{day, instant};
use crate::error::db;
use crate::SqliteStore;
use tickete_store_sql::rows;

type EventRow = rows::EventRow<String, i64>;

const INSERT_EVENT: &str = "
    INSERT INTO events (id, type, product_id, day, created_at, body)
    VALUES ($1, $2, $3, $4, $5, $6)
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

impl SqliteStore {
    /// Records one event on its own (not part of applying a day).
    pub(crate) async fn append_one_event(&self, event: &NewEvent) -> Result<Event, StoreError> {
        let mut conn = self.pool().acquire().await.map_err(db("record event"))?;
        insert(&mut conn, event).await
    }
}
