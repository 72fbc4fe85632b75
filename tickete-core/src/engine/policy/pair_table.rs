//! Values kept per (product, date), stored per product as a list sorted by date.
//!
//! A product's learnt dates are a short window (today up to a couple of months ahead), so a
//! lookup is a binary search over a few dozen dates and an insertion moves a few kilobytes at
//! most. The point is memory: a hash map keyed by (product, date) kept 60,000 pairs (1,000
//! products × 60 days) in a table of 131,072 buckets, 9.4 MB for the learnt state and 2 MB
//! for each map of read counts; the lists hold the same in about half (the
//! server must stay within 60 MB of RSS).

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::domain::ProductId;

/// `V` per (product, date).
#[derive(Debug)]
pub(crate) struct PairTable<V> {
    products: HashMap<ProductId, Vec<(NaiveDate, V)>>,
    len: usize,
}

impl<V> Default for PairTable<V> {
    fn default() -> Self {
        Self {
            products: HashMap::new(),
            len: 0,
        }
    }
}

impl<V> PairTable<V> {
    /// Pairs kept.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether no pair is kept.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The value of (product, date).
    pub(crate) fn get(&self, product: ProductId, date: NaiveDate) -> Option<&V> {
        let dates = self.products.get(&product)?;
        let at = dates.binary_search_by_key(&date, |(d, _)| *d).ok()?;
        Some(&dates[at].1)
    }

    /// Every date kept of `product`, in date order, with its value.
    pub(crate) fn dates_of(&self, product: ProductId) -> &[(NaiveDate, V)] {
        self.products.get(&product).map_or(&[], Vec::as_slice)
    }

    /// The value of (product, date), made by `make` when there is none yet.
    pub(crate) fn get_or_insert_with(
        &mut self,
        product: ProductId,
        date: NaiveDate,
        make: impl FnOnce() -> V,
    ) -> &mut V {
        let dates = self.products.entry(product).or_default();
        let at = match dates.binary_search_by_key(&date, |(d, _)| *d) {
            Ok(at) => at,
            Err(at) => {
                dates.insert(at, (date, make()));
                self.len += 1;
                at
            }
        };
        &mut dates[at].1
    }

    /// Sets the value of (product, date).
    pub(crate) fn insert(&mut self, product: ProductId, date: NaiveDate, value: V) {
        let dates = self.products.entry(product).or_default();
        match dates.binary_search_by_key(&date, |(d, _)| *d) {
            Ok(at) => dates[at].1 = value,
            Err(at) => {
                dates.insert(at, (date, value));
                self.len += 1;
            }
        }
    }

    /// Keeps the pairs `keep` says to keep.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(ProductId, NaiveDate, &V) -> bool) {
        let mut len = 0;
        self.products.retain(|product, dates| {
            dates.retain(|(date, value)| keep(*product, *date, value));
            len += dates.len();
            !dates.is_empty()
        });
        self.len = len;
    }

    /// Forgets every pair of `product`.
    pub(crate) fn remove_product(&mut self, product: ProductId) {
        if let Some(dates) = self.products.remove(&product) {
            self.len -= dates.len();
        }
    }

    /// Forgets every pair but keeps the lists' capacity, for a table refilled with about as
    /// many pairs (the merged reads, reloaded every minute).
    pub(crate) fn clear(&mut self) {
        self.products.values_mut().for_each(Vec::clear);
        self.len = 0;
    }

    /// Takes every pair out, leaving the table empty.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = (ProductId, NaiveDate, V)> {
        self.len = 0;
        std::mem::take(&mut self.products)
            .into_iter()
            .flat_map(|(product, dates)| {
                dates
                    .into_iter()
                    .map(move |(date, value)| (product, date, value))
            })
    }

    /// Every value, to change in place.
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> + '_ {
        self.products
            .values_mut()
            .flat_map(|dates| dates.iter_mut().map(|(_, value)| value))
    }

    /// Every pair, in no particular order of products.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (ProductId, NaiveDate, &V)> + '_ {
        self.products.iter().flat_map(|(product, dates)| {
            dates
                .iter()
                .map(move |(date, value)| (*product, *date, value))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pid(raw: u32) -> ProductId {
        ProductId::new(raw).unwrap()
    }

    fn day(n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, n).unwrap()
    }

    #[test]
    fn pairs_are_found_whatever_the_order_they_came_in() {
        let mut table = PairTable::default();
        for (product, date, value) in [(1, 9, 'a'), (1, 2, 'b'), (2, 9, 'c'), (1, 5, 'd')] {
            table.insert(pid(product), day(date), value);
        }
        assert_eq!(table.get(pid(1), day(2)), Some(&'b'));
        assert_eq!(table.get(pid(1), day(5)), Some(&'d'));
        assert_eq!(table.get(pid(1), day(9)), Some(&'a'));
        assert_eq!(table.get(pid(2), day(9)), Some(&'c'));
        assert_eq!(table.get(pid(2), day(2)), None);
        assert_eq!(table.get(pid(3), day(2)), None);
        table.insert(pid(1), day(5), 'e');
        assert_eq!(table.get(pid(1), day(5)), Some(&'e'));
        *table.get_or_insert_with(pid(1), day(3), || 'f') = 'g';
        assert_eq!(*table.get_or_insert_with(pid(1), day(3), || 'h'), 'g');
        let mut all: Vec<_> = table.iter().map(|(p, d, v)| (p.get(), d, *v)).collect();
        all.sort();
        let expected = [
            (1, day(2), 'b'),
            (1, day(3), 'g'),
            (1, day(5), 'e'),
            (1, day(9), 'a'),
            (2, day(9), 'c'),
        ];
        assert_eq!(all, expected);
        assert_eq!(table.len(), 5);
        table.clear();
        assert!(table.is_empty());
        assert_eq!(table.get(pid(1), day(2)), None);
        table.insert(pid(4), day(1), 'i');
        assert_eq!(table.drain().collect::<Vec<_>>(), [(pid(4), day(1), 'i')]);
        assert!(table.is_empty());
        assert_eq!(table.iter().count(), 0);
    }

    #[test]
    fn retain_and_remove_forget_pairs_and_products() {
        let mut table = PairTable::default();
        for (product, date) in [(1, 1), (1, 2), (1, 3), (2, 1), (3, 3)] {
            table.insert(pid(product), day(date), ());
        }
        table.retain(|_, date, _| date >= day(2));
        let mut left: Vec<_> = table.iter().map(|(p, d, _)| (p.get(), d)).collect();
        left.sort();
        assert_eq!(left, [(1, day(2)), (1, day(3)), (3, day(3))]);
        assert!(
            !table.products.contains_key(&pid(2)),
            "an emptied product goes"
        );
        assert_eq!(table.len(), 3);
        table.remove_product(pid(1));
        assert_eq!(table.len(), 1);
        let left: Vec<_> = table.iter().map(|(p, d, _)| (p.get(), d)).collect();
        assert_eq!(left, [(3, day(3))]);
    }
}
