//! `tickete products [list|add|remove]`: the catalogue.

use tickete_app::actions::ProductUpdate;
use tickete_app::views::DataEnvelope;
use tickete_app::Actions;
use tickete_core::{PageRequest, ProductId};

use crate::cli::{PageArgs, ProductsCommand};
use crate::context::Ctx;
use crate::error::CliError;
use crate::output::{self, Table};

/// Runs a products action (list when none is given).
pub async fn run(ctx: &Ctx, action: Option<ProductsCommand>) -> Result<(), CliError> {
    let actions = ctx.actions().await?;
    match action.unwrap_or(ProductsCommand::List(PageArgs::default())) {
        ProductsCommand::List(page) => list(ctx, &actions, page).await,
        ProductsCommand::Add { id, name, disabled } => {
            add(ctx, &actions, id, name, !disabled).await
        }
        ProductsCommand::Remove { id } => {
            actions.delete_product(id).await?;
            if ctx.json {
                output::json(&serde_json::json!({ "removed": id.get(), "statusCode": 204 }))
            } else {
                output::line(format!("removed product {id} and its synced inventory"));
                Ok(())
            }
        }
    }
}

async fn list(ctx: &Ctx, actions: &Actions, page: PageArgs) -> Result<(), CliError> {
    let body = actions
        .list_products(PageRequest {
            page: page.page,
            limit: page.limit,
        })
        .await?;
    if ctx.json {
        return output::json(&body);
    }
    let mut table = Table::new(&[
        "id",
        "name",
        "enabled",
        "partner",
        "slot type",
        "available days",
    ]);
    for product in &body.data {
        let days: Vec<&str> = product.available_days.iter().map(|d| &d[..3]).collect();
        table.row(vec![
            product.id.to_string(),
            product.name.clone(),
            if product.enabled { "yes" } else { "no" }.to_owned(),
            product.partner_status.clone(),
            product.time_slot_type.clone(),
            if days.is_empty() {
                "— (not synced)".to_owned()
            } else {
                days.join(" ")
            },
        ]);
    }
    table.print_or("the catalogue is empty; add a product with `tickete products add <id>`");
    Ok(())
}

async fn add(
    ctx: &Ctx,
    actions: &Actions,
    id: ProductId,
    name: Option<String>,
    enabled: bool,
) -> Result<(), CliError> {
    let update = ProductUpdate {
        name,
        enabled: Some(enabled),
    };
    let written = actions.put_product(id, update).await?;
    let product = written.product;
    if ctx.json {
        let mut envelope = DataEnvelope::ok(product);
        envelope.status_code = if written.created { 201 } else { 200 };
        return output::json(&envelope);
    }
    output::line(format!(
        "{} product {id} ({}, {})",
        if written.created { "added" } else { "updated" },
        product.name,
        if product.enabled {
            "synced"
        } else {
            "not synced"
        }
    ));
    Ok(())
}
