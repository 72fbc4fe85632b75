//! Synced inventory: applying a day, reading slots, day states.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Value};
use sqlx::sqlite::SqliteRow;
use sqlx::SqlitePool;
use tickete_core::{
    ApplyOutcome, DaySnapshot, DayState, PaxAvailability, Price, ProductId, Slot, StoreError,
};

use crate::codec::{
    column, count, day, instant, parse_day, parse_instant, parse_money, parse_time, product_id,
    time,
};
use crate::error::db;

/// The snapshot as one JSON parameter, so every statement of an apply is set-based.
fn payload(snapshot: &DaySnapshot) -> String {
    let slots: Vec<Value> = snapshot
        .slots
        .iter()
        .map(|slot| {
            let pax: Vec<Value> = slot
                .pax
                .iter()
                .map(|pax| {
                    json!({
                        "type": pax.pax_type,
                        "name": pax.name,
                        "description": pax.description,
                        "min": pax.min,
                        "max": pax.max,
                        "remaining": pax.remaining,
                        "primary": pax.is_primary,
                        "final": pax.price.final_price.to_string(),
                        "original": pax.price.original_price.to_string(),
                        "discount": pax.price.discount.to_string(),
                        "currency": pax.price.currency_code,
                    })
                })
                .collect();
            json!({
                "id": slot.provider_slot_id,
                "start": time(slot.start_time),
                "end": time(slot.end_time),
                "remaining": slot.remaining,
                "currency": slot.currency_code,
                "variant": slot.variant_id,
                "pax": pax,
            })
        })
        .collect();
    Value::Array(slots).to_string()
}

const DELETE_VANISHED_SLOTS: &str = "
    DELETE FROM slots
    WHERE product_id = ?1 AND day = ?2
      AND provider_slot_id NOT IN (SELECT s.value ->> '$.id' FROM json_each(?3) AS s)";

const UPSERT_SLOTS: &str = "
    INSERT INTO slots (product_id, day, provider_slot_id, start_time, end_time, remaining,
                       currency_code, variant_id)
    SELECT ?1, ?2, s.value ->> '$.id', s.value ->> '$.start', s.value ->> '$.end',
           s.value ->> '$.remaining', s.value ->> '$.currency', s.value ->> '$.variant'
    FROM json_each(?3) AS s
    WHERE true
    ON CONFLICT (product_id, day, provider_slot_id) DO UPDATE SET
        start_time = excluded.start_time,
        end_time = excluded.end_time,
        remaining = excluded.remaining,
        currency_code = excluded.currency_code,
        variant_id = excluded.variant_id";

const DELETE_VANISHED_PAX: &str = "
    DELETE FROM pax
    WHERE slot_id IN (SELECT id FROM slots WHERE product_id = ?1 AND day = ?2)
      AND (slot_id, pax_type) NOT IN (
          SELECT sl.id, p.value ->> '$.type'
          FROM json_each(?3) AS s
          CROSS JOIN json_each(s.value, '$.pax') AS p
          JOIN slots AS sl
            ON sl.product_id = ?1 AND sl.day = ?2 AND sl.provider_slot_id = s.value ->> '$.id')";

const UPSERT_PAX: &str = "
    INSERT INTO pax (slot_id, pax_type, position, name, description, min_count, max_count,
                     remaining, is_primary, final_price, original_price, discount, currency_code)
    SELECT sl.id, p.value ->> '$.type', p.key, p.value ->> '$.name',
           p.value ->> '$.description', p.value ->> '$.min', p.value ->> '$.max',
           p.value ->> '$.remaining', p.value ->> '$.primary', p.value ->> '$.final',
           p.value ->> '$.original', p.value ->> '$.discount', p.value ->> '$.currency'
    FROM json_each(?3) AS s
    CROSS JOIN json_each(s.value, '$.pax') AS p
    JOIN slots AS sl
      ON sl.product_id = ?1 AND sl.day = ?2 AND sl.provider_slot_id = s.value ->> '$.id'
    WHERE true
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
        currency_code = excluded.currency_code";

const UPSERT_DAY_STATE: &str = "
    INSERT INTO day_states (product_id, day, synced_at, hash, last_error)
    VALUES (?1, ?2, ?3, ?4, NULL)
    ON CONFLICT (product_id, day) DO UPDATE SET
        synced_at = excluded.synced_at, hash = excluded.hash, last_error = NULL";

/// Rejects a snapshot that cannot be stored faithfully (validated snapshots always pass).
pub(crate) fn check_snapshot(snapshot: &DaySnapshot) -> Result<(), StoreError> {
    let mut ids = std::collections::HashSet::new();
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
        let mut types = std::collections::HashSet::new();
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

#[tracing::instrument(skip_all, fields(product = %product, date = %snapshot.date))]
pub(crate) async fn apply_day(
    pool: &SqlitePool,
    product: ProductId,
    snapshot: &DaySnapshot,
    synced_at: DateTime<Utc>,
) -> Result<ApplyOutcome, StoreError> {
    check_snapshot(snapshot)?;
    let hash = snapshot.content_hash();
    let (id, date) = (i64::from(product.get()), day(snapshot.date));
    // IMMEDIATE takes the write lock up front: concurrent applies queue on the busy timeout
    // instead of failing when a read transaction would have to be upgraded.
    let mut tx = pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(db("apply day"))?;
    let known: Option<i64> = sqlx::query_scalar("SELECT id FROM products WHERE id = ?1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db("apply day"))?;
    if known.is_none() {
        return Err(StoreError::NotFound(format!("product {product}")));
    }
    let stored: Option<Option<String>> =
        sqlx::query_scalar("SELECT hash FROM day_states WHERE product_id = ?1 AND day = ?2")
            .bind(id)
            .bind(&date)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db("apply day"))?;
    let outcome = if stored.flatten().as_deref() == Some(hash.as_str()) {
        ApplyOutcome::Unchanged
    } else {
        let json = payload(snapshot);
        for statement in [
            DELETE_VANISHED_SLOTS,
            UPSERT_SLOTS,
            DELETE_VANISHED_PAX,
            UPSERT_PAX,
        ] {
            sqlx::query(statement)
                .bind(id)
                .bind(&date)
                .bind(&json)
                .execute(&mut *tx)
                .await
                .map_err(db("apply day"))?;
        }
        ApplyOutcome::Changed
    };
    sqlx::query(UPSERT_DAY_STATE)
        .bind(id)
        .bind(&date)
        .bind(instant(synced_at))
        .bind(&hash)
        .execute(&mut *tx)
        .await
        .map_err(db("apply day"))?;
    tx.commit().await.map_err(db("apply day"))?;
    Ok(outcome)
}

pub(crate) async fn record_day_error(
    pool: &SqlitePool,
    product: ProductId,
    date: NaiveDate,
    error: &str,
) -> Result<(), StoreError> {
    let written = sqlx::query(
        "INSERT INTO day_states (product_id, day, synced_at, hash, last_error)
         SELECT ?1, ?2, NULL, NULL, ?3 WHERE EXISTS (SELECT 1 FROM products WHERE id = ?1)
         ON CONFLICT (product_id, day) DO UPDATE SET last_error = excluded.last_error",
    )
    .bind(i64::from(product.get()))
    .bind(day(date))
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
    pool: &SqlitePool,
    product: ProductId,
    from: NaiveDate,
    until: NaiveDate,
) -> Result<Vec<Slot>, StoreError> {
    let rows = sqlx::query(&format!(
        "{SLOT_COLUMNS}
         WHERE s.product_id = ?1 AND s.day >= ?2 AND s.day < ?3
         ORDER BY s.day, s.start_time, s.provider_slot_id, p.position"
    ))
    .bind(i64::from(product.get()))
    .bind(day(from))
    .bind(day(until))
    .fetch_all(pool)
    .await
    .map_err(db("read slots"))?;
    assemble(&rows)
}

/// Slots of one date.
pub(crate) async fn slots(
    pool: &SqlitePool,
    product: ProductId,
    date: NaiveDate,
) -> Result<Vec<Slot>, StoreError> {
    let rows = sqlx::query(&format!(
        "{SLOT_COLUMNS}
         WHERE s.product_id = ?1 AND s.day = ?2
         ORDER BY s.start_time, s.provider_slot_id, p.position"
    ))
    .bind(i64::from(product.get()))
    .bind(day(date))
    .fetch_all(pool)
    .await
    .map_err(db("read slots"))?;
    assemble(&rows)
}

/// Folds joined (slot, pax) rows, already in order, into slots.
fn assemble(rows: &[SqliteRow]) -> Result<Vec<Slot>, StoreError> {
    let mut slots: Vec<Slot> = Vec::new();
    for row in rows {
        let provider_slot_id: String = column(row, 0)?;
        let start_date = parse_day(column(row, 1)?)?;
        let same = slots.last().is_some_and(|last| {
            last.provider_slot_id == provider_slot_id && last.start_date == start_date
        });
        if !same {
            slots.push(Slot {
                provider_slot_id,
                start_date,
                start_time: parse_time(column(row, 2)?)?,
                end_time: parse_time(column(row, 3)?)?,
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

fn pax(row: &SqliteRow) -> Result<Option<PaxAvailability>, StoreError> {
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
        is_primary: column::<i64>(row, 13)? != 0,
        price: Price {
            final_price: parse_money(column(row, 14)?)?,
            original_price: parse_money(column(row, 15)?)?,
            discount: parse_money(column(row, 16)?)?,
            currency_code: column(row, 17)?,
        },
    }))
}

pub(crate) async fn day_states(
    pool: &SqlitePool,
    from: NaiveDate,
    until: NaiveDate,
) -> Result<Vec<DayState>, StoreError> {
    let rows = sqlx::query(
        "SELECT product_id, day, synced_at, hash, last_error FROM day_states
         WHERE day >= ?1 AND day < ?2 ORDER BY product_id, day",
    )
    .bind(day(from))
    .bind(day(until))
    .fetch_all(pool)
    .await
    .map_err(db("read day states"))?;
    rows.iter()
        .map(|row| {
            Ok(DayState {
                product: product_id(column(row, 0)?)?,
                date: parse_day(column(row, 1)?)?,
                synced_at: column::<Option<i64>>(row, 2)?
                    .map(parse_instant)
                    .transpose()?,
                hash: column(row, 3)?,
                last_error: column(row, 4)?,
            })
        })
        .collect()
}

/// Deletes the slots (their pax cascade) and day states of dates before `date`, in one
/// transaction; returns the number of day states removed.
pub(crate) async fn prune_before(pool: &SqlitePool, date: NaiveDate) -> Result<u64, StoreError> {
    let mut tx = pool.begin().await.map_err(db("begin prune"))?;
    sqlx::query("DELETE FROM slots WHERE day < ?1")
        .bind(day(date))
        .execute(&mut *tx)
        .await
        .map_err(db("prune slots"))?;
    let days = sqlx::query("DELETE FROM day_states WHERE day < ?1")
        .bind(day(date))
        .execute(&mut *tx)
        .await
        .map_err(db("prune day states"))?;
    tx.commit().await.map_err(db("commit prune"))?;
    Ok(days.rows_affected())
}
