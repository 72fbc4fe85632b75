//! Days whose served columns are missing or out of date (synced before the migration that
//! added them, or by an older replica) are served from their slots until their next change.

use chrono::{NaiveDate, Utc};
use tickete_core::store::prelude::*;
use tickete_core::testing::contract::assert_served_forms_match_the_slots;
use tickete_core::testing::sample_day;
use tickete_core::{Product, ProductId};

use crate::harness::TestDatabase;

#[tokio::test]
async fn days_without_current_served_columns_are_read_from_their_slots() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let store = database.store();
    let product = ProductId::new(14).expect("id");
    store
        .upsert_product(&Product {
            id: product,
            name: "Gardens".into(),
            enabled: true,
        })
        .await
        .expect("product");
    let day = |d| NaiveDate::from_ymd_opt(2025, 3, d).expect("date");
    for (d, starts) in [
        (24, &["09:00", "10:00"][..]),
        (25, &["11:00"][..]),
        (26, &[][..]),
    ] {
        store
            .apply_day(product, &sample_day(day(d), starts), Utc::now())
            .await
            .expect("apply");
    }
    sqlx::query(
        "UPDATE day_states SET served_hash = NULL, body = NULL, slot_count = NULL,
             open_final_price = NULL, open_original_price = NULL, open_discount = NULL,
             open_currency_code = NULL
         WHERE day = '2025-03-24'",
    )
    .execute(store.pool())
    .await
    .expect("clear");
    sqlx::query("UPDATE day_states SET hash = 'older' WHERE day = '2025-03-25'")
        .execute(store.pool())
        .await
        .expect("stale");
    sqlx::query("UPDATE slots SET remaining = 0 WHERE day = '2025-03-25'")
        .execute(store.pool())
        .await
        .expect("sold out underneath");
    assert_served_forms_match_the_slots(store, product, day(23), day(28)).await;
    let dates = store
        .served_dates(product, day(23), day(28))
        .await
        .expect("dates");
    assert_eq!(dates.dates.len(), 1, "the sold-out day is not bookable");

    store
        .apply_day(product, &sample_day(day(24), &["08:00"]), Utc::now())
        .await
        .expect("change");
    let current: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM day_states WHERE day = '2025-03-24' AND served_hash = hash",
    )
    .fetch_one(store.pool())
    .await
    .expect("count");
    assert_eq!(current, 1);
    assert_served_forms_match_the_slots(store, product, day(23), day(28)).await;
    database.drop_database().await;
}
