//! `tickete status` on Postgres shows the task queue the server replicas share.

use std::num::NonZeroU32;
use std::time::Duration;
use tickete_core::store::prelude::*;

use assert_cmd::Command;
use chrono::{Days, Utc};
use serde_json::Value;
use sqlx::Connection;
use tickete_core::engine::{PartnerBudget, WorkQueue};
use tickete_core::{NewRun, Product, ProductId, SyncTask, TaskPriority, Trigger, WorkClass};
use tickete_store_postgres::coordination::{PostgresBudget, PostgresQueue};
use tickete_store_postgres::PostgresStore;

#[test]
fn status_shows_the_queue_the_replicas_share() {
    let Some(database) = TestDatabase::create() else {
        return;
    };
    let url = database.url.clone();
    database.runtime.block_on(async {
        // A server queued three days of product 14 and is fetching one of them.
        let store = PostgresStore::connect(&url).await.unwrap();
        let product = ProductId::new(14).unwrap();
        let entry = Product {
            id: product,
            name: "Product 14".into(),
            enabled: true,
        };
        store.upsert_product(&entry).await.unwrap();
        let now = Utc::now();
        let run = store
            .create_run(&NewRun {
                job: "manual-sync".into(),
                trigger: Trigger::Manual,
                started_at: now,
                due_at: now,
                window_days: 3,
                products: None,
                manual: false,
                owner: None,
                replans: None,
            })
            .await
            .unwrap();
        let today = now.date_naive();
        let tasks: Vec<SyncTask> = (0..3u64)
            .map(|offset| {
                let date = today + Days::new(offset);
                SyncTask {
                    product,
                    date,
                    priority: TaskPriority {
                        class: WorkClass::Scheduled,
                        date,
                        synced_at: None,
                    },
                }
            })
            .collect();
        let queue = PostgresQueue::new(store.pool().clone(), "a-server", Duration::from_secs(60));
        queue.enqueue(&run, &tasks).await.unwrap();
        assert!(queue.claim(now).await.unwrap().is_some());
        store.close().await;
    });

    let output = tickete(&url).args(["--json", "status"]).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let status: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(status["pending"], 2, "{status}");
    assert_eq!(status["inFlight"], 1, "{status}");
    let human = tickete(&url).arg("status").output().unwrap();
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("2 pending, 1 in flight"), "{text}");
}

fn tickete(database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tickete"));
    command.env_clear().env("DATABASE_URL", database_url);
    command
}

/// A 429 hold could only be seen in the server's status and lifted by a restart.
/// The CLI shows the hold every replica shares and lifts it.
#[test]
fn status_shows_the_shared_429_hold_and_clear_hold_lifts_it() {
    let Some(database) = TestDatabase::create() else {
        return;
    };
    let url = database.url.clone();
    let reset = Utc::now() + chrono::Duration::minutes(40);
    database.runtime.block_on(async {
        // A server replica got a 429 that resets in 40 minutes.
        let store = PostgresStore::connect(&url).await.unwrap();
        let budget = PostgresBudget::new(store.pool().clone(), NonZeroU32::new(30).unwrap());
        budget.hold_until(reset).await.unwrap();
        store.close().await;
    });

    let status = json_of(tickete(&url).args(["--json", "status"]));
    let held: chrono::DateTime<Utc> =
        serde_json::from_value(status["partnerBudget"]["heldUntil"].clone()).unwrap();
    assert!(held >= reset, "{status}");
    let human = tickete(&url).arg("status").output().unwrap();
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("429 hold until") && text.contains("tickete clear-hold"),
        "{text}"
    );

    let lifted = tickete(&url).arg("clear-hold").output().unwrap();
    assert!(
        lifted.status.success(),
        "{}",
        String::from_utf8_lossy(&lifted.stderr)
    );
    let text = String::from_utf8_lossy(&lifted.stdout);
    assert!(text.contains("lifted the partner 429 hold"), "{text}");
    assert!(text.contains("partner hold:   none"), "{text}");
    let status = json_of(tickete(&url).args(["--json", "status"]));
    assert!(status["partnerBudget"]["heldUntil"].is_null(), "{status}");
    let again = tickete(&url).arg("clear-hold").output().unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("no partner 429 hold"));
}

fn json_of(command: &mut Command) -> Value {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// A database of its own for one test, created on the server `TICKETE_TEST_POSTGRES_URL`
/// names and dropped when the test ends (`None`, with a note, when the variable is unset).
pub(crate) struct TestDatabase {
    runtime: tokio::runtime::Runtime,
    base: String,
    name: String,
    pub(crate) url: String,
}

impl TestDatabase {
    pub(crate) fn create() -> Option<Self> {
        let Ok(base) = std::env::var("TICKETE_TEST_POSTGRES_URL") else {
            eprintln!("skipped: TICKETE_TEST_POSTGRES_URL is not set");
            return None;
        };
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let name = format!("tickete_cli_{:08x}", rand::random::<u32>());
        let (prefix, _) = base.rsplit_once('/').unwrap();
        let url = format!("{prefix}/{name}");
        runtime.block_on(async {
            let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .await
                .unwrap();
        });
        Some(Self {
            runtime,
            base,
            name,
            url,
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (base, name) = (&self.base, &self.name);
        self.runtime.block_on(async {
            if let Ok(mut admin) = sqlx::PgConnection::connect(base).await {
                let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                let _ = sqlx::query(&drop).execute(&mut admin).await;
            }
        });
    }
}
