//! The store contract suite against the in-memory reference store.

use std::sync::Arc;

use tickete_core::testing::MemoryStore;

tickete_core::store_contract_tests!(async { Arc::new(MemoryStore::new()) });
