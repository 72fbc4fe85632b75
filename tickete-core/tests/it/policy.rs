//! The refresh policy driving the engine over a scripted partner (SPEC §4 "Spending the
//! budget"): learning which pairs change, unknown products, the demand.

use std::time::Duration;

use rust_decimal::Decimal;
use tickete_core::store::prelude::*;
use tickete_core::testing::sample_slot;
use tickete_core::{SourceError, SyncJob};

use crate::harness::{day, pid, Harness};

/// Calls per product made between `from` and `until` hours after the harness started.
fn calls_between(h: &Harness, start: tokio::time::Instant, from: u64, until: u64) -> Vec<usize> {
    let (from, until) = (
        start + Duration::from_secs(from * 3600),
        start + Duration::from_secs(until * 3600),
    );
    let mut per_product = vec![0; 9];
    for call in h.source.calls() {
        if call.at >= from && call.at < until {
            per_product[call.product.get() as usize] += 1;
        }
    }
    per_product
}

/// 8 products, one job of 30 days every 2 hours (2 calls a minute), a budget of 1 a minute.
async fn over_budget() -> Harness {
    let h = Harness::new(&[1, 2, 3, 4, 5, 6, 7, 8], 1).await;
    let job = SyncJob {
        name: "every-2h".into(),
        schedule: "0 */2 * * *".into(),
        window_days: 30,
        enabled: true,
    };
    h.store.insert_job_if_missing(&job).await.unwrap();
    h
}

/// Gives `product`'s days a new price at `minute` (a change on every fetch).
fn change(h: &Harness, product: u32, minute: u64) {
    for offset in 0..31 {
        let date = day(offset);
        let price = Decimal::new(10_000 + minute as i64, 2);
        h.source
            .set_day(pid(product), date, vec![sample_slot(date, "10:00", price)]);
    }
}

/// Over budget (8 products × 30 days every 2 hours need 2 calls a minute, the budget is 1):
/// a product whose days change on every fetch is fetched more than products that never
/// change; when one of those starts changing, it is fetched more again within a few fetches.
#[tokio::test(start_paused = true)]
async fn pairs_that_change_are_fetched_more_and_a_waking_pair_regains_its_share() {
    let mut h = over_budget().await;
    let start = tokio::time::Instant::now();
    h.start_worker();
    h.start_scheduler();
    for minute in 0..14 * 60 {
        change(&h, 1, minute);
        if minute >= 8 * 60 {
            change(&h, 2, minute);
        }
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    h.stop().await;

    // Hours 4-8: everything fetched once (the first fill), then what it learnt decides.
    let learnt = calls_between(&h, start, 4, 8);
    for quiet in 2..=8 {
        assert!(
            learnt[1] > 2 * learnt[quiet],
            "changing product 1 fetched {} times, quiet product {quiet} {}: {learnt:?}",
            learnt[1],
            learnt[quiet]
        );
    }
    // Product 2 woke at hour 8: by hours 10-14 it is fetched like product 1, more than the
    // quiet ones.
    let woken = calls_between(&h, start, 10, 14);
    for quiet in 3..=8 {
        assert!(
            woken[2] > 2 * woken[quiet],
            "woken product 2 fetched {} times, quiet product {quiet} {}: {woken:?}",
            woken[2],
            woken[quiet]
        );
    }
    let demand = h.engine.demand();
    assert!(demand.budget_share > 1.0, "{demand:?}");
}

/// A product the partner does not know (404) is probed once a day, not at every tick, and
/// is treated in full again after its first 200.
#[tokio::test(start_paused = true)]
async fn an_unknown_product_is_probed_once_a_day() {
    let mut h = Harness::new(&[1, 9], 30).await;
    let job = SyncJob {
        name: "quarter-hourly".into(),
        schedule: "*/15 * * * *".into(),
        window_days: 2,
        enabled: true,
    };
    h.store.insert_job_if_missing(&job).await.unwrap();
    for _ in 0..200 {
        for offset in 0..2 {
            h.source.push_error(
                pid(9),
                day(offset),
                SourceError::UnknownProduct("partner answered 404 Not Found".into()),
            );
        }
    }
    h.start_worker();
    h.start_scheduler();
    tokio::time::sleep(Duration::from_secs(6 * 3600)).await;
    let probes = h
        .source
        .calls()
        .iter()
        .filter(|c| c.product == pid(9))
        .count();
    let known = h
        .source
        .calls()
        .iter()
        .filter(|c| c.product == pid(1))
        .count();
    assert!(h.engine.refresh_policy().is_unknown(pid(9)));
    // First tick: both dates tried (nothing learnt yet); then nothing for a day.
    assert!(
        probes <= 2,
        "{probes} probes of the unknown product in 6 hours"
    );
    assert!(known >= 2 * 24, "{known} fetches of the known product");
    h.stop().await;
}

/// What was learnt survives a restart: over budget, a product whose days change on
/// every fetch and seven that never change; after 8 hours the process stops and a new one
/// starts on the same store. It knows at once that the quiet pairs are quiet, and keeps
/// fetching the changing product more than any quiet one (a process that had forgotten would
/// start again from the prior rate and fetch the oldest, quiet pairs first).
#[tokio::test(start_paused = true)]
async fn a_restart_keeps_what_was_learnt_and_quiet_pairs_stay_fetched_less() {
    let mut h = over_budget().await;
    let start = tokio::time::Instant::now();
    h.start_worker();
    h.start_scheduler();
    for minute in 0..8 * 60 {
        change(&h, 1, minute);
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    h.stop().await;
    let before = h
        .engine
        .refresh_policy()
        .learnt_pair(pid(2), day(1))
        .expect("a quiet pair was fetched");
    assert!(before.observations.len() >= 2, "{before:?}");

    h.restart().await;
    assert_eq!(h.engine.refresh_policy().learnt_pair(pid(2), day(1)), None);
    h.engine.share_learning().await.unwrap();
    let after = h
        .engine
        .refresh_policy()
        .learnt_pair(pid(2), day(1))
        .expect("the restarted process loaded what was learnt");
    assert_eq!(after, before);
    assert!(after.observations.iter().all(|o| !o.changed));

    h.start_worker();
    h.start_scheduler();
    for minute in 8 * 60..12 * 60 {
        change(&h, 1, minute);
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    h.stop().await;
    let restarted = calls_between(&h, start, 8, 12);
    for quiet in 2..=8 {
        assert!(
            restarted[1] > 2 * restarted[quiet],
            "after the restart, changing product 1 fetched {} times, quiet product {quiet} {}: \
             {restarted:?}",
            restarted[1],
            restarted[quiet]
        );
    }
}

/// Upkeep recomputes the demand and freshness (what `/metrics` shows) without a run being
/// planned or the status read: the gauges stay current between runs.
#[tokio::test(start_paused = true)]
async fn upkeep_recomputes_the_demand_between_runs() {
    let h = Harness::new(&[1, 2], 30).await;
    crate::harness::seed_jobs(&h.store).await;
    assert_eq!(
        h.engine.demand().calls_per_minute,
        0.0,
        "nothing computed yet"
    );
    tickete_core::engine::upkeep::share_learning(&h.engine).await;
    let demand = h.engine.demand();
    // 2 products: today every 15 min, the next 6 days every 4 h, the rest daily.
    let expected = 2.0 * (1.0 / 15.0 + 6.0 / 240.0 + 23.0 / 1440.0);
    assert!(
        (demand.calls_per_minute - expected).abs() < 1e-9,
        "{demand:?}"
    );
}

/// Over budget for 12 hours, every product's days changing every half hour, 17 reads a
/// minute through the public routes' counting (`Engine::note_read_by`): 10 of product 1
/// (60 % of all reads), one of each of products 2..8, over the month's dates. Each read of products 2..8 comes from its own shopper; those of
/// product 1 from their own shoppers too, or all from `one_client`. Returns the calls per
/// product in hours 4..12 (after the first fill) and product 1's read boost on today.
async fn fetches_under_reads(one_client: bool) -> (Vec<usize>, f64) {
    let mut h = over_budget().await;
    let start = tokio::time::Instant::now();
    h.start_worker();
    h.start_scheduler();
    let mut shopper = 0u32;
    let mut address = || {
        shopper += 1;
        std::net::IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + shopper))
    };
    let hammering = std::net::IpAddr::from([192, 0, 2, 1]);
    for minute in 0..12 * 60u64 {
        if minute % 30 == 0 {
            for product in 1..=8 {
                change(&h, product, minute);
            }
        }
        for reader in 0..17u64 {
            let offset = (minute * 17 + reader) % 30;
            let (product, client) = match reader {
                0..=9 if one_client => (1, hammering),
                0..=9 => (1, address()),
                _ => (reader as u32 - 8, address()),
            };
            h.engine.note_read_by(client, pid(product), day(offset));
        }
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    h.stop().await;
    let boost = h.engine.refresh_policy().read_boost(pid(1), day(0));
    (calls_between(&h, start, 4, 12), boost)
}

/// A product many shoppers read is fetched more: as much more as they read it, not capped
/// per product.
#[tokio::test(start_paused = true)]
async fn a_product_many_shoppers_read_is_fetched_more() {
    let (calls, boost) = fetches_under_reads(false).await;
    assert!(boost > 4.0, "boost {boost}");
    for quiet in 2..=8 {
        assert!(
            2 * calls[1] > 3 * calls[quiet],
            "product 1 (60 % of reads) fetched {} times, product {quiet} {}: {calls:?}",
            calls[1],
            calls[quiet]
        );
    }
}

/// One client making the same reads (60 % of all, on one product) does not steer the
/// budget: its repeated reads count once a window, so the product it hammers is fetched no
/// more than the products shoppers read.
#[tokio::test(start_paused = true)]
async fn one_client_hammering_a_product_does_not_take_the_budget() {
    let (calls, _) = fetches_under_reads(true).await;
    let most_quiet = (2..=8).map(|quiet| calls[quiet]).max().unwrap();
    assert!(
        4 * calls[1] <= 5 * most_quiet,
        "hammered product 1 fetched {} times, the most of products 2..8 {most_quiet}: {calls:?}",
        calls[1]
    );
}

/// Sharing the learnt state loads what was fetched since the previous load (with a short
/// overlap), not the same pairs again and again: after a fill, with nothing fetched since
/// (sync paused), loads a few minutes later read nothing (every pair of a fill of
/// 60,000 was read back every minute, a second of the server's CPU each time).
#[tokio::test(start_paused = true)]
async fn sharing_the_learnt_state_reads_only_what_was_fetched_since_the_last_load() {
    use tickete_core::learning::Learning;
    use tickete_core::Clock;
    let h = Harness::new(&[1, 2], 30).await;
    let now = h.clock.now();
    for (product, date) in [(1, 0), (1, 1), (2, 0)] {
        h.store
            .record_fetch(pid(product), day(date), true, false, now)
            .await
            .unwrap();
    }
    assert_eq!(
        h.engine.share_learning().await.unwrap(),
        3,
        "the first load reads all"
    );
    for _ in 0..2 {
        // Within the overlap the pairs may be read again; past it, never.
        tokio::time::advance(Duration::from_secs(3 * 60)).await;
        h.engine.share_learning().await.unwrap();
    }
    tokio::time::advance(Duration::from_secs(60)).await;
    assert_eq!(
        h.engine.share_learning().await.unwrap(),
        0,
        "nothing was fetched since the previous load"
    );
    let later = h.clock.now();
    h.store
        .record_fetch(pid(2), day(1), false, false, later)
        .await
        .unwrap();
    tokio::time::advance(Duration::from_secs(60)).await;
    assert_eq!(
        h.engine.share_learning().await.unwrap(),
        1,
        "the one new fetch"
    );
    assert!(h
        .engine
        .refresh_policy()
        .learnt_pair(pid(2), day(1))
        .is_some());
}
