//! The work-queue contract against the durable Postgres queue, a fresh database per case.

use std::sync::Arc;
use std::time::Duration;

use tickete_core::engine::WorkQueue;
use tickete_core::testing::queue_contract;
use tickete_core::InventoryStore;
use tickete_store_postgres::coordination::PostgresQueue;

use crate::harness::TestDatabase;

macro_rules! queue_case {
    ($name:ident) => {
        #[tokio::test]
        async fn $name() {
            let Some(database) = TestDatabase::create().await else {
                return;
            };
            let store: Arc<dyn InventoryStore> = Arc::new(database.store().clone());
            let queue: Arc<dyn WorkQueue> = Arc::new(PostgresQueue::new(
                database.store().pool().clone(),
                "replica-a",
                Duration::from_secs(60),
            ));
            queue_contract::$name(store, queue).await;
            database.drop_database().await;
        }
    };
}

queue_case!(a_superseded_run_ends_with_what_it_missed);
queue_case!(dropping_past_dates_counts_them_missed);
queue_case!(dropping_a_product_leaves_the_others);
queue_case!(a_task_released_after_its_run_ended_leaves_the_queue);
