//! Cron across DST changes, checked against an independent model: every minute of a whole year
//! is walked in UTC, converted to local time with chrono-tz, and matched by hand-written field
//! tests following Vixie cron's rules (no croner, no code under test). The ticks the engine's
//! `next_tick` produces must be exactly those instants.

use chrono::{DateTime, Duration, NaiveDateTime, Timelike, Utc};
use chrono_tz::Tz;
use tickete_core::engine::schedule::{latest_tick_between, next_tick, parse_schedule};

/// An expression, whether Vixie treats it as a wildcard job, and a hand-written matcher.
struct Case {
    expression: &'static str,
    wildcard: bool,
    matches: fn(NaiveDateTime) -> bool,
}

const CASES: &[Case] = &[
    Case {
        expression: "*/15 * * * *",
        wildcard: true,
        matches: |t| t.minute() % 15 == 0,
    },
    Case {
        expression: "0 */4 * * *",
        wildcard: true,
        matches: |t| t.minute() == 0 && t.hour() % 4 == 0,
    },
    Case {
        expression: "0 0 * * *",
        wildcard: false,
        matches: |t| t.minute() == 0 && t.hour() == 0,
    },
    Case {
        expression: "30 1 * * *",
        wildcard: false,
        matches: |t| t.minute() == 30 && t.hour() == 1,
    },
    Case {
        expression: "45 1 * * *",
        wildcard: false,
        matches: |t| t.minute() == 45 && t.hour() == 1,
    },
    Case {
        expression: "15 2 * * *",
        wildcard: false,
        matches: |t| t.minute() == 15 && t.hour() == 2,
    },
    Case {
        expression: "30 2 * * *",
        wildcard: false,
        matches: |t| t.minute() == 30 && t.hour() == 2,
    },
];

const ZONES: &[&str] = &[
    "America/New_York",
    "Europe/London",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
];

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// Expected ticks of every case in `[from, until)`, minute by minute.
fn model(tz: Tz, from: DateTime<Utc>, until: DateTime<Utc>) -> Vec<Vec<DateTime<Utc>>> {
    let mut ticks = vec![Vec::new(); CASES.len()];
    let local = |t: DateTime<Utc>| t.with_timezone(&tz).naive_local();
    let mut latest_seen = local(from - Duration::minutes(1));
    let mut previous = latest_seen;
    let mut t = from;
    while t < until {
        let now = local(t);
        // Local minutes the clock jumped over (spring forward).
        let skipped: Vec<NaiveDateTime> =
            std::iter::successors(Some(previous + Duration::minutes(1)), |m| {
                Some(*m + Duration::minutes(1))
            })
            .take_while(|m| *m < now)
            .collect();
        // A local time seen before (fall back) is a repeat.
        let first_pass = now > latest_seen;
        for (case, ticks) in CASES.iter().zip(ticks.iter_mut()) {
            let fires = if case.wildcard {
                (case.matches)(now)
            } else {
                (first_pass && (case.matches)(now)) || skipped.iter().any(|m| (case.matches)(*m))
            };
            if fires {
                ticks.push(t);
            }
        }
        latest_seen = latest_seen.max(now);
        previous = now;
        t += Duration::minutes(1);
    }
    ticks
}

/// What the engine fires in `[from, until)`: `next_tick` from `from - 1 s` on.
fn engine_ticks(
    expression: &str,
    tz: Tz,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Vec<DateTime<Utc>> {
    let cron = parse_schedule(expression).unwrap();
    let mut ticks = Vec::new();
    let mut cursor = from - Duration::seconds(1);
    while let Some(tick) = next_tick(&cron, tz, cursor).filter(|tick| *tick < until) {
        assert!(
            tick > cursor,
            "{expression} in {tz}: {tick} is not after {cursor}"
        );
        ticks.push(tick);
        cursor = tick;
    }
    ticks
}

#[test]
fn a_year_of_ticks_in_five_zones_matches_vixie_cron() {
    let (from, until) = (utc("2025-07-01T00:00:00Z"), utc("2026-07-01T00:00:00Z"));
    for zone in ZONES {
        let tz: Tz = zone.parse().unwrap();
        let expected = model(tz, from, until);
        for (case, expected) in CASES.iter().zip(expected) {
            let actual = engine_ticks(case.expression, tz, from, until);
            assert_eq!(
                actual.len(),
                expected.len(),
                "{} in {zone}: tick count over the year",
                case.expression
            );
            assert_eq!(actual, expected, "{} in {zone}", case.expression);
        }
    }
}

#[test]
fn year_counts_follow_the_rules_whatever_the_zone() {
    // 365 days: a wildcard job keeps its real-time interval through both changes, a fixed
    // job fires exactly once a day (once in the repeated hour, once for a skipped time).
    let (from, until) = (utc("2025-07-01T00:00:00Z"), utc("2026-07-01T00:00:00Z"));
    for zone in ZONES {
        let tz: Tz = zone.parse().unwrap();
        let count = |expression| engine_ticks(expression, tz, from, until).len();
        assert_eq!(count("*/15 * * * *"), 365 * 96, "{zone}");
        for fixed in [
            "0 0 * * *",
            "30 1 * * *",
            "45 1 * * *",
            "15 2 * * *",
            "30 2 * * *",
        ] {
            assert_eq!(count(fixed), 365, "{fixed} in {zone}");
        }
    }
}

#[test]
fn a_fifteen_minute_job_fires_100_times_on_a_25_hour_day() {
    let new_york: Tz = "America/New_York".parse().unwrap();
    // 2025-11-02 local day: 04:00Z to 05:00Z next day (25 hours).
    let ticks = engine_ticks(
        "*/15 * * * *",
        new_york,
        utc("2025-11-02T04:00:00Z"),
        utc("2025-11-03T05:00:00Z"),
    );
    assert_eq!(ticks.len(), 100);
    assert!(ticks
        .windows(2)
        .all(|pair| pair[1] - pair[0] == Duration::minutes(15)));
}

#[test]
fn next_run_is_never_in_the_past_around_any_change() {
    // Every second-granular start point in the hours around each change of the year.
    let cron = parse_schedule("*/15 * * * *").unwrap();
    let daily = parse_schedule("30 1 * * *").unwrap();
    for (zone, change) in [
        ("America/New_York", "2025-11-02T06:00:00Z"),
        ("America/New_York", "2026-03-08T07:00:00Z"),
        ("Europe/London", "2025-10-26T01:00:00Z"),
        ("Europe/London", "2026-03-29T01:00:00Z"),
        ("Australia/Sydney", "2025-10-04T16:00:00Z"),
        ("Australia/Sydney", "2026-04-04T16:00:00Z"),
        ("Australia/Lord_Howe", "2025-10-04T15:30:00Z"),
        ("Australia/Lord_Howe", "2026-04-04T15:00:00Z"),
    ] {
        let tz: Tz = zone.parse().unwrap();
        let change = utc(change);
        let mut t = change - Duration::hours(3);
        while t < change + Duration::hours(3) {
            for cron in [&cron, &daily] {
                let next = next_tick(cron, tz, t).unwrap();
                assert!(next > t, "{zone}: next after {t} is {next}");
                assert!(next - t <= Duration::hours(25), "{zone}: {next} after {t}");
            }
            t += Duration::seconds(37);
        }
    }
}

#[test]
fn catch_up_after_a_fall_back_is_one_tick_not_before_its_start() {
    // The loop that fired 7,447 runs: from 05:59:30Z the latest tick up to a minute later
    // must be 06:00Z (01:00 EST) once, and nothing after that until 06:15Z.
    let new_york: Tz = "America/New_York".parse().unwrap();
    let cron = parse_schedule("*/15 * * * *").unwrap();
    let start = utc("2025-11-02T05:59:30Z");
    let first = latest_tick_between(&cron, new_york, start, start + Duration::seconds(60));
    assert_eq!(first, Some(utc("2025-11-02T06:00:00Z")));
    let again = latest_tick_between(
        &cron,
        new_york,
        first.unwrap(),
        first.unwrap() + Duration::minutes(14),
    );
    assert_eq!(again, None);
}
