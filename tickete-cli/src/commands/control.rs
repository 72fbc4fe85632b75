//! `tickete pause|resume|status|migrate`.

use chrono::Utc;
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
    let body = SyncStatusBody {
        paused: pause.paused,
        paused_at: pause.paused_at,
        pending: depth.pending,
        in_flight: depth.in_flight,
        partner_budget: BudgetBody {
            rate_per_minute: rate,
            spacing_ms: 60_000 / u64::from(rate),
            held_until: None,
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
