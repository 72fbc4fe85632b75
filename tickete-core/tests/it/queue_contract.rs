//! The work-queue contract against the in-process queue over the memory store.

use std::sync::Arc;

use tickete_core::engine::{LocalQueue, WorkQueue};
use tickete_core::testing::{queue_contract, MemoryStore};
use tickete_core::InventoryStore;

fn subject() -> (Arc<dyn InventoryStore>, Arc<dyn WorkQueue>) {
    let store: Arc<dyn InventoryStore> = Arc::new(MemoryStore::new());
    let queue = Arc::new(LocalQueue::new(store.clone()));
    (store, queue)
}

#[tokio::test]
async fn a_superseded_run_ends_with_what_it_missed() {
    let (store, queue) = subject();
    queue_contract::a_superseded_run_ends_with_what_it_missed(store, queue).await;
}

#[tokio::test]
async fn dropping_past_dates_counts_them_missed() {
    let (store, queue) = subject();
    queue_contract::dropping_past_dates_counts_them_missed(store, queue).await;
}

#[tokio::test]
async fn dropping_a_product_leaves_the_others() {
    let (store, queue) = subject();
    queue_contract::dropping_a_product_leaves_the_others(store, queue).await;
}

#[tokio::test]
async fn a_task_released_after_its_run_ended_leaves_the_queue() {
    let (store, queue) = subject();
    queue_contract::a_task_released_after_its_run_ended_leaves_the_queue(store, queue).await;
}
