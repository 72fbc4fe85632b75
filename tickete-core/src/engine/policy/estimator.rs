//! Change rates from irregular observations (Cho & Garcia-Molina, "Estimating frequency of
//! change", 2003, §5): each fetch observes, over the interval since the previous fetch,
//! whether the content hash changed. For a Poisson process of rate λ an interval `t` shows a
//! change with probability `1 − e^(−λt)`, so the maximum-likelihood λ solves
//!
//! ```text
//! Σ_changed w·t·e^(−λt) / (1 − e^(−λt)) = Σ_unchanged w·t
//! ```
//!
//! whose left side falls as λ grows: bisection finds it. Recent observations weigh more
//! (`w = DECAY^k` for the k-th most recent), so a pair that starts changing is believed
//! within a few fetches. While a pair's history is short its estimate is pooled with its
//! product's (shrinkage with [`POOL_WEIGHT`] pseudo-observations).

use serde::{Deserialize, Serialize};

/// Observations kept per pair (older ones weigh less than 0.85^12 ≈ 0.14 anyway).
pub const KEPT: usize = 12;
/// Weight of each older observation relative to the next.
pub const DECAY: f64 = 0.85;
/// Pseudo-observations of the pooled rate mixed into a pair's own estimate.
pub const POOL_WEIGHT: f64 = 2.0;
/// Highest rate believed, per second (one change a minute): every interval changed.
pub const MAX_RATE: f64 = 1.0 / 60.0;
/// Lowest rate believed, per second (once a year): never changed.
pub const MIN_RATE: f64 = 1.0 / (365.0 * 86_400.0);

/// One fetch seen by the estimator.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// Seconds since the previous successful fetch of the pair.
    pub interval: f64,
    /// Whether the content hash differed from the previous fetch's.
    pub changed: bool,
}

/// The maximum-likelihood rate (per second) of `observations`, most recent last; `None`
/// without any.
pub fn estimate(observations: &[Observation]) -> Option<f64> {
    if observations.is_empty() {
        return None;
    }
    let weighted: Vec<(f64, f64, bool)> = observations
        .iter()
        .rev()
        .enumerate()
        .map(|(k, o)| (DECAY.powi(k as i32), o.interval.max(1.0), o.changed))
        .collect();
    let unchanged: f64 = weighted
        .iter()
        .filter(|(_, _, changed)| !changed)
        .map(|(w, t, _)| w * t)
        .sum();
    if weighted.iter().all(|(_, _, changed)| !changed) {
        return Some(MIN_RATE);
    }
    if unchanged <= 0.0 {
        return Some(MAX_RATE);
    }
    let excess = |rate: f64| -> f64 {
        let changed: f64 = weighted
            .iter()
            .filter(|(_, _, changed)| *changed)
            .map(|(w, t, _)| {
                let e = (-rate * t).exp();
                w * t * e / (1.0 - e).max(1e-12)
            })
            .sum();
        changed - unchanged
    };
    // Bisection on log λ.
    let (mut low, mut high) = (MIN_RATE.ln(), MAX_RATE.ln());
    if excess(MAX_RATE) > 0.0 {
        return Some(MAX_RATE);
    }
    if excess(MIN_RATE) < 0.0 {
        return Some(MIN_RATE);
    }
    for _ in 0..50 {
        let mid = (low + high) / 2.0;
        if excess(mid.exp()) > 0.0 {
            low = mid;
        } else {
            high = mid;
        }
    }
    Some(((low + high) / 2.0).exp())
}

/// A pair's rate pooled with its product's: its own weight is the (decayed) number of its
/// observations, the pool's [`POOL_WEIGHT`].
pub fn pooled(own: Option<f64>, own_weight: f64, pool: Option<f64>) -> Option<f64> {
    match (own, pool) {
        (Some(own), Some(pool)) => {
            Some((own * own_weight + pool * POOL_WEIGHT) / (own_weight + POOL_WEIGHT))
        }
        (own, pool) => own.or(pool),
    }
}

/// Total weight of `count` observations under [`DECAY`].
pub fn weight_of(count: usize) -> f64 {
    (0..count).map(|k| DECAY.powi(k as i32)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(interval: f64, changed: bool) -> Observation {
        Observation { interval, changed }
    }

    #[test]
    fn recovers_a_known_rate_from_regular_intervals() {
        // λ = 1/h observed every 30 min: P(change) = 1 − e^(−0.5) ≈ 0.39, about 2 in 5
        // (recency weights move the estimate with where in the history the changes fall).
        let mut history = Vec::new();
        for i in 0..10 {
            history.push(obs(1800.0, i % 5 == 1 || i % 5 == 3));
        }
        let rate = estimate(&history).unwrap() * 3600.0;
        assert!((0.7..1.4).contains(&rate), "{rate}/h");
        // The naive changes-per-hour (4 in 5 hours = 0.8/h) undercounts; the MLE does not.
        assert!(rate > 0.8, "{rate}/h");
    }

    #[test]
    fn a_changed_long_interval_says_less_than_a_changed_short_one() {
        let short = estimate(&[obs(600.0, true), obs(600.0, false)]).unwrap();
        let long = estimate(&[obs(86_400.0, true), obs(600.0, false)]).unwrap();
        assert!(long < short, "{long} < {short}");
    }

    #[test]
    fn never_changed_is_the_floor_and_always_changed_the_ceiling() {
        assert_eq!(estimate(&[obs(3600.0, false); 4]), Some(MIN_RATE));
        assert_eq!(estimate(&[obs(3600.0, true); 4]), Some(MAX_RATE));
        assert_eq!(estimate(&[]), None);
    }

    #[test]
    fn recent_changes_outweigh_an_old_quiet_history() {
        let mut history = vec![obs(3600.0, false); 10];
        let quiet = estimate(&history).unwrap();
        history.extend([obs(3600.0, true), obs(3600.0, true)]);
        let waking = estimate(&history).unwrap();
        assert!(waking > 100.0 * quiet, "{waking} vs {quiet}");
        assert!(waking * 3600.0 > 0.1, "{}/h", waking * 3600.0);
    }

    #[test]
    fn short_histories_lean_on_the_pool() {
        let pooled_one = pooled(Some(MAX_RATE), weight_of(1), Some(0.0001)).unwrap();
        let pooled_many = pooled(Some(MAX_RATE), weight_of(12), Some(0.0001)).unwrap();
        assert!(pooled_one < pooled_many);
        assert_eq!(pooled(None, 0.0, Some(0.5)), Some(0.5));
    }
}
