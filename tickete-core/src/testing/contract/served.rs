//! Contract cases for the read path kept at `apply_day` (served bodies, dates summaries) and
//! for batched applies: every store must serve exactly what the join of slots and pax gives.

use std::sync::Arc;

use chrono::{Days, NaiveDate, NaiveTime};

use super::inventory::rich_day;
use super::support::{assert_not_found, at, date, family_slot, id, pax, product, slot};
use crate::domain::{DaySnapshot, ProductPatch, Slot};
use crate::pricing::lowest_prices;
use crate::served::{slots_body, ServedDates, ServedSlots};
use crate::store::{ApplyOutcome, DayApply, InventoryStore, StoreError};
use crate::testing::sample_day;

/// What a store must serve for (product, date): the encoding of the slots it reads back, with
/// the day state's sync time and hash.
pub(super) async fn expected_slots(
    store: &dyn InventoryStore,
    product: crate::domain::ProductId,
    day: NaiveDate,
) -> ServedSlots {
    let slots = store.slots(product, day).await.expect("slots");
    let until = day.succ_opt().expect("successor");
    let state = store
        .day_states(day, until)
        .await
        .expect("day states")
        .into_iter()
        .find(|state| state.product == product);
    ServedSlots {
        body: slots_body(&slots),
        synced_at: state.as_ref().and_then(|s| s.synced_at),
        hash: state.and_then(|s| s.hash),
    }
}

/// What a store must serve for the dates of `[from, until)`: the price rule over the slots it
/// reads back, and the latest fetch of the window.
pub(super) async fn expected_dates(
    store: &dyn InventoryStore,
    product: crate::domain::ProductId,
    from: NaiveDate,
    until: NaiveDate,
) -> ServedDates {
    let slots = store
        .slots_between(product, from, until)
        .await
        .expect("slots_between");
    let synced_at = store
        .day_states(from, until)
        .await
        .expect("day states")
        .into_iter()
        .filter(|state| state.product == product)
        .filter_map(|state| state.synced_at)
        .max();
    ServedDates {
        dates: lowest_prices(&slots),
        synced_at,
    }
}

/// The served slots body is the encoding of the applied day, follows every change, and carries
/// the day's sync time and content hash; an unchanged apply only moves the sync time.
pub async fn served_slots_equal_the_applied_day(store: Arc<dyn InventoryStore>) {
    let p = product(&*store, 14).await;
    let day = date("2025-03-25");
    let first = rich_day(day);
    let (t1, t2, t3) = (
        at("2025-03-25T01:00:00Z"),
        at("2025-03-25T02:00:00.000001Z"),
        at("2025-03-25T03:00:00Z"),
    );
    store.apply_day(p, &first, t1).await.expect("first");
    let served = store.served_slots(p, day).await.expect("served");
    assert_eq!(
        served,
        ServedSlots {
            body: slots_body(&first.slots),
            synced_at: Some(t1),
            hash: Some(first.content_hash()),
        }
    );
    assert_eq!(served, expected_slots(&*store, p, day).await);

    // A kept slot changes, one vanishes, one is new: the body follows.
    let mut kept = family_slot(day, "11:00", "45.50");
    kept.remaining = 0;
    let second = DaySnapshot::new(day, vec![family_slot(day, "15:00", "60.00"), kept]);
    store.apply_day(p, &second, t2).await.expect("second");
    let served = store.served_slots(p, day).await.expect("served");
    assert_eq!(served.body, slots_body(&second.slots));
    assert_eq!(served, expected_slots(&*store, p, day).await);

    // Unchanged: same body and hash, new sync time.
    assert_eq!(
        store.apply_day(p, &second, t3).await.expect("again"),
        ApplyOutcome::Unchanged
    );
    let served = store.served_slots(p, day).await.expect("served");
    assert_eq!(served.synced_at, Some(t3));
    assert_eq!(served.hash, Some(second.content_hash()));
    assert_eq!(served.body, slots_body(&second.slots));

    // A failed fetch changes nothing that is served.
    store
        .record_day_error(p, day, "partner answered 503")
        .await
        .expect("error");
    assert_eq!(store.served_slots(p, day).await.expect("served"), served);

    // Emptied: an empty list, still with its sync time and hash.
    let empty = DaySnapshot::new(day, Vec::new());
    store.apply_day(p, &empty, t3).await.expect("empty");
    let served = store.served_slots(p, day).await.expect("served");
    assert_eq!(served.body, r#"{"slots":[]}"#);
    assert_eq!(served.hash, Some(empty.content_hash()));
    assert_eq!(served, expected_slots(&*store, p, day).await);
}

/// A date never synced serves an empty list without sync time or hash (also after a failed
/// fetch); an unknown product is `NotFound`; other products and dates are never mixed in.
pub async fn served_slots_of_unsynced_days_and_unknown_products(store: Arc<dyn InventoryStore>) {
    let (a, b) = (product(&*store, 14).await, product(&*store, 15).await);
    let (d1, d2) = (date("2025-03-25"), date("2025-03-26"));
    assert_eq!(
        store.served_slots(a, d1).await.expect("unsynced"),
        ServedSlots::never_synced()
    );
    assert_eq!(ServedSlots::never_synced().body, r#"{"slots":[]}"#);
    store
        .record_day_error(a, d1, "timeout")
        .await
        .expect("error");
    assert_eq!(
        store.served_slots(a, d1).await.expect("failed only"),
        ServedSlots::never_synced()
    );
    assert_not_found(store.served_slots(id(99), d1).await, "served_slots of 99");

    let t = at("2025-03-25T01:00:00Z");
    let a2 = sample_day(d2, &["09:00"]);
    let mut b1 = sample_day(d1, &["09:00", "10:00"]);
    b1.slots[0].remaining = 2;
    store.apply_day(a, &a2, t).await.expect("a d2");
    store.apply_day(b, &b1, t).await.expect("b d1");
    assert_eq!(
        store.served_slots(a, d1).await.expect("a d1").body,
        r#"{"slots":[]}"#
    );
    assert_eq!(
        store.served_slots(a, d2).await.expect("a d2").body,
        slots_body(&a2.slots)
    );
    assert_eq!(
        store.served_slots(b, d1).await.expect("b d1").body,
        slots_body(&b1.slots)
    );
}

fn day_with(day: NaiveDate, open: &[(&str, &str)], closed: &[(&str, &str)]) -> DaySnapshot {
    let mut slots: Vec<Slot> = open
        .iter()
        .map(|(start, adult)| family_slot(day, start, adult))
        .collect();
    for (start, adult) in closed {
        let mut full = family_slot(day, start, adult);
        full.remaining = 0;
        slots.push(full);
    }
    DaySnapshot::new(day, slots)
}

/// The dates kept with the days equal the price rule over the stored slots, through changes,
/// sell-outs, emptied days, failed fetches, prunes, disabling and deleting the product.
pub async fn served_dates_follow_applies_prunes_and_deletes(store: Arc<dyn InventoryStore>) {
    let p = product(&*store, 14).await;
    let other = product(&*store, 15).await;
    let from = date("2025-03-24");
    let until = date("2025-05-24");
    let d = |n: u64| from.checked_add_days(Days::new(n)).expect("date");
    assert_eq!(
        store.served_dates(p, from, until).await.expect("empty"),
        ServedDates {
            dates: Vec::new(),
            synced_at: None
        }
    );
    assert_not_found(
        store.served_dates(id(99), from, until).await,
        "served_dates of 99",
    );

    let t1 = at("2025-03-24T01:00:00Z");
    let t2 = at("2025-03-24T02:00:00Z");
    let t3 = at("2025-03-24T03:00:00.5Z");
    // Cheapest open slot wins; a cheaper sold-out slot does not count; the primary pax (the
    // adult, listed second) is the price.
    store
        .apply_day(
            p,
            &day_with(
                d(0),
                &[("09:00", "80.10"), ("10:00", "70.25")],
                &[("11:00", "10")],
            ),
            t1,
        )
        .await
        .expect("d0");
    store
        .apply_day(p, &day_with(d(1), &[], &[("09:00", "50")]), t1)
        .await
        .expect("d1 sold out");
    store
        .apply_day(p, &day_with(d(2), &[("09:00", "99.99")], &[]), t2)
        .await
        .expect("d2");
    store
        .apply_day(p, &DaySnapshot::new(d(3), Vec::new()), t1)
        .await
        .expect("d3 empty");
    store
        .apply_day(p, &day_with(until, &[("09:00", "1")], &[]), t3)
        .await
        .expect("outside the window");
    store
        .apply_day(
            p,
            &day_with(d(0).pred_opt().expect("date"), &[("09:00", "1")], &[]),
            t3,
        )
        .await
        .expect("before the window");
    store
        .apply_day(other, &day_with(d(1), &[("09:00", "5")], &[]), t3)
        .await
        .expect("another product");
    store
        .record_day_error(p, d(4), "timeout")
        .await
        .expect("error");

    let served = store.served_dates(p, from, until).await.expect("served");
    let days: Vec<_> = served.dates.iter().map(|d| d.date).collect();
    assert_eq!(days, [d(0), d(2)]);
    assert_eq!(served.dates[0].price.final_price.to_string(), "70.25");
    assert_eq!(served.synced_at, Some(t2), "latest fetch inside the window");
    assert_eq!(served, expected_dates(&*store, p, from, until).await);

    // d0 sells out, d1 opens, d2 is emptied.
    store
        .apply_day(
            p,
            &day_with(d(0), &[], &[("09:00", "80.10"), ("10:00", "70.25")]),
            t3,
        )
        .await
        .expect("d0 sold out");
    store
        .apply_day(
            p,
            &day_with(d(1), &[("09:00", "50"), ("12:00", "49.5")], &[]),
            t3,
        )
        .await
        .expect("d1 opens");
    store
        .apply_day(p, &DaySnapshot::new(d(2), Vec::new()), t3)
        .await
        .expect("d2 emptied");
    let served = store.served_dates(p, from, until).await.expect("served");
    let days: Vec<_> = served.dates.iter().map(|d| d.date).collect();
    assert_eq!(days, [d(1)]);
    assert_eq!(served.dates[0].price.final_price.to_string(), "49.5");
    assert_eq!(served, expected_dates(&*store, p, from, until).await);

    // Disabling keeps the data, and so the dates.
    store
        .update_product(
            p,
            &ProductPatch {
                enabled: Some(false),
                ..ProductPatch::default()
            },
        )
        .await
        .expect("disable");
    assert_eq!(
        store.served_dates(p, from, until).await.expect("disabled"),
        served
    );

    // Pruning drops past days from both.
    store.prune_before(d(2)).await.expect("prune");
    let served = store.served_dates(p, from, until).await.expect("pruned");
    assert!(served.dates.is_empty());
    assert_eq!(served, expected_dates(&*store, p, from, until).await);
    assert_eq!(
        store.served_slots(p, d(1)).await.expect("pruned day"),
        ServedSlots::never_synced()
    );

    // Deleting the product removes everything; re-adding starts from nothing.
    store
        .apply_day(p, &day_with(d(5), &[("09:00", "12")], &[]), t3)
        .await
        .expect("d5");
    store.delete_product(p).await.expect("delete");
    assert_not_found(store.served_dates(p, from, until).await, "deleted product");
    assert_not_found(store.served_slots(p, d(5)).await, "deleted product");
    product(&*store, 14).await;
    assert_eq!(
        store.served_dates(p, from, until).await.expect("re-added"),
        ServedDates {
            dates: Vec::new(),
            synced_at: None
        }
    );
    assert_eq!(
        store.served_slots(p, d(5)).await.expect("re-added"),
        ServedSlots::never_synced()
    );
    assert_eq!(
        store.served_dates(other, from, until).await.expect("other"),
        expected_dates(&*store, other, from, until).await
    );
}

/// A batch applies each day as `apply_day` would, in order; a batch with a failing day writes
/// nothing at all.
pub async fn apply_days_is_per_day_apply_all_or_nothing(store: Arc<dyn InventoryStore>) {
    let (a, b) = (product(&*store, 14).await, product(&*store, 15).await);
    let (d1, d2) = (date("2025-03-25"), date("2025-03-26"));
    let (t1, t2) = (at("2025-03-25T01:00:00Z"), at("2025-03-25T02:00:00Z"));
    let a1 = rich_day(d1);
    let a2 = sample_day(d2, &["09:00", "10:00"]);
    let b1 = sample_day(d1, &["08:00"]);
    store.apply_day(a, &a1, t1).await.expect("prime a1");
    let outcomes = store
        .apply_days(&[
            DayApply {
                product: a,
                snapshot: &a1,
                synced_at: t2,
            },
            DayApply {
                product: a,
                snapshot: &a2,
                synced_at: t2,
            },
            DayApply {
                product: b,
                snapshot: &b1,
                synced_at: t2,
            },
            DayApply {
                product: b,
                snapshot: &b1,
                synced_at: t2,
            },
        ])
        .await
        .expect("batch");
    assert_eq!(
        outcomes,
        [
            ApplyOutcome::Unchanged,
            ApplyOutcome::Changed,
            ApplyOutcome::Changed,
            ApplyOutcome::Unchanged
        ]
    );
    for (p, day, snapshot) in [(a, d1, &a1), (a, d2, &a2), (b, d1, &b1)] {
        assert_eq!(store.slots(p, day).await.expect("slots"), snapshot.slots);
        let served = store.served_slots(p, day).await.expect("served");
        assert_eq!(served.body, slots_body(&snapshot.slots));
        assert_eq!(served.synced_at, Some(t2));
        assert_eq!(served.hash, Some(snapshot.content_hash()));
    }
    assert_eq!(
        store.apply_days(&[]).await.expect("empty batch"),
        Vec::<ApplyOutcome>::new()
    );

    // A day of an unknown product fails the batch; the days before it are not written.
    let emptied = DaySnapshot::new(d2, Vec::new());
    let later = at("2025-03-25T03:00:00Z");
    let failed = store
        .apply_days(&[
            DayApply {
                product: a,
                snapshot: &emptied,
                synced_at: later,
            },
            DayApply {
                product: a,
                snapshot: &a1,
                synced_at: later,
            },
            DayApply {
                product: id(99),
                snapshot: &b1,
                synced_at: later,
            },
        ])
        .await;
    assert!(
        matches!(failed, Err(StoreError::NotFound(_))),
        "expected NotFound, got {failed:?}"
    );
    assert_eq!(store.slots(a, d2).await.expect("a d2"), a2.slots);
    let served = store.served_slots(a, d1).await.expect("a d1");
    assert_eq!(
        served.synced_at,
        Some(t2),
        "the unchanged day kept its sync time"
    );
    assert_eq!(
        store.served_slots(a, d2).await.expect("a d2").body,
        slots_body(&a2.slots)
    );
}

/// A big day (1,000 slots of 3 pax) round-trips, and replacing most of it keeps the stored
/// and served forms equal to the snapshot.
pub async fn a_big_day_round_trips(store: Arc<dyn InventoryStore>) {
    let p = product(&*store, 14).await;
    let day = date("2025-03-25");
    let big = |shift: u32, count: u32| {
        let slots = (0..count)
            .map(|n| {
                let minute = (n + shift) % 1440;
                let start = NaiveTime::from_hms_opt(minute / 60, minute % 60, 0)
                    .expect("time")
                    .format("%H:%M")
                    .to_string();
                let mut s = slot(
                    day,
                    &start,
                    &format!("big{}", n + shift),
                    vec![
                        pax("ADULT_12~99", &format!("{}.{:02}", 100 + n, n % 100), true),
                        pax("CHILD_3~11", "50.5", false),
                        pax("INFANT_0~2", "0", false),
                    ],
                );
                s.remaining = (n + shift) % 7;
                s
            })
            .collect();
        DaySnapshot::new(day, slots)
    };
    let first = big(0, 1_000);
    store
        .apply_day(p, &first, at("2025-03-25T01:00:00Z"))
        .await
        .expect("first");
    assert_eq!(store.slots(p, day).await.expect("slots"), first.slots);
    let second = big(300, 900);
    store
        .apply_day(p, &second, at("2025-03-25T02:00:00Z"))
        .await
        .expect("second");
    assert_eq!(store.slots(p, day).await.expect("slots"), second.slots);
    assert_eq!(
        store.served_slots(p, day).await.expect("served"),
        expected_slots(&*store, p, day).await
    );
    let until = day.succ_opt().expect("date");
    assert_eq!(
        store.served_dates(p, day, until).await.expect("dates"),
        expected_dates(&*store, p, day, until).await
    );
}
