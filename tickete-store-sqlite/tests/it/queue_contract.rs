//! The work-queue contract against the in-process queue over a SQLite file: the run counts it
//! saves go through the SQLite run log.

use std::sync::Arc;

use tickete_core::engine::{LocalQueue, WorkQueue};
use tickete_core::testing::queue_contract::Teardown;
use tickete_core::InventoryStore;
use tickete_store_sqlite::SqliteStore;

struct TempDir(tempfile::TempDir);

impl Teardown for TempDir {
    async fn finish(self) {
        drop(self.0);
    }
}

tickete_core::queue_contract_tests!(async {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("tickete.db").display());
    let store: Arc<dyn InventoryStore> =
        Arc::new(SqliteStore::open(&url).await.expect("open SQLite store"));
    let queue: Arc<dyn WorkQueue> = Arc::new(LocalQueue::new(store.clone()));
    Some((store, queue, TempDir(dir)))
});
