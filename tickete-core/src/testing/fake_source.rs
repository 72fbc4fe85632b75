use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use chrono::NaiveDate;

use crate::domain::{DaySnapshot, ProductId, Slot};
use crate::source::{InventorySource, SourceError};

/// One call the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeCall {
    /// Product asked for.
    pub product: ProductId,
    /// Date asked for.
    pub date: NaiveDate,
    /// When the call arrived (tokio clock, so paused-time tests can measure spacing).
    pub at: tokio::time::Instant,
}

/// A scripted partner.
///
/// Per (product, date): scripted one-shot answers (`push_error`, `push_day`) are consumed
/// first, then the standing day set with `set_day`, else an empty day. Every call is recorded.
#[derive(Debug, Default)]
pub struct FakeSource {
    state: Mutex<FakeState>,
}

/// One-shot answers queued per (product, date).
type Script = HashMap<(ProductId, NaiveDate), VecDeque<Result<Vec<Slot>, SourceError>>>;

#[derive(Debug, Default)]
struct FakeState {
    days: HashMap<(ProductId, NaiveDate), Vec<Slot>>,
    scripted: Script,
    delays: HashMap<(ProductId, NaiveDate), Duration>,
    calls: Vec<FakeCall>,
}

impl FakeSource {
    /// A partner with no inventory.
    pub fn new() -> Self {
        Self::default()
    }

    /// The standing answer for (product, date).
    pub fn set_day(&self, product: ProductId, date: NaiveDate, slots: Vec<Slot>) {
        self.lock().days.insert((product, date), slots);
    }

    /// Answers the next call for (product, date) with `error`.
    pub fn push_error(&self, product: ProductId, date: NaiveDate, error: SourceError) {
        self.lock()
            .scripted
            .entry((product, date))
            .or_default()
            .push_back(Err(error));
    }

    /// Answers the next call for (product, date) with `slots`, once.
    pub fn push_day(&self, product: ProductId, date: NaiveDate, slots: Vec<Slot>) {
        self.lock()
            .scripted
            .entry((product, date))
            .or_default()
            .push_back(Ok(slots));
    }

    /// Every call for (product, date) takes `delay` (tokio time).
    pub fn set_delay(&self, product: ProductId, date: NaiveDate, delay: Duration) {
        self.lock().delays.insert((product, date), delay);
    }

    /// Every call received so far.
    pub fn calls(&self) -> Vec<FakeCall> {
        self.lock().calls.clone()
    }

    /// Number of calls received for (product, date).
    pub fn calls_for(&self, product: ProductId, date: NaiveDate) -> usize {
        self.lock()
            .calls
            .iter()
            .filter(|call| call.product == product && call.date == date)
            .count()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.state.lock().expect("fake source lock")
    }
}

#[async_trait]
impl InventorySource for FakeSource {
    async fn fetch(&self, product: ProductId, date: NaiveDate) -> Result<DaySnapshot, SourceError> {
        let key = (product, date);
        let (answer, delay) = {
            let mut state = self.lock();
            state.calls.push(FakeCall {
                product,
                date,
                at: tokio::time::Instant::now(),
            });
            let scripted = state.scripted.get_mut(&key).and_then(VecDeque::pop_front);
            let answer =
                scripted.unwrap_or_else(|| Ok(state.days.get(&key).cloned().unwrap_or_default()));
            (answer, state.delays.get(&key).copied())
        };
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        answer.map(|slots| DaySnapshot::new(date, slots))
    }
}
