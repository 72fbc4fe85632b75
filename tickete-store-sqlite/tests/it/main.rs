//! Integration tests of the SQLite store.

mod outage;
mod store_contract;
