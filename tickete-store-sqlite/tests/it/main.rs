//! Integration tests of the SQLite store.

mod outage;
mod queue_contract;
mod store_contract;
