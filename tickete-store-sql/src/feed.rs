//! The change feed's outbox ([`Events`](tickete_core::feed::Events)): written by `apply_day`
//! in its transaction or on its own, read by sequence, pruned by age; written once for both
//! dialects.

/// Implements [`Events`](tickete_core::feed::Events) for a store that implements
/// [`Dialect`](crate::Dialect) and has the inherent method `order_event_write(tx: &mut
/// Connection) -> Result<(), StoreError>`, run in a transaction before it writes an event
/// (Postgres orders event writers and wakes listeners; SQLite's write lock already orders
/// them). Also gives the store `record_change(tx, product, snapshot, encoded, synced_at)`,
/// the event of a day being applied, for `apply_day`'s transaction.
#[macro_export]
macro_rules! impl_events {
    ($store:ty) => {
        const _: () = {
            use $crate::macro_support::chrono::{DateTime, Utc};
            use $crate::macro_support::tickete_core::feed::{
                join_types, Event, EventType, Events, NewEvent,
            };
            use $crate::macro_support::tickete_core::served::EncodedDay;
            use $crate::macro_support::tickete_core::{DaySnapshot, ProductId, StoreError};
            use $crate::macro_support::{async_trait, sqlx, Dialect};
            use $crate::rows::EVENT_COLUMNS;

            type Store = $store;
            type Connection = <<Store as Dialect>::Db as sqlx::Database>::Connection;
            type EventRow =
                $crate::rows::EventRow<<Store as Dialect>::Day, <Store as Dialect>::Instant>;

            impl Store {
                /// Writes `event` in the caller's transaction.
                async fn insert_event(
                    tx: &mut Connection,
                    event: &NewEvent,
                ) -> Result<Event, StoreError> {
                    Self::order_event_write(&mut *tx).await?;
                    let row: EventRow = sqlx::query_as(&format!(
                        "INSERT INTO events (id, type, product_id, day, created_at, body)
                         VALUES ($1, $2, $3, $4, $5, $6)
                         RETURNING {EVENT_COLUMNS}"
                    ))
                    .bind(&event.id)
                    .bind(event.kind.as_str())
                    .bind(event.subject.map(|(p, _)| i64::from(p.get())))
                    .bind(event.subject.map(|(_, d)| Self::day(d)))
                    .bind(Self::instant(event.timestamp))
                    .bind(&event.body)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(Self::db("record event"))?;
                    row.into_event()
                }

                /// Records the `availability.changed` event of a day being applied, inside the
                /// apply's transaction (so the change and its event commit together or not at
                /// all).
                pub(crate) async fn record_change(
                    tx: &mut Connection,
                    product: ProductId,
                    snapshot: &DaySnapshot,
                    encoded: &EncodedDay,
                    synced_at: DateTime<Utc>,
                ) -> Result<(), StoreError> {
                    let event = NewEvent::availability_changed(
                        product,
                        snapshot.date,
                        &snapshot.slots,
                        encoded,
                        synced_at,
                    );
                    Self::insert_event(tx, &event).await.map(drop)
                }
            }

            #[async_trait]
            impl Events for Store {
                async fn append_event(&self, event: &NewEvent) -> Result<Event, StoreError> {
                    let mut tx = self
                        .pool()
                        .begin_with(Self::BEGIN_WRITE)
                        .await
                        .map_err(Self::db("record event"))?;
                    let stored = Self::insert_event(&mut tx, event).await?;
                    tx.commit().await.map_err(Self::db("record event"))?;
                    Ok(stored)
                }

                async fn events_after(
                    &self,
                    after: u64,
                    types: &[EventType],
                    limit: u32,
                ) -> Result<Vec<Event>, StoreError> {
                    // `$2` lists the wanted types joined by commas; empty means all.
                    let rows: Vec<EventRow> = sqlx::query_as(&format!(
                        "SELECT {EVENT_COLUMNS} FROM events
                         WHERE seq > $1 AND ($2 = '' OR ',' || $2 || ',' LIKE '%,' || type || ',%')
                         ORDER BY seq LIMIT $3"
                    ))
                    .bind(i64::try_from(after).unwrap_or(i64::MAX))
                    .bind(join_types(types))
                    .bind(i64::from(limit))
                    .fetch_all(self.pool())
                    .await
                    .map_err(Self::db("read events"))?;
                    rows.into_iter().map(EventRow::into_event).collect()
                }

                async fn latest_event_seq(&self) -> Result<u64, StoreError> {
                    let seq: i64 =
                        sqlx::query_scalar(&format!("SELECT {}", Self::LATEST_EVENT_SEQ))
                            .fetch_one(self.pool())
                            .await
                            .map_err(Self::db("read events"))?;
                    Ok(u64::try_from(seq).unwrap_or(0))
                }

                async fn prune_events(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
                    let done = sqlx::query("DELETE FROM events WHERE created_at < $1")
                        .bind(Self::instant(before))
                        .execute(self.pool())
                        .await
                        .map_err(Self::db("prune events"))?;
                    // Settled deliveries go with their event; pending ones stay (their
                    // attempt reports the event gone).
                    sqlx::query(
                        "DELETE FROM deliveries WHERE status <> 'pending'
                         AND NOT EXISTS (SELECT 1 FROM events AS e
                                          WHERE e.seq = deliveries.event_seq)",
                    )
                    .execute(self.pool())
                    .await
                    .map_err(Self::db("prune events"))?;
                    Ok(done.rows_affected())
                }
            }
        };
    };
}
