//! Integration tests of tickete-core: the engine under a paused clock, the store contract.
mod engine;
mod fuzz;
mod harness;
mod scheduling;
mod store_contract;
mod validation;
