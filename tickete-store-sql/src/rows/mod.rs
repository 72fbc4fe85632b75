//! Row structs both stores decode into, generic over the column types where the dialects
//! spell a value differently (see [`crate::stored`]), with their conversion to domain values.

mod catalogue;
mod feed;
mod inventory;
mod learning;
mod runs;

pub use catalogue::{
    product_views, EntryRow, ProductRow, SlotCountRow, PRODUCT_COLUMNS, VIEW_COLUMNS,
};
pub use feed::{
    ClaimRow, DeliveryRow, EventRow, WebhookRow, DELIVERY_COLUMNS, EVENT_COLUMNS, WEBHOOK_COLUMNS,
};
pub use inventory::{assemble, DayStateRow, SlotPaxRow, DAY_STATES_BETWEEN, SLOT_PAX_COLUMNS};
pub use learning::{
    LearntPairRow, ReadCountRow, LEARNT_COLUMNS, LEARNT_PAIRS_FROM, READS_FROM, READ_COLUMNS,
};
pub use runs::{
    products_text, JobRow, PauseRow, ProcessRow, RunRow, JOB_COLUMNS, PROCESS_COLUMNS, RUN_COLUMNS,
};
