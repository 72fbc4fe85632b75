//! The catalogue: add, rename, enable or disable, delete.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use tickete_app::actions::ProductUpdate;
use tickete_core::{PageRequest, ProductId};

use super::forms::{bad_page, int_field, page_number, redirect, ActionForm, Flash, Toggle};
use super::layout::{self, csrf_field};
use super::login::NoFields;
use super::overview::unavailable;
use super::Operator;
use crate::state::AppState;

const PAGE_SIZE: u32 = 50;

#[derive(Deserialize)]
pub struct ProductsQuery {
    page: Option<String>,
}

/// `GET /admin/products?page=`.
pub async fn page(
    State(state): State<AppState>,
    operator: Operator,
    Query(query): Query<ProductsQuery>,
) -> Response {
    let Some(page) = page_number(query.page.as_deref()) else {
        return bad_page();
    };
    let request = PageRequest {
        page,
        limit: PAGE_SIZE,
    };
    let body = match state.actions().list_products(request).await {
        Err(error) => unavailable(error),
        Ok(products) => {
            let pages = products.total_length.div_ceil(u64::from(PAGE_SIZE)).max(1);
            html! {
                form.card.inline-form #add-product method="post" action="/admin/products" {
                    (csrf_field(&operator))
                    label for="new-id" { "Partner product id" }
                    input #new-id name="id" type="number" min="1" required;
                    label for="new-name" { "Name" }
                    input #new-name name="name" maxlength="200" placeholder="optional";
                    button.primary type="submit" { "Add product" }
                }
                div.scroll {
                    table.products {
                        thead { tr { th { "Id" } th { "Name" } th { "Synced" } th { "Partner" } th { "Days" } th { "Slots" } th { "" } } }
                        tbody {
                            @for product in &products.data {
                                tr id=(format!("product-{}", product.id)) {
                                    td { a href=(format!("/admin/products/{}", product.id)) { (product.id) } }
                                    td {
                                        form.inline.rename method="post" action=(format!("/admin/products/{}/rename", product.id)) {
                                            (csrf_field(&operator))
                                            input name="name" value=(product.name) maxlength="200" required aria-label="Name";
                                            button type="submit" { "Rename" }
                                        }
                                    }
                                    td {
                                        form.inline method="post" action=(format!("/admin/products/{}/toggle", product.id)) {
                                            (csrf_field(&operator))
                                            input type="hidden" name="enabled" value=(!product.enabled);
                                            @if product.enabled {
                                                button.toggle type="submit" title="Stop syncing" { "enabled" }
                                            } @else {
                                                button.toggle.off type="submit" title="Start syncing" { "disabled" }
                                            }
                                        }
                                    }
                                    td.partner {
                                        span class=(format!("status partner-{}", product.partner_status)) title=(partner_hint(&product.partner_status)) { (product.partner_status) }
                                    }
                                    td.small { (product.available_days.iter().map(|d| &d[..3]).collect::<Vec<_>>().join(" ")) }
                                    td { (product.time_slot_type) }
                                    td {
                                        form.inline.delete method="post" action=(format!("/admin/products/{}/delete", product.id)) data-confirm=(format!("Delete product {} and its synced inventory?", product.id)) {
                                            (csrf_field(&operator))
                                            button.danger type="submit" { "Delete" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                p.pager {
                    @if page > 1 { a href=(format!("/admin/products?page={}", page - 1)) { "← previous" } }
                    span { "page " (page) " of " (pages) " · " (products.total_length) " products" }
                    @if u64::from(page) < pages { a href=(format!("/admin/products?page={}", page + 1)) { "next →" } }
                }
            }
        }
    };
    layout::page(&operator, "Products", "/admin/products", body)
}

/// What a partner status means, for the badge's tooltip.
fn partner_hint(status: &str) -> &'static str {
    if status == "unknown" {
        "The partner answers 404 for this product; it is probed once a day"
    } else {
        "The partner knows this product"
    }
}

fn product_id(text: &str) -> Result<ProductId, Flash> {
    let id = int_field("product id", text, 1..=u32::MAX)?;
    ProductId::new(id).map_err(|error| Flash::Failed(format!("product id {id}: {error}")))
}

#[derive(Deserialize)]
pub struct AddProduct {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
}

/// `POST /admin/products`: adds a product (or updates it, as `PUT /admin/products/{id}` does).
pub async fn add(State(state): State<AppState>, form: ActionForm<AddProduct>) -> Response {
    let name = form.fields.name.trim();
    let flash = match product_id(&form.fields.id) {
        Err(flash) => flash,
        Ok(id) => {
            let update = ProductUpdate {
                name: (!name.is_empty()).then(|| name.to_owned()),
                enabled: None,
            };
            match state.actions().put_product(id, update).await {
                Ok(written) if written.created => {
                    Flash::Done(format!("Product {id} ({}) added", written.product.name))
                }
                Ok(written) => Flash::Done(format!(
                    "Product {id} already existed; now named {}",
                    written.product.name
                )),
                Err(error) => Flash::failed(error),
            }
        }
    };
    redirect("/admin/products", flash, form.https)
}

/// Runs an update of product `id` from a form and answers with the products page.
async fn update(state: &AppState, id: &str, update: ProductUpdate, https: bool) -> Response {
    let flash = match product_id(id) {
        Err(flash) => flash,
        Ok(id) => match state.actions().put_product(id, update).await {
            Ok(written) => Flash::Done(format!(
                "Product {id}: {} ({})",
                written.product.name,
                if written.product.enabled {
                    "enabled"
                } else {
                    "disabled"
                }
            )),
            Err(error) => Flash::failed(error),
        },
    };
    redirect("/admin/products", flash, https)
}

#[derive(Deserialize)]
pub struct Rename {
    #[serde(default)]
    name: String,
}

/// `POST /admin/products/{id}/rename`.
pub async fn rename(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: ActionForm<Rename>,
) -> Response {
    let name = form.fields.name.trim().to_owned();
    let https = form.https;
    let change = ProductUpdate {
        name: Some(name),
        enabled: None,
    };
    update(&state, &id, change, https).await
}

/// `POST /admin/products/{id}/toggle` with `enabled=true|false`.
pub async fn toggle(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: ActionForm<Toggle>,
) -> Response {
    match form.fields.enabled() {
        Err(flash) => redirect("/admin/products", flash, form.https),
        Ok(enabled) => {
            let change = ProductUpdate {
                name: None,
                enabled: Some(enabled),
            };
            update(&state, &id, change, form.https).await
        }
    }
}

/// `POST /admin/products/{id}/delete`.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: ActionForm<NoFields>,
) -> Response {
    let flash = match product_id(&id) {
        Err(flash) => flash,
        Ok(id) => match state.actions().delete_product(id).await {
            Ok(()) => Flash::Done(format!("Product {id} deleted")),
            Err(error) => Flash::failed(error),
        },
    };
    redirect("/admin/products", flash, form.https)
}
