//! Making the store's stock match target counts, a warehouse file's say: [`Client::plan_sync`]
//! reads the current stock of every target and plans each change (a dry run stops there);
//! [`Client::apply_sync`] applies the plan through the bulk path, exactly once, and resumes a
//! saved plan instead of planning anew.
//!
//! By default a change is a delta computed from the plan's fresh read (`target - current`),
//! so a sale made on the storefront between the read and the write is kept; [`SyncMode::Set`]
//! sends absolute counts, which overwrite such a sale.
//!
//! [`Client::plan_sync`]: crate::Client::plan_sync
//! [`Client::apply_sync`]: crate::Client::apply_sync

mod apply;
mod change;
#[cfg(test)]
mod fixtures;
mod plan;
mod planning;
mod read;
mod report;
mod row;
mod target;

pub use apply::ApplySync;
pub use change::SyncMode;
pub use plan::{SyncPlan, SYNC_PLAN_FORMAT_VERSION};
pub use planning::PlanSync;
pub use report::{SyncOutcome, SyncReport, SyncSummary};
pub use row::{SyncRow, SyncStatus};
pub use target::SyncTarget;
