//! Domain types shared by every tickete crate.

mod catalogue;
mod ids;
mod inventory;
mod process;
mod run_body;
mod sync;

pub use catalogue::{PartnerStatus, Product, ProductPatch, ProductView, TimeSlotType};
pub use ids::{ParseIdError, ProductId, RunId};
pub use inventory::{DaySnapshot, PaxAvailability, Price, Slot};
pub use process::{EngineProcess, ProcessKind, RunOwner};
pub use run_body::{AllProducts, OwnerBody, RunBody, ScopeBody, ScopeProducts};
pub use sync::{
    DayState, JobPatch, NewRun, RunCounts, RunStatus, SyncJob, SyncRun, SyncTask, TaskPriority,
    Trigger, WorkClass,
};
