//! Contract cases: what the refresh policy learns, kept by the store ([`crate::learning`]).

use std::sync::Arc;

use chrono::Duration;

use super::support::{at, date, id, product};
use crate::engine::policy::reads::{combine, period_of, scaled, MAX_PAIRS};
use crate::learning::{LearntPair, PairStats, ReadDelta};
use crate::store::{InventoryStore, StoreError};

fn read(product: u32, day: &str, count: f64) -> ReadDelta {
    ReadDelta {
        product: id(product),
        date: date(day),
        count,
    }
}

/// `record_fetch` applies the pair rule ([`PairStats::record`]) to the stored state and
/// returns it: the same fetches give the same state as in memory, a fetch older than the last
/// one teaches nothing, the empty streak is kept; `learnt_pairs` filters by date and by last
/// fetch; an unknown product is `NotFound`; deleting a product forgets its pairs.
pub async fn learnt_fetches_follow_the_pair_rule_and_are_listed(store: Arc<dyn InventoryStore>) {
    let p = product(&*store, 14).await;
    let q = product(&*store, 15).await;
    let day = date("2026-03-05");
    let t = at("2026-03-02T00:00:00Z");
    let mut expected = PairStats::default();
    for (hour, changed, empty) in [
        (0, true, false),
        (1, false, false),
        (3, true, true),
        (4, false, true),
    ] {
        let when = t + Duration::hours(hour) + Duration::milliseconds(250);
        expected.record(changed, empty, when);
        let stored = store
            .record_fetch(p, day, changed, empty, when)
            .await
            .unwrap();
        assert_eq!(stored, expected, "after the fetch at hour {hour}");
    }
    assert!(expected.is_empty_day(), "two empty fetches in a row");
    assert_eq!(expected.observations.len(), 3);
    // Another replica's fetch that commits late, older than the last one: nothing changes.
    let late = store
        .record_fetch(p, day, true, false, t + Duration::hours(2))
        .await
        .unwrap();
    assert_eq!(late, expected);
    store
        .record_fetch(q, date("2026-03-06"), false, false, t + Duration::hours(9))
        .await
        .unwrap();
    store
        .record_fetch(p, date("2026-03-01"), false, false, t)
        .await
        .unwrap();

    let all = store.learnt_pairs(date("2026-03-02"), None).await.unwrap();
    let keys: Vec<_> = all.iter().map(|l| (l.product.get(), l.date)).collect();
    assert_eq!(keys, [(14, day), (15, date("2026-03-06"))]);
    assert_eq!(
        all[0],
        LearntPair {
            product: p,
            date: day,
            stats: expected.clone()
        }
    );
    let recent = store
        .learnt_pairs(date("2026-03-02"), Some(t + Duration::hours(9)))
        .await
        .unwrap();
    assert_eq!(recent.len(), 1, "fetched at or after the instant only");
    assert_eq!(recent[0].product, q);

    let unknown = store
        .record_fetch(id(99), day, false, false, t)
        .await
        .unwrap_err();
    assert!(matches!(unknown, StoreError::NotFound(_)), "{unknown:?}");
    store.delete_product(p).await.unwrap();
    let left = store.learnt_pairs(date("2026-01-01"), None).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].product, q);
}

/// Reads add up within a period and are carried across one by [`combine`] (the SQL stores
/// repeat the rule), so the weight read back is the decayed sum; reads of unknown products are
/// dropped; a count that is not finite and > 0 writes nothing.
pub async fn reads_are_merged_decayed_and_refused_when_hostile(store: Arc<dyn InventoryStore>) {
    let p = product(&*store, 14).await;
    product(&*store, 15).await;
    let t = at("2026-03-04T10:00:00Z");
    store
        .add_reads(
            &[read(14, "2026-03-05", 2.0), read(15, "2026-03-05", 1.0)],
            t,
        )
        .await
        .unwrap();
    store
        .add_reads(
            &[read(14, "2026-03-05", 1.0), read(99, "2026-03-05", 5.0)],
            t + Duration::hours(6),
        )
        .await
        .unwrap();
    let later = t + Duration::hours(6);
    let stored = store.stored_reads(date("2026-03-05")).await.unwrap();
    assert_eq!(stored.len(), 2, "product 99 is not in the catalogue");
    let weight = stored
        .iter()
        .find(|r| r.product == p)
        .unwrap()
        .weight_at(later);
    assert!(
        (weight - 2.0).abs() < 1e-9,
        "2 reads halved, plus 1: {weight}"
    );

    // Across a period boundary the older weight is carried.
    let next = t + Duration::days(7);
    assert_eq!(period_of(next), period_of(t) + 1);
    store
        .add_reads(&[read(14, "2026-03-20", 1.0)], t)
        .await
        .unwrap();
    store
        .add_reads(&[read(14, "2026-03-20", 1.0)], next)
        .await
        .unwrap();
    let expected = combine(scaled(1.0, t), scaled(1.0, next));
    let carried = store
        .stored_reads(date("2026-03-20"))
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.date == date("2026-03-20"))
        .unwrap();
    assert_eq!(carried.period, expected.0);
    assert!((carried.scaled - expected.1).abs() <= expected.1 * 1e-12);

    for hostile in [f64::NAN, f64::INFINITY, -1.0, 0.0] {
        let error = store
            .add_reads(
                &[read(15, "2026-03-06", 1.0), read(15, "2026-03-07", hostile)],
                t,
            )
            .await
            .unwrap_err();
        assert!(matches!(error, StoreError::Conflict(_)), "{error:?}");
    }
    let from = store.stored_reads(date("2026-03-06")).await.unwrap();
    assert!(
        from.iter().all(|r| r.date != date("2026-03-06")),
        "a refused batch writes nothing"
    );
}

/// Concurrent flushes of the same pair all count (replicas adding reads at once).
pub async fn concurrent_read_flushes_all_count(store: Arc<dyn InventoryStore>) {
    product(&*store, 14).await;
    let t = at("2026-03-04T10:00:00Z");
    let mut flushes = Vec::new();
    for _ in 0..8 {
        let store = store.clone();
        flushes.push(tokio::spawn(async move {
            store
                .add_reads(
                    &[read(14, "2026-03-05", 1.0), read(14, "2026-03-06", 0.5)],
                    t,
                )
                .await
        }));
    }
    for flush in flushes {
        flush.await.unwrap().unwrap();
    }
    let stored = store.stored_reads(date("2026-03-05")).await.unwrap();
    let weights: Vec<f64> = stored.iter().map(|r| r.weight_at(t)).collect();
    assert_eq!(weights.len(), 2);
    assert!((weights[0] - 8.0).abs() < 1e-9, "{weights:?}");
    assert!((weights[1] - 4.0).abs() < 1e-9, "{weights:?}");
}

/// `prune_learning` forgets pairs and reads of past dates and reads of periods before the
/// oldest kept, and caps the reads at [`MAX_PAIRS`] rows, dropping the lightest.
pub async fn prune_learning_drops_past_dates_old_periods_and_caps_reads(
    store: Arc<dyn InventoryStore>,
) {
    let products = 50u32;
    for raw in 1..=products {
        product(&*store, raw).await;
    }
    let t = at("2026-03-04T10:00:00Z");
    let first = date("2026-03-04");
    store
        .record_fetch(id(1), date("2026-03-03"), false, false, t)
        .await
        .unwrap();
    store
        .record_fetch(id(1), first, false, false, t)
        .await
        .unwrap();
    // An old period's read, then MAX_PAIRS + 10 rows of this one: the 10 lightest go.
    store
        .add_reads(&[read(2, "2026-03-04", 9.0)], t - Duration::days(14))
        .await
        .unwrap();
    store
        .add_reads(&[read(1, "2026-03-03", 1.0)], t)
        .await
        .unwrap();
    let per_product = (MAX_PAIRS + 10).div_ceil(products as usize);
    let mut deltas = Vec::new();
    'fill: for raw in 1..=products {
        for offset in 0..per_product {
            if deltas.len() == MAX_PAIRS + 10 {
                break 'fill;
            }
            let day = first + Duration::days(offset as i64 + 1);
            // The last product's reads are the lightest.
            let count = if raw == products { 0.5 } else { 2.0 };
            deltas.push(ReadDelta {
                product: id(raw),
                date: day,
                count,
            });
        }
    }
    let light = deltas.iter().filter(|d| d.count < 1.0).count();
    assert!(light >= 10);
    for chunk in deltas.chunks(20_000) {
        store.add_reads(chunk, t).await.unwrap();
    }
    let pruned = store.prune_learning(first, period_of(t) - 1).await.unwrap();
    // The past pair, the past read, the old period's read and the 10 lightest reads.
    assert_eq!(pruned, 1 + 1 + 1 + 10);
    let pairs = store.learnt_pairs(date("2026-01-01"), None).await.unwrap();
    assert_eq!(pairs.len(), 1);
    assert_eq!(pairs[0].date, first);
    let reads = store.stored_reads(date("2026-01-01")).await.unwrap();
    assert_eq!(reads.len(), MAX_PAIRS);
    let light_left = reads.iter().filter(|r| r.product == id(products)).count();
    assert_eq!(light_left, light - 10);
    assert_eq!(
        store.prune_learning(first, period_of(t) - 1).await.unwrap(),
        0
    );
}
