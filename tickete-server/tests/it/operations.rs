//! Operations: the public rate limit (also behind a proxy), liveness, readiness, metrics and
//! what a store outage looks like.

use serde_json::Value;

use crate::errors::assert_error;
use crate::support::{Options, TestServer};

#[tokio::test]
async fn public_routes_are_rate_limited_per_client() {
    let server = TestServer::start(Options {
        public_rate_per_minute: 5,
        ..Options::default()
    })
    .await;
    for _ in 0..5 {
        let (status, _) = server.get("/api/v1/products").await;
        assert_eq!(status, 200);
    }
    let response = server.get_with("/api/v1/products", &[]).await;
    assert_eq!(response.status().as_u16(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after));
    let body: Value = response.json().await.unwrap();
    assert_error(429, &body, 429, "too many requests");
    let (status, _) = server.get("/healthz").await;
    assert_eq!(status, 200, "operations routes are not limited");
    server.stop().await;
}

#[tokio::test]
async fn operations_routes_answer() {
    let server = TestServer::start(Options::default()).await;
    server.sync_days(1).await;
    let (status, _) = server.get("/healthz").await;
    assert_eq!(status, 200);
    let (status, _) = server.get("/readyz").await;
    assert_eq!(status, 200);
    let metrics = server.text("/metrics", &[]).await;
    for name in [
        "tickete_partner_requests_total",
        "tickete_queue_depth",
        "tickete_job_runs_total",
        "tickete_http_requests_total",
        "tickete_data_age_seconds",
        "tickete_pacer_wait_seconds",
    ] {
        assert!(metrics.contains(name), "{name} missing from /metrics");
    }
    let (status, openapi) = server.get("/api/openapi.json").await;
    assert_eq!(status, 200);
    assert!(openapi["paths"]["/api/v1/experience/{id}/slots"].is_object());
    assert!(openapi["paths"]["/api/v1/admin/cron/sync"].is_object());
    assert!(openapi["components"]["schemas"]["RunBody"]["properties"]["missed"].is_object());
    let docs = server.http.get(server.url("/docs")).send().await.unwrap();
    assert_eq!(docs.status().as_u16(), 200);
    server.stop().await;
}

#[tokio::test]
async fn an_unreachable_store_is_a_503_and_readyz_says_so() {
    let Ok(base) = std::env::var("TICKETE_TEST_POSTGRES_URL") else {
        eprintln!("skipped: TICKETE_TEST_POSTGRES_URL is not set");
        return;
    };
    let database = crate::support::Database::create(&base).await;
    let server = TestServer::start(Options {
        database_url: Some(database.url.clone()),
        ..Options::default()
    })
    .await;
    let (status, _) = server.get("/api/v1/products").await;
    assert_eq!(status, 200, "the server runs on Postgres");
    let url = database.url.clone();
    database.drop().await;

    let (status, body) = server.get("/readyz").await;
    assert_error(status, &body, 503, "");
    let (status, body) = server.get("/api/v1/products?page=1&limit=5").await;
    assert_error(status, &body, 503, "");
    let text = body.to_string();
    assert!(
        !text.contains("SELECT") && !text.contains(&url),
        "no SQL or URL leaks: {text}"
    );
    let (status, _) = server.get("/healthz").await;
    assert_eq!(status, 200, "liveness does no I/O");
}

async fn products_from(server: &TestServer, forwarded_for: &str) -> u16 {
    server
        .http
        .get(server.url("/api/v1/products"))
        .header("x-forwarded-for", forwarded_for)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn behind_a_proxy_clients_are_told_apart_by_the_address_it_appended() {
    let server = TestServer::start(Options {
        public_rate_per_minute: 2,
        trust_forwarded_for: true,
        ..Options::default()
    })
    .await;
    // The proxy appends the real client last; what the client sent before it is ignored.
    assert_eq!(products_from(&server, "9.9.9.9, 203.0.113.7").await, 200);
    assert_eq!(products_from(&server, "8.8.8.8, 203.0.113.7").await, 200);
    assert_eq!(products_from(&server, "7.7.7.7, 203.0.113.7").await, 429);
    assert_eq!(
        products_from(&server, "203.0.113.8").await,
        200,
        "another client"
    );
    server.stop().await;

    // Untrusted (the default), the header is ignored: every request here is one client.
    let server = TestServer::start(Options {
        public_rate_per_minute: 2,
        ..Options::default()
    })
    .await;
    assert_eq!(products_from(&server, "203.0.113.1").await, 200);
    assert_eq!(products_from(&server, "203.0.113.2").await, 200);
    assert_eq!(products_from(&server, "203.0.113.3").await, 429);
    server.stop().await;
}
