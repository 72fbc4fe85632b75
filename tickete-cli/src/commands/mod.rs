//! One module per command family; [`dispatch`] routes a parsed command line to it.

mod completions;
mod control;
mod execute;
mod jobs;
mod products;
mod query;
mod runs;
mod sim;
mod sync;
pub mod webhooks;

use tickete_app::logging::LogTarget;

use crate::cli::{Cli, Command};
use crate::context::Ctx;
use crate::error::CliError;

/// Runs the command of `cli`.
pub async fn dispatch(cli: Cli) -> Result<(), CliError> {
    // Commands that need no settings work even when the store settings are wrong.
    let command = match cli.command {
        Command::Completions { shell } => return completions::run(shell),
        Command::PartnerSim(args) => return sim::run(args).await,
        other => other,
    };
    let settings = tickete_app::Settings::resolve(&cli.settings)?;
    tickete_app::logging::init(LogTarget::Command, settings.log.json);
    let ctx = Ctx::new(settings, cli.json);
    match command {
        Command::Sync(args) => sync::run(&ctx, args).await,
        Command::Slots {
            product,
            date,
            max_age,
        } => query::slots(&ctx, product, date, max_age).await,
        Command::Dates { product } => query::dates(&ctx, product).await,
        Command::Products { action } => products::run(&ctx, action).await,
        Command::Jobs { action } => jobs::run(&ctx, action).await,
        Command::Runs { action } => runs::run(&ctx, action).await,
        Command::Processes { page } => runs::processes(&ctx, page).await,
        Command::Webhooks { action } => webhooks::run(&ctx, action).await,
        Command::Pause => control::pause(&ctx, true).await,
        Command::Resume => control::pause(&ctx, false).await,
        Command::Status => control::status(&ctx).await,
        Command::ClearHold => control::clear_hold(&ctx).await,
        Command::Migrate => control::migrate(&ctx).await,
        Command::Completions { .. } | Command::PartnerSim(_) => unreachable!("handled above"),
    }
}
