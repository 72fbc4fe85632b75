//! Synced inventory: applying a day, reading slots, day states.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Value};
use sqlx::sqlite::SqliteRow;
use sqlx::{SqliteConnection, SqlitePool};
use tickete_core::pricing::{lowest_prices, DatePrice};
use tickete_core::served::{slots_body, EncodedDay, ServedDates, ServedSlots};
use tickete_core::{
    ApplyOutcome, DayApply, DaySnapshot, DayState, PaxAvailability, Price, ProductId, Slot,
    StoreError,
};

use crate::codec::{
    column, count, day, instant, parse_day, parse_instant, parse_money, parse_time, product_id,
    time,
};
use crate::error::db;

/// The snapshot's slots (without pax) as one JSON parameter, so the slot statements of an
/// apply are set-based.
fn slots_payload(snapshot: &DaySnapshot) -> String {
    let slots: Vec<Value> = snapshot
        .slots
        .iter()
        .map(|slot| {
            json!({
                "id": slot.provider_slot_id,
                "start": time(slot.start_time),
                "end": time(slot.end_time),
                "remaining": slot.remaining,
                "currency": slot.currency_code,
                "variant": slot.variant_id,
            })
        })
        .collect();
    Value::Array(slots).to_string()
}

/// Every pax of the snapshot with the row id of its slot, as one JSON parameter: inserting
/// them needs no join back to `slots`, so the statement is linear in the size of the day.
fn pax_payload(
    snapshot: &DaySnapshot,
    slot_ids: &HashMap<String, i64>,
) -> Result<String, StoreError> {
    let mut rows = Vec::new();
    for slot in &snapshot.slots {
        let id = slot_ids.get(&slot.provider_slot_id).ok_or_else(|| {
            StoreError::Unavailable(format!("slot {} was not stored", slot.provider_slot_id))
        })?;
        for (position, pax) in slot.pax.iter().enumerate() {
            rows.push(json!({
                "slot": id,
                "position": position,
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
            }));
        }
    }
    Ok(Value::Array(rows).to_string())
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
        variant_id = excluded.variant_id
    RETURNING provider_slot_id, id";

/// The pax of the day's kept slots are replaced as a whole (those of vanished slots went with
/// them): pax have no identity beyond (slot, type), so this ends exactly where an upsert by
/// (slot, type) plus a delete of vanished types would, in two linear statements.
const DELETE_DAY_PAX: &str = "
    DELETE FROM pax WHERE slot_id IN (SELECT id FROM slots WHERE product_id = ?1 AND day = ?2)";

const INSERT_PAX: &str = "
    INSERT INTO pax (slot_id, pax_type, position, name, description, min_count, max_count,
                     remaining, is_primary, final_price, original_price, discount, currency_code)
    SELECT p.value ->> '$.slot', p.value ->> '$.type', p.value ->> '$.position',
           p.value ->> '$.name', p.value ->> '$.description', p.value ->> '$.min',
           p.value ->> '$.max', p.value ->> '$.remaining', p.value ->> '$.primary',
           p.value ->> '$.final', p.value ->> '$.original', p.value ->> '$.discount',
           p.value ->> '$.currency'
    FROM json_each(?1) AS p";

const UPSERT_DAY_STATE: &str = "
    INSERT INTO day_states (product_id, day, synced_at, hash, last_error, served_hash, body,
                            slot_count, open_final_price, open_original_price, open_discount,
                            open_currency_code)
    VALUES (?1, ?2, ?3, ?4, NULL, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
    ON CONFLICT (product_id, day) DO UPDATE SET
        synced_at = excluded.synced_at, hash = excluded.hash, last_error = NULL,
        served_hash = excluded.served_hash, body = excluded.body,
        slot_count = excluded.slot_count, open_final_price = excluded.open_final_price,
        open_original_price = excluded.open_original_price,
        open_discount = excluded.open_discount, open_currency_code = excluded.open_currency_code";

/// The whole of an unchanged apply: moves `synced_at` when the stored hash is the new one.
const TOUCH_UNCHANGED_DAY: &str = "
    UPDATE day_states SET synced_at = ?3, last_error = NULL
    WHERE product_id = ?1 AND day = ?2 AND hash = ?4";

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
    // Most fetches find the day unchanged: one statement, no explicit transaction.
    let touched = sqlx::query(TOUCH_UNCHANGED_DAY)
        .bind(id)
        .bind(&date)
        .bind(instant(synced_at))
        .bind(&hash)
        .execute(pool)
        .await
        .map_err(db("apply day"))?;
    if touched.rows_affected() > 0 {
        return Ok(ApplyOutcome::Unchanged);
    }
    // IMMEDIATE takes the write lock up front: concurrent applies queue on the busy timeout
    // instead of failing when a read transaction would have to be upgraded.
    let mut tx = pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(db("apply day"))?;
    let outcome = apply_in(&mut tx, product, snapshot, &hash, synced_at, false).await?;
    tx.commit().await.map_err(db("apply day"))?;
    Ok(outcome)
}

/// Applies several days in one `BEGIN IMMEDIATE` transaction; any failure rolls back all.
#[tracing::instrument(skip_all, fields(days = days.len()))]
pub(crate) async fn apply_days(
    pool: &SqlitePool,
    days: &[DayApply<'_>],
) -> Result<Vec<ApplyOutcome>, StoreError> {
    for apply in days {
        check_snapshot(apply.snapshot)?;
    }
    if days.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(db("apply days"))?;
    let mut outcomes = Vec::with_capacity(days.len());
    for apply in days {
        let hash = apply.snapshot.content_hash();
        outcomes.push(
            apply_in(
                &mut tx,
                apply.product,
                apply.snapshot,
                &hash,
                apply.synced_at,
                true,
            )
            .await?,
        );
    }
    tx.commit().await.map_err(db("apply days"))?;
    Ok(outcomes)
}

/// One day inside the caller's write transaction. `touch_first` tries the unchanged case
/// with one statement before anything else (worth it when the caller has not just tried).
async fn apply_in(
    tx: &mut SqliteConnection,
    product: ProductId,
    snapshot: &DaySnapshot,
    hash: &str,
    synced_at: DateTime<Utc>,
    touch_first: bool,
) -> Result<ApplyOutcome, StoreError> {
    let (id, date) = (i64::from(product.get()), day(snapshot.date));
    let fail = || db("apply day");
    let touch = || {
        sqlx::query(TOUCH_UNCHANGED_DAY)
            .bind(id)
            .bind(date.clone())
            .bind(instant(synced_at))
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
    let known: Option<(i64, Option<String>)> = sqlx::query_as(
        "SELECT p.id, d.hash FROM products AS p
         LEFT JOIN day_states AS d ON d.product_id = p.id AND d.day = ?2
         WHERE p.id = ?1",
    )
    .bind(id)
    .bind(&date)
    .fetch_optional(&mut *tx)
    .await
    .map_err(fail())?;
    match known {
        None => return Err(StoreError::NotFound(format!("product {product}"))),
        Some((_, Some(stored))) if stored == hash => {
            touch().execute(&mut *tx).await.map_err(fail())?;
            return Ok(ApplyOutcome::Unchanged);
        }
        Some(_) => {}
    }
    let slots = slots_payload(snapshot);
    sqlx::query(DELETE_VANISHED_SLOTS)
        .bind(id)
        .bind(&date)
        .bind(&slots)
        .execute(&mut *tx)
        .await
        .map_err(fail())?;
    let slot_ids: HashMap<String, i64> = sqlx::query_as(UPSERT_SLOTS)
        .bind(id)
        .bind(&date)
        .bind(&slots)
        .fetch_all(&mut *tx)
        .await
        .map_err(fail())?
        .into_iter()
        .collect();
    sqlx::query(DELETE_DAY_PAX)
        .bind(id)
        .bind(&date)
        .execute(&mut *tx)
        .await
        .map_err(fail())?;
    sqlx::query(INSERT_PAX)
        .bind(pax_payload(snapshot, &slot_ids)?)
        .execute(&mut *tx)
        .await
        .map_err(fail())?;
    let encoded = EncodedDay::of(&snapshot.slots);
    let open = encoded.summary.open_price.as_ref();
    sqlx::query(UPSERT_DAY_STATE)
        .bind(id)
        .bind(&date)
        .bind(instant(synced_at))
        .bind(hash)
        .bind(&encoded.body)
        .bind(i64::from(encoded.summary.slot_count))
        .bind(open.map(|p| p.final_price.to_string()))
        .bind(open.map(|p| p.original_price.to_string()))
        .bind(open.map(|p| p.discount.to_string()))
        .bind(open.map(|p| p.currency_code.as_str()))
        .execute(&mut *tx)
        .await
        .map_err(fail())?;
    Ok(ApplyOutcome::Changed)
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

/// The day-state columns a slots read needs.
#[derive(sqlx::FromRow)]
struct ServedDayRow {
    synced_at: Option<i64>,
    hash: Option<String>,
    served_hash: Option<String>,
    body: Option<String>,
}

impl ServedDayRow {
    /// Whether the served columns were written for the stored content (else the day was
    /// synced before they existed, or by an older release, and is read from its slots).
    fn is_current(&self) -> bool {
        self.hash.is_none() || self.hash == self.served_hash
    }
}

/// What a slots read needs: the body, not the dates summary.
const SERVED_SLOTS_COLUMNS: &str = "
    SELECT d.synced_at, d.hash, d.served_hash, d.body
    FROM products AS p";

/// The served slots of (product, date): one lookup of the product and its day state.
pub(crate) async fn served_slots(
    pool: &SqlitePool,
    product: ProductId,
    date: NaiveDate,
) -> Result<ServedSlots, StoreError> {
    let row: Option<ServedDayRow> = sqlx::query_as(&format!(
        "{SERVED_SLOTS_COLUMNS}
         LEFT JOIN day_states AS d ON d.product_id = p.id AND d.day = ?2
         WHERE p.id = ?1"
    ))
    .bind(i64::from(product.get()))
    .bind(day(date))
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
        synced_at: row.synced_at.map(parse_instant).transpose()?,
        hash: row.hash,
    })
}

/// The product's day states of a window folded into one row: the latest fetch, how many days
/// were synced without their served columns, and the bookable days' summaries as one text
/// (`day␟final␟original␟discount␟currency`, days separated by `␞`). One value instead of a row
/// per day keeps a dates read to a handful of values however long the window is.
#[derive(sqlx::FromRow)]
struct DatesRow {
    synced_at: Option<i64>,
    stale: i64,
    open: Option<String>,
}

const SERVED_DATES: &str = "
    SELECT MAX(d.synced_at) AS synced_at,
           COALESCE(SUM(d.hash IS NOT NULL AND d.hash IS NOT d.served_hash), 0) AS stale,
           group_concat(
               CASE WHEN d.open_final_price IS NOT NULL THEN
                   d.day || char(31) || d.open_final_price || char(31) || d.open_original_price
                   || char(31) || d.open_discount || char(31) || d.open_currency_code
               END,
               char(30)) AS open
    FROM products AS p
    LEFT JOIN day_states AS d ON d.product_id = p.id AND d.day >= ?2 AND d.day < ?3
    WHERE p.id = ?1
    GROUP BY p.id";

/// The served dates of `[from, until)`: one range scan of the product's day states.
pub(crate) async fn served_dates(
    pool: &SqlitePool,
    product: ProductId,
    from: NaiveDate,
    until: NaiveDate,
) -> Result<ServedDates, StoreError> {
    let row: Option<DatesRow> = sqlx::query_as(SERVED_DATES)
        .bind(i64::from(product.get()))
        .bind(day(from))
        .bind(day(until))
        .fetch_optional(pool)
        .await
        .map_err(db("read dates"))?;
    let row = row.ok_or_else(|| StoreError::NotFound(format!("product {product}")))?;
    let synced_at = row.synced_at.map(parse_instant).transpose()?;
    if row.stale > 0 {
        let slots = slots_between(pool, product, from, until).await?;
        return Ok(ServedDates {
            dates: lowest_prices(&slots),
            synced_at,
        });
    }
    let mut dates = Vec::new();
    for entry in row.open.as_deref().unwrap_or("").split('\u{1e}') {
        if entry.is_empty() {
            continue;
        }
        let mut fields = entry.splitn(5, '\u{1f}');
        let mut next = || {
            fields
                .next()
                .ok_or_else(|| crate::error::corrupt(format!("dates summary `{entry}`")))
        };
        let date = parse_day(next()?)?;
        let price = Price {
            final_price: parse_money(next()?)?,
            original_price: parse_money(next()?)?,
            discount: parse_money(next()?)?,
            currency_code: next()?.to_owned(),
        };
        dates.push(DatePrice { date, price });
    }
    // group_concat keeps no order.
    dates.sort_by_key(|entry| entry.date);
    Ok(ServedDates { dates, synced_at })
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
