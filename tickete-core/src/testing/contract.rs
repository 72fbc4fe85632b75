//! The store contract suite: the semantics every [`InventoryStore`] must have, written once.
//!
//! Each case is a public `async fn(Arc<dyn InventoryStore>)` that panics on a violation. The
//! [`store_contract_tests!`](crate::store_contract_tests) macro expands into one
//! `#[tokio::test]` per case, so every store's test binary reports the cases by name:
//!
//! ```text
//! mod store_contract {
//!     use std::sync::Arc;
//!     use tickete_core::testing::MemoryStore;
//!
//!     tickete_core::store_contract_tests!(async { Arc::new(MemoryStore::new()) });
//! }
//! ```
//!
//! The expression is evaluated once per test and must produce a [`ContractSubject`]: an
//! `Arc` of a store, or a harness that also tears down what it created (a database, a file).
//! A subject whose [`ContractSubject::store`] is `None` skips the case (e.g. Postgres without
//! `TICKETE_TEST_POSTGRES_URL`). The calling crate needs `tokio` (with macros) as a
//! dev-dependency.
//!
//! Every case starts from an empty store.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;

use crate::store::InventoryStore;

mod catalogue;
mod concurrency;
mod feed;
mod hostile;
mod inventory;
mod learning;
mod owners;
mod reads;
mod retention;
mod runs;
mod served;
mod served_columns;
mod support;

pub use catalogue::*;
pub use concurrency::*;
pub use feed::*;
pub use hostile::*;
pub use inventory::*;
pub use learning::*;
pub use owners::*;
pub use reads::*;
pub use retention::*;
pub use runs::*;
pub use served::*;
pub use served_columns::*;

/// A store under test, with whatever must be cleaned up after one case.
#[async_trait]
pub trait ContractSubject: Send + 'static {
    /// The empty store to run a case against; `None` skips the case.
    fn store(&self) -> Option<Arc<dyn InventoryStore>>;

    /// Releases what the subject created (runs after the case, also when it failed).
    async fn teardown(self)
    where
        Self: Sized,
    {
    }
}

#[async_trait]
impl<T: InventoryStore> ContractSubject for Arc<T> {
    fn store(&self) -> Option<Arc<dyn InventoryStore>> {
        Some(Arc::clone(self) as Arc<dyn InventoryStore>)
    }
}

#[async_trait]
impl ContractSubject for Arc<dyn InventoryStore> {
    fn store(&self) -> Option<Arc<dyn InventoryStore>> {
        Some(Arc::clone(self))
    }
}

#[async_trait]
impl<T: ContractSubject> ContractSubject for Option<T> {
    fn store(&self) -> Option<Arc<dyn InventoryStore>> {
        self.as_ref().and_then(ContractSubject::store)
    }

    async fn teardown(self) {
        if let Some(subject) = self {
            subject.teardown().await;
        }
    }
}

/// Runs one contract case: builds the subject, runs `case` on its own task, tears the subject
/// down, then re-raises the case's panic, if any.
pub async fn run<S, M, C, F>(name: &str, make: M, case: C)
where
    M: Future<Output = S>,
    S: ContractSubject,
    C: FnOnce(Arc<dyn InventoryStore>) -> F,
    F: Future<Output = ()> + Send + 'static,
{
    let subject = make.await;
    let Some(store) = subject.store() else {
        eprintln!("store contract case `{name}` skipped: no store configured");
        return;
    };
    let outcome = tokio::spawn(case(store)).await;
    subject.teardown().await;
    if let Err(error) = outcome {
        if error.is_panic() {
            std::panic::resume_unwind(error.into_panic());
        }
        panic!("store contract case `{name}` did not finish: {error}");
    }
}

/// Expands into one `#[tokio::test]` per store contract case.
///
/// The argument is an expression (usually an `async` block) producing a
/// [`ContractSubject`](crate::testing::contract::ContractSubject); it is evaluated afresh for
/// every case, so cases never share a store. See [`crate::testing::contract`].
#[macro_export]
macro_rules! store_contract_tests {
    ($make:expr) => {
        $crate::store_contract_tests!(@cases $make;
            ping_answers,
            upsert_product_inserts_then_updates_keeping_inventory,
            update_product_patches_only_given_fields,
            unknown_product_is_not_found,
            delete_product_removes_its_inventory_and_day_states,
            product_view_derives_days_and_slot_type,
            list_products_orders_by_id_and_pages,
            enabled_products_lists_enabled_ids_ascending,
            partner_status_is_recorded_and_kept_by_catalogue_edits,
            apply_day_round_trips_slots_and_pax,
            apply_day_for_unknown_product_is_not_found,
            apply_day_deletes_vanished_slots,
            apply_day_replaces_pax_of_kept_slots,
            apply_day_with_unchanged_hash_only_moves_synced_at,
            apply_day_never_touches_other_days,
            pax_order_is_preserved,
            optional_fields_round_trip,
            prices_round_trip_exactly,
            slots_are_ordered_by_start_time,
            slots_between_covers_a_half_open_range_in_order,
            dates_price_rule_uses_primary_pax_of_open_slots,
            record_day_error_keeps_inventory,
            day_states_cover_a_half_open_range,
            concurrent_applies_of_one_day_never_mix,
            concurrent_applies_of_different_days_all_land,
            prune_before_removes_only_earlier_days,
            jobs_are_inserted_once_listed_by_name_and_patched,
            unknown_job_is_not_found,
            create_run_starts_running_with_zero_counts,
            save_run_overwrites_status_counts_errors_and_finish,
            list_runs_is_newest_first_filtered_and_paged,
            last_run_is_the_latest_due_at,
            processes_register_beat_and_leave,
            only_runs_whose_owner_is_gone_are_interrupted_once,
            a_replan_is_claimed_once_and_scope_round_trips,
            skipped_rows_keep_their_count_and_replan_state_is_saved,
            an_ended_run_keeps_its_status,
            sessions_end_at_sign_out_expiry_or_all_at_once,
            pause_flag_keeps_the_first_paused_at,
            control_characters_in_partner_text_are_refused_before_the_store,
            served_slots_equal_the_applied_day,
            served_slots_of_unsynced_days_and_unknown_products,
            served_dates_follow_applies_prunes_and_deletes,
            apply_days_is_per_day_apply_all_or_nothing,
            a_big_day_round_trips,
            an_applied_change_has_exactly_one_event,
            events_are_read_in_order_after_a_sequence,
            prune_events_removes_only_older_ones,
            webhooks_are_created_patched_and_deleted,
            deliveries_are_claimed_in_order_and_settled,
            learnt_fetches_follow_the_pair_rule_and_are_listed,
            reads_are_merged_decayed_and_refused_when_hostile,
            concurrent_read_flushes_all_count,
            prune_learning_drops_past_dates_old_periods_and_caps_reads,
        );
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::testing::contract::run(
                    ::core::stringify!($case),
                    $make,
                    $crate::testing::contract::$case,
                )
                .await;
            }
        )*
    };
}
