//! Test support (feature `testing`): an in-memory store, a scripted fake partner, sample data
//! and the store contract suite every `InventoryStore` must pass.

pub mod budget_contract;
pub mod contract;
mod fake_source;
mod memory_catalogue;
mod memory_feed;
mod memory_learning;
mod memory_processes;
mod memory_store;
pub mod queue_contract;
mod samples;
mod served_check;

pub use fake_source::{FakeCall, FakeSource};
pub use memory_store::MemoryStore;
pub use samples::{sample_day, sample_slot};
pub use served_check::{assert_served_slots, decimal, lowest_open_price};
