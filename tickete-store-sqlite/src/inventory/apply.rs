//! Applying a day: the set-based statements of one (product, date) inside a write
//! transaction.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sqlx::SqliteConnection;
use tickete_core::served::EncodedDay;
use tickete_core::{ApplyOutcome, DaySnapshot, ProductId, StoreError};

use crate::codec::{day, instant, time};
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
    WHERE product_id = $1 AND day = $2
      AND provider_slot_id NOT IN (SELECT s.value ->> '$.id' FROM json_each($3) AS s)";

const UPSERT_SLOTS: &str = "
    INSERT INTO slots (product_id, day, provider_slot_id, start_time, end_time, remaining,
                       currency_code, variant_id)
    SELECT $1, $2, s.value ->> '$.id', s.value ->> '$.start', s.value ->> '$.end',
           s.value ->> '$.remaining', s.value ->> '$.currency', s.value ->> '$.variant'
    FROM json_each($3) AS s
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
    DELETE FROM pax WHERE slot_id IN (SELECT id FROM slots WHERE product_id = $1 AND day = $2)";

const INSERT_PAX: &str = "
    INSERT INTO pax (slot_id, pax_type, position, name, description, min_count, max_count,
                     remaining, is_primary, final_price, original_price, discount, currency_code)
    SELECT p.value ->> '$.slot', p.value ->> '$.type', p.value ->> '$.position',
           p.value ->> '$.name', p.value ->> '$.description', p.value ->> '$.min',
           p.value ->> '$.max', p.value ->> '$.remaining', p.value ->> '$.primary',
           p.value ->> '$.final', p.value ->> '$.original', p.value ->> '$.discount',
           p.value ->> '$.currency'
    FROM json_each($1) AS p";

/// The row's id is its key ([`super::day_key`]), computed from the same parameters.
const UPSERT_DAY_STATE: &str = concat!(
    "
    INSERT INTO day_states (id, product_id, day, synced_at, hash, last_error, served_hash, body,
                            slot_count, open_final_price, open_original_price, open_discount,
                            open_currency_code)
    VALUES (",
    super::day_key_sql!(),
    ", $1, $2, $3, $4, NULL, $4, $5, $6, $7, $8, $9, $10)
    ON CONFLICT (product_id, day) DO UPDATE SET
        synced_at = excluded.synced_at, hash = excluded.hash, last_error = NULL,
        served_hash = excluded.served_hash, body = excluded.body,
        slot_count = excluded.slot_count, open_final_price = excluded.open_final_price,
        open_original_price = excluded.open_original_price,
        open_discount = excluded.open_discount, open_currency_code = excluded.open_currency_code"
);

impl crate::SqliteStore {
    /// One day's rows inside the caller's write transaction, once the unchanged case was tried.
    pub(crate) async fn apply_in(
        tx: &mut SqliteConnection,
        product: ProductId,
        snapshot: &DaySnapshot,
        hash: &str,
        synced_at: DateTime<Utc>,
    ) -> Result<ApplyOutcome, StoreError> {
        let (id, date) = (i64::from(product.get()), day(snapshot.date));
        let fail = || db("apply day");
        let known: Option<(i64, Option<String>)> = sqlx::query_as(
            "SELECT p.id, d.hash FROM products AS p
             LEFT JOIN day_states AS d ON d.product_id = p.id AND d.day = $2
             WHERE p.id = $1",
        )
        .bind(id)
        .bind(&date)
        .fetch_optional(&mut *tx)
        .await
        .map_err(fail())?;
        match known {
            None => return Err(StoreError::NotFound(format!("product {product}"))),
            Some((_, Some(stored))) if stored == hash => {
                Self::touch_unchanged_day(tx, product, snapshot.date, synced_at, hash).await?;
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
        crate::SqliteStore::record_change(tx, product, snapshot, &encoded, synced_at).await?;
        Ok(ApplyOutcome::Changed)
    }
}
