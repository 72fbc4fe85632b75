//! `tickete`: one-off syncs, queries, jobs, migrations and the partner simulator, straight
//! on the store named by `DATABASE_URL`.

mod cli;
mod commands;
mod context;
mod error;
mod output;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = cli::parse();
    match commands::dispatch(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            for line in error.message.lines() {
                eprintln!("tickete: {line}");
            }
            ExitCode::from(error.code)
        }
    }
}
