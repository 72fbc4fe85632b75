//! The store contract suite against a fresh Postgres database per case.

use crate::harness::TestDatabase;

tickete_core::store_contract_tests!(TestDatabase::create());
