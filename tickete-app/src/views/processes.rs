//! The engine processes working on the store, as `GET /admin/processes` lists them, and how
//! old each day of a product is.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tickete_core::EngineProcess;

/// An engine process (server, CLI or replica) with its latest heartbeat.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ProcessBody {
    /// Unique per process start: host, pid and a random suffix.
    pub id: String,
    /// `server` or `cli`.
    pub kind: String,
    /// Host name.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// When it registered.
    pub started_at: DateTime<Utc>,
    /// Its latest heartbeat.
    pub last_seen_at: DateTime<Utc>,
}

/// One date of a product: when it was fetched and how old that is.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DayAgeBody {
    /// The date.
    pub date: chrono::NaiveDate,
    /// When it was last fetched from the partner; `None` when never.
    pub synced_at: Option<DateTime<Utc>>,
    /// Seconds since then.
    pub age_seconds: Option<i64>,
    /// The last fetch error, cleared by a successful fetch.
    pub last_error: Option<String>,
}

impl From<&EngineProcess> for ProcessBody {
    fn from(process: &EngineProcess) -> Self {
        Self {
            id: process.id.clone(),
            kind: process.kind.as_str().to_owned(),
            host: process.host.clone(),
            pid: process.pid,
            started_at: process.started_at,
            last_seen_at: process.last_seen_at,
        }
    }
}
