//! `tickete products [list|add|remove]`: the catalogue.

use tickete_core::{InventoryStore, PageRequest, Product, ProductId, ProductPatch, StoreError};
use tickete_server::dto::{DataEnvelope, PageEnvelope, ProductBody};

use crate::cli::{PageArgs, ProductsCommand};
use crate::context::Ctx;
use crate::error::CliError;
use crate::output::{self, Table};

/// Runs a products action (list when none is given).
pub async fn run(ctx: &Ctx, action: Option<ProductsCommand>) -> Result<(), CliError> {
    let store = ctx.store().await?;
    match action.unwrap_or(ProductsCommand::List(PageArgs::default())) {
        ProductsCommand::List(page) => list(ctx, store.as_ref(), page).await,
        ProductsCommand::Add { id, name, disabled } => {
            add(ctx, store.as_ref(), id, name, !disabled).await
        }
        ProductsCommand::Remove { id } => {
            store.delete_product(id).await?;
            if ctx.json {
                output::json(&serde_json::json!({ "removed": id.get(), "statusCode": 204 }))
            } else {
                output::line(format!("removed product {id} and its synced inventory"));
                Ok(())
            }
        }
    }
}

async fn list(ctx: &Ctx, store: &dyn InventoryStore, page: PageArgs) -> Result<(), CliError> {
    let found = store
        .list_products(PageRequest {
            page: page.page,
            limit: page.limit,
        })
        .await?;
    let body = PageEnvelope {
        data: found.items.iter().map(ProductBody::from).collect(),
        total_length: found.total,
        page: page.page,
        limit: page.limit,
        status_code: 200,
    };
    if ctx.json {
        return output::json(&body);
    }
    let mut table = Table::new(&["id", "name", "enabled", "slot type", "available days"]);
    for product in &body.data {
        let days: Vec<&str> = product.available_days.iter().map(|d| &d[..3]).collect();
        table.row(vec![
            product.id.to_string(),
            product.name.clone(),
            if product.enabled { "yes" } else { "no" }.to_owned(),
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
    store: &dyn InventoryStore,
    id: ProductId,
    name: Option<String>,
    enabled: bool,
) -> Result<(), CliError> {
    if name
        .as_deref()
        .is_some_and(|name| name.trim().is_empty() || name.len() > 200)
    {
        return Err(CliError::usage("--name must be 1 to 200 characters"));
    }
    let patch = ProductPatch {
        name: name.clone(),
        enabled: Some(enabled),
    };
    let created = match store.update_product(id, &patch).await {
        Ok(_) => false,
        Err(StoreError::NotFound(_)) => {
            let product = Product {
                id,
                name: name.unwrap_or_else(|| format!("Product {id}")),
                enabled,
            };
            store.upsert_product(&product).await?;
            true
        }
        Err(error) => return Err(error.into()),
    };
    let view = store.get_product(id).await?;
    if ctx.json {
        let mut envelope = DataEnvelope::ok(ProductBody::from(&view));
        envelope.status_code = if created { 201 } else { 200 };
        return output::json(&envelope);
    }
    output::line(format!(
        "{} product {id} ({}, {})",
        if created { "added" } else { "updated" },
        view.product.name,
        if view.product.enabled {
            "synced"
        } else {
            "not synced"
        }
    ));
    Ok(())
}
