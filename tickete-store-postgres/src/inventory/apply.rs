//! Applying a day: set-based statements over `UNNEST`ed column arrays of one (product, date)
//! inside the caller's transaction.

use chrono::{DateTime, NaiveTime, Utc};
use rust_decimal::Decimal;
use sqlx::PgConnection;
use tickete_core::served::EncodedDay;
use tickete_core::{ApplyOutcome, DaySnapshot, ProductId, StoreError};

use crate::error::db;

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

impl crate::PostgresStore {
    /// One day's rows inside the caller's transaction, once the unchanged case was tried.
    pub(crate) async fn apply_in(
        tx: &mut PgConnection,
        product: ProductId,
        snapshot: &DaySnapshot,
        hash: &str,
        synced_at: DateTime<Utc>,
    ) -> Result<ApplyOutcome, StoreError> {
        let (id, day) = (i64::from(product.get()), snapshot.date);
        let fail = || db("apply day");
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
            Self::touch_unchanged_day(tx, product, snapshot.date, synced_at, hash).await?;
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
        crate::PostgresStore::record_change(tx, product, snapshot, &encoded, synced_at).await?;
        Ok(ApplyOutcome::Changed)
    }
}
