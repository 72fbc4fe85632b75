//! glibc's allocator, set up for a server that runs for weeks.
//!
//! With glibc's defaults a long-running server holds much more memory than it uses:
//! - it makes an arena per thread, up to 8 per core, each keeping freed memory of its own;
//! - after a large block is freed, it raises the size at which blocks get their own mapping
//!   (up to 32 MiB) and the slack each arena keeps (twice that).
//!
//! So the buffers of the minutely reads flush (a few MB each) stayed in the runtime threads'
//! arenas once freed. Under sustained random reads over 1,000 products × 60 days, the RSS went
//! from 53 to 64–66 MB at the first flush and kept climbing. With the arenas capped at one
//! per core and the threshold fixed at glibc's default (fixing it turns the raising off), the
//! same run stays at 49–51 MB, with the same throughput (docs/benchmarks.md, "Reading at scale").
//!
//! glibc reads these settings only at process start, from `GLIBC_TUNABLES`, and the other
//! way (`mallopt`) needs `unsafe`, which the workspace forbids. So the server, when started
//! without `GLIBC_TUNABLES`, executes itself again at once with them set: same process id,
//! arguments, environment and open descriptors, nothing run yet. An operator who sets
//! `GLIBC_TUNABLES` (to anything, even empty) keeps exactly that. A service that embeds
//! [`launch()`](crate::launch::launch) in a binary of its own can call [`tune`] first thing in its `main` too.

/// How the allocator was set up, to be logged once logging runs.
#[derive(Debug)]
pub enum Tuning {
    /// This process started with the tunables the server sets.
    Applied(String),
    /// The operator's own `GLIBC_TUNABLES` are kept as they are.
    Operator(String),
    /// The server could not execute itself again; it runs on glibc's defaults.
    Failed(std::io::Error),
    /// Not glibc: nothing to set.
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    NotGlibc,
}

impl Tuning {
    /// Logs the outcome: a failure as a warning, the rest as information.
    pub fn log(&self) {
        match self {
            Tuning::Applied(tunables) => tracing::info!(%tunables, "allocator tuned"),
            Tuning::Operator(tunables) => {
                tracing::info!(%tunables, "allocator: the operator's GLIBC_TUNABLES kept")
            }
            Tuning::Failed(error) => tracing::warn!(
                %error,
                "allocator: could not restart with GLIBC_TUNABLES; running on glibc's defaults, \
                 which hold more memory under sustained load"
            ),
            #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
            Tuning::NotGlibc => {}
        }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod glibc {
    use std::os::unix::process::CommandExt;

    use super::Tuning;

    /// Where glibc reads its tunables from.
    const TUNABLES: &str = "GLIBC_TUNABLES";
    /// Set on the process executed again: if its environment lost `GLIBC_TUNABLES` (glibc
    /// drops it for set-user-ID programs), it must not execute itself once more, forever.
    const RESTARTED: &str = "TICKETE_ALLOCATOR_RESTARTED";
    /// glibc's default size from which a block gets a mapping of its own, returned to the
    /// system when freed; set explicitly, glibc stops raising it.
    const MMAP_THRESHOLD: usize = 128 * 1024;

    /// The tunables the server runs with: an arena per core (the runtime runs a worker
    /// thread per core) and the mapping threshold fixed.
    fn tunables() -> String {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        format!("glibc.malloc.arena_max={cores}:glibc.malloc.mmap_threshold={MMAP_THRESHOLD}")
    }

    /// Executes this program again with the tunables when the environment has none; returns
    /// only when it does not (already set, or the execution failed).
    pub fn tune() -> Tuning {
        if let Some(own) = std::env::var_os(TUNABLES) {
            let own = own.to_string_lossy().into_owned();
            return if std::env::var_os(RESTARTED).is_some() {
                Tuning::Applied(own)
            } else {
                Tuning::Operator(own)
            };
        }
        if std::env::var_os(RESTARTED).is_some() {
            return Tuning::Failed(std::io::Error::other(format!(
                "{TUNABLES} was dropped from the environment of the restarted process"
            )));
        }
        let mut args = std::env::args_os();
        let mut command = std::process::Command::new("/proc/self/exe");
        if let Some(name) = args.next() {
            command.arg0(name);
        }
        // `exec` replaces this process and returns only the error that kept it from doing so.
        let error = command
            .args(args)
            .env(TUNABLES, tunables())
            .env(RESTARTED, "1")
            .exec();
        Tuning::Failed(error)
    }
}

/// Sets glibc's allocator up, executing the program again if need be. Call it first thing
/// in `main`, before any thread or file is opened.
pub fn tune() -> Tuning {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    return glibc::tune();
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    return Tuning::NotGlibc;
}
