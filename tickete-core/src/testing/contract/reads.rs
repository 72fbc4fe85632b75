//! Contract cases for reading synced inventory back: slot order, date ranges, the dates
//! price rule, failed fetches and day states.

use std::sync::Arc;

use chrono::{Days, NaiveDate};

use super::inventory::rich_day;
use super::support::{at, date, family_slot, id, pax, product, slot, sorted_states, state_of};
use crate::domain::{DaySnapshot, DayState};
use crate::pricing::{lowest_prices, DatePrice};
use crate::store::InventoryStore;
use crate::testing::sample_day;

/// Slots of a date come back by start time, then provider slot id, whatever the input order.
pub async fn slots_are_ordered_by_start_time(store: Arc<dyn InventoryStore>) {
    let p = product(&*store, 14).await;
    let day = date("2025-03-25");
    let at_time =
        |start: &str, key: &str| slot(day, start, key, vec![pax("ADULT_12~99", "10.00", true)]);
    // Deliberately not canonical: `DaySnapshot { .. }` skips `DaySnapshot::new`'s sort.
    let snapshot = DaySnapshot {
        date: day,
        slots: vec![
            at_time("23:30", "z"),
            at_time("10:00", "b"),
            at_time("09:00", "y"),
            at_time("10:00", "a"),
            at_time("00:15", "x"),
        ],
    };
    store
        .apply_day(p, &snapshot, at("2025-03-25T01:00:00Z"))
        .await
        .expect("apply");
    let order: Vec<String> = store
        .slots(p, day)
        .await
        .expect("slots")
        .into_iter()
        .map(|slot| slot.provider_slot_id)
        .collect();
    assert_eq!(
        order,
        [
            "x_2025-03-25T00:15",
            "y_2025-03-25T09:00",
            "a_2025-03-25T10:00",
            "b_2025-03-25T10:00",
            "z_2025-03-25T23:30",
        ]
    );
}

/// `slots_between` returns `[from, until)` of one product, by date then start time.
pub async fn slots_between_covers_a_half_open_range_in_order(store: Arc<dyn InventoryStore>) {
    let (a, b) = (product(&*store, 14).await, product(&*store, 15).await);
    let first = date("2025-03-24");
    let days: Vec<NaiveDate> = (0..5).map(|n| first + Days::new(n)).collect();
    let t = at("2025-03-24T01:00:00Z");
    // Applied out of date order, with slots out of time order.
    for &n in &[2usize, 0, 4, 1, 3] {
        let snapshot = sample_day(days[n], &["15:00", "08:00"]);
        store.apply_day(a, &snapshot, t).await.expect("apply a");
    }
    store
        .apply_day(b, &sample_day(days[1], &["12:00"]), t)
        .await
        .expect("apply b");

    let between = store
        .slots_between(a, days[1], days[3])
        .await
        .expect("between");
    let keys: Vec<(NaiveDate, String)> = between
        .iter()
        .map(|slot| (slot.start_date, slot.start_time.format("%H:%M").to_string()))
        .collect();
    let expected: Vec<(NaiveDate, String)> = [
        (days[1], "08:00"),
        (days[1], "15:00"),
        (days[2], "08:00"),
        (days[2], "15:00"),
    ]
    .into_iter()
    .map(|(d, t)| (d, t.to_owned()))
    .collect();
    assert_eq!(keys, expected);
    assert_eq!(between[0], store.slots(a, days[1]).await.expect("slots")[0]);

    assert!(store
        .slots_between(a, days[2], days[2])
        .await
        .expect("empty range")
        .is_empty());
    assert!(store
        .slots_between(id(99), days[0], days[4])
        .await
        .expect("unknown product")
        .is_empty());
    assert!(store
        .slots(a, date("2025-05-01"))
        .await
        .expect("unsynced date")
        .is_empty());
    assert_eq!(
        store
            .slots_between(a, days[0], date("2026-01-01"))
            .await
            .expect("all")
            .len(),
        10
    );
}

/// The `/dates` rule over `slots_between`: per date, the lowest primary-pax final price among
/// slots with seats left; sold-out dates are left out.
pub async fn dates_price_rule_uses_primary_pax_of_open_slots(store: Arc<dyn InventoryStore>) {
    let p = product(&*store, 14).await;
    let (d1, d2, d3, d4) = (
        date("2025-03-24"),
        date("2025-03-25"),
        date("2025-03-26"),
        date("2025-03-27"),
    );
    let t = at("2025-03-24T01:00:00Z");

    // d1: the child pax is cheaper but not primary; the cheapest adult slot is sold out.
    let open = family_slot(d1, "09:00", "50.00");
    let mut sold_out = family_slot(d1, "11:00", "20.00");
    sold_out.remaining = 0;
    let cheapest_open = family_slot(d1, "13:00", "45.50");
    store
        .apply_day(
            p,
            &DaySnapshot::new(d1, vec![open, sold_out, cheapest_open.clone()]),
            t,
        )
        .await
        .expect("d1");

    // d2: everything sold out.
    let mut gone = family_slot(d2, "09:00", "10.00");
    gone.remaining = 0;
    store
        .apply_day(p, &DaySnapshot::new(d2, vec![gone]), t)
        .await
        .expect("d2");

    // d3: no pax marked primary, so the first pax prices the slot.
    let unmarked = slot(
        d3,
        "10:00",
        "unmarked",
        vec![
            pax("CHILD_3~11", "30.00", false),
            pax("ADULT_12~99", "40.00", false),
        ],
    );
    store
        .apply_day(p, &DaySnapshot::new(d3, vec![unmarked.clone()]), t)
        .await
        .expect("d3");

    // d4 is outside the range asked for.
    store
        .apply_day(p, &sample_day(d4, &["09:00"]), t)
        .await
        .expect("d4");

    let slots = store.slots_between(p, d1, d4).await.expect("between");
    assert_eq!(
        lowest_prices(&slots),
        vec![
            DatePrice {
                date: d1,
                price: cheapest_open.pax[1].price.clone(),
            },
            DatePrice {
                date: d3,
                price: unmarked.pax[0].price.clone(),
            },
        ]
    );
}

/// A failed fetch is recorded on the day state and leaves inventory, hash and time alone.
pub async fn record_day_error_keeps_inventory(store: Arc<dyn InventoryStore>) {
    let p = product(&*store, 14).await;
    let (synced, never) = (date("2025-03-25"), date("2025-03-26"));
    let snapshot = rich_day(synced);
    let t = at("2025-03-25T01:00:00Z");
    store.apply_day(p, &snapshot, t).await.expect("apply");

    store
        .record_day_error(p, synced, "partner answered 503")
        .await
        .expect("record");
    assert_eq!(store.slots(p, synced).await.expect("slots"), snapshot.slots);
    assert_eq!(
        state_of(&*store, p, synced).await,
        DayState {
            product: p,
            date: synced,
            synced_at: Some(t),
            hash: Some(snapshot.content_hash()),
            last_error: Some("partner answered 503".into()),
        }
    );
    store
        .record_day_error(p, synced, "invalid body: ünïcode 'quoted'")
        .await
        .expect("record again");
    assert_eq!(
        state_of(&*store, p, synced).await.last_error.as_deref(),
        Some("invalid body: ünïcode 'quoted'")
    );

    store
        .record_day_error(p, never, "timeout")
        .await
        .expect("record unsynced");
    assert_eq!(
        state_of(&*store, p, never).await,
        DayState {
            product: p,
            date: never,
            synced_at: None,
            hash: None,
            last_error: Some("timeout".into()),
        }
    );
    assert!(store.slots(p, never).await.expect("slots").is_empty());
    let view = store.get_product(p).await.expect("view");
    assert_eq!(
        view.available_days.len(),
        1,
        "an error adds no available day"
    );
}

/// `day_states` covers `[from, until)` over every product.
pub async fn day_states_cover_a_half_open_range(store: Arc<dyn InventoryStore>) {
    assert!(
        sorted_states(&*store, date("2025-01-01"), date("2026-01-01"))
            .await
            .is_empty()
    );
    let (a, b) = (product(&*store, 14).await, product(&*store, 15).await);
    let first = date("2025-03-24");
    let days: Vec<NaiveDate> = (0..4).map(|n| first + Days::new(n)).collect();
    let t = at("2025-03-24T01:00:00.5Z");
    for &day in &days {
        store
            .apply_day(a, &sample_day(day, &["09:00"]), t)
            .await
            .expect("apply a");
    }
    store
        .record_day_error(b, days[2], "timeout")
        .await
        .expect("error b");

    let states = sorted_states(&*store, days[1], days[3]).await;
    let keys: Vec<_> = states.iter().map(|s| (s.product, s.date)).collect();
    assert_eq!(keys, vec![(a, days[1]), (a, days[2]), (b, days[2])]);
    assert_eq!(states[0].synced_at, Some(t));
    assert_eq!(
        states[0].hash,
        Some(sample_day(days[1], &["09:00"]).content_hash())
    );
    assert!(sorted_states(&*store, days[1], days[1]).await.is_empty());
}
