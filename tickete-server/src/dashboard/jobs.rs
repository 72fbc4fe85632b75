//! Jobs: enable, disable, trigger, edit schedule and window, next run.

use axum::extract::{Path, State};
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use tickete_app::actions::JobUpdate;
use tickete_core::engine::MAX_WINDOW_DAYS;
use tickete_core::PageRequest;

use super::forms::{int_field, redirect, ActionForm, Flash, Toggle};
use super::layout::{self, button, csrf_field, time};
use super::login::NoFields;
use super::overview::unavailable;
use super::Operator;
use crate::state::AppState;

/// `GET /admin/jobs`.
pub async fn page(State(state): State<AppState>, operator: Operator) -> Response {
    let jobs = state
        .actions()
        .list_jobs(PageRequest {
            page: 1,
            limit: PageRequest::MAX_LIMIT,
        })
        .await;
    let body = match jobs {
        Err(error) => unavailable(error),
        Ok(jobs) => html! {
            div.jobs {
                @for job in &jobs.data {
                    article.card.job id=(format!("job-{}", job.name)) {
                        header.row {
                            h2 { (job.name) }
                            @if job.enabled {
                                span.status.succeeded data-job-state { "enabled" }
                            } @else {
                                span.status.interrupted data-job-state { "disabled" }
                            }
                        }
                        dl.facts {
                            dt { "Schedule" } dd { code { (job.schedule) } }
                            dt { "Window" } dd { (job.window_days) @if job.window_days == 1 { " day" } @else { " days" } }
                            dt { "Next run" } dd { (time(job.next_run_at)) }
                            dt { "Last run" } dd { (time(job.last_run_at)) " " @if let Some(status) = &job.last_status { span class=(format!("status {status}")) { (status) } } }
                        }
                        div.row {
                            form.inline method="post" action=(format!("/admin/jobs/{}/toggle", job.name)) {
                                (csrf_field(&operator))
                                input type="hidden" name="enabled" value=(!job.enabled);
                                @if job.enabled {
                                    button.danger.toggle type="submit" { "Disable" }
                                } @else {
                                    button.primary.toggle type="submit" { "Enable" }
                                }
                            }
                            (button(&operator, &format!("/admin/jobs/{}/trigger", job.name), "Run now", "trigger"))
                            a href=(format!("/admin/runs?job={}", job.name)) { "Runs" }
                        }
                        details {
                            summary { "Edit schedule and window" }
                            form.edit method="post" action=(format!("/admin/jobs/{}/edit", job.name)) {
                                (csrf_field(&operator))
                                label { "Cron schedule (service time zone)"
                                    input name="schedule" value=(job.schedule) required; }
                                label { "Window in days (1–" (MAX_WINDOW_DAYS) ")"
                                    input name="window_days" type="number" min="1" max=(MAX_WINDOW_DAYS) value=(job.window_days) required; }
                                button type="submit" { "Save" }
                            }
                        }
                    }
                }
            }
        },
    };
    layout::page(&operator, "Jobs", "/admin/jobs", body)
}

/// `POST /admin/jobs/{name}/toggle` with `enabled=true|false`: the state the button showed
/// it would set (so a double submit does not flip it back).
pub async fn toggle(
    State(state): State<AppState>,
    Path(name): Path<String>,
    form: ActionForm<Toggle>,
) -> Response {
    let flash = match form.fields.enabled() {
        Err(flash) => flash,
        Ok(enabled) => match state.actions().set_job_enabled(&name, enabled).await {
            Ok(job) if job.enabled => Flash::Done(format!("Job {name} enabled")),
            Ok(_) => Flash::Done(format!("Job {name} disabled")),
            Err(error) => Flash::failed(error),
        },
    };
    redirect("/admin/jobs", flash, form.https)
}

/// `POST /admin/jobs/{name}/trigger`: runs the job now and shows the runs.
pub async fn trigger(
    State(state): State<AppState>,
    Path(name): Path<String>,
    form: ActionForm<NoFields>,
) -> Response {
    match state.actions().trigger_job(&name).await {
        Ok(run) => redirect(
            "/admin/runs",
            Flash::Done(format!("Run {} of {name} started", run.id.0)),
            form.https,
        ),
        Err(error) => redirect("/admin/jobs", Flash::failed(error), form.https),
    }
}

#[derive(Deserialize)]
pub struct JobEdit {
    #[serde(default)]
    schedule: String,
    #[serde(default)]
    window_days: String,
}

/// `POST /admin/jobs/{name}/edit`: changes the schedule and window at run time.
pub async fn edit(
    State(state): State<AppState>,
    Path(name): Path<String>,
    form: ActionForm<JobEdit>,
) -> Response {
    let flash = match int_field("window", &form.fields.window_days, 1..=MAX_WINDOW_DAYS) {
        Err(flash) => flash,
        Ok(window_days) => {
            let update = JobUpdate {
                schedule: Some(form.fields.schedule.trim().to_owned()),
                window_days: Some(window_days),
                enabled: None,
            };
            match state.actions().update_job(&name, update).await {
                Ok(job) => Flash::Done(format!(
                    "Job {name} now runs `{}` over {} days",
                    job.schedule, job.window_days
                )),
                Err(error) => Flash::failed(error),
            }
        }
    };
    redirect("/admin/jobs", flash, form.https)
}
