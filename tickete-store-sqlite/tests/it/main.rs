//! Integration tests of the SQLite store.

mod budget_contract;
mod outage;
mod queue_contract;
mod reads;
mod served;
mod store_contract;
