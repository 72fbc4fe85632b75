//! `tickete slots` and `tickete dates`: stored availability, as the public API serves it.

use chrono::NaiveDate;
use tickete_app::views::{DatesBody, PriceBody, SlotsBody};
use tickete_core::engine::LiveOutcome;
use tickete_core::pricing::dates_window;
use tickete_core::ProductId;

use crate::context::Ctx;
use crate::error::CliError;
use crate::output::{self, or_dash, Table};

fn price(price: &PriceBody) -> String {
    format!("{} {}", price.final_price, price.currency_code)
}

/// Slots of `product` on `date` (default today); with `max_age`, fetched live first when the
/// stored day is older (what was done goes to stderr, the body to stdout as always).
pub async fn slots(
    ctx: &Ctx,
    product: ProductId,
    date: Option<NaiveDate>,
    max_age: Option<u32>,
) -> Result<(), CliError> {
    let date = date.unwrap_or_else(|| ctx.today());
    if let Some(seconds) = max_age {
        let (engine, _partner) = ctx.one_off_engine().await?;
        let max_age = std::time::Duration::from_secs(u64::from(seconds));
        let day = engine.slots_no_older_than(product, date, max_age).await?;
        let now = engine.clock().now();
        let age = day.synced_at.map(|at| (now - at).num_seconds().max(0));
        let said = match (day.live, age) {
            (None, Some(age)) => format!("stored data is {age} s old, within --max-age {seconds}"),
            (Some(LiveOutcome::Fetched), _) => "fetched from the partner just now".to_owned(),
            (Some(outcome), Some(age)) => {
                format!(
                    "live fetch: {}; stored data is {age} s old",
                    outcome.as_str()
                )
            }
            (Some(outcome), None) => {
                format!("live fetch: {}; never fetched before", outcome.as_str())
            }
            (None, None) => "never fetched".to_owned(),
        };
        eprintln!("tickete: {said}");
    }
    let served = ctx.actions().await?.slots(product, date).await?;
    let body: SlotsBody = serde_json::from_str(&served.body)
        .map_err(|e| CliError::failure(format!("stored slots body does not parse: {e}")))?;
    if ctx.json {
        return output::json(&body);
    }
    let mut table = Table::new(&[
        "time",
        "remaining",
        "price",
        "original",
        "pax (remaining, price)",
    ]);
    for slot in &body.slots {
        let pax: Vec<String> = slot
            .pax_availability
            .iter()
            .map(|pax| {
                let range = match (pax.min, pax.max) {
                    (None, None) => String::new(),
                    (min, max) => format!(" [{}..{}]", or_dash(min), or_dash(max)),
                };
                format!(
                    "{}{range}: {}, {}",
                    pax.pax_type,
                    pax.remaining,
                    price(&pax.price)
                )
            })
            .collect();
        table.row(vec![
            slot.start_time.clone(),
            slot.remaining.to_string(),
            price(&slot.price),
            format!("{} {}", slot.price.original_price, slot.price.currency_code),
            pax.join("; "),
        ]);
    }
    table.print_or(&format!(
        "no slots stored for product {product} on {date} (not synced yet, or nothing on sale)"
    ));
    Ok(())
}

/// Dates from today to two months ahead with seats left, and their lowest price.
pub async fn dates(ctx: &Ctx, product: ProductId) -> Result<(), CliError> {
    let body = DatesBody::from(&ctx.actions().await?.dates(product).await?);
    let (today, until) = dates_window(ctx.today());
    if ctx.json {
        return output::json(&body);
    }
    let mut table = Table::new(&["date", "weekday", "from", "original"]);
    for entry in &body.dates {
        table.row(vec![
            entry.date.to_string(),
            entry.date.format("%a").to_string(),
            price(&entry.price),
            format!(
                "{} {}",
                entry.price.original_price, entry.price.currency_code
            ),
        ]);
    }
    table.print_or(&format!(
        "no bookable dates stored for product {product} between {today} and {until}"
    ));
    Ok(())
}
