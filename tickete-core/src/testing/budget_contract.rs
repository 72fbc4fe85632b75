//! The partner-budget contract: cases every [`PartnerBudget`] must pass, written once and run
//! against the in-process pacer, the budget kept in a SQLite file and the one replicas share
//! on Postgres, so the pacing rule the databases repeat in SQL is proven to agree.
//!
//! Each case takes a fresh budget of [`RATE_PER_MINUTE`] on the wall clock. Time is only ever
//! bounded from below (a call cannot come sooner than the rate allows, a held call cannot
//! come at all), so a slow machine cannot fail a case that holds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::engine::PartnerBudget;

/// The rate every case's budget is built with: one call every 100 ms.
pub const RATE_PER_MINUTE: u32 = 600;
const SPACING: Duration = Duration::from_millis(100);
/// Slack for clock granularity between the budget's clock and the test's.
const SLACK: Duration = Duration::from_millis(15);

/// Calls are spread at the rate: the fourth of four calls comes at least three spacings after
/// the first, never in a burst.
pub async fn calls_are_spaced_by_the_rate(budget: Arc<dyn PartnerBudget>) {
    assert_eq!(budget.rate_per_minute(), RATE_PER_MINUTE);
    // Timed from before the first call: four calls a spacing apart span three spacings
    // whenever the first one went, so a thread descheduled after it cannot fail this bound.
    let first = Instant::now();
    budget.acquire().await.expect("first call");
    for _ in 0..3 {
        budget.acquire().await.expect("next call");
    }
    let took = first.elapsed();
    assert!(
        took + SLACK >= SPACING * 3,
        "3 more calls after the first took {took:?}, less than 3 × {SPACING:?}"
    );
}

/// A 429 hold stops every call until the reset, shows as the hold in force, and an operator
/// can lift it: the waiting call then goes at once, and lifting twice finds nothing.
pub async fn a_hold_stops_calls_until_it_is_lifted(budget: Arc<dyn PartnerBudget>) {
    assert_eq!(budget.read_hold().await.expect("read hold"), None);
    let reset = Utc::now() + chrono::Duration::hours(1);
    budget.hold_until(reset).await.expect("hold");
    let held = budget
        .read_hold()
        .await
        .expect("read hold")
        .expect("a hold in force");
    assert!(held >= reset, "held until {held}, reset {reset}");

    let waiting = tokio::spawn({
        let budget = budget.clone();
        async move { budget.acquire().await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "a call went out during the hold");

    let lifted = budget.clear_hold().await.expect("clear hold");
    assert_eq!(lifted, Some(held));
    tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the held call goes once the hold is lifted")
        .expect("task")
        .expect("acquire");
    assert_eq!(budget.read_hold().await.expect("read hold"), None);
    assert_eq!(budget.clear_hold().await.expect("clear again"), None);
}

/// Every call taken is counted in its minute, for everyone who shares the budget: three
/// calls are three in the minutes since just before the first.
pub async fn calls_are_counted_by_minute(budget: Arc<dyn PartnerBudget>) {
    let since = Utc::now() - chrono::Duration::seconds(1);
    let before: u32 = budget
        .calls_by_minute(since)
        .await
        .expect("calls by minute")
        .iter()
        .map(|(_, calls)| calls)
        .sum();
    for _ in 0..3 {
        budget.acquire().await.expect("call");
    }
    let minutes = budget
        .calls_by_minute(since)
        .await
        .expect("calls by minute");
    let counted: u32 = minutes.iter().map(|(_, calls)| calls).sum();
    assert_eq!(counted - before, 3, "{minutes:?}");
    assert!(
        minutes
            .iter()
            .all(|(minute, _)| *minute > since - chrono::Duration::minutes(1)),
        "{minutes:?}"
    );
    let later = Utc::now() + chrono::Duration::minutes(2);
    assert!(budget.calls_by_minute(later).await.unwrap().is_empty());
}

/// One `#[tokio::test]` per budget contract case. `$make` is evaluated per test and must give
/// `Option<(Arc<dyn PartnerBudget>, impl Teardown)>` for a budget of [`RATE_PER_MINUTE`];
/// `None` skips (e.g. no Postgres).
#[macro_export]
macro_rules! budget_contract_tests {
    ($make:expr) => {
        $crate::budget_contract_tests!(@cases $make;
            calls_are_spaced_by_the_rate,
            a_hold_stops_calls_until_it_is_lifted,
            calls_are_counted_by_minute,
        );
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let Some((budget, teardown)) = $make.await else {
                    return;
                };
                $crate::testing::budget_contract::$case(budget).await;
                $crate::testing::queue_contract::Teardown::finish(teardown).await;
            }
        )*
    };
}
