//! `tickete runs [list|show]`: the execution log; `tickete processes`: who owns its runs.

use tickete_app::views::DataEnvelope;
use tickete_core::PageRequest;

use crate::cli::{PageArgs, RunsCommand};
use crate::context::Ctx;
use crate::error::CliError;
use crate::output::{self, or_dash, time, Table};

/// Runs a runs action (list of the latest 20 when none is given).
pub async fn run(ctx: &Ctx, action: Option<RunsCommand>) -> Result<(), CliError> {
    let actions = ctx.actions().await?;
    let action = action.unwrap_or(RunsCommand::List {
        job: None,
        page: PageArgs { page: 1, limit: 20 },
    });
    match action {
        RunsCommand::List { job, page } => {
            let body = actions
                .list_runs(
                    job.as_deref(),
                    PageRequest {
                        page: page.page,
                        limit: page.limit,
                    },
                )
                .await?;
            if ctx.json {
                return output::json(&body);
            }
            let mut table = Table::new(&[
                "id", "job", "trigger", "status", "started", "owner", "scope", "planned",
                "fetched", "changed", "fresh", "failed", "missed",
            ]);
            for run in &body.data {
                table.row(vec![
                    run.id.to_string(),
                    run.job.clone(),
                    run.trigger.clone(),
                    run.status.clone(),
                    time(run.started_at),
                    run.owner_text(),
                    run.scope_text(),
                    run.planned.to_string(),
                    run.fetched.to_string(),
                    run.changed.to_string(),
                    run.skipped_fresh.to_string(),
                    run.failed.to_string(),
                    run.missed.to_string(),
                ]);
            }
            table.print_or("no runs recorded");
            if body.total_length > u64::from(page.page) * u64::from(page.limit) {
                output::line(format!(
                    "{} runs in all; more with --page {}",
                    body.total_length,
                    page.page + 1
                ));
            }
            Ok(())
        }
        RunsCommand::Show { id } => {
            let run = actions.get_run(id).await?;
            if ctx.json {
                return output::json(&DataEnvelope::ok(run));
            }
            let fields = [
                ("id", run.id.to_string()),
                ("job", run.job.clone()),
                ("trigger", run.trigger.clone()),
                ("status", run.status.clone()),
                ("started", time(run.started_at)),
                ("due", time(run.due_at)),
                ("finished", or_dash(run.finished_at.map(time))),
                ("owner", run.owner_text()),
                ("scope", run.scope_text()),
                ("re-plans", or_dash(run.replans.map(|id| id.to_string()))),
                ("skipped ticks", run.skipped_ticks.to_string()),
                ("planned", run.planned.to_string()),
                ("fetched", run.fetched.to_string()),
                ("changed", run.changed.to_string()),
                ("unchanged", run.unchanged.to_string()),
                ("skipped fresh", run.skipped_fresh.to_string()),
                ("failed", run.failed.to_string()),
                ("missed", run.missed.to_string()),
            ];
            for (name, value) in fields {
                output::line(format!("{name:<14}{value}"));
            }
            if !run.errors.is_empty() {
                output::line("errors:");
                for error in &run.errors {
                    output::line(format!("  {error}"));
                }
            }
            Ok(())
        }
    }
}

/// `tickete processes`: the live engine processes on the store.
pub async fn processes(ctx: &Ctx, page: PageArgs) -> Result<(), CliError> {
    let actions = ctx.actions().await?;
    let request = PageRequest {
        page: page.page,
        limit: page.limit,
    };
    let body = actions.list_processes(request).await?;
    if ctx.json {
        return output::json(&body);
    }
    let mut table = Table::new(&["kind", "host", "pid", "started", "last seen", "id"]);
    for process in &body.data {
        table.row(vec![
            process.kind.clone(),
            process.host.clone(),
            process.pid.to_string(),
            time(process.started_at),
            time(process.last_seen_at),
            process.id.clone(),
        ]);
    }
    table.print_or("no live engine process on this store");
    Ok(())
}
