//! The store contract suite against a fresh SQLite file per case.

use std::sync::Arc;

use async_trait::async_trait;
use tickete_core::testing::contract::ContractSubject;
use tickete_core::InventoryStore;
use tickete_store_sqlite::SqliteStore;

/// A store on a file in its own temporary directory, removed after the case.
struct TempSqlite {
    store: Arc<SqliteStore>,
    _dir: tempfile::TempDir,
}

impl TempSqlite {
    async fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("tickete.db").display());
        let store = SqliteStore::open(&url).await.expect("open SQLite store");
        Self {
            store: Arc::new(store),
            _dir: dir,
        }
    }
}

#[async_trait]
impl ContractSubject for TempSqlite {
    fn store(&self) -> Option<Arc<dyn InventoryStore>> {
        Some(self.store.clone())
    }

    async fn teardown(self) {
        self.store.close().await;
    }
}

tickete_core::store_contract_tests!(TempSqlite::new());
