//! What a `max-age=0` read returns: the partner's answer of that moment, with `Age: 0` and a
//! `Last-Modified` of the read, while scheduled work shares the pacer.

use std::time::{Duration, Instant};

use chrono::Utc;
use rust_decimal::Decimal;
use serde_json::Value;
use tickete_core::testing::{assert_served_slots, decimal};
use tickete_core::validate::RawSlot;
use tickete_partner_sim::SimConfig;

use super::{day_counts, id, open_day, read, slots_path, MAX_AGE_0};
use crate::support::{Options, Partner, TestServer};

/// What a slots body says that the partner decides: per slot its start time and seats, per
/// pax its type, seats and final price.
#[derive(Debug, PartialEq)]
struct SlotView {
    start_time: String,
    remaining: i64,
    pax: Vec<(String, i64, Decimal)>,
}

fn view_of_served(slots: &[Value]) -> Vec<SlotView> {
    slots
        .iter()
        .map(|slot| SlotView {
            start_time: slot["startTime"].as_str().unwrap().to_owned(),
            remaining: slot["remaining"].as_i64().unwrap(),
            pax: slot["paxAvailability"]
                .as_array()
                .unwrap()
                .iter()
                .map(|pax| {
                    (
                        pax["type"].as_str().unwrap().to_owned(),
                        pax["remaining"].as_i64().unwrap(),
                        decimal(&pax["price"]["finalPrice"]),
                    )
                })
                .collect(),
        })
        .collect()
}

fn view_of_truth(truth: &[RawSlot]) -> Vec<SlotView> {
    let mut slots: Vec<&RawSlot> = truth.iter().collect();
    slots.sort_by(|a, b| a.start_time.cmp(&b.start_time));
    slots
        .into_iter()
        .map(|slot| SlotView {
            start_time: slot.start_time.clone(),
            remaining: slot.remaining,
            pax: slot
                .pax_availability
                .iter()
                .map(|pax| (pax.pax_type.clone(), pax.remaining, pax.price.final_price))
                .collect(),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_age_zero_reads_return_the_partners_data_of_that_moment() {
    const RATE: u32 = 120;
    const ROUNDS: usize = 6;
    let started = Instant::now();
    let server = TestServer::start(Options {
        partner: Partner::Sim(SimConfig {
            rate_limit: RATE,
            // About one change every 2 s per day: a day read a round ago is likely stale.
            change_rate: 1800.0,
            ..SimConfig::default()
        }),
        products: "14,15",
        rate_per_minute: RATE,
        // The first-start runs queue the next 30 days of both products: the pacer is busy
        // with scheduled work throughout, and live reads must go ahead of it.
        jobs_enabled: true,
        live_per_client_per_minute: Some(30),
        ..Options::default()
    })
    .await;
    let sim = server.sim.clone().unwrap();
    // Dates beyond every job's window (30 days), so only the live reads fetch them and each
    // answer can be held to the partner's answer of its moment.
    let pairs = [
        (14, open_day(&sim, 14, 35), false),
        (15, open_day(&sim, 15, 35), true),
    ];
    let mut previous: Vec<Option<Vec<SlotView>>> = vec![None, None];
    let mut changed_since_last_round = 0;
    let mut compared = 0;
    for round in 0..ROUNDS {
        if round > 0 {
            // The stored day must be older than 0 s (whole seconds) to count as too old.
            tokio::time::sleep(Duration::from_millis(1100)).await;
        }
        for (index, &(product, date, wrapped)) in pairs.iter().enumerate() {
            let what = format!("round {round}, product {product} on {date}");
            let path = match wrapped {
                true => format!("/api/v1/products/{product}/slots?date={date}"),
                false => slots_path(product, date),
            };
            let truth_before = sim.day(id(product), date).unwrap();
            let (fetches_before, changes_before) = day_counts(&sim, product, date);
            let sent = Utc::now();
            let answer = read(&server, &path, &[MAX_AGE_0]).await;
            let received = Utc::now();
            let truth_after = sim.day(id(product), date).unwrap();
            let (fetches_after, changes_after) = day_counts(&sim, product, date);

            assert_eq!(answer.status, 200, "{what}: {}", answer.body);
            assert_eq!(
                answer.freshness, None,
                "{what}: a live read fell back to the store"
            );
            assert_eq!(answer.age, Some(0), "{what}: Age of a live read");
            let modified = answer
                .last_modified_at()
                .unwrap_or_else(|| panic!("{what}: Last-Modified on a live read"));
            assert!(
                modified >= sent - chrono::Duration::seconds(1) && modified <= received,
                "{what}: Last-Modified {modified} is the moment of the read ({sent}..{received})"
            );
            assert_eq!(
                fetches_after,
                fetches_before + 1,
                "{what}: one partner call for the pair during the read"
            );
            let served = if wrapped {
                let body = answer.json();
                assert_eq!(body["statusCode"], 200, "{what}");
                body["data"]["slots"].as_array().unwrap().clone()
            } else {
                answer.slots()
            };
            let served_view = view_of_served(&served);
            match changes_after - changes_before {
                // The partner's answer did not move during the read: exactly it.
                0 => {
                    assert_served_slots(&served, &truth_after, &what);
                    assert_eq!(served_view, view_of_truth(&truth_after), "{what}");
                    compared += 1;
                }
                // It moved once during the read: the partner was asked on one side of it.
                1 => {
                    assert!(
                        served_view == view_of_truth(&truth_before)
                            || served_view == view_of_truth(&truth_after),
                        "{what}: served {served_view:?}\nbefore {truth_before:?}\nafter {truth_after:?}"
                    );
                    compared += 1;
                }
                // Moved more than once (rare): the answer of the moment is not known here.
                more => eprintln!("{what}: {more} changes during the read, not compared"),
            }
            if previous[index]
                .as_ref()
                .is_some_and(|last| *last != served_view)
            {
                changed_since_last_round += 1;
            }
            previous[index] = Some(served_view);
        }
    }
    let reads = ROUNDS * pairs.len();
    assert!(
        compared + 3 >= reads,
        "{compared} of {reads} reads compared with the partner's answer"
    );
    assert!(
        changed_since_last_round > 0,
        "the partner's data changed between rounds, so a stored answer would have been stale"
    );
    let stats = sim.stats();
    assert_eq!(stats.rate_limited, 0, "no 429 from the partner: {stats:?}");
    assert!(
        stats.max_requests_in_60s <= u64::from(RATE),
        "at most {RATE} calls in any 60 s: {}",
        stats.max_requests_in_60s
    );
    // The pacer was busy: scheduled work took turns beside the live reads.
    assert!(
        stats.requests > reads as u64 + 3,
        "scheduled work ran beside the live reads: {} partner calls",
        stats.requests
    );
    eprintln!(
        "{compared} of {reads} compared, {changed_since_last_round} changed between rounds, \
         {} partner calls, at most {} in 60 s",
        stats.requests, stats.max_requests_in_60s
    );
    server.stop().await;
    eprintln!("max_age_zero_reads: {:?}", started.elapsed());
}
