//! The policy's choices on hand-made states.

use super::*;
use crate::engine::Targets;
use crate::SyncJob;
use chrono::{TimeZone, Utc};

fn view(
    days_ahead: u32,
    age_minutes: Option<f64>,
    target_minutes: i64,
    rate_per_hour: f64,
) -> PairView {
    PairView {
        days_ahead,
        age: age_minutes.map(|m| m * 60.0),
        target: Some(Duration::minutes(target_minutes)),
        rate: rate_per_hour / 3600.0,
        read_boost: 1.0,
        empty_day: false,
        open_chance: 1.0,
    }
}

#[test]
fn within_budget_nearest_date_then_oldest_and_never_fetched_as_oldest() {
    let views = [
        view(3, Some(200.0), 240, 0.1),
        view(0, Some(20.0), 15, 5.0),
        view(0, Some(25.0), 15, 0.0),
        view(20, Some(1400.0), 1440, 9.0),
    ];
    assert_eq!(choose(&views, Regime::Targets), Some(2));
    let mut with_new = views.to_vec();
    with_new.push(view(0, None, 15, 0.0));
    assert_eq!(choose(&with_new, Regime::Targets), Some(4));
    assert_eq!(choose(&[], Regime::Targets), None);
    // A new date at the far end of the month waits its turn within budget, not over it.
    let far_new = [view(20, Some(1400.0), 1440, 0.0), view(29, None, 1440, 0.0)];
    assert_eq!(choose(&far_new, Regime::Targets), Some(0));
    assert_eq!(choose(&far_new, Regime::Budget), Some(1));
}

#[test]
fn over_budget_a_pair_that_changes_beats_one_that_never_does() {
    let still = view(1, Some(600.0), 240, 0.001);
    let moving = view(1, Some(60.0), 240, 2.0);
    assert_eq!(choose(&[still, moving], Regime::Budget), Some(1));
}

#[test]
fn over_budget_nearer_and_read_pairs_weigh_more() {
    let far = view(10, Some(300.0), 1440, 1.0);
    let near = view(1, Some(300.0), 240, 1.0);
    assert_eq!(choose(&[far, near], Regime::Budget), Some(1));
    let mut read_far = far;
    read_far.read_boost = 9.0;
    assert_eq!(choose(&[near, read_far], Regime::Budget), Some(1));
}

#[test]
fn the_floor_comes_before_any_value_and_empty_days_reach_it_sooner() {
    // 40 h old, a rate of nothing: past 3/4 of 48 h, so before a fast pair of today.
    let old = view(20, Some(40.0 * 60.0), 1440, 0.0);
    let hot = view(0, Some(20.0), 15, 20.0);
    assert_eq!(choose(&[hot, old], Regime::Budget), Some(1));
    // 20 h: not yet for an ordinary pair, but an empty day's floor is 24 h.
    let mut empty = view(20, Some(20.0 * 60.0), 1440, 0.0);
    assert_eq!(choose(&[hot, empty], Regime::Budget), Some(0));
    empty.empty_day = true;
    assert_eq!(choose(&[hot, empty], Regime::Budget), Some(1));
    assert_eq!(floor(Some(Duration::hours(30)), false), Duration::hours(60));
}

#[test]
fn the_same_state_gives_the_same_choice() {
    let views: Vec<PairView> = (0..50)
        .map(|i| view(i % 30, Some(f64::from(i * 37 % 500)), 240, f64::from(i % 7)))
        .collect();
    let first = choose(&views, Regime::Budget);
    assert_eq!(first, choose(&views, Regime::Budget));
}

#[test]
fn demand_of_the_default_jobs_is_1_6_budgets_at_450_products() {
    let now = Utc.with_ymd_and_hms(2026, 3, 10, 9, 7, 0).unwrap();
    let targets = Targets::of_jobs(&SyncJob::defaults(), chrono_tz::UTC, now);
    let demand = demand_per_minute(&targets, 450, 0, 0);
    // 450 × (1/15 + 6/240 + 23/1440) = 48.4 a minute.
    assert!((demand - 48.4).abs() < 0.1, "{demand}");
    assert!(demand_per_minute(&targets, 200, 0, 0) < 30.0);
    // Empty days and unknown products cost less.
    assert!(demand_per_minute(&targets, 450, 0, 2000) < demand);
    assert!(demand_per_minute(&targets, 400, 50, 0) < demand);
}

#[test]
fn a_spare_call_goes_to_the_pair_most_likely_stale_and_read() {
    // Just fetched vs an hour old at the same rate: the older one.
    let fresh = view(2, Some(1.0), 240, 1.0);
    let hour_old = view(2, Some(60.0), 240, 1.0);
    assert_eq!(choose_spare(&[fresh, hour_old]), Some(1));
    // Same age: the one that changes more, whatever its target.
    let slow = view(0, Some(10.0), 15, 0.01);
    let busy = view(5, Some(10.0), 240, 6.0);
    assert_eq!(choose_spare(&[slow, busy]), Some(1));
    // Same age and rate: the nearer date, then the read one.
    let far = view(5, Some(120.0), 240, 1.0);
    let near = view(1, Some(120.0), 240, 1.0);
    assert_eq!(choose_spare(&[far, near]), Some(1));
    let mut read_far = far;
    read_far.read_boost = 8.0;
    assert_eq!(choose_spare(&[near, read_far]), Some(1));
    // Never fetched is certainly stale.
    assert_eq!(choose_spare(&[hour_old, view(3, None, 240, 1.0)]), Some(1));
    assert_eq!(choose_spare(&[]), None);
}

/// A cold store over budget fills by value: the most-read product's far date before an
/// unread product's nearer one; without reads, nearest first; and never-fetched pairs still
/// before every fetched one.
#[test]
fn over_budget_a_fresh_store_fills_the_most_read_nearest_pairs_first() {
    let mut popular_day_4 = view(4, None, 240, 0.0);
    popular_day_4.read_boost = 9.0;
    let quiet_day_3 = view(3, None, 240, 0.0);
    assert_eq!(
        choose(&[quiet_day_3, popular_day_4], Regime::Budget),
        Some(1)
    );
    let quiet_day_1 = view(1, None, 240, 0.0);
    assert_eq!(choose(&[quiet_day_3, quiet_day_1], Regime::Budget), Some(1));
    let overdue = view(0, Some(48.0 * 60.0), 1440, 1.0);
    let far_unread = view(60, None, 1440, 0.0);
    assert_eq!(choose(&[overdue, far_unread], Regime::Budget), Some(1));
    // A day on a weekday its product was closed the last times comes after an open-looking
    // day further out; it is still filled before any fetched pair.
    let mut likely_closed_day_1 = view(1, None, 240, 0.0);
    likely_closed_day_1.open_chance = 0.2;
    assert_eq!(
        choose(&[likely_closed_day_1, quiet_day_3], Regime::Budget),
        Some(1)
    );
    assert_eq!(
        choose(&[overdue, likely_closed_day_1], Regime::Budget),
        Some(1)
    );
}
