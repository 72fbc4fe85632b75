//! Catalogue, jobs and the pause flag, edited straight on the store.

use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;
use serde_json::Value;

use std::num::NonZeroU32;
use std::sync::Arc;

use tickete_core::engine::PartnerBudget;
use tickete_core::SystemClock;
use tickete_store_sqlite::{SqliteBudget, SqliteStore};

use crate::support::Store;

fn ids(list: &Value) -> Vec<u64> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|product| product["id"].as_u64().unwrap())
        .collect()
}

#[test]
fn products_add_list_and_remove() {
    let store = Store::new();
    store.offline().arg("migrate").assert().success();
    assert_eq!(ids(&store.json(&["products", "list"])), [14, 15]);

    let added = store.json(&["products", "add", "99", "--name", "Night Safari"]);
    assert_eq!(added["statusCode"], 201);
    assert_eq!(added["data"]["name"], "Night Safari");
    assert_eq!(added["data"]["enabled"], true);
    let updated = store.json(&["products", "add", "99", "--disabled"]);
    assert_eq!(updated["statusCode"], 200);
    assert_eq!(updated["data"]["name"], "Night Safari");
    assert_eq!(updated["data"]["enabled"], false);

    let list = store.json(&["products"]);
    assert_eq!(ids(&list), [14, 15, 99]);
    assert_eq!(list["totalLength"], 3);
    store
        .offline()
        .arg("products")
        .assert()
        .success()
        .stdout(contains("Night Safari").and(contains("no")));

    store
        .offline()
        .args(["products", "remove", "99"])
        .assert()
        .success()
        .stdout(contains("removed product 99"));
    assert_eq!(ids(&store.json(&["products", "list"])), [14, 15]);
    store
        .offline()
        .args(["products", "remove", "99"])
        .assert()
        .code(1)
        .stderr(contains("product 99 not found"));
}

#[test]
fn jobs_set_schedule_validates_cron_and_enable_disable_toggle() {
    let store = Store::new();
    store
        .offline()
        .args(["jobs", "set-schedule", "sync-today", "every minute"])
        .assert()
        .code(2)
        .stderr(contains("not a valid cron expression").and(contains("*/15 * * * *")));
    store
        .offline()
        .args(["jobs", "set-schedule", "sync-today", "61 * * * *"])
        .assert()
        .code(2)
        .stderr(contains("not a valid cron expression"));

    let changed = store.json(&[
        "jobs",
        "set-schedule",
        "sync-today",
        "*/5 * * * *",
        "--window-days",
        "2",
    ]);
    assert_eq!(changed["data"]["schedule"], "*/5 * * * *");
    assert_eq!(changed["data"]["windowDays"], 2);

    let disabled = store.json(&["jobs", "disable", "sync-today"]);
    assert_eq!(disabled["data"]["enabled"], false);
    assert_eq!(disabled["data"]["nextRunAt"], Value::Null);
    let jobs = store.json(&["jobs"]);
    assert_eq!(jobs["totalLength"], 3);
    let job = jobs["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|job| job["name"] == "sync-today")
        .unwrap()
        .clone();
    assert_eq!(job["enabled"], false);
    assert_eq!(job["schedule"], "*/5 * * * *");
    let enabled = store.json(&["jobs", "enable", "sync-today"]);
    assert_eq!(enabled["data"]["enabled"], true);
    assert!(enabled["data"]["nextRunAt"].is_string());

    store
        .offline()
        .args(["jobs", "disable", "no-such-job"])
        .assert()
        .code(1)
        .stderr(contains("no-such-job"));
}

#[test]
fn pause_resume_and_status() {
    let store = Store::new();
    let status = store.json(&["status"]);
    assert_eq!(status["paused"], false);
    assert_eq!(status["partnerBudget"]["ratePerMinute"], 600);
    assert_eq!(status["lastRun"], Value::Null);

    let paused = store.json(&["pause"]);
    assert_eq!(paused["paused"], true);
    assert!(paused["pausedAt"].is_string());
    assert_eq!(store.json(&["status"])["paused"], true);
    store
        .offline()
        .arg("status")
        .assert()
        .success()
        .stdout(contains("paused since"));
    // A paused store refuses a sync before any partner call.
    store
        .offline()
        .args(["sync", "--days", "1"])
        .assert()
        .code(1)
        .stderr(contains("paused").and(contains("tickete resume")));

    let resumed = store.json(&["resume"]);
    assert_eq!(resumed["paused"], false);
    assert_eq!(resumed["pausedAt"], Value::Null);
}

/// On SQLite the 429 hold is kept in the file with the partner budget, so the CLI shows the
/// hold a server on the same file met, and lifts it for that server too.
#[test]
fn status_shows_the_stored_429_hold_and_clear_hold_lifts_it() {
    let store = Store::new();
    store.offline().arg("migrate").assert().success();
    let reset = chrono::Utc::now() + chrono::Duration::minutes(40);
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        // A server on this file got a 429 that resets in 40 minutes.
        let sqlite = SqliteStore::open(&store.url).await.unwrap();
        let budget = SqliteBudget::new(
            sqlite.pool().clone(),
            NonZeroU32::new(30).unwrap(),
            Arc::new(SystemClock),
        );
        budget.hold_until(reset).await.unwrap();
        sqlite.close().await;
    });

    let status = store.json(&["status"]);
    let held: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(status["partnerBudget"]["heldUntil"].clone()).unwrap();
    assert!(held >= reset, "{status}");
    store
        .offline()
        .arg("status")
        .assert()
        .success()
        .stdout(contains("429 hold until").and(contains("tickete clear-hold")));

    store
        .offline()
        .arg("clear-hold")
        .assert()
        .success()
        .stdout(contains("lifted the partner 429 hold").and(contains("partner hold:   none")));
    assert!(store.json(&["status"])["partnerBudget"]["heldUntil"].is_null());
    store
        .offline()
        .arg("clear-hold")
        .assert()
        .success()
        .stdout(contains("no partner 429 hold"));
}
