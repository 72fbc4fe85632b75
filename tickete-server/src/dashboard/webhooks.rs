//! Webhooks (SPEC §6): subscriptions, their deliveries, retry; the secret shown once, on the
//! page that answers the creation or rotation (never carried in a cookie or a URL).

use axum::extract::{Path, Query, State};
use axum::response::Response;
use maud::{html, Markup};
use serde::Deserialize;
use tickete_app::webhook_views::{WebhookCreateRequest, WebhookCreated, WebhookUpdateRequest};
use tickete_core::PageRequest;

use super::forms::{bad_page, page_number, redirect, ActionForm, Flash, Toggle};
use super::layout::{self, csrf_field, problem, time};
use super::login::NoFields;
use super::overview::unavailable;
use super::Operator;
use crate::state::AppState;

const PAGE_SIZE: u32 = 50;

fn create_form(operator: &Operator) -> Markup {
    html! {
        form.card.edit #add-webhook method="post" action="/admin/webhooks" {
            (csrf_field(operator))
            h2 { "Add a webhook" }
            label { "URL (http or https)" input name="url" type="url" required placeholder="https://example.com/hooks/tickete"; }
            label { "Event types, comma-separated (empty: all)" input name="events" placeholder="availability.changed, sync.run.finished"; }
            label { "Description" input name="description" maxlength="500"; }
            button.primary type="submit" { "Add webhook" }
        }
    }
}

fn secret_box(created: &WebhookCreated) -> Markup {
    html! {
        div.card.secret #webhook-secret role="status" {
            h2 { "Signing secret of " (created.webhook.id) }
            p { "Copy it now: it is shown only this once (rotate it to get a new one)." }
            p { code { (created.secret) } }
        }
    }
}

async fn list_page(state: &AppState, operator: &Operator, shown: Option<Markup>) -> Response {
    let request = PageRequest {
        page: 1,
        limit: PAGE_SIZE,
    };
    let body = match state.actions().list_webhooks(request).await {
        Err(error) => unavailable(error),
        Ok(hooks) => html! {
            @if let Some(shown) = shown { (shown) }
            (create_form(operator))
            div.scroll {
                table.webhooks {
                    thead { tr { th { "Id" } th { "URL" } th { "Events" } th { "State" } th { "Created" } th { "" } } }
                    tbody {
                        @for hook in &hooks.data {
                            tr id=(hook.id) {
                                td { a href=(format!("/admin/webhooks/{}", hook.id)) { (hook.id) } }
                                td { (hook.url) }
                                td.small { @if hook.events.is_empty() { "all" } @else { (hook.events.join(", ")) } }
                                td {
                                    form.inline method="post" action=(format!("/admin/webhooks/{}/toggle", hook.id)) {
                                        (csrf_field(operator))
                                        input type="hidden" name="enabled" value=(!hook.enabled);
                                        @if hook.enabled { button.toggle type="submit" { "enabled" } }
                                        @else { button.toggle.off type="submit" { "disabled" } }
                                    }
                                    @if let Some(since) = hook.failing_since { " failing since " (time(Some(since))) }
                                }
                                td { (time(Some(hook.created_at))) }
                                td {
                                    form.inline method="post" action=(format!("/admin/webhooks/{}/rotate", hook.id)) {
                                        (csrf_field(operator))
                                        button type="submit" { "Rotate secret" }
                                    }
                                    " "
                                    form.inline method="post" action=(format!("/admin/webhooks/{}/delete", hook.id)) data-confirm=(format!("Delete webhook {}?", hook.id)) {
                                        (csrf_field(operator))
                                        button.danger type="submit" { "Delete" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if hooks.data.is_empty() { p.muted { "No webhooks yet." } }
        },
    };
    layout::page(operator, "Webhooks", "/admin/webhooks", body)
}

/// `GET /admin/webhooks`.
pub async fn page(State(state): State<AppState>, operator: Operator) -> Response {
    list_page(&state, &operator, None).await
}

#[derive(Deserialize)]
pub struct Create {
    #[serde(default)]
    url: String,
    #[serde(default)]
    events: String,
    #[serde(default)]
    description: String,
}

/// The event types of a form's comma-separated field (empty: all).
fn event_types(field: &str) -> Vec<String> {
    field
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `POST /admin/webhooks`: answers with the list and the new secret, shown once.
pub async fn create(
    State(state): State<AppState>,
    operator: Operator,
    form: ActionForm<Create>,
) -> Response {
    let events = event_types(&form.fields.events);
    let description = form.fields.description.trim();
    let request = WebhookCreateRequest {
        url: form.fields.url.trim().to_owned(),
        events: (!events.is_empty()).then_some(events),
        description: (!description.is_empty()).then(|| description.to_owned()),
    };
    match state.actions().create_webhook(request).await {
        Ok(created) => list_page(&state, &operator, Some(secret_box(&created))).await,
        Err(error) => redirect("/admin/webhooks", Flash::failed(error), form.https),
    }
}

/// `POST /admin/webhooks/{id}/edit`: changes the URL, event types and description, with
/// the same checks as `PUT /api/v1/admin/webhooks/{id}`.
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: ActionForm<Create>,
) -> Response {
    let events = event_types(&form.fields.events);
    let request = WebhookUpdateRequest {
        url: Some(form.fields.url.trim().to_owned()),
        events: Some(events),
        description: Some(form.fields.description.trim().to_owned()),
        enabled: None,
    };
    let flash = match state.actions().update_webhook(&id, request).await {
        Ok(hook) => Flash::Done(format!("Webhook {} saved", hook.id)),
        Err(error) => Flash::failed(error),
    };
    redirect(&format!("/admin/webhooks/{id}"), flash, form.https)
}

/// `POST /admin/webhooks/{id}/rotate`: a new secret, shown once.
pub async fn rotate(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    form: ActionForm<NoFields>,
) -> Response {
    match state.actions().rotate_webhook_secret(&id).await {
        Ok(created) => list_page(&state, &operator, Some(secret_box(&created))).await,
        Err(error) => redirect("/admin/webhooks", Flash::failed(error), form.https),
    }
}

/// `POST /admin/webhooks/{id}/toggle` with `enabled=true|false`.
pub async fn toggle(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: ActionForm<Toggle>,
) -> Response {
    let flash = match form.fields.enabled() {
        Err(flash) => flash,
        Ok(enabled) => {
            let request = WebhookUpdateRequest {
                url: None,
                events: None,
                description: None,
                enabled: Some(enabled),
            };
            match state.actions().update_webhook(&id, request).await {
                Ok(hook) if hook.enabled => Flash::Done(format!("Webhook {id} enabled")),
                Ok(_) => Flash::Done(format!("Webhook {id} disabled")),
                Err(error) => Flash::failed(error),
            }
        }
    };
    redirect("/admin/webhooks", flash, form.https)
}

/// `POST /admin/webhooks/{id}/delete`.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    form: ActionForm<NoFields>,
) -> Response {
    let flash = match state.actions().delete_webhook(&id).await {
        Ok(()) => Flash::Done(format!("Webhook {id} deleted")),
        Err(error) => Flash::failed(error),
    };
    redirect("/admin/webhooks", flash, form.https)
}

#[derive(Deserialize)]
pub struct DeliveriesQuery {
    page: Option<String>,
}

/// `GET /admin/webhooks/{id}`: the webhook and its deliveries, newest first.
pub async fn detail(
    State(state): State<AppState>,
    operator: Operator,
    Path(id): Path<String>,
    Query(query): Query<DeliveriesQuery>,
) -> Response {
    let Some(page) = page_number(query.page.as_deref()) else {
        return bad_page();
    };
    let actions = state.actions();
    let hook = match actions.get_webhook(&id).await {
        Ok(hook) => hook,
        Err(error) => {
            let error = crate::error::ApiError::from(error);
            return problem(error.status, &error.message);
        }
    };
    let request = PageRequest {
        page,
        limit: PAGE_SIZE,
    };
    let body = match actions.list_deliveries(&id, request).await {
        Err(error) => unavailable(error),
        Ok(deliveries) => {
            let pages = deliveries
                .total_length
                .div_ceil(u64::from(PAGE_SIZE))
                .max(1);
            html! {
                dl.facts {
                    dt { "URL" } dd { (hook.url) }
                    dt { "Events" } dd { @if hook.events.is_empty() { "all" } @else { (hook.events.join(", ")) } }
                    dt { "Description" } dd { (hook.description.as_deref().unwrap_or("–")) }
                    dt { "Enabled" } dd { (hook.enabled) }
                    dt { "Failing since" } dd { (time(hook.failing_since)) }
                }
                form.card.edit #edit-webhook method="post" action=(format!("/admin/webhooks/{}/edit", hook.id)) {
                    (csrf_field(&operator))
                    h2 { "Edit" }
                    label { "URL (http or https)" input name="url" type="url" required value=(hook.url); }
                    label { "Event types, comma-separated (empty: all)" input name="events" value=(hook.events.join(", ")); }
                    label { "Description" input name="description" maxlength="500" value=(hook.description.as_deref().unwrap_or("")); }
                    button.primary type="submit" { "Save" }
                }
                h2 { "Deliveries (" (deliveries.total_length) ")" }
                div.scroll {
                    table.deliveries {
                        thead { tr { th { "Delivery" } th { "Event" } th { "Type" } th { "Status" } th { "Attempts" } th { "Last answer" } th { "Next attempt" } th { "Delivered" } th { "" } } }
                        tbody {
                            @for delivery in &deliveries.data {
                                tr id=(delivery.id) {
                                    td { code { (delivery.id) } }
                                    td { code { (delivery.event_id) } }
                                    td { (delivery.kind) }
                                    td { span class=(format!("status {}", delivery.status)) { (delivery.status) } }
                                    td { (delivery.attempts) }
                                    td {
                                        (delivery.last_response_status.map_or("–".to_owned(), |s| s.to_string()))
                                        // The error repeats the status when the endpoint answered.
                                        @if let (None, Some(error)) = (delivery.last_response_status, &delivery.last_error) { " " code { (error) } }
                                    }
                                    td { (time(delivery.next_attempt_at)) }
                                    td { (time(delivery.delivered_at)) }
                                    td {
                                        form.inline method="post" action=(format!("/admin/webhooks/{}/deliveries/{}/retry", hook.id, delivery.id)) {
                                            (csrf_field(&operator))
                                            button type="submit" { "Retry" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                p.pager {
                    @if page > 1 { a href=(format!("/admin/webhooks/{}?page={}", hook.id, page - 1)) { "← newer" } }
                    span { "page " (page) " of " (pages) }
                    @if u64::from(page) < pages { a href=(format!("/admin/webhooks/{}?page={}", hook.id, page + 1)) { "older →" } }
                }
            }
        }
    };
    layout::page(&operator, &format!("Webhook {id}"), "/admin/webhooks", body)
}

/// `POST /admin/webhooks/{id}/deliveries/{delivery}/retry`.
pub async fn retry(
    State(state): State<AppState>,
    Path((id, delivery)): Path<(String, String)>,
    form: ActionForm<NoFields>,
) -> Response {
    let flash = match state.actions().retry_delivery(&id, &delivery).await {
        Ok(_) => Flash::Done(format!("Delivery {delivery} will be attempted again now")),
        Err(error) => Flash::failed(error),
    };
    redirect(&format!("/admin/webhooks/{id}"), flash, form.https)
}
