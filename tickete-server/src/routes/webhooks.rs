//! Webhook subscriptions and their delivery log (SPEC §6; admin token).

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use tickete_app::webhook_views::{
    DeliveryBody, WebhookBody, WebhookCreateRequest, WebhookCreated, WebhookUpdateRequest,
};

use crate::dto::{DataEnvelope, PageEnvelope};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{JsonBody, PathParam, QueryParams};
use crate::state::AppState;

fn with_status<T>(status: StatusCode, data: T) -> (StatusCode, Json<DataEnvelope<T>>) {
    let mut envelope = DataEnvelope::ok(data);
    envelope.status_code = status.as_u16();
    (status, Json(envelope))
}

/// Webhooks, paginated, without secrets.
#[utoipa::path(get, path = "/api/v1/admin/webhooks", tag = "webhooks", security(("bearer" = [])),
    params(("page" = Option<u32>, Query, description = "1-based, default 1", minimum = 1, maximum = 1000000), ("limit" = Option<u32>, Query, description = "1..=100, default 10", minimum = 1, maximum = 100)),
    responses((status = 200, body = PageEnvelope<WebhookBody>), (status = 400, body = ErrorBody)))]
pub async fn list_webhooks(
    State(state): State<AppState>,
    query: QueryParams,
) -> ApiResult<Json<PageEnvelope<WebhookBody>>> {
    Ok(Json(state.actions().list_webhooks(query.page()?).await?))
}

/// Adds a webhook; the answer carries its secret, shown only here and on rotation.
#[utoipa::path(post, path = "/api/v1/admin/webhooks", tag = "webhooks", security(("bearer" = [])),
    request_body = WebhookCreateRequest,
    responses((status = 201, body = DataEnvelope<WebhookCreated>), (status = 400, body = ErrorBody)))]
pub async fn create_webhook(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<WebhookCreateRequest>,
) -> ApiResult<(StatusCode, Json<DataEnvelope<WebhookCreated>>)> {
    let created = state.actions().create_webhook(body).await?;
    Ok(with_status(StatusCode::CREATED, created))
}

/// One webhook, without its secret.
#[utoipa::path(get, path = "/api/v1/admin/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path, description = "Webhook id (`wh_…`)")),
    responses((status = 200, body = DataEnvelope<WebhookBody>), (status = 404, body = ErrorBody)))]
pub async fn get_webhook(
    State(state): State<AppState>,
    PathParam(id): PathParam,
) -> ApiResult<Json<DataEnvelope<WebhookBody>>> {
    Ok(Json(DataEnvelope::ok(
        state.actions().get_webhook(&id).await?,
    )))
}

/// Changes a webhook's URL, event types, description or enabled flag.
#[utoipa::path(put, path = "/api/v1/admin/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path, description = "Webhook id (`wh_…`)")), request_body = WebhookUpdateRequest,
    responses((status = 200, body = DataEnvelope<WebhookBody>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_webhook(
    State(state): State<AppState>,
    PathParam(id): PathParam,
    JsonBody(body): JsonBody<WebhookUpdateRequest>,
) -> ApiResult<Json<DataEnvelope<WebhookBody>>> {
    let webhook = state.actions().update_webhook(&id, body).await?;
    Ok(Json(DataEnvelope::ok(webhook)))
}

/// Removes a webhook and its delivery log.
#[utoipa::path(delete, path = "/api/v1/admin/webhooks/{id}", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path, description = "Webhook id (`wh_…`)")),
    responses((status = 204, description = "Removed"), (status = 404, body = ErrorBody)))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    PathParam(id): PathParam,
) -> ApiResult<StatusCode> {
    state.actions().delete_webhook(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces the secret; the answer carries the new one, shown only here.
#[utoipa::path(post, path = "/api/v1/admin/webhooks/{id}/rotate-secret", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path, description = "Webhook id (`wh_…`)")),
    responses((status = 200, body = DataEnvelope<WebhookCreated>), (status = 404, body = ErrorBody)))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    PathParam(id): PathParam,
) -> ApiResult<Json<DataEnvelope<WebhookCreated>>> {
    let rotated = state.actions().rotate_webhook_secret(&id).await?;
    Ok(Json(DataEnvelope::ok(rotated)))
}

/// A webhook's deliveries, newest event first.
#[utoipa::path(get, path = "/api/v1/admin/webhooks/{id}/deliveries", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path, description = "Webhook id (`wh_…`)"), ("page" = Option<u32>, Query, description = "1-based, default 1", minimum = 1, maximum = 1000000), ("limit" = Option<u32>, Query, description = "1..=100, default 10", minimum = 1, maximum = 100)),
    responses((status = 200, body = PageEnvelope<DeliveryBody>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    PathParam(id): PathParam,
    query: QueryParams,
) -> ApiResult<Json<PageEnvelope<DeliveryBody>>> {
    let page = query.page()?;
    Ok(Json(state.actions().list_deliveries(&id, page).await?))
}

/// Attempts a delivery again now (whatever its status).
#[utoipa::path(post, path = "/api/v1/admin/webhooks/{id}/deliveries/{deliveryId}/retry", tag = "webhooks", security(("bearer" = [])),
    params(("id" = String, Path, description = "Webhook id (`wh_…`)"), ("deliveryId" = String, Path, description = "Delivery id (`dlv_…`)")),
    responses((status = 202, body = DataEnvelope<DeliveryBody>), (status = 404, body = ErrorBody)))]
pub async fn retry_delivery(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> ApiResult<(StatusCode, Json<DataEnvelope<DeliveryBody>>)> {
    let Path((id, delivery)) = path.map_err(|rejection| {
        ApiError::bad_request(format!("the path is malformed: {}", rejection.body_text()))
    })?;
    let retried = state.actions().retry_delivery(&id, &delivery).await?;
    Ok(with_status(StatusCode::ACCEPTED, retried))
}
