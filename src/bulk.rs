//! Bulk stock sync through Ecwid's batch API, exactly once, with progress and resume.
//!
//! Thousands of adjustments go out as batches of at most 500 requests each, one rate-limited
//! call per batch. Each batch is created with a `deduplicationKey` chosen once, when the work
//! is planned, and reused on every retry of that create: Ecwid answers a repeated create with
//! the first ticket for an hour, so an ambiguous failure (a timeout, a lost connection, a 5xx)
//! can be retried without applying anything twice. That is the only exactly-once path Ecwid
//! offers.
//!
//! The whole in-flight state is a [`BulkPlan`], which serializes with serde. Save it (from
//! [`BulkRun::on_checkpoint`]) and a program that crashed can resume from it with
//! [`Client::resume_bulk`] and learn every item's outcome without applying anything twice.
//!
//! Two things end a run with outcomes still unknown, both reported per item as
//! [`ItemOutcome::Unknown`]: a batch Ecwid does not report completed within the poll timeout
//! ([`BulkRun::poll_timeout`], default 10 minutes; resuming the plan learns its outcome), and a
//! batch whose create may have been sent longer ago than Ecwid remembers its key (the chunk is
//! then *expired*: it is never sent again, and only reading the stock can tell whether it ran).

use std::{
    collections::HashMap,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use serde::{Deserialize, Serialize};

use crate::{
    client::CallInfo,
    generated::types::{
        BatchRequestItem, BatchRequestItemMethod, BatchResponseItem, BatchResponseItemStatus,
        BatchStatusStatus, EcwidError, StockDelta, StockUpdateResult,
    },
    stock::check_delta,
    Client, CombinationId, Error, ProductId, StockItem, StoreId,
};

/// The most requests Ecwid accepts in one batch.
pub const MAX_BATCH_SIZE: usize = 500;

/// How long a chunk whose create may have been sent can still be created again with the same
/// key. Ecwid remembers a key for one hour from the first create; five minutes are kept spare
/// for clock differences and the time the create takes.
const DEDUPLICATION_WINDOW: Duration = Duration::from_secs(55 * 60);

/// How long a run waits, by default, for Ecwid to report one batch completed. A batch of 500
/// adjustments normally completes within seconds; ten minutes leave room for a busy queue
/// without letting a run hang forever.
const DEFAULT_POLL_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// One adjustment of a bulk sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkItem {
    /// The product or variation to adjust.
    pub item: StockItem,
    /// How much to add to its stock (negative to take away; not zero).
    pub delta: i32,
    /// `checkLowStockNotification` for this item. When `None`, the client's default
    /// ([`ClientBuilder::check_low_stock_notification`](crate::ClientBuilder::check_low_stock_notification))
    /// is filled in when the plan is made; without one either, the flag is left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_low_stock_notification: Option<bool>,
}

impl BulkItem {
    /// Adds `delta` to the stock of `item`.
    pub fn new(item: StockItem, delta: i32) -> Self {
        Self {
            item,
            delta,
            check_low_stock_notification: None,
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

    /// Sets `checkLowStockNotification` for this item (it wins over the client's default).
    pub fn check_low_stock_notification(mut self, check: bool) -> Self {
        self.check_low_stock_notification = Some(check);
        self
    }

    /// The batch request carrying this adjustment; `id` is the item's index in the input.
    fn to_request(self, index: usize) -> Result<BatchRequestItem, Error> {
        let product = self.item.product().non_zero()?;
        let mut path = match self.item.combination() {
            Some(combination) => format!(
                "/products/{product}/combinations/{}/inventory",
                combination.non_zero()?
            ),
            None => format!("/products/{product}/inventory"),
        };
        if let Some(check) = self.check_low_stock_notification {
            path.push_str(&format!("?checkLowStockNotification={check}"));
        }
        let body = StockDelta {
            quantity_delta: check_delta(self.delta.into())?,
        };
        let serde_json::Value::Object(body) =
            serde_json::to_value(body).expect("a struct serializes to an object")
        else {
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

/// What happened to one item of a bulk sync.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "outcome",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[non_exhaustive]
pub enum ItemOutcome {
    /// Applied (`updateCount: 1`), with Ecwid's warning when the stock became negative.
    Updated {
        /// Ecwid's warning.
        warning: Option<String>,
    },
    /// Processed but nothing changed (`updateCount: 0`, for example unlimited stock).
    NotUpdated,
    /// Ecwid refused or failed this item with an error status (400 to 599). A status of 500 or
    /// more may still have applied it. An item marked failed without such a status is
    /// [`Unknown`](ItemOutcome::Unknown) instead.
    Failed {
        /// The item's HTTP status inside the batch.
        status: u16,
        /// Ecwid's `errorCode`.
        // The alias reads plans saved before the fields were camelCase.
        #[serde(alias = "error_code")]
        error_code: Option<String>,
        /// Ecwid's `errorMessage`.
        #[serde(alias = "error_message")]
        error_message: Option<String>,
    },
    /// Ecwid did not execute this item. Nothing was applied.
    NotExecuted,
    /// The item's batch was never queued (the create was refused, or an earlier chunk failed).
    /// Nothing was applied.
    NotSent {
        /// Why.
        reason: String,
    },
    /// The outcome could not be learned: the item may or may not have been applied. When the
    /// batch is still being created or polled, resuming the plan learns it (within the hour for
    /// a batch being created); otherwise (an expired chunk, or a result Ecwid left unclear)
    /// `reason` says so, and only reading the stock can tell.
    Unknown {
        /// Why.
        reason: String,
    },
}

impl ItemOutcome {
    /// `true` when the item may have been applied: updated, failed with a 5xx, or unknown.
    pub fn may_have_been_applied(&self) -> bool {
        match self {
            ItemOutcome::Updated { .. } | ItemOutcome::Unknown { .. } => true,
            ItemOutcome::Failed { status, .. } => *status >= 500,
            ItemOutcome::NotUpdated | ItemOutcome::NotExecuted | ItemOutcome::NotSent { .. } => {
                false
            }
        }
    }
}

/// How far a bulk sync is: items the run is finished with, of all items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Items Ecwid has executed, plus those of expired chunks (never sent again, so nothing
    /// more is waited for).
    pub completed: usize,
    /// All items.
    pub total: usize,
}

/// The in-flight state of a bulk sync: chunks, their deduplication keys, tickets and results.
/// Serializable, so that a crashed program can resume from it without applying anything twice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkPlan {
    store_id: StoreId,
    chunks: Vec<Chunk>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Chunk {
    /// Index of the chunk's first item in the input.
    first: usize,
    items: Vec<BulkItem>,
    deduplication_key: String,
    state: ChunkState,
    /// The last error met while creating or polling, for the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_error: Option<String>,
}

impl Chunk {
    /// Whether nothing more will be sent or read for this chunk.
    fn is_final(&self) -> bool {
        matches!(
            self.state,
            ChunkState::Done { .. } | ChunkState::Expired { .. }
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "state",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
enum ChunkState {
    /// Never sent.
    Planned,
    /// A create may have been sent since this time (milliseconds since the Unix epoch).
    Creating { since_unix_ms: u64 },
    /// Queued at Ecwid under this ticket.
    Created { ticket: String },
    /// Executed; one outcome per item.
    Done { outcomes: Vec<ItemOutcome> },
    /// Final: a create may have been sent at this time (milliseconds since the Unix epoch),
    /// longer ago than Ecwid remembers its key, so creating it again could apply it twice. It
    /// is never sent again; its items' outcomes are unknown until the stock is read.
    Expired { since_unix_ms: u64 },
}

impl BulkPlan {
    /// Splits `items` into chunks of at most `chunk_size`, each with its own deduplication key,
    /// filling in `default_check` as the low-stock flag of items that do not set their own, so
    /// that the plan records exactly what is sent (and sent again, on resume). Items are not
    /// checked here: [`requests`](Self::requests) does it.
    fn new(
        store_id: StoreId,
        mut items: Vec<BulkItem>,
        chunk_size: usize,
        default_check: Option<bool>,
    ) -> Result<Self, Error> {
        if chunk_size == 0 || chunk_size > MAX_BATCH_SIZE {
            return Err(Error::InvalidInput(format!(
                "the chunk size must be between 1 and {MAX_BATCH_SIZE}, not {chunk_size}"
            )));
        }
        for item in &mut items {
            item.check_low_stock_notification = item.check_low_stock_notification.or(default_check);
        }
        let chunks = items
            .chunks(chunk_size)
            .enumerate()
            .map(|(n, items)| Chunk {
                first: n * chunk_size,
                items: items.to_vec(),
                deduplication_key: uuid::Uuid::new_v4().to_string(),
                state: ChunkState::Planned,
                last_error: None,
            })
            .collect();
        Ok(Self { store_id, chunks })
    }

    /// Each chunk's batch body, in order: the one place items become requests. Fails on the
    /// first bad item (a zero id or delta), naming it, so that bad input, in new items or in a
    /// plan edited by hand, is refused before anything is sent.
    fn requests(&self) -> Result<Vec<Vec<BatchRequestItem>>, Error> {
        self.chunks
            .iter()
            .map(|chunk| {
                chunk
                    .items
                    .iter()
                    .enumerate()
                    .map(|(n, item)| {
                        let index = chunk.first + n;
                        item.to_request(index).map_err(|error| match error {
                            Error::InvalidInput(why) => {
                                Error::InvalidInput(format!("item {index}: {why}"))
                            }
                            other => other,
                        })
                    })
                    .collect()
            })
            .collect()
    }

    /// The store the plan adjusts.
    pub fn store_id(&self) -> StoreId {
        self.store_id
    }

    /// How many items the plan holds.
    pub fn len(&self) -> usize {
        self.chunks.iter().map(|c| c.items.len()).sum()
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
    /// [`BulkReport::is_settled`].
    pub fn is_done(&self) -> bool {
        self.chunks.iter().all(Chunk::is_final)
    }

    /// Items of final chunks: executed, or expired.
    fn completed(&self) -> usize {
        self.chunks
            .iter()
            .filter(|c| c.is_final())
            .map(|c| c.items.len())
            .sum()
    }

    /// The report as the plan stands: outcomes of finished chunks, and for the rest why they
    /// are not known.
    pub fn report(&self) -> BulkReport {
        let mut items = Vec::with_capacity(self.len());
        let mut outcomes = Vec::with_capacity(self.len());
        for chunk in &self.chunks {
            items.extend_from_slice(&chunk.items);
            let because = |what: &str| match &chunk.last_error {
                Some(error) => format!("{what}: {error}"),
                None => what.to_owned(),
            };
            let pending = match &chunk.state {
                ChunkState::Done { outcomes: done } => {
                    outcomes.extend(done.iter().cloned());
                    continue;
                }
                ChunkState::Planned => ItemOutcome::NotSent {
                    reason: because("the batch was not created"),
                },
                ChunkState::Creating { .. } => ItemOutcome::Unknown {
                    reason: because("the batch may have been created; resume the plan within the hour to learn its outcome"),
                },
                ChunkState::Created { ticket } => ItemOutcome::Unknown {
                    reason: because(&format!(
                        "the batch is queued at Ecwid (ticket {ticket}); resume the plan to learn its outcome"
                    )),
                },
                ChunkState::Expired { .. } => ItemOutcome::Unknown {
                    reason: because("the batch may have been created too long ago to be created again safely, so it is never sent again; read the stock to reconcile"),
                },
            };
            outcomes.extend(std::iter::repeat_n(pending, chunk.items.len()));
        }
        BulkReport {
            items,
            outcomes,
            plan: self.clone(),
        }
    }
}

/// One outcome per item, in input order.
#[derive(Clone, Debug)]
pub struct BulkReport {
    items: Vec<BulkItem>,
    outcomes: Vec<ItemOutcome>,
    plan: BulkPlan,
}

/// Counts of a [`BulkReport`]'s outcomes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BulkSummary {
    /// Applied.
    pub updated: usize,
    /// Processed, nothing changed.
    pub not_updated: usize,
    /// Refused or failed by Ecwid.
    pub failed: usize,
    /// Not executed by Ecwid.
    pub not_executed: usize,
    /// Never sent.
    pub not_sent: usize,
    /// Outcome unknown: may have been applied.
    pub unknown: usize,
}

impl BulkReport {
    /// The outcomes, in input order.
    pub fn outcomes(&self) -> &[ItemOutcome] {
        &self.outcomes
    }

    /// Each item with its outcome, in input order. The items are as sent: an item without its
    /// own low-stock flag carries the client's default, if it has one.
    pub fn iter(&self) -> impl Iterator<Item = (&BulkItem, &ItemOutcome)> {
        self.items.iter().zip(&self.outcomes)
    }

    /// How many items ended each way.
    pub fn summary(&self) -> BulkSummary {
        let mut summary = BulkSummary::default();
        for outcome in &self.outcomes {
            let count = match outcome {
                ItemOutcome::Updated { .. } => &mut summary.updated,
                ItemOutcome::NotUpdated => &mut summary.not_updated,
                ItemOutcome::Failed { .. } => &mut summary.failed,
                ItemOutcome::NotExecuted => &mut summary.not_executed,
                ItemOutcome::NotSent { .. } => &mut summary.not_sent,
                ItemOutcome::Unknown { .. } => &mut summary.unknown,
            };
            *count += 1;
        }
        summary
    }

    /// Whether every outcome is known (nothing [`ItemOutcome::Unknown`]).
    pub fn is_settled(&self) -> bool {
        !self
            .outcomes
            .iter()
            .any(|outcome| matches!(outcome, ItemOutcome::Unknown { .. }))
    }

    /// The final state, to resume when some outcomes are still unknown.
    pub fn plan(&self) -> &BulkPlan {
        &self.plan
    }

    /// The final state, to resume when some outcomes are still unknown.
    pub fn into_plan(self) -> BulkPlan {
        self.plan
    }
}

type ProgressFn<'a> = Box<dyn FnMut(Progress) + Send + 'a>;
type CheckpointFn<'a> = Box<dyn FnMut(&BulkPlan) + Send + 'a>;

enum Source {
    Items(Vec<BulkItem>),
    Plan(BulkPlan),
}

/// A bulk sync ready to run; made by [`Client::bulk_adjust`] or [`Client::resume_bulk`].
#[must_use = "nothing is sent until .send().await"]
pub struct BulkRun<'a> {
    client: &'a Client,
    source: Source,
    chunk_size: usize,
    first_poll: Duration,
    max_poll: Duration,
    poll_timeout: Duration,
    on_progress: Option<ProgressFn<'a>>,
    on_checkpoint: Option<CheckpointFn<'a>>,
}

impl std::fmt::Debug for BulkRun<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BulkRun")
            .field("client", self.client)
            .field("chunk_size", &self.chunk_size)
            .field("first_poll", &self.first_poll)
            .field("max_poll", &self.max_poll)
            .field("poll_timeout", &self.poll_timeout)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Applies many adjustments through Ecwid's batch API, each exactly once.
    ///
    /// ```no_run
    /// # async fn run(client: ecwid_inventory::Client) -> Result<(), ecwid_inventory::Error> {
    /// use ecwid_inventory::{BulkItem, CombinationId, ProductId};
    ///
    /// let items = vec![
    ///     BulkItem::variation(ProductId::new(1), CombinationId::new(11), -3),
    ///     BulkItem::product(ProductId::new(2), 10).check_low_stock_notification(true),
    /// ];
    /// let report = client
    ///     .bulk_adjust(items)
    ///     .on_progress(|p| println!("{}/{}", p.completed, p.total))
    ///     .send()
    ///     .await?;
    /// for (item, outcome) in report.iter() {
    ///     println!("{item:?}: {outcome:?}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn bulk_adjust(&self, items: impl IntoIterator<Item = BulkItem>) -> BulkRun<'_> {
        self.bulk_run(Source::Items(items.into_iter().collect()))
    }

    /// Plans a bulk sync without sending anything: chunks and their deduplication keys, and
    /// each item's low-stock flag (the item's own, else this client's default). Save the plan
    /// before running it with [`resume_bulk`](Client::resume_bulk), and a crash at any point
    /// can be resumed without applying anything twice. Bad input fails here.
    pub fn plan_bulk(
        &self,
        items: impl IntoIterator<Item = BulkItem>,
        chunk_size: usize,
    ) -> Result<BulkPlan, Error> {
        let plan = self.new_plan(items.into_iter().collect(), chunk_size)?;
        plan.requests()?;
        Ok(plan)
    }

    fn new_plan(&self, items: Vec<BulkItem>, chunk_size: usize) -> Result<BulkPlan, Error> {
        BulkPlan::new(
            self.store_id(),
            items,
            chunk_size,
            self.default_check_low_stock_notification(),
        )
    }

    /// Runs (or resumes) a saved plan: creates the chunks not yet created, with their original
    /// keys, and polls the rest for their outcomes. The plan is sent as it was made: the
    /// low-stock flags it records are sent, whatever this client's default. Expired chunks are
    /// never sent again.
    pub fn resume_bulk(&self, plan: BulkPlan) -> BulkRun<'_> {
        self.bulk_run(Source::Plan(plan))
    }

    fn bulk_run(&self, source: Source) -> BulkRun<'_> {
        BulkRun {
            client: self,
            source,
            chunk_size: MAX_BATCH_SIZE,
            first_poll: Duration::from_millis(200),
            max_poll: Duration::from_secs(2),
            poll_timeout: DEFAULT_POLL_TIMEOUT,
            on_progress: None,
            on_checkpoint: None,
        }
    }
}

impl<'a> BulkRun<'a> {
    /// Requests per batch (1 to 500, default 500). Ignored when resuming a plan.
    pub fn chunk_size(mut self, size: usize) -> Self {
        self.chunk_size = size;
        self
    }

    /// How often the batch status is read: first after `first`, then half as often again each
    /// time, up to `max` (defaults 200 ms and 2 s). Each read is a rate-limited request. A zero
    /// `first` is refused by [`send`](BulkRun::send) with [`Error::InvalidInput`].
    pub fn poll_interval(mut self, first: Duration, max: Duration) -> Self {
        self.first_poll = first;
        self.max_poll = max.max(first);
        self
    }

    /// How long to wait for Ecwid to report one batch completed (default 10 minutes), counted
    /// from when the run starts polling it. Past it, the run stops polling: that batch and the ones
    /// after it stay queued at Ecwid, their items are reported [`ItemOutcome::Unknown`], and
    /// resuming the plan later learns their outcomes without sending them again. Zero is
    /// refused by [`send`](BulkRun::send) with [`Error::InvalidInput`].
    pub fn poll_timeout(mut self, timeout: Duration) -> Self {
        self.poll_timeout = timeout;
        self
    }

    /// Called with the progress after each status read and each finished chunk.
    pub fn on_progress(mut self, progress: impl FnMut(Progress) + Send + 'a) -> Self {
        self.on_progress = Some(Box::new(progress));
        self
    }

    /// Called with the whole state whenever it changes, before a create is sent and after each
    /// answer. Persist it to resume after a crash.
    pub fn on_checkpoint(mut self, checkpoint: impl FnMut(&BulkPlan) + Send + 'a) -> Self {
        self.on_checkpoint = Some(Box::new(checkpoint));
        self
    }

    /// Runs the sync. Fails only on bad input (an item, the chunk size, a zero first poll
    /// interval or poll timeout) or a plan for another store, before anything is sent;
    /// everything after that is reported per item in the [`BulkReport`].
    pub async fn send(mut self) -> Result<BulkReport, Error> {
        if self.first_poll.is_zero() {
            return Err(Error::InvalidInput(
                "the first poll interval must not be zero: it would read the batch status without pause".into(),
            ));
        }
        if self.poll_timeout.is_zero() {
            return Err(Error::InvalidInput(
                "the poll timeout must not be zero: no batch could be waited for".into(),
            ));
        }
        let mut plan = match std::mem::replace(&mut self.source, Source::Items(Vec::new())) {
            Source::Items(items) => self.client.new_plan(items, self.chunk_size)?,
            Source::Plan(plan) => {
                if plan.store_id != self.client.store_id() {
                    return Err(Error::InvalidInput(format!(
                        "the plan is for store {}, the client for store {}",
                        plan.store_id,
                        self.client.store_id()
                    )));
                }
                plan
            }
        };
        // Bad items (in new input, or in a plan edited by hand) fail here, before anything is
        // sent; the bodies are needed only until every chunk is created.
        let requests = plan.requests()?;
        self.checkpoint(&plan);
        self.create_all(&mut plan, &requests).await;
        drop(requests);
        self.poll_all(&mut plan).await;
        Ok(plan.report())
    }

    fn checkpoint(&mut self, plan: &BulkPlan) {
        if let Some(checkpoint) = &mut self.on_checkpoint {
            checkpoint(plan);
        }
    }

    fn progress(&mut self, plan: &BulkPlan, in_flight: usize) {
        if let Some(progress) = &mut self.on_progress {
            progress(Progress {
                completed: plan.completed() + in_flight,
                total: plan.len(),
            });
        }
    }

    /// Creates every chunk not yet created, in order, each with its batch body from
    /// `requests`; an expired chunk is skipped for good, and the run stops at the first chunk
    /// whose create fails.
    async fn create_all(&mut self, plan: &mut BulkPlan, requests: &[Vec<BatchRequestItem>]) {
        // One body per chunk, in the same order.
        for (index, body) in requests.iter().enumerate() {
            let chunk = &mut plan.chunks[index];
            let never_sent = matches!(chunk.state, ChunkState::Planned);
            // How long the chunk's key is surely remembered: no attempt of this create may be
            // sent after that.
            let key_left = match chunk.state {
                ChunkState::Planned => {
                    chunk.state = ChunkState::Creating {
                        since_unix_ms: unix_ms(),
                    };
                    self.checkpoint(plan);
                    DEDUPLICATION_WINDOW
                }
                ChunkState::Creating { since_unix_ms } => {
                    let age = Duration::from_millis(unix_ms().saturating_sub(since_unix_ms));
                    if age >= DEDUPLICATION_WINDOW {
                        // Creating it again could apply it twice; only reconciling can tell.
                        // The chunks after it do not depend on it: they are created still.
                        chunk.state = ChunkState::Expired { since_unix_ms };
                        chunk.last_error = Some(format!(
                            "its deduplication key is {} minutes old and may have expired",
                            age.as_secs() / 60
                        ));
                        self.checkpoint(plan);
                        self.progress(plan, 0);
                        continue;
                    }
                    DEDUPLICATION_WINDOW - age
                }
                ChunkState::Created { .. }
                | ChunkState::Done { .. }
                | ChunkState::Expired { .. } => continue,
            };
            let chunk = &mut plan.chunks[index];
            let key = chunk.deduplication_key.as_str();
            match self.client.create_batch(key, body, key_left).await {
                Ok(ticket) => {
                    chunk.state = ChunkState::Created { ticket };
                    chunk.last_error = None;
                    self.checkpoint(plan);
                }
                Err(error) => {
                    chunk.last_error = Some(error.to_string());
                    // A refusal proves nothing was queued only when no earlier run sent this
                    // chunk and no attempt of this one may have reached Ecwid.
                    if never_sent && !error.may_have_been_applied() {
                        chunk.state = ChunkState::Planned;
                    }
                    self.checkpoint(plan);
                    return;
                }
            }
        }
    }

    /// Polls every created chunk, in order, until Ecwid reports it completed; stops at the
    /// first that fails to be read or is not completed within the poll timeout.
    async fn poll_all(&mut self, plan: &mut BulkPlan) {
        for index in 0..plan.chunks.len() {
            let ChunkState::Created { ticket } = &plan.chunks[index].state else {
                continue;
            };
            let ticket = ticket.clone();
            // `None` when the timeout is too long to be reached.
            let deadline = tokio::time::Instant::now().checked_add(self.poll_timeout);
            let mut wait = self.first_poll;
            loop {
                // The last read is at the deadline, not after it.
                let left =
                    deadline.map(|d| d.saturating_duration_since(tokio::time::Instant::now()));
                tokio::time::sleep(left.map_or(wait, |left| wait.min(left))).await;
                wait = wait.mul_f64(1.5).min(self.max_poll);
                match self.client.batch_status(&ticket).await {
                    Ok(status) if status.status == BatchStatusStatus::Completed => {
                        let chunk = &mut plan.chunks[index];
                        chunk.state = ChunkState::Done {
                            outcomes: outcomes(chunk, &status.responses),
                        };
                        chunk.last_error = None;
                        self.checkpoint(plan);
                        self.progress(plan, 0);
                        break;
                    }
                    Ok(status) => {
                        let done = status.completed_requests.unwrap_or(0).max(0) as usize;
                        self.progress(plan, done);
                        if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                            // Still queued: the plan stays resumable, and resuming polls again.
                            plan.chunks[index].last_error = Some(format!(
                                "Ecwid had not reported it completed after {:?} of polling",
                                self.poll_timeout
                            ));
                            self.checkpoint(plan);
                            return;
                        }
                    }
                    Err(error) => {
                        plan.chunks[index].last_error = Some(error.to_string());
                        self.checkpoint(plan);
                        return;
                    }
                }
            }
        }
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

impl Client {
    /// Creates (or re-creates, with the same key) one chunk's batch, retrying only while the key
    /// is surely remembered (`key_left`) or the client's deadline allows, whichever ends first.
    async fn create_batch(
        &self,
        key: &str,
        body: &[BatchRequestItem],
        key_left: Duration,
    ) -> Result<String, Error> {
        let store = self.store();
        let info = CallInfo {
            operation: "create_batch",
            // The deduplication key makes a repeated create return the first ticket.
            idempotent: true,
            product: None,
            combination: None,
            deadline: Some(key_left),
        };
        let ticket = self
            .send(info, move |raw| async move {
                raw.create_batch()
                    .store_id(store)
                    .deduplication_key(key)
                    .stop_on_first_failure(false)
                    .body(body.to_vec())
                    .send()
                    .await
            })
            .await?;
        Ok(ticket.ticket)
    }

    async fn batch_status(
        &self,
        ticket: &str,
    ) -> Result<crate::generated::types::BatchStatus, Error> {
        let store = self.store();
        let info = CallInfo {
            operation: "get_batch_status",
            idempotent: true,
            product: None,
            combination: None,
            deadline: None,
        };
        self.send(info, move |raw| async move {
            raw.get_batch_status()
                .store_id(store)
                .ticket(ticket)
                .send()
                .await
        })
        .await
    }
}

/// Reads each item's result from a completed batch, matched by the `id` each request was given.
fn outcomes(chunk: &Chunk, responses: &[BatchResponseItem]) -> Vec<ItemOutcome> {
    let by_id: HashMap<&str, &BatchResponseItem> = responses
        .iter()
        .filter_map(|r| r.id.as_deref().map(|id| (id, r)))
        .collect();
    (0..chunk.items.len())
        .map(|n| {
            let id = (chunk.first + n).to_string();
            match by_id.get(id.as_str()) {
                Some(response) => outcome(response),
                None => ItemOutcome::Unknown {
                    reason: "the completed batch has no result for this item; read the stock to reconcile".into(),
                },
            }
        })
        .collect()
}

/// One item's outcome from its result in a completed batch.
///
/// `Failed` needs an error status (400 to 599): an item marked `FAILED` without one (no status
/// code, or one that is no HTTP status) may have been applied, so it is `Unknown`. A
/// `COMPLETED` item without a usable status is decided by its body, `{updateCount}`.
fn outcome(response: &BatchResponseItem) -> ItemOutcome {
    // The item's HTTP status, when Ecwid gave one that reads as such.
    let status = response
        .http_status_code
        .and_then(|s| u16::try_from(s).ok())
        .filter(|s| (100..=599).contains(s));
    let raw_status = match response.http_status_code {
        Some(code) => format!("status {code}"),
        None => "no status code".to_owned(),
    };
    let unknown = |what: &str| ItemOutcome::Unknown {
        reason: format!(
            "{what} ({raw_status}): it may have been applied; read the stock to reconcile"
        ),
    };
    let body: Option<serde_json::Value> = match (&response.http_body, &response.escaped_http_body) {
        (Some(body), _) => Some(body.clone()),
        (None, Some(escaped)) => serde_json::from_str(escaped).ok(),
        (None, None) => None,
    };
    // What the body says was done, if it reads as a stock update.
    let result = body
        .as_ref()
        .and_then(|b| StockUpdateResult::deserialize(b).ok());
    match (response.status, status) {
        // Not executed, yet carrying a success or server-failure status or an update's result:
        // the item contradicts itself, so it may have run.
        (BatchResponseItemStatus::NotExecuted, Some(200..=299 | 500..=599)) => {
            unknown("marked not executed, yet with a success or server-failure status")
        }
        (BatchResponseItemStatus::NotExecuted, _) if result.is_some() => {
            unknown("marked not executed, yet with an update's result")
        }
        (BatchResponseItemStatus::NotExecuted, _) => ItemOutcome::NotExecuted,
        (_, Some(status @ 400..=599)) => {
            let error = body
                .and_then(|b| serde_json::from_value::<EcwidError>(b).ok())
                .unwrap_or_default();
            ItemOutcome::Failed {
                status,
                error_code: error.error_code,
                error_message: error.error_message,
            }
        }
        (BatchResponseItemStatus::Completed, None | Some(200..=299)) => match result {
            Some(result) if result.update_count > 0 => ItemOutcome::Updated {
                warning: result.warning,
            },
            Some(result) if result.update_count == 0 => ItemOutcome::NotUpdated,
            _ => unknown("an unreadable result"),
        },
        (BatchResponseItemStatus::Completed, Some(_)) => {
            unknown("a completed result with an unexpected status")
        }
        (BatchResponseItemStatus::Failed, _) => unknown("marked failed without an error status"),
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
        let plan = BulkPlan::new(StoreId::new(1), items, chunk_size, None)?;
        plan.requests()?;
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
        bad[2].delta = 0;
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
    fn the_client_default_low_stock_flag_fills_in_items_without_their_own() {
        let items = vec![
            BulkItem::product(ProductId::new(1), 1),
            BulkItem::product(ProductId::new(2), 1).check_low_stock_notification(false),
            BulkItem::product(ProductId::new(3), 1).check_low_stock_notification(true),
        ];
        let flags = |default: Option<bool>| {
            let plan = BulkPlan::new(StoreId::new(1), items.clone(), 500, default).unwrap();
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

    fn result(
        status: BatchResponseItemStatus,
        code: Option<i32>,
        body: Option<serde_json::Value>,
    ) -> BatchResponseItem {
        BatchResponseItem {
            id: Some("0".into()),
            status,
            http_status_code: code,
            http_status_line: None,
            http_body: body,
            escaped_http_body: None,
        }
    }

    #[test]
    fn reads_each_kind_of_result() {
        use serde_json::json;
        use BatchResponseItemStatus::*;
        let not_found = || json!({"errorCode": "PRODUCT_NOT_FOUND", "errorMessage": "no"});
        let failed = |status| ItemOutcome::Failed {
            status,
            error_code: Some("PRODUCT_NOT_FOUND".into()),
            error_message: Some("no".into()),
        };
        // (result, the outcome, or None for Unknown)
        let cases = [
            (
                result(Completed, Some(200), Some(json!({"updateCount": 1}))),
                Some(ItemOutcome::Updated { warning: None }),
            ),
            (
                result(Completed, Some(200), Some(json!({"updateCount": 0}))),
                Some(ItemOutcome::NotUpdated),
            ),
            (
                result(Failed, Some(404), Some(not_found())),
                Some(failed(404)),
            ),
            (
                result(Failed, Some(500), Some(not_found())),
                Some(failed(500)),
            ),
            (
                result(Completed, Some(404), Some(not_found())),
                Some(failed(404)),
            ),
            (
                result(NotExecuted, Some(0), Some(serde_json::Value::Null)),
                Some(ItemOutcome::NotExecuted),
            ),
            (
                result(NotExecuted, None, None),
                Some(ItemOutcome::NotExecuted),
            ),
            // Not executed, yet saying otherwise: it may have run.
            (result(NotExecuted, Some(200), None), None),
            (result(NotExecuted, Some(503), None), None),
            (
                result(NotExecuted, None, Some(json!({"updateCount": 1}))),
                None,
            ),
            (
                result(NotExecuted, Some(400), None),
                Some(ItemOutcome::NotExecuted),
            ),
            // COMPLETED without a status code: the body decides.
            (
                result(Completed, None, Some(json!({"updateCount": 1}))),
                Some(ItemOutcome::Updated { warning: None }),
            ),
            (
                result(Completed, None, Some(json!({"updateCount": 0}))),
                Some(ItemOutcome::NotUpdated),
            ),
            (result(Completed, None, None), None),
            (result(Completed, None, Some(not_found())), None),
            (
                result(Completed, Some(0), Some(json!({"updateCount": 1}))),
                Some(ItemOutcome::Updated { warning: None }),
            ),
            (result(Completed, Some(200), Some(json!("<html>"))), None),
            (
                result(Completed, Some(302), Some(json!({"updateCount": 1}))),
                None,
            ),
            // FAILED without an error status: it may have been applied.
            (result(Failed, None, None), None),
            (result(Failed, None, Some(not_found())), None),
            (result(Failed, Some(0), Some(not_found())), None),
            (result(Failed, Some(-1), None), None),
            (result(Failed, Some(70_000), None), None),
            (result(Failed, Some(1_000), Some(not_found())), None),
            (
                result(Failed, Some(200), Some(json!({"updateCount": 1}))),
                None,
            ),
        ];
        for (response, expected) in cases {
            let got = outcome(&response);
            match expected {
                Some(expected) => assert_eq!(got, expected, "{response:?}"),
                None => {
                    let ItemOutcome::Unknown { reason } = &got else {
                        panic!("{response:?}: {got:?}, not Unknown");
                    };
                    assert!(reason.contains("read the stock"), "{reason}");
                    assert!(got.may_have_been_applied());
                }
            }
        }
        let escaped = BatchResponseItem {
            http_body: None,
            escaped_http_body: Some(r#"{"updateCount":1,"warning":"negative"}"#.into()),
            ..result(Completed, Some(200), None)
        };
        assert_eq!(
            outcome(&escaped),
            ItemOutcome::Updated {
                warning: Some("negative".into())
            }
        );
        // The reason says what Ecwid gave.
        let ItemOutcome::Unknown { reason } = outcome(&result(Failed, None, None)) else {
            unreachable!()
        };
        assert!(reason.contains("no status code"), "{reason}");
    }

    #[test]
    fn outcomes_serialize_with_camel_case_fields() {
        use serde_json::json;
        let failed = ItemOutcome::Failed {
            status: 404,
            error_code: Some("PRODUCT_NOT_FOUND".into()),
            error_message: Some("no".into()),
        };
        let shapes = [
            (
                failed.clone(),
                json!({"outcome": "failed", "status": 404, "errorCode": "PRODUCT_NOT_FOUND", "errorMessage": "no"}),
            ),
            (
                ItemOutcome::Updated {
                    warning: Some("w".into()),
                },
                json!({"outcome": "updated", "warning": "w"}),
            ),
            (ItemOutcome::NotUpdated, json!({"outcome": "notUpdated"})),
            (ItemOutcome::NotExecuted, json!({"outcome": "notExecuted"})),
            (
                ItemOutcome::NotSent { reason: "r".into() },
                json!({"outcome": "notSent", "reason": "r"}),
            ),
            (
                ItemOutcome::Unknown { reason: "r".into() },
                json!({"outcome": "unknown", "reason": "r"}),
            ),
        ];
        for (outcome, shape) in shapes {
            assert_eq!(serde_json::to_value(&outcome).unwrap(), shape);
            assert_eq!(
                serde_json::from_value::<ItemOutcome>(shape).unwrap(),
                outcome
            );
        }
        // A plan saved with the old snake_case fields still reads.
        let old = json!({"outcome": "failed", "status": 404, "error_code": "PRODUCT_NOT_FOUND", "error_message": "no"});
        assert_eq!(serde_json::from_value::<ItemOutcome>(old).unwrap(), failed);
    }

    #[test]
    fn an_expired_chunk_is_final_and_unknown() {
        let mut plan = checked(items(6), 2).unwrap();
        plan.chunks[0].state = ChunkState::Expired { since_unix_ms: 1 };
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
            serde_json::json!({"state": "expired", "sinceUnixMs": 1})
        );
        assert_eq!(serde_json::from_value::<BulkPlan>(json).unwrap(), plan);
    }
}
