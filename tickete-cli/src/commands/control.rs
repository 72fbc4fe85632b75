//! `tickete pause|resume|status|clear-hold|migrate`.

use chrono::Utc;
use tickete_core::engine::PartnerBudget;
use tickete_core::{InventoryStore, PageRequest};
use tickete_server::config::redact_url;
use tickete_server::dto::{BudgetBody, RunBody, SyncStatusBody};

use crate::context::Ctx;
use crate::error::CliError;
use crate::output::{self, or_dash, time};

/// Sets the stored pause flag (`paused`) and prints the status.
pub async fn pause(ctx: &Ctx, paused: bool) -> Result<(), CliError> {
    let store = ctx.store().await?;
    store.set_paused(paused, Utc::now()).await?;
    if !ctx.json {
        output::line(if paused {
            "sync paused: no partner calls until `tickete resume` (a running server notices within a few seconds)"
        } else {
            "sync resumed"
        });
    }
    print_status(ctx, store.as_ref()).await
}

/// Prints the pause flag, the configured budget and the latest run.
pub async fn status(ctx: &Ctx) -> Result<(), CliError> {
    let store = ctx.store().await?;
    print_status(ctx, store.as_ref()).await
}

/// The `GET /sync/status` body as the store shows it. On Postgres the queue is the one the
/// replicas share; on SQLite it lives in the server's memory, so `pending` and `inFlight` are
/// 0 here.
async fn print_status(ctx: &Ctx, store: &dyn InventoryStore) -> Result<(), CliError> {
    let pause = store.pause_state().await?;
    let last = store
        .list_runs(None, PageRequest { page: 1, limit: 1 })
        .await?;
    let rate = ctx.config.partner_rate_per_minute.get();
    let shared_queue = ctx.shared_queue_depth().await?;
    let depth = shared_queue.unwrap_or_default();
    let budget = ctx.postgres_budget().await?;
    let held_until = match &budget {
        Some(budget) => budget.stored_hold().await?,
        None => None,
    };
    let body = SyncStatusBody {
        paused: pause.paused,
        paused_at: pause.paused_at,
        pending: depth.pending,
        in_flight: depth.in_flight,
        partner_budget: BudgetBody {
            rate_per_minute: rate,
            spacing_ms: 60_000 / u64::from(rate),
            held_until,
        },
        last_run: last.items.first().map(RunBody::from),
    };
    if ctx.json {
        return output::json(&body);
    }
    let state = if body.paused {
        format!("paused since {}", or_dash(body.paused_at.map(time)))
    } else {
        "running (not paused)".to_owned()
    };
    output::line(format!("sync:           {state}"));
    output::line(format!(
        "partner budget: {rate} calls/min (one every {} ms)",
        body.partner_budget.spacing_ms
    ));
    match (&budget, body.partner_budget.held_until) {
        (Some(_), Some(until)) => output::line(format!(
            "partner hold:   429 hold until {} (lift it with `tickete clear-hold`)",
            time(until)
        )),
        (Some(_), None) => output::line("partner hold:   none"),
        (None, _) => output::line(
            "partner hold:   held in a running server's memory (GET /api/v1/sync/status)",
        ),
    }
    match &body.last_run {
        Some(run) => output::line(format!(
            "last run:       {} {} ({}) {}, started {}; fetched {}, failed {}",
            run.id,
            run.job,
            run.trigger,
            run.status,
            time(run.started_at),
            run.fetched,
            run.failed
        )),
        None => output::line("last run:       none recorded"),
    }
    match shared_queue {
        Some(depth) => output::line(format!(
            "queue:          {} pending, {} in flight (shared by the replicas)",
            depth.pending, depth.in_flight
        )),
        None => output::line(
            "queue:          held in a running server's memory (GET /api/v1/sync/status)",
        ),
    }
    Ok(())
}

/// Lifts the partner 429 hold every replica shares (Postgres) and prints the status. On
/// SQLite the hold lives in the running server's memory, out of the CLI's reach: exit 2 with
/// the route that lifts it.
pub async fn clear_hold(ctx: &Ctx) -> Result<(), CliError> {
    let Some(budget) = ctx.postgres_budget().await? else {
        return Err(CliError::usage(
            "on SQLite the partner 429 hold lives in the running server's memory: lift it with \
             `POST /api/v1/sync/clear-hold` (admin token); `tickete clear-hold` works on Postgres",
        ));
    };
    let lifted = budget.clear_hold().await?;
    if !ctx.json {
        output::line(match lifted {
            Some(until) => format!(
                "lifted the partner 429 hold that ran until {}: calls resume now",
                time(until)
            ),
            None => "no partner 429 hold was in force".to_owned(),
        });
    }
    let store = ctx.store().await?;
    print_status(ctx, store.as_ref()).await
}

/// Opens the store (which applies its migrations) and seeds the defaults.
pub async fn migrate(ctx: &Ctx) -> Result<(), CliError> {
    let store = ctx.seeded_store().await?;
    let jobs = store.list_jobs().await?;
    let products = store
        .list_products(PageRequest { page: 1, limit: 1 })
        .await?;
    let url = redact_url(&ctx.config.database_url);
    if ctx.json {
        return output::json(&serde_json::json!({
            "database": url,
            "migrated": true,
            "jobs": jobs.len(),
            "products": products.total,
        }));
    }
    output::line(format!(
        "{url}: schema up to date; {} jobs, {} products in the catalogue",
        jobs.len(),
        products.total
    ));
    Ok(())
}
