//! Every error class answers with the SPEC body, a clear message and the right status.

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{Options, TestServer};

pub(crate) fn assert_error(status: u16, body: &Value, expected: u16, mentions: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["statusCode"], expected, "{body}");
    assert!(body["error"].is_string(), "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains(mentions),
        "`{message}` should mention `{mentions}`"
    );
}

#[tokio::test]
async fn malformed_input_is_a_400_naming_the_parameter() {
    let server = TestServer::start(Options::default()).await;
    let cases = [
        ("/api/v1/experience/abc/slots?date=2026-01-01", "product id"),
        ("/api/v1/experience/-4/dates", "product id"),
        ("/api/v1/experience/0/dates", "product id"),
        ("/api/v1/experience/14/slots", "`date` is required"),
        ("/api/v1/experience/14/slots?date=2026-13-01", "YYYY-MM-DD"),
        ("/api/v1/experience/14/slots?date=01-02-2026", "YYYY-MM-DD"),
        ("/api/v1/products/14/slots?date=tomorrow", "YYYY-MM-DD"),
        ("/api/v1/products?page=0", "`page`"),
        ("/api/v1/products?page=x", "`page`"),
        ("/api/v1/products?limit=1000", "`limit`"),
        ("/api/v1/products?limit=-1", "`limit`"),
    ];
    for (path, mentions) in cases {
        let (status, body) = server.get(path).await;
        assert_error(status, &body, 400, mentions);
        assert_eq!(body["error"], "Bad Request");
    }
    server.stop().await;
}

#[tokio::test]
async fn unknown_things_are_404() {
    let server = TestServer::start(Options::default()).await;
    for path in [
        "/api/v1/experience/999/slots?date=2026-01-01",
        "/api/v1/experience/999/dates",
        "/api/v1/products/999",
        "/api/v1/no-such-route",
    ] {
        let (status, body) = server.get(path).await;
        assert_error(status, &body, 404, "");
    }
    let (status, body) = server
        .admin(Method::GET, "/api/v1/admin/runs/424242", None)
        .await;
    assert_error(status, &body, 404, "run 424242");
    let (status, body) = server
        .admin(Method::POST, "/api/v1/admin/cron/trigger?name=nope", None)
        .await;
    assert_error(status, &body, 404, "job nope");
    let (status, body) = server
        .admin(
            Method::PUT,
            "/api/v1/admin/cron/nope",
            Some(json!({"enabled": true})),
        )
        .await;
    assert_error(status, &body, 404, "nope");
    let (status, body) = server
        .admin(Method::DELETE, "/api/v1/admin/products/999", None)
        .await;
    assert_error(status, &body, 404, "product 999");

    // Known product, no data for the date: an empty list, not an error.
    let (status, body) = server
        .get("/api/v1/experience/14/slots?date=2030-01-01")
        .await;
    assert_eq!((status, body), (200, json!({"slots": []})));
    server.stop().await;
}

#[tokio::test]
async fn admin_routes_need_the_right_token() {
    let server = TestServer::start(Options::default()).await;
    let routes = [
        (Method::POST, "/api/v1/sync/pause"),
        (Method::GET, "/api/v1/sync/status"),
        (Method::GET, "/api/v1/admin/cron"),
        (Method::POST, "/api/v1/admin/cron/sync?daysToSync=1"),
        (Method::GET, "/api/v1/admin/runs"),
        (Method::DELETE, "/api/v1/admin/products/14"),
    ];
    for (method, path) in routes {
        let response = server
            .http
            .request(method.clone(), server.url(path))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        assert!(response.headers().contains_key("www-authenticate"));
        assert_error(
            status,
            &response.json().await.unwrap(),
            401,
            "Authorization",
        );
        let response = server
            .http
            .request(method, server.url(path))
            .bearer_auth("wrong-token")
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        assert_error(status, &response.json().await.unwrap(), 401, "wrong");
    }
    let (status, _) = server.get("/api/v1/products/14").await;
    assert_eq!(status, 200, "the product survived the unauthorised delete");
    server.stop().await;
}

#[tokio::test]
async fn bad_admin_bodies_and_values_are_400() {
    let server = TestServer::start(Options::default()).await;
    let cases = [
        (
            Method::PUT,
            "/api/v1/admin/cron/sync-today",
            Some(json!({"schedule": "every minute"})),
            "cron",
        ),
        (
            Method::PUT,
            "/api/v1/admin/cron/sync-today",
            Some(json!({"schedule": "61 * * * *"})),
            "cron",
        ),
        (
            Method::PUT,
            "/api/v1/admin/cron/sync-today",
            Some(json!({"windowDays": 0})),
            "windowDays",
        ),
        (
            Method::PUT,
            "/api/v1/admin/cron/sync-today",
            Some(json!({"windowDays": 63})),
            "windowDays",
        ),
        (
            Method::PUT,
            "/api/v1/admin/cron/sync-today",
            Some(json!({"shedule": "* * * * *"})),
            "shedule",
        ),
        (
            Method::PUT,
            "/api/v1/admin/cron/toggle",
            Some(json!({"name": "sync-today"})),
            "status",
        ),
        (
            Method::PUT,
            "/api/v1/admin/cron/toggle",
            Some(json!({"name": "sync-today", "status": "yes"})),
            "invalid",
        ),
        (
            Method::PUT,
            "/api/v1/admin/products/14",
            Some(json!({"name": ""})),
            "name",
        ),
        (
            Method::POST,
            "/api/v1/admin/cron/sync?daysToSync=0",
            None,
            "daysToSync",
        ),
        (
            Method::POST,
            "/api/v1/admin/cron/sync?daysToSync=63",
            None,
            "daysToSync",
        ),
        (Method::POST, "/api/v1/admin/cron/sync", None, "daysToSync"),
        (Method::POST, "/api/v1/admin/cron/trigger", None, "name"),
        (Method::GET, "/api/v1/admin/runs/abc", None, "run id"),
    ];
    for (method, path, body, mentions) in cases {
        let (status, response) = server.admin(method, path, body).await;
        assert_error(status, &response, 400, mentions);
    }
    let response = server
        .http
        .put(server.url("/api/v1/admin/cron/toggle"))
        .bearer_auth(crate::support::TOKEN)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert_error(status, &response.json().await.unwrap(), 400, "body");
    let response = server
        .http
        .put(server.url("/api/v1/admin/products/14"))
        .bearer_auth(crate::support::TOKEN)
        .body(vec![b' '; 200 * 1024])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert_error(status, &response.json().await.unwrap(), 413, "too large");
    let (_, jobs) = server.admin(Method::GET, "/api/v1/admin/cron", None).await;
    assert_eq!(
        jobs["data"][0]["schedule"]
            .as_str()
            .unwrap()
            .split(' ')
            .count(),
        5,
        "nothing half-applied"
    );
    server.stop().await;
}

/// Schemathesis finding: axum's `Path` answered a segment that is not UTF-8 once decoded with a
/// plain-text 400 (`Invalid URL: Invalid UTF-8 in `id``), not the SPEC body.
#[tokio::test]
async fn non_utf8_path_segments_are_a_json_400() {
    let server = TestServer::start(Options::default()).await;
    let cases = [
        (Method::GET, "/api/v1/products/%FF", "`id`"),
        (Method::GET, "/api/v1/experience/%FF/dates", "`id`"),
        (
            Method::GET,
            "/api/v1/products/%C3%28/slots?date=2026-01-01",
            "`id`",
        ),
        (Method::GET, "/api/v1/admin/runs/%FF", "`id`"),
        (Method::PUT, "/api/v1/admin/cron/%FF", "`name`"),
        (Method::DELETE, "/api/v1/admin/products/%FF", "`id`"),
    ];
    for (method, path, mentions) in cases {
        let response = server
            .http
            .request(method, server.url(path))
            .bearer_auth(crate::support::TOKEN)
            .json(&json!({"enabled": true}))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "{path}"
        );
        let body: Value = response.json().await.unwrap();
        assert_error(status, &body, 400, mentions);
        assert!(
            body["message"].as_str().unwrap().contains("UTF-8"),
            "{body}"
        );
    }
    server.stop().await;
}

/// Fuzzing the Postgres store: a NUL character in a job or product name reached the store,
/// which refused it, and the caller got 503 "store is unreachable" for bad input. Every
/// store now gets a 400 before the store is asked.
#[tokio::test]
async fn nul_characters_in_text_are_a_400_not_a_store_failure() {
    let server = TestServer::start(Options::default()).await;
    let cases = [
        (
            Method::PUT,
            "/api/v1/admin/products/14",
            Some(json!({"name": "a\u{0}b"})),
            "NUL",
        ),
        (
            Method::PUT,
            "/api/v1/admin/cron/toggle",
            Some(json!({"name": "sync-today\u{0}", "status": true})),
            "NUL",
        ),
        (
            Method::PUT,
            "/api/v1/admin/cron/sync%00",
            Some(json!({"enabled": true})),
            "path parameter `name`",
        ),
        (
            Method::POST,
            "/api/v1/admin/cron/trigger?name=sync-today%00",
            None,
            "query parameter `name`",
        ),
        (
            Method::GET,
            "/api/v1/admin/runs?job=%00",
            None,
            "query parameter `job`",
        ),
    ];
    for (method, path, body, mentions) in cases {
        let (status, response) = server.admin(method, path, body).await;
        assert_error(status, &response, 400, mentions);
    }
    let (_, product) = server.get("/api/v1/products/14").await;
    assert!(!product["data"]["name"].as_str().unwrap().contains('\0'));
    server.stop().await;
}

/// Schemathesis finding: serde fills a struct from a JSON array too, so `[null, null]` was a
/// valid product update and `["sync-today", true]` enabled a job. Bodies must be objects.
#[tokio::test]
async fn admin_bodies_must_be_json_objects() {
    let server = TestServer::start(Options::default()).await;
    let cases = [
        ("/api/v1/admin/products/14", json!([null, null])),
        ("/api/v1/admin/cron/toggle", json!(["sync-today", true])),
        ("/api/v1/admin/cron/sync-today", json!([null, null, true])),
        ("/api/v1/admin/products/14", json!("x")),
    ];
    for (path, body) in cases {
        let (status, response) = server.admin(Method::PUT, path, Some(body)).await;
        assert_error(status, &response, 400, "JSON object");
    }
    let (_, jobs) = server.admin(Method::GET, "/api/v1/admin/cron", None).await;
    let jobs = jobs["data"].as_array().unwrap();
    assert!(
        jobs.iter().all(|job| job["enabled"] == false),
        "no job was enabled by an array body: {jobs:?}"
    );
    server.stop().await;
}

/// The name limit is 200 characters, as the message says, not 200 bytes.
#[tokio::test]
async fn product_names_are_limited_in_characters_not_bytes() {
    let server = TestServer::start(Options::default()).await;
    let name = "é".repeat(200);
    let (status, body) = server
        .admin(
            Method::PUT,
            "/api/v1/admin/products/14",
            Some(json!({ "name": name })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["name"], name);
    let (status, body) = server
        .admin(
            Method::PUT,
            "/api/v1/admin/products/14",
            Some(json!({ "name": "é".repeat(201) })),
        )
        .await;
    assert_error(status, &body, 400, "200 characters");
    server.stop().await;
}

/// Schemathesis finding: the OpenAPI document left out the errors the middleware gives (401 on
/// admin routes, 429 on public ones, 413 where a body is read, 503 on store or timeout) and
/// some handler 400s; each is now documented with the `ErrorBody` schema.
#[tokio::test]
async fn openapi_documents_every_error_the_routes_return() {
    let server = TestServer::start(Options::default()).await;
    let (status, doc) = server.get("/api/openapi.json").await;
    assert_eq!(status, 200);
    let error_ref = json!({"$ref": "#/components/schemas/ErrorBody"});
    assert!(doc["components"]["schemas"]["ErrorBody"]["properties"]["statusCode"].is_object());
    for (name, header) in [
        ("Unauthorized", Some("WWW-Authenticate")),
        ("TooManyRequests", Some("Retry-After")),
        ("PayloadTooLarge", None),
        ("ServiceUnavailable", None),
    ] {
        let response = &doc["components"]["responses"][name];
        assert_eq!(
            response["content"]["application/json"]["schema"], error_ref,
            "{name}"
        );
        if let Some(header) = header {
            assert!(response["headers"][header].is_object(), "{name}: {header}");
        }
    }
    let reference = |name: &str| json!({"$ref": format!("#/components/responses/{name}")});
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let responses = &operation["responses"];
            let what = format!("{method} {path}");
            let secured = operation["security"]
                .as_array()
                .is_some_and(|s| !s.is_empty());
            assert_eq!(
                secured,
                path.starts_with("/api/v1/admin")
                    || path.starts_with("/api/v1/sync")
                    || path == "/api/v1/events",
                "{what}"
            );
            if secured {
                assert_eq!(responses["401"], reference("Unauthorized"), "{what}");
            }
            let public = operation["tags"][0] == "public";
            if public {
                assert_eq!(responses["429"], reference("TooManyRequests"), "{what}");
            }
            if operation["requestBody"].is_object() {
                assert_eq!(responses["413"], reference("PayloadTooLarge"), "{what}");
                assert_eq!(
                    responses["415"],
                    reference("UnsupportedMediaType"),
                    "{what}"
                );
            }
            if path != "/healthz" {
                assert_eq!(responses["503"], reference("ServiceUnavailable"), "{what}");
            }
            for (code, response) in responses.as_object().unwrap() {
                if code.starts_with('4') && response.get("$ref").is_none() {
                    assert_eq!(
                        response["content"]["application/json"]["schema"], error_ref,
                        "{what} {code}"
                    );
                }
            }
            checked += 1;
        }
    }
    assert_eq!(
        checked, 32,
        "23 operations of SPEC §2 and 9 of the change feed (§6)"
    );
    let paths = &doc["paths"];
    let processes = &paths["/api/v1/admin/processes"]["get"];
    assert!(processes["responses"]["200"].is_object(), "{processes}");
    let run = &doc["components"]["schemas"]["RunBody"]["properties"];
    for field in ["owner", "scope", "replans", "skippedTicks"] {
        assert!(run[field].is_object(), "RunBody documents {field}: {run}");
    }
    assert!(paths["/api/v1/sync/clear-hold"]["post"].is_object());
    assert!(paths["/api/v1/admin/cron/trigger"]["post"]["responses"]["400"].is_object());
    assert!(paths["/api/v1/admin/products/{id}"]["delete"]["responses"]["400"].is_object());
    let id = &paths["/api/v1/products/{id}"]["get"]["parameters"][0];
    assert_eq!(id["schema"]["minimum"], 1, "{id}");
    server.stop().await;
}

/// The 401/429/413/503 answers the document promises really come with the `ErrorBody` shape,
/// and a store-backed route answers 401 before touching the store.
#[tokio::test]
async fn documented_middleware_errors_are_error_bodies() {
    let server = TestServer::start(Options::default()).await;
    let response = server
        .http
        .put(server.url("/api/v1/admin/cron/toggle"))
        .bearer_auth(crate::support::TOKEN)
        .body(vec![b' '; 100 * 1024])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert_error(status, &response.json().await.unwrap(), 413, "too large");
    let response = server
        .http
        .put(server.url("/api/v1/admin/cron/sync-today"))
        .json(&json!({"enabled": true}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert_error(
        status,
        &response.json().await.unwrap(),
        401,
        "Authorization",
    );
    server.stop().await;
}
