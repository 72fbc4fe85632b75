//! The work-queue contract: cases every [`WorkQueue`] must pass, written once and run against
//! the in-process queue (tickete-core's tests) and the durable Postgres queue (its store's
//! tests), so the rule the database repeats in SQL is proven to agree.
//!
//! Each case is a public `async fn(store, queue)` over an empty store and the queue built on
//! it; it panics on a violation. [`queue_contract_tests!`](crate::queue_contract_tests) expands
//! into one `#[tokio::test]` per case for a queue factory.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::{
    NewRun, Product, ProductId, RunStatus, SyncRun, SyncTask, TaskPriority, Trigger, WorkClass,
};
use crate::engine::{DropTasks, TaskOutcome, WorkQueue};
use crate::store::{ApplyOutcome, InventoryStore};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("valid instant")
        .to_utc()
}

fn pid(raw: u32) -> ProductId {
    ProductId::new(raw).expect("non-zero id")
}

fn day(offset: u64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 3, 25).expect("valid date") + chrono::Days::new(offset)
}

fn task(product: u32, offset: u64) -> SyncTask {
    SyncTask {
        product: pid(product),
        date: day(offset),
        priority: TaskPriority {
            class: WorkClass::Scheduled,
            date: day(offset),
            synced_at: None,
        },
    }
}

async fn catalogue(store: &dyn InventoryStore, ids: &[u32]) {
    for &id in ids {
        let product = Product {
            id: pid(id),
            name: format!("Product {id}"),
            enabled: true,
        };
        store.upsert_product(&product).await.expect("product");
    }
}

/// Records a run of `job` planning `tasks` and queues them, as the engine does. It starts
/// now on the wall clock: a durable queue reaps runs that look abandoned by their age.
async fn queued_run(
    store: &dyn InventoryStore,
    queue: &dyn WorkQueue,
    job: &str,
    tasks: &[SyncTask],
) -> SyncRun {
    let mut run = store
        .create_run(&NewRun {
            job: job.into(),
            trigger: Trigger::Schedule,
            started_at: Utc::now(),
            due_at: Utc::now(),
            window_days: 7,
            products: None,
            manual: false,
            owner: None,
            replans: None,
        })
        .await
        .expect("create run");
    run.counts.planned = tasks.len() as u32;
    store.save_run(&run).await.expect("save run");
    queue.enqueue(&run, tasks).await.expect("enqueue");
    run
}

async fn claim_and_fetch(queue: &dyn WorkQueue, now: DateTime<Utc>) -> (SyncTask, Vec<SyncRun>) {
    let claimed = queue
        .claim(now)
        .await
        .expect("claim")
        .expect("a ready task");
    let settled = queue
        .settle(
            &claimed.task,
            &TaskOutcome::Fetched(ApplyOutcome::Changed),
            now,
        )
        .await
        .expect("settle");
    (claimed.task, settled)
}

/// A new tick supersedes the job's running run: the old run ends at once, `partial`, its
/// unsettled pairs counted as `missed`; tasks only it waited on leave the queue, tasks another
/// run shares stay.
pub async fn a_superseded_run_ends_with_what_it_missed(
    store: Arc<dyn InventoryStore>,
    queue: Arc<dyn WorkQueue>,
) {
    catalogue(store.as_ref(), &[1, 2]).await;
    let now = at("2025-03-25T10:05:00Z");
    let old = queued_run(
        store.as_ref(),
        queue.as_ref(),
        "sync-today",
        &[task(1, 0), task(2, 0), task(1, 1), task(2, 1)],
    )
    .await;
    let other = queued_run(store.as_ref(), queue.as_ref(), "other", &[task(2, 1)]).await;
    let (first, _) = claim_and_fetch(queue.as_ref(), now).await;
    assert_eq!((first.product, first.date), (pid(1), day(0)));
    assert!(queue.is_running("sync-today").await.expect("is running"));

    let ended = queue.supersede("sync-today", now).await.expect("supersede");
    assert_eq!(ended.len(), 1, "{ended:?}");
    let ended = &ended[0];
    assert_eq!(ended.id, old.id);
    assert_eq!(ended.status, RunStatus::Partial);
    assert_eq!(ended.finished_at, Some(now));
    assert_eq!((ended.counts.fetched, ended.counts.missed), (1, 3));
    assert_eq!(ended.errors, vec![crate::engine::SUPERSEDED.to_owned()]);
    assert_eq!(store.get_run(old.id).await.expect("stored"), *ended);
    assert!(!queue.is_running("sync-today").await.expect("is running"));

    // Only the task the other run shares is left, and settling it finishes that run alone.
    assert_eq!(queue.depth().await.expect("depth").pending, 1);
    let (left, settled) = claim_and_fetch(queue.as_ref(), now).await;
    assert_eq!((left.product, left.date), (pid(2), day(1)));
    assert_eq!(settled.len(), 1, "{settled:?}");
    assert_eq!(settled[0].id, other.id);
    assert_eq!(settled[0].status, RunStatus::Succeeded);
    assert!(queue
        .supersede("sync-today", now)
        .await
        .expect("again")
        .is_empty());
}

/// At midnight the queued tasks of past dates leave at once; each run waiting on one counts it
/// as missed, and a run left with nothing outstanding finishes. A task being fetched finishes.
pub async fn dropping_past_dates_counts_them_missed(
    store: Arc<dyn InventoryStore>,
    queue: Arc<dyn WorkQueue>,
) {
    catalogue(store.as_ref(), &[1, 2]).await;
    let now = at("2025-03-26T00:00:01Z");
    let long = queued_run(
        store.as_ref(),
        queue.as_ref(),
        "sync-next-7-days",
        &[task(1, 0), task(2, 0), task(1, 1)],
    )
    .await;
    let short = queued_run(store.as_ref(), queue.as_ref(), "sync-today", &[task(2, 0)]).await;
    let in_flight = queue.claim(now).await.expect("claim").expect("a task");
    assert_eq!(in_flight.task.date, day(0));

    let touched = queue
        .drop_tasks(DropTasks::Before(day(1)), now)
        .await
        .expect("drop");
    let find = |id| {
        touched
            .iter()
            .find(|run| run.id == id)
            .cloned()
            .expect("touched")
    };
    let short_now = find(short.id);
    assert_eq!(short_now.status, RunStatus::Partial);
    assert_eq!(short_now.counts.missed, 1);
    assert_eq!(short_now.finished_at, Some(now));
    let long_now = find(long.id);
    assert_eq!(long_now.status, RunStatus::Running);
    assert_eq!(long_now.counts.missed, 1);
    assert_eq!(store.get_run(short.id).await.expect("stored"), short_now);

    // The task in flight is counted when it settles; then the new today is next.
    queue
        .settle(
            &in_flight.task,
            &TaskOutcome::Fetched(ApplyOutcome::Unchanged),
            now,
        )
        .await
        .expect("settle");
    let (next, settled) = claim_and_fetch(queue.as_ref(), now).await;
    assert_eq!((next.product, next.date), (pid(1), day(1)));
    let long_done = settled
        .iter()
        .find(|run| run.id == long.id)
        .expect("long run");
    assert_eq!(long_done.status, RunStatus::Partial);
    assert_eq!((long_done.counts.fetched, long_done.counts.missed), (2, 1));
    assert_eq!(queue.depth().await.expect("depth").pending, 0);
}

/// Deleting or disabling a product drops its queued tasks; its other products' work goes on.
pub async fn dropping_a_product_leaves_the_others(
    store: Arc<dyn InventoryStore>,
    queue: Arc<dyn WorkQueue>,
) {
    catalogue(store.as_ref(), &[1, 2]).await;
    let now = at("2025-03-25T10:05:00Z");
    let run = queued_run(
        store.as_ref(),
        queue.as_ref(),
        "sync-next-7-days",
        &[task(1, 0), task(2, 0), task(2, 1), task(2, 2)],
    )
    .await;
    let touched = queue
        .drop_tasks(DropTasks::Product(pid(2)), now)
        .await
        .expect("drop");
    assert_eq!(touched.len(), 1);
    assert_eq!(touched[0].counts.missed, 3);
    assert_eq!(touched[0].status, RunStatus::Running);
    assert_eq!(queue.depth().await.expect("depth").pending, 1);
    let (left, settled) = claim_and_fetch(queue.as_ref(), now).await;
    assert_eq!(left.product, pid(1));
    assert_eq!(settled[0].id, run.id);
    assert_eq!(settled[0].status, RunStatus::Partial);
    assert_eq!(
        (settled[0].counts.fetched, settled[0].counts.missed),
        (1, 3)
    );
    assert!(queue.claim(now).await.expect("claim").is_none());
}

/// A task being fetched when its only run was superseded is not queued again when it comes
/// back (a transient failure or a rate limit): nobody waits on it.
pub async fn a_task_released_after_its_run_ended_leaves_the_queue(
    store: Arc<dyn InventoryStore>,
    queue: Arc<dyn WorkQueue>,
) {
    catalogue(store.as_ref(), &[1]).await;
    let now = at("2025-03-25T10:05:00Z");
    queued_run(store.as_ref(), queue.as_ref(), "sync-today", &[task(1, 0)]).await;
    let claimed = queue.claim(now).await.expect("claim").expect("a task");
    let ended = queue.supersede("sync-today", now).await.expect("supersede");
    assert_eq!(ended[0].counts.missed, 1);
    queue
        .release(claimed, None, Some("partner answered 503"))
        .await
        .expect("release");
    assert_eq!(queue.depth().await.expect("depth").pending, 0);
    assert!(queue.claim(now).await.expect("claim").is_none());
}

/// Run counting, the rule the durable queue repeats in SQL: each outcome adds to every run
/// waiting on the task (a task two runs share is fetched once and counted in both), and a run
/// ends when its last task settles, `succeeded`, `partial` or `failed` by what it counted, with
/// one error line per failed pair.
pub async fn outcomes_count_in_every_run_waiting_on_them(
    store: Arc<dyn InventoryStore>,
    queue: Arc<dyn WorkQueue>,
) {
    catalogue(store.as_ref(), &[1, 2]).await;
    let now = at("2025-03-25T10:05:00Z");
    let week = queued_run(
        store.as_ref(),
        queue.as_ref(),
        "sync-next-7-days",
        &[task(1, 0), task(2, 0), task(1, 1)],
    )
    .await;
    let today = queued_run(store.as_ref(), queue.as_ref(), "sync-today", &[task(2, 0)]).await;
    let broken = queued_run(store.as_ref(), queue.as_ref(), "one-off", &[task(2, 1)]).await;
    assert_eq!(
        queue.depth().await.expect("depth").pending,
        4,
        "shared task queued once"
    );

    let mut finished = Vec::new();
    for _ in 0..4 {
        let claimed = queue
            .claim(now)
            .await
            .expect("claim")
            .expect("a ready task");
        let outcome = match (claimed.task.product.get(), claimed.task.date == day(0)) {
            (1, true) => TaskOutcome::Fetched(ApplyOutcome::Changed),
            (2, true) => TaskOutcome::Fetched(ApplyOutcome::Unchanged),
            _ => TaskOutcome::Failed("partner answered 500".into()),
        };
        let settled = queue
            .settle(&claimed.task, &outcome, now)
            .await
            .expect("settle");
        finished.extend(settled.into_iter().filter(|run| run.finished_at.is_some()));
    }
    assert_eq!(queue.depth().await.expect("depth").pending, 0);
    assert!(!queue.is_running("sync-next-7-days").await.expect("running"));

    let week = store.get_run(week.id).await.expect("week");
    let counts = week.counts.clone();
    assert_eq!(
        (
            counts.planned,
            counts.fetched,
            counts.changed,
            counts.unchanged,
            counts.failed
        ),
        (3, 2, 1, 1, 1),
        "{week:?}"
    );
    assert_eq!(week.status, RunStatus::Partial);
    assert_eq!(week.finished_at, Some(now));
    assert_eq!(week.errors.len(), 1, "{:?}", week.errors);
    assert!(
        week.errors[0].contains("partner answered 500"),
        "{:?}",
        week.errors
    );

    let today = store.get_run(today.id).await.expect("today");
    assert_eq!((today.counts.fetched, today.counts.unchanged), (1, 1));
    assert_eq!(today.status, RunStatus::Succeeded);

    let broken = store.get_run(broken.id).await.expect("one-off");
    assert_eq!((broken.counts.fetched, broken.counts.failed), (0, 1));
    assert_eq!(broken.status, RunStatus::Failed);

    let mut ids: Vec<_> = finished.iter().map(|run| run.id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(
        ids.len(),
        3,
        "every run was reported finished once: {finished:?}"
    );
}

/// A chooser that always takes the last candidate it is offered, so a queue that offered
/// scheduled work beside manual work would hand out scheduled work.
struct LastCandidate;

impl crate::engine::TaskChooser for LastCandidate {
    fn choose(&self, candidates: &[SyncTask], _now: DateTime<Utc>) -> Option<usize> {
        candidates.len().checked_sub(1)
    }
}

/// Manual work (a trigger, a one-off sync) is claimed before scheduled work, nearest dates
/// first, whatever the scheduled work's dates; the refresh policy only chooses within the
/// class. A scheduled task merged with a manual one of the same pair becomes manual.
pub async fn manual_work_is_claimed_before_scheduled_work(
    store: Arc<dyn InventoryStore>,
    queue: Arc<dyn WorkQueue>,
) {
    catalogue(store.as_ref(), &[1, 2, 3]).await;
    let scheduled: Vec<SyncTask> = (0..4).map(|offset| task(1, offset)).collect();
    queued_run(
        store.as_ref(),
        queue.as_ref(),
        "sync-next-7-days",
        &scheduled,
    )
    .await;
    let manual_task = |product, offset| SyncTask {
        priority: TaskPriority {
            class: WorkClass::Manual,
            ..task(product, offset).priority
        },
        ..task(product, offset)
    };
    let manual = vec![manual_task(2, 5), manual_task(2, 6), manual_task(1, 3)];
    queued_run(store.as_ref(), queue.as_ref(), "manual-sync", &manual).await;

    let now = Utc::now();
    let mut order = Vec::new();
    let first = queue
        .claim_chosen(now, &LastCandidate)
        .await
        .expect("claim")
        .expect("ready");
    order.push((first.task.product.get(), first.task.date));
    // Six pairs in all: (1, day 3) is queued by both runs.
    for _ in 0..5 {
        let claimed = queue.claim(now).await.expect("claim").expect("ready");
        order.push((claimed.task.product.get(), claimed.task.date));
    }
    assert!(queue.claim(now).await.expect("claim").is_none());
    let manual_pairs = [(2, day(5)), (2, day(6)), (1, day(3))];
    assert!(
        order[..3].iter().all(|pair| manual_pairs.contains(pair)),
        "the three manual pairs come first (the merged (1, day 3) among them): {order:?}"
    );
    assert_eq!(
        order[0],
        (2, day(6)),
        "the chooser picked among the manual pairs only: {order:?}"
    );
    assert_eq!(
        &order[1..3],
        &[(1, day(3)), (2, day(5))][..],
        "then the manual pairs nearest first: {order:?}"
    );
    assert_eq!(
        &order[3..],
        &[(1, day(0)), (1, day(1)), (1, day(2))][..],
        "then scheduled work, nearest first: {order:?}"
    );
}

/// One `#[tokio::test]` per work-queue contract case. `$make` is evaluated per test and must
/// give `Option<(Arc<dyn InventoryStore>, Arc<dyn WorkQueue>, impl Teardown)>`: `None` skips
/// (e.g. no Postgres), the third value is awaited as `.finish()` afterwards.
#[macro_export]
macro_rules! queue_contract_tests {
    ($make:expr) => {
        $crate::queue_contract_tests!(@cases $make;
            a_superseded_run_ends_with_what_it_missed,
            dropping_past_dates_counts_them_missed,
            dropping_a_product_leaves_the_others,
            a_task_released_after_its_run_ended_leaves_the_queue,
            outcomes_count_in_every_run_waiting_on_them,
            manual_work_is_claimed_before_scheduled_work,
        );
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let Some((store, queue, teardown)) = $make.await else {
                    return;
                };
                $crate::testing::queue_contract::$case(store, queue).await;
                $crate::testing::queue_contract::Teardown::finish(teardown).await;
            }
        )*
    };
}

/// What a queue subject tears down after a case (a database); `()` for nothing.
pub trait Teardown {
    /// Removes what the subject created.
    fn finish(self) -> impl std::future::Future<Output = ()> + Send;
}

impl Teardown for () {
    async fn finish(self) {}
}
