//! Sync end to end: what the partner says is what we serve.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use tickete_core::ProductId;
use tickete_partner_sim::SimConfig;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use tickete_core::testing::{assert_served_slots, decimal, lowest_open_price};

use crate::support::{today, Options, Partner, TestServer};

#[tokio::test]
async fn a_manual_sync_serves_exactly_what_the_partner_said() {
    let server = TestServer::start(Options::default()).await;
    let run = server.sync_days(3).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["planned"], 6);
    assert_eq!(run["fetched"], 6);
    assert_eq!(run["trigger"], "manual");

    let sim = server.sim.as_ref().unwrap();
    for product in [14u32, 15] {
        for offset in 0..3u64 {
            let date = today() + chrono::Days::new(offset);
            let truth = sim.day(ProductId::new(product).unwrap(), date).unwrap();
            let (status, body) = server
                .get(&format!("/api/v1/experience/{product}/slots?date={date}"))
                .await;
            assert_eq!(status, 200);
            let what = format!("product {product} {date}");
            assert_served_slots(body["slots"].as_array().unwrap(), &truth, &what);
            let (_, wrapped) = server
                .get(&format!("/api/v1/products/{product}/slots?date={date}"))
                .await;
            assert_eq!(wrapped["statusCode"], 200);
            assert_eq!(wrapped["data"], body);
        }
    }

    // Dates: every synced date with seats, lowest primary price among open slots.
    let (status, dates) = server.get("/api/v1/experience/14/dates").await;
    assert_eq!(status, 200);
    for entry in dates["dates"].as_array().unwrap() {
        let date: chrono::NaiveDate = entry["date"].as_str().unwrap().parse().unwrap();
        let truth = sim.day(ProductId::new(14).unwrap(), date).unwrap();
        let lowest = lowest_open_price(&truth).unwrap();
        assert_eq!(decimal(&entry["price"]["finalPrice"]), lowest, "{date}");
    }

    let (status, products) = server.get("/api/v1/products?page=1&limit=10").await;
    assert_eq!(status, 200);
    assert_eq!(products["totalLength"], 2);
    assert_eq!(products["statusCode"], 200);
    let product = &products["data"][0];
    assert_eq!(product["id"], 14);
    assert!(!product["availableDays"].as_array().unwrap().is_empty());
    assert!(["SINGLE", "MULTI"].contains(&product["timeSlotType"].as_str().unwrap()));
    let (status, one) = server.get("/api/v1/products/14").await;
    assert_eq!(status, 200);
    assert_eq!(one["data"], *product);
    server.stop().await;
}

/// SPEC §2 `partnerStatus`: a product the partner (the simulator knows ids 1..=20) answers
/// 404 for shows `unknown`, a known one `ok`, in both product routes.
#[tokio::test]
async fn a_product_the_partner_does_not_know_shows_partner_status_unknown() {
    let server = TestServer::start(Options {
        products: "14,500",
        ..Options::default()
    })
    .await;
    let (_, before) = server.get("/api/v1/products/500").await;
    assert_eq!(
        before["data"]["partnerStatus"], "ok",
        "never fetched: {before}"
    );
    let run = server.sync_days(2).await;
    assert_eq!(run["fetched"], 2, "{run}");
    assert_eq!(run["failed"], 2, "{run}");

    let (status, products) = server.get("/api/v1/products?page=1&limit=10").await;
    assert_eq!(status, 200);
    let statuses: Vec<(u64, &str)> = products["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_u64().unwrap(),
                p["partnerStatus"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(statuses, vec![(14, "ok"), (500, "unknown")]);
    let (status, one) = server.get("/api/v1/products/500").await;
    assert_eq!(status, 200);
    assert_eq!(one["data"]["partnerStatus"], "unknown");
    server.stop().await;
}

fn fixture_for(date: chrono::NaiveDate) -> Vec<Value> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/fixtures/partner/product-14_2025-03-25.json"
    );
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace("2025-03-25", &date.to_string());
    serde_json::from_str(&text).unwrap()
}

async fn wiremock_server(mock: &MockServer) -> TestServer {
    TestServer::start(Options {
        partner: Partner::Url(mock.uri()),
        products: "14",
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn a_partner_500_leaves_the_stored_day_as_it_was_and_a_removed_slot_disappears() {
    let mock = MockServer::start().await;
    let date = today();
    let day = fixture_for(date);
    let route = "/api/v1/inventory/14";
    Mock::given(method("GET"))
        .and(path(route))
        .and(query_param("date", date.to_string()))
        .respond_with(ResponseTemplate::new(200).set_body_json(&day))
        .up_to_n_times(1)
        .mount(&mock)
        .await;
    let server = wiremock_server(&mock).await;
    let first = server.sync_days(1).await;
    assert_eq!(first["status"], "succeeded", "{first}");
    let slots_path = format!("/api/v1/experience/14/slots?date={date}");
    let (_, stored) = server.get(&slots_path).await;
    assert_eq!(stored["slots"].as_array().unwrap().len(), day.len());
    assert_eq!(
        stored["slots"][0]["price"]["finalPrice"].to_string(),
        "212.14"
    );

    // The partner fails (3 attempts): nothing stored changes.
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(ResponseTemplate::new(500).set_body_string("upstream exploded"))
        .up_to_n_times(3)
        .mount(&mock)
        .await;
    let failed = server.sync_days(1).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["failed"], 1);
    assert!(failed["errors"][0].as_str().unwrap().contains("product 14"));
    let (_, after_failure) = server.get(&slots_path).await;
    assert_eq!(after_failure, stored);

    // The partner drops a slot: it disappears from what we serve.
    let mut smaller = day.clone();
    let removed = smaller.remove(1);
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(ResponseTemplate::new(200).set_body_json(&smaller))
        .mount(&mock)
        .await;
    let third = server.sync_days(1).await;
    assert_eq!(third["status"], "succeeded", "{third}");
    assert_eq!(third["changed"], 1);
    let (_, after_removal) = server.get(&slots_path).await;
    let times: Vec<_> = after_removal["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|slot| slot["startTime"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(times.len(), day.len() - 1);
    assert!(!times.contains(&removed["startTime"].as_str().unwrap().to_owned()));
    server.stop().await;
}

#[tokio::test]
async fn pause_blocks_partner_calls_until_resume() {
    let server = TestServer::start(Options {
        rate_per_minute: 120,
        ..Options::default()
    })
    .await;
    let (status, paused) = server.admin(Method::POST, "/api/v1/sync/pause", None).await;
    assert_eq!(status, 200);
    assert_eq!(paused["paused"], true);
    assert!(paused["pausedAt"].is_string());

    let (status, body) = server
        .admin(
            Method::POST,
            "/api/v1/admin/cron/trigger?name=sync-today",
            None,
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let (status, _) = server
        .admin(Method::POST, "/api/v1/admin/cron/sync?daysToSync=2", None)
        .await;
    assert_eq!(status, 409);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        server.sim.as_ref().unwrap().stats().requests,
        0,
        "no partner calls while paused"
    );

    let (status, resumed) = server
        .admin(Method::POST, "/api/v1/sync/resume", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(resumed["paused"], false);
    let (status, accepted) = server
        .admin(
            Method::POST,
            "/api/v1/admin/cron/trigger?name=sync-today",
            None,
        )
        .await;
    assert_eq!(status, 202, "{accepted}");
    assert_eq!(accepted["id"], accepted["runId"]);
    assert_eq!(accepted["data"]["status"], "running");
    let run = server.wait_run(accepted["runId"].as_i64().unwrap()).await;
    assert_eq!(run["job"], "sync-today");
    assert_eq!(run["status"], "succeeded");
    assert_eq!(server.sim.as_ref().unwrap().stats().requests, 2);

    let (status, sync_status) = server.admin(Method::GET, "/api/v1/sync/status", None).await;
    assert_eq!(status, 200);
    assert_eq!(sync_status["partnerBudget"]["ratePerMinute"], 120);
    assert_eq!(sync_status["lastRun"]["id"], accepted["runId"]);
    server.stop().await;
}

#[tokio::test]
async fn first_start_fills_data_on_its_own_within_the_budget() {
    let server = TestServer::start(Options {
        partner: Partner::Sim(SimConfig {
            rate_limit: 30,
            change_rate: 0.0,
            ..SimConfig::default()
        }),
        products: "14",
        rate_per_minute: 30,
        jobs_enabled: true,
        ..Options::default()
    })
    .await;
    // The first-start runs begin at once: today's data arrives first. The slots response
    // carries `Last-Modified` once the day was fetched (it may have no slots: the simulator
    // closes some weekdays).
    let url = server.url(&format!("/api/v1/experience/14/slots?date={}", today()));
    let mut fetched = false;
    for _ in 0..100 {
        let response = server.http.get(&url).send().await.unwrap();
        if response.headers().contains_key("last-modified") {
            let body: Value = response.json().await.unwrap();
            assert!(body["slots"].is_array(), "{body}");
            fetched = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(fetched, "today's data arrived");
    let (status, jobs) = server.admin(Method::GET, "/api/v1/admin/cron", None).await;
    assert_eq!(status, 200);
    assert_eq!(jobs["totalLength"], 3);
    for job in jobs["data"].as_array().unwrap() {
        assert!(job["lastRunAt"].is_string(), "{job}");
        assert!(job["nextRunAt"].is_string(), "{job}");
    }
    let stats = server.sim.as_ref().unwrap().stats();
    assert_eq!(stats.rate_limited, 0, "paced under the partner's limit");
    server.stop().await;
}

#[tokio::test]
async fn jobs_are_editable_at_run_time() {
    let server = TestServer::start(Options::default()).await;
    let (status, body) = server
        .admin(
            Method::PUT,
            "/api/v1/admin/cron/sync-next-7-days",
            // A daily time: with `*/5` the scheduler (which rescans every 5 s and fires ticks
            // since its last scan) could start a run in the moment the job is enabled, when
            // the test crosses a 5-minute boundary, and the manual trigger then gets 409.
            Some(json!({"schedule": "17 3 * * *", "windowDays": 3, "enabled": true})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["schedule"], "17 3 * * *");
    assert_eq!(body["data"]["windowDays"], 3);
    assert!(body["data"]["nextRunAt"].is_string());

    let (status, toggled) = server
        .admin(
            Method::PUT,
            "/api/v1/admin/cron/toggle",
            Some(json!({"name": "sync-next-7-days", "status": false})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(toggled["data"]["enabled"], false);
    assert!(toggled["data"]["nextRunAt"].is_null());

    // The job was enabled for a moment, having never run: a scheduler scan in that moment
    // (every 5 s; likelier on a loaded machine) starts its first run, and a manual trigger
    // is refused (409) while that run is going. Then the trigger waits for it and retries.
    let accepted = loop {
        let (status, body) = server
            .admin(
                Method::POST,
                "/api/v1/admin/cron/trigger?name=sync-next-7-days",
                None,
            )
            .await;
        if status == 202 {
            break body;
        }
        assert_eq!(status, 409, "{body}");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("already running"),
            "{body}"
        );
        for run in server.runs_of("sync-next-7-days").await {
            server.wait_run(run["id"].as_i64().unwrap()).await;
        }
    };
    let run = server.wait_run(accepted["runId"].as_i64().unwrap()).await;
    assert_eq!(
        run["planned"], 6,
        "2 products × the edited 3-day window: {run}"
    );

    let runs = server.runs_of("sync-next-7-days").await;
    assert!(
        runs.iter().all(|run| run["job"] == "sync-next-7-days"),
        "{runs:?}"
    );
    assert!(
        runs.iter().any(|run| run["id"] == accepted["runId"]),
        "{runs:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_catalogue_is_edited_through_admin_routes() {
    let server = TestServer::start(Options::default()).await;
    let (status, created) = server
        .admin(
            Method::PUT,
            "/api/v1/admin/products/7",
            Some(json!({"name": "Night Safari"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"]["name"], "Night Safari");
    let (status, _) = server
        .admin(
            Method::PUT,
            "/api/v1/admin/products/7",
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(status, 200);
    let (_, product) = server.get("/api/v1/products/7").await;
    assert_eq!(product["data"]["name"], "Night Safari");
    assert_eq!(product["data"]["enabled"], false);
    let run = server.sync_days(1).await;
    assert_eq!(run["planned"], 2, "disabled product 7 is not synced");

    let (status, _) = server
        .admin(Method::DELETE, "/api/v1/admin/products/7", None)
        .await;
    assert_eq!(status, 204);
    let (status, _) = server.get("/api/v1/products/7").await;
    assert_eq!(status, 404);
    server.stop().await;
}
