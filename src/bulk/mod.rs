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

pub(crate) mod outcome;
mod plan;
pub(crate) mod run;

pub use outcome::{BulkReport, BulkSummary, ItemOutcome};
pub use plan::{BulkItem, BulkPlan, MAX_BATCH_SIZE, PLAN_FORMAT_VERSION};
pub use run::{BulkRun, Progress};
