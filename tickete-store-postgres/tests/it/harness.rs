//! A fresh database per test on the server named by `TICKETE_TEST_POSTGRES_URL`.

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection};
use tickete_core::testing::contract::ContractSubject;
use tickete_core::InventoryStore;
use tickete_store_postgres::PostgresStore;

/// The environment variable naming the test server.
pub const URL_VAR: &str = "TICKETE_TEST_POSTGRES_URL";

/// A store on a database created for one test; `teardown` drops the database.
pub struct TestDatabase {
    admin: PgConnectOptions,
    name: String,
    store: Arc<PostgresStore>,
}

impl TestDatabase {
    /// A fresh, migrated database, or `None` (after saying so) when no server is configured.
    pub async fn create() -> Option<Self> {
        let Ok(url) = std::env::var(URL_VAR) else {
            eprintln!("{URL_VAR} is not set: Postgres test skipped");
            return None;
        };
        let admin: PgConnectOptions = url.parse().expect("TICKETE_TEST_POSTGRES_URL is a URL");
        let name = format!("tickete_test_{:016x}", rand::random::<u64>());
        let mut connection = admin.connect().await.expect("connect to the test server");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut connection)
            .await
            .expect("create test database");
        connection.close().await.ok();
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .connect_with(admin.clone().database(&name))
            .await
            .expect("connect to the test database");
        let store = PostgresStore::from_pool(pool).await.expect("migrate");
        Some(Self {
            admin,
            name,
            store: Arc::new(store),
        })
    }

    /// The store on this database.
    pub fn store(&self) -> &PostgresStore {
        &self.store
    }

    /// Closes the pool and drops the database.
    pub async fn drop_database(self) {
        self.store.close().await;
        self.drop_underneath().await;
    }

    /// Ends every session on this database but the caller's, as a server restart would;
    /// returns how many it ended.
    pub async fn end_sessions(&self) -> usize {
        let mut connection = self.admin.connect().await.expect("connect to end sessions");
        let ended: Vec<(bool,)> = sqlx::query_as(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(&self.name)
        .fetch_all(&mut connection)
        .await
        .expect("end sessions");
        connection.close().await.ok();
        ended.iter().filter(|(ended,)| *ended).count()
    }

    /// Drops the database while the store's pool is still open, as an outage would.
    pub async fn drop_underneath(self) {
        let mut connection = self.admin.connect().await.expect("connect to drop");
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut connection)
        .await
        .expect("drop test database");
        connection.close().await.ok();
    }
}

#[async_trait]
impl ContractSubject for TestDatabase {
    fn store(&self) -> Option<Arc<dyn InventoryStore>> {
        Some(self.store.clone())
    }

    async fn teardown(self) {
        self.drop_database().await;
    }
}
