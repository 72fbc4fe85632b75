//! The client against wiremock (and a raw socket for an endless body): every outcome class.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use tickete_core::{Clock, InventorySource, ProductId, SourceError};
use tickete_partner::{PartnerClient, PartnerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{client, client_with, date, fixture, FixedClock};

const KEY: &str = "k3y-Sup3r-s3cret";

fn p(id: u32) -> ProductId {
    ProductId::new(id).unwrap()
}

async fn answering(template: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(template)
        .mount(&server)
        .await;
    server
}

async fn fetch_from(template: ResponseTemplate) -> Result<tickete_core::DaySnapshot, SourceError> {
    let server = answering(template).await;
    client(&server.uri(), Some(KEY))
        .fetch(p(14), date("2025-03-25"))
        .await
}

fn json(body: Vec<u8>) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body, "application/json")
}

#[tokio::test]
async fn fixture_day_parses_with_exact_prices_key_and_user_agent() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/inventory/14"))
        .and(query_param("date", "2025-03-25"))
        .and(header("x-api-key", KEY))
        .and(header(
            "user-agent",
            concat!("tickete/", env!("CARGO_PKG_VERSION")),
        ))
        .respond_with(json(fixture("product-14_2025-03-25.json")))
        .expect(1)
        .mount(&server)
        .await;
    let day = client(&server.uri(), Some(KEY))
        .fetch(p(14), date("2025-03-25"))
        .await
        .unwrap();
    assert_eq!(day.slots.len(), 9);
    let first = &day.slots[0];
    assert_eq!(first.provider_slot_id, "225532707686_2025-03-25T04:00");
    assert_eq!(first.pax[0].price.final_price.to_string(), "212.14");
    assert_eq!(first.pax[0].price.original_price.to_string(), "312.14");
    assert!(first.pax[0].is_primary);
    let second = &day.slots[1];
    assert_eq!(second.pax[1].price.final_price.to_string(), "73");
    assert!(!second.pax[1].is_primary, "missing isPrimary means false");
}

#[tokio::test]
async fn sunday_fixture_empty_day_and_unknown_fields() {
    let day = fetch_at(json(fixture("product-15_2025-03-30.json")), "2025-03-30").await;
    assert_eq!(day.unwrap().slots[0].pax.len(), 3);
    let empty = fetch_from(json(fixture("empty-day.json"))).await.unwrap();
    assert!(empty.slots.is_empty());

    let mut value: serde_json::Value =
        serde_json::from_slice(&fixture("product-14_2025-03-25.json")).unwrap();
    value[0]["somethingNew"] = serde_json::json!({"nested": [1, 2]});
    value[0]["paxAvailability"][0]["extra"] = serde_json::json!(true);
    let day = fetch_from(json(serde_json::to_vec(&value).unwrap())).await;
    assert_eq!(day.unwrap().slots.len(), 9);
}

async fn fetch_at(
    template: ResponseTemplate,
    on: &str,
) -> Result<tickete_core::DaySnapshot, SourceError> {
    let server = answering(template).await;
    client(&server.uri(), Some(KEY))
        .fetch(p(15), date(on))
        .await
}

#[tokio::test]
async fn base_url_with_a_path_prefix_is_kept() {
    let server = MockServer::start().await;
    Mock::given(path("/partner-sim/api/v1/inventory/15"))
        .and(query_param("date", "2025-03-30"))
        .respond_with(json(fixture("product-15_2025-03-30.json")))
        .expect(1)
        .mount(&server)
        .await;
    let base = format!("{}/partner-sim/", server.uri());
    let day = client(&base, None)
        .fetch(p(15), date("2025-03-30"))
        .await
        .unwrap();
    assert_eq!(day.slots.len(), 1);
}

fn fixed_clock() -> (FixedClock, chrono::DateTime<Utc>) {
    let clock = FixedClock::new();
    let now = clock.now();
    (clock, now)
}

async fn rate_limited(template: ResponseTemplate) -> chrono::DateTime<Utc> {
    let server = answering(template).await;
    let (clock, _) = fixed_clock();
    let client = client_with(&server.uri(), None, Duration::from_secs(5), Arc::new(clock));
    match client.fetch(p(14), date("2025-03-25")).await {
        Err(SourceError::RateLimited { reset_at }) => reset_at,
        other => panic!("expected RateLimited, got {other:?}"),
    }
}

#[tokio::test]
async fn rate_limit_reset_comes_from_body_then_retry_after_then_sixty_seconds() {
    let (_, now) = fixed_clock();
    let reset = now + chrono::Duration::milliseconds(17_250);
    let body = serde_json::json!({"rateLimitState": {"reset": reset.timestamp_millis()}});
    let both = ResponseTemplate::new(429)
        .set_body_json(body)
        .insert_header("retry-after", "5");
    assert_eq!(rate_limited(both).await, reset);

    let seconds = ResponseTemplate::new(429).insert_header("retry-after", "7");
    assert_eq!(
        rate_limited(seconds).await,
        now + chrono::Duration::seconds(7)
    );

    let http_date = ResponseTemplate::new(429)
        .set_body_string("slow down")
        .insert_header("retry-after", "Tue, 25 Mar 2025 10:00:42 GMT");
    assert_eq!(
        rate_limited(http_date).await,
        Utc.with_ymd_and_hms(2025, 3, 25, 10, 0, 42).unwrap()
    );

    let nothing = ResponseTemplate::new(429);
    assert_eq!(
        rate_limited(nothing).await,
        now + chrono::Duration::seconds(60)
    );

    // A reset already in the past is not usable: fall back to Retry-After.
    let stale = ResponseTemplate::new(429)
        .set_body_json(serde_json::json!({"rateLimitState": {"reset": 1000}}))
        .insert_header("retry-after", "3");
    assert_eq!(
        rate_limited(stale).await,
        now + chrono::Duration::seconds(3)
    );

    // A reset absurdly far out is clamped to an hour.
    let far = ResponseTemplate::new(429)
        .set_body_json(serde_json::json!({"rateLimitState": {"reset": 99_999_999_999_999i64}}));
    assert_eq!(rate_limited(far).await, now + chrono::Duration::hours(1));
}

#[tokio::test]
async fn server_errors_are_transient() {
    for status in [500, 502, 503, 504] {
        let result = fetch_from(ResponseTemplate::new(status).set_body_string("oops")).await;
        assert!(
            matches!(&result, Err(SourceError::Transient(m)) if m.contains(&status.to_string())),
            "{status}: {result:?}"
        );
    }
}

#[tokio::test]
async fn a_slow_partner_times_out_as_transient() {
    let server =
        answering(json(fixture("empty-day.json")).set_delay(Duration::from_secs(30))).await;
    let client = client_with(
        &server.uri(),
        None,
        Duration::from_millis(200),
        Arc::new(tickete_core::SystemClock),
    );
    let result = client.fetch(p(14), date("2025-03-25")).await;
    assert!(
        matches!(&result, Err(SourceError::Transient(m)) if m.contains("timed out")),
        "{result:?}"
    );
}

#[tokio::test]
async fn connection_refused_and_reset_are_transient() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let refused = client(&format!("http://{address}"), None)
        .fetch(p(14), date("2025-03-25"))
        .await;
    assert!(
        matches!(refused, Err(SourceError::Transient(_))),
        "{refused:?}"
    );

    // A server that accepts, reads the request and closes without answering.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buffer = [0u8; 4096];
            let _ = socket.read(&mut buffer).await;
            drop(socket);
        }
    });
    let reset = client(&format!("http://{address}"), None)
        .fetch(p(14), date("2025-03-25"))
        .await;
    assert!(matches!(reset, Err(SourceError::Transient(_))), "{reset:?}");
}

#[tokio::test]
async fn refused_keys_are_permanent_and_never_echoed() {
    for status in [401, 403] {
        let echo = format!(r#"{{"message":"key {KEY} is not valid"}}"#);
        let result = fetch_from(ResponseTemplate::new(status).set_body_string(echo)).await;
        match result {
            Err(SourceError::Permanent(message)) => {
                assert!(message.contains("API key"), "{message}");
                assert!(!message.contains(KEY), "{message}");
            }
            other => panic!("{status}: {other:?}"),
        }
    }
    // Even a 5xx that echoes the key does not carry it into the error.
    let echo = format!("upstream rejected x-api-key={KEY}");
    match fetch_from(ResponseTemplate::new(500).set_body_string(echo)).await {
        Err(SourceError::Transient(message)) => {
            assert!(
                message.contains("***") && !message.contains(KEY),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn other_client_errors_and_redirects_are_permanent() {
    for status in [400, 410, 422] {
        let result = fetch_from(ResponseTemplate::new(status).set_body_string("no")).await;
        assert!(
            matches!(result, Err(SourceError::Permanent(_))),
            "{status}: {result:?}"
        );
    }
    // 404 is the partner not knowing the product: the policy learns it (SPEC §4).
    let unknown = fetch_from(ResponseTemplate::new(404).set_body_string("no")).await;
    assert!(
        matches!(&unknown, Err(SourceError::UnknownProduct(m)) if m.contains("404")),
        "{unknown:?}"
    );
    let elsewhere = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(json(fixture("empty-day.json")))
        .expect(0)
        .mount(&elsewhere)
        .await;
    let redirect = ResponseTemplate::new(302).insert_header("location", elsewhere.uri().as_str());
    let result = fetch_from(redirect).await;
    assert!(
        matches!(result, Err(SourceError::Permanent(_))),
        "{result:?}"
    );
}

async fn invalid(template: ResponseTemplate) -> String {
    match fetch_from(template).await {
        Err(SourceError::InvalidResponse(message)) => message,
        other => panic!("expected InvalidResponse, got {other:?}"),
    }
}

#[tokio::test]
async fn bodies_that_break_the_contract_are_invalid_with_an_excerpt() {
    let html =
        invalid(ResponseTemplate::new(200).set_body_string("<html>maintenance</html>")).await;
    assert!(html.contains("body starts: <html>maintenance"), "{html}");

    let shape = invalid(json(br#"{"data": []}"#.to_vec())).await;
    assert!(shape.contains(r#"{"data": []}"#), "{shape}");

    // The fixture for 2025-03-25 asked for as 2025-03-26: wrong startDate.
    let server = answering(json(fixture("product-14_2025-03-25.json"))).await;
    let wrong_date = client(&server.uri(), None)
        .fetch(p(14), date("2025-03-26"))
        .await;
    assert!(
        matches!(&wrong_date, Err(SourceError::InvalidResponse(m)) if m.contains("not the requested date")),
        "{wrong_date:?}"
    );

    let three_decimals = String::from_utf8(fixture("product-14_2025-03-25.json"))
        .unwrap()
        .replacen("212.14", "212.145", 1);
    let money = invalid(json(three_decimals.into_bytes())).await;
    assert!(money.contains("more than 2 decimals"), "{money}");

    let not_utf8 = invalid(json(vec![0xff, 0xfe, 0x00, 0x5b])).await;
    assert!(not_utf8.contains("body starts"), "{not_utf8}");

    // A parser error quoting a megabyte-long string still gives a short message.
    let quoted = format!(r#"[{{"startDate": "{}"}}]"#, "z".repeat(1024 * 1024));
    let long = invalid(json(quoted.into_bytes())).await;
    assert!(
        long.chars().count() < 1000,
        "{} chars",
        long.chars().count()
    );

    let other_success = invalid(ResponseTemplate::new(204)).await;
    assert!(other_success.contains("204"), "{other_success}");
}

#[tokio::test]
async fn a_declared_huge_body_is_refused() {
    let mut config = PartnerConfig::new(Url::parse("http://unused").unwrap());
    assert_eq!(config.max_body_bytes, 4 * 1024 * 1024);
    let body = vec![b' '; 4 * 1024 * 1024 + 1];
    let server = answering(json(body)).await;
    config.base_url = Url::parse(&server.uri()).unwrap();
    let result = PartnerClient::new(config)
        .unwrap()
        .fetch(p(14), date("2025-03-25"))
        .await;
    assert!(
        matches!(&result, Err(SourceError::InvalidResponse(m)) if m.contains("larger than")),
        "{result:?}"
    );
}

#[tokio::test]
async fn an_endless_chunked_body_is_cut_off_not_buffered() {
    // Streams chunks for as long as anyone reads: buffering it would never end.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buffer = [0u8; 4096];
        let _ = socket.read(&mut buffer).await;
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
        if socket.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "[".repeat(64 * 1024));
        while socket.write_all(chunk.as_bytes()).await.is_ok() {}
    });
    let mut config = PartnerConfig::new(Url::parse(&format!("http://{address}")).unwrap());
    config.max_body_bytes = 256 * 1024;
    let result = PartnerClient::new(config)
        .unwrap()
        .fetch(p(14), date("2025-03-25"))
        .await;
    assert!(
        matches!(&result, Err(SourceError::InvalidResponse(m)) if m.contains("larger than the 262144-byte limit")),
        "{result:?}"
    );
}

#[tokio::test]
async fn the_key_never_appears_in_debug() {
    let config = PartnerConfig::default().with_api_key(KEY);
    let shown = format!("{config:?} {config:#?}");
    assert!(shown.contains("***") && !shown.contains(KEY), "{shown}");
    let client = PartnerClient::new(config).unwrap();
    let shown = format!("{client:?}");
    assert!(shown.contains("***") && !shown.contains(KEY), "{shown}");
    assert_eq!(
        client.inventory_url(p(14), date("2025-03-25")).as_str(),
        "https://leap-api.tickete.co/api/v1/inventory/14?date=2025-03-25"
    );
}

#[tokio::test]
async fn unusable_configs_are_refused_without_showing_the_key() {
    let bad_key = PartnerConfig::default().with_api_key("line\nbreak-secret");
    let error = PartnerClient::new(bad_key).unwrap_err();
    assert!(!error.to_string().contains("secret"), "{error}");
    let ftp = PartnerConfig::new(Url::parse("ftp://partner.example").unwrap());
    assert!(PartnerClient::new(ftp).is_err());
    let zero = PartnerConfig {
        request_timeout: Duration::ZERO,
        ..PartnerConfig::default()
    };
    assert!(PartnerClient::new(zero).is_err());
}

/// A NUL in partner text was stored by SQLite and refused by Postgres as "store
/// unavailable". The client now reports an invalid response that names the field, and the
/// message itself carries no control character.
#[tokio::test]
async fn control_characters_in_partner_text_are_an_invalid_response() {
    let text = String::from_utf8(fixture("product-14_2025-03-25.json")).unwrap();
    for (from, to, field) in [
        (r#""name": ""#, r#""name": "\u0000"#, "name"),
        (
            r#""providerSlotId": ""#,
            r#""providerSlotId": "\u001b[2J"#,
            "providerSlotId",
        ),
        (r#""type": ""#, r#""type": "\u0007"#, "type"),
    ] {
        assert!(text.contains(from), "fixture has {from}");
        let hostile = text.replacen(from, to, 1);
        let message = invalid(json(hostile.into_bytes())).await;
        assert!(message.contains("control character"), "{message}");
        assert!(message.contains(field), "{message}");
        assert!(!message.chars().any(char::is_control), "{message:?}");
    }
}
