//! What the application can refuse or fail at, classified so each front-end maps it once:
//! the server to an HTTP status, the CLI to an exit code.

use tickete_core::engine::schedule::ScheduleError;
use tickete_core::{EngineError, StoreError};

/// Why an admin action did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    /// The input is malformed; the message names the field and the expected form.
    #[error("{0}")]
    Invalid(String),
    /// The engine refused (paused, window out of range…).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The store failed or the thing was not found.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<ScheduleError> for ActionError {
    fn from(error: ScheduleError) -> Self {
        Self::Invalid(format!("schedule: {error}"))
    }
}

/// Why the application could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The store could not be opened, migrated or seeded.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The partner client or simulator could not be set up.
    #[error("partner: {0}")]
    Partner(String),
    /// A listener could not be bound.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}
