//! `tickete partner-sim`: the partner simulator on its own port until Ctrl-C.

use tickete_partner_sim::{SimArgs, Simulator};
use tokio::net::TcpListener;

use crate::error::CliError;
use crate::output;

/// Serves the simulator described by `args` until Ctrl-C (or SIGTERM).
pub async fn run(args: SimArgs) -> Result<(), CliError> {
    tickete_app::logging::init(tickete_app::logging::LogTarget::Command, false);
    let config = args.config();
    let simulator = Simulator::new(config.clone()).map_err(|e| CliError::usage(e.to_string()))?;
    let listener = TcpListener::bind(args.bind)
        .await
        .map_err(|e| CliError::failure(format!("cannot listen on {}: {e}", args.bind)))?;
    let address = listener.local_addr()?;
    let limit = if config.rate_limit == 0 {
        "no rate limit".to_owned()
    } else {
        format!(
            "{} requests per {} s",
            config.rate_limit,
            config.window.as_secs()
        )
    };
    output::line(format!(
        "partner simulator on http://{address} (products 1..={}, {limit}, seed {})",
        config.products, config.seed
    ));
    output::line(format!(
        "  try: curl 'http://{address}/api/v1/inventory/14?date={}'   stats: http://{address}/__sim/stats",
        chrono::Utc::now().date_naive()
    ));
    output::line("  Ctrl-C stops it");
    simulator.serve(listener, shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
