//! Integration tests of tickete-core: the engine under a paused clock, the store contract.
mod engine;
mod store_contract;
mod validation;
