//! `tickete sync` against the simulator: what the partner said is what `slots` and `dates`
//! print; a dry run spends nothing; failures exit 1 with a message.

use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;
use rust_decimal::Decimal;
use serde_json::Value;
use tickete_core::ProductId;
use tickete_partner_sim::SimConfig;

use tickete_core::testing::{assert_served_slots, decimal, lowest_open_price};

use crate::support::{today, Sim, Store};

#[test]
fn sync_then_slots_and_dates_print_what_the_partner_said() {
    let sim = Sim::start();
    let store = Store::new();
    store
        .tickete(&sim.url)
        .args(["sync", "--product", "14", "--days", "3"])
        .assert()
        .success()
        .stdout(contains("succeeded"));
    assert_eq!(sim.sim.stats().requests, 3);

    let product = ProductId::new(14).unwrap();
    for offset in 0..3u64 {
        let date = today() + chrono::Days::new(offset);
        let truth = sim.sim.day(product, date).unwrap();
        let body = store.json(&["slots", "14", "--date", &date.to_string()]);
        assert_served_slots(body["slots"].as_array().unwrap(), &truth, &date.to_string());
    }

    // Every synced date with an open slot, at its lowest primary price.
    let dates = store.json(&["dates", "14"]);
    let mut expected = Vec::new();
    for offset in 0..3u64 {
        let date = today() + chrono::Days::new(offset);
        let lowest = lowest_open_price(&sim.sim.day(product, date).unwrap());
        if let Some(lowest) = lowest {
            expected.push((date.to_string(), lowest));
        }
    }
    let printed: Vec<(String, Decimal)> = dates["dates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["date"].as_str().unwrap().to_owned(),
                decimal(&entry["price"]["finalPrice"]),
            )
        })
        .collect();
    assert_eq!(printed, expected);

    let runs = store.json(&["runs", "list"]);
    assert_eq!(runs["totalLength"], 1);
    let run = &runs["data"][0];
    assert_eq!(run["job"], "manual-sync");
    assert_eq!(run["status"], "succeeded");
    assert_eq!(run["fetched"], 3);
    let shown = store.json(&["runs", "show", &run["id"].to_string()]);
    assert_eq!(shown["data"], *run);

    // Human tables too, on a synced date the partner has slots on (the simulator closes
    // some weekdays, so today may have none).
    let open_date = (0..3u64)
        .map(|offset| today() + chrono::Days::new(offset))
        .find(|date| !sim.sim.day(product, *date).unwrap().is_empty())
        .expect("the simulator opens product 14 on one of three days in a row");
    store
        .offline()
        .args(["slots", "14", "--date", &open_date.to_string()])
        .assert()
        .success()
        .stdout(contains("remaining").and(contains("SGD")));
}

#[test]
fn dry_run_prints_the_plan_and_spends_no_partner_calls() {
    let sim = Sim::start();
    let store = Store::new();
    let output = store
        .tickete(&sim.url)
        .args(["--json", "sync", "--days", "5", "--dry-run"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let plan: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(plan["planned"], 10);
    assert_eq!(plan["calls"], 10);
    assert_eq!(plan["products"], serde_json::json!([14, 15]));
    assert_eq!(plan["ratePerMinute"], 600);
    // Nine gaps of 101.7 ms (61 s / 600, the pacing margin included) after the first call.
    assert_eq!(plan["estimatedSeconds"], 0);
    store
        .tickete(&sim.url)
        .args(["sync", "--product", "15", "--days", "62", "--dry-run"])
        .env("TICKETE_PARTNER_RATE_PER_MINUTE", "30")
        .assert()
        .success()
        .stdout(contains("62").and(contains("2m 04s at 30/min")));
    assert_eq!(sim.sim.stats().requests, 0);
    assert_eq!(store.json(&["runs", "list"])["totalLength"], 0);
}

#[test]
fn an_unreachable_partner_fails_the_sync_with_exit_1() {
    let store = Store::new();
    store
        .tickete("http://127.0.0.1:9")
        .args(["sync", "--product", "14", "--days", "1"])
        .assert()
        .code(1)
        .stdout(contains("failed"))
        .stderr(
            contains("1 of 1 partner fetches failed").and(contains("partner connection failed")),
        );
    let run = &store.json(&["runs", "list"])["data"][0];
    assert_eq!(run["status"], "failed");
    assert_eq!(run["failed"], 1);
}

#[test]
fn a_refused_key_fails_at_once_and_keeps_no_data() {
    let sim = Sim::with(SimConfig {
        rate_limit: 0,
        change_rate: 0.0,
        api_key: Some("the-right-key".into()),
        ..SimConfig::default()
    });
    let store = Store::new();
    store
        .tickete(&sim.url)
        .env("TICKETE_PARTNER_API_KEY", "a-wrong-key")
        .args(["--json", "sync", "--days", "2"])
        .assert()
        .code(1)
        .stderr(contains("4 of 4 partner fetches failed").and(contains("permanent")));
    let slots = store.json(&["slots", "14"]);
    assert_eq!(slots["slots"], serde_json::json!([]));
    // With the right key the same sync succeeds.
    store
        .tickete(&sim.url)
        .env("TICKETE_PARTNER_API_KEY", "the-right-key")
        .args(["sync", "--days", "2"])
        .assert()
        .success();
}

#[test]
fn jobs_trigger_runs_the_job_in_process_and_waits() {
    let sim = Sim::start();
    let store = Store::new();
    store
        .tickete(&sim.url)
        .args(["--json", "jobs", "trigger", "sync-today"])
        .assert()
        .success()
        .stdout(contains("\"job\": \"sync-today\"").and(contains("\"status\": \"succeeded\"")));
    assert_eq!(sim.sim.stats().requests, 2);
    let jobs = store.json(&["jobs", "list"]);
    let today_job = jobs["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|job| job["name"] == "sync-today")
        .unwrap();
    assert_eq!(today_job["lastStatus"], "succeeded");
    store
        .tickete(&sim.url)
        .args(["jobs", "trigger", "no-such-job"])
        .assert()
        .code(1)
        .stderr(contains("no-such-job"));
}
