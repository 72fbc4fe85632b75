//! The task queue: one entry per (product, date), ordered by priority.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};

use super::work_queue::{Readiness, TaskChooser};
use crate::domain::{ProductId, RunId, SyncTask, TaskPriority};

/// (product, date): the identity of a task.
pub(crate) type TaskKey = (ProductId, NaiveDate);

/// Bookkeeping that travels with a task between attempts.
#[derive(Debug, Clone, Default)]
pub(crate) struct TaskEntry {
    /// Runs waiting on this task's outcome.
    pub runs: Vec<RunId>,
    /// Attempts that ended in a transient failure.
    pub attempts: u32,
    /// Backoff: not to be sent before this instant.
    pub not_before: Option<DateTime<Utc>>,
}

/// What pushing a task did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Enqueued {
    /// A new pending task.
    Queued,
    /// Merged into a pending task for the same (product, date).
    Merged,
    /// Attached to the in-flight fetch for the same (product, date).
    Attached,
}

#[derive(Debug, Default)]
pub(crate) struct TaskQueue {
    pending: BTreeMap<(TaskPriority, ProductId), TaskEntry>,
    index: HashMap<TaskKey, TaskPriority>,
    in_flight: HashMap<TaskKey, Vec<RunId>>,
}

impl TaskQueue {
    /// Adds `task` for `run`, merging with a pending or in-flight task of the same key.
    pub fn push(&mut self, task: &SyncTask, run: RunId) -> Enqueued {
        let key = (task.product, task.date);
        if let Some(runs) = self.in_flight.get_mut(&key) {
            runs.push(run);
            return Enqueued::Attached;
        }
        match self.index.get(&key).copied() {
            Some(existing) => {
                let mut entry = self
                    .pending
                    .remove(&(existing, task.product))
                    .expect("index and pending agree");
                entry.runs.push(run);
                // A merged task keeps the higher (smaller) priority of the two.
                let priority = existing.min(task.priority);
                self.index.insert(key, priority);
                self.pending.insert((priority, task.product), entry);
                Enqueued::Merged
            }
            None => {
                self.index.insert(key, task.priority);
                self.pending.insert(
                    (task.priority, task.product),
                    TaskEntry {
                        runs: vec![run],
                        ..TaskEntry::default()
                    },
                );
                Enqueued::Queued
            }
        }
    }

    /// Whether a task can be taken at `now`.
    pub fn readiness(&self, now: DateTime<Utc>) -> Readiness {
        let mut earliest: Option<DateTime<Utc>> = None;
        for entry in self.pending.values() {
            match entry.not_before {
                Some(at) if at > now => earliest = Some(earliest.map_or(at, |e| e.min(at))),
                _ => return Readiness::Ready,
            }
        }
        earliest.map_or(Readiness::Empty, Readiness::At)
    }

    /// Takes the highest-priority task that is not backing off, and marks it in flight.
    pub fn pop_ready(&mut self, now: DateTime<Utc>) -> Option<(SyncTask, TaskEntry)> {
        let (&(priority, product), _) = self
            .pending
            .iter()
            .find(|(_, entry)| entry.not_before.is_none_or(|at| at <= now))?;
        let entry = self
            .pending
            .remove(&(priority, product))
            .expect("found above");
        let key = (product, priority.date);
        self.index.remove(&key);
        self.in_flight.insert(key, entry.runs.clone());
        let task = SyncTask {
            product,
            date: priority.date,
            priority,
        };
        Some((task, entry))
    }

    /// Takes the ready task `chooser` picks among the ready ones of the first class that has
    /// any (manual work before scheduled work; in priority order), and marks it in flight.
    pub fn pop_chosen(
        &mut self,
        now: DateTime<Utc>,
        chooser: &dyn TaskChooser,
    ) -> Option<(SyncTask, TaskEntry)> {
        if chooser.takes_first() {
            return self.pop_ready(now);
        }
        let ready = |entry: &TaskEntry| entry.not_before.is_none_or(|at| at <= now);
        let (&(first, _), _) = self.pending.iter().find(|(_, entry)| ready(entry))?;
        let candidates: Vec<SyncTask> = self
            .pending
            .iter()
            .filter(|(&(priority, _), entry)| priority.class == first.class && ready(entry))
            .map(|(&(priority, product), _)| SyncTask {
                product,
                date: priority.date,
                priority,
            })
            .collect();
        let chosen = candidates.get(chooser.choose(&candidates, now)?)?.clone();
        let entry = self
            .pending
            .remove(&(chosen.priority, chosen.product))
            .expect("candidate is pending");
        let key = (chosen.product, chosen.date);
        self.index.remove(&key);
        self.in_flight.insert(key, entry.runs.clone());
        Some((chosen, entry))
    }

    /// Ends an in-flight task; returns every run waiting on it (including runs attached
    /// while it was in flight).
    pub fn finish(&mut self, key: TaskKey) -> Vec<RunId> {
        self.in_flight.remove(&key).unwrap_or_default()
    }

    /// Puts an in-flight task back (retry or rate limit), keeping runs attached meanwhile.
    /// A task no run waits on any more (its runs were superseded meanwhile) is dropped.
    pub fn requeue(&mut self, task: SyncTask, mut entry: TaskEntry) {
        let key = (task.product, task.date);
        entry.runs = self.finish(key);
        if entry.runs.is_empty() {
            return;
        }
        self.index.insert(key, task.priority);
        self.pending.insert((task.priority, task.product), entry);
    }

    /// Drops every pending task; returns the runs that were waiting on them.
    pub fn clear_pending(&mut self) -> Vec<RunId> {
        self.index.clear();
        std::mem::take(&mut self.pending)
            .into_values()
            .flat_map(|entry| entry.runs)
            .collect()
    }

    /// Drops the pending tasks whose key satisfies `drop`; returns the runs that were waiting
    /// on them, once per dropped task. In-flight tasks finish as they are.
    pub fn drop_pending(&mut self, drop: impl Fn(TaskKey) -> bool) -> Vec<RunId> {
        let mut waiting = Vec::new();
        self.pending.retain(|&(priority, product), entry| {
            let key = (product, priority.date);
            if !drop(key) {
                return true;
            }
            waiting.extend(entry.runs.iter().copied());
            false
        });
        self.index.retain(|key, _| !drop(*key));
        waiting
    }

    /// Stops counting `run` on any task; pending tasks no other run waits on are dropped.
    pub fn detach_run(&mut self, run: RunId) {
        let mut emptied = Vec::new();
        for (&(priority, product), entry) in self.pending.iter_mut() {
            entry.runs.retain(|waiting| *waiting != run);
            if entry.runs.is_empty() {
                emptied.push((priority, product));
            }
        }
        for (priority, product) in emptied {
            self.pending.remove(&(priority, product));
            self.index.remove(&(product, priority.date));
        }
        for runs in self.in_flight.values_mut() {
            runs.retain(|waiting| *waiting != run);
        }
    }

    /// Pending tasks.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Tasks being fetched.
    pub fn in_flight_len(&self) -> usize {
        self.in_flight.len()
    }
}
