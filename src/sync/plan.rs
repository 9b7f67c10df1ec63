//! A sync's plan as it is kept and saved: its rows, the bulk plan that sends them once applying
//! has started, its format version and the checks it passes when read.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::change::SyncMode;
use super::row::{SyncRow, SyncStatus};
use crate::{BulkItem, BulkPlan, StockChange, StockItem, StoreId};

/// The version of [`SyncPlan`]'s saved format that this crate writes and reads.
pub const SYNC_PLAN_FORMAT_VERSION: u32 = 1;

/// A sync's plan: one [`SyncRow`] per target, in the order given, and, once applying has
/// started, the bulk plan that sends its changes. Made by [`Client::plan_sync`]; applied (or
/// resumed) by [`Client::apply_sync`].
///
/// It serializes with serde, with a format version ([`SYNC_PLAN_FORMAT_VERSION`]), as JSON
/// with snake-case fields: `version`, `store_id`, `mode` (`"delta"` or `"set"`),
/// `read_unix_ms` (when the stock was read), `read_requests`, `rows` (as [`SyncRow`]
/// serializes) and `bulk` (`null` until applying starts; then the embedded
/// [`BulkPlan`], in its own versioned format). It is checked whole when read: another version,
/// a row `plan_sync` would not have made in the plan's mode, two rows moving one stock, or a
/// bulk plan whose items are not the rows' changes, fails to deserialize with an error naming
/// the problem, so nothing of it can be sent.
///
/// [`Client::plan_sync`]: crate::Client::plan_sync
/// [`Client::apply_sync`]: crate::Client::apply_sync
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "SavedSyncPlan")]
pub struct SyncPlan {
    pub(super) version: u32,
    pub(super) store_id: StoreId,
    pub(super) mode: SyncMode,
    pub(super) read_unix_ms: u64,
    pub(super) read_requests: u64,
    pub(super) rows: Vec<SyncRow>,
    pub(super) bulk: Option<BulkPlan>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SavedSyncPlan {
    version: u32,
    store_id: StoreId,
    mode: SyncMode,
    read_unix_ms: u64,
    read_requests: u64,
    rows: Vec<SyncRow>,
    bulk: Option<BulkPlan>,
}

impl TryFrom<SavedSyncPlan> for SyncPlan {
    type Error = String;

    fn try_from(saved: SavedSyncPlan) -> Result<Self, String> {
        if saved.version != SYNC_PLAN_FORMAT_VERSION {
            return Err(format!(
                "this is a sync plan of format version {}; this version of ecwid-inventory reads \
                 version {SYNC_PLAN_FORMAT_VERSION} only",
                saved.version
            ));
        }
        let plan = SyncPlan {
            version: saved.version,
            store_id: saved.store_id,
            mode: saved.mode,
            read_unix_ms: saved.read_unix_ms,
            read_requests: saved.read_requests,
            rows: saved.rows,
            bulk: saved.bulk,
        };
        plan.check()
            .map_err(|why| format!("not a consistent sync plan: {why}"))?;
        Ok(plan)
    }
}

impl SyncPlan {
    /// The rows, one per target, in the order given.
    pub fn rows(&self) -> &[SyncRow] {
        &self.rows
    }

    /// The store the plan is for.
    pub fn store_id(&self) -> StoreId {
        self.store_id
    }

    /// How the changes are sent.
    pub fn mode(&self) -> SyncMode {
        self.mode
    }

    /// When the current stock was read, on the client's clock: the deltas of a
    /// [`SyncMode::Delta`] plan move the stock from what it was then.
    pub fn read_at(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(self.read_unix_ms)
    }

    /// The rate-limited requests spent reading the stock.
    pub fn read_requests(&self) -> u64 {
        self.read_requests
    }

    /// How many rows have `status`.
    pub fn count(&self, status: SyncStatus) -> usize {
        self.rows.iter().filter(|row| row.status == status).count()
    }

    /// How many changes the plan sends.
    pub fn changes(&self) -> usize {
        self.rows.iter().filter(|row| row.change.is_some()).count()
    }

    /// Whether applying has started: the plan then carries its bulk plan, and applying it again
    /// resumes that (learns every outcome, sends nothing twice) instead of planning anew.
    pub fn is_started(&self) -> bool {
        self.bulk.is_some()
    }

    /// The bulk items of the rows' changes, in row order.
    pub(super) fn bulk_items(&self) -> Vec<BulkItem> {
        self.rows.iter().filter_map(SyncRow::bulk_item).collect()
    }

    /// Checks the plan as `plan_sync` makes it and `apply_sync` moves it on.
    fn check(&self) -> Result<(), String> {
        if self.store_id.get() == 0 {
            return Err("the store id is zero".into());
        }
        let mut counters = HashMap::new();
        for (n, row) in self.rows.iter().enumerate() {
            row.check(self.mode)
                .map_err(|why| format!("row {n}: {why}"))?;
            if let Some(counter) = row.stock_counter() {
                if let Some(other) = counters.insert(counter, n) {
                    return Err(format!("rows {other} and {n} move the same stock"));
                }
            }
        }
        if let Some(bulk) = &self.bulk {
            if bulk.store_id() != self.store_id {
                return Err(format!(
                    "its bulk plan is for store {}, the sync for store {}",
                    bulk.store_id(),
                    self.store_id
                ));
            }
            let sent: Vec<(StockItem, StockChange)> = bulk
                .report()
                .iter()
                .map(|(item, _)| (item.item, item.change))
                .collect();
            let planned: Vec<(StockItem, StockChange)> = self
                .bulk_items()
                .iter()
                .map(|item| (item.item, item.change))
                .collect();
            if sent != planned {
                return Err("its bulk plan does not send the rows' changes".into());
            }
        }
        Ok(())
    }
}
