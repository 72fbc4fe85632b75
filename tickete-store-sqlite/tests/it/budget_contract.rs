//! The partner-budget contract against the budget kept in a SQLite file.

use std::num::NonZeroU32;
use std::sync::Arc;

use tickete_core::engine::PartnerBudget;
use tickete_core::testing::budget_contract::RATE_PER_MINUTE;
use tickete_core::testing::queue_contract::Teardown;
use tickete_core::SystemClock;
use tickete_store_sqlite::{SqliteBudget, SqliteStore};

struct TempDir(tempfile::TempDir);

impl Teardown for TempDir {
    async fn finish(self) {
        drop(self.0);
    }
}

tickete_core::budget_contract_tests!(async {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("tickete.db").display());
    let store = SqliteStore::open(&url).await.expect("open SQLite store");
    let rate = NonZeroU32::new(RATE_PER_MINUTE).expect("non-zero");
    let budget: Arc<dyn PartnerBudget> = Arc::new(SqliteBudget::new(
        store.pool().clone(),
        rate,
        Arc::new(SystemClock),
    ));
    Some((budget, TempDir(dir)))
});
