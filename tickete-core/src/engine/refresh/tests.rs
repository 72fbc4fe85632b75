//! The refresh policy's pruned choice against the full ranking.

use chrono::{Days, Duration};

use super::*;
use crate::domain::TaskPriority;
use crate::SyncJob;

/// Over budget, the pruned choice is the choice of ranking every view, on states where
/// the winner is in each tier (stale today, overdue or never fetched, the rest).
#[test]
fn the_pruned_choice_over_budget_is_the_full_ranking() {
    let now = DateTime::parse_from_rfc3339("2026-03-02T12:00:00Z")
        .unwrap()
        .to_utc();
    let today = now.date_naive();
    let policy = RefreshPolicy::new(PolicyKind::Freshness, 1);
    let products: Vec<ProductId> = (1..=40).map(|id| ProductId::new(id).unwrap()).collect();
    let targets = Targets::of_jobs(&SyncJob::defaults(), chrono_tz::Tz::UTC, now);
    policy.update(targets, &products, today);
    assert_eq!(policy.state().regime, Regime::Budget);
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move |bound: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % bound
    };
    let mut reads = Vec::new();
    for _ in 0..600 {
        let product = products[next(40) as usize];
        let date = today + Days::new(next(30));
        for fetch in 0..3 {
            let seen = Seen::Day {
                changed: next(3) == 0,
                empty: product.get() % 7 == 0,
            };
            let at = now - Duration::hours(30) + Duration::hours(fetch * 10);
            policy.observe(product, date, seen, at);
        }
        reads.push(((product, date), 1.0 + next(20) as f64));
    }
    policy.replace_reads(reads, now);
    let mut tiers_won = [0; 4];
    for round in 0..200 {
        let oldest_minutes = [20, 180, 1200, 2400][round % 4];
        let candidates: Vec<SyncTask> = (0..300)
            .map(|_| {
                let product = products[next(40) as usize];
                let date = today + Days::new(next(30));
                let synced_at = (round % 5 != 0 || next(50) != 0)
                    .then(|| now - Duration::minutes(next(oldest_minutes) as i64 + 1));
                SyncTask {
                    product,
                    date,
                    priority: TaskPriority {
                        class: crate::domain::WorkClass::Scheduled,
                        date,
                        synced_at,
                    },
                }
            })
            .collect();
        let state = policy.state();
        let full = policy::choose(&policy.views(&state, &candidates, now), Regime::Budget);
        let pruned = choose_over_budget(&state, &candidates, now);
        assert_eq!(pruned, full, "round {round}");
        let views = policy.views(&state, &candidates, now);
        tiers_won[usize::from(policy::rank(&views[full.unwrap()], Regime::Budget).tier)] += 1;
    }
    assert!(tiers_won[1..].iter().all(|won| *won > 0), "{tiers_won:?}");
}
