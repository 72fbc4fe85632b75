//! Fallbacks that need no partner failure: reads rejected before any call (bad max ages,
//! dates outside the live window, unknown or disabled products, paused sync) and reads over
//! a live cap (`budget`). `each_fallback_says_why` also runs the cases of partner_failures.rs.

use std::time::{Duration, Instant};

use chrono::Days;
use reqwest::Method;
use serde_json::{json, Value};

use super::partner_failures::{
    a_failing_simulator_is_partner_error, a_slow_partner_times_out_and_the_fetch_lands_later,
    partner_errors_serve_the_stored_day,
};
use super::{read, slots_path, MAX_AGE_0};
use crate::support::{today, Options, TestServer};

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
