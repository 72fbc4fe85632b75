//! The simulator's HTTP surface: the partner route with its limit, key check and faults,
//! and the `/__sim` routes for tests and benches.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde_json::json;
use tickete_core::validate::{RawPax, RawPrice, RawSlot};
use tickete_core::ProductId;

use crate::limiter::Refused;
use crate::Simulator;

pub(super) fn router(sim: Simulator) -> Router {
    Router::new()
        .route("/api/v1/inventory/{product}", get(inventory))
        .route("/__sim/stats", get(stats))
        .route("/__sim/inventory/{product}", get(truth))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such route") })
        .with_state(sim)
}

/// What one partner-route request gets, decided under the lock.
enum Outcome {
    Unauthorized,
    RateLimited(Refused),
    BadRequest(String),
    NotFound(ProductId),
    ServerError(u64),
    Hang,
    Malformed(u64, NaiveDate, Vec<RawSlot>),
    Day(Vec<RawSlot>),
}

async fn inventory(
    State(sim): State<Simulator>,
    Path(product): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let outcome = decide(&sim, &product, query.get("date"), &headers);
    let latency = sim.config().latency;
    if !latency.is_zero() {
        tokio::select! {
            _ = tokio::time::sleep(latency) => {}
            _ = sim.inner.hangs.cancelled() => {}
        }
    }
    match outcome {
        Outcome::Unauthorized => error(
            StatusCode::UNAUTHORIZED,
            "missing or invalid x-api-key header",
        ),
        Outcome::RateLimited(refused) => rate_limited(&sim, refused),
        Outcome::BadRequest(message) => error(StatusCode::BAD_REQUEST, &message),
        Outcome::NotFound(product) => error(
            StatusCode::NOT_FOUND,
            &format!("product {product} does not exist"),
        ),
        Outcome::ServerError(pick) => server_error(pick),
        Outcome::Hang => {
            tokio::select! {
                _ = tokio::time::sleep(sim.config().hang_for) => {}
                _ = sim.inner.hangs.cancelled() => {}
            }
            error(StatusCode::GATEWAY_TIMEOUT, "upstream timed out")
        }
        Outcome::Malformed(pick, date, slots) => malformed(pick, date, slots),
        Outcome::Day(slots) => json_body(StatusCode::OK, &slots),
    }
}

fn decide(sim: &Simulator, product: &str, date: Option<&String>, headers: &HeaderMap) -> Outcome {
    let now_epoch_ms = sim.inner.clock.now().timestamp_millis();
    let now_ms = sim.now_ms();
    let config = sim.config();
    let mut state = sim.lock();
    let state = &mut *state;
    state.counters.requests += 1;
    state.per_minute.record(now_epoch_ms);
    state.per_window.record(now_epoch_ms);
    if let Some(expected) = &config.api_key {
        let given = headers.get("x-api-key").map(HeaderValue::as_bytes);
        if given != Some(expected.as_bytes()) {
            state.counters.unauthorized += 1;
            return Outcome::Unauthorized;
        }
    }
    if let Err(refused) = state.limiter.admit(now_epoch_ms) {
        state.counters.rate_limited += 1;
        return Outcome::RateLimited(refused);
    }
    let parsed = product
        .parse::<ProductId>()
        .map_err(|e| e.to_string())
        .and_then(|product| Ok((product, parse_date(date)?)));
    let (product, date) = match parsed {
        Ok(parsed) => parsed,
        Err(message) => {
            state.counters.bad_request += 1;
            return Outcome::BadRequest(message);
        }
    };
    if !sim.has_product(product) {
        state.counters.not_found += 1;
        return Outcome::NotFound(product);
    }
    let roll = state.faults.unit();
    let pick = state.faults.next_u64();
    if roll < config.timeout_rate {
        state.counters.timeouts += 1;
        return Outcome::Hang;
    }
    if roll < config.timeout_rate + config.error_rate {
        state.counters.server_errors += 1;
        return Outcome::ServerError(pick);
    }
    let malformed = roll < config.timeout_rate + config.error_rate + config.malformed_rate;
    let day = sim.day_state(state, product.get(), date, now_ms);
    let slots = day.slots.clone();
    if malformed {
        state.counters.malformed += 1;
        return Outcome::Malformed(pick, date, slots);
    }
    day.fetches += 1;
    state.counters.served += 1;
    Outcome::Day(slots)
}

fn parse_date(date: Option<&String>) -> Result<NaiveDate, String> {
    let date = date.ok_or("query parameter `date` is required (YYYY-MM-DD)")?;
    NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .ok()
        .filter(|_| date.len() == 10)
        .ok_or_else(|| {
            let shown: String = date.chars().take(20).collect();
            format!("date `{shown}` is not YYYY-MM-DD")
        })
}

async fn stats(
    State(sim): State<Simulator>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match query.get("product").map(|p| p.parse::<ProductId>()) {
        None => Json(sim.stats_filtered(None)).into_response(),
        Some(Ok(product)) => Json(sim.stats_filtered(Some(product.get()))).into_response(),
        Some(Err(e)) => error(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

async fn truth(
    State(sim): State<Simulator>,
    Path(product): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let product = match product.parse::<ProductId>() {
        Ok(product) => product,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e.to_string()),
    };
    let date = match parse_date(query.get("date")) {
        Ok(date) => date,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    match sim.day(product, date) {
        Some(slots) => json_body(StatusCode::OK, &slots),
        None => error(
            StatusCode::NOT_FOUND,
            &format!("product {product} does not exist"),
        ),
    }
}

fn rate_limited(sim: &Simulator, refused: Refused) -> Response {
    let now_ms = sim.inner.clock.now().timestamp_millis();
    let wait_secs = ((refused.reset_ms - now_ms).max(0) + 999) / 1000;
    let body = json!({
        "statusCode": 429,
        "error": "Too Many Requests",
        "message": "rate limit exceeded",
        "rateLimitState": {
            "limit": sim.config().rate_limit,
            "remaining": 0,
            "reset": refused.reset_ms,
        },
    });
    let mut response = json_body(StatusCode::TOO_MANY_REQUESTS, &body);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(wait_secs));
    response
}

fn server_error(pick: u64) -> Response {
    match pick % 3 {
        0 => error(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
        1 => (
            StatusCode::BAD_GATEWAY,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
        )
            .into_response(),
        _ => error(StatusCode::SERVICE_UNAVAILABLE, "service unavailable"),
    }
}

/// A 200 whose body breaks the contract in one of five ways.
fn malformed(pick: u64, date: NaiveDate, mut slots: Vec<RawSlot>) -> Response {
    if slots.is_empty() {
        slots.push(filler_slot(date));
    }
    match pick % 5 {
        0 => {
            let body = serde_json::to_vec(&slots).unwrap_or_default();
            let cut = body.len() / 2;
            raw_json(body[..cut].to_vec())
        }
        1 => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body>Service temporarily unavailable</body></html>",
        )
            .into_response(),
        2 => json_body(StatusCode::OK, &json!({ "data": slots, "status": "ok" })),
        3 => {
            let wrong = date
                .succ_opt()
                .unwrap_or(date)
                .format("%Y-%m-%d")
                .to_string();
            for slot in &mut slots {
                slot.start_date = wrong.clone();
            }
            json_body(StatusCode::OK, &slots)
        }
        _ => {
            slots[0].remaining = -3;
            slots[0].pax_availability[0].price.final_price = Decimal::new(212_145, 3);
            json_body(StatusCode::OK, &slots)
        }
    }
}

fn filler_slot(date: NaiveDate) -> RawSlot {
    let date = date.format("%Y-%m-%d").to_string();
    RawSlot {
        provider_slot_id: format!("1_{date}T09:00"),
        start_date: date,
        start_time: "09:00".into(),
        end_time: "09:00".into(),
        remaining: 10,
        currency_code: Some("SGD".into()),
        variant_id: 1,
        pax_availability: vec![RawPax {
            pax_type: "ADULT_12~99".into(),
            name: None,
            description: None,
            min: None,
            max: None,
            remaining: 10,
            is_primary: None,
            price: RawPrice {
                final_price: Decimal::new(1000, 2),
                original_price: Decimal::new(1000, 2),
                discount: None,
                currency_code: Some("SGD".into()),
            },
        }],
    }
}

fn json_body(status: StatusCode, value: &impl serde::Serialize) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => {
            let mut response = raw_json(body);
            *response.status_mut() = status;
            response
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

fn raw_json(body: Vec<u8>) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

fn error(status: StatusCode, message: &str) -> Response {
    let body = json!({
        "statusCode": status.as_u16(),
        "error": status.canonical_reason().unwrap_or("Error"),
        "message": message,
    });
    (status, Json(body)).into_response()
}
