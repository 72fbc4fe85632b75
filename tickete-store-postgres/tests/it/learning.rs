//! Two engines (replicas) with the refresh policy on one Postgres database: one
//! budget and one queue, so no pair is fetched twice for one run; what either learns from
//! its fetches, and the reads either counts, both see.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use rust_decimal::Decimal;
use tickete_core::engine::{PolicyKind, RunRequest};
use tickete_core::store::prelude::*;
use tickete_core::testing::{sample_slot, FakeSource};
use tickete_core::{Engine, EngineConfig, Product, ProductId, RunStatus, TokioClock};
use tickete_store_postgres::coordination::{PostgresBudget, PostgresQueue};
use tickete_store_postgres::PostgresStore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::harness::TestDatabase;

const PRODUCTS: [u32; 4] = [1, 2, 3, 4];
const DAYS: u64 = 3;

fn pid(raw: u32) -> ProductId {
    ProductId::new(raw).unwrap()
}

struct Replica {
    engine: Engine,
    worker: JoinHandle<()>,
}

async fn replica(
    store: &PostgresStore,
    source: &Arc<FakeSource>,
    name: &str,
    stop: &CancellationToken,
) -> Replica {
    let rate = NonZeroU32::new(1200).unwrap();
    let config = EngineConfig {
        rate_per_minute: rate,
        policy: PolicyKind::Freshness,
        ..EngineConfig::default()
    };
    let engine = Engine::builder(Arc::new(store.clone()), source.clone())
        .config(config)
        .clock(Arc::new(TokioClock::starting_at(Utc::now())))
        .queue(Arc::new(PostgresQueue::new(
            store.pool().clone(),
            name,
            Duration::from_secs(60),
        )))
        .budget(Arc::new(PostgresBudget::new(store.pool().clone(), rate)))
        .build()
        .await
        .unwrap();
    let worker = tokio::spawn({
        let (engine, stop) = (engine.clone(), stop.clone());
        async move { engine.run(stop).await }
    });
    Replica { engine, worker }
}

/// Product 1's days get a new price (a change); the others stay as they are.
fn set_days(source: &FakeSource, today: chrono::NaiveDate, version: i64) {
    for product in PRODUCTS {
        for offset in 0..DAYS {
            let date = today + chrono::Days::new(offset);
            let cents = if product == 1 {
                10_000 + version
            } else {
                10_000
            };
            let slot = sample_slot(date, "10:00", Decimal::new(cents, 2));
            source.set_day(pid(product), date, vec![slot]);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_one_queue_and_what_the_policy_learns() {
    let Some(database) = TestDatabase::create().await else {
        return;
    };
    let store = database.store().clone();
    for id in PRODUCTS {
        let product = Product {
            id: pid(id),
            name: format!("Product {id}"),
            enabled: true,
        };
        store.upsert_product(&product).await.unwrap();
    }
    let source = Arc::new(FakeSource::new());
    // Slow answers keep tasks in flight on both replicas at once, so claims race.
    for id in PRODUCTS {
        for offset in 0..DAYS {
            let date = Utc::now().date_naive() + chrono::Days::new(offset);
            source.set_delay(pid(id), date, Duration::from_millis(30));
        }
    }
    let stop = CancellationToken::new();
    let a = replica(&store, &source, "replica-a", &stop).await;
    let b = replica(&store, &source, "replica-b", &stop).await;
    let today = a.engine.today();

    for version in 0..3 {
        set_days(&source, today, version);
        let starter = if version % 2 == 0 { &a } else { &b };
        let run = starter
            .engine
            .start_run(RunRequest::next_days(DAYS as u32))
            .await
            .unwrap();
        let run = a.engine.wait_for_run(run.id).await.unwrap();
        assert_eq!(run.status, RunStatus::Succeeded, "{run:?}");
        assert_eq!(run.counts.fetched, 12, "{run:?}");
        // One fetch per pair per run, whichever replica made it.
        for product in PRODUCTS {
            for offset in 0..DAYS {
                let date = today + chrono::Days::new(offset);
                let calls = source.calls_for(pid(product), date);
                assert_eq!(calls, version as usize + 1, "product {product} on {date}");
            }
        }
    }

    // The store holds every pair, whichever replica fetched it …
    let stored = store.learnt_pairs(today, None).await.unwrap();
    assert_eq!(stored.len(), 12);
    // … and after sharing both know every pair as the store does: 3 fetches, 2 observations
    // each; product 1 changed every time, the others never.
    for replica in [&a, &b] {
        replica.engine.share_learning().await.unwrap();
        for pair in &stored {
            let known = replica
                .engine
                .refresh_policy()
                .learnt_pair(pair.product, pair.date)
                .expect("the pair is known to both replicas");
            assert_eq!(known, pair.stats);
            assert_eq!(known.observations.len(), 2);
            let changed = pair.product == pid(1);
            assert!(
                known.observations.iter().all(|o| o.changed == changed),
                "{pair:?}"
            );
        }
    }

    // Reads counted by one replica shape the importance on the other.
    assert_eq!(b.engine.refresh_policy().read_boost(pid(2), today), 1.0);
    for _ in 0..10 {
        a.engine.note_read(pid(2), today);
    }
    a.engine.note_read(pid(3), today);
    a.engine.share_learning().await.unwrap();
    b.engine.share_learning().await.unwrap();
    let boost = b.engine.refresh_policy().read_boost(pid(2), today);
    assert!(
        boost > b.engine.refresh_policy().read_boost(pid(3), today),
        "{boost}"
    );
    assert!(boost > 1.0, "{boost}");

    stop.cancel();
    a.worker.await.unwrap();
    b.worker.await.unwrap();
    database.drop_database().await;
}
