//! Making the store's stock match target counts, a warehouse file's say: [`Client::plan_sync`]
//! reads the current stock of every target and plans each change (a dry run stops there);
//! [`Client::apply_sync`] applies the plan through the bulk path, exactly once, and resumes a
//! saved plan instead of planning anew.
//!
//! By default a change is a delta computed from the plan's fresh read (`target - current`),
//! so a sale made on the storefront between the read and the write is kept; [`SyncMode::Set`]
//! sends absolute counts, which overwrite such a sale.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use ecwid_inventory::bulk::PlanLog;
//! use ecwid_inventory::sync::{SyncOutcome, SyncPlan, SyncStatus};
//! use ecwid_inventory::Stock;
//! # let fake = ecwid_inventory_fake::FakeStore::demo().await?;
//! # let client = fake.client_builder(ecwid_inventory_fake::demo::TOKEN).build()?;
//! # let dir = std::env::temp_dir().join(format!("ecwid-sync-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! # let path = dir.join("sync-plan.log");
//!
//! // The counts the warehouse has, by SKU.
//! let targets = [("TEE-S", Stock::Quantity(12)), ("MUG", Stock::Quantity(30))];
//! let plan = client.plan_sync(targets).await?;
//! for row in plan.rows() {
//!     // {"sku":"TEE-S","product_id":..,"combination_id":..,"current":10,"target":12,
//!     //  "change":{"delta":2},"status":"change"}
//!     println!("{}", serde_json::to_string(row)?);
//! }
//! if plan.count(SyncStatus::Several) > 0 {
//!     return Ok(()); // a dry run stops at the plan
//! }
//! // The plan saved once, then each checkpoint's change appended: a checkpoint costs what
//! // changed (a batch's ticket, its outcomes), not the plan's size.
//! let mut log = PlanLog::create(&path, &plan)?;
//! let report = client
//!     .apply_sync(plan)
//!     // Saved before each create and after each answer; a save that fails stops the sync
//!     // before anything more is sent, so the file always names the keys sent under.
//!     .on_checkpoint_async(|checkpoint| {
//!         let saved = log.save(checkpoint).map_err(|e| {
//!             ecwid_inventory::Error::Config(format!("cannot save the plan: {e}"))
//!         });
//!         std::future::ready(saved)
//!     })
//!     .await?;
//! println!("{:?}, {} requests", report.summary(), report.requests_sent());
//! assert_eq!(report.summary().applied, 2);
//!
//! // After a crash: the saved plan resumes, learning every outcome and sending nothing twice.
//! let (saved, _log) = PlanLog::<SyncPlan>::open(&path)?;
//! let report = client.apply_sync(saved).await?;
//! for (row, outcome) in report.iter() {
//!     if let SyncOutcome::Failed { error_code, error_message, .. } = outcome {
//!         eprintln!("{}: {error_code:?} {error_message:?}", row.sku);
//!     }
//! }
//! assert_eq!(fake.ledger().len(), 2); // each change applied once
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(()) }
//! ```
//!
//! # The plan
//!
//! `plan_sync` takes targets by SKU (`(sku, Stock)` pairs) or by item ([`SyncTarget::item`]),
//! reads the current stock of each, and makes one [`SyncRow`] per target: `sku`, `item`,
//! `current`, `target`, `change` (what would be sent) and `status`: `change`, `same`,
//! `not-found`, `several` (the SKU is on more than one item: left alone) or `shared` (a
//! variation sharing its product's stock: changed once, through the product). It sends no
//! write; the plan is the dry run.
//!
//! - **Reading costs a few requests, never one per target.** Up to 500 lookups go through
//!   [`Client::find_skus`] (SKU searches batched) and a batch of product reads; past that, when
//!   the catalog has fewer pages than there are lookups, the whole catalog is read as
//!   [`Client::catalog_stock`] reads it and the targets are found in it. 10,000 SKUs in a
//!   10,000-product catalog take about 7.
//! - **Delta mode (the default) keeps the sales made meanwhile.** The change sent is
//!   `target - current` from the plan's fresh read, so a sale between the read and the write
//!   stays sold. Where a delta cannot reach the target, the row holds a set instead and shows
//!   it: an item whose stock is unlimited (Ecwid ignores deltas there), a target of
//!   `unlimited`, a difference past 32 bits. **[`PlanSync::mode`]`(SyncMode::Set)` sends
//!   absolute counts, which overwrite such a sale** (sold, yet counted back in): for targets
//!   known to include every sale up to the write.
//! - **Bad input sends nothing**: an empty SKU, one given twice, an item given twice, a count
//!   below zero or over [`MAX_QUANTITY`](crate::stock::MAX_QUANTITY), a zero id fail with
//!   [`Error::InvalidInput`](crate::Error::InvalidInput) naming the target before any request;
//!   two targets found to move one stock (a product and a variation sharing its stock) fail the
//!   same way once read, with no write sent.
//!
//! - **Memory grows with the rows, not the catalog.** The catalog is read a page at a time
//!   and only the items the targets name are kept: measured with `benches/cost.sh` (the
//!   command line, 2026-12, every fifth row changed), a sync costs about 200 bytes a row on
//!   top of some 15 MB (17 MB peak at 10,000 rows, 46 MB at 100,000, 228 MB at 1,000,000).
//!   A [`SyncRow`] is 128 of them (its SKU is more); the rest are the row's place in the
//!   indexes that fill it as items are found, the command's own target, and for a row that
//!   changes its bulk item and its outcome. A report keeps an outcome only for the rows that
//!   send a change.
//!
//! - **CPU, and the allocator.** Each catalog page is parsed into a JSON tree before its items
//!   are taken, millions of small allocations beside a heap that holds every row: at a million
//!   rows glibc's `malloc` took half the sync's CPU time (18.5 s of CPU; 9.0 s with mimalloc,
//!   10.2 s with jemalloc). A program that syncs that many rows gains by a faster global
//!   allocator, as `ecwid-stock` does (`#[global_allocator]`; `benches/README.md`, *Cost
//!   growth*).
//!
//! # Applying it
//!
//! `apply_sync` sends the rows' changes through the bulk path ([`crate::bulk`]: batches of 500,
//! deduplication keys, polling). The saved plan (serde, [`SYNC_PLAN_FORMAT_VERSION`], the
//! [`BulkPlan`](crate::bulk::BulkPlan) embedded once applying starts) resumes instead of planning
//! anew; it is checked whole when read, so an edited row or a bulk plan that does not send the
//! rows' changes fails to load. Checkpoints hand over what changed
//! ([`Checkpoint`](crate::bulk::Checkpoint)`<SyncPlan>`: the change, and the whole plan after
//! it): [`PlanLog`](crate::bulk::PlanLog)`<SyncPlan>` writes the plan once and appends each
//! change, so saving every checkpoint costs what changed, not the plan's size (as for
//! [`crate::bulk`]'s plans, whose *Resume* section says how a torn record is read). The report gives each row an outcome (`applied`, `failed` with
//! Ecwid's error, `unknown` with what to do, `nothing_to_do`), totals, and the requests it
//! spent ([`SyncPlan::requests_sent`] for the read).
//!
//! `cargo bench --bench sync`: 10,000 counts by SKU, 2,000 differing, take 13 requests (5 to
//! read, 8 to apply) against 12,000 one SKU at a time (`benches/README.md`). The command line's
//! `ecwid-stock sync FILE` runs this module on a warehouse file (`ecwid-stock/README.md`).
//!
//! [`Client::plan_sync`]: crate::Client::plan_sync
//! [`Client::apply_sync`]: crate::Client::apply_sync
//! [`Client::find_skus`]: crate::Client::find_skus
//! [`Client::catalog_stock`]: crate::Client::catalog_stock

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
