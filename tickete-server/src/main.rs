//! `tickete-server`: parses config, binds, and runs the service until SIGINT/SIGTERM.

use clap::Parser;
use tickete_server::{launch, telemetry, Config, ConfigArgs};

#[derive(Parser)]
#[command(
    name = "tickete-server",
    version,
    about = "tickete REST API and scheduled partner sync"
)]
struct Cli {
    #[command(flatten)]
    config: ConfigArgs,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let config = match Config::resolve(cli.config) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("tickete-server: {error}");
            return std::process::ExitCode::from(2);
        }
    };
    telemetry::init_logging(config.json_logs);
    let listener = match tokio::net::TcpListener::bind(config.bind).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("tickete-server: cannot listen on {}: {error}", config.bind);
            return std::process::ExitCode::FAILURE;
        }
    };
    match launch(config, listener, shutdown_signal()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tickete-server: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
