//! Running one sync in this process: start it, show progress, wait, summarise.
//! Shared by `tickete sync` and `tickete jobs trigger`.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tickete_app::runtime::Worker;
use tickete_app::views::RunBody;
use tickete_core::engine::RunRequest;
use tickete_core::{Engine, EngineEvent, RunStatus, SyncRun};
use tokio::sync::broadcast::error::RecvError;

use crate::context::Ctx;
use crate::error::CliError;
use crate::output::{self, Table};

/// Starts `request` on `engine`, runs the worker until the run finishes (or Ctrl-C), prints
/// the summary and fails (exit 1) when any task failed.
pub async fn run_and_wait(ctx: &Ctx, engine: &Engine, request: RunRequest) -> Result<(), CliError> {
    let worker = Worker::spawn(engine);
    let outcome = drive(ctx, engine, request).await;
    worker.stop().await;
    let (run, interrupted) = outcome?;
    // The worker has stopped: what it saved last is the final record.
    let run = engine.run_log().get_run(run.id).await.unwrap_or(run);
    report(ctx, &run)?;
    verdict(&run, interrupted)
}

async fn drive(
    ctx: &Ctx,
    engine: &Engine,
    request: RunRequest,
) -> Result<(SyncRun, bool), CliError> {
    let mut events = engine.subscribe();
    let run = engine.start_run(request).await?;
    if run.finished_at.is_some() {
        return Ok((run, false));
    }
    let queued = run.counts.planned - run.counts.skipped_fresh;
    let rate = engine.config().rate_per_minute.get();
    let bar = progress_bar(ctx.json, queued);
    show(&bar, &run, queued, rate);
    let interrupt = tokio::signal::ctrl_c();
    tokio::pin!(interrupt);
    let result = loop {
        tokio::select! {
            _ = &mut interrupt => {
                bar.suspend(|| eprintln!("tickete: interrupted; finishing the call in flight"));
                break Ok((run.clone(), true));
            }
            event = events.recv() => match event {
                Ok(EngineEvent::RunProgress(progress)) if progress.id == run.id => {
                    show(&bar, &progress, queued, rate);
                }
                Ok(EngineEvent::RunFinished(finished)) if finished.id == run.id => {
                    break Ok((finished, false));
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => {
                    let latest = engine.run_log().get_run(run.id).await?;
                    if latest.finished_at.is_some() {
                        break Ok((latest, false));
                    }
                    show(&bar, &latest, queued, rate);
                }
                Err(RecvError::Closed) => break Ok((engine.run_log().get_run(run.id).await?, false)),
            },
        }
    };
    bar.finish_and_clear();
    result
}

fn progress_bar(json: bool, queued: u32) -> ProgressBar {
    if json {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(
        Some(u64::from(queued)),
        ProgressDrawTarget::stderr_with_hz(5),
    );
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] [{bar:30}] {pos}/{len} tasks  {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Position = tasks settled by fetching or failing; ETA = the pacer's spacing times what is left.
fn show(bar: &ProgressBar, run: &SyncRun, queued: u32, rate: u32) {
    let done = run.counts.fetched + run.counts.failed;
    bar.set_position(u64::from(done));
    let left = queued.saturating_sub(done);
    let eta = Duration::from_millis(60_000 / u64::from(rate.max(1)) * u64::from(left));
    bar.set_message(format!(
        "{} failed · ETA ~{} at {rate}/min",
        run.counts.failed,
        output::duration(eta)
    ));
}

fn report(ctx: &Ctx, run: &SyncRun) -> Result<(), CliError> {
    if ctx.json {
        return output::json(&RunBody::from(run));
    }
    let took = run
        .finished_at
        .map(|end| (end - run.started_at).to_std().unwrap_or_default())
        .unwrap_or_default();
    output::line(format!(
        "run {} ({}, {}): {} in {}",
        run.id,
        run.job,
        run.trigger,
        run.status,
        output::duration(took)
    ));
    let counts = &run.counts;
    let mut table = Table::new(&[
        "planned",
        "fetched",
        "changed",
        "unchanged",
        "skipped fresh",
        "failed",
        "missed",
    ]);
    table.row(
        [
            counts.planned,
            counts.fetched,
            counts.changed,
            counts.unchanged,
            counts.skipped_fresh,
            counts.failed,
            counts.missed,
        ]
        .iter()
        .map(ToString::to_string)
        .collect(),
    );
    table.print_or("");
    if !run.errors.is_empty() {
        output::line("errors:");
        for error in &run.errors {
            output::line(format!("  {error}"));
        }
    }
    Ok(())
}

fn verdict(run: &SyncRun, interrupted: bool) -> Result<(), CliError> {
    if interrupted || run.status == RunStatus::Interrupted {
        return Err(CliError {
            code: CliError::INTERRUPTED,
            message: format!(
                "run {} was interrupted; the next sync re-plans what is left",
                run.id
            ),
        });
    }
    if run.counts.failed > 0 {
        let mut message = format!(
            "{} of {} partner fetches failed (run {}, status {}); details: `tickete runs show {}`",
            run.counts.failed,
            run.counts.planned - run.counts.skipped_fresh,
            run.id,
            run.status,
            run.id
        );
        if let Some(first) = run.errors.first() {
            message.push_str(&format!("\nfirst error: {first}"));
        }
        return Err(CliError::failure(message));
    }
    Ok(())
}
