//! Synced inventory: applying a day, reading slots, day states.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use rust_decimal::Decimal;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool};
use tickete_core::pricing::{lowest_prices, DatePrice};
use tickete_core::served::{slots_body, EncodedDay, ServedDates, ServedSlots};
use tickete_core::{
    ApplyOutcome, DayApply, DaySnapshot, DayState, PaxAvailability, Price, ProductId, Slot,
    StoreError,
};

use crate::error::{column, count, db, product_id};

/// Rejects a snapshot that cannot be stored faithfully (validated snapshots always pass).
fn check_snapshot(snapshot: &DaySnapshot) -> Result<(), StoreError> {
    let mut ids = HashSet::new();
    for slot in &snapshot.slots {
        if slot.start_date != snapshot.date {
            return Err(StoreError::Conflict(format!(
                "slot {} is dated {}, not {}",
                slot.provider_slot_id, slot.start_date, snapshot.date
            )));
        }
        if !ids.insert(slot.provider_slot_id.as_str()) {
            return Err(StoreError::Conflict(format!(
                "slot id {} appears twice on {}",
                slot.provider_slot_id, snapshot.date
            )));
        }
        let mut types = HashSet::new();
        if let Some(pax) = slot
            .pax
            .iter()
            .find(|pax| !types.insert(pax.pax_type.as_str()))
        {
            return Err(StoreError::Conflict(format!(
                "pax type {} appears twice in slot {}",
                pax.pax_type, slot.provider_slot_id
            )));
        }
    }
    Ok(())
}

/// The snapshot as column arrays, bound once per statement and expanded with `UNNEST`.
#[derive(Default)]
struct Columns {
    slot_ids: Vec<String>,
    starts: Vec<NaiveTime>,
    ends: Vec<NaiveTime>,
    slot_remaining: Vec<i64>,
    slot_currency: Vec<String>,
    variants: Vec<i64>,
    pax_slot: Vec<String>,
    pax_type: Vec<String>,
    position: Vec<i32>,
    name: Vec<Option<String>>,
    description: Vec<Option<String>>,
    min: Vec<Option<i64>>,
    max: Vec<Option<i64>>,
    pax_remaining: Vec<i64>,
    primary: Vec<bool>,
    final_price: Vec<Decimal>,
    original_price: Vec<Decimal>,
    discount: Vec<Decimal>,
    pax_currency: Vec<String>,
}

impl Columns {
    fn of(snapshot: &DaySnapshot) -> Self {
        let mut c = Columns::default();
        for slot in &snapshot.slots {
            c.slot_ids.push(slot.provider_slot_id.clone());
            c.starts.push(slot.start_time);
            c.ends.push(slot.end_time);
            c.slot_remaining.push(i64::from(slot.remaining));
            c.slot_currency.push(slot.currency_code.clone());
            c.variants.push(slot.variant_id);
            for (position, pax) in slot.pax.iter().enumerate() {
                c.pax_slot.push(slot.provider_slot_id.clone());
                c.pax_type.push(pax.pax_type.clone());
                c.position.push(i32::try_from(position).unwrap_or(i32::MAX));
                c.name.push(pax.name.clone());
                c.description.push(pax.description.clone());
                c.min.push(pax.min.map(i64::from));
                c.max.push(pax.max.map(i64::from));
                c.pax_remaining.push(i64::from(pax.remaining));
                c.primary.push(pax.is_primary);
                c.final_price.push(pax.price.final_price);
                c.original_price.push(pax.price.original_price);
                c.discount.push(pax.price.discount);
                c.pax_currency.push(pax.price.currency_code.clone());
            }
        }
        c
    }
}

/// The whole of an unchanged apply: moves `synced_at` when the stored hash is the new one.
const TOUCH_UNCHANGED_DAY: &str = "
    UPDATE day_states SET synced_at = $3, last_error = NULL
    WHERE product_id = $1 AND day = $2 AND hash = $4";

#[tracing::instrument(skip_all, fields(product = %product, date = %snapshot.date))]
pub(crate) async fn apply_day(
    pool: &PgPool,
    product: ProductId,
    snapshot: &DaySnapshot,
    synced_at: DateTime<Utc>,
) -> Result<ApplyOutcome, StoreError> {
    check_snapshot(snapshot)?;
    let hash = snapshot.content_hash();
    // Most fetches find the day unchanged: one statement, no explicit transaction.
    let touched = sqlx::query(TOUCH_UNCHANGED_DAY)
        .bind(i64::from(product.get()))
        .bind(snapshot.date)
        .bind(synced_at)
        .bind(&hash)
        .execute(pool)
        .await
        .map_err(db("apply day"))?;
    if touched.rows_affected() > 0 {
        return Ok(ApplyOutcome::Unchanged);
    }
    let mut tx = pool.begin().await.map_err(db("apply day"))?;
    let outcome = apply_in(&mut tx, product, snapshot, &hash, synced_at, false).await?;
    tx.commit().await.map_err(db("apply day"))?;
    Ok(outcome)
}

/// Applies several days in one transaction; any failure rolls back all. Days are locked in
/// (product, date) order whatever the order given, so two batches never deadlock each other.
#[tracing::instrument(skip_all, fields(days = days.len()))]
pub(crate) async fn apply_days(
    pool: &PgPool,
    days: &[DayApply<'_>],
) -> Result<Vec<ApplyOutcome>, StoreError> {
    for apply in days {
        check_snapshot(apply.snapshot)?;
    }
    if days.is_empty() {
        return Ok(Vec::new());
    }
    let mut order: Vec<usize> = (0..days.len()).collect();
    // Stable: a day given twice is applied in the order given.
    order.sort_by_key(|&i| (days[i].product, days[i].snapshot.date));
    let mut outcomes = vec![ApplyOutcome::Unchanged; days.len()];
    let mut tx = pool.begin().await.map_err(db("apply days"))?;
    for i in order {
        let apply = &days[i];
        let hash = apply.snapshot.content_hash();
        outcomes[i] = apply_in(
            &mut tx,
            apply.product,
            apply.snapshot,
            &hash,
            apply.synced_at,
            true,
        )
        .await?;
    }
    tx.commit().await.map_err(db("apply days"))?;
    Ok(outcomes)
}

/// One day inside the caller's transaction. `touch_first` tries the unchanged case with one
/// statement before anything else (worth it when the caller has not just tried).
async fn apply_in(
    tx: &mut PgConnection,
    product: ProductId,
    snapshot: &DaySnapshot,
    hash: &str,
    synced_at: DateTime<Utc>,
    touch_first: bool,
) -> Result<ApplyOutcome, StoreError> {
    let (id, day) = (i64::from(product.get()), snapshot.date);
    let fail = || db("apply day");
    let touch = || {
        sqlx::query(TOUCH_UNCHANGED_DAY)
            .bind(id)
            .bind(day)
            .bind(synced_at)
            .bind(hash.to_owned())
    };
    if touch_first
        && touch()
            .execute(&mut *tx)
            .await
            .map_err(fail())?
            .rows_affected()
            > 0
    {
        return Ok(ApplyOutcome::Unchanged);
    }
    // KEY SHARE keeps the product from being deleted until this apply commits.
    let known: Option<i64> =
        sqlx::query_scalar("SELECT id FROM products WHERE id = $1 FOR KEY SHARE")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(fail())?;
    if known.is_none() {
        return Err(StoreError::NotFound(format!("product {product}")));
    }
    // The day-state row is the (product, date) lock: concurrent applies of the same day
    // queue here, later ones see the earlier one's committed hash.
    sqlx::query(
        "INSERT INTO day_states (product_id, day) VALUES ($1, $2)
         ON CONFLICT (product_id, day) DO NOTHING",
    )
    .bind(id)
    .bind(day)
    .execute(&mut *tx)
    .await
    .map_err(fail())?;
    let stored: Option<String> = sqlx::query_scalar(
        "SELECT hash FROM day_states WHERE product_id = $1 AND day = $2 FOR UPDATE",
    )
    .bind(id)
    .bind(day)
    .fetch_one(&mut *tx)
    .await
    .map_err(fail())?;
    if stored.as_deref() == Some(hash) {
        touch().execute(&mut *tx).await.map_err(fail())?;
        return Ok(ApplyOutcome::Unchanged);
    }
    let c = Columns::of(snapshot);
    sqlx::query(
        "DELETE FROM slots WHERE product_id = $1 AND day = $2
         AND NOT (provider_slot_id = ANY($3))",
    )
    .bind(id)
    .bind(day)
    .bind(&c.slot_ids)
    .execute(&mut *tx)
    .await
    .map_err(fail())?;
    sqlx::query(
        "INSERT INTO slots (product_id, day, provider_slot_id, start_time, end_time,
                            remaining, currency_code, variant_id)
         SELECT $1::int8, $2::date, u.* FROM UNNEST($3::text[], $4::time[], $5::time[], $6::int8[],
                                        $7::text[], $8::int8[]) AS u
         ON CONFLICT (product_id, day, provider_slot_id) DO UPDATE SET
             start_time = excluded.start_time,
             end_time = excluded.end_time,
             remaining = excluded.remaining,
             currency_code = excluded.currency_code,
             variant_id = excluded.variant_id",
    )
    .bind(id)
    .bind(day)
    .bind(&c.slot_ids)
    .bind(&c.starts)
    .bind(&c.ends)
    .bind(&c.slot_remaining)
    .bind(&c.slot_currency)
    .bind(&c.variants)
    .execute(&mut *tx)
    .await
    .map_err(fail())?;
    sqlx::query(
        "DELETE FROM pax USING slots AS s
         WHERE pax.slot_id = s.id AND s.product_id = $1 AND s.day = $2
           AND (s.provider_slot_id, pax.pax_type) NOT IN (
               SELECT * FROM UNNEST($3::text[], $4::text[]))",
    )
    .bind(id)
    .bind(day)
    .bind(&c.pax_slot)
    .bind(&c.pax_type)
    .execute(&mut *tx)
    .await
    .map_err(fail())?;
    sqlx::query(
        "INSERT INTO pax (slot_id, pax_type, position, name, description, min_count,
                          max_count, remaining, is_primary, final_price, original_price,
                          discount, currency_code)
         SELECT s.id, u.pax_type, u.position, u.name, u.description, u.min_count,
                u.max_count, u.remaining, u.is_primary, u.final_price, u.original_price,
                u.discount, u.currency_code
         FROM UNNEST($3::text[], $4::text[], $5::int4[], $6::text[], $7::text[],
                     $8::int8[], $9::int8[], $10::int8[], $11::bool[], $12::numeric[],
                     $13::numeric[], $14::numeric[], $15::text[])
              AS u(slot_key, pax_type, position, name, description, min_count, max_count,
                   remaining, is_primary, final_price, original_price, discount,
                   currency_code)
         JOIN slots AS s
           ON s.product_id = $1 AND s.day = $2 AND s.provider_slot_id = u.slot_key
         ON CONFLICT (slot_id, pax_type) DO UPDATE SET
             position = excluded.position,
             name = excluded.name,
             description = excluded.description,
             min_count = excluded.min_count,
             max_count = excluded.max_count,
             remaining = excluded.remaining,
             is_primary = excluded.is_primary,
             final_price = excluded.final_price,
             original_price = excluded.original_price,
             discount = excluded.discount,
             currency_code = excluded.currency_code",
    )
    .bind(id)
    .bind(day)
    .bind(&c.pax_slot)
    .bind(&c.pax_type)
    .bind(&c.position)
    .bind(&c.name)
    .bind(&c.description)
    .bind(&c.min)
    .bind(&c.max)
    .bind(&c.pax_remaining)
    .bind(&c.primary)
    .bind(&c.final_price)
    .bind(&c.original_price)
    .bind(&c.discount)
    .bind(&c.pax_currency)
    .execute(&mut *tx)
    .await
    .map_err(fail())?;
    let encoded = EncodedDay::of(&snapshot.slots);
    let open = encoded.summary.open_price.as_ref();
    sqlx::query(
        "UPDATE day_states SET synced_at = $3, hash = $4, last_error = NULL, served_hash = $4,
             body = $5, slot_count = $6, open_final_price = $7, open_original_price = $8,
             open_discount = $9, open_currency_code = $10
         WHERE product_id = $1 AND day = $2",
    )
    .bind(id)
    .bind(day)
    .bind(synced_at)
    .bind(hash)
    .bind(&encoded.body)
    .bind(i32::try_from(encoded.summary.slot_count).unwrap_or(i32::MAX))
    .bind(open.map(|p| p.final_price))
    .bind(open.map(|p| p.original_price))
    .bind(open.map(|p| p.discount))
    .bind(open.map(|p| p.currency_code.as_str()))
    .execute(&mut *tx)
    .await
    .map_err(fail())?;
    Ok(ApplyOutcome::Changed)
}

pub(crate) async fn record_day_error(
    pool: &PgPool,
    product: ProductId,
    date: NaiveDate,
    error: &str,
) -> Result<(), StoreError> {
    let written = sqlx::query(
        "INSERT INTO day_states (product_id, day, last_error)
         SELECT $1::int8, $2::date, $3::text WHERE EXISTS (SELECT 1 FROM products WHERE id = $1)
         ON CONFLICT (product_id, day) DO UPDATE SET last_error = excluded.last_error",
    )
    .bind(i64::from(product.get()))
    .bind(date)
    .bind(error)
    .execute(pool)
    .await
    .map_err(db("record day error"))?;
    if written.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("product {product}")));
    }
    Ok(())
}

const SLOT_COLUMNS: &str = "
    SELECT s.provider_slot_id, s.day, s.start_time, s.end_time, s.remaining, s.currency_code,
           s.variant_id, p.pax_type, p.name, p.description, p.min_count, p.max_count,
           p.remaining, p.is_primary, p.final_price, p.original_price, p.discount,
           p.currency_code
    FROM slots AS s LEFT JOIN pax AS p ON p.slot_id = s.id";

/// Slots of `[from, until)`; one statement, so it reads one committed state of every day.
pub(crate) async fn slots_between(
    pool: &PgPool,
    product: ProductId,
    from: NaiveDate,
    until: NaiveDate,
) -> Result<Vec<Slot>, StoreError> {
    let rows = sqlx::query(&format!(
        "{SLOT_COLUMNS}
         WHERE s.product_id = $1 AND s.day >= $2 AND s.day < $3
         ORDER BY s.day, s.start_time, s.provider_slot_id, p.position"
    ))
    .bind(i64::from(product.get()))
    .bind(from)
    .bind(until)
    .fetch_all(pool)
    .await
    .map_err(db("read slots"))?;
    assemble(&rows)
}

/// Slots of one date.
pub(crate) async fn slots(
    pool: &PgPool,
    product: ProductId,
    date: NaiveDate,
) -> Result<Vec<Slot>, StoreError> {
    let rows = sqlx::query(&format!(
        "{SLOT_COLUMNS}
         WHERE s.product_id = $1 AND s.day = $2
         ORDER BY s.start_time, s.provider_slot_id, p.position"
    ))
    .bind(i64::from(product.get()))
    .bind(date)
    .fetch_all(pool)
    .await
    .map_err(db("read slots"))?;
    assemble(&rows)
}

/// Folds joined (slot, pax) rows, already in order, into slots.
fn assemble(rows: &[PgRow]) -> Result<Vec<Slot>, StoreError> {
    let mut slots: Vec<Slot> = Vec::new();
    for row in rows {
        let provider_slot_id: String = column(row, 0)?;
        let start_date: NaiveDate = column(row, 1)?;
        let same = slots.last().is_some_and(|last| {
            last.provider_slot_id == provider_slot_id && last.start_date == start_date
        });
        if !same {
            slots.push(Slot {
                provider_slot_id,
                start_date,
                start_time: column(row, 2)?,
                end_time: column(row, 3)?,
                remaining: count(column(row, 4)?, "slot remaining")?,
                currency_code: column(row, 5)?,
                variant_id: column(row, 6)?,
                pax: Vec::new(),
            });
        }
        if let (Some(pax), Some(slot)) = (pax(row)?, slots.last_mut()) {
            slot.pax.push(pax);
        }
    }
    Ok(slots)
}

fn pax(row: &PgRow) -> Result<Option<PaxAvailability>, StoreError> {
    let Some(pax_type) = column::<Option<String>>(row, 7)? else {
        return Ok(None);
    };
    let optional = |index: usize, what: &str| -> Result<Option<u32>, StoreError> {
        column::<Option<i64>>(row, index)?
            .map(|value| count(value, what))
            .transpose()
    };
    Ok(Some(PaxAvailability {
        pax_type,
        name: column(row, 8)?,
        description: column(row, 9)?,
        min: optional(10, "pax min")?,
        max: optional(11, "pax max")?,
        remaining: count(column(row, 12)?, "pax remaining")?,
        is_primary: column(row, 13)?,
        price: {
            let mut price = Price {
                final_price: column(row, 14)?,
                original_price: column(row, 15)?,
                discount: column(row, 16)?,
                currency_code: column(row, 17)?,
            };
            // NUMERIC(12,2) pads `73` to `73.00`; snapshots store the canonical form.
            price.normalize();
            price
        },
    }))
}

/// The day-state columns a read of the served forms needs.
#[derive(sqlx::FromRow)]
struct ServedDayRow {
    day: Option<NaiveDate>,
    synced_at: Option<DateTime<Utc>>,
    hash: Option<String>,
    served_hash: Option<String>,
    body: Option<String>,
    open_final_price: Option<Decimal>,
    open_original_price: Option<Decimal>,
    open_discount: Option<Decimal>,
    open_currency_code: Option<String>,
}

impl ServedDayRow {
    /// Whether the served columns were written for the stored content (else the day was
    /// synced before they existed, or by an older replica, and is read from its slots).
    fn is_current(&self) -> bool {
        self.hash.is_none() || self.hash == self.served_hash
    }

    fn open_price(&self) -> Option<Price> {
        let (Some(final_price), Some(original), Some(discount), Some(currency)) = (
            self.open_final_price,
            self.open_original_price,
            self.open_discount,
            &self.open_currency_code,
        ) else {
            return None;
        };
        let mut price = Price {
            final_price,
            original_price: original,
            discount,
            currency_code: currency.clone(),
        };
        // NUMERIC(12,2) pads `73` to `73.00`; snapshots store the canonical form.
        price.normalize();
        Some(price)
    }
}

/// What a slots read needs: the body, not the dates summary.
const SERVED_SLOTS_COLUMNS: &str = "
    SELECT d.day, d.synced_at, d.hash, d.served_hash, d.body, NULL::numeric AS open_final_price,
           NULL::numeric AS open_original_price, NULL::numeric AS open_discount,
           NULL::text AS open_currency_code
    FROM products AS p";

/// What a dates read needs: the summary, not the bodies.
const SERVED_DATES_COLUMNS: &str = "
    SELECT d.day, d.synced_at, d.hash, d.served_hash, NULL::text AS body, d.open_final_price,
           d.open_original_price, d.open_discount, d.open_currency_code
    FROM products AS p";

/// The served slots of (product, date): one lookup of the product and its day state.
pub(crate) async fn served_slots(
    pool: &PgPool,
    product: ProductId,
    date: NaiveDate,
) -> Result<ServedSlots, StoreError> {
    let row: Option<ServedDayRow> = sqlx::query_as(&format!(
        "{SERVED_SLOTS_COLUMNS}
         LEFT JOIN day_states AS d ON d.product_id = p.id AND d.day = $2
         WHERE p.id = $1"
    ))
    .bind(i64::from(product.get()))
    .bind(date)
    .fetch_optional(pool)
    .await
    .map_err(db("read slots"))?;
    let row = row.ok_or_else(|| StoreError::NotFound(format!("product {product}")))?;
    let body = match (&row.hash, row.is_current(), row.body) {
        (None, _, _) => return Ok(ServedSlots::never_synced()),
        (Some(_), true, Some(body)) => body,
        _ => slots_body(&slots(pool, product, date).await?),
    };
    Ok(ServedSlots {
        body,
        synced_at: row.synced_at,
        hash: row.hash,
    })
}

/// The served dates of `[from, until)`: one range scan of the product's day states.
pub(crate) async fn served_dates(
    pool: &PgPool,
    product: ProductId,
    from: NaiveDate,
    until: NaiveDate,
) -> Result<ServedDates, StoreError> {
    let rows: Vec<ServedDayRow> = sqlx::query_as(&format!(
        "{SERVED_DATES_COLUMNS}
         LEFT JOIN day_states AS d ON d.product_id = p.id AND d.day >= $2 AND d.day < $3
         WHERE p.id = $1 ORDER BY d.day"
    ))
    .bind(i64::from(product.get()))
    .bind(from)
    .bind(until)
    .fetch_all(pool)
    .await
    .map_err(db("read dates"))?;
    if rows.is_empty() {
        return Err(StoreError::NotFound(format!("product {product}")));
    }
    let mut synced_at = None;
    let mut dates = Vec::new();
    let mut current = true;
    for row in &rows {
        let Some(date) = row.day else { continue };
        synced_at = synced_at.max(row.synced_at);
        current &= row.is_current();
        if let Some(price) = row.open_price() {
            dates.push(DatePrice { date, price });
        }
    }
    if !current {
        dates = lowest_prices(&slots_between(pool, product, from, until).await?);
    }
    Ok(ServedDates { dates, synced_at })
}

pub(crate) async fn day_states(
    pool: &PgPool,
    from: NaiveDate,
    until: NaiveDate,
) -> Result<Vec<DayState>, StoreError> {
    let rows = sqlx::query(
        "SELECT product_id, day, synced_at, hash, last_error FROM day_states
         WHERE day >= $1 AND day < $2 ORDER BY product_id, day",
    )
    .bind(from)
    .bind(until)
    .fetch_all(pool)
    .await
    .map_err(db("read day states"))?;
    rows.iter()
        .map(|row| {
            Ok(DayState {
                product: product_id(column(row, 0)?)?,
                date: column(row, 1)?,
                synced_at: column(row, 2)?,
                hash: column(row, 3)?,
                last_error: column(row, 4)?,
            })
        })
        .collect()
}

/// Deletes the slots (their pax cascade) and day states of dates before `date`, in one
/// transaction; returns the number of day states removed.
pub(crate) async fn prune_before(pool: &PgPool, date: NaiveDate) -> Result<u64, StoreError> {
    let mut tx = pool.begin().await.map_err(db("begin prune"))?;
    sqlx::query("DELETE FROM slots WHERE day < $1")
        .bind(date)
        .execute(&mut *tx)
        .await
        .map_err(db("prune slots"))?;
    let days = sqlx::query("DELETE FROM day_states WHERE day < $1")
        .bind(date)
        .execute(&mut *tx)
        .await
        .map_err(db("prune day states"))?;
    tx.commit().await.map_err(db("commit prune"))?;
    Ok(days.rows_affected())
}
