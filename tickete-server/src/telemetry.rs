//! The Prometheus recorder.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// The process-wide Prometheus recorder, installed on first use.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed by an embedding service; then ours
            // renders nothing, which is better than refusing to start.
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics will be empty");
            }
            register_at_zero();
            spawn_upkeep(handle.clone());
            handle
        })
        .clone()
}

/// How often the recorder's upkeep runs without a scrape.
pub const UPKEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// Name of the thread that runs the recorder's upkeep.
pub const UPKEEP_THREAD: &str = "metrics-upkeep";

/// Runs the recorder's upkeep (draining histogram samples into their summaries) every
/// [`UPKEEP_INTERVAL`]. Rendering `/metrics` also runs it, but a service nobody scrapes kept
/// every sample: about 19 bytes per request, never freed. A plain thread, so it
/// runs whatever runtime (or none) the embedding service has.
fn spawn_upkeep(handle: PrometheusHandle) {
    let spawned = std::thread::Builder::new()
        .name(UPKEEP_THREAD.into())
        .spawn(move || loop {
            std::thread::sleep(UPKEEP_INTERVAL);
            handle.run_upkeep();
        });
    if let Err(error) = spawned {
        tracing::warn!(%error, "could not start the metrics upkeep thread");
    }
}

/// Counters a dashboard or alert looks for exist from the start, at zero, rather than
/// appearing with their first event.
fn register_at_zero() {
    for outcome in ["ok", "rate_limited", "transient", "permanent", "invalid"] {
        metrics::counter!("tickete_partner_requests_total", "outcome" => outcome).absolute(0);
    }
    metrics::counter!("tickete_partner_rate_limited_total").absolute(0);
    metrics::gauge!("tickete_queue_depth").set(0.0);
    metrics::gauge!("tickete_in_flight").set(0.0);
    metrics::gauge!("tickete_partner_hold_seconds").set(0.0);
    metrics::gauge!("tickete_http_connections_open").set(0.0);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nothing drained the histograms while nobody scraped `/metrics`. The
    /// recorder's upkeep runs on a thread of its own from the moment the recorder exists.
    #[test]
    fn the_recorder_runs_its_upkeep_without_scrapes() {
        let _handle = metrics_handle();
        let thread_names = || -> Vec<String> {
            std::fs::read_dir("/proc/self/task")
                .expect("Linux /proc")
                .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
                .map(|name| name.trim().to_owned())
                .collect()
        };
        // A new thread names itself once it starts running: until then it carries its
        // parent's name, so look again for a little while.
        let mut threads = thread_names();
        for _ in 0..200 {
            if threads.iter().any(|name| name == UPKEEP_THREAD) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
            threads = thread_names();
        }
        assert!(
            threads.iter().any(|name| name == UPKEEP_THREAD),
            "no {UPKEEP_THREAD} thread among {threads:?}"
        );
    }
}
