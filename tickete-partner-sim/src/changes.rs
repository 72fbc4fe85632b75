//! Inventory that moves: seats sell, slots close and reopen, prices move.
//!
//! Each (product, date) has its own Poisson process of change events, `change_rate` per hour
//! on average, starting at the simulator's start. Event `n`'s time and content are drawn from
//! `(seed, product, date, n)` only, so the inventory at a given time since start is the same
//! whichever order the days are asked for in.

use rust_decimal::Decimal;
use tickete_core::validate::RawSlot;

use crate::catalog::{money, Profile};
use crate::rng::Rng;

/// One (product, date) as the simulator currently sees it.
#[derive(Debug, Clone)]
pub(crate) struct DayState {
    /// The current answer.
    pub(crate) slots: Vec<RawSlot>,
    /// The answer at start, to reopen closed slots from.
    base: Vec<RawSlot>,
    /// Index of the next event.
    next_event: u64,
    /// When the next event happens, in ms since start (`None`: inventory never changes).
    next_at_ms: Option<i64>,
    /// When the answer last changed, in ms since start.
    pub(crate) last_change_ms: Option<i64>,
    /// How many events changed the answer.
    pub(crate) changes: u64,
    /// How many times this day was served with a 200 on the partner route.
    pub(crate) fetches: u64,
}

impl DayState {
    /// The day at start, with its first event scheduled.
    pub(crate) fn new(base: Vec<RawSlot>, key: u64, changes_per_hour: f64) -> Self {
        let mut state = Self {
            slots: base.clone(),
            base,
            next_event: 0,
            next_at_ms: None,
            last_change_ms: None,
            changes: 0,
            fetches: 0,
        };
        state.next_at_ms = next_time(0, key, 0, changes_per_hour);
        state
    }

    /// Applies every event due up to `now_ms` (ms since start).
    pub(crate) fn advance(
        &mut self,
        now_ms: i64,
        key: u64,
        changes_per_hour: f64,
        profile: &Profile,
    ) {
        while let Some(at) = self.next_at_ms.filter(|at| *at <= now_ms) {
            let mut rng = Rng::new(&[key, self.next_event, 0x4556]);
            if apply(&mut self.slots, &self.base, &mut rng, profile) {
                self.last_change_ms = Some(at);
                self.changes += 1;
            }
            self.next_event += 1;
            self.next_at_ms = next_time(at, key, self.next_event, changes_per_hour);
        }
    }
}

/// Time of event `index`, exponentially distributed after `after_ms`.
fn next_time(after_ms: i64, key: u64, index: u64, changes_per_hour: f64) -> Option<i64> {
    if changes_per_hour <= 0.0 || !changes_per_hour.is_finite() {
        return None;
    }
    let mean_ms = 3_600_000.0 / changes_per_hour;
    let u = Rng::new(&[key, index, 0x0047_4150]).unit();
    let gap = (-(1.0 - u).ln() * mean_ms).clamp(1.0, 1e15) as i64;
    Some(after_ms.saturating_add(gap))
}

/// One change; false when it found nothing to change (an empty day, a sold-out slot).
fn apply(slots: &mut Vec<RawSlot>, base: &[RawSlot], rng: &mut Rng, profile: &Profile) -> bool {
    let kind = rng.below(100);
    if kind >= 80 {
        return reopen_or_restock(slots, base, rng, profile);
    }
    if slots.is_empty() {
        return false;
    }
    let index = rng.below(slots.len() as u64) as usize;
    match kind {
        0..=54 => sell(&mut slots[index], rng),
        55..=69 => move_price(&mut slots[index], rng),
        _ => {
            slots.remove(index);
            true
        }
    }
}

fn sell(slot: &mut RawSlot, rng: &mut Rng) -> bool {
    let pax_index = rng.below(slot.pax_availability.len() as u64) as usize;
    let pax = &mut slot.pax_availability[pax_index];
    let sellable = slot.remaining.min(pax.remaining);
    if sellable <= 0 {
        return false;
    }
    let seats = rng.range(1, sellable.min(8));
    slot.remaining -= seats;
    pax.remaining -= seats;
    true
}

fn move_price(slot: &mut RawSlot, rng: &mut Rng) -> bool {
    let Some(pax) = slot
        .pax_availability
        .iter_mut()
        .find(|p| p.price.final_price > Decimal::ZERO)
    else {
        return false;
    };
    let delta = money(rng.range(50, 20_00) * if rng.percent(50) { 1 } else { -1 });
    let price = &mut pax.price;
    price.final_price = (price.final_price + delta).max(money(1_00)).normalize();
    if price.original_price < price.final_price {
        price.original_price = price.final_price;
    }
    true
}

fn reopen_or_restock(
    slots: &mut Vec<RawSlot>,
    base: &[RawSlot],
    rng: &mut Rng,
    profile: &Profile,
) -> bool {
    let closed: Vec<&RawSlot> = base
        .iter()
        .filter(|b| {
            !slots
                .iter()
                .any(|s| s.provider_slot_id == b.provider_slot_id)
        })
        .collect();
    if !closed.is_empty() {
        let reopened = closed[rng.below(closed.len() as u64) as usize].clone();
        let at = slots
            .iter()
            .position(|s| s.start_time > reopened.start_time)
            .unwrap_or(slots.len());
        slots.insert(at, reopened);
        return true;
    }
    if slots.is_empty() {
        return false;
    }
    let index = rng.below(slots.len() as u64) as usize;
    let slot = &mut slots[index];
    let seats = rng.range(1, 10);
    let mut changed = false;
    let slot_room = profile.capacity(None) - slot.remaining;
    if slot_room > 0 {
        slot.remaining += seats.min(slot_room);
        changed = true;
    }
    for pax in &mut slot.pax_availability {
        let room = profile.capacity(Some(&pax.pax_type)) - pax.remaining;
        if room > 0 {
            pax.remaining += seats.min(room);
            changed = true;
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_change_at_roughly_the_configured_rate_and_stay_valid() {
        let date: chrono::NaiveDate = "2025-03-25".parse().unwrap();
        let profile = Profile::for_product(3, 14);
        let base = profile.base_day(3, date);
        let mut day = DayState::new(base.clone(), 99, 60.0);
        day.advance(10 * 3_600_000, 99, 60.0, &profile);
        assert!((300..900).contains(&day.changes), "{} changes", day.changes);
        assert_ne!(day.slots, base);
        tickete_core::validate::validate_day(date, day.slots.clone()).unwrap();

        // The same events, applied in two steps, give the same day.
        let mut stepwise = DayState::new(base.clone(), 99, 60.0);
        stepwise.advance(3 * 3_600_000, 99, 60.0, &profile);
        stepwise.advance(10 * 3_600_000, 99, 60.0, &profile);
        assert_eq!(stepwise.slots, day.slots);
        assert_eq!(stepwise.last_change_ms, day.last_change_ms);

        let mut frozen = DayState::new(base.clone(), 99, 0.0);
        frozen.advance(i64::MAX, 99, 0.0, &profile);
        assert_eq!(frozen.slots, base);
        assert_eq!(frozen.last_change_ms, None);
    }
}
