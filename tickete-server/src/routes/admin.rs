//! Sync control and admin routes (bearer token required).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use tickete_app::actions::{JobUpdate, ProductUpdate};
use tickete_core::engine::MAX_WINDOW_DAYS;
use tickete_core::RunId;

use crate::dto::{
    AcceptedRun, DataEnvelope, JobBody, JobUpdateRequest, PageEnvelope, ProcessBody, ProductBody,
    ProductUpdateRequest, RunBody, SyncStatusBody, ToggleRequest,
};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{parse_product_id, JsonBody, PathParam, QueryParams};
use crate::state::AppState;

/// Pauses partner calls (persisted; the in-flight call finishes).
#[utoipa::path(post, path = "/api/v1/sync/pause", tag = "sync", security(("bearer" = [])),
    responses((status = 200, body = SyncStatusBody)))]
pub async fn pause(State(state): State<AppState>) -> ApiResult<Json<SyncStatusBody>> {
    Ok(Json(state.actions().pause().await?))
}

/// Resumes partner calls.
#[utoipa::path(post, path = "/api/v1/sync/resume", tag = "sync", security(("bearer" = [])),
    responses((status = 200, body = SyncStatusBody)))]
pub async fn resume(State(state): State<AppState>) -> ApiResult<Json<SyncStatusBody>> {
    Ok(Json(state.actions().resume().await?))
}

/// Pause flag, queue and budget.
#[utoipa::path(get, path = "/api/v1/sync/status", tag = "sync", security(("bearer" = [])),
    responses((status = 200, body = SyncStatusBody)))]
pub async fn status(State(state): State<AppState>) -> ApiResult<Json<SyncStatusBody>> {
    Ok(Json(state.actions().sync_status().await?))
}

/// Lifts a partner 429 hold (`partnerBudget.heldUntil`): calls resume at the normal pace now
/// rather than at the partner's reset. Answers the status, with no hold.
#[utoipa::path(post, path = "/api/v1/sync/clear-hold", tag = "sync", security(("bearer" = [])),
    responses((status = 200, body = SyncStatusBody)))]
pub async fn clear_hold(State(state): State<AppState>) -> ApiResult<Json<SyncStatusBody>> {
    let (_, status) = state.actions().clear_hold().await?;
    Ok(Json(status))
}

/// Jobs, paginated.
#[utoipa::path(get, path = "/api/v1/admin/cron", tag = "admin", security(("bearer" = [])),
    params(("page" = Option<u32>, Query, description = "1-based, default 1", minimum = 1, maximum = 1000000), ("limit" = Option<u32>, Query, description = "1..=100, default 10", minimum = 1, maximum = 100)),
    responses((status = 200, body = PageEnvelope<JobBody>), (status = 400, body = ErrorBody)))]
pub async fn list_jobs(
    State(state): State<AppState>,
    query: QueryParams,
) -> ApiResult<Json<PageEnvelope<JobBody>>> {
    Ok(Json(state.actions().list_jobs(query.page()?).await?))
}

/// Enables or disables a job.
#[utoipa::path(put, path = "/api/v1/admin/cron/toggle", tag = "admin", security(("bearer" = [])),
    request_body = ToggleRequest,
    responses((status = 200, body = DataEnvelope<JobBody>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn toggle_job(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<ToggleRequest>,
) -> ApiResult<Json<DataEnvelope<JobBody>>> {
    let job = state
        .actions()
        .set_job_enabled(&body.name, body.status)
        .await?;
    Ok(Json(DataEnvelope::ok(job)))
}

/// Changes a job's schedule, window or enabled flag; takes effect without a restart.
#[utoipa::path(put, path = "/api/v1/admin/cron/{name}", tag = "admin", security(("bearer" = [])),
    params(("name" = String, Path, description = "Job name")), request_body = JobUpdateRequest,
    responses((status = 200, body = DataEnvelope<JobBody>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_job(
    State(state): State<AppState>,
    PathParam(name): PathParam,
    JsonBody(body): JsonBody<JobUpdateRequest>,
) -> ApiResult<Json<DataEnvelope<JobBody>>> {
    let update = JobUpdate {
        schedule: body.schedule,
        window_days: body.window_days,
        enabled: body.enabled,
    };
    let job = state.actions().update_job(&name, update).await?;
    Ok(Json(DataEnvelope::ok(job)))
}

fn accepted(run: &tickete_core::SyncRun) -> (StatusCode, Json<AcceptedRun>) {
    (
        StatusCode::ACCEPTED,
        Json(AcceptedRun {
            run_id: run.id.0,
            id: run.id.0,
            data: RunBody::from(run),
            status_code: 202,
        }),
    )
}

/// Runs a job now.
#[utoipa::path(post, path = "/api/v1/admin/cron/trigger", tag = "admin", security(("bearer" = [])),
    params(("name" = String, Query, description = "Job name", min_length = 1)),
    responses((status = 202, body = AcceptedRun), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn trigger_job(
    State(state): State<AppState>,
    query: QueryParams,
) -> ApiResult<(StatusCode, Json<AcceptedRun>)> {
    let name = query.required_text("name")?;
    Ok(accepted(&state.actions().trigger_job(name).await?))
}

/// One-off sync of the next `daysToSync` days.
#[utoipa::path(post, path = "/api/v1/admin/cron/sync", tag = "admin", security(("bearer" = [])),
    params(("daysToSync" = u32, Query, description = "Days from today, 1..=62", minimum = 1, maximum = 62)),
    responses((status = 202, body = AcceptedRun), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn sync_days(
    State(state): State<AppState>,
    query: QueryParams,
) -> ApiResult<(StatusCode, Json<AcceptedRun>)> {
    let days = query.int_in("daysToSync", 1, MAX_WINDOW_DAYS, None)?;
    Ok(accepted(&state.actions().sync_days(days).await?))
}

/// The execution log, newest first.
#[utoipa::path(get, path = "/api/v1/admin/runs", tag = "admin", security(("bearer" = [])),
    params(("job" = Option<String>, Query, description = "Only runs of this job"), ("page" = Option<u32>, Query, description = "1-based, default 1", minimum = 1, maximum = 1000000), ("limit" = Option<u32>, Query, description = "1..=100, default 10", minimum = 1, maximum = 100)),
    responses((status = 200, body = PageEnvelope<RunBody>), (status = 400, body = ErrorBody)))]
pub async fn list_runs(
    State(state): State<AppState>,
    query: QueryParams,
) -> ApiResult<Json<PageEnvelope<RunBody>>> {
    let page = query.page()?;
    let job = query.optional_text("job")?;
    Ok(Json(state.actions().list_runs(job, page).await?))
}

/// One run.
#[utoipa::path(get, path = "/api/v1/admin/runs/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Run id: a positive integer", minimum = 1)),
    responses((status = 200, body = DataEnvelope<RunBody>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_run(
    State(state): State<AppState>,
    PathParam(id): PathParam,
) -> ApiResult<Json<DataEnvelope<RunBody>>> {
    let id: RunId = id
        .parse()
        .map_err(|e| ApiError::bad_request(format!("run id: {e}")))?;
    Ok(Json(DataEnvelope::ok(state.actions().get_run(id).await?)))
}

/// The engine processes on this store (servers, CLIs, replicas) with their last heartbeat:
/// those seen within the owners' lease, oldest start first.
#[utoipa::path(get, path = "/api/v1/admin/processes", tag = "admin", security(("bearer" = [])),
    params(("page" = Option<u32>, Query, description = "1-based, default 1", minimum = 1, maximum = 1000000), ("limit" = Option<u32>, Query, description = "1..=100, default 10", minimum = 1, maximum = 100)),
    responses((status = 200, body = PageEnvelope<ProcessBody>), (status = 400, body = ErrorBody)))]
pub async fn list_processes(
    State(state): State<AppState>,
    query: QueryParams,
) -> ApiResult<Json<PageEnvelope<ProcessBody>>> {
    let page = query.page()?;
    Ok(Json(state.actions().list_processes(page).await?))
}

/// Adds a product to the catalogue, or changes its name or enabled flag.
#[utoipa::path(put, path = "/api/v1/admin/products/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = u32, Path, description = "Product id: a positive integer", minimum = 1, maximum = 4_294_967_295_f64, format = Int64)), request_body = ProductUpdateRequest,
    responses((status = 200, body = DataEnvelope<ProductBody>), (status = 201, body = DataEnvelope<ProductBody>), (status = 400, body = ErrorBody)))]
pub async fn put_product(
    State(state): State<AppState>,
    PathParam(id): PathParam,
    JsonBody(body): JsonBody<ProductUpdateRequest>,
) -> ApiResult<(StatusCode, Json<DataEnvelope<ProductBody>>)> {
    let id = parse_product_id(&id)?;
    let update = ProductUpdate {
        name: body.name,
        enabled: body.enabled,
    };
    let written = state.actions().put_product(id, update).await?;
    state.cache().invalidate(id);
    let status = if written.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut envelope = DataEnvelope::ok(written.product);
    envelope.status_code = status.as_u16();
    Ok((status, Json(envelope)))
}

/// Removes a product with its synced inventory.
#[utoipa::path(delete, path = "/api/v1/admin/products/{id}", tag = "admin", security(("bearer" = [])),
    params(("id" = u32, Path, description = "Product id: a positive integer", minimum = 1, maximum = 4_294_967_295_f64, format = Int64)),
    responses((status = 204, description = "Removed"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_product(
    State(state): State<AppState>,
    PathParam(id): PathParam,
) -> ApiResult<StatusCode> {
    let id = parse_product_id(&id)?;
    state.actions().delete_product(id).await?;
    state.cache().invalidate(id);
    Ok(StatusCode::NO_CONTENT)
}
