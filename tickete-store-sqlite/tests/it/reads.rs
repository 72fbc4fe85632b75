//! The public reads run on connections of their own (issue 16): reads at once, or dropped
//! before they were awaited to the end, leave them working, and a closed store refuses them.

use chrono::{NaiveDate, Utc};
use tickete_core::served::slots_body;
use tickete_core::store::prelude::*;
use tickete_core::testing::sample_day;
use tickete_core::{Product, ProductId, StoreError};
use tickete_store_sqlite::SqliteStore;

async fn store_with_a_day() -> (tempfile::TempDir, SqliteStore, ProductId, NaiveDate) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("tickete.db").display());
    let store = SqliteStore::open(&url).await.expect("open");
    let id = ProductId::new(14).expect("id");
    store
        .upsert_product(&Product {
            id,
            name: "Fourteen".into(),
            enabled: true,
        })
        .await
        .expect("product");
    let date = NaiveDate::from_ymd_opt(2025, 3, 1).expect("date");
    store
        .apply_day(id, &sample_day(date, &["09:00", "11:00"]), Utc::now())
        .await
        .expect("apply");
    (dir, store, id, date)
}

#[tokio::test]
async fn concurrent_and_dropped_reads_leave_working_connections() {
    let (_dir, store, id, date) = store_with_a_day().await;
    // Two reads at once.
    let (a, b) = tokio::join!(store.served_slots(id, date), store.served_slots(id, date));
    assert_eq!(a.expect("first").body, b.expect("second").body);
    // Reads polled at most once and dropped, more of them than connections are kept.
    for _ in 0..8 {
        let slots = store.served_slots(id, date);
        let dates = store.served_dates(id, date, date.succ_opt().expect("next"));
        tokio::select! {
            biased;
            _ = slots => {}
            _ = dates => {}
            () = std::future::ready(()) => {}
        }
    }
    let served = store.served_slots(id, date).await.expect("read after");
    assert_eq!(
        served.body,
        slots_body(&store.slots(id, date).await.expect("slots"))
    );
    let dates = store
        .served_dates(id, date, date.succ_opt().expect("next"))
        .await
        .expect("dates after");
    assert_eq!(dates.dates.len(), 1);
}

#[tokio::test]
async fn a_closed_store_refuses_public_reads() {
    let (_dir, store, id, date) = store_with_a_day().await;
    store.served_slots(id, date).await.expect("read while open");
    store.close().await;
    for result in [
        store.served_slots(id, date).await.map(|_| ()),
        store.served_dates(id, date, date).await.map(|_| ()),
    ] {
        assert!(
            matches!(result, Err(StoreError::Unavailable(_))),
            "expected Unavailable, got {result:?}"
        );
    }
}
