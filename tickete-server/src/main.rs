//! `tickete-server`: parses settings, binds, and runs the service until SIGINT/SIGTERM.

use clap::Parser;
use tickete_app::logging::{self, LogTarget};
use tickete_app::settings::{CommonArgs, ServerArgs};
use tickete_app::Settings;
use tickete_server::{allocator, launch};

#[derive(Parser)]
#[command(
    name = "tickete-server",
    version,
    about = "tickete REST API and scheduled partner sync"
)]
struct Cli {
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    server: ServerArgs,
}

fn main() -> std::process::ExitCode {
    // First, before the runtime's threads start: a thread keeps the arena it was given.
    let allocator = allocator::tune();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("tickete-server: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(allocator))
}

async fn serve(allocator: allocator::Tuning) -> std::process::ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::resolve_server(&cli.common, &cli.server) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("tickete-server: {error}");
            return std::process::ExitCode::from(2);
        }
    };
    logging::init(LogTarget::Service, settings.log.json);
    allocator.log();
    let bind = settings.server.bind;
    let listener = match tokio::net::TcpListener::bind(bind).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("tickete-server: cannot listen on {bind}: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match launch(settings, listener, shutdown_signal()).await {
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
