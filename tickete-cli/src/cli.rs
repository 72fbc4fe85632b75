//! The command line: clap definitions and the parse step.

use chrono::NaiveDate;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use clap_complete::Shell;
use tickete_app::settings::CommonArgs;
use tickete_core::engine::MAX_WINDOW_DAYS;
use tickete_core::{ProductId, RunId};
use tickete_partner_sim::SimArgs;

/// Settings of `ConfigArgs` that every subcommand accepts (before or after its name).
const GLOBAL_SETTINGS: &[&str] = &[
    "config",
    "database_url",
    "partner_url",
    "partner_api_key",
    "partner_rate_per_minute",
    "partner_max_hold_seconds",
    "timezone",
    "log_format",
    "partner_sim",
    "webhook_allow_private",
    "webhook_proxy",
];

/// Subcommands that read no settings: the settings are hidden from their help.
const WITHOUT_SETTINGS: &[&str] = &["partner-sim", "completions"];

/// tickete: sync partner availability, query it and operate the sync, straight on the store
/// named by DATABASE_URL (the same settings as tickete-server).
#[derive(Debug, Parser)]
#[command(name = "tickete", version, propagate_version = true)]
pub struct Cli {
    /// Store, partner and time-zone settings, shared with the server.
    #[command(flatten)]
    pub settings: CommonArgs,
    /// Print JSON (the REST API's bodies) instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fetch availability from the partner now, paced, with a progress bar; exits 1 when any
    /// (product, date) failed.
    Sync(SyncArgs),
    /// Stored slots of a product on a date (as `GET /api/v1/experience/{id}/slots`).
    Slots {
        /// Product id.
        product: ProductId,
        /// Date, YYYY-MM-DD (default: today in the service time zone).
        #[arg(long, value_parser = parse_date)]
        date: Option<NaiveDate>,
        /// Live read: data older than this many seconds (or never fetched) is fetched from
        /// the partner now, under the deployment's budget (as `Cache-Control: max-age`).
        #[arg(long, value_parser = clap::value_parser!(u32).range(0..=86_400))]
        max_age: Option<u32>,
    },
    /// Bookable dates of a product for two months with their lowest price (as
    /// `GET /api/v1/experience/{id}/dates`).
    Dates {
        /// Product id.
        product: ProductId,
    },
    /// The catalogue of products to sync (default: list).
    Products {
        /// Action.
        #[command(subcommand)]
        action: Option<ProductsCommand>,
    },
    /// Sync jobs: schedules and windows (default: list).
    Jobs {
        /// Action.
        #[command(subcommand)]
        action: Option<JobsCommand>,
    },
    /// The execution log (default: list).
    Runs {
        /// Action.
        #[command(subcommand)]
        action: Option<RunsCommand>,
    },
    /// The engine processes on this store (servers, CLIs, replicas) with their last heartbeat.
    Processes {
        /// Page flags.
        #[command(flatten)]
        page: PageArgs,
    },
    /// Change-feed webhooks and their deliveries (default: list).
    Webhooks {
        /// Action.
        #[command(subcommand)]
        action: Option<crate::commands::webhooks::WebhooksCommand>,
    },
    /// Pause partner calls for every process on this store (a running server notices within
    /// a few seconds; its in-flight call finishes).
    Pause,
    /// Resume partner calls.
    Resume,
    /// Pause flag, partner budget (with any 429 hold in force) and the latest run.
    Status,
    /// Lift a partner 429 hold now, so calls resume at the normal pace rather than at the
    /// partner's reset, for every process on the store (the hold is kept in the store).
    ClearHold,
    /// Create or upgrade the store's schema and seed the default jobs (and, into an empty
    /// catalogue, TICKETE_PRODUCTS), as the server does at start.
    Migrate,
    /// Serve the partner simulator until Ctrl-C.
    PartnerSim(SimArgs),
    /// Print a shell completion script.
    Completions {
        /// Shell.
        shell: Shell,
    },
}

/// `tickete sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Only these products (repeat or comma-separate); default: every enabled product.
    #[arg(long = "product", value_delimiter = ',')]
    pub products: Vec<ProductId>,
    /// Days from today to sync.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_WINDOW_DAYS)))]
    pub days: u32,
    /// Show the plan, the partner calls it would spend and how long that takes at the
    /// current rate, without calling the partner.
    #[arg(long)]
    pub dry_run: bool,
}

/// Page flags of list commands.
#[derive(Debug, Clone, Copy, Args)]
pub struct PageArgs {
    /// 1-based page.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub page: u32,
    /// Items per page, 1..=100.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub limit: u32,
}

impl Default for PageArgs {
    fn default() -> Self {
        Self {
            page: 1,
            limit: 100,
        }
    }
}

/// `tickete products …`.
#[derive(Debug, Subcommand)]
pub enum ProductsCommand {
    /// List the catalogue.
    List(PageArgs),
    /// Add a product, or change an existing one's name or enabled flag.
    Add {
        /// Partner product id.
        id: ProductId,
        /// Display name (default `Product <id>` for a new product).
        #[arg(long)]
        name: Option<String>,
        /// Keep it in the catalogue but do not sync it.
        #[arg(long)]
        disabled: bool,
    },
    /// Remove a product with its synced inventory.
    Remove {
        /// Partner product id.
        id: ProductId,
    },
}

/// `tickete jobs …`.
#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// List jobs with their last and next run.
    List,
    /// Schedule a job again.
    Enable {
        /// Job name.
        name: String,
    },
    /// Stop scheduling a job (a trigger still runs it).
    Disable {
        /// Job name.
        name: String,
    },
    /// Run a job now in this process and wait for it, like `sync`.
    Trigger {
        /// Job name.
        name: String,
    },
    /// Change a job's cron schedule (five fields, service time zone) and optionally its window.
    SetSchedule {
        /// Job name.
        name: String,
        /// Cron expression, e.g. "*/15 * * * *".
        schedule: String,
        /// New window in days from today.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_WINDOW_DAYS)))]
        window_days: Option<u32>,
    },
}

/// `tickete runs …`.
#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// Runs, newest first.
    List {
        /// Only runs of this job.
        #[arg(long)]
        job: Option<String>,
        /// Page flags.
        #[command(flatten)]
        page: PageArgs,
    },
    /// One run with its errors.
    Show {
        /// Run id.
        id: RunId,
    },
}

fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("`{text}` is not a date: expected YYYY-MM-DD, e.g. 2025-03-25"))
}

/// The full clap command: the settings made global (so they may follow the subcommand), and
/// hidden from the help of subcommands that do not read them.
pub fn command() -> clap::Command {
    let mut command = Cli::command().mut_args(|arg| {
        if GLOBAL_SETTINGS.contains(&arg.get_id().as_str()) {
            arg.global(true)
        } else {
            arg
        }
    });
    // Globals reach the subcommands when the command is built; hide them there afterwards.
    command.build();
    for name in WITHOUT_SETTINGS {
        command = command.mut_subcommand(name, |sub| {
            sub.mut_args(|arg| {
                if GLOBAL_SETTINGS.contains(&arg.get_id().as_str()) {
                    arg.hide(true)
                } else {
                    arg
                }
            })
        });
    }
    command
}

/// Parses the process arguments; on a usage error prints it and exits 2 (help and version
/// exit 0).
pub fn parse() -> Cli {
    let matches: ArgMatches = command().get_matches();
    Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_is_well_formed() {
        command().debug_assert();
    }

    #[test]
    fn settings_may_follow_the_subcommand() {
        let matches = command()
            .try_get_matches_from(["tickete", "status", "--database-url", "sqlite://x.db"])
            .unwrap();
        let cli = Cli::from_arg_matches(&matches).unwrap();
        assert_eq!(
            cli.settings.store.database_url.as_deref(),
            Some("sqlite://x.db")
        );
    }
}
