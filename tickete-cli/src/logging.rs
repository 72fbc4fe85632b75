//! Log lines go to stderr, so stdout stays clean for tables and JSON.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Default filter: warnings, except per-call partner and task failures, which the run
/// summary reports once each.
const DEFAULT_FILTER: &str =
    "warn,tickete_partner::client=error,tickete_core::engine::worker=error";

/// Installs the subscriber: `RUST_LOG` (default [`DEFAULT_FILTER`]), text or JSON lines, on
/// stderr.
pub fn init(json: bool) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    // A failed init only means a subscriber is already installed.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
