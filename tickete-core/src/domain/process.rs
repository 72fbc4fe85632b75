//! The engine processes on one store (servers, CLIs, replicas) and the owner of a run.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What kind of process runs an engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProcessKind {
    /// A long-running service (`tickete-server`, one per replica, or an embedding service).
    Server,
    /// A one-off command (`tickete sync`).
    Cli,
}

super::sync::text_enum!(ProcessKind { Server => "server", Cli => "cli" });

/// An engine process registered in the store, kept alive by its heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineProcess {
    /// Unique per process start: host, pid and a random suffix.
    pub id: String,
    /// Server or CLI.
    pub kind: ProcessKind,
    /// Host name.
    pub host: String,
    /// Operating-system process id.
    pub pid: u32,
    /// When it registered.
    pub started_at: DateTime<Utc>,
    /// Its latest heartbeat.
    pub last_seen_at: DateTime<Utc>,
}

impl EngineProcess {
    /// This process, of `kind`, starting at `now`, with an id no other process has.
    pub fn current(kind: ProcessKind, now: DateTime<Utc>) -> Self {
        let host = host_name();
        let pid = std::process::id();
        Self {
            id: format!("{host}-{pid}-{:08x}", rand::random::<u32>()),
            kind,
            host,
            pid,
            started_at: now,
            last_seen_at: now,
        }
    }

    /// The owner recorded on the runs this process starts.
    pub fn as_owner(&self) -> RunOwner {
        RunOwner {
            process: self.id.clone(),
            kind: self.kind,
            host: self.host.clone(),
            pid: self.pid,
        }
    }
}

/// The process that owns a run: only it finishes the run, unless it is gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunOwner {
    /// The owning process's id ([`EngineProcess::id`]).
    pub process: String,
    /// Server or CLI.
    pub kind: ProcessKind,
    /// Its host.
    pub host: String,
    /// Its process id.
    pub pid: u32,
}

/// The host's name: `HOSTNAME`, else `/etc/hostname`, else `localhost`.
fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}
