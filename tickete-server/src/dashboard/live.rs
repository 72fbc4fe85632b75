//! Live figures for the pages' script (short polling): the sync state, the queue, the hold,
//! the demand and freshness, the budget's use over the last hour, the latest runs, and one
//! run when asked.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use tickete_app::views::{BudgetUseBody, RunBody, SyncStatusBody};
use tickete_core::{PageRequest, RunId};

use super::Operator;
use crate::error::ApiError;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct LiveQuery {
    runs: Option<u32>,
    run: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LiveBody {
    status: SyncStatusBody,
    budget_use: BudgetUseBody,
    runs: Vec<RunBody>,
    run: Option<RunBody>,
}

/// `GET /admin/live?runs=N&run=ID`.
pub async fn figures(
    State(state): State<AppState>,
    _operator: Operator,
    query: Result<Query<LiveQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return ApiError::bad_request("`runs` and `run` must be integers").into_response();
    };
    let actions = state.actions();
    let result = async {
        let status = actions.sync_status().await?;
        let budget_use = actions.budget_use().await?;
        let limit = query.runs.unwrap_or(0).min(PageRequest::MAX_LIMIT);
        let runs = if limit > 0 {
            actions
                .list_runs(None, PageRequest { page: 1, limit })
                .await?
                .data
        } else {
            Vec::new()
        };
        let run = match query.run {
            Some(id) => Some(actions.get_run(RunId(id)).await?),
            None => None,
        };
        Ok::<_, tickete_app::ActionError>(LiveBody {
            status,
            budget_use,
            runs,
            run,
        })
    }
    .await;
    match result {
        Ok(body) => Json(body).into_response(),
        Err(error) => ApiError::from(error).into_response(),
    }
}
