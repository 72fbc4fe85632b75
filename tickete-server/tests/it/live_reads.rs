//! Live reads end to end (SPEC §2 "Live reads"): a reader's `Cache-Control: max-age=N` or
//! `?maxAge=N` on the slots routes fetches the day from the partner now when the stored day is
//! older, within the pacer and the live caps; every fallback is a 200 with the stored body
//! and a `Tickete-Freshness` that says why.

use std::time::{Duration, Instant};

use chrono::{DateTime, Days, NaiveDate, Utc};
use reqwest::Method;
use rust_decimal::Decimal;
use serde_json::{json, Value};
use tickete_core::testing::{assert_served_slots, decimal};
use tickete_core::validate::RawSlot;
use tickete_core::ProductId;
use tickete_partner::sim::{SimConfig, Simulator};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{today, Options, Partner, TestServer};

const MAX_AGE_0: (&str, &str) = ("Cache-Control", "max-age=0");

/// One answer of a slots route, headers as the client sees them.
#[derive(Debug)]
struct Answer {
    status: u16,
    age: Option<u64>,
    freshness: Option<String>,
    last_modified: Option<String>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is JSON ({e}): {}", self.body))
    }

    fn slots(&self) -> Vec<Value> {
        self.json()["slots"]
            .as_array()
            .unwrap_or_else(|| panic!("a slots body: {}", self.body))
            .clone()
    }

    fn last_modified_at(&self) -> Option<DateTime<Utc>> {
        self.last_modified.as_deref().map(|text| {
            DateTime::parse_from_rfc2822(text)
                .unwrap_or_else(|e| panic!("Last-Modified `{text}` is an HTTP date: {e}"))
                .with_timezone(&Utc)
        })
    }
}

async fn read(server: &TestServer, path: &str, headers: &[(&str, &str)]) -> Answer {
    let response = server.get_with(path, headers).await;
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|value| value.to_str().unwrap().to_owned())
    };
    let age = header("age").map(|text| {
        text.parse::<u64>()
            .unwrap_or_else(|e| panic!("Age `{text}` is whole seconds: {e}"))
    });
    let freshness = header("tickete-freshness");
    let last_modified = header("last-modified");
    Answer {
        status: response.status().as_u16(),
        age,
        freshness,
        last_modified,
        body: response.text().await.unwrap(),
    }
}

fn slots_path(product: u32, date: NaiveDate) -> String {
    format!("/api/v1/experience/{product}/slots?date={date}")
}

fn id(product: u32) -> ProductId {
    ProductId::new(product).unwrap()
}

/// The first date at least `from` days ahead on which the simulator's `product` has slots.
fn open_day(sim: &Simulator, product: u32, from: u64) -> NaiveDate {
    (from..from + 14)
        .map(|ahead| today() + Days::new(ahead))
        .find(|date| !sim.day(id(product), *date).unwrap().is_empty())
        .unwrap_or_else(|| panic!("product {product} has slots within two weeks of +{from}"))
}

/// Successful partner answers the simulator gave for (product, date), and the changes its
/// answer went through since the simulator started.
fn day_counts(sim: &Simulator, product: u32, date: NaiveDate) -> (u64, u64) {
    sim.stats()
        .days
        .iter()
        .find(|day| day.product_id == product && day.date == date)
        .map_or((0, 0), |day| (day.fetches, day.changes))
}

fn fetches_of(sim: &Simulator, product: u32, date: NaiveDate) -> u64 {
    day_counts(sim, product, date).0
}

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

/// Reads rejected before any partner call: bad max ages, dates outside the live window,
/// unknown products, a disabled product, paused sync.
async fn fallbacks_without_partner_calls() {
    let server = TestServer::start(Options::default()).await;
    let sim = server.sim.clone().unwrap();
    let date = today() + Days::new(1);
    let path = slots_path(14, date);

    for bad in ["-1", "86401", "abc", "1.5", ""] {
        for route in [
            path.clone(),
            format!("/api/v1/products/14/slots?date={date}"),
        ] {
            let (status, body) = server.get(&format!("{route}&maxAge={bad}")).await;
            assert_eq!(status, 400, "maxAge={bad}: {body}");
            assert_eq!(body["statusCode"], 400, "{body}");
            let message = body["message"].as_str().unwrap();
            assert!(message.contains("maxAge"), "maxAge={bad}: {message}");
        }
    }
    for bad in [
        "max-age=x",
        "max-age=-1",
        "max-age=86401",
        "max-age=",
        "max-age",
        "no-store, max-age=1.5",
    ] {
        let response = server.get_with(&path, &[("Cache-Control", bad)]).await;
        assert_eq!(response.status().as_u16(), 400, "Cache-Control: {bad}");
        let body: Value = response.json().await.unwrap();
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains("Cache-Control"),
            "Cache-Control: {bad}: {message}"
        );
    }

    // Outside [today, today + 62 days): the same answer as without a max age, no partner call.
    for outside in [
        today() - Days::new(1),
        today() + Days::new(62),
        today() + Days::new(100),
    ] {
        let path = slots_path(14, outside);
        let plain = read(&server, &path, &[]).await;
        for asked in [
            read(&server, &path, &[MAX_AGE_0]).await,
            read(&server, &format!("{path}&maxAge=0"), &[]).await,
        ] {
            assert_eq!(
                (asked.status, &asked.body),
                (plain.status, &plain.body),
                "{outside}"
            );
            assert_eq!(asked.freshness, None, "{outside}: {asked:?}");
        }
    }

    // An unknown product is a 404 whatever the max age.
    for unknown in [
        format!("/api/v1/experience/99/slots?date={date}"),
        format!("/api/v1/products/99/slots?date={date}&maxAge=0"),
    ] {
        let answer = read(&server, &unknown, &[MAX_AGE_0]).await;
        assert_eq!(answer.status, 404, "{unknown}: {}", answer.body);
        assert_eq!(answer.freshness, None, "{unknown}");
    }

    // A disabled product gets no partner call: `budget`.
    let (status, body) = server
        .admin(
            Method::PUT,
            "/api/v1/admin/products/15",
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let disabled = read(&server, &slots_path(15, date), &[MAX_AGE_0]).await;
    assert_eq!(disabled.status, 200, "{}", disabled.body);
    assert_eq!(
        disabled.freshness.as_deref(),
        Some("budget"),
        "{disabled:?}"
    );
    assert_eq!(disabled.json(), json!({"slots": []}));
    assert_eq!(disabled.age, None, "never fetched: no Age");

    // Paused sync holds live reads too: `hold`.
    let (status, body) = server.admin(Method::POST, "/api/v1/sync/pause", None).await;
    assert_eq!(status, 200, "{body}");
    let held = read(&server, &path, &[MAX_AGE_0]).await;
    assert_eq!(held.status, 200, "{}", held.body);
    assert_eq!(held.freshness.as_deref(), Some("hold"), "{held:?}");
    assert_eq!(held.json(), json!({"slots": []}));

    let stats = sim.stats();
    assert_eq!(
        stats.requests, 0,
        "no partner call for any of these: {stats:?}"
    );
    server.stop().await;
}

fn fixture_for(date: NaiveDate) -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/partner/product-14_2025-03-25.json"
    );
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace("2025-03-25", &date.to_string());
    serde_json::from_str(&text).unwrap()
}

/// The partner fails after one good answer: the stored body, `partner-error`, never a 5xx.
async fn partner_errors_serve_the_stored_day() {
    let mock = MockServer::start().await;
    let route = "/api/v1/inventory/14";
    let good = today() + Days::new(2);
    let garbled = today() + Days::new(3);
    let day = fixture_for(good);
    Mock::given(method("GET"))
        .and(path(route))
        .and(query_param("date", good.to_string()))
        .respond_with(ResponseTemplate::new(200).set_body_json(&day))
        .up_to_n_times(1)
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path(route))
        .and(query_param("date", garbled.to_string()))
        .respond_with(ResponseTemplate::new(200).set_body_string("this is not json"))
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(ResponseTemplate::new(500).set_body_string("upstream exploded"))
        .mount(&mock)
        .await;
    let server = TestServer::start(Options {
        partner: Partner::Url(mock.uri()),
        products: "14",
        ..Options::default()
    })
    .await;
    let path_good = slots_path(14, good);
    let fetched = read(&server, &path_good, &[MAX_AGE_0]).await;
    assert_eq!(fetched.status, 200, "{}", fetched.body);
    assert_eq!(fetched.freshness, None, "{fetched:?}");
    assert_eq!(fetched.age, Some(0));
    assert_eq!(fetched.slots().len(), day.len(), "{}", fetched.body);
    let modified = fetched.last_modified.clone().expect("Last-Modified");

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let failed = read(&server, &path_good, &[MAX_AGE_0]).await;
    assert_eq!(failed.status, 200, "{}", failed.body);
    assert_eq!(
        failed.freshness.as_deref(),
        Some("partner-error"),
        "{failed:?}"
    );
    assert_eq!(failed.body, fetched.body, "the stored body");
    assert!(failed.age.is_some_and(|age| age >= 1), "{failed:?}");
    assert_eq!(failed.last_modified.as_deref(), Some(modified.as_str()));
    let wrapped = read(
        &server,
        &format!("/api/v1/products/14/slots?date={good}&maxAge=0"),
        &[],
    )
    .await;
    assert_eq!(wrapped.status, 200, "{}", wrapped.body);
    assert_eq!(wrapped.freshness.as_deref(), Some("partner-error"));
    assert_eq!(
        wrapped.json(),
        json!({"data": fetched.json(), "statusCode": 200})
    );

    // An answer that cannot be kept, on a day never fetched: the empty stored body.
    let garbage = read(&server, &slots_path(14, garbled), &[MAX_AGE_0]).await;
    assert_eq!(garbage.status, 200, "{}", garbage.body);
    assert_eq!(
        garbage.freshness.as_deref(),
        Some("partner-error"),
        "{garbage:?}"
    );
    assert_eq!(garbage.json(), json!({"slots": []}));
    assert_eq!(garbage.age, None);

    let calls = mock.received_requests().await.unwrap();
    let for_good = calls
        .iter()
        .filter(|call| call.url.query() == Some(&format!("date={good}")))
        .count();
    assert_eq!(for_good, 3, "one good and two failed partner calls");

    // A 429 holds partner calls: `hold`, for this read and the next, which calls nobody.
    let limited = today() + Days::new(4);
    let reset = Utc::now() + chrono::Duration::seconds(30);
    Mock::given(method("GET"))
        .and(path(route))
        .and(query_param("date", limited.to_string()))
        .respond_with(ResponseTemplate::new(429).set_body_json(
            json!({"rateLimitState": {"reset": reset.timestamp_millis(), "remaining": 0}}),
        ))
        .with_priority(1)
        .mount(&mock)
        .await;
    let refused = read(&server, &slots_path(14, limited), &[MAX_AGE_0]).await;
    assert_eq!(refused.status, 200, "{}", refused.body);
    assert_eq!(refused.freshness.as_deref(), Some("hold"), "{refused:?}");
    assert_eq!(refused.json(), json!({"slots": []}));
    let calls = mock.received_requests().await.unwrap().len();
    let held = read(&server, &path_good, &[MAX_AGE_0]).await;
    assert_eq!(held.status, 200, "{}", held.body);
    assert_eq!(held.freshness.as_deref(), Some("hold"), "{held:?}");
    assert_eq!(held.body, fetched.body, "the stored body");
    assert_eq!(
        mock.received_requests().await.unwrap().len(),
        calls,
        "no partner call while held"
    );
    server.stop().await;
}

/// The simulator failing every call (5xx), refusing our key (401), or not knowing the
/// product (404): `partner-error`, a 200 with the stored (empty) body, never a 5xx.
async fn a_failing_simulator_is_partner_error() {
    let failing = SimConfig {
        rate_limit: 0,
        change_rate: 0.0,
        error_rate: 1.0,
        ..SimConfig::default()
    };
    let other_key = SimConfig {
        rate_limit: 0,
        change_rate: 0.0,
        api_key: Some("not-our-key".into()),
        ..SimConfig::default()
    };
    for (what, config) in [("5xx", failing), ("401", other_key)] {
        let server = TestServer::start(Options {
            partner: Partner::Sim(config),
            products: "14,500",
            ..Options::default()
        })
        .await;
        let sim = server.sim.clone().unwrap();
        let date = today() + Days::new(1);
        for product in [14, 500] {
            let answer = read(&server, &slots_path(product, date), &[MAX_AGE_0]).await;
            assert_eq!(answer.status, 200, "{what}, {product}: {}", answer.body);
            assert_eq!(
                answer.freshness.as_deref(),
                Some("partner-error"),
                "{what}, {product}: {answer:?}"
            );
            assert_eq!(answer.json(), json!({"slots": []}), "{what}, {product}");
        }
        let stats = sim.stats();
        assert_eq!(stats.requests, 2, "{what}: one call per read: {stats:?}");
        assert_eq!(stats.served, 0, "{what}: {stats:?}");
        server.stop().await;
    }
}

/// The partner is slower than the live wait: `timeout` at the wait, and the fetch lands for
/// the next reader.
async fn a_slow_partner_times_out_and_the_fetch_lands_later() {
    let server = TestServer::start(Options {
        partner: Partner::Sim(SimConfig {
            rate_limit: 0,
            change_rate: 0.0,
            latency: Duration::from_secs(2),
            ..SimConfig::default()
        }),
        live_wait_ms: Some(300),
        ..Options::default()
    })
    .await;
    let sim = server.sim.clone().unwrap();
    let date = open_day(&sim, 14, 1);
    let path = slots_path(14, date);
    let asked = Instant::now();
    let timed_out = read(&server, &path, &[MAX_AGE_0]).await;
    let waited = asked.elapsed();
    assert_eq!(timed_out.status, 200, "{}", timed_out.body);
    assert_eq!(
        timed_out.freshness.as_deref(),
        Some("timeout"),
        "{timed_out:?}"
    );
    assert_eq!(timed_out.json(), json!({"slots": []}), "nothing stored yet");
    assert_eq!(timed_out.age, None);
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_millis(1500),
        "answered at the live wait (300 ms), not the partner's 2 s: {waited:?}"
    );

    // Plain reads (no live fetch of their own) until the call lands.
    let deadline = Instant::now() + Duration::from_secs(6);
    loop {
        let plain = read(&server, &path, &[]).await;
        if plain.last_modified.is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "the live fetch never landed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let fresh = read(&server, &format!("{path}&maxAge=60"), &[]).await;
    assert_eq!(fresh.status, 200, "{}", fresh.body);
    assert_eq!(fresh.freshness, None, "{fresh:?}");
    assert!(fresh.age.is_some_and(|age| age <= 2), "{fresh:?}");
    assert_served_slots(
        &fresh.slots(),
        &sim.day(id(14), date).unwrap(),
        "after the timeout",
    );
    assert_eq!(sim.stats().requests, 1, "one partner call in all");
    server.stop().await;
}

/// Over the client's allowance or the live share of the budget: `budget`, the stored body.
async fn over_a_cap_is_budget() {
    let server = TestServer::start(Options {
        rate_per_minute: 600,
        trust_forwarded_for: true,
        // 0.005 × 600 = 3 live fetches a minute in all, 2 per client.
        live_share: Some(0.005),
        live_per_client_per_minute: Some(2),
        ..Options::default()
    })
    .await;
    let sim = server.sim.clone().unwrap();
    let day = |ahead: u64| today() + Days::new(ahead);
    let from = |client: &'static str| [MAX_AGE_0, ("X-Forwarded-For", client)];

    let mut first = None;
    for ahead in [1, 2] {
        let answer = read(&server, &slots_path(14, day(ahead)), &from("10.0.0.1")).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.freshness, None, "+{ahead}: {answer:?}");
        assert_eq!(answer.age, Some(0), "+{ahead}");
        first.get_or_insert(answer);
    }
    let third = read(&server, &slots_path(14, day(3)), &from("10.0.0.1")).await;
    assert_eq!(third.status, 200, "{}", third.body);
    assert_eq!(third.freshness.as_deref(), Some("budget"), "{third:?}");
    assert_eq!(third.json(), json!({"slots": []}));
    assert_eq!(sim.stats().requests, 2, "no call for the third date");

    // Another client has its own allowance, until the live share (3) is spent.
    let other = read(&server, &slots_path(14, day(4)), &from("10.0.0.2")).await;
    assert_eq!(other.freshness, None, "{other:?}");
    assert_eq!(other.age, Some(0));
    let over_share = read(&server, &slots_path(14, day(5)), &from("10.0.0.2")).await;
    assert_eq!(over_share.status, 200, "{}", over_share.body);
    assert_eq!(
        over_share.freshness.as_deref(),
        Some("budget"),
        "{over_share:?}"
    );
    assert_eq!(sim.stats().requests, 3);

    // A stored day over the cap: its stored body, with its age.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let first = first.unwrap();
    let again = read(&server, &slots_path(14, day(1)), &from("10.0.0.1")).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.freshness.as_deref(), Some("budget"), "{again:?}");
    assert_eq!(again.body, first.body);
    assert!(again.age.is_some_and(|age| age >= 1), "{again:?}");
    assert_eq!(sim.stats().requests, 3);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fallback_says_why() {
    let started = Instant::now();
    tokio::join!(
        fallbacks_without_partner_calls(),
        partner_errors_serve_the_stored_day(),
        a_failing_simulator_is_partner_error(),
        a_slow_partner_times_out_and_the_fetch_lands_later(),
        over_a_cap_is_budget(),
    );
    eprintln!("each_fallback_says_why: {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_concurrent_readers_of_one_pair_cause_one_partner_call() {
    let started = Instant::now();
    let server = TestServer::start(Options {
        partner: Partner::Sim(SimConfig {
            rate_limit: 0,
            change_rate: 0.0,
            // Long enough that every reader arrives while the one call is in flight.
            latency: Duration::from_millis(500),
            ..SimConfig::default()
        }),
        ..Options::default()
    })
    .await;
    let sim = server.sim.clone().unwrap();
    let date = open_day(&sim, 14, 4);
    let path = slots_path(14, date);
    let readers = (0..30).map(|_| read(&server, &path, &[MAX_AGE_0]));
    let answers = futures::future::join_all(readers).await;
    for (reader, answer) in answers.iter().enumerate() {
        assert_eq!(answer.status, 200, "reader {reader}: {}", answer.body);
        assert_eq!(answer.freshness, None, "reader {reader}: {answer:?}");
        assert_eq!(answer.age, Some(0), "reader {reader}");
        assert_eq!(
            answer.body, answers[0].body,
            "reader {reader}: the same body"
        );
    }
    assert_served_slots(
        &answers[0].slots(),
        &sim.day(id(14), date).unwrap(),
        "shared read",
    );
    let stats = sim.stats();
    assert_eq!(fetches_of(&sim, 14, date), 1, "one call for the pair");
    assert_eq!(stats.requests, 1, "one partner call in all: {stats:?}");
    server.stop().await;
    eprintln!("ten_concurrent_readers: {:?}", started.elapsed());
}

/// The value of the series `name` (with its labels, exactly as rendered), if present.
fn metric(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let (name, value) = line.rsplit_once(' ')?;
        (name == series).then(|| value.parse().unwrap())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_reads_show_in_metrics() {
    let started = Instant::now();
    let server = TestServer::start(Options::default()).await;
    // The recorder is process-wide and other tests run beside this one: compare with a
    // snapshot, at least what this test caused.
    let before = server.text("/metrics", &[]).await;
    let outcome = |name: &str| format!("tickete_live_reads_total{{outcome=\"{name}\"}}");
    let count = |metrics: &str, series: &str| metric(metrics, series).unwrap_or(0.0);

    let sim = server.sim.clone().unwrap();
    // `no-cache` counts as max-age=0, and so does `?maxAge=0`.
    let first = slots_path(14, today() + Days::new(1));
    let answer = read(&server, &first, &[("Cache-Control", "no-cache")]).await;
    assert_eq!((answer.freshness, answer.age), (None, Some(0)));
    let second = format!("{}&maxAge=0", slots_path(14, today() + Days::new(2)));
    let answer = read(&server, &second, &[]).await;
    assert_eq!((answer.freshness, answer.age), (None, Some(0)));
    assert_eq!(sim.stats().requests, 2);
    // Of `?maxAge` and `Cache-Control: max-age`, the smaller applies.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let young_enough = read(&server, &format!("{first}&maxAge=86400"), &[]).await;
    assert_eq!(young_enough.freshness, None);
    assert!(
        young_enough.age.is_some_and(|age| age >= 1),
        "{young_enough:?}"
    );
    assert_eq!(sim.stats().requests, 2, "a day younger than asked: no call");
    let smaller = read(&server, &format!("{first}&maxAge=86400"), &[MAX_AGE_0]).await;
    assert_eq!((smaller.freshness, smaller.age), (None, Some(0)));
    assert_eq!(sim.stats().requests, 3);
    let (status, body) = server
        .admin(
            Method::PUT,
            "/api/v1/admin/products/15",
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let budget = read(&server, &slots_path(15, today()), &[MAX_AGE_0]).await;
    assert_eq!(budget.freshness.as_deref(), Some("budget"));
    let (status, body) = server.admin(Method::POST, "/api/v1/sync/pause", None).await;
    assert_eq!(status, 200, "{body}");
    let hold = read(
        &server,
        &slots_path(14, today() + Days::new(3)),
        &[MAX_AGE_0],
    )
    .await;
    assert_eq!(hold.freshness.as_deref(), Some("hold"));

    let after = server.text("/metrics", &[]).await;
    for (name, caused) in [("fetched", 3.0), ("budget", 1.0), ("hold", 1.0)] {
        let series = outcome(name);
        let now = metric(&after, &series).unwrap_or_else(|| panic!("{series} in:\n{after}"));
        assert!(
            now >= count(&before, &series) + caused,
            "{series}: {now}, was {}",
            count(&before, &series)
        );
    }
    assert!(
        after.contains("tickete_live_wait_seconds"),
        "tickete_live_wait_seconds in:\n{after}"
    );
    let waits = "tickete_live_wait_seconds_count";
    let now = metric(&after, waits).unwrap_or_else(|| panic!("{waits} in:\n{after}"));
    assert!(
        now >= count(&before, waits) + 5.0,
        "{waits}: {now}, was {}",
        count(&before, waits)
    );
    server.stop().await;
    eprintln!("live_reads_show_in_metrics: {:?}", started.elapsed());
}
