//! glibc's allocator, set up in process for a server that runs for weeks.
//!
//! With glibc's defaults a long-running server holds much more memory than it uses: glibc
//! makes an arena per thread (up to 8 per core), each keeping what is freed into it, and
//! after a large block is freed it raises the size from which blocks get a mapping of their
//! own (up to 32 MiB). So the few-MB buffers of the minutely reads flush stayed in the
//! runtime threads' arenas and the RSS grew at each flush. Capping the arenas at one per core
//! and fixing the threshold at glibc's default (fixing it turns the raising off) keeps it flat
//! (docs/benchmarks.md, "Memory under sustained reads"). mimalloc and jemalloc, which a
//! `#[global_allocator]` would set without `unsafe`, held more on the same run (docs/DECISIONS.md).
//!
//! An operator's `GLIBC_TUNABLES` (any value, even empty) is left to glibc: nothing is set.

/// How the allocator was set up, to be logged once logging runs.
#[derive(Debug)]
pub enum Tuning {
    /// Arenas capped at `arena_max`, mapping threshold fixed at `mmap_threshold` bytes.
    Applied {
        /// The most arenas glibc makes.
        arena_max: usize,
        /// The size from which a block gets a mapping of its own.
        mmap_threshold: usize,
    },
    /// The operator's own `GLIBC_TUNABLES` are left as they are.
    Operator(String),
    /// glibc refused a setting; it runs on its defaults for that one.
    Refused(&'static str),
    /// Not glibc: nothing to set.
    NotGlibc,
}

impl Tuning {
    /// Logs the outcome: a refusal as a warning, the rest as information.
    pub fn log(&self) {
        match self {
            Tuning::Applied {
                arena_max,
                mmap_threshold,
            } => tracing::info!(arena_max, mmap_threshold, "allocator tuned"),
            Tuning::Operator(tunables) => {
                tracing::info!(%tunables, "allocator: the operator's GLIBC_TUNABLES kept")
            }
            Tuning::Refused(setting) => tracing::warn!(
                setting,
                "allocator: glibc refused the setting; it holds more memory under sustained load"
            ),
            Tuning::NotGlibc => {}
        }
    }
}

/// Sets glibc's allocator up. Call it first thing in `main`, before any thread starts (a
/// thread that already has an arena keeps it); a service that embeds
/// [`launch()`](crate::launch::launch) in a binary of its own may call it too.
pub fn tune() -> Tuning {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    return glibc::tune();
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    return Tuning::NotGlibc;
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod glibc {
    use super::Tuning;

    /// glibc's default size from which a block gets a mapping of its own, returned to the
    /// system when freed; set explicitly, glibc stops raising it.
    const MMAP_THRESHOLD: usize = 128 * 1024;

    pub fn tune() -> Tuning {
        if let Some(own) = std::env::var_os("GLIBC_TUNABLES") {
            return Tuning::Operator(own.to_string_lossy().into_owned());
        }
        // An arena per core: the runtime runs a worker thread per core.
        let arena_max = std::thread::available_parallelism().map_or(2, usize::from);
        if !mallopt(libc::M_ARENA_MAX, arena_max) {
            return Tuning::Refused("M_ARENA_MAX");
        }
        if !mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) {
            return Tuning::Refused("M_MMAP_THRESHOLD");
        }
        Tuning::Applied {
            arena_max,
            mmap_threshold: MMAP_THRESHOLD,
        }
    }

    /// Sets one of glibc's allocator parameters; false when glibc refuses it.
    #[allow(unsafe_code)]
    fn mallopt(parameter: libc::c_int, value: usize) -> bool {
        let Ok(value) = libc::c_int::try_from(value) else {
            return false;
        };
        // SAFETY: `mallopt` takes two integers and only changes glibc's allocator settings,
        // under its own lock, from any thread at any time; it returns 0 for a refused one.
        unsafe { libc::mallopt(parameter, value) == 1 }
    }
}
