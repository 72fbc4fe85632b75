use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{ProductId, RunId, RunOwner};

/// A stored, editable sync job: a cron schedule and a window of days from today.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncJob {
    /// Unique name, e.g. `sync-today`.
    pub name: String,
    /// Five-field cron expression, evaluated in the service time zone.
    pub schedule: String,
    /// Window N = dates `[today, today + N)`.
    pub window_days: u32,
    /// Disabled jobs are not scheduled (a manual trigger still works).
    pub enabled: bool,
}

impl SyncJob {
    /// The three jobs every deployment starts with (SPEC §4).
    pub fn defaults() -> Vec<SyncJob> {
        [
            ("sync-today", "*/15 * * * *", 1),
            ("sync-next-7-days", "0 */4 * * *", 7),
            ("sync-next-30-days", "0 0 * * *", 30),
        ]
        .into_iter()
        .map(|(name, schedule, window_days)| SyncJob {
            name: name.to_owned(),
            schedule: schedule.to_owned(),
            window_days,
            enabled: true,
        })
        .collect()
    }
}

/// A change to a job; `None` leaves the field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobPatch {
    /// New cron expression (validated by the caller).
    pub schedule: Option<String>,
    /// New window in days.
    pub window_days: Option<u32>,
    /// Enable or disable.
    pub enabled: Option<bool>,
}

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    /// A cron tick.
    Schedule,
    /// An operator (API, CLI).
    Manual,
    /// The one run that makes up for ticks missed while the service was down.
    CatchUp,
}

/// Lifecycle of a run (SPEC §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    /// Tasks are still pending.
    Running,
    /// Every task was fetched or skipped as fresh.
    Succeeded,
    /// Some tasks failed, some were fetched.
    Partial,
    /// Every task that was attempted failed.
    Failed,
    /// Its owner stopped (or is gone); a live process re-plans the rest.
    Interrupted,
    /// Ticks of the job that were not run: sync was paused (or the job was disabled before
    /// they could be caught up). One row stands for consecutive skipped ticks
    /// (`skipped_ticks`), due at the first of them.
    Skipped,
}

/// `as_str`, `Display` and `FromStr` for a fieldless enum with fixed spellings.
macro_rules! text_enum {
    ($ty:ty { $($variant:ident => $text:literal),* $(,)? }) => {
        impl $ty {
            /// The stored / wire spelling.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),* }
            }
        }
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl std::str::FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok(Self::$variant),)*
                    other => Err(format!(
                        "`{other}` is not one of: {}",
                        [$($text),*].join(", ")
                    )),
                }
            }
        }
    };
}

pub(crate) use text_enum;

text_enum!(Trigger { Schedule => "schedule", Manual => "manual", CatchUp => "catch-up" });
text_enum!(RunStatus {
    Running => "running",
    Succeeded => "succeeded",
    Partial => "partial",
    Failed => "failed",
    Interrupted => "interrupted",
    Skipped => "skipped",
});

/// Counters of a run (SPEC §2). `planned` = every (product, date) of the window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCounts {
    /// (product, date) pairs in the run's window.
    pub planned: u32,
    /// Successful partner fetches applied to the store.
    pub fetched: u32,
    /// Fetches whose content differed from what was stored.
    pub changed: u32,
    /// Fetches whose content hash matched what was stored.
    pub unchanged: u32,
    /// Pairs skipped because they were fetched since the run was due.
    pub skipped_fresh: u32,
    /// Pairs that failed after retries (or at once, for permanent errors).
    pub failed: u32,
    /// Pairs the budget could not reach before the run ended: a newer tick of its job
    /// superseded it, midnight moved its dates into the past, or their product was deleted
    /// or disabled.
    #[serde(default)]
    pub missed: u32,
}

impl RunCounts {
    /// Adds `other` to these counters.
    pub fn add(&mut self, other: &RunCounts) {
        self.planned += other.planned;
        self.fetched += other.fetched;
        self.changed += other.changed;
        self.unchanged += other.unchanged;
        self.skipped_fresh += other.skipped_fresh;
        self.failed += other.failed;
        self.missed += other.missed;
    }

    /// Pairs with a final outcome.
    pub fn settled(&self) -> u32 {
        self.fetched + self.skipped_fresh + self.failed + self.missed
    }

    /// Final status of a run with these counts that was not interrupted: `partial` when it
    /// missed anything.
    pub fn final_status(&self) -> RunStatus {
        if self.missed > 0 {
            return RunStatus::Partial;
        }
        match (self.failed, self.fetched + self.skipped_fresh) {
            (0, _) => RunStatus::Succeeded,
            (_, 0) => RunStatus::Failed,
            _ => RunStatus::Partial,
        }
    }
}

/// What is known when a run starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRun {
    /// Job name (`manual-sync` for a one-off window sync).
    pub job: String,
    /// What started it.
    pub trigger: Trigger,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// The time it was due: data fetched at or after this is fresh for it.
    pub due_at: DateTime<Utc>,
    /// Days of its window, from today (kept so an interrupted run can be re-planned).
    pub window_days: u32,
    /// The products it covers; `None` = every enabled product.
    pub products: Option<Vec<ProductId>>,
    /// Manual work (a trigger, a one-off sync, or the re-plan of one), fetched before
    /// scheduled work.
    pub manual: bool,
    /// The process that starts it.
    pub owner: Option<RunOwner>,
    /// The interrupted run this one re-plans: creating it claims that re-plan, once.
    pub replans: Option<RunId>,
}

/// One recorded run of a job (SPEC §2 execution log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRun {
    /// Run id.
    pub id: RunId,
    /// Job name.
    pub job: String,
    /// What started it.
    pub trigger: Trigger,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it was due (cron tick time, or start time for manual runs).
    pub due_at: DateTime<Utc>,
    /// Days of its window, from today; 0 when unknown (runs recorded before it was kept).
    #[serde(default)]
    pub window_days: u32,
    /// The products it covers; `None` = every enabled product.
    #[serde(default)]
    pub products: Option<Vec<ProductId>>,
    /// Manual work, fetched before scheduled work.
    #[serde(default)]
    pub manual: bool,
    /// The process that started it (or adopted it); `None` for runs recorded before owners.
    #[serde(default)]
    pub owner: Option<RunOwner>,
    /// The interrupted run this one re-plans.
    #[serde(default)]
    pub replans: Option<RunId>,
    /// Interrupted and not re-planned yet: a live server re-plans it (then it is false).
    #[serde(default)]
    pub replan_pending: bool,
    /// For a `skipped` row: how many consecutive ticks it stands for.
    #[serde(default)]
    pub skipped_ticks: u32,
    /// When it finished, if it did.
    pub finished_at: Option<DateTime<Utc>>,
    /// Current status.
    pub status: RunStatus,
    /// Counters.
    pub counts: RunCounts,
    /// Error lines, `product 14 on 2025-03-25: …`, bounded in length.
    pub errors: Vec<String>,
}

impl SyncRun {
    /// Most error lines kept per run, so one bad partner day can't bloat the log.
    pub const MAX_ERRORS: usize = 50;
}

/// Sync state of one (product, date).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayState {
    /// Product.
    pub product: ProductId,
    /// Date.
    pub date: NaiveDate,
    /// Last successful fetch, if any.
    pub synced_at: Option<DateTime<Utc>>,
    /// Hash of the last applied content.
    pub hash: Option<String>,
    /// Last fetch error, cleared by a successful fetch.
    pub last_error: Option<String>,
}

/// Which work goes first: manual work (triggers, one-off syncs) before scheduled work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WorkClass {
    /// Asked for by an operator; fetched first.
    Manual,
    /// Planned by the schedule (ticks and their catch-ups).
    #[default]
    Scheduled,
}

impl WorkClass {
    /// The class of a run's tasks.
    pub fn of(manual: bool) -> Self {
        if manual {
            WorkClass::Manual
        } else {
            WorkClass::Scheduled
        }
    }
}

/// Ordering key of a task: manual work first, then nearer dates, then older data (never
/// synced first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskPriority {
    /// Manual before scheduled.
    pub class: WorkClass,
    /// The task's date; earlier sorts first.
    pub date: NaiveDate,
    /// Last successful sync; `None` (never) sorts before any time.
    pub synced_at: Option<DateTime<Utc>>,
}

/// One unit of partner work: fetch one product on one date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncTask {
    /// Product.
    pub product: ProductId,
    /// Date.
    pub date: NaiveDate,
    /// Priority key.
    pub priority: TaskPriority,
}
