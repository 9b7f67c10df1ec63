//! The runner: creates each chunk's batch with its key, polls it until Ecwid reports it
//! completed, and checkpoints the plan along the way.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::outcome::outcomes;

use super::plan::{ChunkState, MAX_BATCH_SIZE};
use super::{BulkItem, BulkPlan, BulkReport, Checkpoint, PlanChange};
use crate::{
    batch::ItemOrder,
    client::CallFailed,
    deduplication::KEY_WINDOW,
    options::request_builder,
    polling::{polling_options, Polling, Progress, ProgressFn},
    retry::Repeat,
    Client, Error, RequestOptions,
};

type CheckpointFn<'a> = Box<dyn FnMut(&Checkpoint<'_>) + Send + 'a>;
/// What an asynchronous checkpoint returns (here and in the sync's, which hands its own on).
pub(crate) type CheckpointFuture<'a> = Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'a>>;
type AsyncCheckpointFn<'a> = Box<dyn FnMut(&Checkpoint<'_>) -> CheckpointFuture<'a> + Send + 'a>;

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
    polling: Polling,
    on_progress: Option<ProgressFn<'a>>,
    on_checkpoint: Option<CheckpointFn<'a>>,
    on_checkpoint_async: Option<AsyncCheckpointFn<'a>>,
    /// Counts the calls the run sends (batch creates and status reads), for a caller that
    /// reports them.
    calls: Option<Arc<AtomicUsize>>,
    options: RequestOptions,
}

request_builder!(BulkRun, BulkReport);

polling_options!(
    BulkRun,
    /// Past it (by default [`Polling::DEFAULT_TIMEOUT`], 10 minutes), the run stops polling:
    /// that batch and the ones after it stay queued at Ecwid, their items are reported
    /// [`ItemOutcome::Unknown`](super::ItemOutcome::Unknown), and resuming the plan later
    /// learns their outcomes without sending them again.
    poll_timeout,
    /// After each status read and each finished chunk: `completed` counts the items Ecwid has
    /// executed, plus those of expired chunks (never sent again, so nothing more is waited
    /// for), of all items (`total`).
    on_progress,
);

impl std::fmt::Debug for BulkRun<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BulkRun")
            .field("client", self.client)
            .field("chunk_size", &self.chunk_size)
            .field("polling", &self.polling)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Applies many adjustments through Ecwid's batch API, each exactly once.
    ///
    /// ```no_run
    /// # async fn run(client: ecwid_inventory::Client) -> Result<(), ecwid_inventory::Error> {
    /// use ecwid_inventory::{CombinationId, ProductId, bulk::BulkItem};
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
    /// each item's low-stock flag (the item's own, else this client's default). Bad input
    /// fails here.
    ///
    /// Save the plan, run it with [`resume_bulk`](Client::resume_bulk) and save every
    /// checkpoint, and a crash at any point can be resumed without applying anything twice. Run
    /// it soon: its keys are good for 55 minutes from now, after which a chunk not known to be
    /// queued is never sent (see [`BulkPlan`]).
    pub fn plan_bulk(
        &self,
        items: impl IntoIterator<Item = BulkItem>,
        chunk_size: usize,
    ) -> Result<BulkPlan, Error> {
        let plan = self.new_plan(items.into_iter().collect(), chunk_size)?;
        plan.check().map_err(Error::InvalidInput)?;
        Ok(plan)
    }

    fn new_plan(&self, items: Vec<BulkItem>, chunk_size: usize) -> Result<BulkPlan, Error> {
        BulkPlan::new(
            self.store_id(),
            items,
            chunk_size,
            self.default_check_low_stock_notification(),
            self.now(),
        )
    }

    /// Runs (or resumes) a saved plan: creates the chunks not yet created, with their original
    /// keys, and polls the rest for their outcomes. The plan is sent as it was made: the
    /// low-stock flags it records are sent, whatever this client's default. Expired chunks are
    /// never sent again, and neither is any chunk once the plan's keys are 55 minutes old.
    ///
    /// Run a plan from one place at a time: a second run of a plan already running in this
    /// process fails with [`Error::InvalidInput`] and sends nothing. Two processes running
    /// copies of one plan at once still apply nothing twice, but one may report
    /// [`ItemOutcome::NotSent`](crate::bulk::ItemOutcome::NotSent) for a chunk the other queued.
    pub fn resume_bulk(&self, plan: BulkPlan) -> BulkRun<'_> {
        self.bulk_run(Source::Plan(plan))
    }

    fn bulk_run(&self, source: Source) -> BulkRun<'_> {
        BulkRun {
            client: self,
            source,
            chunk_size: MAX_BATCH_SIZE,
            polling: Polling::default(),
            on_progress: None,
            on_checkpoint: None,
            on_checkpoint_async: None,
            calls: None,
            options: RequestOptions::default(),
        }
    }
}

impl<'a> BulkRun<'a> {
    /// Requests per batch (1 to 500, default 500). Ignored when resuming a plan.
    pub fn chunk_size(mut self, size: usize) -> Self {
        self.chunk_size = size;
        self
    }

    /// Called whenever the plan changes, before a create is sent and after each answer, with
    /// the [`Checkpoint`]: what changed, and the plan after it. Persist it to resume after a
    /// crash: the run's first checkpoint ([`PlanChange::Started`]) is the plan to save whole,
    /// and each later one a chunk's new state to append after it
    /// ([`BulkPlan::apply_change`] folds it back in). [`PlanLog::save`](super::PlanLog::save)
    /// does that with a file, so a checkpoint costs what changed, not the plan's size.
    pub fn on_checkpoint(mut self, checkpoint: impl FnMut(&Checkpoint<'_>) + Send + 'a) -> Self {
        self.on_checkpoint = Some(Box::new(checkpoint));
        self
    }

    /// Like [`on_checkpoint`](Self::on_checkpoint), for a checkpoint that writes somewhere
    /// slow and may fail (a database): the future it returns is awaited before the run sends
    /// anything more. When it fails, the run stops at once, sends nothing more, and
    /// [`send`](Self::send) returns its error: the checkpoint that failed describes the plan as
    /// it stood, and the last plan a checkpoint saved is the one to resume (whatever the
    /// failed one would have added was not sent).
    ///
    /// The future must not borrow the checkpoint: take what it needs (serialize it) first.
    ///
    /// ```no_run
    /// # async fn run(client: ecwid_inventory::Client, items: Vec<ecwid_inventory::bulk::BulkItem>)
    /// # -> Result<(), ecwid_inventory::Error> {
    /// use ecwid_inventory::Error;
    ///
    /// let report = client
    ///     .bulk_adjust(items)
    ///     .on_checkpoint_async(|checkpoint| {
    ///         // Here the whole plan, each time; a database would rather append the change.
    ///         let saved = serde_json::to_vec(checkpoint.plan()).expect("a plan serializes");
    ///         async move {
    ///             tokio::fs::write("sync.json", saved)
    ///                 .await
    ///                 .map_err(|e| Error::Config(format!("the plan cannot be saved: {e}")))
    ///         }
    ///     })
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    ///
    /// With [`on_checkpoint`](Self::on_checkpoint) too, both are called, the plain one first.
    pub fn on_checkpoint_async<F, Fut>(mut self, mut checkpoint: F) -> Self
    where
        F: FnMut(&Checkpoint<'_>) -> Fut + Send + 'a,
        Fut: Future<Output = Result<(), Error>> + Send + 'a,
    {
        self.on_checkpoint_async = Some(Box::new(move |plan| Box::pin(checkpoint(plan))));
        self
    }

    /// Adds one to `calls` for every batch create and status read the run sends (a call,
    /// whatever retries it took).
    #[cfg(feature = "journal")]
    pub(crate) fn count_calls(mut self, calls: Arc<AtomicUsize>) -> Self {
        self.calls = Some(calls);
        self
    }

    /// Runs the sync. Fails on bad input (an item, the chunk size, a poll setting), a plan
    /// for another store or one already running in this process, before anything is sent;
    /// and with an [asynchronous checkpoint](Self::on_checkpoint_async), when a checkpoint
    /// fails, with its error, having sent nothing after it. Everything else is reported per
    /// item in the [`BulkReport`].
    pub async fn send(mut self) -> Result<BulkReport, Error> {
        self.polling.check().map_err(Error::InvalidInput)?;
        self.options.check()?;
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
        // Bad items (in new input) and a plan edited into something inconsistent fail here,
        // before anything is sent.
        plan.check().map_err(Error::InvalidInput)?;
        let _claim = RunClaim::new(&plan)?;
        self.checkpoint(&plan, PlanChange::Started).await?;
        self.create_all(&mut plan).await?;
        self.poll_all(&mut plan).await?;
        Ok(plan.into_report())
    }

    /// Hands the change, and the plan after it, to the checkpoints; an asynchronous one is
    /// awaited, and its failure stops the run.
    async fn checkpoint(&mut self, plan: &BulkPlan, change: PlanChange) -> Result<(), Error> {
        if self.on_checkpoint.is_none() && self.on_checkpoint_async.is_none() {
            return Ok(());
        }
        let checkpoint = Checkpoint::new(&change, plan);
        if let Some(save) = &mut self.on_checkpoint {
            save(&checkpoint);
        }
        if let Some(save) = &mut self.on_checkpoint_async {
            save(&checkpoint).await?;
        }
        Ok(())
    }

    /// Hands chunk `index`'s new state to the checkpoints.
    async fn chunk_moved(&mut self, plan: &BulkPlan, index: usize) -> Result<(), Error> {
        if self.on_checkpoint.is_none() && self.on_checkpoint_async.is_none() {
            return Ok(());
        }
        self.checkpoint(plan, PlanChange::chunk(plan, index)).await
    }

    fn progress(&mut self, plan: &BulkPlan, in_flight: usize) {
        if let Some(progress) = &mut self.on_progress {
            progress(&Progress::new(plan.completed() + in_flight, plan.len()));
        }
    }

    /// Creates every chunk not yet created, in order, each with its batch body made as it is
    /// sent; a chunk whose key is too old is expired, and the run stops at the first chunk
    /// whose create fails. Fails only when a checkpoint does.
    async fn create_all(&mut self, plan: &mut BulkPlan) -> Result<(), Error> {
        for index in 0..plan.chunks.len() {
            if !matches!(
                plan.chunks[index].state,
                ChunkState::Planned | ChunkState::Creating
            ) {
                continue;
            }
            // No create of this chunk, by this run or by one whose checkpoints were lost, can
            // have been sent before its key was made; so while the key is younger than the
            // window, Ecwid surely remembers it, and no attempt may be sent after that.
            let now = crate::time::unix_ms(self.client.now());
            let key_age = Duration::from_millis(now.saturating_sub(plan.keys_made_unix_ms));
            let chunk = &mut plan.chunks[index];
            let Some(key_left) = KEY_WINDOW
                .checked_sub(key_age)
                .filter(|left| !left.is_zero())
            else {
                // Creating it now could apply it twice; only reading the stock can tell.
                let minutes = key_age.as_secs() / 60;
                chunk.last_error = Some(match chunk.state {
                    ChunkState::Planned => format!(
                        "its deduplication key is {minutes} minutes old and may have expired; \
                         a run of this plan whose checkpoints were not saved may have created it"
                    ),
                    _ => format!(
                        "its create may have been sent, and its deduplication key is {minutes} \
                         minutes old and may have expired"
                    ),
                });
                chunk.state = ChunkState::Expired;
                self.chunk_moved(plan, index).await?;
                self.progress(plan, 0);
                continue;
            };
            let never_sent = chunk.state == ChunkState::Planned;
            if never_sent {
                chunk.state = ChunkState::Creating;
                // Saved before the create is sent: a checkpoint that fails sends nothing.
                self.chunk_moved(plan, index).await?;
            }
            // Checked with the whole plan before the run began.
            let body = plan.chunk_requests(index)?;
            let chunk = &mut plan.chunks[index];
            let key = chunk.deduplication_key.as_str();
            let deadline =
                key_left.min(self.options.deadline.unwrap_or(self.client.inner.deadline));
            if let Some(calls) = &self.calls {
                calls.fetch_add(1, Ordering::Relaxed);
            }
            let created = self
                .client
                .create_batch(
                    key,
                    &body,
                    ItemOrder::InOrder,
                    Repeat::Always,
                    deadline,
                    self.options.timeout,
                )
                .await
                .map_err(CallFailed::into_error);
            match created {
                Ok(ticket) => {
                    chunk.state = ChunkState::Created { ticket };
                    chunk.last_error = None;
                    self.chunk_moved(plan, index).await?;
                }
                Err(error) => {
                    chunk.last_error = Some(error.to_string());
                    // A refusal proves nothing was queued only when no earlier run sent this
                    // chunk and no attempt of this one may have reached Ecwid.
                    if never_sent && !error.may_have_been_applied() {
                        chunk.state = ChunkState::Planned;
                    }
                    self.chunk_moved(plan, index).await?;
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Polls every created chunk, in order, until Ecwid reports it completed; stops at the
    /// first that fails to be read or is not completed within the poll timeout. Fails only
    /// when a checkpoint does.
    async fn poll_all(&mut self, plan: &mut BulkPlan) -> Result<(), Error> {
        for index in 0..plan.chunks.len() {
            let ChunkState::Created { ticket } = &plan.chunks[index].state else {
                continue;
            };
            let ticket = ticket.clone();
            // The reads the progress below sees: all but one that ends the polling completed,
            // or failed.
            let mut reads = 0;
            let polled = self
                .client
                .poll_batch(&ticket, self.polling, &self.options, |status| {
                    reads += 1;
                    let done = status.completed_requests.unwrap_or(0).max(0) as usize;
                    if let Some(progress) = &mut self.on_progress {
                        progress(&Progress::new(plan.completed() + done, plan.len()));
                    }
                })
                .await;
            if let Some(calls) = &self.calls {
                let ended = usize::from(!matches!(polled, Ok(None)));
                calls.fetch_add(reads + ended, Ordering::Relaxed);
            }
            let chunk = &mut plan.chunks[index];
            match polled {
                Ok(Some(status)) => {
                    chunk.state = ChunkState::Done {
                        outcomes: outcomes(chunk.first, chunk.items.len(), &status.responses),
                    };
                    chunk.last_error = None;
                    self.chunk_moved(plan, index).await?;
                    self.progress(plan, 0);
                }
                Ok(None) => {
                    // Still queued: the plan stays resumable, and resuming polls again.
                    chunk.last_error = Some(format!(
                        "Ecwid had not reported it completed after {:?} of polling",
                        self.polling.timeout_or_default()
                    ));
                    self.chunk_moved(plan, index).await?;
                    return Ok(());
                }
                Err(error) => {
                    chunk.last_error = Some(error.to_string());
                    self.chunk_moved(plan, index).await?;
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

/// The plans being run in this process, by id.
static RUNNING: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// This process's claim to run a plan, released when the run ends (or its future is dropped).
///
/// Two runners of one plan at once could each read the other's create as theirs or not at all:
/// one could report `NotSent` for a chunk the other had queued. Within a process the claim
/// refuses the second runner; across processes, a plan is resumed from one place at a time.
struct RunClaim(String);

impl RunClaim {
    fn new(plan: &BulkPlan) -> Result<Self, Error> {
        let mut running = RUNNING
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if !running.insert(plan.plan_id.clone()) {
            return Err(Error::InvalidInput(format!(
                "plan {} is already being run in this process; run a plan once at a time",
                plan.plan_id
            )));
        }
        Ok(Self(plan.plan_id.clone()))
    }
}

impl Drop for RunClaim {
    fn drop(&mut self) {
        RUNNING
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(&self.0);
    }
}
