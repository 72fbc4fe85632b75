//! Integration tests of the SQLite store.

mod outage;
mod served;
mod store_contract;
