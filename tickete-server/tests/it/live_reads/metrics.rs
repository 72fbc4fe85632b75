//! Live reads in `/metrics`: `tickete_live_reads_total{outcome}` and
//! `tickete_live_wait_seconds`, and which max age applies when both are given.

use std::time::{Duration, Instant};

use chrono::Days;
use reqwest::Method;
use serde_json::json;

use super::{read, slots_path, MAX_AGE_0};
use crate::support::{today, Options, TestServer};

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
