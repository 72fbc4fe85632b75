//! Days whose served columns are missing or out of date (synced before the migration that
//! added them, or by an older release or replica) are served from their slots until their
//! next change. Only SQL stores can be put in that state, so these helpers take a way to run
//! SQL on the store's own tables.

use chrono::{NaiveDate, Utc};

use super::served::{expected_dates, expected_slots};
use crate::domain::{Product, ProductId};
use crate::store::InventoryStore;
use crate::testing::sample_day;

/// Asserts that what `store` serves for `product` on every date of `[from, until)` equals what
/// its slots give: for store tests that tamper with the served columns underneath (days synced
/// before they existed, or by an older release).
pub async fn assert_served_forms_match_the_slots(
    store: &dyn InventoryStore,
    product: crate::domain::ProductId,
    from: NaiveDate,
    until: NaiveDate,
) {
    let mut day = from;
    while day < until {
        assert_eq!(
            store
                .served_slots(product, day)
                .await
                .expect("served slots"),
            expected_slots(store, product, day).await,
            "served slots of {day}"
        );
        day = day.succ_opt().expect("successor");
    }
    assert_eq!(
        store
            .served_dates(product, from, until)
            .await
            .expect("served dates"),
        expected_dates(store, product, from, until).await,
        "served dates"
    );
}

/// The case for SQL stores: `execute` runs one statement on the store's tables (the same SQL
/// runs on SQLite and Postgres) and answers the rows it affected.
pub async fn days_without_current_served_columns_are_read_from_their_slots(
    store: &dyn InventoryStore,
    execute: impl AsyncFn(&str) -> u64,
) {
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
    // As a day synced before the migration: no served columns.
    execute(
        "UPDATE day_states SET served_hash = NULL, body = NULL, slot_count = NULL,
             open_final_price = NULL, open_original_price = NULL, open_discount = NULL,
             open_currency_code = NULL
         WHERE day = '2025-03-24'",
    )
    .await;
    // As a day an older release rewrote: its columns describe older content.
    execute("UPDATE day_states SET hash = 'older' WHERE day = '2025-03-25'").await;
    execute("UPDATE slots SET remaining = 0 WHERE day = '2025-03-25'").await;
    assert_served_forms_match_the_slots(store, product, day(23), day(28)).await;
    let dates = store
        .served_dates(product, day(23), day(28))
        .await
        .expect("dates");
    assert_eq!(dates.dates.len(), 1, "the sold-out day is not bookable");

    // The next change writes them again.
    store
        .apply_day(product, &sample_day(day(24), &["08:00"]), Utc::now())
        .await
        .expect("change");
    let current = execute(
        "UPDATE day_states SET served_hash = served_hash
         WHERE day = '2025-03-24' AND served_hash = hash",
    )
    .await;
    assert_eq!(current, 1, "the change wrote the served columns again");
    assert_served_forms_match_the_slots(store, product, day(23), day(28)).await;
}
