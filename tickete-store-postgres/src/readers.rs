//! Connections kept for the public reads, outside the pool.
//!
//! sqlx's pool costs every query two round trips besides its own: it pings a connection
//! before handing it out (`test_before_acquire`) and again when it comes back, from a task it
//! spawns for that. The public slots and dates reads are one indexed lookup each, run
//! thousands of times a second, and the pings were two of their three round trips (random
//! slots reads ran at 0.15–0.17 of `/healthz`). They run here instead, on a few connections
//! of their own taken from an idle list and put back after the read, with no ping: a
//! connection the server closed meanwhile (a restart, an idle timeout) fails its next read,
//! which then runs again on the next kept connection or a new one, so the request never
//! sees it.

use std::sync::Mutex;

use futures::future::BoxFuture;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::Connection;
use tickete_core::StoreError;
use tokio::sync::Semaphore;

use crate::error::classify;
use crate::ACQUIRE_TIMEOUT;

/// Reads under way at once, and so connections held by the readers at most.
const MAX_READERS: usize = 4;

/// The reading connections of one database, opened on first use.
#[derive(Debug)]
pub(crate) struct Readers {
    options: PgConnectOptions,
    idle: Mutex<Vec<PgConnection>>,
    /// One per read under way; closed with the store.
    permits: Semaphore,
}

/// A read run on a borrowed connection: sqlx's own way of lending one to an async closure.
pub(crate) type Read<T> =
    dyn for<'c> Fn(&'c mut PgConnection) -> BoxFuture<'c, Result<T, sqlx::Error>> + Send + Sync;

impl Readers {
    /// Reading connections to the database of `options`.
    pub(crate) fn new(options: PgConnectOptions) -> Self {
        Self {
            options,
            idle: Mutex::default(),
            permits: Semaphore::new(MAX_READERS),
        }
    }

    /// Runs `read` on an idle connection (or a new one), and again on another when a kept one
    /// turns out closed; `Unavailable` once the store is closed, when no connection
    /// frees within the pool's [`ACQUIRE_TIMEOUT`] or the database fails.
    pub(crate) async fn read<T>(
        &self,
        operation: &'static str,
        read: &Read<T>,
    ) -> Result<T, StoreError> {
        let unavailable = |why: &str| StoreError::Unavailable(format!("{operation}: {why}"));
        let _permit = tokio::time::timeout(ACQUIRE_TIMEOUT, self.permits.acquire())
            .await
            .map_err(|_| unavailable("no database connection freed in time"))?
            .map_err(|_| unavailable("store is closed"))?;
        let mut kept = self.take_idle();
        loop {
            if self.permits.is_closed() {
                return Err(unavailable("store is closed"));
            }
            let reused = kept.is_some();
            let mut connection = match kept.take() {
                Some(connection) => connection,
                None => PgConnection::connect_with(&self.options)
                    .await
                    .map_err(|error| classify(operation, error))?,
            };
            // Dropped unreturned (a failed read, or a request cancelled mid-read, which leaves
            // the connection in an unknown state), a connection is closed, not reused.
            match read(&mut connection).await {
                Ok(value) => {
                    self.give_back(connection);
                    return Ok(value);
                }
                Err(error) if reused && is_connection_lost(&error) => {
                    kept = self.take_idle();
                }
                Err(error) => return Err(classify(operation, error)),
            }
        }
    }

    fn take_idle(&self) -> Option<PgConnection> {
        self.idle.lock().expect("readers lock").pop()
    }

    fn give_back(&self, connection: PgConnection) {
        let mut idle = self.idle.lock().expect("readers lock");
        if !self.permits.is_closed() {
            idle.push(connection);
        }
    }

    /// Refuses further reads and closes the idle connections.
    pub(crate) fn close(&self) {
        self.permits.close();
        self.idle.lock().expect("readers lock").clear();
    }
}

/// Whether `error` says the connection is gone rather than the read wrong: its socket failed,
/// or the server ended the session (SQLSTATE classes 08, connection exception, and 57,
/// operator intervention: a restart or `pg_terminate_backend`).
fn is_connection_lost(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(database) => database
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57")),
        _ => false,
    }
}
