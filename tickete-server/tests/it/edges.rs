//! The edges seen through the HTTP API: ticks in `/metrics`, `missed` in run
//! bodies, and a deleted or disabled product's queued work leaving at once.

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::support::{Options, TestServer};

#[tokio::test]
async fn ticks_show_in_metrics_and_runs_carry_missed() {
    let server = TestServer::start(Options {
        jobs_enabled: true,
        rate_per_minute: 600,
        ..Options::default()
    })
    .await;
    // The first start runs each enabled job once: three ticks that ran.
    let counted = |metrics: &str, job: &str| {
        let job_label = format!("job=\"{job}\"");
        metrics.lines().any(|line| {
            line.starts_with("tickete_job_ticks_total")
                && line.contains(&job_label)
                && line.contains("outcome=\"ran\"")
        })
    };
    let jobs = ["sync-today", "sync-next-7-days", "sync-next-30-days"];
    let mut metrics = String::new();
    for _ in 0..100 {
        metrics = server.text("/metrics", &[]).await;
        if jobs.iter().all(|job| counted(&metrics, job)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for job in jobs {
        assert!(counted(&metrics, job), "{job}: {metrics}");
    }
    // The metrics registry is shared by every server of this test binary, so the counts above
    // may come first from another test's server: wait for this one's runs too.
    let mut runs = Vec::new();
    for _ in 0..100 {
        let (status, body) = server.admin(Method::GET, "/api/v1/admin/runs", None).await;
        assert_eq!(status, 200);
        runs = body["data"].as_array().unwrap().clone();
        if runs.len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(runs.len() >= 3, "one run per job: {runs:?}");
    assert!(runs.iter().all(|run| run["missed"].is_u64()), "{runs:?}");
    server.stop().await;
}

#[tokio::test]
async fn deleting_or_disabling_a_product_drops_its_queued_work_at_once() {
    // Two calls a minute: the 30-day sync of three products stays queued.
    let server = TestServer::start(Options {
        products: "1,2,3",
        rate_per_minute: 2,
        ..Options::default()
    })
    .await;
    let (status, started) = server
        .admin(Method::POST, "/api/v1/admin/cron/sync?daysToSync=30", None)
        .await;
    assert_eq!(status, 202, "{started}");
    let pending = |body: &serde_json::Value| body["pending"].as_u64().unwrap();
    let (_, before) = server.admin(Method::GET, "/api/v1/sync/status", None).await;
    assert!(pending(&before) >= 88, "{before}");

    let (status, _) = server
        .admin(Method::DELETE, "/api/v1/admin/products/2", None)
        .await;
    assert_eq!(status, 204);
    let (_, after_delete) = server.admin(Method::GET, "/api/v1/sync/status", None).await;
    assert!(pending(&after_delete) <= 60, "{after_delete}");

    let (status, _) = server
        .admin(
            Method::PUT,
            "/api/v1/admin/products/3",
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, after_disable) = server.admin(Method::GET, "/api/v1/sync/status", None).await;
    assert!(pending(&after_disable) <= 30, "{after_disable}");

    let id = started["runId"].as_i64().unwrap();
    let (_, run) = server
        .admin(Method::GET, &format!("/api/v1/admin/runs/{id}"), None)
        .await;
    assert!(run["data"]["missed"].as_u64().unwrap() >= 58, "{run}");
    server.stop().await;
}
