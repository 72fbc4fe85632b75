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
            handle
        })
        .clone()
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
}
