use std::sync::Arc;
use tickete_core::store::prelude::*;

use tickete_core::testing::{FakeSource, MemoryStore};
use tickete_core::{Engine, PageRequest, ProductId, SyncJob};

use super::*;
use crate::error::ActionError;

async fn actions() -> Actions {
    let store = Arc::new(MemoryStore::new());
    for job in SyncJob::defaults() {
        store.insert_job_if_missing(&job).await.unwrap();
    }
    let engine = Engine::builder(store, Arc::new(FakeSource::new()))
        .build()
        .await
        .unwrap();
    Actions::new(engine, None)
}

fn id(n: u32) -> ProductId {
    ProductId::new(n).unwrap()
}

#[tokio::test]
async fn a_product_name_is_limited_in_characters_not_bytes() {
    let actions = actions().await;
    // 200 characters of 3 bytes each: accepted by the API and the CLI alike.
    let long = "観".repeat(200);
    let written = actions
        .put_product(
            id(7),
            ProductUpdate {
                name: Some(long.clone()),
                enabled: None,
            },
        )
        .await
        .unwrap();
    assert!(written.created);
    assert_eq!(written.product.name, long);
    let refused = actions
        .put_product(
            id(7),
            ProductUpdate {
                name: Some("観".repeat(201)),
                enabled: None,
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(refused, ActionError::Invalid(m) if m.contains("200 characters")));
    let blank = actions
        .put_product(
            id(7),
            ProductUpdate {
                name: Some("  ".into()),
                enabled: None,
            },
        )
        .await;
    assert!(matches!(blank, Err(ActionError::Invalid(_))));
}

#[tokio::test]
async fn put_adds_then_changes_a_product() {
    let actions = actions().await;
    let added = actions
        .put_product(id(9), ProductUpdate::default())
        .await
        .unwrap();
    assert!(added.created);
    assert_eq!(added.product.name, "Product 9");
    assert!(added.product.enabled);
    let changed = actions
        .put_product(
            id(9),
            ProductUpdate {
                name: None,
                enabled: Some(false),
            },
        )
        .await
        .unwrap();
    assert!(!changed.created);
    assert!(!changed.product.enabled);
    assert_eq!(changed.product.name, "Product 9");
}

#[tokio::test]
async fn job_edits_are_checked_before_they_are_stored() {
    let actions = actions().await;
    let window = actions
        .update_job(
            "sync-today",
            JobUpdate {
                window_days: Some(63),
                ..JobUpdate::default()
            },
        )
        .await
        .unwrap_err();
    assert!(window.to_string().contains("windowDays 63"), "{window}");
    let cron = actions
        .update_job(
            "sync-today",
            JobUpdate {
                schedule: Some("61 * * * *".into()),
                ..JobUpdate::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(cron, ActionError::Invalid(_)));
    let jobs = actions
        .list_jobs(PageRequest { page: 1, limit: 10 })
        .await
        .unwrap();
    let today = jobs.data.iter().find(|j| j.name == "sync-today").unwrap();
    assert_eq!(today.schedule, "*/15 * * * *");
    assert_eq!(today.window_days, 1);

    let disabled = actions.set_job_enabled("sync-today", false).await.unwrap();
    assert!(!disabled.enabled);
    assert_eq!(disabled.next_run_at, None);
}

#[tokio::test]
async fn a_paused_engine_refuses_to_start_runs() {
    let actions = actions().await;
    let status = actions.pause().await.unwrap();
    assert!(status.paused);
    let refused = actions.sync_days(3).await.unwrap_err();
    assert!(matches!(
        refused,
        ActionError::Engine(tickete_core::EngineError::Paused)
    ));
    assert!(!actions.resume().await.unwrap().paused);
    let run = actions.sync_days(3).await.unwrap();
    assert_eq!(run.job, "manual-sync");
}

/// SPEC §4: the status shows what the targets need of the budget and each job's freshness.
#[tokio::test]
async fn status_shows_the_demand_and_each_jobs_freshness() {
    let actions = actions().await;
    let store = actions.engine.store().clone();
    for n in 1..=450 {
        store
            .upsert_product(&tickete_core::Product {
                id: id(n),
                name: format!("P{n}"),
                enabled: true,
            })
            .await
            .unwrap();
    }
    let status = actions.sync_status().await.unwrap();
    // 450 × (1/15 + 6/240 + 23/1440) ≈ 48.4 calls a minute against 30.
    assert!(
        (status.demand.calls_per_minute - 48.4).abs() < 0.1,
        "{:?}",
        status.demand
    );
    assert!(status.demand.budget_share > 1.6);
    let jobs: Vec<(&str, u64, u64)> = status
        .freshness
        .iter()
        .map(|f| (f.job.as_str(), f.pairs, f.never_fetched))
        .collect();
    assert_eq!(
        jobs,
        // In the order the store lists the jobs (by name).
        vec![
            ("sync-next-30-days", 13500, 13500),
            ("sync-next-7-days", 3150, 3150),
            ("sync-today", 450, 450),
        ]
    );
    let body = serde_json::to_value(&status).unwrap();
    assert!(body["demand"]["budgetShare"].is_number());
    assert!(body["freshness"][0]["withinTarget"].is_number());
    assert!(body["freshness"][0]["p95AgeSeconds"].is_null());
}
