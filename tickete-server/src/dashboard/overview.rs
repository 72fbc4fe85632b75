//! The overview: pause and resume, the partner budget and its 429 hold, the queue, the
//! latest runs, and a one-off sync.

use axum::extract::State;
use axum::response::Response;
use maud::{html, Markup};
use serde::Deserialize;
use tickete_core::engine::MAX_WINDOW_DAYS;
use tickete_core::PageRequest;

use super::forms::{int_field, redirect, ActionForm, Flash};
use super::layout::{self, button, csrf_field, duration, time};
use super::login::NoFields;
use super::runs::runs_table;
use super::Operator;
use crate::state::AppState;

/// `GET /admin`.
pub async fn page(State(state): State<AppState>, operator: Operator) -> Response {
    let actions = state.actions();
    let body = match (
        actions.sync_status().await,
        actions
            .list_runs(None, PageRequest { page: 1, limit: 10 })
            .await,
        actions.active_sessions().await,
        actions.budget_use().await,
    ) {
        (Ok(status), Ok(runs), Ok(sessions), Ok(budget_use)) => {
            let held = status.partner_budget.held_until;
            html! {
                section.cards {
                    article.card #sync-card {
                        h2 { "Sync" }
                        p.big data-live="state" { @if status.paused { "Paused" } @else { "Running" } }
                        p.muted { "paused at " span data-live="pausedAt" { (time(status.paused_at)) } }
                        // Only the action that applies is shown; the live figures swap
                        // them when another operator or replica pauses or resumes.
                        div.row {
                            div data-when="running" hidden[status.paused] {
                                (button(&operator, "/admin/sync/pause", "Pause", "danger"))
                            }
                            div data-when="paused" hidden[!status.paused] {
                                (button(&operator, "/admin/sync/resume", "Resume", "primary"))
                            }
                        }
                    }
                    article.card {
                        h2 { "Queue" }
                        p.big { span data-live="pending" { (status.pending) } " waiting" }
                        p.muted { span data-live="inFlight" { (status.in_flight) } " in flight" }
                    }
                    article.card #budget-card {
                        h2 { "Partner budget" }
                        p.big { (status.partner_budget.rate_per_minute) " calls/min" }
                        p.muted { "one call every " (status.partner_budget.spacing_ms) " ms" }
                        p { "429 hold: " span data-live="heldUntil" { @if held.is_some() { "until " (time(held)) } @else { "none" } } }
                        (button(&operator, "/admin/sync/clear-hold", "Clear hold", ""))
                    }
                }
                article.card #budget-use {
                    h2 { "Budget use" }
                    (super::budget_chart::chart(&budget_use))
                }
                (demand_and_freshness(&status))
                (sync_form(&operator))
                h2 { "Latest runs" }
                (runs_table(&runs.data, Some(10)))
                p { a href="/admin/runs" { "All runs" } }
                (sessions_section(&operator, &sessions))
            }
        }
        (Err(error), ..) | (_, Err(error), ..) | (_, _, Err(error), _) | (.., Err(error)) => {
            unavailable(error)
        }
    };
    layout::page(&operator, "Overview", "/admin", body)
}

/// What the freshness targets ask of the budget, and how fresh each job's window is (SPEC §4).
fn demand_and_freshness(status: &tickete_app::views::SyncStatusBody) -> Markup {
    let demand = &status.demand;
    let age = |seconds: Option<i64>| seconds.map_or("–".to_owned(), duration);
    html! {
        article.card #demand-card {
            h2 { "Demand against budget" }
            p.big { span data-live="demandCalls" { (demand.calls_per_minute) } " calls/min needed" }
            p.flash.failed role="status" data-when-over="true" hidden[demand.budget_share <= 1.0] {
                "The targets need " span data-live="demandShare" { (demand.budget_share) } "× the budget: the engine fetches what is most likely stale and read first; every pair is still fetched within 48 h."
            }
            p.muted data-when-over="false" hidden[demand.budget_share > 1.0] {
                span data-live="demandShare" { (demand.budget_share) } "× the budget: every target can be held."
            }
            div.scroll { table {
                thead { tr { th { "Job" } th { "Pairs" } th { "Within target" } th { "Never fetched" } th { "p95 age" } th { "Oldest" } } }
                tbody data-live-freshness {
                    @if status.freshness.is_empty() {
                        tr { td colspan="6" { "No enabled job sets a freshness target." } }
                    }
                    @for job in &status.freshness {
                        tr {
                            td { (job.job) }
                            td { (job.pairs) }
                            td { (job.within_target) }
                            td { (job.never_fetched) }
                            td { (age(job.p95_age_seconds)) }
                            td { (age(job.oldest_age_seconds)) }
                        }
                    }
                }
            } }
        }
    }
}

fn sync_form(operator: &Operator) -> Markup {
    html! {
        form.card.inline-form method="post" action="/admin/sync/days" {
            (csrf_field(operator))
            label for="days" { "One-off sync of the next" }
            input #days name="days" type="number" min="1" max=(MAX_WINDOW_DAYS) value="1" required;
            span { "days" }
            button type="submit" { "Sync now" }
        }
    }
}

/// What a page shows when the store cannot be read.
pub fn unavailable(error: tickete_app::ActionError) -> Markup {
    let message = crate::error::ApiError::from(error).message;
    html! { p.flash.failed role="alert" { "Could not read the store: " (message) } }
}

/// `POST /admin/sync/pause`.
pub async fn pause(State(state): State<AppState>, form: ActionForm<NoFields>) -> Response {
    let flash = match state.actions().pause().await {
        Ok(_) => Flash::Done("Sync paused: no partner calls until resumed".into()),
        Err(error) => Flash::failed(error),
    };
    redirect("/admin", flash, form.https)
}

/// `POST /admin/sync/resume`.
pub async fn resume(State(state): State<AppState>, form: ActionForm<NoFields>) -> Response {
    let flash = match state.actions().resume().await {
        Ok(_) => Flash::Done("Sync resumed".into()),
        Err(error) => Flash::failed(error),
    };
    redirect("/admin", flash, form.https)
}

/// `POST /admin/sync/clear-hold`.
pub async fn clear_hold(State(state): State<AppState>, form: ActionForm<NoFields>) -> Response {
    let flash = match state.actions().clear_hold().await {
        Ok((Some(until), _)) => Flash::Done(format!(
            "The 429 hold until {} was lifted",
            until.format("%H:%M:%S UTC")
        )),
        Ok((None, _)) => Flash::Done("There was no 429 hold to lift".into()),
        Err(error) => Flash::failed(error),
    };
    redirect("/admin", flash, form.https)
}

#[derive(Deserialize)]
pub struct SyncDays {
    #[serde(default)]
    days: String,
}

/// `POST /admin/sync/days`: a one-off sync of the next N days.
pub async fn sync_days(State(state): State<AppState>, form: ActionForm<SyncDays>) -> Response {
    let flash = match int_field("days", &form.fields.days, 1..=MAX_WINDOW_DAYS) {
        Err(flash) => flash,
        Ok(days) => match state.actions().sync_days(days).await {
            Ok(run) => Flash::Done(format!("Run {} started: the next {days} days", run.id.0)),
            Err(error) => Flash::failed(error),
        },
    };
    redirect("/admin/runs", flash, form.https)
}

/// The signed-in dashboard sessions, this one marked, and "sign out everywhere".
fn sessions_section(
    operator: &Operator,
    sessions: &[tickete_core::sessions::SessionRecord],
) -> maud::Markup {
    html! {
        h2 { "Signed-in sessions" }
        div.scroll {
            table.sessions {
                thead { tr { th { "Signed in" } th { "Ends" } th { "" } } }
                tbody {
                    @for session in sessions {
                        tr {
                            td { (time(Some(session.created_at))) }
                            td { (time(Some(session.expires_at))) }
                            td { @if session.id == operator.session_id { "this browser" } }
                        }
                    }
                }
            }
        }
        form.inline #sign-out-everywhere method="post" action="/admin/sessions/end-all" data-confirm="Sign every session out, this one included?" {
            (super::layout::csrf_field(operator))
            button.danger type="submit" { "Sign out everywhere" }
        }
    }
}
