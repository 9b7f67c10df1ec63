//! Applying a sync's plan: [`Client::apply_sync`] sends its changes through the bulk path, or
//! resumes the bulk plan a saved plan carries.

use std::future::Future;

use super::plan::SyncPlan;
use super::report::{SyncOutcome, SyncReport};
use crate::{
    bulk::MAX_BATCH_SIZE,
    bulk::{run::CheckpointFuture, Checkpoint, PlanChange},
    options::request_builder,
    polling::{polling_options, Polling, ProgressFn},
    Client, Error, RequestOptions,
};

type CheckpointFn<'a> = Box<dyn FnMut(&Checkpoint<'_, SyncPlan>) + Send + 'a>;
type AsyncCheckpointFn<'a> =
    Box<dyn FnMut(&Checkpoint<'_, SyncPlan>) -> CheckpointFuture<'a> + Send + 'a>;

impl Client {
    /// Applies `plan` through the bulk path ([`bulk_adjust`](Client::bulk_adjust)): every
    /// change exactly once, in batches of up to 500, with progress and checkpoints. A plan
    /// saved from [`ApplySync::on_checkpoint`] (or a report's
    /// [`plan`](SyncReport::plan)) resumes: every outcome is learned, nothing is sent twice,
    /// nothing is planned anew.
    ///
    /// ```no_run
    /// # async fn run(client: ecwid_inventory::Client, plan: ecwid_inventory::sync::SyncPlan)
    /// # -> Result<(), ecwid_inventory::Error> {
    /// use ecwid_inventory::{bulk::PlanLog, sync::SyncOutcome};
    ///
    /// // The plan written once, then each checkpoint's change appended.
    /// let mut log = PlanLog::create("sync-plan.log", &plan).expect("the plan is saved");
    /// let report = client
    ///     .apply_sync(plan)
    ///     .on_checkpoint(|checkpoint| log.save(checkpoint).expect("the plan is saved"))
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
    ///
    /// [`BulkPlan`]: crate::bulk::BulkPlan
    /// [`SyncMode::Delta`]: crate::sync::SyncMode::Delta
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

polling_options!(
    ApplySync,
    /// Past it (by default [`Polling::DEFAULT_TIMEOUT`], 10 minutes), the changes of that
    /// batch and the ones after it are [`SyncOutcome::Unknown`], and applying the saved plan
    /// again learns their outcomes.
    poll_timeout,
    /// `completed` counts the changes done, of all the plan's changes (`total`), as a bulk run
    /// counts its items.
    on_progress,
);

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
    /// Called before anything is sent and after each batch is created or read, with the
    /// [`Checkpoint`]: what changed, and the whole plan after it, its bulk plan included. Save
    /// it, and a crashed run resumes from it with [`Client::apply_sync`], sending nothing
    /// twice. The first checkpoint ([`PlanChange::Started`]) carries the plan with its bulk
    /// plan just made, to save whole; each later one a batch's new state, to append
    /// ([`SyncPlan::apply_change`] folds it back in). [`PlanLog::save`](crate::bulk::PlanLog::save)
    /// does that with a file.
    pub fn on_checkpoint(
        mut self,
        checkpoint: impl FnMut(&Checkpoint<'_, SyncPlan>) + Send + 'a,
    ) -> Self {
        self.on_checkpoint = Some(Box::new(checkpoint));
        self
    }

    /// Like [`on_checkpoint`](Self::on_checkpoint), for a checkpoint that writes somewhere
    /// slow and may fail, as for [`BulkRun::on_checkpoint_async`](crate::bulk::BulkRun::on_checkpoint_async):
    /// it is awaited before anything more is sent, and when it fails the sync stops at once,
    /// sends nothing more, and [`send`](Self::send) returns its error. Use it when resuming
    /// depends on the saved plan: a run that went on past a save that failed would leave a
    /// saved plan without the keys its batches went out under. The future must not borrow
    /// the checkpoint. With `on_checkpoint` too, both are called, the plain one first.
    pub fn on_checkpoint_async<F, Fut>(mut self, mut checkpoint: F) -> Self
    where
        F: FnMut(&Checkpoint<'_, SyncPlan>) -> Fut + Send + 'a,
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
        let mut run = client.resume_bulk(bulk).polling(polling).options(options);
        if let Some(progress) = on_progress.as_mut() {
            run = run.on_progress(progress);
        }
        let saved = &mut plan;
        if on_checkpoint.is_some() || on_checkpoint_async.is_some() {
            // The sync's plan follows the bulk plan's by its changes: copied whole once, when the
            // run starts, then each chunk's change folded in.
            run = run.on_checkpoint_async(move |bulk| -> CheckpointFuture<'_> {
                let change = bulk.change();
                if let PlanChange::Started = change {
                    saved.bulk = Some(bulk.plan().clone());
                } else if let Err(why) = saved.apply_change(change) {
                    return Box::pin(std::future::ready(Err(Error::InvalidInput(format!(
                        "the sync's plan does not follow its bulk plan: {why}"
                    )))));
                }
                let checkpoint = Checkpoint::new(change, &*saved);
                if let Some(save) = on_checkpoint.as_mut() {
                    save(&checkpoint);
                }
                match on_checkpoint_async.as_mut() {
                    Some(save) => save(&checkpoint),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::fixtures::product;
    use crate::{
        sync::{SyncMode, SyncRow, SyncStatus, SYNC_PLAN_FORMAT_VERSION},
        RetryPolicy, Stock, StoreId,
    };

    /// A client of store 1003 with nothing listening where it sends: neither test may send.
    fn client() -> Client {
        Client::builder(StoreId::new(1003), "secret_t")
            .base_url("http://127.0.0.1:9/api/v3")
            .retry_policy(RetryPolicy::never())
            .build()
            .unwrap()
    }

    /// A plan of store `store` whose one row is at its target already.
    fn plan(store: u64) -> SyncPlan {
        SyncPlan {
            version: SYNC_PLAN_FORMAT_VERSION,
            store_id: StoreId::new(store),
            mode: SyncMode::Delta,
            read_unix_ms: 0,
            read_requests: 1,
            rows: vec![SyncRow {
                sku: "MUG".into(),
                item: Some(product(3)),
                current: Some(Stock::Quantity(8)),
                target: Stock::Quantity(8),
                change: None,
                status: SyncStatus::Same,
                matches: Vec::new(),
            }],
            bulk: None,
        }
    }

    #[tokio::test]
    async fn a_plan_for_another_store_is_refused_before_anything_is_sent() {
        let client = client();
        let checkpoints = std::sync::atomic::AtomicUsize::new(0);
        let error = client
            .apply_sync(plan(7))
            .on_checkpoint(|_| {
                checkpoints.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            })
            .await
            .unwrap_err();
        match &error {
            Error::InvalidInput(why) => {
                assert_eq!(why, "the plan is for store 7, the client for store 1003")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(client.requests_sent(), 0);
        assert_eq!(checkpoints.into_inner(), 0);
    }

    /// No change makes no bulk plan, sends nothing and leaves the plan unstarted.
    #[tokio::test]
    async fn a_plan_without_changes_is_done_at_once() {
        let client = client();
        let report = client.apply_sync(plan(1003)).await.unwrap();
        assert_eq!(
            report.outcomes().collect::<Vec<_>>(),
            [&SyncOutcome::NothingToDo]
        );
        assert!(report.is_complete());
        assert_eq!(report.requests_sent(), 0);
        assert!(!report.plan().is_started());
        assert_eq!(report.into_plan(), plan(1003));
        assert_eq!(client.requests_sent(), 0);
    }
}
