//! # tickete-store-postgres
//!
//! The server [`InventoryStore`](tickete_core::InventoryStore) on Postgres (`DATABASE_URL=postgres://…`), for deployments
//! with several replicas sharing one database. The schema is migrated at connect (replicas
//! racing to migrate are serialized by sqlx's migration lock).
//!
//! ```no_run
//! # async fn demo() -> Result<(), tickete_core::StoreError> {
//! use tickete_core::store::prelude::*;
//! let store =
//!     tickete_store_postgres::PostgresStore::connect("postgres://postgres@127.0.0.1/tickete")
//!         .await?;
//! store.ping().await?;
//! # Ok(()) }
//! ```
//!
//! Storage choices: prices are `NUMERIC(12,2)`, so amounts come back with two decimals
//! (`73` reads as `73.00`, the same number). A day is applied in one transaction of set-based
//! statements over `UNNEST`ed column arrays, holding the (product, date) row lock of its day
//! state, so concurrent applies of one day serialize and readers see a whole day or nothing
//! of a change.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use tickete_core::StoreError;

pub mod coordination;
mod dialect;
mod error;
pub mod feed;
mod inventory;
mod learning;
mod readers;
mod webhooks;

/// The migrations in `migrations/`, embedded in the binary.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long a call waits for a free connection (or a new one to be established).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections per process.
const MAX_CONNECTIONS: u32 = 10;

/// The Postgres store. Cheap to clone; clones share one connection pool.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// The public slots and dates reads' own connections, without the pool's pings.
    readers: Arc<readers::Readers>,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`) and migrates the
    /// schema. Fails with `Unavailable` when the URL is malformed, the server cannot be
    /// reached or the schema cannot be migrated.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = url
            .parse::<sqlx::postgres::PgConnectOptions>()
            .map_err(|_| {
                StoreError::Unavailable(
                    "invalid Postgres URL: expected postgres://user@host:port/database".into(),
                )
            })?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(error::db("connect"))?;
        Self::from_pool(pool).await
    }

    /// Wraps an existing pool and migrates its schema.
    pub async fn from_pool(pool: PgPool) -> Result<Self, StoreError> {
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|error| error::classify("migrate schema", error.into()))?;
        let readers = readers::Readers::new((*pool.connect_options()).clone());
        Ok(Self {
            pool,
            readers: Arc::new(readers),
        })
    }

    /// The underlying connection pool, for coordination built on the same database.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes every connection; later calls fail with `Unavailable`.
    pub async fn close(&self) {
        self.readers.close();
        self.pool.close().await;
    }
}
