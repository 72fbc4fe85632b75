//! Contract cases for applying synced days: atomic replacement, hashes, exact round trips.

use std::sync::Arc;

use chrono::NaiveDate;

use super::support::{
    assert_not_found, at, date, family_slot, id, money, pax, price, product, slot, sorted_states,
    state_of,
};
use crate::domain::{DaySnapshot, DayState, PaxAvailability, Slot};
use crate::store::{ApplyOutcome, InventoryStore};
use crate::testing::sample_day;

/// A day as the partner sends it: slots with several pax, some optional fields missing.
pub(super) fn rich_day(day: NaiveDate) -> DaySnapshot {
    let mut bare = slot(
        day,
        "16:30",
        "bare",
        vec![PaxAvailability {
            pax_type: "GUEST".into(),
            name: None,
            description: None,
            min: None,
            max: None,
            remaining: 0,
            is_primary: false,
            price: price("0", "0"),
        }],
    );
    bare.remaining = 0;
    bare.end_time = bare.start_time + chrono::Duration::minutes(90);
    bare.variant_id = -3;
    DaySnapshot::new(
        day,
        vec![
            family_slot(day, "09:00", "212.14"),
            family_slot(day, "11:00", "199.00"),
            bare,
        ],
    )
}

/// A day read back equals what was applied, and its day state records time and hash.
pub async fn apply_day_round_trips_slots_and_pax(store: Arc<dyn InventoryStore>) {
    let p = product(&*store, 14).await;
    let day = date("2025-03-25");
    let snapshot = rich_day(day);
    let synced_at = at("2025-03-25T04:05:06.123456Z");
    let outcome = store
        .apply_day(p, &snapshot, synced_at)
        .await
        .expect("apply");
    assert_eq!(outcome, ApplyOutcome::Changed);
    assert_eq!(store.slots(p, day).await.expect("slots"), snapshot.slots);
    assert_eq!(
        state_of(&*store, p, day).await,
        DayState {
            product: p,
            date: day,
            synced_at: Some(synced_at),
            hash: Some(snapshot.content_hash()),
            last_error: None,
        }
    );
}

/// Applying a day of an unknown product is `NotFound` and writes nothing.
pub async fn apply_day_for_unknown_product_is_not_found(store: Arc<dyn InventoryStore>) {
    product(&*store, 14).await;
    let day = date("2025-03-25");
    assert_not_found(
        store
            .apply_day(id(15), &rich_day(day), at("2025-03-25T00:00:00Z"))
            .await,
        "apply_day for product 15",
    );
    assert_not_found(
        store.record_day_error(id(15), day, "boom").await,
        "record_day_error for product 15",
    );
    assert!(store.slots(id(15), day).await.expect("slots").is_empty());
    assert!(sorted_states(&*store, day, date("2025-03-26"))
        .await
        .is_empty());
}

/// Slots missing from a later snapshot of the same date are deleted; kept ones are updated.
pub async fn apply_day_deletes_vanished_slots(store: Arc<dyn InventoryStore>) {
    let p = product(&*store, 14).await;
    let day = date("2025-03-25");
    let first = DaySnapshot::new(
        day,
        vec![
            family_slot(day, "09:00", "50.00"),
            family_slot(day, "11:00", "50.00"),
            family_slot(day, "13:00", "50.00"),
        ],
    );
    store
        .apply_day(p, &first, at("2025-03-25T01:00:00Z"))
        .await
        .expect("first");

    let mut kept = family_slot(day, "11:00", "45.50");
    kept.remaining = 3;
    kept.pax[0].remaining = 1;
    let second = DaySnapshot::new(day, vec![kept, family_slot(day, "15:00", "60.00")]);
    let outcome = store
        .apply_day(p, &second, at("2025-03-25T02:00:00Z"))
        .await
        .expect("second");
    assert_eq!(outcome, ApplyOutcome::Changed);
    assert_eq!(store.slots(p, day).await.expect("slots"), second.slots);

    let empty = DaySnapshot::new(day, Vec::new());
    let outcome = store
        .apply_day(p, &empty, at("2025-03-25T03:00:00Z"))
        .await
        .expect("empty");
    assert_eq!(outcome, ApplyOutcome::Changed);
    assert!(store.slots(p, day).await.expect("slots").is_empty());
    let state = state_of(&*store, p, day).await;
    assert_eq!(state.hash, Some(empty.content_hash()));
    assert_eq!(state.synced_at, Some(at("2025-03-25T03:00:00Z")));
}

/// Pax of a kept slot are upserted by type; vanished types are deleted.
pub async fn apply_day_replaces_pax_of_kept_slots(store: Arc<dyn InventoryStore>) {
    let p = product(&*store, 14).await;
    let day = date("2025-03-25");
    let t = at("2025-03-25T01:00:00Z");
    let first = DaySnapshot::new(day, vec![family_slot(day, "09:00", "80.00")]);
    store.apply_day(p, &first, t).await.expect("first");

    let mut changed = first.clone();
    changed.slots[0].pax = vec![
        pax("SENIOR_65~99", "60.00", false),
        pax("ADULT_12~99", "85.00", true),
    ];
    store.apply_day(p, &changed, t).await.expect("changed pax");
    assert_eq!(store.slots(p, day).await.expect("slots"), changed.slots);

    let mut reordered = changed.clone();
    reordered.slots[0].pax.reverse();
    store
        .apply_day(p, &reordered, t)
        .await
        .expect("reordered pax");
    assert_eq!(store.slots(p, day).await.expect("slots"), reordered.slots);
}

/// An unchanged content hash leaves inventory as it is and only moves `synced_at`.
pub async fn apply_day_with_unchanged_hash_only_moves_synced_at(store: Arc<dyn InventoryStore>) {
    let p = product(&*store, 14).await;
    let day = date("2025-03-25");
    let snapshot = rich_day(day);
    let (t1, t2) = (
        at("2025-03-25T01:00:00Z"),
        at("2025-03-25T01:15:00.000001Z"),
    );
    assert_eq!(
        store.apply_day(p, &snapshot, t1).await.expect("first"),
        ApplyOutcome::Changed
    );
    store
        .record_day_error(p, day, "timeout")
        .await
        .expect("record error");
    assert_eq!(
        store
            .apply_day(p, &snapshot.clone(), t2)
            .await
            .expect("again"),
        ApplyOutcome::Unchanged
    );
    assert_eq!(store.slots(p, day).await.expect("slots"), snapshot.slots);
    assert_eq!(
        state_of(&*store, p, day).await,
        DayState {
            product: p,
            date: day,
            synced_at: Some(t2),
            hash: Some(snapshot.content_hash()),
            last_error: None,
        },
        "a successful fetch clears the last error"
    );

    // A day applied empty and then empty again is unchanged too.
    let other = date("2025-03-26");
    let empty = DaySnapshot::new(other, Vec::new());
    assert_eq!(
        store.apply_day(p, &empty, t1).await.expect("empty"),
        ApplyOutcome::Changed,
        "the first apply of a date is always a change"
    );
    assert_eq!(
        store.apply_day(p, &empty, t2).await.expect("empty again"),
        ApplyOutcome::Unchanged
    );
}

/// Applying one (product, date) never changes another product or date, even when slot ids
/// repeat.
pub async fn apply_day_never_touches_other_days(store: Arc<dyn InventoryStore>) {
    let (a, b) = (product(&*store, 14).await, product(&*store, 15).await);
    let (d1, d2) = (date("2025-03-25"), date("2025-03-26"));
    let t = at("2025-03-25T01:00:00Z");
    // `sample_day` derives slot ids from date and time, so a and b share ids on d1.
    let a1 = sample_day(d1, &["09:00", "12:00"]);
    let a2 = sample_day(d2, &["09:00"]);
    let mut b1 = sample_day(d1, &["09:00"]);
    b1.slots[0].remaining = 1;
    store.apply_day(a, &a1, t).await.expect("a d1");
    store.apply_day(a, &a2, t).await.expect("a d2");
    store.apply_day(b, &b1, t).await.expect("b d1");
    assert_eq!(store.slots(a, d1).await.expect("a d1"), a1.slots);
    assert_eq!(store.slots(b, d1).await.expect("b d1"), b1.slots);

    store
        .apply_day(a, &DaySnapshot::new(d1, Vec::new()), t)
        .await
        .expect("a d1 emptied");
    assert!(store.slots(a, d1).await.expect("a d1").is_empty());
    assert_eq!(store.slots(a, d2).await.expect("a d2"), a2.slots);
    assert_eq!(store.slots(b, d1).await.expect("b d1"), b1.slots);
    assert_eq!(state_of(&*store, b, d1).await.hash, Some(b1.content_hash()));
}

/// Pax come back in the order the partner sent them, not sorted.
pub async fn pax_order_is_preserved(store: Arc<dyn InventoryStore>) {
    let p = product(&*store, 14).await;
    let day = date("2025-03-25");
    let snapshot = DaySnapshot::new(
        day,
        vec![slot(
            day,
            "10:00",
            "ordered",
            vec![
                pax("INFANT_0~4", "0", false),
                pax("ADULT_12~99", "120.00", true),
                pax("CHILD_3~11", "90.00", false),
                pax("SENIOR_65~99", "95.00", false),
            ],
        )],
    );
    store
        .apply_day(p, &snapshot, at("2025-03-25T01:00:00Z"))
        .await
        .expect("apply");
    let types: Vec<String> = store.slots(p, day).await.expect("slots")[0]
        .pax
        .iter()
        .map(|pax| pax.pax_type.clone())
        .collect();
    assert_eq!(
        types,
        ["INFANT_0~4", "ADULT_12~99", "CHILD_3~11", "SENIOR_65~99"]
    );
}

/// Missing names, descriptions and bounds stay missing; present ones (even empty) stay.
pub async fn optional_fields_round_trip(store: Arc<dyn InventoryStore>) {
    let p = product(&*store, 14).await;
    let day = date("2025-03-25");
    let mut none = pax("NONE", "10.00", false);
    none.name = None;
    none.description = None;
    none.min = None;
    none.max = None;
    let mut edge = pax("EDGE", "11.00", true);
    edge.name = Some(String::new());
    edge.description = Some("«Ünïcode» 'quotes' \"and\" \\ backslash".into());
    edge.min = Some(0);
    edge.max = Some(u32::MAX);
    edge.remaining = u32::MAX;
    let mut only_min = pax("ONLY_MIN", "12.00", false);
    only_min.max = None;
    let snapshot = DaySnapshot::new(
        day,
        vec![slot(day, "08:00", "optional", vec![none, edge, only_min])],
    );
    store
        .apply_day(p, &snapshot, at("2025-03-25T01:00:00Z"))
        .await
        .expect("apply");
    assert_eq!(store.slots(p, day).await.expect("slots"), snapshot.slots);
}

/// Prices come back as the same exact decimals (no float rounding, no integer truncation).
pub async fn prices_round_trip_exactly(store: Arc<dyn InventoryStore>) {
    let p = product(&*store, 14).await;
    let day = date("2025-03-25");
    let values = [
        "212.14",
        "0",
        "99999.99",
        "73",
        "0.01",
        "1.5",
        "999999999.99",
    ];
    let slots: Vec<Slot> = values
        .iter()
        .enumerate()
        .map(|(i, value)| {
            let mut pax = pax("ADULT_12~99", value, true);
            pax.price.original_price = money(value);
            pax.price.discount = money(values[(i + 1) % values.len()]);
            slot(day, &format!("{:02}:00", 8 + i), "price", vec![pax])
        })
        .collect();
    let snapshot = DaySnapshot::new(day, slots);
    store
        .apply_day(p, &snapshot, at("2025-03-25T01:00:00Z"))
        .await
        .expect("apply");
    let read = store.slots(p, day).await.expect("slots");
    assert_eq!(read, snapshot.slots);
    for (slot, value) in read.iter().zip(values) {
        let price = &slot.pax[0].price;
        assert_eq!(price.final_price, money(value), "final price {value}");
        assert_eq!(
            price.final_price.to_string(),
            value,
            "final price {value} keeps its digits"
        );
        assert_eq!(price.original_price.to_string(), value);
        assert_eq!(price.currency_code, "SGD");
    }
}
