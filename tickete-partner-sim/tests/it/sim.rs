//! The simulator over real HTTP on loopback, and the client round-tripping it.

use std::sync::Arc;
use std::time::Duration;

use tickete_core::validate::validate_day;
use tickete_core::{Clock, InventorySource, ProductId, SourceError, SystemClock};
use tickete_partner_sim::{SimConfig, Simulator};
use tokio::net::TcpListener;

use crate::support::{client, client_with, date, quiet, ManualClock, RunningSim};

fn p(id: u32) -> ProductId {
    ProductId::new(id).unwrap()
}

#[tokio::test]
async fn the_client_round_trips_the_simulator() {
    let running = RunningSim::start(quiet()).await;
    let client = client(&running.url, None);
    for (product, day) in [
        (14, "2025-03-25"),
        (15, "2025-03-30"),
        (14, "2025-03-30"),
        (3, "2025-04-02"),
    ] {
        let fetched = client.fetch(p(product), date(day)).await.unwrap();
        let truth = running.sim.day(p(product), date(day)).unwrap();
        assert_eq!(
            fetched,
            validate_day(date(day), truth).unwrap(),
            "{product} {day}"
        );
    }
    let tuesday = client.fetch(p(14), date("2025-03-25")).await.unwrap();
    assert_eq!(tuesday.slots.len(), 9, "multi-slot weekday");
    assert_eq!(
        tuesday.slots[0].pax[0].price.final_price.to_string(),
        "212.14"
    );
    let sunday = client.fetch(p(15), date("2025-03-30")).await.unwrap();
    assert_eq!(sunday.slots.len(), 1, "single-slot Sunday");
    assert!(client
        .fetch(p(14), date("2025-03-30"))
        .await
        .unwrap()
        .slots
        .is_empty());
    running.stop().await;
}

#[tokio::test]
async fn the_wire_shape_is_the_partners() {
    let running = RunningSim::start(quiet()).await;
    let url = format!("{}/api/v1/inventory/14?date=2025-03-25", running.url);
    let body = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert!(body.starts_with('['), "{body}");
    for needle in [
        r#""startDate":"2025-03-25""#,
        r#""providerSlotId":"225532707686_2025-03-25T04:00""#,
        r#""finalPrice":212.14"#,
        r#""originalPrice":312.14"#,
        r#""isPrimary":true"#,
        r#""paxAvailability":["#,
        r#""currencyCode":"SGD""#,
        r#""variantId":32"#,
    ] {
        assert!(body.contains(needle), "missing {needle} in {body}");
    }
    let slots: serde_json::Value = serde_json::from_str(&body).unwrap();
    let with_child = slots
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["paxAvailability"].as_array().unwrap().len() == 2)
        .expect("some slot offers children");
    assert!(with_child["paxAvailability"][1].get("isPrimary").is_none());

    // Products beyond --products do not exist; malformed requests are 400s.
    let unknown = client(&running.url, None)
        .fetch(p(21), date("2025-03-25"))
        .await;
    assert!(matches!(unknown, Err(SourceError::UnknownProduct(m)) if m.contains("404")));
    for bad in [
        "14?date=25-03-2025",
        "14",
        "abc?date=2025-03-25",
        "0?date=2025-03-25",
    ] {
        let url = format!("{}/api/v1/inventory/{bad}", running.url);
        assert_eq!(reqwest::get(&url).await.unwrap().status(), 400, "{bad}");
    }
    let stats = running.sim.stats();
    assert_eq!(
        (stats.served, stats.not_found, stats.bad_request),
        (1, 1, 4)
    );
    running.stop().await;
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_the_reset_and_the_stats_see_the_burst() {
    let clock = ManualClock::new();
    let config = SimConfig {
        rate_limit: 5,
        window: Duration::from_secs(2),
        ..quiet()
    };
    let running = RunningSim::start_on(config, &clock).await;
    let start = clock.now();
    let client = client_with(
        &running.url,
        None,
        Duration::from_secs(5),
        Arc::new(clock.clone()),
    );
    for _ in 0..5 {
        client.fetch(p(14), date("2025-03-25")).await.unwrap();
    }
    for _ in 0..2 {
        match client.fetch(p(14), date("2025-03-25")).await {
            Err(SourceError::RateLimited { reset_at }) => {
                assert_eq!(reset_at, start + chrono::Duration::seconds(2))
            }
            other => panic!("expected 429, got {other:?}"),
        }
    }
    let url = format!("{}/api/v1/inventory/14?date=2025-03-25", running.url);
    let raw = reqwest::get(&url).await.unwrap();
    assert_eq!(raw.status(), 429);
    assert_eq!(raw.headers()["retry-after"], "2");
    let body: serde_json::Value = raw.json().await.unwrap();
    assert_eq!(
        body["rateLimitState"]["reset"].as_i64(),
        Some((start + chrono::Duration::seconds(2)).timestamp_millis())
    );

    clock.advance(Duration::from_secs(2));
    client.fetch(p(14), date("2025-03-25")).await.unwrap();

    let stats: serde_json::Value = reqwest::get(format!("{}/__sim/stats", running.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(stats["requests"], 9);
    assert_eq!(stats["served"], 6);
    assert_eq!(stats["rateLimited"], 3);
    assert_eq!(
        stats["maxRequestsInWindow"], 8,
        "8 requests inside the first 2 s"
    );
    assert_eq!(stats["maxRequestsIn60s"], 9);
    assert_eq!(stats["days"][0]["fetches"], 6);
    running.stop().await;
}

#[tokio::test]
async fn the_api_key_is_checked_when_configured() {
    let config = SimConfig {
        api_key: Some("sim-key".into()),
        ..quiet()
    };
    let running = RunningSim::start(config).await;
    for key in [None, Some("wrong")] {
        let result = client(&running.url, key)
            .fetch(p(14), date("2025-03-25"))
            .await;
        assert!(
            matches!(&result, Err(SourceError::Permanent(m)) if m.contains("API key")),
            "{result:?}"
        );
    }
    let ok = client(&running.url, Some("sim-key"))
        .fetch(p(14), date("2025-03-25"))
        .await;
    assert!(ok.is_ok(), "{ok:?}");
    assert_eq!(running.sim.stats().unauthorized, 2);
    assert!(!format!("{:?}", running.sim).contains("sim-key"));
    running.stop().await;
}

#[tokio::test]
async fn injected_server_errors_and_malformed_bodies_classify() {
    let errors = RunningSim::start(SimConfig {
        error_rate: 1.0,
        ..quiet()
    })
    .await;
    let client_e = client(&errors.url, None);
    for _ in 0..6 {
        let result = client_e.fetch(p(14), date("2025-03-25")).await;
        assert!(
            matches!(result, Err(SourceError::Transient(_))),
            "{result:?}"
        );
    }
    assert_eq!(errors.sim.stats().server_errors, 6);
    errors.stop().await;

    let malformed = RunningSim::start(SimConfig {
        malformed_rate: 1.0,
        ..quiet()
    })
    .await;
    let client_m = client(&malformed.url, None);
    for day in ["2025-03-25", "2025-03-30"] {
        for _ in 0..10 {
            let result = client_m.fetch(p(14), date(day)).await;
            assert!(
                matches!(result, Err(SourceError::InvalidResponse(_))),
                "{day}: {result:?}"
            );
        }
    }
    assert_eq!(malformed.sim.stats().malformed, 20);
    malformed.stop().await;
}

#[tokio::test]
async fn fault_rates_are_honoured_and_deterministic_per_seed() {
    let config = SimConfig {
        error_rate: 0.3,
        malformed_rate: 0.2,
        ..quiet()
    };
    let mut outcomes = Vec::new();
    for _ in 0..2 {
        let running = RunningSim::start(config.clone()).await;
        let client = client(&running.url, None);
        let mut seen = Vec::new();
        for _ in 0..200 {
            seen.push(match client.fetch(p(14), date("2025-03-25")).await {
                Ok(_) => 'o',
                Err(SourceError::Transient(_)) => 'e',
                Err(SourceError::InvalidResponse(_)) => 'm',
                Err(other) => panic!("{other:?}"),
            });
        }
        let errors = seen.iter().filter(|c| **c == 'e').count();
        let malformed = seen.iter().filter(|c| **c == 'm').count();
        assert!((30..90).contains(&errors), "{errors} errors of 200");
        assert!(
            (15..70).contains(&malformed),
            "{malformed} malformed of 200"
        );
        outcomes.push(seen);
        running.stop().await;
    }
    assert_eq!(outcomes[0], outcomes[1], "same seed, same fault sequence");
}

#[tokio::test]
async fn hangs_and_latency_time_out_and_shutdown_still_drains() {
    let hanging = RunningSim::start(SimConfig {
        timeout_rate: 1.0,
        ..quiet()
    })
    .await;
    let client_h = client_with(
        &hanging.url,
        None,
        Duration::from_millis(300),
        Arc::new(SystemClock),
    );
    let result = client_h.fetch(p(14), date("2025-03-25")).await;
    assert!(
        matches!(&result, Err(SourceError::Transient(m)) if m.contains("timed out")),
        "{result:?}"
    );
    // A request still hanging while the simulator shuts down does not hold it up.
    let url = format!("{}/api/v1/inventory/14?date=2025-03-25", hanging.url);
    let pending = tokio::spawn(async move { reqwest::get(url).await.map(|r| r.status()) });
    while hanging.sim.stats().timeouts < 2 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    hanging.stop().await;
    assert_eq!(pending.await.unwrap().unwrap(), 504);

    let slow = RunningSim::start(SimConfig {
        latency: Duration::from_secs(30),
        ..quiet()
    })
    .await;
    let client_s = client_with(
        &slow.url,
        None,
        Duration::from_millis(300),
        Arc::new(SystemClock),
    );
    let result = client_s.fetch(p(14), date("2025-03-25")).await;
    assert!(
        matches!(result, Err(SourceError::Transient(_))),
        "{result:?}"
    );
    slow.stop().await;
}

#[tokio::test]
async fn inventory_changes_over_time_deterministically() {
    let clock = ManualClock::new();
    let config = SimConfig {
        change_rate: 30.0,
        seed: 7,
        ..quiet()
    };
    let running = RunningSim::start_on(config.clone(), &clock).await;
    let twin = Simulator::with_clock(config, Arc::new(clock.clone())).unwrap();
    let client = client_with(
        &running.url,
        None,
        Duration::from_secs(5),
        Arc::new(clock.clone()),
    );
    let day = date("2025-03-25");
    let before = client.fetch(p(14), day).await.unwrap();
    assert_eq!(running.sim.last_change(p(14), day), None);

    clock.advance(Duration::from_secs(3600));
    let after = client.fetch(p(14), day).await.unwrap();
    assert_ne!(
        before, after,
        "an hour at 30 changes per hour moves something"
    );
    assert_eq!(
        after,
        validate_day(day, running.sim.day(p(14), day).unwrap()).unwrap()
    );
    assert_eq!(
        running.sim.day(p(14), day),
        twin.day(p(14), day),
        "same seed, same time"
    );

    let changed_at = running.sim.last_change(p(14), day).expect("changed");
    assert!(changed_at > running.sim.started_at() && changed_at <= clock.now());
    let stats = running.sim.stats();
    let entry = stats
        .days
        .iter()
        .find(|d| d.product_id == 14 && d.date == day)
        .unwrap();
    assert_eq!(entry.last_change_at, Some(changed_at));
    assert_eq!(entry.valid_since, changed_at);
    assert!(entry.changes > 0);
    assert_eq!(entry.fetches, 2);
    running.stop().await;
}

#[tokio::test]
async fn the_router_mounts_under_a_prefix_and_serve_runs_from_a_config() {
    let (router, sim) = tickete_partner_sim::simulator_router(quiet()).unwrap();
    let app = axum::Router::new().nest("/partner-sim", router);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/partner-sim", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let fetched = client(&base, None)
        .fetch(p(15), date("2025-03-30"))
        .await
        .unwrap();
    assert_eq!(fetched.slots.len(), 1);
    assert_eq!(sim.stats().served, 1);
    let truth: serde_json::Value =
        reqwest::get(format!("{base}/__sim/inventory/15?date=2025-03-30"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(truth[0]["remaining"], 170);
    server.abort();

    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let served = tokio::spawn(tickete_partner_sim::serve(quiet(), listener, async move {
        let _ = rx.await;
    }));
    tx.send(()).unwrap();
    served.await.unwrap().unwrap();

    let invalid = SimConfig {
        error_rate: 0.7,
        malformed_rate: 0.7,
        ..quiet()
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    assert!(tickete_partner_sim::serve(invalid, listener, async {})
        .await
        .is_err());
}
