//! Connections kept for the public reads, outside sqlx's pool (issue 16).
//!
//! A query through sqlx's pool costs two round trips to the connection's thread: the query,
//! and the ping the pool sends when the connection comes back (from a task it spawns for
//! that). The public slots and dates reads are one-statement lookups run thousands of times a
//! second, so they take a connection from this small set instead: one round trip, nothing
//! spawned. A read that is abandoned half-way (its request dropped) drops its connection
//! rather than hand back one whose statement may still be running; the next read opens a new
//! one.

use std::sync::Mutex;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::ConnectOptions;
use tickete_core::StoreError;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::error::db;
use crate::ACQUIRE_TIMEOUT;

/// The reading connections of one file database, opened on first use.
#[derive(Debug)]
pub(crate) struct Readers {
    options: SqliteConnectOptions,
    idle: Mutex<Vec<SqliteConnection>>,
    permits: Semaphore,
}

/// One reading connection, held for one read; [`Reader::release`] hands it back.
pub(crate) struct Reader<'a> {
    readers: &'a Readers,
    connection: Option<SqliteConnection>,
    _permit: SemaphorePermit<'a>,
}

impl Readers {
    /// At most `connections` reading connections opened with `options`.
    pub(crate) fn new(options: SqliteConnectOptions, connections: usize) -> Self {
        Self {
            options,
            idle: Mutex::default(),
            permits: Semaphore::new(connections),
        }
    }

    /// A connection to read with: an idle one, or a new one while fewer than the bound are
    /// open. Waits for one at most as long as the pool would; `Unavailable` once closed.
    pub(crate) async fn get(&self) -> Result<Reader<'_>, StoreError> {
        let permit = tokio::time::timeout(ACQUIRE_TIMEOUT, self.permits.acquire())
            .await
            .map_err(|_| {
                StoreError::Unavailable("SQLite: timed out waiting for a reading connection".into())
            })?
            .map_err(|_| StoreError::Unavailable("SQLite: the store is closed".into()))?;
        let idle = self.idle.lock().expect("readers lock").pop();
        let connection = match idle {
            Some(connection) => connection,
            None => self
                .options
                .connect()
                .await
                .map_err(db("open a reading connection"))?,
        };
        Ok(Reader {
            readers: self,
            connection: Some(connection),
            _permit: permit,
        })
    }

    /// Refuses further reads and closes the idle connections.
    pub(crate) fn close(&self) {
        self.permits.close();
        self.idle.lock().expect("readers lock").clear();
    }
}

impl Reader<'_> {
    /// The connection, to run one read on.
    pub(crate) fn connection(&mut self) -> &mut SqliteConnection {
        self.connection.as_mut().expect("held until released")
    }

    /// Hands the connection back after a read that finished (a failed or abandoned read
    /// drops it instead).
    pub(crate) fn release(mut self) {
        if self.readers.permits.is_closed() {
            return;
        }
        if let Some(connection) = self.connection.take() {
            self.readers
                .idle
                .lock()
                .expect("readers lock")
                .push(connection);
        }
    }
}
