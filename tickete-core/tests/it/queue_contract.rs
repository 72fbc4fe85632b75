//! The work-queue contract against the in-process queue over the memory store.

use std::sync::Arc;

use tickete_core::engine::{LocalQueue, WorkQueue};
use tickete_core::testing::MemoryStore;
use tickete_core::InventoryStore;

tickete_core::queue_contract_tests!(async {
    let store: Arc<dyn InventoryStore> = Arc::new(MemoryStore::new());
    let queue: Arc<dyn WorkQueue> = Arc::new(LocalQueue::new(store.clone()));
    Some((store, queue, ()))
});
