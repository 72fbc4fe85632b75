//! The change feed's outbox ([`Events`](tickete_core::feed::Events)): read by sequence and
//! pruned by age, written once for both dialects. Writing an event stays with each store: it
//! happens inside `apply_day`'s transaction, under that database's own ordering.

/// Implements [`Events`](tickete_core::feed::Events) for a store that implements
/// [`Dialect`](crate::Dialect) and has the inherent method
/// `append_one_event(&self, event: &NewEvent) -> Result<Event, StoreError>`.
#[macro_export]
macro_rules! impl_events {
    ($store:ty) => {
        const _: () = {
            use $crate::macro_support::chrono::{DateTime, Utc};
            use $crate::macro_support::tickete_core::feed::{
                join_types, Event, EventType, Events, NewEvent,
            };
            use $crate::macro_support::tickete_core::StoreError;
            use $crate::macro_support::{async_trait, sqlx, Dialect};
            use $crate::rows::EVENT_COLUMNS;

            type Store = $store;
            type EventRow =
                $crate::rows::EventRow<<Store as Dialect>::Day, <Store as Dialect>::Instant>;

            #[async_trait]
            impl Events for Store {
                async fn append_event(&self, event: &NewEvent) -> Result<Event, StoreError> {
                    self.append_one_event(event).await
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
