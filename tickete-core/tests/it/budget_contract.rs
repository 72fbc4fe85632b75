//! The partner-budget contract against the in-process pacer.

use std::num::NonZeroU32;
use std::sync::Arc;

use tickete_core::engine::{Pacer, PartnerBudget};
use tickete_core::testing::budget_contract::RATE_PER_MINUTE;
use tickete_core::SystemClock;

tickete_core::budget_contract_tests!(async {
    let rate = NonZeroU32::new(RATE_PER_MINUTE).expect("non-zero");
    let budget: Arc<dyn PartnerBudget> = Arc::new(Pacer::new(rate, Arc::new(SystemClock)));
    Some((budget, ()))
});
