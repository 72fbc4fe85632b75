//! # tickete-store-sqlite
//!
//! The embedded [`InventoryStore`](tickete_core::InventoryStore): one SQLite file in WAL mode, created if missing, schema
//! migrated at open. It is the default store (`DATABASE_URL=sqlite://tickete.db`) and is meant
//! for a single node.
//!
//! ```no_run
//! # async fn demo() -> Result<(), tickete_core::StoreError> {
//! use tickete_core::store::prelude::*;
//! let store = tickete_store_sqlite::SqliteStore::open("sqlite://tickete.db").await?;
//! store.ping().await?;
//! # Ok(()) }
//! ```
//!
//! Storage choices: money is TEXT holding the exact decimal (never REAL), instants are
//! microseconds since the epoch, and each day is applied in one `BEGIN IMMEDIATE` transaction
//! of set-based statements fed by one JSON parameter, so readers see a day before or after an
//! apply, never half of it.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use tickete_core::StoreError;

mod budget;
mod codec;
mod dialect;
mod error;
mod feed;
mod inventory;
mod learning;
mod readers;
mod webhooks;

pub use budget::SqliteBudget;

/// The migrations in `migrations/`, embedded in the binary.
pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long a writer waits for another writer's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a call waits for a free connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(15);
/// Pooled connections of a file database: readers run in parallel in WAL mode, writers queue.
const FILE_CONNECTIONS: u32 = 4;
/// Rows a connection's thread reads ahead of the caller: sqlx's default of 50 made a read of
/// a window of day states (tens of thousands of rows) hand over between the two threads
/// every 50 rows.
const ROW_BUFFER: usize = 1024;

/// The embedded SQLite store. Cheap to clone; clones share one connection pool.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Connections for the public reads; `None` for an in-memory database, whose one pooled
    /// connection is the database.
    readers: Option<Arc<readers::Readers>>,
}

impl SqliteStore {
    /// The connections for reads outside sqlx, if this is a file database.
    pub(crate) fn readers(&self) -> Option<&Arc<readers::Readers>> {
        self.readers.as_ref()
    }

    /// Tells the public reads' shared snapshots that a write of the served tables (day
    /// states, products) was committed, so no read that starts after it misses it. Called
    /// by each writer after its commit returns, not from SQLite's commit hook: that hook
    /// runs before the commit is visible, and a snapshot taken in between would miss it.
    pub(crate) fn note_served_write(&self) {
        if let Some(readers) = &self.readers {
            readers.note_write();
        }
    }

    /// Opens (creating if missing) the database at `url` and migrates its schema.
    ///
    /// `url` is `sqlite://path/to/file.db` (relative to the working directory),
    /// `sqlite:///absolute/path.db`, or `sqlite::memory:` for a private in-memory database.
    /// File databases use WAL journaling, `synchronous = NORMAL`, foreign keys and a busy
    /// timeout. Fails with `Unavailable` when the URL is malformed, the file cannot be opened
    /// or the schema cannot be migrated.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|_| {
                StoreError::Unavailable(
                    "invalid SQLite URL: expected sqlite://path or sqlite::memory:".into(),
                )
            })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            // 1 MiB of page cache per connection (SQLite's default is 2 MiB): enough for the
            // interior pages of the indexes a read walks; leaf pages of a database much larger
            // than any cache come from the OS page cache either way, and the server's RSS
            // stays bounded.
            .pragma("cache_size", "-1024")
            .row_buffer_size(ROW_BUFFER);
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        // No ping before handing out a connection: it is a file, not a network peer, and the
        // ping was a second round trip to the connection's thread on every read.
        let pool_options = SqlitePoolOptions::new()
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire(false);
        let pool_options = if in_memory {
            // One connection that never closes: the database lives as long as it does.
            pool_options
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            pool_options.max_connections(FILE_CONNECTIONS)
        };
        let pool = pool_options
            .connect_with(options.clone())
            .await
            .map_err(error::db("open database"))?;
        let mut store = Self::from_pool(pool).await?;
        if !in_memory {
            // Opened on first use, so after the migrations ran.
            let path = options.get_filename().to_path_buf();
            store.readers = Some(readers::Readers::new(path, readers::SNAPSHOT_TTL));
        }
        Ok(store)
    }

    /// Wraps an existing pool (which must enable foreign keys) and migrates its schema.
    pub async fn from_pool(pool: SqlitePool) -> Result<Self, StoreError> {
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|error| error::classify("migrate schema", error.into()))?;
        Ok(Self {
            pool,
            readers: None,
        })
    }

    /// The underlying connection pool.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes every connection; later calls fail with `Unavailable`.
    pub async fn close(&self) {
        if let Some(readers) = &self.readers {
            readers.close();
        }
        self.pool.close().await;
    }
}
