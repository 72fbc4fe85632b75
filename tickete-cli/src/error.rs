//! Errors of the CLI and their exit codes: 2 for bad settings (clap's usage errors exit 2 on
//! their own), 1 for partner or store failures, 130 for an interrupted sync.

use std::fmt;

use tickete_app::{ActionError, AppError, SettingsError};
use tickete_core::{EngineError, StoreError};

/// A failure to report on stderr, with the exit code it maps to.
#[derive(Debug)]
pub struct CliError {
    /// Process exit code.
    pub code: u8,
    /// One or more lines for stderr, without the `tickete:` prefix.
    pub message: String,
}

impl CliError {
    /// Exit code of usage and settings errors.
    pub const USAGE: u8 = 2;
    /// Exit code of partner and store failures.
    pub const FAILURE: u8 = 1;
    /// Exit code after Ctrl-C stopped a sync.
    pub const INTERRUPTED: u8 = 130;

    /// A bad setting or argument (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            code: Self::USAGE,
            message: message.into(),
        }
    }

    /// A partner or store failure (exit 1).
    pub fn failure(message: impl Into<String>) -> Self {
        Self {
            code: Self::FAILURE,
            message: message.into(),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<StoreError> for CliError {
    fn from(error: StoreError) -> Self {
        Self::failure(error.to_string())
    }
}

impl From<EngineError> for CliError {
    fn from(error: EngineError) -> Self {
        match error {
            EngineError::Paused => {
                Self::failure("sync is paused; run `tickete resume` first (see `tickete status`)")
            }
            EngineError::InvalidWindow(_) => Self::usage(error.to_string()),
            other => Self::failure(other.to_string()),
        }
    }
}

impl From<ActionError> for CliError {
    fn from(error: ActionError) -> Self {
        match error {
            ActionError::Invalid(message) => Self::usage(message),
            ActionError::Engine(engine) => engine.into(),
            ActionError::Store(store) => store.into(),
        }
    }
}

impl From<AppError> for CliError {
    fn from(error: AppError) -> Self {
        Self::failure(error.to_string())
    }
}

impl From<SettingsError> for CliError {
    fn from(error: SettingsError) -> Self {
        Self::usage(error.to_string())
    }
}

impl From<std::io::Error> for CliError {
    fn from(error: std::io::Error) -> Self {
        Self::failure(error.to_string())
    }
}
