//! Contract cases: concurrent writers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::Days;

use super::inventory::rich_day;
use super::support::{at, date, family_slot, price, product, sorted_states, state_of};
use crate::domain::DaySnapshot;
use crate::store::InventoryStore;

/// Concurrent applies of one (product, date) serialize: readers and the final state always
/// see exactly one snapshot, never a mix.
pub async fn concurrent_applies_of_one_day_never_mix(store: Arc<dyn InventoryStore>) {
    let p = product(&*store, 14).await;
    let day = date("2025-03-25");
    let t = at("2025-03-25T01:00:00Z");
    let snapshots: Arc<Vec<DaySnapshot>> = Arc::new(
        (0..6u32)
            .map(|version| {
                let slots = (0..=version)
                    .map(|n| {
                        let mut slot = family_slot(day, &format!("{:02}:00", 8 + n), "100.00");
                        // Every version shares slot ids but differs in content.
                        slot.remaining = version;
                        slot.pax[1].price = price(&format!("{}.{:02}", 100 + version, n), "300.00");
                        slot
                    })
                    .collect();
                DaySnapshot::new(day, slots)
            })
            .collect(),
    );

    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (store, snapshots, done) = (store.clone(), snapshots.clone(), done.clone());
            tokio::spawn(async move {
                let mut reads = 0u32;
                while !done.load(Ordering::Relaxed) || reads == 0 {
                    let seen = store.slots(p, day).await.expect("read during applies");
                    assert!(
                        seen.is_empty() || snapshots.iter().any(|s| s.slots == seen),
                        "a reader saw a mix of snapshots: {seen:?}"
                    );
                    reads += 1;
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    let writers: Vec<_> = (0..snapshots.len())
        .map(|version| {
            let (store, snapshots) = (store.clone(), snapshots.clone());
            tokio::spawn(async move {
                for _ in 0..4 {
                    store
                        .apply_day(p, &snapshots[version], t)
                        .await
                        .expect("concurrent apply");
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("writer");
    }
    done.store(true, Ordering::Relaxed);
    for reader in readers {
        reader.await.expect("reader");
    }

    let last = store.slots(p, day).await.expect("final slots");
    let winner = snapshots
        .iter()
        .find(|s| s.slots == last)
        .unwrap_or_else(|| panic!("final state is not one of the snapshots: {last:?}"));
    assert_eq!(
        state_of(&*store, p, day).await.hash,
        Some(winner.content_hash()),
        "the day state's hash belongs to the stored snapshot"
    );
}

/// Concurrent applies of different dates all land.
pub async fn concurrent_applies_of_different_days_all_land(store: Arc<dyn InventoryStore>) {
    let p = product(&*store, 14).await;
    let first = date("2025-03-24");
    let t = at("2025-03-24T01:00:00Z");
    let tasks: Vec<_> = (0..8u64)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let day = first + Days::new(n);
                let snapshot = rich_day(day);
                store.apply_day(p, &snapshot, t).await.expect("apply");
                snapshot
            })
        })
        .collect();
    for task in tasks {
        let snapshot = task.await.expect("task");
        assert_eq!(
            store.slots(p, snapshot.date).await.expect("slots"),
            snapshot.slots
        );
    }
    assert_eq!(
        sorted_states(&*store, first, first + Days::new(8))
            .await
            .len(),
        8
    );
}
