//! The tracing subscriber the binaries install (libraries never do).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Where log lines go and what is shown when `RUST_LOG` is unset.
#[derive(Debug, Clone, Copy)]
pub enum LogTarget {
    /// The server: stdout, `info`.
    Service,
    /// The CLI: stderr (stdout stays clean for tables and JSON), warnings only, and no per-call
    /// partner or task failures, which the run summary reports once each.
    Command,
}

/// Installs the subscriber: `RUST_LOG` filter, text or JSON lines. A second call keeps the
/// first subscriber (tests, embedding).
pub fn init(target: LogTarget, json: bool) {
    let default = match target {
        LogTarget::Service => "info",
        LogTarget::Command => {
            "warn,tickete_partner::client=error,tickete_core::engine::worker=error"
        }
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match (target, json) {
        (LogTarget::Service, true) => builder.json().try_init(),
        (LogTarget::Service, false) => builder
            .with_ansi(std::io::stdout().is_terminal())
            .try_init(),
        (LogTarget::Command, true) => builder.json().with_writer(std::io::stderr).try_init(),
        (LogTarget::Command, false) => builder
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .try_init(),
    };
}
