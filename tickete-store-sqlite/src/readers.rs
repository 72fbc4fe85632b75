//! Connections kept for the public reads, outside sqlx.
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
//!
//! The public reads also share read transactions (snapshots). Outside a transaction every
//! statement begins and ends one of its own, and in WAL mode that takes and drops a read
//! lock on the shared-memory index (an `fcntl` each way) and checks the WAL header: profiled
//! under random slots reads, a tenth of the server's CPU. A reading connection instead keeps
//! its transaction open over the reads that follow, for at most [`SNAPSHOT_TTL`] and only
//! while no write of the served tables was committed in this process since it began
//! ([`Readers::note_write`]): a read never misses a write that returned before it started.
//! A write by another process (the CLI) is seen within [`SNAPSHOT_TTL`], well inside the
//! server's read cache TTL. A snapshot left on an idle connection is ended by a sweep one TTL
//! later (a task spawned while snapshots are held, none otherwise), so idle snapshots never
//! hold back WAL checkpoints for long.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tickete_core::StoreError;
use tokio::time::Instant;

/// Idle connections kept (each holds its own page cache); more are opened when more threads
/// read at once, and closed after their read.
const MAX_IDLE: usize = 4;
/// How long a read waits on a lock (only a WAL recovery or reset takes one readers wait on);
/// short, since the wait holds a runtime thread.
const BUSY_TIMEOUT: Duration = Duration::from_secs(1);
/// Longest a snapshot serves reads: the staleness a write by another process can have.
pub(crate) const SNAPSHOT_TTL: Duration = Duration::from_millis(20);

/// Per database file, the writes of the served tables (day states, products) committed in
/// this process: a snapshot taken before the latest is not reused. Kept by file, so two
/// stores opened on one file never read past each other's writes.
static WRITES: LazyLock<Mutex<HashMap<PathBuf, Weak<AtomicU64>>>> = LazyLock::new(Mutex::default);

/// The write counter of the database file at `path`, shared by every store on it.
fn writes_of(path: &Path) -> Arc<AtomicU64> {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut counters = WRITES.lock().expect("write counters lock");
    counters.retain(|_, counter| counter.strong_count() > 0);
    if let Some(counter) = counters.get(&path).and_then(Weak::upgrade) {
        return counter;
    }
    let counter = Arc::new(AtomicU64::new(0));
    counters.insert(path, Arc::downgrade(&counter));
    counter
}

/// A reading connection and the read transaction it holds open, if any.
#[derive(Debug)]
struct Reader {
    connection: Connection,
    snapshot: Option<Snapshot>,
}

/// When a held read transaction began, and the writes counted then.
#[derive(Debug, Clone, Copy)]
struct Snapshot {
    taken: Instant,
    writes: u64,
}

impl Snapshot {
    /// Whether it has lived its `ttl`: it serves no more reads and is swept.
    fn expired(&self, ttl: Duration) -> bool {
        self.taken.elapsed() >= ttl
    }
}

impl Reader {
    /// Ends the held read transaction, if any, so the next statement sees the latest commit.
    fn end_snapshot(&mut self) -> rusqlite::Result<()> {
        if self.snapshot.take().is_some() && !self.connection.is_autocommit() {
            self.connection.execute_batch("COMMIT")?;
        }
        Ok(())
    }

    /// Whether the held snapshot may serve a read when `writes` writes have been counted.
    fn snapshot_serves(&self, writes: u64, ttl: Duration) -> bool {
        self.snapshot
            .is_some_and(|snapshot| snapshot.writes == writes && !snapshot.expired(ttl))
    }
}

/// Clears [`Readers::sweep_scheduled`] when a scheduled sweep is dropped before it ran.
struct SweepScheduled(Option<Weak<Readers>>);

impl Drop for SweepScheduled {
    fn drop(&mut self) {
        if let Some(readers) = self.0.take().and_then(|readers| readers.upgrade()) {
            readers.sweep_scheduled.store(false, Ordering::Release);
        }
    }
}

/// The reading connections of one file database, opened on first use.
#[derive(Debug)]
pub(crate) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Reader>>,
    closed: AtomicBool,
    snapshot_ttl: Duration,
    /// Writes of the served tables committed in this process, shared by stores on the file.
    writes: Arc<AtomicU64>,
    /// Whether a sweep of idle snapshots is scheduled.
    sweep_scheduled: AtomicBool,
    /// These readers, for the sweeps they schedule.
    me: Weak<Readers>,
}

impl Readers {
    /// Reading connections to the database file at `path` (already migrated), whose shared
    /// snapshots live at most `snapshot_ttl`.
    pub(crate) fn new(path: PathBuf, snapshot_ttl: Duration) -> Arc<Self> {
        Arc::new_cyclic(|me| Self {
            writes: writes_of(&path),
            path,
            idle: Mutex::default(),
            closed: AtomicBool::new(false),
            snapshot_ttl,
            sweep_scheduled: AtomicBool::new(false),
            me: me.clone(),
        })
    }

    /// Schedules a sweep of the idle connections' snapshots one TTL from now, unless one is
    /// scheduled; it schedules the next while snapshots are left. False when there is no
    /// Tokio runtime to run it on.
    fn schedule_sweep(&self) -> bool {
        // A plain load first: every read asks, and one is almost always scheduled.
        if self.sweep_scheduled.load(Ordering::Acquire)
            || self.sweep_scheduled.swap(true, Ordering::AcqRel)
        {
            return true;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.sweep_scheduled.store(false, Ordering::Release);
            return false;
        };
        // Moved into the task, so the flag is cleared also when the task is dropped before
        // it ran (its runtime shut down).
        let mut scheduled = SweepScheduled(Some(self.me.clone()));
        let ttl = self.snapshot_ttl;
        runtime.spawn(async move {
            tokio::time::sleep(ttl).await;
            if let Some(readers) = scheduled.0.take().and_then(|readers| readers.upgrade()) {
                readers.sweep_scheduled.store(false, Ordering::Release);
                if readers.end_idle_snapshots(false) {
                    readers.schedule_sweep();
                }
            }
        });
        true
    }

    /// Counts a committed write of the served tables, and ends the idle connections'
    /// snapshots, which can no longer serve a read and would hold back checkpoints.
    pub(crate) fn note_write(&self) {
        self.writes.fetch_add(1, Ordering::AcqRel);
        self.end_idle_snapshots(true);
    }

    /// Ends the snapshots of idle connections: all of them, or only those past their TTL.
    /// True when snapshots are left.
    fn end_idle_snapshots(&self, all: bool) -> bool {
        let mut idle = self.idle.lock().expect("readers lock");
        idle.retain_mut(|reader| {
            let stale = reader
                .snapshot
                .is_some_and(|snapshot| all || snapshot.expired(self.snapshot_ttl));
            // A connection that cannot end its transaction is closed (which ends it).
            !stale || reader.end_snapshot().is_ok()
        });
        idle.iter().any(|reader| reader.snapshot.is_some())
    }

    /// Runs `read` on an idle connection (or a new one) outside any snapshot, so it sees
    /// every commit before it; `Unavailable` once closed or when SQLite fails, `Corrupt`
    /// when a stored value cannot be read.
    pub(crate) fn read<T>(
        &self,
        operation: &'static str,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        self.with_reader(operation, |reader| {
            reader.end_snapshot()?;
            read(&reader.connection)
        })
    }

    /// Runs `read` like [`Readers::read`], in the connection's shared snapshot when it is
    /// still current (no write counted since it began, younger than the TTL), else in a new
    /// one. For the public point reads, which run thousands of times a second.
    pub(crate) fn read_in_snapshot<T>(
        &self,
        operation: &'static str,
        read: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        // Counted before the transaction begins: a write committed in between is then
        // either in the snapshot or makes it stale, never missed.
        let writes = self.writes.load(Ordering::Acquire);
        self.with_reader(operation, |reader| {
            if !reader.snapshot_serves(writes, self.snapshot_ttl) {
                reader.end_snapshot()?;
                // DEFERRED: the snapshot is taken by the first read in it.
                reader.connection.execute_batch("BEGIN")?;
                reader.snapshot = Some(Snapshot {
                    taken: Instant::now(),
                    writes,
                });
            }
            let result = read(&reader.connection)?;
            // Without a runtime to sweep it, a snapshot is not left behind.
            if !self.schedule_sweep() {
                reader.end_snapshot()?;
            }
            Ok(result)
        })
    }

    fn with_reader<T>(
        &self,
        operation: &'static str,
        read: impl FnOnce(&mut Reader) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::Unavailable(format!(
                "{operation}: store is closed"
            )));
        }
        let idle = self.idle.lock().expect("readers lock").pop();
        let mut reader = match idle {
            Some(reader) => reader,
            None => Reader {
                connection: self.open().map_err(|error| classify(operation, error))?,
                snapshot: None,
            },
        };
        let result = read(&mut reader);
        // A connection whose read failed is dropped rather than reused (dropping it ends
        // its transaction).
        if result.is_ok() {
            let mut idle = self.idle.lock().expect("readers lock");
            if idle.len() < MAX_IDLE && !self.closed.load(Ordering::Acquire) {
                idle.push(reader);
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

    fn readers() -> (tempfile::TempDir, Arc<Readers>) {
        readers_with_ttl(SNAPSHOT_TTL)
    }

    /// A database whose table `t` holds 7, and readers of it.
    fn readers_with_ttl(ttl: Duration) -> (tempfile::TempDir, Arc<Readers>) {
        let dir = tempfile::tempdir().expect("temporary directory");
        let path = dir.path().join("readers.db");
        let setup = Connection::open(&path).expect("create");
        setup
            .execute_batch(
                "PRAGMA journal_mode = WAL; CREATE TABLE t (a INTEGER); INSERT INTO t VALUES (7);",
            )
            .expect("setup");
        (dir, Readers::new(path, ttl))
    }

    /// A writing connection to the readers' database, as the store's pool is.
    fn writer(dir: &tempfile::TempDir) -> Connection {
        let writer = Connection::open(dir.path().join("readers.db")).expect("writer");
        // A checkpoint held back by a reader answers at once rather than waiting.
        writer.busy_timeout(Duration::ZERO).expect("busy timeout");
        writer
    }

    fn value_in_snapshot(readers: &Readers) -> i64 {
        readers
            .read_in_snapshot("read", |c| {
                c.query_row("SELECT a FROM t", [], |row| row.get(0))
            })
            .expect("a read")
    }

    /// `(busy, frames in the WAL, frames checkpointed)` of a checkpoint that must not wait.
    fn checkpoint(writer: &Connection) -> (i64, i64, i64) {
        writer
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })
            .expect("checkpoint")
    }

    #[tokio::test(start_paused = true)]
    async fn a_snapshot_serves_reads_until_a_write_is_noted_or_its_ttl_passes() {
        let (dir, readers) = readers_with_ttl(Duration::from_secs(60));
        let writer = writer(&dir);
        assert_eq!(value_in_snapshot(&readers), 7);
        writer.execute("UPDATE t SET a = 8", []).expect("write");
        // Committed by a connection that did not say so: the snapshot still serves.
        assert_eq!(value_in_snapshot(&readers), 7, "the snapshot is shared");
        // A plain read ends the snapshot first.
        let fresh = readers.read("read", |c| {
            c.query_row("SELECT a FROM t", [], |row| row.get::<_, i64>(0))
        });
        assert_eq!(fresh.expect("a read"), 8);

        assert_eq!(value_in_snapshot(&readers), 8);
        writer.execute("UPDATE t SET a = 9", []).expect("write");
        assert_eq!(value_in_snapshot(&readers), 8);
        // Another store on the same file notes its write: no read that starts later misses it.
        let other = Readers::new(dir.path().join("readers.db"), Duration::from_secs(60));
        other.note_write();
        assert_eq!(
            value_in_snapshot(&readers),
            9,
            "a noted write ends the snapshot"
        );

        writer.execute("UPDATE t SET a = 10", []).expect("write");
        assert_eq!(value_in_snapshot(&readers), 9);
        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(value_in_snapshot(&readers), 10, "the TTL ends the snapshot");
    }

    #[test]
    fn a_sweep_dropped_with_its_runtime_does_not_stop_later_ones() {
        let ttl = Duration::from_millis(20);
        let (dir, readers) = readers_with_ttl(ttl);
        let writer = writer(&dir);
        let runtime = || {
            tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build()
                .expect("runtime")
        };
        // A sweep is scheduled on a runtime that shuts down before it runs.
        runtime().block_on(async { assert_eq!(value_in_snapshot(&readers), 7) });
        runtime().block_on(async {
            assert_eq!(value_in_snapshot(&readers), 7);
            writer.execute("UPDATE t SET a = 8", []).expect("write");
            tokio::time::sleep(ttl * 2).await;
            tokio::task::yield_now().await;
            assert_eq!(checkpoint(&writer), (0, 0, 0), "the next snapshot is swept");
        });
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_snapshot_is_ended_one_ttl_later_and_never_holds_back_checkpoints() {
        let ttl = Duration::from_millis(20);
        let (dir, readers) = readers_with_ttl(ttl);
        let writer = writer(&dir);
        assert_eq!(value_in_snapshot(&readers), 7);
        writer.execute("UPDATE t SET a = 8", []).expect("write");
        let (busy, _, _) = checkpoint(&writer);
        assert_eq!(busy, 1, "the held snapshot keeps the write in the WAL");
        // Nobody reads any more: the sweep ends the idle snapshot.
        tokio::time::sleep(ttl * 2).await;
        tokio::task::yield_now().await;
        assert_eq!(
            checkpoint(&writer),
            (0, 0, 0),
            "the WAL is checkpointed and emptied"
        );
        assert_eq!(value_in_snapshot(&readers), 8);
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
