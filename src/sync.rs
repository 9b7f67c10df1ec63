//! Making the store's stock match target counts, a warehouse file's say: [`Client::plan_sync`]
//! reads the current stock of every target and plans each change (a dry run stops there);
//! [`Client::apply_sync`] applies the plan through the bulk path, exactly once, and resumes a
//! saved plan instead of planning anew.
//!
//! By default a change is a delta computed from the plan's fresh read (`target - current`),
//! so a sale made on the storefront between the read and the write is kept; [`SyncMode::Set`]
//! sends absolute counts, which overwrite such a sale.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::{
    batch::Polling,
    bulk::{outcome::failed_with_5xx, run::CheckpointFuture},
    generated::types::{BatchRequestItem, BatchRequestItemMethod, ProductStock},
    options::request_builder,
    reads::{check_sku, product_fields, product_items, unreadable},
    sets::stock_update,
    time::unix_ms,
    BulkItem, BulkPlan, Client, CombinationId, Error, ItemOutcome, ItemStock, ProductId, Progress,
    RequestOptions, SkuMatch, Stock, StockChange, StockItem, StoreId, MAX_BATCH_SIZE,
};

/// The version of [`SyncPlan`]'s saved format that this crate writes and reads.
pub const SYNC_PLAN_FORMAT_VERSION: u32 = 1;

/// What one item's stock should be: an item named by its SKU (exact match, as
/// [`Client::find_sku`]) or by its ids, and its target stock (a count from 0 to
/// [`MAX_QUANTITY`](crate::MAX_QUANTITY), or unlimited).
///
/// `(sku, stock)` and `(item, stock)` pairs convert into it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyncTarget {
    /// The product or variation whose own SKU is `sku`.
    Sku {
        /// The SKU.
        sku: String,
        /// The target stock.
        stock: Stock,
    },
    /// A product's own stock, or a variation's.
    Item {
        /// The item.
        item: StockItem,
        /// The target stock.
        stock: Stock,
    },
}

impl SyncTarget {
    /// The item whose own SKU is `sku` should have `stock`.
    pub fn sku(sku: impl Into<String>, stock: Stock) -> Self {
        SyncTarget::Sku {
            sku: sku.into(),
            stock,
        }
    }

    /// `item` should have `stock`.
    pub fn item(item: StockItem, stock: Stock) -> Self {
        SyncTarget::Item { item, stock }
    }

    /// The target stock.
    pub fn stock(&self) -> Stock {
        match self {
            SyncTarget::Sku { stock, .. } | SyncTarget::Item { stock, .. } => *stock,
        }
    }
}

impl From<(String, Stock)> for SyncTarget {
    fn from((sku, stock): (String, Stock)) -> Self {
        SyncTarget::sku(sku, stock)
    }
}

impl From<(&str, Stock)> for SyncTarget {
    fn from((sku, stock): (&str, Stock)) -> Self {
        SyncTarget::sku(sku, stock)
    }
}

impl From<(StockItem, Stock)> for SyncTarget {
    fn from((item, stock): (StockItem, Stock)) -> Self {
        SyncTarget::item(item, stock)
    }
}

/// How a sync sends its changes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SyncMode {
    /// Each change is a delta, `target - current`, from the plan's read of the stock: a sale
    /// (or any change) made between that read and the write is kept, as the delta moves the
    /// stock from wherever it is then. Where a delta cannot reach the target, the plan says
    /// so by holding a set instead: to or from unlimited stock (Ecwid ignores deltas on an
    /// unlimited stock), and a difference beyond Ecwid's 32-bit delta.
    #[default]
    Delta,
    /// Each change is an absolute count. It lands the target whatever happened since the read,
    /// so **a sale made between the read and the write is overwritten** (sold, yet counted
    /// back in). For when the targets are known to include every sale up to the write.
    Set,
}

/// What the plan does for one target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SyncStatus {
    /// The stock differs from the target: the row's change is sent.
    Change,
    /// The stock is the target already: nothing is sent.
    Same,
    /// No product or variation has the SKU (or the item does not exist): nothing is sent.
    NotFound,
    /// Several items have the SKU (Ecwid does not forbid it): none is chosen, nothing is sent.
    Several,
    /// The item is a variation without a SKU of its own, sharing its product's stock, which
    /// differs from the target: the change is sent once, to the product.
    Shared,
}

/// `change`, `same`, `not-found`, `several` or `shared`, as it serializes.
impl std::fmt::Display for SyncStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SyncStatus::Change => "change",
            SyncStatus::Same => "same",
            SyncStatus::NotFound => "not-found",
            SyncStatus::Several => "several",
            SyncStatus::Shared => "shared",
        })
    }
}

/// One target of a [`SyncPlan`]: what was found, and what will be sent.
///
/// It serializes as a flat JSON object with snake-case fields, stocks as a number or
/// `"unlimited"`, and the change as `{"delta": n}` or `{"set": n | "unlimited"}`:
///
/// ```json
/// {"sku": "TEE-S", "product_id": 1, "combination_id": 11, "current": 10, "target": 12,
///  "change": {"delta": 2}, "status": "change"}
/// ```
///
/// `product_id` and `combination_id` are `null` when no single item was found
/// (`combination_id` also for a product's own stock), `current` and `change` when there is
/// none; a row of several items lists them in `matches` (`[{"product_id": .., "combination_id":
/// ..}]`), which other rows leave out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "RowForm", try_from = "RowForm")]
#[non_exhaustive]
pub struct SyncRow {
    /// The SKU: the target's, or for a target given by item, the item's as read (its product's
    /// for a variation sharing its stock; empty when the item was not found).
    pub sku: String,
    /// The one item found: the one with the SKU, or the target's item (also when it was not
    /// found). `None` when no item or several have the SKU.
    pub item: Option<StockItem>,
    /// Its stock as read when the plan was made.
    pub current: Option<Stock>,
    /// The target stock.
    pub target: Stock,
    /// The change that is sent: `None` when nothing is.
    pub change: Option<StockChange>,
    /// What the plan does.
    pub status: SyncStatus,
    /// Every item with the SKU, for [`SyncStatus::Several`]; empty otherwise.
    pub matches: Vec<StockItem>,
}

impl SyncRow {
    /// The item the change is sent to: the row's item, or for [`SyncStatus::Shared`] its
    /// product. `None` when nothing is sent.
    pub fn write_item(&self) -> Option<StockItem> {
        self.change?;
        self.stock_counter()
    }

    /// The stock the row's item moves: its own, or its product's when it shares it.
    fn stock_counter(&self) -> Option<StockItem> {
        match (self.status, self.item?) {
            (SyncStatus::Shared, item) => Some(StockItem::Product {
                product: item.product(),
            }),
            (SyncStatus::NotFound | SyncStatus::Several, _) => None,
            (_, item) => Some(item),
        }
    }

    /// The bulk item that sends the row's change.
    fn bulk_item(&self) -> Option<BulkItem> {
        let item = self.write_item()?;
        Some(match self.change? {
            StockChange::Delta(delta) => BulkItem::new(item, delta),
            StockChange::Set(Stock::Quantity(quantity)) => BulkItem::set(item, quantity),
            StockChange::Set(Stock::Unlimited) => BulkItem::set_unlimited(item),
        })
    }

    /// Whether the row is one `plan_sync` could have made in `mode`; says why not.
    fn check(&self, mode: SyncMode) -> Result<(), String> {
        stock_update(self.target).map_err(|error| error.to_string())?;
        let planned = self
            .current
            .and_then(|c| planned_change(c, self.target, mode));
        let consistent = match self.status {
            SyncStatus::NotFound => self.current.is_none() && self.change.is_none(),
            SyncStatus::Several => {
                self.item.is_none()
                    && self.current.is_none()
                    && self.change.is_none()
                    && self.matches.len() > 1
            }
            SyncStatus::Same => {
                self.item.is_some() && self.current == Some(self.target) && self.change.is_none()
            }
            SyncStatus::Change => {
                self.item.is_some() && self.change.is_some() && self.change == planned
            }
            SyncStatus::Shared => {
                matches!(self.item, Some(StockItem::Variation { .. }))
                    && self.change.is_some()
                    && self.change == planned
            }
        };
        let matches_only_for_several =
            self.matches.is_empty() || self.status == SyncStatus::Several;
        if consistent && matches_only_for_several {
            Ok(())
        } else {
            Err(format!(
                "the row for {:?} is not one a {mode:?} sync plans: {self:?}",
                self.sku
            ))
        }
    }
}

/// The change that takes `current` to `target` in `mode`; `None` when they are equal.
fn planned_change(current: Stock, target: Stock, mode: SyncMode) -> Option<StockChange> {
    if current == target {
        return None;
    }
    let delta = match (mode, current, target) {
        (SyncMode::Delta, Stock::Quantity(current), Stock::Quantity(target)) => target
            .checked_sub(current)
            .and_then(|delta| i32::try_from(delta).ok()),
        _ => None,
    };
    Some(delta.map_or(StockChange::Set(target), StockChange::Delta))
}

/// A stock as a row shows it: a number, or `"unlimited"`.
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(untagged)]
enum StockForm {
    Quantity(i64),
    Word(Unlimited),
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Unlimited {
    Unlimited,
}

impl From<Stock> for StockForm {
    fn from(stock: Stock) -> Self {
        match stock {
            Stock::Quantity(quantity) => StockForm::Quantity(quantity),
            Stock::Unlimited => StockForm::Word(Unlimited::Unlimited),
        }
    }
}

impl From<StockForm> for Stock {
    fn from(form: StockForm) -> Self {
        match form {
            StockForm::Quantity(quantity) => Stock::Quantity(quantity),
            StockForm::Word(Unlimited::Unlimited) => Stock::Unlimited,
        }
    }
}

/// A change as a row shows it: `{"delta": n}` or `{"set": n | "unlimited"}`.
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum ChangeForm {
    Delta(i32),
    Set(StockForm),
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemForm {
    product_id: ProductId,
    combination_id: Option<CombinationId>,
}

impl From<StockItem> for ItemForm {
    fn from(item: StockItem) -> Self {
        Self {
            product_id: item.product(),
            combination_id: item.combination(),
        }
    }
}

impl From<ItemForm> for StockItem {
    fn from(form: ItemForm) -> Self {
        match form.combination_id {
            Some(combination) => StockItem::Variation {
                product: form.product_id,
                combination,
            },
            None => StockItem::Product {
                product: form.product_id,
            },
        }
    }
}

/// A row as it serializes (see [`SyncRow`]).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RowForm {
    sku: String,
    product_id: Option<ProductId>,
    combination_id: Option<CombinationId>,
    current: Option<StockForm>,
    target: StockForm,
    change: Option<ChangeForm>,
    status: SyncStatus,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    matches: Vec<ItemForm>,
}

impl From<SyncRow> for RowForm {
    fn from(row: SyncRow) -> Self {
        Self {
            sku: row.sku,
            product_id: row.item.map(StockItem::product),
            combination_id: row.item.and_then(StockItem::combination),
            current: row.current.map(StockForm::from),
            target: row.target.into(),
            change: row.change.map(|change| match change {
                StockChange::Delta(delta) => ChangeForm::Delta(delta),
                StockChange::Set(stock) => ChangeForm::Set(stock.into()),
            }),
            status: row.status,
            matches: row.matches.into_iter().map(ItemForm::from).collect(),
        }
    }
}

impl TryFrom<RowForm> for SyncRow {
    type Error = String;

    fn try_from(form: RowForm) -> Result<Self, String> {
        let item = match (form.product_id, form.combination_id) {
            (Some(product_id), combination_id) => Some(
                ItemForm {
                    product_id,
                    combination_id,
                }
                .into(),
            ),
            (None, None) => None,
            (None, Some(_)) => {
                return Err(format!(
                    "the row for {:?} has a combination_id without a product_id",
                    form.sku
                ))
            }
        };
        Ok(Self {
            sku: form.sku,
            item,
            current: form.current.map(Stock::from),
            target: form.target.into(),
            change: form.change.map(|change| match change {
                ChangeForm::Delta(delta) => StockChange::Delta(delta),
                ChangeForm::Set(stock) => StockChange::Set(stock.into()),
            }),
            status: form.status,
            matches: form.matches.into_iter().map(StockItem::from).collect(),
        })
    }
}

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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "SavedSyncPlan")]
pub struct SyncPlan {
    version: u32,
    store_id: StoreId,
    mode: SyncMode,
    read_unix_ms: u64,
    read_requests: u64,
    rows: Vec<SyncRow>,
    bulk: Option<BulkPlan>,
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
    fn bulk_items(&self) -> Vec<BulkItem> {
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

type ProgressFn<'a> = Box<dyn FnMut(Progress) + Send + 'a>;
type CheckpointFn<'a> = Box<dyn FnMut(&SyncPlan) + Send + 'a>;
type AsyncCheckpointFn<'a> = Box<dyn FnMut(&SyncPlan) -> CheckpointFuture<'a> + Send + 'a>;

impl Client {
    /// Plans making the store's stock match `targets`: reads the current stock of every
    /// target, and makes one [`SyncRow`] per target with its current stock, the change that
    /// would be sent and a [`SyncStatus`]. Sends no write: show the plan for a dry run, or
    /// apply it with [`apply_sync`](Client::apply_sync).
    ///
    /// ```no_run
    /// # async fn run(client: ecwid_inventory::Client) -> Result<(), ecwid_inventory::Error> {
    /// use ecwid_inventory::{Stock, SyncStatus};
    ///
    /// let plan = client
    ///     .plan_sync([("TEE-S", Stock::Quantity(12)), ("GIFT", Stock::Unlimited)])
    ///     .await?;
    /// for row in plan.rows() {
    ///     println!("{}", serde_json::to_string(row).unwrap());
    /// }
    /// if plan.count(SyncStatus::NotFound) == 0 {
    ///     let report = client.apply_sync(plan).await?;
    ///     println!("{:?}, {} requests", report.summary(), report.requests());
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// **Reading** costs a few rate-limited requests, never one per target. Up to 500 targets
    /// are looked up directly: their SKUs through [`find_skus`](Client::find_skus), the
    /// products of targets given by item through a batch of product reads. For more, one
    /// search learns the catalog's size, and when the catalog has fewer pages of 100 products
    /// than there are lookups, the whole catalog is read instead (as
    /// [`catalog_stock`](Client::catalog_stock) reads it), and the targets are found in it:
    /// 10,000 SKUs in a 10,000-product catalog take some 6 requests.
    ///
    /// **Matching**: a SKU matches exactly, as [`find_sku`](Client::find_sku): a product's
    /// own SKU or a variation's own, never a variation's inherited one. Several items with one
    /// SKU are [`SyncStatus::Several`] and left alone. A target given by item that is a
    /// variation sharing its product's stock is changed through the product
    /// ([`SyncStatus::Shared`]).
    ///
    /// **Changes**: in the default [`SyncMode::Delta`], `target - current` as a delta; a
    /// target of unlimited stock, an item whose stock is unlimited (a delta cannot reach
    /// either), or a difference beyond 32 bits is planned as a set, which the row shows. With
    /// [`mode(SyncMode::Set)`](PlanSync::mode), absolute counts, which overwrite a sale made
    /// between the read and the write.
    ///
    /// **Bad input fails before anything is sent**, with [`Error::InvalidInput`] naming the
    /// target: an empty SKU or one with whitespace around it, a SKU or an item given twice, a
    /// count below zero or over [`MAX_QUANTITY`](crate::MAX_QUANTITY), a zero id. Two targets
    /// found to move the same stock (a product and its variation sharing its stock, say) fail
    /// the same way once read, having sent no write.
    pub fn plan_sync<T: Into<SyncTarget>>(
        &self,
        targets: impl IntoIterator<Item = T>,
    ) -> PlanSync<'_> {
        PlanSync {
            client: self,
            targets: targets.into_iter().map(Into::into).collect(),
            mode: SyncMode::default(),
            polling: Polling::default(),
            on_progress: None,
            options: RequestOptions::default(),
        }
    }

    /// Applies `plan` through the bulk path ([`bulk_adjust`](Client::bulk_adjust)): every
    /// change exactly once, in batches of up to 500, with progress and checkpoints. A plan
    /// saved from [`ApplySync::on_checkpoint`] (or a report's
    /// [`plan`](SyncReport::plan)) resumes: every outcome is learned, nothing is sent twice,
    /// nothing is planned anew.
    ///
    /// ```no_run
    /// # async fn run(client: ecwid_inventory::Client, plan: ecwid_inventory::SyncPlan)
    /// # -> Result<(), ecwid_inventory::Error> {
    /// use ecwid_inventory::SyncOutcome;
    ///
    /// let report = client
    ///     .apply_sync(plan)
    ///     .on_checkpoint(|saved| {
    ///         std::fs::write("sync-plan.json", serde_json::to_vec(saved).unwrap()).unwrap()
    ///     })
    ///     .await?;
    /// for (row, outcome) in report.iter() {
    ///     if let SyncOutcome::Unknown { reason, .. } = outcome {
    ///         eprintln!("{}: {reason}", row.sku);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// Save every checkpoint and run a saved plan again after a crash: the bulk plan's
    /// deduplication keys are made when applying starts and are good for 55 minutes (see
    /// [`BulkPlan`]). Apply soon after planning: a [`SyncMode::Delta`] plan's deltas move the
    /// stock from what it was when the plan read it.
    ///
    /// Fails only on bad input (a plan for another store, a poll setting, the options), before
    /// anything is sent; what happens to each change is in the [`SyncReport`].
    pub fn apply_sync(&self, plan: SyncPlan) -> ApplySync<'_> {
        ApplySync {
            client: self,
            plan,
            polling: Polling::default(),
            on_progress: None,
            on_checkpoint: None,
            on_checkpoint_async: None,
            options: RequestOptions::default(),
        }
    }
}

/// A sync's plan to make; made by [`Client::plan_sync`]. Send it with `.await` or
/// [`send`](Self::send).
#[must_use = "nothing is sent until it is awaited"]
pub struct PlanSync<'a> {
    client: &'a Client,
    targets: Vec<SyncTarget>,
    mode: SyncMode,
    polling: Polling,
    on_progress: Option<ProgressFn<'a>>,
    options: RequestOptions,
}

request_builder!(PlanSync, SyncPlan);

impl std::fmt::Debug for PlanSync<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlanSync")
            .field("client", self.client)
            .field("targets", &self.targets.len())
            .field("mode", &self.mode)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<'a> PlanSync<'a> {
    /// How the changes will be sent (default [`SyncMode::Delta`]); the plan's rows show the
    /// changes of this mode, and applying sends exactly those.
    pub fn mode(mut self, mode: SyncMode) -> Self {
        self.mode = mode;
        self
    }

    /// How often a read batch's status is read (defaults 200 ms and 2 s), as for
    /// [`BulkRun::poll_interval`](crate::BulkRun::poll_interval).
    pub fn poll_interval(mut self, first: Duration, max: Duration) -> Self {
        self.polling.first = first;
        self.polling.max = max.max(first);
        self
    }

    /// Called as the read goes: when the whole catalog is read, with its products read of its
    /// total; otherwise once the lookups are done, with the targets looked up.
    pub fn on_progress(mut self, progress: impl FnMut(Progress) + Send + 'a) -> Self {
        self.on_progress = Some(Box::new(progress));
        self
    }

    /// Reads the stock and makes the plan (see [`Client::plan_sync`]).
    pub async fn send(self) -> Result<SyncPlan, Error> {
        let Self {
            client,
            targets,
            mode,
            polling,
            mut on_progress,
            options,
        } = self;
        options.check()?;
        polling.check().map_err(Error::InvalidInput)?;
        check_targets(&targets)?;
        let before = client.requests_sent();
        let read_at = client.now();
        let found = find_targets(client, &targets, polling, options, &mut on_progress).await?;
        let rows = make_rows(targets, found, mode)?;
        Ok(SyncPlan {
            version: SYNC_PLAN_FORMAT_VERSION,
            store_id: client.store_id(),
            mode,
            read_unix_ms: unix_ms(read_at),
            read_requests: client.requests_sent().saturating_sub(before),
            rows,
            bulk: None,
        })
    }
}

/// Every target well formed, each SKU and item once.
fn check_targets(targets: &[SyncTarget]) -> Result<(), Error> {
    let mut skus: HashMap<&str, usize> = HashMap::new();
    let mut items: HashMap<StockItem, usize> = HashMap::new();
    for (n, target) in targets.iter().enumerate() {
        let name = match target {
            SyncTarget::Sku { sku, .. } => format!("target {n} (SKU {sku:?})"),
            SyncTarget::Item { item, .. } => format!("target {n} ({item:?})"),
        };
        let bad = |error: Error| match error {
            Error::InvalidInput(why) => Error::InvalidInput(format!("{name}: {why}")),
            other => other,
        };
        stock_update(target.stock()).map_err(bad)?;
        let earlier = match target {
            SyncTarget::Sku { sku, .. } => {
                check_sku(sku).map_err(bad)?;
                skus.insert(sku, n)
            }
            SyncTarget::Item { item, .. } => {
                item.product().non_zero().map_err(bad)?;
                item.combination()
                    .map(CombinationId::non_zero)
                    .transpose()
                    .map_err(bad)?;
                items.insert(*item, n)
            }
        };
        if let Some(earlier) = earlier {
            return Err(Error::InvalidInput(format!(
                "{name} repeats target {earlier}: give each item one target"
            )));
        }
    }
    Ok(())
}

/// What each target names, as read: no item, one, or several.
async fn find_targets(
    client: &Client,
    targets: &[SyncTarget],
    polling: Polling,
    options: RequestOptions,
    progress: &mut Option<ProgressFn<'_>>,
) -> Result<Vec<Vec<ItemStock>>, Error> {
    let products: BTreeSet<ProductId> = targets
        .iter()
        .filter_map(|target| match target {
            SyncTarget::Item { item, .. } => Some(item.product()),
            SyncTarget::Sku { .. } => None,
        })
        .collect();
    let skus = targets.len()
        - targets
            .iter()
            .filter(|t| matches!(t, SyncTarget::Item { .. }))
            .count();
    let lookups = skus + products.len();
    if lookups > MAX_BATCH_SIZE {
        let mut reader = client
            .catalog_stock()
            .options(options)
            .poll_interval(polling.first, polling.max)
            .poll_timeout(polling.timeout)
            .on_progress(|p| {
                if let Some(progress) = progress.as_mut() {
                    progress(p);
                }
            })
            .reader();
        let first = reader.next_items().await?.unwrap_or_default();
        let pages = reader.total().unwrap_or(0).div_ceil(crate::catalog::PAGE);
        if usize::try_from(pages).is_ok_and(|pages| pages < lookups) {
            let mut found = Found::new(targets);
            found.take(first);
            while let Some(items) = reader.next_items().await? {
                found.take(items);
            }
            return Ok(found.items);
        }
    }
    let mut found = Found::new(targets);
    look_up_skus(client, targets, options, &mut found).await?;
    read_products(client, &products, polling, options, &mut found).await?;
    if let Some(progress) = progress.as_mut() {
        progress(Progress {
            completed: targets.len(),
            total: targets.len(),
        });
    }
    Ok(found.items)
}

/// The items found for each target, filled from whatever was read.
struct Found<'t> {
    by_sku: HashMap<&'t str, usize>,
    by_item: HashMap<StockItem, usize>,
    items: Vec<Vec<ItemStock>>,
}

impl<'t> Found<'t> {
    fn new(targets: &'t [SyncTarget]) -> Self {
        let mut by_sku = HashMap::new();
        let mut by_item = HashMap::new();
        for (n, target) in targets.iter().enumerate() {
            match target {
                SyncTarget::Sku { sku, .. } => by_sku.insert(sku.as_str(), n),
                SyncTarget::Item { item, .. } => by_item.insert(*item, n),
            };
        }
        Self {
            by_sku,
            by_item,
            items: vec![Vec::new(); targets.len()],
        }
    }

    /// Notes every target that `items` holds: by item, and by own SKU (a variation sharing its
    /// product's stock carries its product's SKU, which names the product, not it). An item
    /// read twice (by its SKU's lookup, and with the product of a target given by item) is
    /// noted once.
    fn take(&mut self, items: impl IntoIterator<Item = ItemStock>) {
        for item in items {
            if let Some(&n) = self.by_item.get(&item.item) {
                self.note(n, &item);
            }
            if item.shares_product_stock {
                continue;
            }
            if let Some(&n) = self.by_sku.get(item.sku.as_str()) {
                self.note(n, &item);
            }
        }
    }

    fn note(&mut self, n: usize, item: &ItemStock) {
        if !self.items[n].iter().any(|seen| seen.item == item.item) {
            self.items[n].push(item.clone());
        }
    }
}

/// The SKU targets, through [`Client::find_skus`]. A SKU whose lookup failed fails the plan:
/// without its stock, nothing can be planned for it.
async fn look_up_skus(
    client: &Client,
    targets: &[SyncTarget],
    options: RequestOptions,
    found: &mut Found<'_>,
) -> Result<(), Error> {
    let skus: Vec<&str> = targets
        .iter()
        .filter_map(|target| match target {
            SyncTarget::Sku { sku, .. } => Some(sku.as_str()),
            SyncTarget::Item { .. } => None,
        })
        .collect();
    if skus.is_empty() {
        return Ok(());
    }
    let report = client.find_skus(&skus).options(options).send().await?;
    for (sku, result) in report.results {
        let n = found.by_sku[sku.as_str()];
        found.items[n] = match result? {
            SkuMatch::Found(item) => vec![item],
            SkuMatch::Several(items) => items,
            _ => Vec::new(),
        };
    }
    Ok(())
}

/// The products of the targets given by item, read through batches of product reads (each
/// with its variations). A product Ecwid does not have leaves its targets not found.
async fn read_products(
    client: &Client,
    products: &BTreeSet<ProductId>,
    polling: Polling,
    options: RequestOptions,
    found: &mut Found<'_>,
) -> Result<(), Error> {
    let products: Vec<ProductId> = products.iter().copied().collect();
    let fields: String = form_urlencoded::byte_serialize(product_fields().as_bytes()).collect();
    for chunk in products.chunks(MAX_BATCH_SIZE) {
        let requests: Vec<BatchRequestItem> = chunk
            .iter()
            .enumerate()
            .map(|(n, product)| BatchRequestItem {
                id: Some(n.to_string()),
                method: BatchRequestItemMethod::Get,
                path: format!("/products/{product}?responseFields={fields}"),
                body: serde_json::Map::new(),
            })
            .collect();
        let mut answers = client.read_batch(&requests, polling, &options).await?;
        for (n, product) in chunk.iter().enumerate() {
            let answer = answers.remove(&n.to_string()).unwrap_or_else(|| {
                Err(unreadable(format!(
                    "the batch has no result for product {product}"
                )))
            });
            let body = match answer {
                Err(Error::Api { status: 404, .. }) => continue,
                answer => answer?,
            };
            let read: ProductStock = serde_json::from_value(body)
                .map_err(|_| unreadable(format!("an unreadable answer for product {product}")))?;
            found.take(product_items(&read)?);
        }
    }
    Ok(())
}

/// One row per target, from what was found for it.
fn make_rows(
    targets: Vec<SyncTarget>,
    found: Vec<Vec<ItemStock>>,
    mode: SyncMode,
) -> Result<Vec<SyncRow>, Error> {
    let mut rows: Vec<SyncRow> = Vec::with_capacity(targets.len());
    let mut counters: HashMap<StockItem, usize> = HashMap::new();
    for (n, (target, mut items)) in targets.into_iter().zip(found).enumerate() {
        let (sku, asked_item, target) = match target {
            SyncTarget::Sku { sku, stock } => (sku, None, stock),
            SyncTarget::Item { item, stock } => (String::new(), Some(item), stock),
        };
        let row = match items.len() {
            0 => SyncRow {
                sku,
                item: asked_item,
                current: None,
                target,
                change: None,
                status: SyncStatus::NotFound,
                matches: Vec::new(),
            },
            1 => {
                let found = items.remove(0);
                let change = planned_change(found.stock, target, mode);
                let status = match (change, found.shares_product_stock) {
                    (None, _) => SyncStatus::Same,
                    (Some(_), true) => SyncStatus::Shared,
                    (Some(_), false) => SyncStatus::Change,
                };
                SyncRow {
                    sku: if sku.is_empty() { found.sku } else { sku },
                    item: Some(found.item),
                    current: Some(found.stock),
                    target,
                    change,
                    status,
                    matches: Vec::new(),
                }
            }
            _ => SyncRow {
                sku,
                item: None,
                current: None,
                target,
                change: None,
                status: SyncStatus::Several,
                matches: items.iter().map(|item| item.item).collect(),
            },
        };
        if let Some(counter) = row.stock_counter() {
            if let Some(earlier) = counters.insert(counter, n) {
                return Err(Error::InvalidInput(format!(
                    "targets {earlier} and {n} both move the stock of {counter:?} (a product and \
                     a variation sharing its stock, or one item by SKU and by ids): give each \
                     stock one target"
                )));
            }
        }
        rows.push(row);
    }
    Ok(rows)
}

/// A sync's plan to apply; made by [`Client::apply_sync`]. Send it with `.await` or
/// [`send`](Self::send).
#[must_use = "nothing is sent until it is awaited"]
pub struct ApplySync<'a> {
    client: &'a Client,
    plan: SyncPlan,
    polling: Polling,
    on_progress: Option<ProgressFn<'a>>,
    on_checkpoint: Option<CheckpointFn<'a>>,
    on_checkpoint_async: Option<AsyncCheckpointFn<'a>>,
    options: RequestOptions,
}

request_builder!(ApplySync, SyncReport);

impl std::fmt::Debug for ApplySync<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplySync")
            .field("client", self.client)
            .field("rows", &self.plan.rows.len())
            .field("mode", &self.plan.mode)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<'a> ApplySync<'a> {
    /// How often each batch's status is read, as for
    /// [`BulkRun::poll_interval`](crate::BulkRun::poll_interval).
    pub fn poll_interval(mut self, first: Duration, max: Duration) -> Self {
        self.polling.first = first;
        self.polling.max = max.max(first);
        self
    }

    /// How long to wait for Ecwid to complete one batch, as for
    /// [`BulkRun::poll_timeout`](crate::BulkRun::poll_timeout): past it, the changes of that
    /// batch and the ones after it are [`SyncOutcome::Unknown`], and applying the saved plan
    /// again learns their outcomes.
    pub fn poll_timeout(mut self, timeout: Duration) -> Self {
        self.polling.timeout = timeout;
        self
    }

    /// Called with the changes done of all the plan's changes, as bulk work reports its
    /// [`Progress`].
    pub fn on_progress(mut self, progress: impl FnMut(Progress) + Send + 'a) -> Self {
        self.on_progress = Some(Box::new(progress));
        self
    }

    /// Called with the whole plan, its bulk plan included, before anything is sent and after
    /// each batch is created or read: save it, and a crashed run resumes from it with
    /// [`Client::apply_sync`], sending nothing twice.
    pub fn on_checkpoint(mut self, checkpoint: impl FnMut(&SyncPlan) + Send + 'a) -> Self {
        self.on_checkpoint = Some(Box::new(checkpoint));
        self
    }

    /// Like [`on_checkpoint`](Self::on_checkpoint), for a checkpoint that writes somewhere
    /// slow and may fail, as for [`BulkRun::on_checkpoint_async`](crate::BulkRun::on_checkpoint_async):
    /// it is awaited before anything more is sent, and when it fails the sync stops at once,
    /// sends nothing more, and [`send`](Self::send) returns its error. Use it when resuming
    /// depends on the saved plan: a run that went on past a save that failed would leave a
    /// saved plan without the keys its batches went out under. The future must not borrow
    /// the plan. With `on_checkpoint` too, both are called, the plain one first.
    pub fn on_checkpoint_async<F, Fut>(mut self, mut checkpoint: F) -> Self
    where
        F: FnMut(&SyncPlan) -> Fut + Send + 'a,
        Fut: Future<Output = Result<(), Error>> + Send + 'a,
    {
        self.on_checkpoint_async = Some(Box::new(move |plan| Box::pin(checkpoint(plan))));
        self
    }

    /// Applies the plan (see [`Client::apply_sync`]).
    pub async fn send(self) -> Result<SyncReport, Error> {
        let Self {
            client,
            mut plan,
            polling,
            mut on_progress,
            mut on_checkpoint,
            mut on_checkpoint_async,
            options,
        } = self;
        options.check()?;
        polling.check().map_err(Error::InvalidInput)?;
        if plan.store_id != client.store_id() {
            return Err(Error::InvalidInput(format!(
                "the plan is for store {}, the client for store {}",
                plan.store_id,
                client.store_id()
            )));
        }
        let before = client.requests_sent();
        let bulk = match plan.bulk.take() {
            Some(bulk) => bulk,
            None => {
                let items = plan.bulk_items();
                if items.is_empty() {
                    return Ok(SyncReport::new(plan, Vec::new(), 0));
                }
                client.plan_bulk(items, MAX_BATCH_SIZE)?
            }
        };
        let mut run = client
            .resume_bulk(bulk)
            .poll_interval(polling.first, polling.max)
            .poll_timeout(polling.timeout)
            .options(options);
        if let Some(progress) = on_progress.as_mut() {
            run = run.on_progress(progress);
        }
        let saved = &mut plan;
        if on_checkpoint.is_some() || on_checkpoint_async.is_some() {
            run = run.on_checkpoint_async(move |bulk| {
                saved.bulk = Some(bulk.clone());
                if let Some(checkpoint) = on_checkpoint.as_mut() {
                    checkpoint(saved);
                }
                match on_checkpoint_async.as_mut() {
                    Some(checkpoint) => checkpoint(saved),
                    None => Box::pin(std::future::ready(Ok(()))),
                }
            });
        }
        let report = run.send().await?;
        let done = report.plan().is_done();
        let outcomes = report
            .outcomes()
            .iter()
            .map(|outcome| SyncOutcome::of(outcome, done))
            .collect();
        plan.bulk = Some(report.into_plan());
        let spent = client.requests_sent().saturating_sub(before);
        Ok(SyncReport::new(plan, outcomes, spent))
    }
}

/// What happened to one row of an applied [`SyncPlan`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SyncOutcome {
    /// The change was applied, with Ecwid's warning when the stock became negative.
    #[non_exhaustive]
    Applied {
        /// Ecwid's warning.
        warning: Option<String>,
    },
    /// The change was not applied: Ecwid refused it (`status` and Ecwid's error), or it was
    /// never run (no `status`; the message says why: not executed, never sent, or answered
    /// `updateCount: 0`). Planning the sync again sends it again.
    #[non_exhaustive]
    Failed {
        /// The change's HTTP status inside its batch, when Ecwid refused it.
        status: Option<u16>,
        /// Ecwid's `errorCode`.
        error_code: Option<String>,
        /// Ecwid's `errorMessage`, or why the change was not run.
        error_message: Option<String>,
    },
    /// The change may or may not have been applied; `reason` says why, and what to do.
    #[non_exhaustive]
    Unknown {
        /// Why, and what to do.
        reason: String,
    },
    /// The row sends nothing (the same stock, not found, several items).
    NothingToDo,
}

/// What to do about a change whose outcome is unknown once nothing is left to resume.
const PLAN_AGAIN: &str = "planning the sync again reads the stock afresh and sends only what \
                          is still missing";

impl SyncOutcome {
    /// The outcome of a change from its bulk item's; `done` when the bulk plan has nothing
    /// left to resume.
    fn of(outcome: &ItemOutcome, done: bool) -> Self {
        let failed = |message: String| SyncOutcome::Failed {
            status: None,
            error_code: None,
            error_message: Some(message),
        };
        let unknown = |why: String| SyncOutcome::Unknown {
            reason: if done {
                format!("{why}; {PLAN_AGAIN}")
            } else {
                format!("{why}; apply the saved plan again to learn it")
            },
        };
        match outcome {
            ItemOutcome::Updated { warning } => SyncOutcome::Applied {
                warning: warning.clone(),
            },
            ItemOutcome::NotUpdated => {
                failed("Ecwid answered updateCount 0: the stock was not changed".into())
            }
            ItemOutcome::Failed {
                status,
                error_code,
                error_message,
            } if *status < 500 => SyncOutcome::Failed {
                status: Some(*status),
                error_code: error_code.clone(),
                error_message: error_message.clone(),
            },
            ItemOutcome::Failed {
                status,
                error_code,
                error_message,
            } => unknown(failed_with_5xx(
                *status,
                error_code.as_deref(),
                error_message.as_deref(),
            )),
            ItemOutcome::NotExecuted => failed("Ecwid did not execute it".into()),
            ItemOutcome::NotSent { reason } => failed(format!("not sent: {reason}")),
            ItemOutcome::Unknown { reason } => unknown(reason.clone()),
        }
    }
}

/// Counts of a [`SyncReport`]'s outcomes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncSummary {
    /// Changes applied.
    pub applied: usize,
    /// Changes not applied.
    pub failed: usize,
    /// Changes that may or may not have been applied.
    pub unknown: usize,
    /// Rows with nothing to send.
    pub nothing_to_do: usize,
}

/// What applying a [`SyncPlan`] did: an outcome per row, and the requests spent.
#[derive(Clone, Debug)]
pub struct SyncReport {
    outcomes: Vec<SyncOutcome>,
    requests: u64,
    plan: SyncPlan,
}

impl SyncReport {
    /// Pairs each row that sends a change with its outcome, in order, and every other row
    /// with [`SyncOutcome::NothingToDo`].
    fn new(plan: SyncPlan, changes: Vec<SyncOutcome>, requests: u64) -> Self {
        let mut changes = changes.into_iter();
        let outcomes = plan
            .rows
            .iter()
            .map(|row| match row.change {
                Some(_) => changes.next().unwrap_or_else(|| SyncOutcome::Unknown {
                    reason: "no outcome was recorded for this change".into(),
                }),
                None => SyncOutcome::NothingToDo,
            })
            .collect();
        Self {
            outcomes,
            requests,
            plan,
        }
    }

    /// Each row with its outcome, in the plan's order.
    pub fn iter(&self) -> impl Iterator<Item = (&SyncRow, &SyncOutcome)> {
        self.plan.rows.iter().zip(&self.outcomes)
    }

    /// The outcomes, one per row.
    pub fn outcomes(&self) -> &[SyncOutcome] {
        &self.outcomes
    }

    /// How many rows ended each way.
    pub fn summary(&self) -> SyncSummary {
        let mut summary = SyncSummary::default();
        for outcome in &self.outcomes {
            *match outcome {
                SyncOutcome::Applied { .. } => &mut summary.applied,
                SyncOutcome::Failed { .. } => &mut summary.failed,
                SyncOutcome::Unknown { .. } => &mut summary.unknown,
                SyncOutcome::NothingToDo => &mut summary.nothing_to_do,
            } += 1;
        }
        summary
    }

    /// Whether every change was applied (or there was none).
    pub fn is_complete(&self) -> bool {
        self.outcomes
            .iter()
            .all(|o| matches!(o, SyncOutcome::Applied { .. } | SyncOutcome::NothingToDo))
    }

    /// The rate-limited requests this application spent (batch creates and status reads),
    /// counted on the client ([`Client::requests_sent`]): exact when nothing else used the
    /// client meanwhile. The read's are [`SyncPlan::read_requests`].
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// The plan as it ends, with its bulk plan: apply it again to resume what is unknown.
    pub fn plan(&self) -> &SyncPlan {
        &self.plan
    }

    /// The plan as it ends (see [`plan`](Self::plan)).
    pub fn into_plan(self) -> SyncPlan {
        self.plan
    }
}
