//! Contract cases: pruning days that are past.

use std::sync::Arc;

use super::support::{at, date, product};
use crate::store::InventoryStore;
use crate::testing::sample_day;

/// `prune_before` removes the inventory and sync state of earlier days, and only those; the
/// derived product facts then describe what is left.
pub async fn prune_before_removes_only_earlier_days(store: Arc<dyn InventoryStore>) {
    let p = product(&*store, 14).await;
    let t = at("2025-03-25T01:00:00Z");
    // A Monday with two slots (MULTI), then a Wednesday and a Thursday with one each.
    for (day, starts) in [
        ("2025-03-24", &["09:00", "10:00"][..]),
        ("2025-03-26", &["09:00"][..]),
        ("2025-03-27", &["09:00"][..]),
    ] {
        store
            .apply_day(p, &sample_day(date(day), starts), t)
            .await
            .unwrap();
    }
    let pruned = store.prune_before(date("2025-03-26")).await.unwrap();
    assert_eq!(pruned, 1, "one past day");
    assert!(store.slots(p, date("2025-03-24")).await.unwrap().is_empty());
    assert_eq!(store.slots(p, date("2025-03-26")).await.unwrap().len(), 1);
    assert_eq!(store.slots(p, date("2025-03-27")).await.unwrap().len(), 1);
    let states = store
        .day_states(date("2025-03-01"), date("2025-04-01"))
        .await
        .unwrap();
    let days: Vec<_> = states.iter().map(|s| s.date.to_string()).collect();
    assert_eq!(days, ["2025-03-26", "2025-03-27"]);
    let view = store.get_product(p).await.unwrap();
    assert_eq!(
        view.available_days,
        [chrono::Weekday::Wed, chrono::Weekday::Thu]
    );
    assert_eq!(view.time_slot_type, crate::domain::TimeSlotType::Single);
    assert_eq!(store.prune_before(date("2025-03-26")).await.unwrap(), 0);
}
