//! Integration tests of the Postgres store. They need `TICKETE_TEST_POSTGRES_URL`
//! (e.g. `postgres://postgres@127.0.0.1:5432/postgres`); without it they print that they were
//! skipped. Each test gets its own database, dropped afterwards.

mod budget;
mod budget_contract;
mod harness;
mod learning;
mod notify;
mod outage;
mod queue_contract;
mod restarts;
mod served;
mod store_contract;
