//! A sync's plan as it is kept and saved: its rows, the bulk plan that sends them once applying
//! has started, its format version and the checks it passes when read.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::change::SyncMode;
use super::row::{first_shared_stock, SyncRow, SyncStatus};
use crate::{
    bulk::PlanChange,
    bulk::{BulkItem, BulkPlan},
    StockChange, StockItem, StoreId,
};

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
    pub fn requests_sent(&self) -> u64 {
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

    /// Folds one checkpoint's change into the plan's bulk plan, as
    /// [`BulkPlan::apply_change`] does: the plan is then as the sync that made the change held
    /// it. [`PlanChange::Started`] changes nothing. Fails, leaving the plan as it was, on a
    /// change this plan cannot have made (one of a chunk before applying has started, among
    /// others).
    pub fn apply_change(&mut self, change: &PlanChange) -> Result<(), String> {
        match (&mut self.bulk, change) {
            (_, PlanChange::Started) => Ok(()),
            (Some(bulk), change) => bulk.apply_change(change),
            (None, _) => {
                Err("a change of a chunk, in a sync whose applying has not started".into())
            }
        }
    }

    /// The bulk items of the rows' changes, in row order.
    pub(super) fn bulk_items(&self) -> Vec<BulkItem> {
        self.rows.iter().filter_map(SyncRow::bulk_item).collect()
    }

    /// Checks the plan as `plan_sync` makes it and `apply_sync` moves it on.
    fn check(&self) -> Result<(), String> {
        self.store_id.checked()?;
        for (n, row) in self.rows.iter().enumerate() {
            row.check(self.mode)
                .map_err(|why| format!("row {n}: {why}"))?;
        }
        let stocks = self.rows.iter().enumerate();
        let stocks = stocks.filter_map(|(n, row)| Some((n, row.stock_counter()?)));
        if let Some((earlier, n, _)) = first_shared_stock(stocks) {
            return Err(format!("rows {earlier} and {n} move the same stock"));
        }
        if let Some(bulk) = &self.bulk {
            if bulk.store_id() != self.store_id {
                return Err(format!(
                    "its bulk plan is for store {}, the sync for store {}",
                    bulk.store_id(),
                    self.store_id
                ));
            }
            let sent: Vec<(StockItem, StockChange)> =
                bulk.items().map(|item| (item.item, item.change)).collect();
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

impl crate::bulk::log::sealed::Sealed for SyncPlan {}

impl crate::bulk::LoggedPlan for SyncPlan {
    const KIND: &'static str = "sync";

    fn fold(&mut self, change: &PlanChange) -> Result<(), String> {
        self.apply_change(change)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::sync::fixtures::{product, variation};
    use crate::{bulk::MAX_BATCH_SIZE, Client, Stock};

    const STORE: StoreId = StoreId::new(1003);

    fn row(
        item: Option<StockItem>,
        current: Option<Stock>,
        target: Stock,
        change: Option<StockChange>,
        status: SyncStatus,
    ) -> SyncRow {
        SyncRow {
            sku: format!("{item:?}"),
            item,
            current,
            target,
            change,
            status,
            matches: Vec::new(),
        }
    }

    /// One row of each status, and one to unlimited stock, with the changes of `mode`.
    fn plan(mode: SyncMode) -> SyncPlan {
        let (to_12, to_25) = match mode {
            SyncMode::Delta => (StockChange::Delta(2), StockChange::Delta(5)),
            SyncMode::Set => (
                StockChange::Set(Stock::Quantity(12)),
                StockChange::Set(Stock::Quantity(25)),
            ),
        };
        let q = Stock::Quantity;
        let rows = vec![
            row(
                Some(variation(11)),
                Some(q(10)),
                q(12),
                Some(to_12),
                SyncStatus::Change,
            ),
            row(Some(product(3)), Some(q(8)), q(8), None, SyncStatus::Same),
            row(None, None, q(1), None, SyncStatus::NotFound),
            SyncRow {
                matches: vec![product(4), product(5)],
                ..row(None, None, q(3), None, SyncStatus::Several)
            },
            row(
                Some(variation(12)),
                Some(q(20)),
                q(25),
                Some(to_25),
                SyncStatus::Shared,
            ),
            row(
                Some(product(6)),
                Some(q(5)),
                Stock::Unlimited,
                Some(StockChange::Set(Stock::Unlimited)),
                SyncStatus::Change,
            ),
        ];
        SyncPlan {
            version: SYNC_PLAN_FORMAT_VERSION,
            store_id: STORE,
            mode,
            read_unix_ms: 1_700_000_000_123,
            read_requests: 2,
            rows,
            bulk: None,
        }
    }

    /// `plan` with the bulk plan of its changes, as applying starts it.
    fn started(mut plan: SyncPlan) -> SyncPlan {
        let client = Client::builder(plan.store_id, "secret_t").build().unwrap();
        plan.bulk = Some(client.plan_bulk(plan.bulk_items(), MAX_BATCH_SIZE).unwrap());
        plan
    }

    /// What `saved` reads back as, with the error's text when it is refused.
    fn read(saved: Value) -> Result<SyncPlan, String> {
        serde_json::from_value(saved).map_err(|error| error.to_string())
    }

    #[test]
    fn the_bulk_items_are_the_rows_changes_in_row_order() {
        assert_eq!(
            plan(SyncMode::Delta).bulk_items(),
            [
                BulkItem::new(variation(11), 2),
                // The shared stock is moved through its product.
                BulkItem::new(product(1), 5),
                BulkItem::set_unlimited(product(6)),
            ]
        );
        assert_eq!(
            plan(SyncMode::Set).bulk_items(),
            [
                BulkItem::set(variation(11), 12),
                BulkItem::set(product(1), 25),
                BulkItem::set_unlimited(product(6)),
            ]
        );
    }

    #[test]
    fn the_plan_counts_its_rows_and_tells_when_it_read() {
        let plan = plan(SyncMode::Delta);
        assert_eq!(plan.count(SyncStatus::Change), 2);
        assert_eq!(plan.count(SyncStatus::Shared), 1);
        assert_eq!(plan.count(SyncStatus::Same), 1);
        assert_eq!(plan.changes(), 3);
        assert_eq!(
            plan.read_at(),
            SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123)
        );
        assert_eq!(plan.requests_sent(), 2);
        assert_eq!(plan.store_id(), STORE);
        assert!(!plan.is_started());
        assert!(started(plan).is_started());
    }

    #[test]
    fn a_saved_plan_reads_back_as_it_was() {
        for plan in [
            plan(SyncMode::Delta),
            plan(SyncMode::Set),
            started(plan(SyncMode::Delta)),
        ] {
            let saved = serde_json::to_value(&plan).unwrap();
            let mut keys: Vec<&str> = saved
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            keys.sort_unstable();
            let mut documented = [
                "version",
                "store_id",
                "mode",
                "read_unix_ms",
                "read_requests",
                "rows",
                "bulk",
            ];
            documented.sort_unstable();
            assert_eq!(keys, documented);
            assert_eq!(saved["version"], SYNC_PLAN_FORMAT_VERSION);
            assert_eq!(read(saved), Ok(plan));
        }
    }

    #[test]
    fn a_plan_of_another_format_version_is_refused() {
        let mut saved = serde_json::to_value(plan(SyncMode::Delta)).unwrap();
        for version in [0, SYNC_PLAN_FORMAT_VERSION + 1] {
            saved["version"] = json!(version);
            let why = read(saved.clone()).unwrap_err();
            assert!(
                why.starts_with(&format!(
                    "this is a sync plan of format version {version}; this version of \
                     ecwid-inventory reads version {SYNC_PLAN_FORMAT_VERSION} only"
                )),
                "{why}"
            );
        }
    }

    #[test]
    fn a_plan_that_plan_sync_would_not_make_is_refused() {
        let saved = serde_json::to_value(plan(SyncMode::Delta)).unwrap();
        let refused = |change: &dyn Fn(&mut Value)| {
            let mut changed = saved.clone();
            change(&mut changed);
            read(changed).unwrap_err()
        };
        // A row's change that its read and target do not make.
        let why = refused(&|plan| plan["rows"][4]["change"] = json!({"delta": 6}));
        assert!(
            why.starts_with("not a consistent sync plan: row 4: "),
            "{why}"
        );
        // A row of the other mode.
        let why = refused(&|plan| plan["mode"] = json!("set"));
        assert!(
            why.starts_with("not a consistent sync plan: row 0: "),
            "{why}"
        );
        // Two rows moving one stock: the product, and its variation that shares its stock.
        let why = refused(&|plan| {
            plan["rows"][0] = json!({"sku": "TEE", "product_id": 1, "combination_id": null,
                "current": 20, "target": 22, "change": {"delta": 2}, "status": "change"});
        });
        assert!(why.contains("rows 0 and 4 move the same stock"), "{why}");
        let why = refused(&|plan| plan["store_id"] = json!(0));
        assert!(why.contains("the store id must not be zero"), "{why}");
        assert!(refused(&|plan| plan["surprise"] = json!(1)).contains("surprise"));
    }

    #[test]
    fn a_bulk_plan_that_does_not_send_the_rows_changes_is_refused() {
        let plan = started(plan(SyncMode::Delta));
        let client = Client::builder(STORE, "secret_t").build().unwrap();
        let mut others = plan.bulk_items();
        others.swap(0, 1);
        for bulk in [
            client.plan_bulk(others, MAX_BATCH_SIZE).unwrap(),
            client
                .plan_bulk(plan.bulk_items()[..2].to_vec(), MAX_BATCH_SIZE)
                .unwrap(),
        ] {
            let tampered = SyncPlan {
                bulk: Some(bulk),
                ..plan.clone()
            };
            let why = read(serde_json::to_value(tampered).unwrap()).unwrap_err();
            assert!(
                why.contains("its bulk plan does not send the rows' changes"),
                "{why}"
            );
        }
        let elsewhere = Client::builder(StoreId::new(7), "secret_t")
            .build()
            .unwrap();
        let tampered = SyncPlan {
            bulk: Some(
                elsewhere
                    .plan_bulk(plan.bulk_items(), MAX_BATCH_SIZE)
                    .unwrap(),
            ),
            ..plan
        };
        let why = read(serde_json::to_value(tampered).unwrap()).unwrap_err();
        assert!(
            why.contains("its bulk plan is for store 7, the sync for store 1003"),
            "{why}"
        );
    }
}
