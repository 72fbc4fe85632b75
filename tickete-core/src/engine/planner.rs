//! Turns a job's window into tasks.

use std::collections::HashMap;

use chrono::{DateTime, Days, NaiveDate, Utc};

use crate::domain::{DayState, ProductId, SyncTask, TaskPriority, WorkClass};

/// The dates of a window of `days` starting `today`: `[today, today + days)`.
pub fn window_dates(today: NaiveDate, days: u32) -> Vec<NaiveDate> {
    (0..u64::from(days))
        .filter_map(|offset| today.checked_add_days(Days::new(offset)))
        .collect()
}

/// Tasks for every (product, date) of the window, and how many pairs were skipped because they
/// were fetched successfully at or after `due_at`. Tasks come out in priority order.
pub fn plan(
    products: &[ProductId],
    dates: &[NaiveDate],
    states: &[DayState],
    due_at: DateTime<Utc>,
) -> (Vec<SyncTask>, u32) {
    let synced: HashMap<(ProductId, NaiveDate), DateTime<Utc>> = states
        .iter()
        .filter_map(|state| Some(((state.product, state.date), state.synced_at?)))
        .collect();
    let mut skipped_fresh = 0;
    let mut tasks = Vec::with_capacity(products.len() * dates.len());
    for &product in products {
        for &date in dates {
            let synced_at = synced.get(&(product, date)).copied();
            if synced_at.is_some_and(|at| at >= due_at) {
                skipped_fresh += 1;
                continue;
            }
            tasks.push(SyncTask {
                product,
                date,
                priority: TaskPriority {
                    class: WorkClass::Scheduled,
                    date,
                    synced_at,
                },
            });
        }
    }
    tasks.sort_by_key(|task| (task.priority, task.product));
    (tasks, skipped_fresh)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pid(raw: u32) -> ProductId {
        ProductId::new(raw).unwrap()
    }

    #[test]
    fn nearer_dates_first_then_older_data_and_fresh_pairs_skipped() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let due = DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z")
            .unwrap()
            .to_utc();
        let dates = window_dates(today, 2);
        let state = |product, date, minutes_before_due: i64| DayState {
            product: pid(product),
            date,
            synced_at: Some(due - chrono::Duration::minutes(minutes_before_due)),
            hash: None,
            last_error: None,
        };
        let states = vec![
            state(14, dates[0], 5),   // stale, synced recently
            state(15, dates[0], 500), // staler
            state(14, dates[1], -1),  // fetched after the run was due: fresh
        ];
        let (tasks, skipped) = plan(&[pid(14), pid(15), pid(16)], &dates, &states, due);
        let order: Vec<_> = tasks.iter().map(|t| (t.product.get(), t.date)).collect();
        assert_eq!(skipped, 1);
        assert_eq!(
            order,
            vec![
                (16, dates[0]), // never synced
                (15, dates[0]),
                (14, dates[0]),
                (15, dates[1]),
                (16, dates[1]),
            ]
        );
    }
}
