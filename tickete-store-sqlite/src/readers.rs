//! Connections kept for the public reads, outside sqlx (issue 16).
//!
//! sqlx runs each SQLite connection on a thread of its own: a query is a hand-over to that
//! thread and back, and a query through its pool adds a second one (the ping the pool sends
//! when the connection comes back, from a task it spawns for that). The public slots and
//! dates reads are one point lookup or one short index range each (microseconds of SQLite on
//! pages the OS has cached), run thousands of times a second: profiled, the thread switches
//! cost the server far more than SQLite did. So they run here, synchronously on the request's
//! own thread, on plain `rusqlite` connections opened with `query_only`, taken from a small
//! idle list and put back after the read. A read never awaits while it holds a connection,
//! so at most one connection per runtime thread is ever in use.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tickete_core::StoreError;

/// Idle connections kept (each holds its own page cache); more are opened when more threads
/// read at once, and closed after their read.
const MAX_IDLE: usize = 4;
/// How long a read waits on a lock (only a WAL recovery or reset takes one readers wait on);
/// short, since the wait holds a runtime thread.
const BUSY_TIMEOUT: Duration = Duration::from_secs(1);

/// The reading connections of one file database, opened on first use.
#[derive(Debug)]
pub(crate) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    closed: AtomicBool,
}

impl Readers {
    /// Reading connections to the database file at `path` (already migrated).
    pub(crate) fn new(path: PathBuf) -> Self {
        Self {
            path,
            idle: Mutex::default(),
            closed: AtomicBool::new(false),
        }
    }

    /// Runs `read` on an idle connection (or a new one); `Unavailable` once closed or when
    /// SQLite fails, `Corrupt` when a stored value cannot be read.
    pub(crate) fn read<T>(
        &self,
        operation: &'static str,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::Unavailable(format!(
                "{operation}: store is closed"
            )));
        }
        let idle = self.idle.lock().expect("readers lock").pop();
        let connection = match idle {
            Some(connection) => connection,
            None => self.open().map_err(|error| classify(operation, error))?,
        };
        let result = read(&connection);
        // A connection whose read failed is dropped rather than reused.
        if result.is_ok() {
            let mut idle = self.idle.lock().expect("readers lock");
            if idle.len() < MAX_IDLE && !self.closed.load(Ordering::Acquire) {
                idle.push(connection);
            }
        }
        result.map_err(|error| classify(operation, error))
    }

    /// Every row of `sql` with `params`, each read by `of` and converted by `into` as it
    /// comes, so no second list of raw rows (60,000 of them, with their texts, after a fill)
    /// is ever held. It runs on a blocking thread: these are the reads of thousands of rows
    /// (a window's day states, the learnt state) that would otherwise hold a runtime thread,
    /// and the requests queued on it, for tens or hundreds of milliseconds.
    pub(crate) async fn collect_off_runtime<R, X, P>(
        self: &Arc<Self>,
        operation: &'static str,
        sql: String,
        params: P,
        of: fn(&rusqlite::Row<'_>) -> rusqlite::Result<R>,
        into: fn(R) -> Result<X, StoreError>,
    ) -> Result<Vec<X>, StoreError>
    where
        R: 'static,
        X: Send + 'static,
        P: rusqlite::Params + Send + 'static,
    {
        let readers = Arc::clone(self);
        let read = move || {
            readers.read(operation, |connection| {
                let mut statement = connection.prepare_cached(&sql)?;
                let mut items = Vec::new();
                for row in statement.query_map(params, of)? {
                    match into(row?) {
                        Ok(item) => items.push(item),
                        Err(error) => return Ok(Err(error)),
                    }
                }
                Ok(Ok(items))
            })
        };
        tokio::task::spawn_blocking(read).await.map_err(|_| {
            StoreError::Unavailable(format!("{operation}: the read was cancelled"))
        })??
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let connection = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.busy_timeout(BUSY_TIMEOUT)?;
        // These connections must never write; 1 MiB of page cache, like the pool's.
        connection.pragma_update(None, "query_only", true)?;
        connection.pragma_update(None, "cache_size", -1024)?;
        Ok(connection)
    }

    /// Refuses further reads and closes the idle connections.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.idle.lock().expect("readers lock").clear();
    }
}

/// A `rusqlite` error as the store's, the way `tickete-store-sql` classifies sqlx's: no SQL
/// text, what was being done and SQLite's code.
fn classify(operation: &str, error: rusqlite::Error) -> StoreError {
    tracing::warn!(database = "SQLite", operation, error = %error, "store error");
    match error {
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::InvalidColumnType(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)
        | rusqlite::Error::Utf8Error(_) => {
            StoreError::Corrupt(format!("{operation}: a stored value cannot be read"))
        }
        rusqlite::Error::SqliteFailure(failure, _) => StoreError::Unavailable(format!(
            "{operation}: SQLite error {}",
            failure.extended_code
        )),
        _ => StoreError::Unavailable(format!("{operation}: SQLite store failed")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn readers() -> (tempfile::TempDir, Readers) {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("readers.db");
        let setup = Connection::open(&path).expect("create");
        setup
            .execute_batch(
                "PRAGMA journal_mode = WAL; CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (7);",
            )
            .expect("setup");
        (dir, Readers::new(path))
    }

    #[test]
    fn reading_connections_never_write() {
        let (_dir, readers) = readers();
        let read = readers.read("read", |c| {
            c.query_row("SELECT a FROM t", [], |row| row.get::<_, i64>(0))
        });
        assert_eq!(read.expect("a read"), 7);
        let write = readers.read("write", |c| c.execute("INSERT INTO t VALUES (8)", []));
        match write {
            Err(StoreError::Unavailable(message)) => {
                assert!(message.starts_with("write: SQLite error"), "{message}");
                assert!(!message.contains("INSERT"), "no SQL text: {message}");
            }
            other => panic!("expected Unavailable, got {other:?}"),
        }
    }

    #[test]
    fn a_value_of_the_wrong_kind_is_corrupt_and_a_closed_set_unavailable() {
        let (_dir, readers) = readers();
        let read = readers.read("read", |c| {
            c.query_row("SELECT 'x'", [], |row| row.get::<_, i64>(0))
        });
        assert!(matches!(read, Err(StoreError::Corrupt(_))), "{read:?}");
        readers.close();
        let read = readers.read("read", |c| {
            c.query_row("SELECT 1", [], |row| row.get::<_, i64>(0))
        });
        assert!(matches!(read, Err(StoreError::Unavailable(_))), "{read:?}");
    }
}
