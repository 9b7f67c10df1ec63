//! Bulk stock sync through Ecwid's batch API, exactly once, with progress and resume:
//! [`Client::bulk_adjust`], [`Client::plan_bulk`] and [`Client::resume_bulk`].
//!
//! Thousands of adjustments go out as batches of at most 500 requests each, one rate-limited
//! call per batch. Each batch is created with a `deduplicationKey` chosen once, when the work
//! is planned, and reused on every retry of that create: Ecwid answers a repeated create with
//! the first ticket for an hour, so an ambiguous failure (a timeout, a lost connection, a 5xx)
//! can be retried without applying anything twice. That is the only exactly-once path Ecwid
//! offers.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use ecwid_inventory::bulk::{BulkItem, BulkPlan, ItemOutcome, PlanLog};
//! use ecwid_inventory_fake::{demo, FakeStore};
//!
//! let fake = FakeStore::demo().await?; // or Client::builder(store, token) against Ecwid
//! let client = fake.client_builder(demo::TOKEN).build()?;
//! let (tee, small) = demo::SMALL_TEE;
//! let items = vec![
//!     BulkItem::variation(tee, small, -3),
//!     BulkItem::product(demo::MUG, 10).check_low_stock_notification(true),
//! ];
//! # let dir = std::env::temp_dir().join(format!("ecwid-bulk-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! # let path = dir.join("bulk-plan.log");
//! let plan = client.plan_bulk(items, 500)?;
//! // Saved where a restarted program finds it: the plan once, then each change appended.
//! let mut log = PlanLog::create(&path, &plan)?;
//! let report = client
//!     .resume_bulk(plan)
//!     .on_progress(|p| eprint!("\r{}/{}", p.completed, p.total))
//!     .on_checkpoint(|checkpoint| log.save(checkpoint).expect("the plan is saved"))
//!     .send()
//!     .await?;
//! for (item, outcome) in report.iter() {
//!     // Updated { warning }, NotUpdated, Failed { .. }, NotExecuted, NotSent, Unknown { .. }
//!     println!("{item:?}: {outcome:?}");
//! }
//! assert!(report.outcomes().iter().all(|o| matches!(o, ItemOutcome::Updated { .. })));
//! assert_eq!(report.summary().applied, 2);
//!
//! // After a crash: the saved plan learns every outcome and applies nothing twice.
//! let (plan, _log) = PlanLog::<BulkPlan>::open(&path)?;
//! let again = client.resume_bulk(plan).send().await?;
//! assert_eq!(again.summary().applied, 2);
//! assert_eq!(fake.ledger().len(), 2); // each change applied once
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(()) }
//! ```
//!
//! # How a run goes
//!
//! `bulk_adjust` sends chunks of at most 500 adjustments ([`MAX_BATCH_SIZE`],
//! [`BulkRun::chunk_size`]) through `POST /{storeId}/batch` with `stopOnFirstFailure=false` and a
//! `deduplicationKey` generated once per chunk, when the work is planned, and reused on every
//! retry of that create. It then polls `GET /{storeId}/batch` with backoff until `COMPLETED` and
//! returns one outcome per item, in input order. All its requests go through the client's
//! limiter and retry rules.
//!
//! - **Counts beside deltas**: [`BulkItem::set`] and [`BulkItem::set_unlimited`] go in a run
//!   beside deltas, with the same plan, progress, resume and exactly-once creates (a set is
//!   saved in the plan as `{"set": ...}`).
//! - **The low-stock flag** follows the client's
//!   [`check_low_stock_notification`](crate::ClientBuilder::check_low_stock_notification)
//!   default as single adjustments do: an item's own flag wins, else the client's. The flag is
//!   fixed when the plan is made, so a resumed plan sends exactly what it recorded.
//! - **Outcomes**: an item is [`ItemOutcome::Failed`] only with a real error status (400-599); a
//!   result Ecwid leaves unclear (no status, an unreadable body) is [`ItemOutcome::Unknown`].
//!   [`BulkReport::is_settled`] says whether every outcome is known.
//! - **Keys from your own ids**: [`BulkItem::exactly_once_key`] derives an item's key from your
//!   own id for the change, as [`AdjustStock::exactly_once_key`](crate::stock::AdjustStock::exactly_once_key)
//!   does. A keyed run makes the same chunks, under the same keys, only from the same items in
//!   the same order; for events that may come again in any grouping, or hours later, record them
//!   in the journal (`ecwid_inventory::journal`, feature `journal`).
//!
//! # Resume
//!
//! The whole in-flight state is a [`BulkPlan`] (chunks, keys, tickets, results), which
//! serializes with serde. Save it (from [`BulkRun::on_checkpoint`], called before each create is
//! sent and after each answer) and a program that crashed can resume from it with
//! [`Client::resume_bulk`] and learn every item's outcome without applying anything twice.
//! [`Client::plan_bulk`]`(items, chunk_size)` makes a plan without sending anything, to save
//! before the first run.
//!
//! - **A checkpoint costs what changed.** A checkpoint hands over a [`Checkpoint`]: the
//!   [`PlanChange`] that step made and the plan after it. A run's first change is
//!   [`PlanChange::Started`] (save the plan whole); every later one is one chunk's new state
//!   (a ticket, a chunk's outcomes, an error), to append after it and fold back in with
//!   [`BulkPlan::apply_change`]. [`PlanLog`] does this with a file: the plan written once
//!   (fsynced, renamed into place), then one record per change (length, CRC-32, the change as
//!   JSON; fsynced). Reading folds the records in; a record torn by a crash mid-write is the
//!   last one, ignored (its checkpoint never returned, so nothing was sent after it) and cut
//!   away by the next append; a damaged record with good ones after it is refused. A plan
//!   saved whole as JSON is read too. Saving the whole plan at every checkpoint costs the
//!   plan's size each time: at 100,000 rows, that made a sync 2.4 times slower
//!   (`benches/README.md`).
//! - **The journal's runs** are saved whole at each checkpoint, in the journal's database:
//!   a run is one batch of at most 500 events, so its plan is a run's size, not the
//!   journal's, and a checkpoint already costs what changed.
//!
//! - **The 55-minute rule.** A plan's deduplication keys are made with the plan, and Ecwid
//!   remembers a key for an hour from its first use. So no chunk is created, or created again,
//!   once the plan is 55 minutes old: a chunk not known to be queued by then is *expired*, never
//!   sent again (a run whose checkpoints were not saved may have created it), and its items are
//!   `Unknown` (read the stock to reconcile, then plan what is missing anew). For the same
//!   reason a create, retries included, gets only what is left of those 55 minutes. Run a plan
//!   soon after making it.
//! - **One runner per plan.** A second run of a plan already running in this process fails at
//!   once with [`Error::InvalidInput`](crate::Error::InvalidInput), sending nothing. Resume a
//!   plan from one place at a time: two processes running copies of one plan still apply
//!   nothing twice, but one of them may report `NotSent` for a chunk the other queued.
//! - **Checked when read.** The saved format carries a version ([`PLAN_FORMAT_VERSION`], now 1).
//!   A plan of another version, or one edited into something the crate would not have written
//!   (counts that do not match, a chunk over 500 items, a repeated or malformed key, a bad item,
//!   an unknown field), fails to deserialize with an error naming the problem, so nothing of it
//!   is sent.
//!
//! Two things end a run with outcomes still unknown, both reported per item as
//! [`ItemOutcome::Unknown`]: a batch Ecwid does not report completed within the poll timeout
//! ([`BulkRun::poll_timeout`], default 10 minutes, as [`Polling`](crate::Polling) says;
//! resuming the plan learns its outcome), and a batch whose create may have been sent longer
//! ago than Ecwid remembers its key (the chunk is then *expired*: it is never sent again, and
//! only reading the stock can tell whether it ran).
//! When the poll timeout ends a run, the items of that batch and of the batches after it are
//! `Unknown`, and resuming the plan later learns their outcomes without sending anything again.
//!
//! # Cost
//!
//! `cargo run --example bulk_sync` shows a progress bar over 2,000 adjustments against the fake:
//! it spends about 25 rate-limited requests (4 creates and some 21 status reads, depending on
//! timing) instead of 2,000, and checks that every delta landed once. At Ecwid's real 600
//! requests a minute, 10,000 adjustments one by one take about 17 minutes; `cargo bench --bench
//! bulk` measures 250 times fewer requests for `bulk_adjust` (10,000 against 40; the figures
//! are in `benches/README.md`).
//!
//! [`Client::bulk_adjust`]: crate::Client::bulk_adjust
//! [`Client::plan_bulk`]: crate::Client::plan_bulk
//! [`Client::resume_bulk`]: crate::Client::resume_bulk

mod checkpoint;
pub(crate) mod log;
pub(crate) mod outcome;
mod plan;
mod report;
pub(crate) mod run;

pub use crate::deduplication::KEY_WINDOW;
pub use checkpoint::{Checkpoint, ChunkChange, PlanChange};
pub use log::{LoggedPlan, PlanLog, PLAN_LOG_FORMAT_VERSION};
pub use outcome::ItemOutcome;
pub use plan::{BulkItem, BulkPlan, MAX_BATCH_SIZE, PLAN_FORMAT_VERSION};
#[cfg(feature = "journal")]
pub(crate) use plan::{ChunkStage, ChunkView};
pub use report::{BulkReport, BulkSummary};
pub use run::BulkRun;
