//! Examples of embedding `tickete-core`; see `examples/` in this crate:
//!
//! - `second_partner`: a service with its own [`InventorySource`](tickete_core::InventorySource)
//!   (a second partner) over the SQLite store, running one short sync.
//! - `unit_test_with_fakes`: the in-memory store and the scripted fake partner in unit tests.
