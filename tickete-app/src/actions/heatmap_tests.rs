//! The heatmap on hand-made day states: each cell graded against its date's target.

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use tickete_core::clock::TokioClock;
use tickete_core::store::prelude::*;
use tickete_core::testing::{FakeSource, MemoryStore};
use tickete_core::{DaySnapshot, Engine, Product, ProductId, SyncJob};

use super::Actions;
use crate::error::ActionError;
use crate::heatmap::CellGrade;

fn id(n: u32) -> ProductId {
    ProductId::new(n).unwrap()
}

#[tokio::test]
async fn cells_are_graded_against_the_target_of_their_date() {
    let now = Utc.with_ymd_and_hms(2026, 3, 10, 9, 7, 0).unwrap();
    let today = now.date_naive();
    let store = Arc::new(MemoryStore::new());
    for job in SyncJob::defaults() {
        store.insert_job_if_missing(&job).await.unwrap();
    }
    for (n, enabled) in [(1, true), (2, false)] {
        let product = Product {
            id: id(n),
            name: format!("P{n}"),
            enabled,
        };
        store.upsert_product(&product).await.unwrap();
    }
    let day = |offset: u64| today + chrono::Days::new(offset);
    let apply = |product: u32, offset: u64, age: Duration| {
        let store = store.clone();
        async move {
            store
                .apply_day(
                    id(product),
                    &DaySnapshot::new(day(offset), vec![]),
                    now - age,
                )
                .await
                .unwrap();
        }
    };
    apply(1, 0, Duration::minutes(10)).await; // today: target 15 min
    apply(1, 1, Duration::hours(5)).await; // this week: target 4 h
    apply(2, 0, Duration::minutes(40)).await; // over twice 15 min
    apply(2, 40, Duration::hours(1)).await; // beyond every window
    store
        .record_day_error(id(1), day(3), "partner answered 503")
        .await
        .unwrap();

    let engine = Engine::builder(store, Arc::new(FakeSource::new()))
        .clock(Arc::new(TokioClock::starting_at(now)))
        .build()
        .await
        .unwrap();
    let actions = Actions::new(engine, None);
    let map = actions.heatmap(62).await.unwrap();
    assert_eq!(map.dates.len(), 62);
    assert_eq!(map.today, today);
    assert_eq!(map.targets[0], Some(15 * 60));
    assert_eq!(map.targets[1], Some(4 * 3600));
    assert_eq!(map.targets[29], Some(24 * 3600));
    assert_eq!(map.targets[30], None);
    let [one, two] = &map.products[..] else {
        panic!("two rows");
    };
    assert_eq!((one.id, one.enabled, two.enabled), (1, true, false));
    assert_eq!(one.ages[0], Some(600));
    assert_eq!(one.grades[0], CellGrade::Fresh);
    assert_eq!(one.grades[1], CellGrade::Late);
    assert_eq!(one.grades[2], CellGrade::Never);
    assert_eq!(one.failing, 1);
    assert_eq!(two.grades[0], CellGrade::Stale);
    assert_eq!(two.grades[40], CellGrade::NoTarget);
    // never, no-target, fresh, late, stale over 124 cells
    assert_eq!(map.totals, [120, 1, 1, 1, 1]);

    let cell = actions.heatmap_cell(id(1), day(3)).await.unwrap();
    assert_eq!(cell.grade, CellGrade::Never);
    assert_eq!(cell.last_error.as_deref(), Some("partner answered 503"));
    assert_eq!(cell.target_seconds, Some(4 * 3600));
    let cell = actions.heatmap_cell(id(2), day(0)).await.unwrap();
    assert_eq!(cell.age_seconds, Some(2400));
    assert_eq!(cell.grade, CellGrade::Stale);
    assert_eq!((cell.slots, cell.open_slots), (0, 0));

    assert!(
        matches!(actions.heatmap(0).await, Err(ActionError::Invalid(m)) if m.contains("1 to 62"))
    );
    assert!(actions.heatmap_cell(id(9), today).await.is_err());
}
