//! The public reads run on connections of their own: reads at once, or dropped
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

/// The public reads share read transactions (snapshots) between writes: every write of the
/// served tables, by this store or another on the same file, is seen by the next read.
#[tokio::test]
async fn a_store_on_the_same_file_reads_every_write_at_once() {
    let (dir, writer, id, date) = store_with_a_day().await;
    let url = format!("sqlite://{}", dir.path().join("tickete.db").display());
    let reader = SqliteStore::open(&url).await.expect("second store");
    let next = date.succ_opt().expect("next");
    let before = reader.served_slots(id, date).await.expect("read");

    let three = sample_day(date, &["09:00", "11:00", "13:00"]);
    writer
        .apply_day(id, &three, Utc::now())
        .await
        .expect("changed day");
    let changed = reader.served_slots(id, date).await.expect("read");
    assert_ne!(changed.body, before.body, "a changed day is read at once");
    assert_eq!(changed.body, slots_body(&three.slots));

    let later = Utc::now() + chrono::Duration::hours(1);
    writer
        .apply_day(id, &three, later)
        .await
        .expect("unchanged day");
    let touched = reader.served_slots(id, date).await.expect("read");
    assert_eq!(
        touched.synced_at.map(|at| at.timestamp()),
        Some(later.timestamp()),
        "the fetch time of an unchanged day is read at once"
    );
    assert_eq!(
        reader
            .served_dates(id, date, next)
            .await
            .expect("dates")
            .synced_at
            .map(|at| at.timestamp()),
        Some(later.timestamp())
    );

    writer.delete_product(id).await.expect("delete");
    let gone = reader.served_slots(id, date).await;
    assert!(matches!(gone, Err(StoreError::NotFound(_))), "{gone:?}");
    let gone = reader.served_dates(id, date, next).await;
    assert!(matches!(gone, Err(StoreError::NotFound(_))), "{gone:?}");
}
