//! Integration tests of tickete-core: the engine under a paused clock, the store contract.
mod budget_contract;
mod cron_dst;
mod engine;
mod feed_wake;
mod fuzz;
mod harness;
mod live;
mod owners;
mod pacing;
mod pause;
mod policy;
mod queue_contract;
mod scheduling;
mod silent_ticks;
mod spare;
mod store_contract;
mod validation;
