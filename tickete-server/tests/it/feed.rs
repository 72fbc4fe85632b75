//! The change feed end to end: webhook administration, signed deliveries verified by an
//! independent implementation, retry by hand, SSRF refusals, and the event stream.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::feed_support::{EventStream, Receiver};
use crate::support::{Options, TestServer, TOKEN};

async fn create(server: &TestServer, url: &str) -> Value {
    let (status, body) = server
        .admin(
            Method::POST,
            "/api/v1/admin/webhooks",
            Some(json!({"url": url, "description": "e2e"})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["statusCode"], 201);
    body["data"].clone()
}

/// The delivery log once no delivery is pending any more (or after 10 s, as it then is).
async fn delivery_log_when_settled(server: &TestServer, path: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, log) = server.admin(Method::GET, path, None).await;
        assert_eq!(status, 200, "{log}");
        let pending = log["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["status"] == "pending");
        if !pending || tokio::time::Instant::now() > deadline {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_administered_and_deliver_signed_events() {
    let server = TestServer::start(Options {
        webhook_allow_private: true,
        ..Options::default()
    })
    .await;
    let receiver = Receiver::start(false).await;
    let created = create(&server, &receiver.url).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let first_secret = created["secret"].as_str().unwrap().to_owned();
    assert!(first_secret.starts_with("whsec_"));
    assert_eq!(created["events"], json!([]));
    assert_eq!(created["enabled"], true);
    // Secrets are shown on create and rotate only.
    let (_, listed) = server
        .admin(Method::GET, "/api/v1/admin/webhooks", None)
        .await;
    assert_eq!(listed["totalLength"], 1);
    assert!(listed["data"][0].get("secret").is_none(), "{listed}");
    let (_, shown) = server
        .admin(Method::GET, &format!("/api/v1/admin/webhooks/{id}"), None)
        .await;
    assert!(shown["data"].get("secret").is_none());
    let (status, rotated) = server
        .admin(
            Method::POST,
            &format!("/api/v1/admin/webhooks/{id}/rotate-secret"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let secret = rotated["data"]["secret"].as_str().unwrap().to_owned();
    assert_ne!(secret, first_secret);
    receiver.set_secret(&secret);
    let (status, updated) = server
        .admin(
            Method::PUT,
            &format!("/api/v1/admin/webhooks/{id}"),
            Some(json!({"description": "changed", "events": ["availability.changed", "sync.run.finished"]})),
        )
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["data"]["description"], "changed");

    // Two products over two days: four first applies, each a change, and the run's end.
    let run = server.sync_days(2).await;
    receiver
        .wait_for(Duration::from_secs(20), |got| got.len() >= 5)
        .await;
    let got = receiver.received();
    assert!(
        got.iter().all(|r| r.verified),
        "every signature verifies: {got:#?}"
    );
    let changes: Vec<_> = got
        .iter()
        .filter(|r| r.body["type"] == "availability.changed")
        .collect();
    assert_eq!(changes.len(), 4, "{got:#?}");
    let days: HashSet<_> = changes
        .iter()
        .map(|r| {
            (
                r.body["data"]["productId"].clone(),
                r.body["data"]["date"].clone(),
            )
        })
        .collect();
    assert_eq!(days.len(), 4);
    for change in &changes {
        assert_eq!(change.body["id"], change.id.as_str());
        let data = &change.body["data"];
        assert!(
            data["slots"].is_u64() && data["openSlots"].is_u64(),
            "{data}"
        );
        assert!(data["syncedAt"].is_string());
        assert!(data.get("lowestPrice").is_some());
    }
    let finished = got
        .iter()
        .find(|r| r.body["type"] == "sync.run.finished")
        .unwrap();
    assert_eq!(finished.body["data"]["id"], run["id"]);

    // The delivery log shows them delivered; a retry delivers the same event id again. The
    // receiver has the request before the worker records the answer, so wait for the log.
    let path = format!("/api/v1/admin/webhooks/{id}/deliveries?limit=100");
    let log = delivery_log_when_settled(&server, &path).await;
    assert_eq!(log["totalLength"], 5, "{log}");
    assert!(
        log["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["status"] == "succeeded"
                && d["attempts"] == 1
                && d["deliveredAt"].is_string()),
        "{log}"
    );
    let delivery = &log["data"][0];
    let retry = format!(
        "/api/v1/admin/webhooks/{id}/deliveries/{}/retry",
        delivery["id"].as_str().unwrap()
    );
    let (status, body) = server.admin(Method::POST, &retry, None).await;
    assert_eq!(status, 202, "{body}");
    let event_id = delivery["eventId"].as_str().unwrap().to_owned();
    receiver
        .wait_for(Duration::from_secs(10), |got| {
            got.iter().filter(|r| r.id == event_id).count() == 2
        })
        .await;

    // Unknown ids are 404; removal takes the log with it.
    for path in [
        "/api/v1/admin/webhooks/wh_0000".to_owned(),
        format!("/api/v1/admin/webhooks/{id}/deliveries/dlv_0000/retry"),
    ] {
        let method = if path.ends_with("retry") {
            Method::POST
        } else {
            Method::GET
        };
        let (status, body) = server.admin(method, &path, None).await;
        assert_eq!(status, 404, "{path}: {body}");
    }
    let (status, _) = server
        .admin(
            Method::DELETE,
            &format!("/api/v1/admin/webhooks/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, _) = server.admin(Method::GET, &path, None).await;
    assert_eq!(status, 404);
    server.stop().await;
}

#[tokio::test]
async fn webhook_requests_are_checked_and_private_targets_refused() {
    let server = TestServer::start(Options::default()).await;
    for url in [
        "http://localhost:9000/hook",
        "http://127.0.0.1/hook",
        "http://10.1.2.3/hook",
        "http://[::1]:8080/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://192.168.0.10/hook",
    ] {
        let (status, body) = server
            .admin(
                Method::POST,
                "/api/v1/admin/webhooks",
                Some(json!({"url": url})),
            )
            .await;
        assert_eq!(status, 400, "{url}: {body}");
        assert_eq!(body["statusCode"], 400);
        assert!(
            body["message"].as_str().unwrap().contains("private"),
            "{body}"
        );
    }
    for (request, fragment) in [
        (json!({"url": "ftp://example.com/x"}), "scheme"),
        (
            json!({"url": "https://example.com/x", "events": ["nope"]}),
            "event type",
        ),
        (
            json!({"url": "https://example.com/x", "colour": "red"}),
            "colour",
        ),
        (json!({"events": []}), "url"),
    ] {
        let (status, body) = server
            .admin(
                Method::POST,
                "/api/v1/admin/webhooks",
                Some(request.clone()),
            )
            .await;
        assert_eq!(status, 400, "{request}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains(fragment),
            "{request}: {body}"
        );
    }
    for path in ["/api/v1/admin/webhooks", "/api/v1/events"] {
        assert_eq!(server.get_with(path, &[]).await.status(), 401, "{path}");
    }
    let authorization = format!("Bearer {TOKEN}");
    let response = server
        .get_with(
            "/api/v1/events?types=nope",
            &[("authorization", &authorization)],
        )
        .await;
    assert_eq!(response.status(), 400);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_resumes_after_a_dropped_connection() {
    let server = TestServer::start(Options::default()).await;
    let mut first = EventStream::open(&server.base, TOKEN, "", Some(0)).await;
    // Three days of two products: six changes and the run's end; read two, then drop.
    let (status, body) = server
        .admin(Method::POST, "/api/v1/admin/cron/sync?daysToSync=3", None)
        .await;
    assert_eq!(status, 202, "{body}");
    let seen = vec![first.next().await, first.next().await];
    drop(first);
    server.wait_run(body["runId"].as_i64().unwrap()).await;
    let mut resumed = EventStream::open(&server.base, TOKEN, "", Some(seen[1].id)).await;
    let mut all = seen.clone();
    loop {
        let event = resumed.next().await;
        let done = event.event == "sync.run.finished";
        all.push(event);
        if done {
            break;
        }
    }
    // The same events, read in one go from the start, are exactly what the two connections saw.
    let mut whole = EventStream::open(&server.base, TOKEN, "", Some(0)).await;
    let mut expected = Vec::new();
    for _ in 0..all.len() {
        expected.push(whole.next().await);
    }
    assert_eq!(all, expected);
    assert_eq!(
        all.iter()
            .filter(|e| e.event == "availability.changed")
            .count(),
        6
    );
    assert!(all.windows(2).all(|w| w[0].id < w[1].id));
    for event in &all {
        assert_eq!(event.data["type"], event.event.as_str());
    }
    // `types=` filters.
    let mut runs =
        EventStream::open(&server.base, TOKEN, "?types=sync.run.finished", Some(0)).await;
    assert_eq!(runs.next().await, *all.last().unwrap());
    server.stop().await;
}
