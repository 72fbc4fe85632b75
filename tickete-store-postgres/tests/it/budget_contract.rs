//! The partner-budget contract against the budget replicas share on Postgres, a fresh
//! database per case.

use std::num::NonZeroU32;
use std::sync::Arc;

use tickete_core::engine::PartnerBudget;
use tickete_core::testing::budget_contract::RATE_PER_MINUTE;
use tickete_store_postgres::coordination::PostgresBudget;

use crate::harness::TestDatabase;

tickete_core::budget_contract_tests!(async {
    let database = TestDatabase::create().await?;
    let rate = NonZeroU32::new(RATE_PER_MINUTE).expect("non-zero");
    let budget: Arc<dyn PartnerBudget> =
        Arc::new(PostgresBudget::new(database.store().pool().clone(), rate));
    Some((budget, database))
});
