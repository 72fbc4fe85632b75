//! `tickete pause|resume|status|migrate`.

use tickete_app::views::SyncStatusBody;
use tickete_core::PageRequest;

use crate::context::Ctx;
use crate::error::CliError;
use crate::output::{self, or_dash, time};

/// Sets the stored pause flag (`paused`) and prints the status.
pub async fn pause(ctx: &Ctx, paused: bool) -> Result<(), CliError> {
    let actions = ctx.actions().await?;
    let body = if paused {
        actions.pause().await?
    } else {
        actions.resume().await?
    };
    if !ctx.json {
        output::line(if paused {
            "sync paused: no partner calls until `tickete resume` (a running server notices within a few seconds)"
        } else {
            "sync resumed"
        });
    }
    print_status(ctx, body).await
}

/// Prints the pause flag, the configured budget and the latest run.
pub async fn status(ctx: &Ctx) -> Result<(), CliError> {
    let body = ctx.actions().await?.sync_status().await?;
    print_status(ctx, body).await
}

/// The `GET /sync/status` body as the store shows it. On Postgres the queue is the one the
/// replicas share; on SQLite it lives in the server's memory, so `pending` and `inFlight` are
/// 0 here.
async fn print_status(ctx: &Ctx, body: SyncStatusBody) -> Result<(), CliError> {
    let rate = body.partner_budget.rate_per_minute;
    let shared = ctx.app().await?.is_shared();
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
    match body.partner_budget.held_until {
        Some(until) => output::line(format!(
            "partner hold:   429 hold until {} (lift it with `tickete clear-hold`)",
            time(until)
        )),
        None => output::line("partner hold:   none"),
    }
    output::line(format!(
        "demand:         {:.1} calls/min for the freshness targets ({:.0} % of the budget)",
        body.demand.calls_per_minute,
        body.demand.budget_share * 100.0
    ));
    for job in &body.freshness {
        let age =
            |seconds: Option<i64>| seconds.map_or("-".to_owned(), |s| format!("{} min", s / 60));
        output::line(format!(
            "freshness:      {} {}/{} within target, {} never fetched, p95 age {}, oldest {}",
            job.job,
            job.within_target,
            job.pairs,
            job.never_fetched,
            age(job.p95_age_seconds),
            age(job.oldest_age_seconds)
        ));
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
    if shared {
        output::line(format!(
            "queue:          {} pending, {} in flight (shared by the replicas)",
            body.pending, body.in_flight
        ));
    } else {
        output::line("queue:          held in a running server's memory (GET /api/v1/sync/status)");
    }
    Ok(())
}

/// Lifts the partner 429 hold every process on the store shares and prints the status.
pub async fn clear_hold(ctx: &Ctx) -> Result<(), CliError> {
    let (lifted, body) = ctx.actions().await?.clear_hold().await?;
    if !ctx.json {
        output::line(match lifted {
            Some(until) => format!(
                "lifted the partner 429 hold that ran until {}: calls resume now",
                time(until)
            ),
            None => "no partner 429 hold was in force".to_owned(),
        });
    }
    print_status(ctx, body).await
}

/// Opens the store (which applies its migrations) and seeds the defaults.
pub async fn migrate(ctx: &Ctx) -> Result<(), CliError> {
    let app = ctx.seeded_app().await?;
    let store = app.store();
    let jobs = store.list_jobs().await?;
    let products = store
        .list_products(PageRequest { page: 1, limit: 1 })
        .await?;
    let url = ctx.settings.store.database_url.to_string();
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
