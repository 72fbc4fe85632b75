//! Fallbacks when the partner fails: errors and unusable answers (`partner-error`), a 429
//! (`hold`), and a partner slower than the live wait (`timeout`). Run by
//! `fallbacks::each_fallback_says_why`.

use std::time::{Duration, Instant};

use chrono::{Days, NaiveDate, Utc};
use serde_json::{json, Value};
use tickete_core::testing::assert_served_slots;
use tickete_partner_sim::SimConfig;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::{id, open_day, read, slots_path, MAX_AGE_0};
use crate::support::{today, Options, Partner, TestServer};

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
pub(super) async fn partner_errors_serve_the_stored_day() {
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
pub(super) async fn a_failing_simulator_is_partner_error() {
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
pub(super) async fn a_slow_partner_times_out_and_the_fetch_lands_later() {
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
