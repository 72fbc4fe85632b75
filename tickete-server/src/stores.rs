//! Picks the store adapter from the `DATABASE_URL` scheme.

use std::sync::Arc;

use tickete_core::{InventoryStore, StoreError};
use tickete_store_postgres::PostgresStore;
use tickete_store_sqlite::SqliteStore;

use crate::config::redact_url;

/// An opened store and whether it may be shared by several processes.
#[derive(Clone)]
pub struct OpenedStore {
    /// The store, migrations applied.
    pub store: Arc<dyn InventoryStore>,
    /// True for Postgres: other replicas may be running against it.
    pub shared: bool,
    /// The Postgres store, whose pool also coordinates replicas.
    pub postgres: Option<PostgresStore>,
    /// The SQLite store, whose file also holds the partner budget of every process on it.
    pub sqlite: Option<SqliteStore>,
}

/// Whether `url` names a Postgres store (the one replicas can share).
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Opens (and migrates) the store named by `url`.
pub async fn open_store(url: &str) -> Result<OpenedStore, StoreError> {
    if is_postgres_url(url) {
        let store = PostgresStore::connect(url).await?;
        Ok(OpenedStore {
            store: Arc::new(store.clone()),
            shared: true,
            postgres: Some(store),
            sqlite: None,
        })
    } else if url.starts_with("sqlite:") {
        let store = SqliteStore::open(url).await?;
        Ok(OpenedStore {
            store: Arc::new(store.clone()),
            shared: false,
            postgres: None,
            sqlite: Some(store),
        })
    } else {
        Err(StoreError::Unavailable(format!(
            "DATABASE_URL `{}` has an unsupported scheme: use sqlite://path or postgres://…",
            redact_url(url)
        )))
    }
}
