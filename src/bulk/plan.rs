//! The saved plan: what a bulk sync sends, chunk by chunk, and how far it got. Users store it
//! on disk, so its format is versioned.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::ItemOutcome;
use crate::{
    batch::paths,
    deduplication::{check_caller_key, deduplication_key},
    generated::types::{BatchRequestItem, BatchRequestItemMethod, StockDelta},
    stock::{check_delta, stock_update},
    time::unix_ms,
    CombinationId, Error, ProductId, Stock, StockChange, StockItem, StoreId,
};

/// The most requests Ecwid accepts in one batch.
pub const MAX_BATCH_SIZE: usize = 500;

/// One change of a bulk sync: a delta or an absolute count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BulkItem {
    /// The product or variation to change.
    pub item: StockItem,
    /// What to do to its stock.
    #[serde(flatten)]
    pub change: StockChange,
    /// `checkLowStockNotification` for a delta. When `None`, the client's default
    /// ([`ClientBuilder::check_low_stock_notification`](crate::ClientBuilder::check_low_stock_notification))
    /// is filled in when the plan is made; without one either, the flag is left out. Ecwid
    /// takes it on adjustments only, so a set never sends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_low_stock_notification: Option<bool>,
    /// The caller's own id for the change, and when it was first attempted (milliseconds since
    /// the Unix epoch), for a keyed run: see [`BulkItem::exactly_once_key`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    first_attempt_unix_ms: Option<u64>,
}

impl BulkItem {
    /// Adds `delta` to the stock of `item`.
    pub fn new(item: StockItem, delta: i32) -> Self {
        Self::change(item, StockChange::Delta(delta))
    }

    /// Sets the stock of `item` to `quantity` (0 to [`MAX_QUANTITY`](crate::stock::MAX_QUANTITY);
    /// others are refused when the plan is made).
    pub fn set(item: StockItem, quantity: i64) -> Self {
        Self::change(item, StockChange::Set(Stock::Quantity(quantity)))
    }

    /// Makes the stock of `item` unlimited.
    pub fn set_unlimited(item: StockItem) -> Self {
        Self::change(item, StockChange::Set(Stock::Unlimited))
    }

    pub(crate) fn change(item: StockItem, change: StockChange) -> Self {
        Self {
            item,
            change,
            check_low_stock_notification: None,
            key: None,
            first_attempt_unix_ms: None,
        }
    }

    /// Adds `delta` to a variation's stock.
    pub fn variation(product: ProductId, combination: CombinationId, delta: i32) -> Self {
        Self::new(
            StockItem::Variation {
                product,
                combination,
            },
            delta,
        )
    }

    /// Adds `delta` to a product's stock.
    pub fn product(product: ProductId, delta: i32) -> Self {
        Self::new(StockItem::Product { product }, delta)
    }

    /// The delta, for an item that adjusts.
    pub fn delta(&self) -> Option<i32> {
        match self.change {
            StockChange::Delta(delta) => Some(delta),
            StockChange::Set(_) => None,
        }
    }

    /// Gives the change the caller's own id for it (an order line, an event), and when it was
    /// first attempted, as [`AdjustStock::exactly_once_key`](crate::stock::AdjustStock::exactly_once_key)
    /// does for one call. Either every item of a run has a key, or none.
    ///
    /// A chunk's deduplication key is then derived from its items' keys (and the store), not
    /// drawn at random: the same items sent again in the same order, by a restarted process,
    /// make the same chunks under the same keys, and Ecwid answers each with its first ticket,
    /// applying nothing twice. The plan's keys are as old as its earliest first attempt, and no
    /// chunk is sent once that is 55 minutes old (its items are then
    /// [`Unknown`](crate::bulk::ItemOutcome::Unknown)). Items regrouped differently (another order,
    /// other items beside them, another chunk size) make other chunks, which Ecwid cannot
    /// recognize: for events that may come again in any grouping, record them in the
    /// [journal](crate::journal) instead, which remembers how it grouped them before sending.
    pub fn exactly_once_key(mut self, key: impl Into<String>, first_attempt: SystemTime) -> Self {
        self.key = Some(key.into());
        self.first_attempt_unix_ms = Some(unix_ms(first_attempt));
        self
    }

    /// The caller's key, for a keyed item.
    pub fn caller_key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// Sets `checkLowStockNotification` for this item (it wins over the client's default).
    pub fn check_low_stock_notification(mut self, check: bool) -> Self {
        self.check_low_stock_notification = Some(check);
        self
    }

    /// The batch request carrying this change; `id` is the item's index in the input. The one
    /// place a change becomes a request, for bulk sync and exactly-once adjustments alike.
    pub(crate) fn to_request(&self, index: usize) -> Result<BatchRequestItem, Error> {
        let (path, body) = match self.change {
            StockChange::Delta(delta) => (
                paths::stock_adjustment(self.item, self.check_low_stock_notification)?,
                serde_json::to_value(StockDelta {
                    quantity_delta: check_delta(delta.into())?,
                }),
            ),
            StockChange::Set(stock) => (
                paths::stock_item(self.item)?,
                serde_json::to_value(stock_update(stock)?),
            ),
        };
        let Ok(serde_json::Value::Object(body)) = body else {
            unreachable!("a struct serializes to an object")
        };
        Ok(BatchRequestItem {
            id: Some(index.to_string()),
            method: BatchRequestItemMethod::Put,
            path,
            body,
        })
    }
}

/// The version of the saved plan's format that this crate writes and reads. A plan of another
/// version is refused when it is read, with an error that says so.
pub const PLAN_FORMAT_VERSION: u32 = 1;

/// The in-flight state of a bulk sync: chunks, their deduplication keys, tickets and results.
/// Serializable, so that a crashed program can resume from it without applying anything twice.
///
/// The format is versioned ([`PLAN_FORMAT_VERSION`]) and checked whole when it is read: an
/// unknown version, or a plan edited into something this crate would not have written (counts
/// that do not match, a chunk over [`MAX_BATCH_SIZE`], a repeated or malformed key, a bad item),
/// fails to deserialize with an error naming the problem, so nothing of it can be sent.
///
/// A plan's deduplication keys are made with it, and Ecwid remembers a key for an hour from its
/// first use. A chunk is therefore created, or created again, only within 55 minutes of
/// the plan being made; past that it is never sent (it *expires*: its items are
/// [`ItemOutcome::Unknown`] until the stock is read), because a run whose checkpoints were not
/// saved may have created it already. Run a plan soon after making it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "SavedPlan")]
pub struct BulkPlan {
    /// Always [`PLAN_FORMAT_VERSION`] in a plan this crate holds.
    version: u32,
    /// Names the plan, so that a process never runs one plan twice at once.
    pub(super) plan_id: String,
    pub(super) store_id: StoreId,
    /// When the chunks' deduplication keys were made (milliseconds since the Unix epoch): no
    /// create of any chunk can have been sent before.
    pub(super) keys_made_unix_ms: u64,
    pub(super) chunks: Vec<Chunk>,
}

/// A plan as read from its saved form, before it is checked.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SavedPlan {
    version: u32,
    plan_id: String,
    store_id: StoreId,
    keys_made_unix_ms: u64,
    chunks: Vec<Chunk>,
}

impl TryFrom<SavedPlan> for BulkPlan {
    type Error = String;

    fn try_from(saved: SavedPlan) -> Result<Self, String> {
        if saved.version != PLAN_FORMAT_VERSION {
            return Err(format!(
                "this is a bulk plan of format version {}; this version of ecwid-inventory reads \
                 version {PLAN_FORMAT_VERSION} only",
                saved.version
            ));
        }
        let plan = BulkPlan {
            version: saved.version,
            plan_id: saved.plan_id,
            store_id: saved.store_id,
            keys_made_unix_ms: saved.keys_made_unix_ms,
            chunks: saved.chunks,
        };
        plan.check()
            .map_err(|why| format!("not a consistent bulk plan: {why}"))?;
        Ok(plan)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct Chunk {
    /// Index of the chunk's first item in the input.
    pub(super) first: usize,
    pub(super) items: Vec<BulkItem>,
    pub(super) deduplication_key: String,
    pub(super) state: ChunkState,
    /// The last error met while creating or polling, for the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) last_error: Option<String>,
}

impl Chunk {
    /// Whether nothing more will be sent or read for this chunk.
    pub(super) fn is_final(&self) -> bool {
        matches!(self.state, ChunkState::Done { .. } | ChunkState::Expired)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "state",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub(super) enum ChunkState {
    /// Not sent by any run that saved its checkpoints.
    Planned,
    /// A create may have been sent.
    Creating,
    /// Queued at Ecwid under this ticket.
    Created { ticket: String },
    /// Executed; one outcome per item.
    Done { outcomes: Vec<ItemOutcome> },
    /// Final: the chunk was not known to be queued when its key became too old to create it
    /// again safely (see [`BulkPlan`]). It is never sent again; its items' outcomes are unknown
    /// until the stock is read.
    Expired,
}

/// Where a chunk of a plan is, as the journal records its events: the plan read through
/// types, never through its saved form's field names.
#[cfg(feature = "journal")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChunkStage<'a> {
    /// Not sent by any run that saved its checkpoints.
    Planned,
    /// A create may have been sent.
    Creating,
    /// Queued at Ecwid under this ticket.
    Created { ticket: &'a str },
    /// Executed, or expired: final.
    Final,
}

/// One chunk of a plan, for the journal: the items it holds, its deduplication key and where it
/// is.
#[cfg(feature = "journal")]
#[derive(Clone, Copy, Debug)]
pub(crate) struct ChunkView<'a>(&'a Chunk);

#[cfg(feature = "journal")]
impl<'a> ChunkView<'a> {
    /// The positions of its items in the plan.
    pub(crate) fn items(&self) -> std::ops::Range<usize> {
        self.0.first..self.0.first + self.0.items.len()
    }

    /// The key every create of its batch is sent under.
    pub(crate) fn deduplication_key(&self) -> &'a str {
        &self.0.deduplication_key
    }

    pub(crate) fn stage(&self) -> ChunkStage<'a> {
        match &self.0.state {
            ChunkState::Planned => ChunkStage::Planned,
            ChunkState::Creating => ChunkStage::Creating,
            ChunkState::Created { ticket } => ChunkStage::Created { ticket },
            ChunkState::Done { .. } | ChunkState::Expired => ChunkStage::Final,
        }
    }
}

/// For a keyed run, the earliest first attempt of its items; `None` for a run without keys.
/// Fails when some items have a key and others none, on a bad key, and on a key given twice
/// (the same change twice in one run would be applied twice).
fn caller_keys(items: &[BulkItem]) -> Result<Option<u64>, Error> {
    let keyed = items.iter().filter(|item| item.key.is_some()).count();
    if keyed == 0 {
        return Ok(None);
    }
    if keyed != items.len() {
        return Err(Error::InvalidInput(format!(
            "{keyed} of {} items have an exactly-once key: either every item of a run has one, \
             or none",
            items.len()
        )));
    }
    let mut seen = std::collections::HashSet::new();
    for (index, item) in items.iter().enumerate() {
        let key = item.key.as_deref().unwrap_or_default();
        check_caller_key(key)
            .map_err(|error| Error::InvalidInput(format!("item {index}: {error}")))?;
        if !seen.insert(key) {
            return Err(Error::InvalidInput(format!(
                "item {index}: the exactly-once key {key:?} is another item's"
            )));
        }
    }
    Ok(items
        .iter()
        .filter_map(|item| item.first_attempt_unix_ms)
        .min())
}

/// A keyed chunk's deduplication key: derived from its items' keys, in order, so that the same
/// items make the same key.
fn chunk_key(store: std::num::NonZeroU64, items: &[BulkItem]) -> String {
    let name: String = items
        .iter()
        .map(|item| {
            let key = item.key.as_deref().unwrap_or_default();
            format!("{}:{key}", key.len())
        })
        .collect();
    deduplication_key(store, &format!("bulk/{name}"))
}

impl BulkPlan {
    /// Splits `items` into chunks of at most `chunk_size`, each with its own deduplication key,
    /// filling in `default_check` as the low-stock flag of items that do not set their own, so
    /// that the plan records exactly what is sent (and sent again, on resume). Items are not
    /// checked here: [`requests`](Self::requests) does it.
    pub(super) fn new(
        store_id: StoreId,
        mut items: Vec<BulkItem>,
        chunk_size: usize,
        default_check: Option<bool>,
        now: SystemTime,
    ) -> Result<Self, Error> {
        if chunk_size == 0 || chunk_size > MAX_BATCH_SIZE {
            return Err(Error::InvalidInput(format!(
                "the chunk size must be between 1 and {MAX_BATCH_SIZE}, not {chunk_size}"
            )));
        }
        for item in &mut items {
            if let StockChange::Delta(_) = item.change {
                item.check_low_stock_notification =
                    item.check_low_stock_notification.or(default_check);
            }
        }
        let keyed = caller_keys(&items)?;
        let store = store_id.non_zero()?;
        let chunks = items
            .chunks(chunk_size)
            .enumerate()
            .map(|(n, items)| Chunk {
                first: n * chunk_size,
                items: items.to_vec(),
                deduplication_key: match keyed {
                    Some(_) => chunk_key(store, items),
                    None => uuid::Uuid::new_v4().to_string(),
                },
                state: ChunkState::Planned,
                last_error: None,
            })
            .collect();
        Ok(Self {
            version: PLAN_FORMAT_VERSION,
            plan_id: uuid::Uuid::new_v4().to_string(),
            store_id,
            // A keyed run's keys may have been used since its earliest first attempt.
            keys_made_unix_ms: keyed.unwrap_or_else(|| unix_ms(now)),
            chunks,
        })
    }

    /// Chunk `index`'s batch body: the one place items become requests. Fails on the first
    /// bad item (a zero id or delta), naming it, so that bad input, in new items or in a plan
    /// edited by hand, is refused before anything is sent. Made when the chunk is created, not
    /// all at once: a body is some 600 bytes an item.
    pub(super) fn chunk_requests(&self, index: usize) -> Result<Vec<BatchRequestItem>, Error> {
        let chunk = &self.chunks[index];
        chunk
            .items
            .iter()
            .enumerate()
            .map(|(n, item)| {
                let index = chunk.first + n;
                item.to_request(index).map_err(|error| match error {
                    Error::InvalidInput(why) => Error::InvalidInput(format!("item {index}: {why}")),
                    other => other,
                })
            })
            .collect()
    }

    /// Every chunk's batch body, in order.
    #[cfg(test)]
    pub(super) fn requests(&self) -> Result<Vec<Vec<BatchRequestItem>>, Error> {
        (0..self.chunks.len())
            .map(|index| self.chunk_requests(index))
            .collect()
    }

    /// Checks the whole plan, as [`BulkPlan::new`] makes it and the runner moves it on: every
    /// chunk of 1 to [`MAX_BATCH_SIZE`] items, numbered from where the previous one ended, with a
    /// key of its own; one outcome per item of an executed chunk; a ticket for a queued one; and
    /// every item one that can be sent (each chunk's body made, as
    /// [`chunk_requests`](Self::chunk_requests) makes it, and dropped).
    pub(super) fn check(&self) -> Result<(), String> {
        let bad = |why: String| Err(why);
        uuid::Uuid::parse_str(&self.plan_id).map_err(|_| "the plan id is not a UUID".to_owned())?;
        self.store_id.checked()?;
        let mut keys = std::collections::HashSet::new();
        let mut next = 0;
        for (n, chunk) in self.chunks.iter().enumerate() {
            let len = chunk.items.len();
            if len == 0 || len > MAX_BATCH_SIZE {
                return bad(format!(
                    "chunk {n} holds {len} items, not 1 to {MAX_BATCH_SIZE}"
                ));
            }
            if chunk.first != next {
                return bad(format!(
                    "chunk {n} starts at item {}, not {next}",
                    chunk.first
                ));
            }
            next += len;
            if uuid::Uuid::parse_str(&chunk.deduplication_key).is_err() {
                return bad(format!("chunk {n}'s deduplication key is not a UUID"));
            }
            if !keys.insert(chunk.deduplication_key.as_str()) {
                return bad(format!("chunk {n}'s deduplication key is another chunk's"));
            }
            match &chunk.state {
                ChunkState::Done { outcomes } if outcomes.len() != len => {
                    return bad(format!(
                        "chunk {n} is done with {} outcomes for {len} items",
                        outcomes.len()
                    ));
                }
                ChunkState::Created { ticket } if ticket.trim().is_empty() => {
                    return bad(format!("chunk {n} is queued without a ticket"));
                }
                _ => {}
            }
        }
        for index in 0..self.chunks.len() {
            self.chunk_requests(index).map_err(|error| match error {
                Error::InvalidInput(why) => why,
                other => other.to_string(),
            })?;
        }
        Ok(())
    }

    /// Its chunks, in order, for the journal, which records each one's key and ticket.
    #[cfg(feature = "journal")]
    pub(crate) fn chunk_views(&self) -> impl Iterator<Item = ChunkView<'_>> {
        self.chunks.iter().map(ChunkView)
    }

    /// Reads a saved plan under a new plan id: for a run taken over in this process, whose
    /// former runner (stalled past its lease) may still hold the plan's id, and must not stop
    /// this run. The plan is checked as any plan read.
    #[cfg(feature = "journal")]
    pub(crate) fn from_saved_with_new_id(
        saved: serde_json::Value,
    ) -> Result<Self, serde_json::Error> {
        let mut saved = SavedPlan::deserialize(saved)?;
        saved.plan_id = uuid::Uuid::new_v4().to_string();
        Self::try_from(saved).map_err(serde::de::Error::custom)
    }

    /// The store the plan adjusts.
    pub fn store_id(&self) -> StoreId {
        self.store_id
    }

    /// How many items the plan holds.
    pub fn len(&self) -> usize {
        self.chunks.iter().map(|c| c.items.len()).sum()
    }

    /// The plan's items, in input order (as sent: an item without its own low-stock flag
    /// carries the client's default, if it has one).
    pub fn items(&self) -> impl Iterator<Item = &BulkItem> {
        self.chunks.iter().flat_map(|chunk| &chunk.items)
    }

    /// Whether the plan holds no item.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many batches the plan sends.
    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// Whether resuming the plan has nothing left to do: every chunk was executed or has
    /// expired (its create may have been sent too long ago to send it again; its items stay
    /// [`ItemOutcome::Unknown`]). Whether every outcome is known is
    /// [`BulkReport::is_settled`](super::BulkReport::is_settled).
    pub fn is_done(&self) -> bool {
        self.chunks.iter().all(Chunk::is_final)
    }

    /// Items of final chunks: executed, or expired.
    pub(super) fn completed(&self) -> usize {
        self.chunks
            .iter()
            .filter(|c| c.is_final())
            .map(|c| c.items.len())
            .sum()
    }
}

/// Plans as a run moves them on, for other modules' tests.
#[cfg(test)]
impl BulkPlan {
    /// Chunk `n` as its create is being sent.
    pub(crate) fn creating_for_test(mut self, n: usize) -> Self {
        self.chunks[n].state = ChunkState::Creating;
        self
    }

    /// Chunk `n` queued at Ecwid under `ticket`.
    pub(crate) fn created_for_test(mut self, n: usize, ticket: &str) -> Self {
        self.chunks[n].state = ChunkState::Created {
            ticket: ticket.to_owned(),
        };
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(n: usize) -> Vec<BulkItem> {
        (1..=n as u64)
            .map(|i| BulkItem::variation(ProductId::new(1), CombinationId::new(i), -1))
            .collect()
    }

    /// A plan made and checked as [`Client::plan_bulk`] does, without a client default.
    fn checked(items: Vec<BulkItem>, chunk_size: usize) -> Result<BulkPlan, Error> {
        let plan = BulkPlan::new(StoreId::new(1), items, chunk_size, None, SystemTime::now())?;
        plan.check().map_err(Error::InvalidInput)?;
        Ok(plan)
    }

    #[test]
    fn plans_chunks_with_their_own_keys() {
        let plan = checked(items(1201), 500).unwrap();
        let sizes: Vec<_> = plan.chunks.iter().map(|c| c.items.len()).collect();
        assert_eq!(sizes, [500, 500, 201]);
        let firsts: Vec<_> = plan.chunks.iter().map(|c| c.first).collect();
        assert_eq!(firsts, [0, 500, 1000]);
        let keys: std::collections::HashSet<_> =
            plan.chunks.iter().map(|c| &c.deduplication_key).collect();
        assert_eq!(keys.len(), 3);
        // The plan survives a round trip through JSON unchanged.
        let json = serde_json::to_string(&plan).unwrap();
        assert_eq!(serde_json::from_str::<BulkPlan>(&json).unwrap(), plan);
        // Each chunk's body holds its items, with their indexes in the input.
        let requests = plan.requests().unwrap();
        let ids: Vec<_> = requests
            .iter()
            .map(|body| (body.len(), body[0].id.clone().unwrap()))
            .collect();
        assert_eq!(
            ids,
            [
                (500, "0".to_owned()),
                (500, "500".to_owned()),
                (201, "1000".to_owned())
            ]
        );
    }

    #[test]
    fn bad_items_and_chunk_sizes_are_refused() {
        let mut bad = items(3);
        bad[2].change = StockChange::Delta(0);
        let error = checked(bad, 500).unwrap_err();
        assert!(error.to_string().contains("item 2"), "{error}");
        // Items are named by their index in the input, whatever chunk holds them.
        let mut bad = items(5);
        bad[3] = BulkItem::product(ProductId::new(0), 5);
        let error = checked(bad, 2).unwrap_err();
        assert!(error.to_string().contains("item 3"), "{error}");
        assert!(checked(items(3), 0).is_err());
        assert!(checked(items(3), 501).is_err());
    }

    #[test]
    fn requests_carry_path_flag_body_and_index() {
        let item = BulkItem::variation(ProductId::new(7), CombinationId::new(9), -4)
            .check_low_stock_notification(true);
        let request = serde_json::to_value(item.to_request(42).unwrap()).unwrap();
        assert_eq!(
            request,
            serde_json::json!({
                "id": "42",
                "method": "PUT",
                "path": "/products/7/combinations/9/inventory?checkLowStockNotification=true",
                "body": {"quantityDelta": -4},
            })
        );
        let request = serde_json::to_value(
            BulkItem::product(ProductId::new(7), 5)
                .to_request(0)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(request["path"], "/products/7/inventory");
    }

    #[test]
    fn sets_are_requests_to_the_item_itself_and_bad_counts_are_refused() {
        let variation = StockItem::Variation {
            product: ProductId::new(7),
            combination: CombinationId::new(9),
        };
        let set = BulkItem::set(variation, 12).check_low_stock_notification(true);
        assert_eq!(
            serde_json::to_value(set.to_request(3).unwrap()).unwrap(),
            serde_json::json!({
                "id": "3",
                "method": "PUT",
                "path": "/products/7/combinations/9",
                "body": {"quantity": 12, "unlimited": false},
            })
        );
        let unlimited = BulkItem::set_unlimited(StockItem::Product {
            product: ProductId::new(7),
        });
        let request = serde_json::to_value(unlimited.to_request(0).unwrap()).unwrap();
        assert_eq!(request["path"], "/products/7");
        assert_eq!(request["body"], serde_json::json!({"unlimited": true}));
        // Saved as a set, and read back the same.
        assert_eq!(
            serde_json::to_value(set).unwrap(),
            serde_json::json!({
                "item": {"variation": {"product": 7, "combination": 9}},
                "set": {"quantity": 12},
                "checkLowStockNotification": true,
            })
        );
        let mut items = items(3);
        items[1] = BulkItem::set(variation, -1);
        let error = checked(items, 500).unwrap_err();
        assert!(
            error.to_string().contains("item 1: the quantity -1"),
            "{error}"
        );
    }

    #[test]
    fn the_client_default_low_stock_flag_fills_in_items_without_their_own() {
        let items = vec![
            BulkItem::product(ProductId::new(1), 1),
            BulkItem::product(ProductId::new(2), 1).check_low_stock_notification(false),
            BulkItem::product(ProductId::new(3), 1).check_low_stock_notification(true),
        ];
        let flags = |default: Option<bool>| {
            let plan = BulkPlan::new(
                StoreId::new(1),
                items.clone(),
                500,
                default,
                SystemTime::now(),
            )
            .unwrap();
            // The plan records the flag, and the request sends exactly that.
            let recorded: Vec<_> = plan.chunks[0]
                .items
                .iter()
                .map(|i| i.check_low_stock_notification)
                .collect();
            let paths: Vec<_> = plan.requests().unwrap()[0]
                .iter()
                .map(|r| r.path.clone())
                .collect();
            (recorded, paths)
        };
        assert_eq!(
            flags(Some(true)),
            (
                vec![Some(true), Some(false), Some(true)],
                vec![
                    "/products/1/inventory?checkLowStockNotification=true".to_owned(),
                    "/products/2/inventory?checkLowStockNotification=false".to_owned(),
                    "/products/3/inventory?checkLowStockNotification=true".to_owned(),
                ]
            )
        );
        assert_eq!(flags(Some(false)).0, [Some(false), Some(false), Some(true)]);
        assert_eq!(
            flags(None),
            (
                vec![None, Some(false), Some(true)],
                vec![
                    "/products/1/inventory".to_owned(),
                    "/products/2/inventory?checkLowStockNotification=false".to_owned(),
                    "/products/3/inventory?checkLowStockNotification=true".to_owned(),
                ]
            )
        );
    }

    #[test]
    fn an_expired_chunk_is_final_and_unknown() {
        let mut plan = checked(items(6), 2).unwrap();
        plan.chunks[0].state = ChunkState::Expired;
        plan.chunks[0].last_error = Some("its deduplication key is 56 minutes old".into());
        plan.chunks[1].state = ChunkState::Done {
            outcomes: vec![ItemOutcome::NotUpdated; 2],
        };
        assert!(!plan.is_done());
        assert_eq!(plan.completed(), 4);
        plan.chunks[2].state = ChunkState::Done {
            outcomes: vec![ItemOutcome::NotUpdated; 2],
        };
        assert!(plan.is_done(), "nothing is left to send or read");
        assert_eq!(plan.completed(), 6);
        let report = plan.report();
        assert!(!report.is_settled());
        assert_eq!(report.summary().unknown, 2);
        for outcome in &report.outcomes()[..2] {
            let ItemOutcome::Unknown { reason } = outcome else {
                panic!("{outcome:?}")
            };
            assert!(reason.contains("read the stock to reconcile"), "{reason}");
            assert!(reason.contains("56 minutes old"), "{reason}");
        }
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(
            json["chunks"][0]["state"],
            serde_json::json!({"state": "expired"})
        );
        assert_eq!(serde_json::from_value::<BulkPlan>(json).unwrap(), plan);
    }

    #[test]
    fn a_saved_plan_carries_its_version_id_store_and_key_time() {
        let before = unix_ms(SystemTime::now());
        let plan = checked(items(3), 2).unwrap();
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(json["version"], PLAN_FORMAT_VERSION);
        assert_eq!(json["storeId"], 1);
        assert!(uuid::Uuid::parse_str(json["planId"].as_str().unwrap()).is_ok());
        let made = json["keysMadeUnixMs"].as_u64().unwrap();
        assert!(made >= before && made <= unix_ms(SystemTime::now()));
        assert_eq!(
            json["chunks"][0]["state"],
            serde_json::json!({"state": "planned"})
        );
    }

    /// A plan edited by hand (or corrupted) into something this crate would not have written
    /// is refused when it is read, with an error naming the problem.
    #[test]
    fn an_inconsistent_or_unknown_plan_is_refused_when_read() {
        use serde_json::{json, Value};
        let mut done = checked(items(5), 2).unwrap();
        done.chunks[0].state = ChunkState::Done {
            outcomes: vec![ItemOutcome::NotUpdated; 2],
        };
        done.chunks[1].state = ChunkState::Created {
            ticket: "t-1".into(),
        };
        let good = serde_json::to_value(&done).unwrap();
        assert!(serde_json::from_value::<BulkPlan>(good.clone()).is_ok());
        type Edit = Box<dyn Fn(&mut Value)>;
        let edits: Vec<(&str, Edit, &str)> = vec![
            (
                "a newer version",
                Box::new(|p| p["version"] = json!(2)),
                "format version 2",
            ),
            (
                "no version",
                Box::new(|p| drop(p.as_object_mut().unwrap().remove("version"))),
                "version",
            ),
            (
                "fewer outcomes than items",
                Box::new(|p| {
                    drop(
                        p["chunks"][0]["state"]["outcomes"]
                            .as_array_mut()
                            .unwrap()
                            .pop(),
                    )
                }),
                "chunk 0 is done with 1 outcomes for 2 items",
            ),
            (
                "501 items in a chunk",
                Box::new(|p| {
                    let item = p["chunks"][2]["items"][0].clone();
                    p["chunks"][2]["items"] = Value::Array(vec![item; 501]);
                }),
                "chunk 2 holds 501 items",
            ),
            (
                "an empty chunk",
                Box::new(|p| p["chunks"][2]["items"] = json!([])),
                "chunk 2 holds 0 items",
            ),
            (
                "a chunk starting at the wrong item",
                Box::new(|p| p["chunks"][1]["first"] = json!(3)),
                "chunk 1 starts at item 3, not 2",
            ),
            (
                "a repeated key",
                Box::new(|p| {
                    p["chunks"][2]["deduplicationKey"] = p["chunks"][0]["deduplicationKey"].clone()
                }),
                "another chunk's",
            ),
            (
                "a key that is no UUID",
                Box::new(|p| p["chunks"][1]["deduplicationKey"] = json!("k")),
                "chunk 1's deduplication key is not a UUID",
            ),
            (
                "a queued chunk without a ticket",
                Box::new(|p| p["chunks"][1]["state"]["ticket"] = json!(" ")),
                "chunk 1 is queued without a ticket",
            ),
            (
                "an unknown state",
                Box::new(|p| p["chunks"][2]["state"] = json!({"state": "sent"})),
                "sent",
            ),
            (
                "an unknown field",
                Box::new(|p| p["chunks"][2]["retries"] = json!(1)),
                "retries",
            ),
            (
                "a zero delta",
                Box::new(|p| p["chunks"][2]["items"][0]["delta"] = json!(0)),
                "item 4: the quantity delta must not be zero",
            ),
            (
                "a zero store",
                Box::new(|p| p["storeId"] = json!(0)),
                "the store id must not be zero",
            ),
            (
                "a plan id that is no UUID",
                Box::new(|p| p["planId"] = json!("x")),
                "plan id",
            ),
        ];
        for (what, edit, expected) in edits {
            let mut plan = good.clone();
            edit(&mut plan);
            let error = serde_json::from_value::<BulkPlan>(plan)
                .expect_err(what)
                .to_string();
            assert!(error.contains(expected), "{what}: {error}");
        }
    }
}
