//! Hostile clients and hostile partner data: bounded metric labels, what the HTTP
//! layer refuses (with the SPEC body), header timeouts and the connection cap, canonical ids,
//! truncated echoes, JSON content types, and the partner 429 hold an operator can see and lift.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{today, Database, Options, Partner, TestServer, TOKEN};

/// Sends `request` on a fresh connection and reads the answer until the server closes it.
async fn raw(address: &str, request: &[u8]) -> (u16, Value) {
    let mut stream = TcpStream::connect(address).await.unwrap();
    // The server may answer and stop reading before a huge request is written.
    let _ = stream.write_all(request).await;
    read_response(&mut stream).await
}

/// Reads one `Connection: close` response: status and JSON body (`Null` if not JSON).
pub(crate) async fn read_response(stream: &mut TcpStream) -> (u16, Value) {
    let mut bytes = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(30), async {
        let mut chunk = [0u8; 4096];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the server answered and closed in time");
    let text = String::from_utf8_lossy(&bytes);
    let status = text
        .get(9..12)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .and_then(|(_, body)| serde_json::from_str(body).ok())
        .unwrap_or(Value::Null);
    (status, body)
}

fn address(server: &TestServer) -> String {
    server.base.trim_start_matches("http://").to_owned()
}

pub(crate) fn assert_spec_error(status: u16, body: &Value, expected: u16, mentions: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["statusCode"], expected, "{body}");
    assert!(
        body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{body}"
    );
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(mentions),
        "`{message}` should mention `{mentions}`"
    );
}

/// 200,000 made-up methods grew `/metrics` to 21 MB. Every label now takes a
/// bounded set of values.
#[tokio::test]
async fn made_up_methods_and_paths_add_no_metric_series() {
    let server = TestServer::start(Options::default()).await;
    for i in 0..40 {
        let method = Method::from_bytes(format!("FOO{i}").as_bytes()).unwrap();
        for route in ["/healthz", "/api/v1/products", &format!("/no/such/{i}")] {
            let response = server
                .http
                .request(method.clone(), server.url(route))
                .send()
                .await;
            assert!(response.unwrap().status().is_client_error());
        }
    }
    let metrics = server.text("/metrics", &[]).await;
    assert!(!metrics.contains("FOO"), "a made-up method became a label");
    assert!(
        !metrics.contains("/no/such"),
        "a made-up path became a label"
    );
    let methods = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT", "OTHER",
    ];
    let mut made_up = 0;
    for line in metrics
        .lines()
        .filter(|l| l.starts_with("tickete_http_requests_total{"))
    {
        made_up += usize::from(line.contains(r#"method="OTHER""#));
        let label = |name: &str| {
            let start = line.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
            line[start..].split('"').next().unwrap().to_owned()
        };
        assert!(methods.contains(&label("method").as_str()), "{line}");
        let route = label("route");
        assert!(route == "unmatched" || route.starts_with('/'), "{line}");
        assert!(!route.contains("/no/"), "{line}");
        assert_eq!(label("status").len(), 3, "{line}");
    }
    // 120 requests with 40 made-up methods on 3 routes: one series per (route, status).
    assert!(
        (1..=6).contains(&made_up),
        "{made_up} series for made-up methods"
    );
    server.stop().await;
}

/// 414, 431 and request lines hyper cannot parse answered with empty bodies.
#[tokio::test]
async fn what_the_http_layer_refuses_has_the_spec_body() {
    let server = TestServer::start(Options::default()).await;
    let address = address(&server);
    let request = |target: &str, headers: &str| {
        format!("GET {target} HTTP/1.1\r\nHost: x\r\n{headers}\r\n").into_bytes()
    };

    // Over our URI limit (8 KiB), and over hyper's own buffer (64 KiB).
    let long = format!("/api/v1/products?q={}", "a".repeat(9 * 1024));
    let (status, body) = raw(&address, &request(&long, "")).await;
    assert_spec_error(status, &body, 414, "8 KiB");
    let huge = format!("/api/v1/products?q={}", "a".repeat(70 * 1024));
    let (status, body) = raw(&address, &request(&huge, "")).await;
    assert!([414, 431].contains(&status), "{status} {body}");
    assert_spec_error(status, &body, status, "too");

    // Over our header limit (32 KiB), and over hyper's header count (100).
    let big_header = format!("X-Big: {}\r\n", "b".repeat(40 * 1024));
    let (status, body) = raw(&address, &request("/healthz", &big_header)).await;
    assert_spec_error(status, &body, 431, "32 KiB");
    let many: String = (0..150).map(|i| format!("X-H{i}: v\r\n")).collect();
    let (status, body) = raw(&address, &request("/healthz", &many)).await;
    assert_spec_error(status, &body, 431, "headers");

    // Request lines hyper cannot parse: bytes that are not ASCII, garbage, a bad header.
    for malformed in [
        b"GET /api/v1/products/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"\xc3\x28 / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"NOT HTTP AT ALL\r\n\r\n".to_vec(),
        b"GET / HTTP/1.1\r\nBad Header Without Colon\r\n\r\n".to_vec(),
    ] {
        let (status, body) = raw(&address, &malformed).await;
        assert_spec_error(status, &body, 400, "could not be parsed");
    }

    // The server is still fine.
    let (status, _) = server.get("/healthz").await;
    assert_eq!(status, 200);
    server.stop().await;
}

/// A Content-Length over 64 KiB whose body never came got 503 after 10 s.
#[tokio::test]
async fn a_declared_body_over_the_limit_is_413_at_once() {
    let server = TestServer::start(Options::default()).await;
    let request = format!(
        "PUT /api/v1/admin/products/14 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{{\"name\":"
    );
    let started = std::time::Instant::now();
    let (status, body) = raw(&address(&server), request.as_bytes()).await;
    assert_spec_error(status, &body, 413, "64 KiB");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "answered before the 10 s request timeout"
    );
    server.stop().await;
}

/// `Content-Type` was ignored on JSON bodies.
#[tokio::test]
async fn json_bodies_need_a_json_content_type() {
    let server = TestServer::start(Options::default()).await;
    let put = |content_type: Option<&'static str>| {
        let mut request = server
            .http
            .put(server.url("/api/v1/admin/products/14"))
            .bearer_auth(TOKEN)
            .body(r#"{"name": "Renamed"}"#);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request.send()
    };
    for refused in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("json"),
    ] {
        let response = put(refused).await.unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert_spec_error(status, &body, 415, "application/json");
    }
    for accepted in [
        "application/json",
        "Application/JSON; charset=utf-8",
        "application/merge-patch+json",
    ] {
        let response = put(Some(accepted)).await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{accepted}");
    }
    server.stop().await;
}

/// `Bearer` was case-sensitive.
#[tokio::test]
async fn the_auth_scheme_is_case_insensitive() {
    let server = TestServer::start(Options::default()).await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let authorization = format!("{scheme} {TOKEN}");
        let response = server
            .get_with("/api/v1/sync/status", &[("authorization", &authorization)])
            .await;
        assert_eq!(response.status().as_u16(), 200, "{scheme}");
    }
    let authorization = format!("Basic {TOKEN}");
    let response = server
        .get_with("/api/v1/sync/status", &[("authorization", &authorization)])
        .await;
    assert_eq!(response.status().as_u16(), 401);
    server.stop().await;
}

/// `014` was product 14, and `DELETE /admin/products/014` deleted it.
#[tokio::test]
async fn ids_are_canonical_decimal() {
    let server = TestServer::start(Options::default()).await;
    for path in [
        "/api/v1/products/014",
        "/api/v1/products/+14",
        "/api/v1/experience/014/dates",
        "/api/v1/products/00014/slots?date=2026-01-01",
    ] {
        let (status, body) = server.get(path).await;
        assert_spec_error(status, &body, 400, "product id");
    }
    let (status, body) = server
        .admin(Method::DELETE, "/api/v1/admin/products/014", None)
        .await;
    assert_spec_error(status, &body, 400, "product id");
    let (status, body) = server
        .admin(Method::GET, "/api/v1/admin/runs/01", None)
        .await;
    assert_spec_error(status, &body, 400, "run id");
    let (status, _) = server.get("/api/v1/products/14").await;
    assert_eq!(
        status, 200,
        "product 14 survived DELETE /admin/products/014"
    );
    server.stop().await;
}

/// A 5,000-character job name came back whole in the 404 message.
#[tokio::test]
async fn echoed_input_is_truncated() {
    let server = TestServer::start(Options::default()).await;
    let name = "j".repeat(5000);
    let cases = [
        (
            Method::PUT,
            format!("/api/v1/admin/cron/{name}"),
            Some(json!({"enabled": true})),
        ),
        (
            Method::POST,
            format!("/api/v1/admin/cron/trigger?name={name}"),
            None,
        ),
        (Method::GET, format!("/api/v1/no-such-route/{name}"), None),
        (Method::GET, format!("/api/v1/products/{name}"), None),
    ];
    for (method, path, body) in cases {
        let (status, response) = server.admin(method, &path, body).await;
        assert!([400, 404].contains(&status), "{status}");
        let message = response["message"].as_str().unwrap();
        assert!(
            message.chars().count() <= 301,
            "{} characters",
            message.len()
        );
        assert!(
            message.contains("jjjj"),
            "still names what was wrong: {message}"
        );
    }
    server.stop().await;
}

/// A 429 whose reset was days away held every call for an hour with no way
/// to see or lift it. The hold shows in `/sync/status` and `/metrics`, is clamped to
/// `TICKETE_PARTNER_MAX_HOLD_SECONDS`, and `POST /sync/clear-hold` lifts it.
#[tokio::test]
async fn a_429_hold_is_visible_and_an_admin_can_lift_it() {
    let mock = MockServer::start().await;
    let days_away = chrono::Utc::now() + chrono::Duration::days(3);
    Mock::given(method("GET"))
        .and(path("/api/v1/inventory/14"))
        .respond_with(ResponseTemplate::new(429).set_body_json(
            json!({"rateLimitState": {"reset": days_away.timestamp_millis(), "remaining": 0}}),
        ))
        .up_to_n_times(1)
        .mount(&mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/inventory/14"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&mock)
        .await;
    let server = TestServer::start(Options {
        partner: Partner::Url(mock.uri()),
        products: "14",
        ..Options::default()
    })
    .await;
    let (status, accepted) = server
        .admin(Method::POST, "/api/v1/admin/cron/sync?daysToSync=1", None)
        .await;
    assert_eq!(status, 202, "{accepted}");
    let mut held = Value::Null;
    for _ in 0..200 {
        let (_, body) = server.admin(Method::GET, "/api/v1/sync/status", None).await;
        held = body["partnerBudget"]["heldUntil"].clone();
        if !held.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let until: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(held.clone()).expect("heldUntil shows the hold");
    let hour = chrono::Utc::now() + chrono::Duration::seconds(3600);
    assert!(
        until <= hour + chrono::Duration::seconds(2),
        "clamped to an hour: {until}"
    );
    assert!(until >= hour - chrono::Duration::seconds(60), "{until}");
    let metrics = server.text("/metrics", &[]).await;
    let hold_line = metrics
        .lines()
        .find(|l| l.starts_with("tickete_partner_hold_seconds "))
        .expect("hold gauge");
    let seconds: f64 = hold_line.split(' ').nth(1).unwrap().parse().unwrap();
    assert!(seconds > 3000.0, "{hold_line}");

    let response = server
        .http
        .post(server.url("/api/v1/sync/clear-hold"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401, "admin only");
    let (status, body) = server
        .admin(Method::POST, "/api/v1/sync/clear-hold", None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["partnerBudget"]["heldUntil"].is_null(), "{body}");
    let run = server.wait_run(accepted["runId"].as_i64().unwrap()).await;
    assert_eq!(
        run["status"], "succeeded",
        "the call went out after the lift: {run}"
    );
    assert_eq!(run["fetched"], 1);
    server.stop().await;
}

/// A NUL in partner text was stored and served by SQLite and refused by
/// Postgres as "store unavailable". Now it is an invalid response on every store.
#[tokio::test]
async fn partner_text_with_nul_is_an_invalid_response_on_every_store() {
    let postgres = match std::env::var("TICKETE_TEST_POSTGRES_URL") {
        Ok(base) => Some(Database::create(&base).await),
        Err(_) => {
            eprintln!("TICKETE_TEST_POSTGRES_URL is not set: only SQLite checked");
            None
        }
    };
    let mut stores = vec![None];
    stores.extend(postgres.as_ref().map(|db| Some(db.url.clone())));
    for database_url in stores {
        let mock = MockServer::start().await;
        let date = today();
        let day = json!([{
            "startDate": date.to_string(), "startTime": "09:00", "endTime": "09:00",
            "providerSlotId": "s1", "remaining": 5, "currencyCode": "SGD", "variantId": 1,
            "paxAvailability": [{
                "type": "ADULT", "name": "Adult", "description": "fine\u{0}print",
                "remaining": 5, "isPrimary": true,
                "price": {"finalPrice": 10.5, "originalPrice": 12, "currencyCode": "SGD"}
            }]
        }]);
        Mock::given(method("GET"))
            .and(path("/api/v1/inventory/14"))
            .respond_with(ResponseTemplate::new(200).set_body_json(&day))
            .mount(&mock)
            .await;
        let store = if database_url.is_some() {
            "postgres"
        } else {
            "sqlite"
        };
        let server = TestServer::start(Options {
            partner: Partner::Url(mock.uri()),
            products: "14",
            database_url,
            ..Options::default()
        })
        .await;
        let run = server.sync_days(1).await;
        assert_eq!(run["status"], "failed", "{store}: {run}");
        let error = run["errors"][0].as_str().unwrap();
        assert!(
            error.contains("control character U+0000"),
            "{store}: {error}"
        );
        assert!(
            !error.contains("store"),
            "{store}: the store is not blamed: {error}"
        );
        let (status, slots) = server
            .get(&format!("/api/v1/experience/14/slots?date={date}"))
            .await;
        assert_eq!(
            (status, slots),
            (200, json!({"slots": []})),
            "{store}: nothing stored"
        );
        server.stop().await;
    }
    if let Some(db) = postgres {
        db.drop().await;
    }
}
