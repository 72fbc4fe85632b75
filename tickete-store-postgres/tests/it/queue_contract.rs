//! The work-queue contract against the durable Postgres queue, a fresh database per case.

use std::sync::Arc;
use std::time::Duration;

use tickete_core::engine::WorkQueue;
use tickete_core::testing::queue_contract::Teardown;
use tickete_core::InventoryStore;
use tickete_store_postgres::coordination::PostgresQueue;

use crate::harness::TestDatabase;

impl Teardown for TestDatabase {
    async fn finish(self) {
        self.drop_database().await;
    }
}

tickete_core::queue_contract_tests!(async {
    let database = TestDatabase::create().await?;
    let store: Arc<dyn InventoryStore> = Arc::new(database.store().clone());
    let queue: Arc<dyn WorkQueue> = Arc::new(PostgresQueue::new(
        database.store().pool().clone(),
        "replica-a",
        Duration::from_secs(60),
    ));
    Some((store, queue, database))
});
