//! Live reads end to end (SPEC §2 "Live reads"): a reader's `Cache-Control: max-age=N` or
//! `?maxAge=N` on the slots routes fetches the day from the partner now when the stored day is
//! older, within the pacer and the live caps; every fallback is a 200 with the stored body
//! and a `Tickete-Freshness` that says why.
//!
//! This file holds the shared helpers. The answers of live reads are in answers.rs, the
//! fallbacks in fallbacks.rs and partner_failures.rs, one call for many readers in
//! coalescing.rs, the `/metrics` series in metrics.rs.

mod answers;
mod coalescing;
mod fallbacks;
mod metrics;
mod partner_failures;

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde_json::Value;
use tickete_core::ProductId;
use tickete_partner_sim::Simulator;

use crate::support::{today, TestServer};

const MAX_AGE_0: (&str, &str) = ("Cache-Control", "max-age=0");

/// One answer of a slots route, headers as the client sees them.
#[derive(Debug)]
struct Answer {
    status: u16,
    age: Option<u64>,
    freshness: Option<String>,
    last_modified: Option<String>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is JSON ({e}): {}", self.body))
    }

    fn slots(&self) -> Vec<Value> {
        self.json()["slots"]
            .as_array()
            .unwrap_or_else(|| panic!("a slots body: {}", self.body))
            .clone()
    }

    fn last_modified_at(&self) -> Option<DateTime<Utc>> {
        self.last_modified.as_deref().map(|text| {
            DateTime::parse_from_rfc2822(text)
                .unwrap_or_else(|e| panic!("Last-Modified `{text}` is an HTTP date: {e}"))
                .with_timezone(&Utc)
        })
    }
}

async fn read(server: &TestServer, path: &str, headers: &[(&str, &str)]) -> Answer {
    let response = server.get_with(path, headers).await;
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|value| value.to_str().unwrap().to_owned())
    };
    let age = header("age").map(|text| {
        text.parse::<u64>()
            .unwrap_or_else(|e| panic!("Age `{text}` is whole seconds: {e}"))
    });
    let freshness = header("tickete-freshness");
    let last_modified = header("last-modified");
    Answer {
        status: response.status().as_u16(),
        age,
        freshness,
        last_modified,
        body: response.text().await.unwrap(),
    }
}

fn slots_path(product: u32, date: NaiveDate) -> String {
    format!("/api/v1/experience/{product}/slots?date={date}")
}

fn id(product: u32) -> ProductId {
    ProductId::new(product).unwrap()
}

/// The first date at least `from` days ahead on which the simulator's `product` has slots.
fn open_day(sim: &Simulator, product: u32, from: u64) -> NaiveDate {
    (from..from + 14)
        .map(|ahead| today() + Days::new(ahead))
        .find(|date| !sim.day(id(product), *date).unwrap().is_empty())
        .unwrap_or_else(|| panic!("product {product} has slots within two weeks of +{from}"))
}

/// Successful partner answers the simulator gave for (product, date), and the changes its
/// answer went through since the simulator started.
fn day_counts(sim: &Simulator, product: u32, date: NaiveDate) -> (u64, u64) {
    sim.stats()
        .days
        .iter()
        .find(|day| day.product_id == product && day.date == date)
        .map_or((0, 0), |day| (day.fetches, day.changes))
}

fn fetches_of(sim: &Simulator, product: u32, date: NaiveDate) -> u64 {
    day_counts(sim, product, date).0
}
