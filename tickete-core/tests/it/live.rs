//! Live reads on a paused clock: a reader's fetch goes ahead of queued work within one pacing
//! interval, concurrent readers share one call, both caps hold, every fallback says why, and
//! the pacer's ceiling is never passed.

use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::time::Duration;

use tickete_core::engine::{LiveOutcome, LiveSettings, RunRequest};
use tickete_core::store::prelude::*;
use tickete_core::testing::sample_day;
use tickete_core::{Clock, EngineConfig, SourceError};

use crate::harness::{day, max_calls_in_any_minute, pid, Harness};

fn client(last: u8) -> Option<IpAddr> {
    Some(IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)))
}

async fn busy(products: u32, rate: u32, live: LiveSettings) -> Harness {
    let ids: Vec<u32> = (1..=products).collect();
    let config = EngineConfig {
        rate_per_minute: NonZeroU32::new(rate).unwrap(),
        live,
        ..EngineConfig::default()
    };
    let mut h = Harness::with_config(&ids, config).await;
    h.start_worker();
    // A month of every product queued: far more than the budget.
    h.engine.start_run(RunRequest::next_days(30)).await.unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    h
}

#[tokio::test(start_paused = true)]
async fn a_live_read_goes_ahead_of_queued_work_within_one_pacing_interval() {
    let h = busy(40, 30, LiveSettings::default()).await;
    h.source
        .set_day(pid(7), day(20), sample_day(day(20), &["10:00"]).slots);
    let asked = tokio::time::Instant::now();
    let outcome = h
        .engine
        .live_fetch(pid(7), day(20), Duration::ZERO, client(1))
        .await;
    let waited = asked.elapsed();
    assert_eq!(outcome, LiveOutcome::Fetched);
    assert!(waited <= Duration::from_secs(2), "waited {waited:?}");
    assert_eq!(h.source.calls_for(pid(7), day(20)), 1);
    let stored = h.store.served_slots(pid(7), day(20)).await.unwrap();
    assert_eq!(
        stored.synced_at,
        Some(h.clock.now()),
        "applied as it was fetched"
    );
    assert_eq!(h.store.slots(pid(7), day(20)).await.unwrap().len(), 1);

    // Readers keep asking while the month syncs: the partner never sees more than the rate.
    for round in 0..20u32 {
        let product = pid(1 + round % 40);
        h.engine
            .live_fetch(product, day(25), Duration::ZERO, client(2))
            .await;
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    let calls: Vec<_> = h.source.calls().iter().map(|call| call.at).collect();
    assert!(max_calls_in_any_minute(&calls) <= 30);
}

#[tokio::test(start_paused = true)]
async fn concurrent_readers_of_one_pair_share_one_partner_call() {
    let h = busy(5, 30, LiveSettings::default()).await;
    let readers: Vec<_> = (0..10u8)
        .map(|n| {
            let engine = h.engine.clone();
            tokio::spawn(async move {
                engine
                    .live_fetch(pid(3), day(9), Duration::ZERO, client(n))
                    .await
            })
        })
        .collect();
    for reader in readers {
        assert_eq!(reader.await.unwrap(), LiveOutcome::Fetched);
    }
    assert_eq!(h.source.calls_for(pid(3), day(9)), 1);

    // A reader who found the day too old just before that call landed takes it (it is within
    // the reader's max age) instead of a second call; an older landing does not serve.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let late = h
        .engine
        .live_fetch(pid(3), day(9), Duration::from_secs(10), client(1))
        .await;
    assert_eq!(late, LiveOutcome::Fetched);
    assert_eq!(h.source.calls_for(pid(3), day(9)), 1);
    let stricter = h
        .engine
        .live_fetch(pid(3), day(9), Duration::from_secs(2), client(1))
        .await;
    assert_eq!(stricter, LiveOutcome::Fetched);
    assert_eq!(h.source.calls_for(pid(3), day(9)), 2);
}

#[tokio::test(start_paused = true)]
async fn live_fetches_keep_to_their_share_of_the_budget_and_each_clients_allowance() {
    // 60 calls a minute, half for live reads: 30 a minute, at most 10 per client.
    let h = busy(40, 60, LiveSettings::default()).await;
    let mut outcomes = Vec::new();
    for n in 0..11u32 {
        outcomes.push(
            h.engine
                .live_fetch(pid(1 + n), day(12), Duration::ZERO, client(1))
                .await,
        );
    }
    assert!(
        outcomes[..10].iter().all(|o| *o == LiveOutcome::Fetched),
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes[10],
        LiveOutcome::Budget,
        "the client's 11th in a minute"
    );
    assert_eq!(
        h.source.calls_for(pid(11), day(12)),
        0,
        "refused, not fetched"
    );
    // Twenty more from other clients fill the minute's share of 30.
    for n in 0..20u32 {
        let outcome = h
            .engine
            .live_fetch(pid(1 + n), day(13), Duration::ZERO, client(10 + n as u8))
            .await;
        assert_eq!(outcome, LiveOutcome::Fetched, "reader {n}");
    }
    assert_eq!(
        h.engine
            .live_fetch(pid(30), day(14), Duration::ZERO, client(99))
            .await,
        LiveOutcome::Budget,
        "the 31st live fetch of the minute, from a new client"
    );
    assert_eq!(h.engine.live_fetches_last_minute(), 30);
    // A minute later the share is free again.
    tokio::time::sleep(Duration::from_secs(61)).await;
    assert_eq!(
        h.engine
            .live_fetch(pid(30), day(14), Duration::ZERO, client(99))
            .await,
        LiveOutcome::Fetched
    );
}

#[tokio::test(start_paused = true)]
async fn a_live_read_that_cannot_be_fetched_says_why_and_changes_nothing() {
    let h = busy(5, 30, LiveSettings::default()).await;
    // Partner error: the stored day is untouched.
    h.source
        .set_day(pid(2), day(3), sample_day(day(3), &["09:00"]).slots);
    assert_eq!(
        h.engine
            .live_fetch(pid(2), day(3), Duration::ZERO, client(1))
            .await,
        LiveOutcome::Fetched
    );
    let before = h.store.served_slots(pid(2), day(3)).await.unwrap();
    h.source
        .push_error(pid(2), day(3), SourceError::Permanent("bad key".into()));
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        h.engine
            .live_fetch(pid(2), day(3), Duration::ZERO, client(1))
            .await,
        LiveOutcome::PartnerError
    );
    assert_eq!(h.store.served_slots(pid(2), day(3)).await.unwrap(), before);

    // Timeout: the wait runs out, the fetch still lands for the next reader.
    h.source.set_delay(pid(4), day(5), Duration::from_secs(5));
    assert_eq!(
        h.engine
            .live_fetch(pid(4), day(5), Duration::ZERO, client(1))
            .await,
        LiveOutcome::Timeout
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(h
        .store
        .served_slots(pid(4), day(5))
        .await
        .unwrap()
        .synced_at
        .is_some());

    // The partner answers a live fetch with 429: the reader hears `hold`, every call waits
    // for the reset, and the next live read sends nothing.
    let until = h.clock.now() + chrono::Duration::minutes(5);
    h.source
        .push_error(pid(5), day(6), SourceError::RateLimited { reset_at: until });
    assert_eq!(
        h.engine
            .live_fetch(pid(5), day(6), Duration::ZERO, client(1))
            .await,
        LiveOutcome::Hold
    );
    assert_eq!(
        h.engine
            .live_fetch(pid(5), day(8), Duration::ZERO, client(1))
            .await,
        LiveOutcome::Hold
    );
    assert_eq!(h.source.calls_for(pid(5), day(8)), 0);

    // Paused: nothing is sent either.
    h.engine.clear_hold().await.unwrap();
    h.engine.pause().await.unwrap();
    assert_eq!(
        h.engine
            .live_fetch(pid(5), day(7), Duration::ZERO, client(1))
            .await,
        LiveOutcome::Hold
    );
    assert_eq!(h.source.calls_for(pid(5), day(7)), 0);
}

#[tokio::test(start_paused = true)]
async fn the_embedding_api_fetches_only_what_is_older_than_asked() {
    let h = busy(5, 30, LiveSettings::default()).await;
    h.source.set_day(
        pid(1),
        day(8),
        sample_day(day(8), &["08:00", "09:00"]).slots,
    );
    let first = h
        .engine
        .slots_no_older_than(pid(1), day(8), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(first.live, Some(LiveOutcome::Fetched));
    assert_eq!(first.slots.len(), 2);
    tokio::time::sleep(Duration::from_secs(30)).await;
    let second = h
        .engine
        .slots_no_older_than(pid(1), day(8), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(second.live, None, "30 s old is young enough");
    assert_eq!(second.synced_at, first.synced_at);
    assert_eq!(h.source.calls_for(pid(1), day(8)), 1);
}
