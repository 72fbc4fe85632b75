//! `tickete slots` and `tickete dates`: stored availability, as the public API serves it.

use chrono::NaiveDate;
use tickete_app::views::{DatesBody, PriceBody, SlotsBody};
use tickete_core::pricing::dates_window;
use tickete_core::ProductId;

use crate::context::Ctx;
use crate::error::CliError;
use crate::output::{self, or_dash, Table};

fn price(price: &PriceBody) -> String {
    format!("{} {}", price.final_price, price.currency_code)
}

/// Slots of `product` on `date` (default today).
pub async fn slots(ctx: &Ctx, product: ProductId, date: Option<NaiveDate>) -> Result<(), CliError> {
    let date = date.unwrap_or_else(|| ctx.today());
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
