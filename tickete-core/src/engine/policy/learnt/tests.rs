//! What is learnt from fetches, on hand-made histories.

use super::*;
use chrono::Duration;

fn pid(raw: u32) -> ProductId {
    ProductId::new(raw).unwrap()
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-02T00:00:00Z")
        .unwrap()
        .to_utc()
}

#[test]
fn a_quiet_pair_is_believed_slow_and_a_waking_one_fast_within_a_few_fetches() {
    let mut learnt = Learnt::default();
    let date = NaiveDate::from_ymd_opt(2026, 3, 5).unwrap();
    let day = |changed| Seen::Day {
        changed,
        empty: false,
    };
    for hour in 0..10 {
        learnt.observe(
            pid(1),
            date,
            3,
            day(hour == 0),
            t0() + Duration::hours(hour),
        );
    }
    let quiet = learnt.rate(pid(1), date, 3);
    assert!(quiet < PRIOR_RATE / 10.0, "{quiet}");
    for hour in 10..13 {
        learnt.observe(pid(1), date, 3, day(true), t0() + Duration::hours(hour));
    }
    let waking = learnt.rate(pid(1), date, 3);
    assert!(waking > PRIOR_RATE, "{waking}");
}

#[test]
fn stored_observations_round_trip_and_hostile_ones_are_refused() {
    let observations = vec![
        Observation {
            interval: 3600.0,
            changed: true,
        },
        Observation {
            interval: 1800.5,
            changed: false,
        },
    ];
    let text = encode_observations(&observations);
    assert_eq!(text, "3600:1,1800.5:0");
    assert_eq!(decode_observations(&text).unwrap(), observations);
    assert_eq!(decode_observations("").unwrap(), []);
    for bad in ["3600", "x:1", "-5:1", "NaN:0", "inf:1", "60:2"] {
        assert!(decode_observations(bad).is_err(), "{bad}");
    }
}

#[test]
fn absorbed_pairs_replace_older_state_and_feed_the_pool_once() {
    let date = NaiveDate::from_ymd_opt(2026, 3, 5).unwrap();
    let mut writer = PairStats::default();
    for hour in 0..6 {
        writer.record(hour % 2 == 1, false, t0() + Duration::hours(hour));
    }
    let times: Vec<_> = writer
        .timed_observations()
        .iter()
        .map(|(at, _)| *at)
        .collect();
    assert_eq!(times.first(), Some(&(t0() + Duration::hours(1))));
    assert_eq!(times.last(), Some(&(t0() + Duration::hours(5))));
    let mut learnt = Learnt::default();
    learnt.absorb(vec![(pid(1), date, writer.clone())], |_, _| 3);
    assert_eq!(learnt.pair(pid(1), date), Some(&writer));
    let pooled = learnt.rate(pid(1), NaiveDate::from_ymd_opt(2026, 3, 9).unwrap(), 3);
    // The same state again adds nothing; an older one is ignored.
    learnt.absorb(vec![(pid(1), date, writer.clone())], |_, _| 3);
    learnt.absorb(vec![(pid(1), date, PairStats::default())], |_, _| 3);
    assert_eq!(learnt.pair(pid(1), date), Some(&writer));
    let again = learnt.rate(pid(1), NaiveDate::from_ymd_opt(2026, 3, 9).unwrap(), 3);
    assert_eq!(pooled, again);
    // A fetch older than the last one known teaches nothing.
    assert_eq!(writer.record(true, false, t0()), None);
}

#[test]
fn a_product_s_closed_weekday_makes_its_other_such_dates_likely_closed() {
    let mut learnt = Learnt::default();
    // 2026-03-02 is a Monday.
    let monday =
        |week: u64| NaiveDate::from_ymd_opt(2026, 3, 2).unwrap() + chrono::Days::new(7 * week);
    let tuesday = |week: u64| monday(week) + chrono::Days::new(1);
    let empty = Seen::Day {
        changed: false,
        empty: true,
    };
    let open = Seen::Day {
        changed: true,
        empty: false,
    };
    let before = learnt.open_chance(pid(1), monday(3));
    assert!((before - (1.0 - PRIOR_CLOSED)).abs() < 1e-9, "{before}");
    for week in 0..3 {
        learnt.observe(pid(1), monday(week), 3, empty, t0());
        learnt.observe(pid(1), tuesday(week), 3, open, t0());
    }
    let closed_monday = learnt.open_chance(pid(1), monday(3));
    let open_tuesday = learnt.open_chance(pid(1), tuesday(3));
    assert!(closed_monday < 0.25, "{closed_monday}");
    assert!(open_tuesday > 0.9, "{open_tuesday}");
    // Another product knows nothing of it; a fetched date answers for itself.
    assert!((learnt.open_chance(pid(2), monday(3)) - (1.0 - PRIOR_CLOSED)).abs() < 1e-9);
    assert_eq!(learnt.open_chance(pid(1), monday(0)), 0.0);
    assert_eq!(learnt.open_chance(pid(1), tuesday(0)), 1.0);
}

#[test]
fn a_product_with_no_history_borrows_the_catalogue_s_rate() {
    let mut learnt = Learnt::default();
    let date = NaiveDate::from_ymd_opt(2026, 3, 5).unwrap();
    let changed = Seen::Day {
        changed: true,
        empty: false,
    };
    // Product 1 changes on every 10-minute fetch: far faster than the prior.
    for step in 0..8 {
        learnt.observe(
            pid(1),
            date,
            3,
            changed,
            t0() + Duration::minutes(10 * step),
        );
    }
    let borrowed = learnt.rate(pid(2), date, 3);
    assert!(borrowed > 10.0 * PRIOR_RATE, "{borrowed}");
    // At another nearness nothing was learnt yet: the prior.
    assert_eq!(learnt.rate(pid(2), date, 0), PRIOR_RATE);
}

#[test]
fn empty_days_and_unknown_products_are_learnt_and_forgotten_on_the_first_change() {
    let mut learnt = Learnt::default();
    let date = NaiveDate::from_ymd_opt(2026, 3, 5).unwrap();
    let empty = Seen::Day {
        changed: false,
        empty: true,
    };
    learnt.observe(pid(1), date, 3, empty, t0());
    learnt.observe(pid(1), date, 3, empty, t0() + Duration::hours(1));
    assert!(learnt.pair(pid(1), date).unwrap().is_empty_day());
    let opened = Seen::Day {
        changed: true,
        empty: false,
    };
    learnt.observe(pid(1), date, 3, opened, t0() + Duration::hours(2));
    assert!(!learnt.pair(pid(1), date).unwrap().is_empty_day());

    learnt.observe(pid(2), date, 3, Seen::UnknownProduct, t0());
    assert!(learnt.is_unknown(pid(2)));
    learnt.observe(pid(2), date, 3, opened, t0() + Duration::days(1));
    assert!(!learnt.is_unknown(pid(2)));
}
