//! `tickete sync`: a one-off window sync, or its plan with `--dry-run`.

use serde::Serialize;
use tickete_core::engine::{window_dates, RunRequest};
use tickete_core::{InventoryStore, ProductId, StoreError};

use super::execute;
use crate::cli::SyncArgs;
use crate::context::Ctx;
use crate::error::CliError;
use crate::output::{self, Table};

/// What `--dry-run --json` prints.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PlanBody {
    job: String,
    products: Vec<u32>,
    from: chrono::NaiveDate,
    until: chrono::NaiveDate,
    planned: u32,
    skipped_fresh: u32,
    calls: u32,
    rate_per_minute: u32,
    estimated_seconds: u64,
    /// Jobs whose freshness targets the budget cannot hold (SPEC §4).
    unheld_targets: Vec<String>,
    demand_calls_per_minute: f64,
}

/// Syncs the next `--days` days of the chosen (or all enabled) products.
pub async fn run(ctx: &Ctx, args: SyncArgs) -> Result<(), CliError> {
    let store = ctx.seeded_app().await?.store().clone();
    let products = if args.products.is_empty() {
        None
    } else {
        Some(known_products(store.as_ref(), &args.products).await?)
    };
    let request = RunRequest {
        products: products.clone(),
        ..RunRequest::next_days(args.days)
    };
    if args.dry_run {
        let products = match products {
            Some(products) => products,
            None => store.enabled_products().await?,
        };
        return dry_run(ctx, products, request).await;
    }
    let (engine, _partner) = ctx.one_off_engine().await?;
    execute::run_and_wait(ctx, &engine, request).await
}

/// Checks that every product is in the catalogue (a sync of an unknown product could not be
/// stored) and drops duplicates.
async fn known_products(
    store: &dyn InventoryStore,
    products: &[ProductId],
) -> Result<Vec<ProductId>, CliError> {
    let mut known = Vec::new();
    for &product in products {
        match store.get_product(product).await {
            Ok(_) => {
                if !known.contains(&product) {
                    known.push(product);
                }
            }
            Err(StoreError::NotFound(_)) => {
                return Err(CliError::failure(format!(
                    "product {product} is not in the catalogue; add it with `tickete products add {product}`"
                )))
            }
            Err(error) => return Err(error.into()),
        }
    }
    Ok(known)
}

async fn dry_run(ctx: &Ctx, products: Vec<ProductId>, request: RunRequest) -> Result<(), CliError> {
    let engine = ctx.app().await?.planning_engine().await?;
    let preview = engine.preview(&request).await?;
    let dates = window_dates(engine.today(), request.window_days);
    let from = dates.first().copied().unwrap_or_else(|| engine.today());
    let until = dates.last().copied().unwrap_or(from);
    let rate = ctx.settings.partner.rate_per_minute.get();
    let unheld = engine.refresh_policy().unheld_jobs();
    let demand = engine.demand().calls_per_minute;
    if ctx.json {
        return output::json(&PlanBody {
            job: request.job,
            products: products.iter().map(|p| p.get()).collect(),
            from,
            until,
            planned: preview.planned,
            skipped_fresh: preview.skipped_fresh,
            calls: preview.calls,
            rate_per_minute: rate,
            estimated_seconds: preview.estimated.as_secs(),
            unheld_targets: unheld,
            demand_calls_per_minute: (demand * 100.0).round() / 100.0,
        });
    }
    let names: Vec<String> = products.iter().map(ToString::to_string).collect();
    output::line(format!(
        "dry run: products {} × {} day(s), {from} to {until}",
        if names.is_empty() {
            "(none enabled)".to_owned()
        } else {
            names.join(", ")
        },
        request.window_days
    ));
    let mut table = Table::new(&[
        "planned",
        "fresh (skipped)",
        "partner calls",
        "time at rate",
    ]);
    table.row(vec![
        preview.planned.to_string(),
        preview.skipped_fresh.to_string(),
        preview.calls.to_string(),
        format!("~{} at {rate}/min", output::duration(preview.estimated)),
    ]);
    table.print_or("");
    if unheld.is_empty() {
        output::line(format!(
            "the budget holds every freshness target ({demand:.1} of {rate} calls/min needed)"
        ));
    } else {
        output::line(format!(
            "the budget cannot hold the targets of {} ({demand:.1} calls/min needed, {rate} allowed): \
             the most likely changed and read pairs go first, every pair at least every 48 h",
            unheld.join(", ")
        ));
    }
    output::line("no partner calls were made");
    Ok(())
}
