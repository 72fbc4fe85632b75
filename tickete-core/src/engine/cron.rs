//! Cron ticks as instants, across DST changes the way Vixie cron does.
//!
//! croner matches wall-clock times; this module decides which instants those wall-clock times
//! are when the service time zone changes its offset:
//!
//! - A *wildcard* job (its minute or hour field starts with `*`, e.g. `*/15 * * * *`,
//!   `0 */4 * * *`) fires at every instant whose local time matches: through a fall-back it
//!   fires in both passes of the repeated hour, through a spring-forward it just has no ticks in
//!   the hour that does not exist. It keeps its interval in real time.
//! - A *fixed-time* job (`0 0 * * *`, `30 1 * * *`) fires at the first instant that has its
//!   local time: once through a fall-back, and at the transition instant when its time falls in
//!   a spring-forward gap (several skipped times fire once together).
//!
//! Every tick is strictly after the instant asked about, so a loop that asks for the tick after
//! the last one it fired can neither fire an instant twice nor go back in time.

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;

/// Longest DST shift looked back across (real zones shift by at most two hours).
const LOOK_BACK: Duration = Duration::hours(3);
/// Bound on candidate wall-clock times examined for one tick (a 1-minute job crossing a
/// repeated hour needs about 60).
const MAX_CANDIDATES: usize = 10_000;

/// Whether `cron` keeps its interval in real time across DST changes (Vixie cron: the minute
/// or the hour field starts with `*`), rather than firing at a fixed wall-clock time.
pub fn is_wildcard(cron: &Cron) -> bool {
    let mut fields = cron.as_str().split_whitespace();
    let minute = fields.next().unwrap_or_default();
    let hour = fields.next().unwrap_or_default();
    minute.starts_with('*') || hour.starts_with('*')
}

/// The next wall-clock time strictly after `after` that `cron` matches.
fn next_match(cron: &Cron, after: NaiveDateTime) -> Option<NaiveDateTime> {
    // On the UTC timeline wall-clock arithmetic has no gaps or repeats.
    cron.find_next_occurrence(&Utc.from_utc_datetime(&after), false)
        .ok()
        .map(|tick| tick.naive_utc())
}

/// The instant a spring-forward gap containing `naive` ends (local time jumps past it).
fn end_of_gap(tz: Tz, naive: NaiveDateTime) -> Option<DateTime<Utc>> {
    let mut probe = naive;
    for _ in 0..(24 * 60) {
        probe += Duration::minutes(1);
        match tz.from_local_datetime(&probe) {
            // The first wall-clock minute after the gap is the instant the clock jumped.
            LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => {
                return Some(at.with_timezone(&Utc));
            }
            LocalResult::None => {}
        }
    }
    None
}

/// Where a matching wall-clock time lands on the real timeline.
enum Landing {
    /// One instant (a plain time, a gap end, or the first pass of a repeated time).
    Once(DateTime<Utc>),
    /// The second pass of a repeated time: a smaller instant may follow among later matches.
    SecondPass(DateTime<Utc>),
    /// No instant after the one asked about.
    Never,
}

fn land(tz: Tz, naive: NaiveDateTime, wildcard: bool, after: DateTime<Utc>) -> Landing {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(at) => {
            let at = at.with_timezone(&Utc);
            if at > after {
                Landing::Once(at)
            } else {
                Landing::Never
            }
        }
        LocalResult::Ambiguous(first, second) => {
            let (first, second) = (first.with_timezone(&Utc), second.with_timezone(&Utc));
            if first > after {
                Landing::Once(first)
            } else if wildcard && second > after {
                Landing::SecondPass(second)
            } else {
                Landing::Never
            }
        }
        LocalResult::None if wildcard => Landing::Never,
        LocalResult::None => match end_of_gap(tz, naive) {
            Some(at) if at > after => Landing::Once(at),
            _ => Landing::Never,
        },
    }
}

/// The first tick of `cron` strictly after `after`, in zone `tz` (see the module docs).
pub fn next_tick(cron: &Cron, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let wildcard = is_wildcard(cron);
    let local = after.with_timezone(&tz).naive_local();
    // Inside a repeated hour, times earlier on the wall clock may still lie ahead in time.
    let mut cursor = match tz.from_local_datetime(&local) {
        LocalResult::Ambiguous(..) => local - LOOK_BACK,
        _ => local,
    };
    let mut best: Option<DateTime<Utc>> = None;
    for _ in 0..MAX_CANDIDATES {
        let Some(naive) = next_match(cron, cursor) else {
            return best;
        };
        cursor = naive;
        let repeated = matches!(tz.from_local_datetime(&naive), LocalResult::Ambiguous(..));
        if best.is_some() && !repeated {
            // Past the repeated hour: every later wall-clock time lands later.
            return best;
        }
        match land(tz, naive, wildcard, after) {
            // Matches in wall-clock order land in time order, except that a second pass
            // lands after the first-pass instants of later wall-clock times.
            Landing::Once(at) => return Some(best.map_or(at, |best| best.min(at))),
            Landing::SecondPass(at) => best = Some(best.map_or(at, |best| best.min(at))),
            Landing::Never => {}
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn cron(expression: &str) -> Cron {
        Cron::new(expression).parse().unwrap()
    }

    #[test]
    fn wildcard_jobs_are_those_whose_minute_or_hour_starts_with_a_star() {
        assert!(is_wildcard(&cron("*/15 * * * *")));
        assert!(is_wildcard(&cron("0 */4 * * *")));
        assert!(!is_wildcard(&cron("0 0 * * *")));
        assert!(!is_wildcard(&cron("30 1 * * *")));
    }

    #[test]
    fn the_tick_after_a_fall_back_instant_is_after_it() {
        let new_york: Tz = "America/New_York".parse().unwrap();
        let after = utc("2025-11-02T05:59:30Z"); // 01:59:30 EDT, an hour before 01:00 EST
        let next = next_tick(&cron("*/15 * * * *"), new_york, after).unwrap();
        assert_eq!(next, utc("2025-11-02T06:00:00Z"), "01:00 EST");
        let fixed = next_tick(&cron("30 1 * * *"), new_york, after).unwrap();
        assert_eq!(
            fixed,
            utc("2025-11-03T06:30:00Z"),
            "not again in the repeated hour"
        );
    }

    #[test]
    fn a_fixed_time_in_a_spring_forward_gap_fires_at_the_transition() {
        let new_york: Tz = "America/New_York".parse().unwrap();
        let after = utc("2026-03-08T06:00:00Z"); // 01:00 EST; 02:00 EST becomes 03:00 EDT
        let next = next_tick(&cron("30 2 * * *"), new_york, after).unwrap();
        assert_eq!(next, utc("2026-03-08T07:00:00Z"));
        let then = next_tick(&cron("30 2 * * *"), new_york, next).unwrap();
        assert_eq!(then, utc("2026-03-09T06:30:00Z"));
    }
}
