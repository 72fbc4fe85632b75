//! What one client address can add to the read weights (SPEC §4: popularity counts as
//! shoppers make it, and no single client can steer the budget).
//!
//! Within a window of [`CLIENT_WINDOW_SECS`], a client's reads count once per thing read (a
//! (product, date), or a product's dates), the k-th distinct one with weight `1/k`, and at
//! most [`READS_PER_CLIENT_WINDOW`] of them: a client adds at most about three reads' worth a
//! window (H₁₀ ≈ 2.9), whatever it does. A product many shoppers read thus weighs as much as
//! they read it, while a client that hammers one product, or walks the whole catalogue, adds
//! what one eager shopper adds.
//! Addresses are keyed as rate limiters key them: an IPv4 address (mapped ones too), an
//! IPv6 /64 (one subscriber's network).

use std::collections::HashMap;
use std::net::IpAddr;

use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::ProductId;

/// Length of the window in which a client's reads are bounded.
pub const CLIENT_WINDOW_SECS: i64 = 600;
/// Distinct reads of one client counted per window.
pub const READS_PER_CLIENT_WINDOW: usize = 10;
/// Clients followed per window; reads of further clients are not counted until the next one
/// (bounded memory: at most this many × [`READS_PER_CLIENT_WINDOW`] entries).
pub const MAX_CLIENTS: usize = 50_000;

/// One thing a client read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientRead {
    /// The slots of (product, date).
    Pair(ProductId, NaiveDate),
    /// A product's dates.
    Dates(ProductId),
}

/// The key a client's reads are bounded under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct ClientKey(u128);

impl ClientKey {
    fn of(address: IpAddr) -> Self {
        match address {
            IpAddr::V4(v4) => Self(u128::from(u32::from(v4))),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(u128::from(u32::from(v4))),
                // The /64, tagged apart from every IPv4 key.
                None => Self((u128::from(v6) & !0u128 << 64) | 1 << 63),
            },
        }
    }
}

/// The reads counted per client in the current window.
#[derive(Debug, Default)]
pub struct ClientGuard {
    window: Option<i64>,
    counted: HashMap<ClientKey, Vec<ClientRead>>,
}

impl ClientGuard {
    /// What `read` by `client` at `now` adds: `1/k` for the client's k-th distinct read of
    /// the window, `None` for a read it made already or beyond [`READS_PER_CLIENT_WINDOW`].
    pub fn admit(&mut self, client: IpAddr, read: ClientRead, now: DateTime<Utc>) -> Option<f64> {
        let window = now.timestamp().div_euclid(CLIENT_WINDOW_SECS);
        if self.window != Some(window) {
            self.window = Some(window);
            // Emptied, not replaced: the table keeps its capacity.
            self.counted.clear();
        }
        let key = ClientKey::of(client);
        if !self.counted.contains_key(&key) && self.counted.len() >= MAX_CLIENTS {
            return None;
        }
        let reads = self.counted.entry(key).or_default();
        if reads.len() >= READS_PER_CLIENT_WINDOW || reads.contains(&read) {
            return None;
        }
        reads.push(read);
        Some(1.0 / reads.len() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_772_409_600 + seconds, 0).unwrap()
    }

    fn pair(product: u32, day: u32) -> ClientRead {
        ClientRead::Pair(
            ProductId::new(product).unwrap(),
            NaiveDate::from_ymd_opt(2026, 3, day).unwrap(),
        )
    }

    #[test]
    fn a_client_counts_once_per_read_and_at_most_its_share_per_window() {
        let mut guard = ClientGuard::default();
        let client: IpAddr = "203.0.113.7".parse().unwrap();
        assert_eq!(guard.admit(client, pair(1, 2), at(0)), Some(1.0));
        assert_eq!(
            guard.admit(client, pair(1, 2), at(1)),
            None,
            "the same read again"
        );
        let dates = ClientRead::Dates(ProductId::new(1).unwrap());
        assert_eq!(guard.admit(client, dates, at(2)), Some(0.5));
        let added: Vec<f64> = (3..=28)
            .filter_map(|day| guard.admit(client, pair(1, day), at(3)))
            .collect();
        assert_eq!(added.len(), READS_PER_CLIENT_WINDOW - 2);
        let total = 1.5 + added.iter().sum::<f64>();
        assert!((total - 2.929).abs() < 0.001, "{total}");
        // Another client is counted apart; the next window starts afresh.
        assert_eq!(
            guard.admit("203.0.113.8".parse().unwrap(), pair(1, 2), at(4)),
            Some(1.0)
        );
        let next = at(0) + Duration::seconds(CLIENT_WINDOW_SECS);
        assert_eq!(guard.admit(client, pair(1, 2), next), Some(1.0));
    }

    #[test]
    fn addresses_are_keyed_as_subscribers() {
        let mut guard = ClientGuard::default();
        let v6: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let same_net: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert!(guard.admit(v6, pair(1, 2), at(0)).is_some());
        assert!(
            guard.admit(same_net, pair(1, 2), at(0)).is_none(),
            "one /64, one client"
        );
        let next_net: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(guard.admit(next_net, pair(1, 2), at(0)).is_some());
        let v4: IpAddr = "198.51.100.4".parse().unwrap();
        let mapped: IpAddr = "::ffff:198.51.100.4".parse().unwrap();
        assert!(guard.admit(v4, pair(1, 2), at(0)).is_some());
        assert!(
            guard.admit(mapped, pair(1, 2), at(0)).is_none(),
            "mapped is its IPv4"
        );
    }
}
