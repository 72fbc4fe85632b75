//! Synced inventory ([`Inventory`](tickete_core::Inventory)): the shape of an apply (the
//! unchanged case first, then one write transaction), reading slots and pruning, written once
//! for both dialects. Writing a day's rows and the public reads' fast paths stay with each
//! store.

/// The whole of an unchanged apply: moves `synced_at` (`$3`) of (`$1` product, `$2` day) when
/// the stored hash is the new one (`$4`).
pub const TOUCH_UNCHANGED_DAY: &str = "
    UPDATE day_states SET synced_at = $3, last_error = NULL
    WHERE product_id = $1 AND day = $2 AND hash = $4";

/// Implements [`Inventory`](tickete_core::Inventory) for a store that implements
/// [`Dialect`](crate::Dialect) and has these inherent items:
/// - `async fn apply_in(tx: &mut <Db as Database>::Connection, product, snapshot, hash,
///   synced_at) -> Result<ApplyOutcome, StoreError>`: one day's rows inside the caller's
///   write transaction, once the unchanged case was tried;
/// - `const RECORD_DAY_ERROR: &str`: records `$3` as the last error of (`$1`, `$2`) when the
///   product exists;
/// - `day_states_off_runtime(&self, from, until)`: `Some` when the store reads a window of day
///   states its own way (SQLite off the async runtime), `None` to read it here;
/// - `read_served_slots(&self, product, date)` and `read_served_dates(&self, product, from,
///   until)`: the public reads, each database's fastest way.
///
/// Gives the store `touch_unchanged_day(conn, product, date, synced_at, hash) -> bool`, the
/// whole of an unchanged apply.
#[macro_export]
macro_rules! impl_inventory {
    ($store:ty) => {
        const _: () = {
            use $crate::macro_support::chrono::{DateTime, NaiveDate, Utc};
            use $crate::macro_support::tickete_core::served::{ServedDates, ServedSlots};
            use $crate::macro_support::tickete_core::store::check_storable;
            use $crate::macro_support::tickete_core::{
                ApplyOutcome, DayApply, DaySnapshot, DayState, Inventory, ProductId, Slot,
                StoreError,
            };
            use $crate::macro_support::{async_trait, sqlx, Dialect};
            use $crate::rows::SLOT_PAX_COLUMNS;

            type Store = $store;
            type DayStateRow =
                $crate::rows::DayStateRow<<Store as Dialect>::Day, <Store as Dialect>::Instant>;
            type SlotPaxRow = $crate::rows::SlotPaxRow<
                <Store as Dialect>::Day,
                <Store as Dialect>::Time,
                <Store as Dialect>::Money,
            >;

            type Connection = <<Store as Dialect>::Db as sqlx::Database>::Connection;

            impl Store {
                /// Moves `synced_at` of (product, date) when the stored hash is `hash`; true
                /// when it did (the day is unchanged).
                pub(crate) async fn touch_unchanged_day(
                    conn: &mut Connection,
                    product: ProductId,
                    date: NaiveDate,
                    synced_at: DateTime<Utc>,
                    hash: &str,
                ) -> Result<bool, StoreError> {
                    let touched = sqlx::query($crate::inventory::TOUCH_UNCHANGED_DAY)
                        .bind(i64::from(product.get()))
                        .bind(Self::day(date))
                        .bind(Self::instant(synced_at))
                        .bind(hash)
                        .execute(&mut *conn)
                        .await
                        .map_err(Self::db("apply day"))?;
                    Ok(touched.rows_affected() > 0)
                }
            }

            #[async_trait]
            impl Inventory for Store {
                #[$crate::macro_support::tracing::instrument(skip_all, fields(product = %product, date = %snapshot.date))]
                async fn apply_day(
                    &self,
                    product: ProductId,
                    snapshot: &DaySnapshot,
                    synced_at: DateTime<Utc>,
                ) -> Result<ApplyOutcome, StoreError> {
                    check_storable(snapshot)?;
                    let hash = snapshot.content_hash();
                    // Most fetches find the day unchanged: one statement, no explicit
                    // transaction.
                    let mut conn = self.pool().acquire().await.map_err(Self::db("apply day"))?;
                    let unchanged =
                        Self::touch_unchanged_day(&mut conn, product, snapshot.date, synced_at, &hash)
                            .await?;
                    drop(conn);
                    if unchanged {
                        // `synced_at` is served too (`Last-Modified`).
                        self.served_write();
                        return Ok(ApplyOutcome::Unchanged);
                    }
                    let mut tx = self
                        .pool()
                        .begin_with(Self::BEGIN_WRITE)
                        .await
                        .map_err(Self::db("apply day"))?;
                    let outcome = Self::apply_in(&mut tx, product, snapshot, &hash, synced_at).await?;
                    tx.commit().await.map_err(Self::db("apply day"))?;
                    self.served_write();
                    Ok(outcome)
                }

                /// Applies several days in one transaction; any failure rolls back all. Days
                /// are written in (product, date) order whatever the order given, so two
                /// batches never deadlock each other.
                #[$crate::macro_support::tracing::instrument(skip_all, fields(days = days.len()))]
                async fn apply_days(
                    &self,
                    days: &[DayApply<'_>],
                ) -> Result<Vec<ApplyOutcome>, StoreError> {
                    for apply in days {
                        check_storable(apply.snapshot)?;
                    }
                    if days.is_empty() {
                        return Ok(Vec::new());
                    }
                    let mut order: Vec<usize> = (0..days.len()).collect();
                    // Stable: a day given twice is applied in the order given.
                    order.sort_by_key(|&i| (days[i].product, days[i].snapshot.date));
                    let mut outcomes = vec![ApplyOutcome::Unchanged; days.len()];
                    let mut tx = self
                        .pool()
                        .begin_with(Self::BEGIN_WRITE)
                        .await
                        .map_err(Self::db("apply days"))?;
                    for i in order {
                        let apply = &days[i];
                        let hash = apply.snapshot.content_hash();
                        let (product, date, at) = (apply.product, apply.snapshot.date, apply.synced_at);
                        outcomes[i] = if Self::touch_unchanged_day(&mut tx, product, date, at, &hash).await? {
                            ApplyOutcome::Unchanged
                        } else {
                            Self::apply_in(&mut tx, product, apply.snapshot, &hash, at).await?
                        };
                    }
                    tx.commit().await.map_err(Self::db("apply days"))?;
                    self.served_write();
                    Ok(outcomes)
                }

                async fn record_day_error(
                    &self,
                    product: ProductId,
                    date: NaiveDate,
                    error: &str,
                ) -> Result<(), StoreError> {
                    let written = sqlx::query(Self::RECORD_DAY_ERROR)
                        .bind(i64::from(product.get()))
                        .bind(Self::day(date))
                        .bind(error)
                        .execute(self.pool())
                        .await
                        .map_err(Self::db("record day error"))?;
                    self.served_write();
                    if written.rows_affected() == 0 {
                        return Err(StoreError::NotFound(format!("product {product}")));
                    }
                    Ok(())
                }

                async fn slots(
                    &self,
                    product: ProductId,
                    date: NaiveDate,
                ) -> Result<Vec<Slot>, StoreError> {
                    let rows: Vec<SlotPaxRow> = sqlx::query_as(&format!(
                        "{SLOT_PAX_COLUMNS}
                         WHERE s.product_id = $1 AND s.day = $2
                         ORDER BY s.start_time, s.provider_slot_id, p.position"
                    ))
                    .bind(i64::from(product.get()))
                    .bind(Self::day(date))
                    .fetch_all(self.pool())
                    .await
                    .map_err(Self::db("read slots"))?;
                    $crate::rows::assemble(rows)
                }

                /// Slots of `[from, until)`; one statement, so it reads one committed state of
                /// every day.
                async fn slots_between(
                    &self,
                    product: ProductId,
                    from: NaiveDate,
                    until: NaiveDate,
                ) -> Result<Vec<Slot>, StoreError> {
                    let rows: Vec<SlotPaxRow> = sqlx::query_as(&format!(
                        "{SLOT_PAX_COLUMNS}
                         WHERE s.product_id = $1 AND s.day >= $2 AND s.day < $3
                         ORDER BY s.day, s.start_time, s.provider_slot_id, p.position"
                    ))
                    .bind(i64::from(product.get()))
                    .bind(Self::day(from))
                    .bind(Self::day(until))
                    .fetch_all(self.pool())
                    .await
                    .map_err(Self::db("read slots"))?;
                    $crate::rows::assemble(rows)
                }

                /// Deletes the slots (their pax cascade) and day states of dates before
                /// `date`, in one transaction; returns the number of day states removed.
                async fn prune_before(&self, date: NaiveDate) -> Result<u64, StoreError> {
                    let mut tx = self
                        .pool()
                        .begin_with(Self::BEGIN_WRITE)
                        .await
                        .map_err(Self::db("begin prune"))?;
                    sqlx::query("DELETE FROM slots WHERE day < $1")
                        .bind(Self::day(date))
                        .execute(&mut *tx)
                        .await
                        .map_err(Self::db("prune slots"))?;
                    let days = sqlx::query("DELETE FROM day_states WHERE day < $1")
                        .bind(Self::day(date))
                        .execute(&mut *tx)
                        .await
                        .map_err(Self::db("prune day states"))?;
                    tx.commit().await.map_err(Self::db("commit prune"))?;
                    self.served_write();
                    Ok(days.rows_affected())
                }

                async fn day_states(
                    &self,
                    from: NaiveDate,
                    until: NaiveDate,
                ) -> Result<Vec<DayState>, StoreError> {
                    if let Some(read) = self.day_states_off_runtime(from, until).await {
                        return read;
                    }
                    let rows: Vec<DayStateRow> = sqlx::query_as($crate::rows::DAY_STATES_BETWEEN)
                        .bind(Self::day(from))
                        .bind(Self::day(until))
                        .fetch_all(self.pool())
                        .await
                        .map_err(Self::db("read day states"))?;
                    rows.into_iter().map(DayStateRow::into_state).collect()
                }

                async fn served_slots(
                    &self,
                    product: ProductId,
                    date: NaiveDate,
                ) -> Result<ServedSlots, StoreError> {
                    self.read_served_slots(product, date).await
                }

                async fn served_dates(
                    &self,
                    product: ProductId,
                    from: NaiveDate,
                    until: NaiveDate,
                ) -> Result<ServedDates, StoreError> {
                    self.read_served_dates(product, from, until).await
                }
            }
        };
    };
}
