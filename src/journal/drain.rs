//! The drain: applies the events a journal holds through Ecwid's batch API, exactly once, with
//! the bulk machinery (`resume_bulk`), writing each step to the journal before the next is sent.
//!
//! A run is up to 500 events claimed together, and their bulk plan (one batch, its
//! deduplication key made when the run is claimed) is the run's saved document. The plan is
//! run with every checkpoint saved to the run before anything more is sent (which also extends
//! the lease), and once Ecwid has answered, every event's outcome is written and the run
//! closed. So a worker killed at any instant leaves a run whose saved plan says how far it got:
//!
//! | saved plan | what it means | the next drain |
//! |---|---|---|
//! | planned (events `sending`: the claim marks them) | nothing was sent | plans it afresh and sends it |
//! | creating | the create may have been sent | sends it again under the same key (Ecwid answers with the first ticket), or, once the key is 55 minutes old, never again: its events end `unknown` |
//! | created (events `sent`) | queued at Ecwid | reads its outcome, sending nothing again; or, once the ticket is 55 minutes old and Ecwid refuses to answer for it (forgot it: a 404, say), never again: its events end `unknown` |
//!
//! A done plan is not saved: once Ecwid has answered, the outcomes are written and the run
//! closed in one transaction, and a worker killed before that leaves the run `created`. So a
//! run that goes through takes four writing transactions: the claim (events joined to the run
//! and marked `sending`, the plan saved), the plan `creating` before the create is sent, the
//! ticket (events `sent`), and the outcomes with the run's close.
//!
//! A run is taken over once its lease has expired (its worker died or stalled); the stalled
//! worker's next write is refused, so it stops before sending anything more.
//!
//! A run taken over keeps to the drain's bounds ([`Drain::max_events`], the events waiting
//! when it started, [`Drain::run_size`]) where it can. One of which nothing was sent (a
//! planned plan) is cut to the room left: it keeps its first events and puts the others back
//! to `recorded`, first in line, saving its new plan in the same transaction. One that may
//! have been sent (creating or created) is indivisible: its events went to Ecwid as one batch
//! under one deduplication key, and only that batch, whole, can be sent again or read back; so
//! it is taken whole, past the bound if it must be, and [`DrainReport::beyond_max_events`]
//! says by how many events.
//!
//! No run blocks the journal forever. A run whose batch Ecwid queued is taken over by every
//! drain until its outcome is known; should Ecwid forget the batch's ticket, its status reads
//! fail every time. Within the key's window ([`KEY_WINDOW`], 55 minutes, counted from when the
//! ticket was written, on the journal's clock) that failure is left for the next drain: a
//! status read refused soon after the create may be Ecwid's passing answer. Past it, a status
//! read that Ecwid refuses (a 4xx about the ticket: not 401, 402 or 403, which refuse the token
//! or the store, nor 429) gives the run up: its events end `unknown` (they may have been
//! applied: read the stock), counted in [`DrainReport::forgotten`], and the drain goes on. A
//! status read that does not reach Ecwid, or that Ecwid fails with a 5xx, proves nothing
//! about the ticket, and the run waits for the next drain as before.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc, Mutex,
};
use std::time::{Duration, Instant};

use super::{
    event::to_ms,
    run::{check_worker, ClaimedRun, PlanFn},
    EventRecord, EventState, Journal, JournalError,
};
use crate::{
    bulk::{outcome::failed_with_5xx, Checkpoint, ChunkStage, ChunkView},
    bulk::{BulkPlan, BulkReport, ItemOutcome, MAX_BATCH_SIZE},
    client::CallOptions,
    deduplication::KEY_WINDOW,
    options::request_builder,
    polling::Polling,
    retry::Repeat,
    settings::check_setting,
    settings::MAX_SETTING,
    Client, Error, RequestOptions,
};

/// How long a worker holds a run between two saves, by default: 5 minutes. A worker that dies
/// leaves its run to others this long after its last save.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(5 * 60);

/// How long a drain waits, by default, for Ecwid to report one run's batch completed: 2
/// minutes, less than [`Polling::DEFAULT_TIMEOUT`](crate::Polling::DEFAULT_TIMEOUT) because
/// the run's lease must cover it (see [`Polling`](crate::Polling)). Past it the run is left for
/// the next drain, which reads the batch again.
pub const DEFAULT_POLL_TIMEOUT: Duration = Duration::from_secs(2 * 60);

/// What a lease must cover beyond the longest wait between two saves (a create's deadline,
/// then the polling and its last read): the journal's own writes.
const LEASE_MARGIN: Duration = Duration::from_secs(30);

/// Where a drain stopped: each call is bounded, and says which bound ended it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DrainStop {
    /// No event of the store was waiting any more, nor a run to take over.
    NothingWaiting,
    /// It took this many events, the maximum set with [`Drain::max_events`]; or more, by
    /// [`DrainReport::beyond_max_events`], when it took over an indivisible run.
    MaxEvents(usize),
    /// It took as many events as were waiting when it started (this many); those recorded
    /// since are for the next drain.
    WaitingAtStart(usize),
    /// A run could not be finished, and the drain stopped there rather than meet the same
    /// failure again: Ecwid refused the run's batch before queuing it (its events were
    /// released, recorded again, for the next drain), or the batch's outcome is not known yet
    /// (a create or a status read kept failing, or Ecwid did not complete it within the poll
    /// timeout: the next drain learns it, sending nothing twice; a batch whose ticket Ecwid
    /// refuses is given up once past the key's window, see [`DrainReport::forgotten`]).
    /// `reason` says which.
    #[non_exhaustive]
    RunNotFinished {
        /// What Ecwid answered, or what is not known.
        reason: String,
    },
}

/// What a [`Drain`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DrainReport {
    /// Events Ecwid processed (`updateCount` 1, or 0 for unlimited stock): now `applied`.
    pub applied: usize,
    /// Events Ecwid refused or did not execute: now `failed`.
    pub failed: usize,
    /// Events whose outcome cannot be known (a key past its window, a ticket Ecwid forgot, a
    /// result Ecwid left unclear): now `unknown`, to reconcile by reading the stock. Never sent
    /// again.
    pub unknown: usize,
    /// Of `unknown`, the events of batches Ecwid had queued and then forgot: past the key's
    /// window ([`KEY_WINDOW`], counted from when the ticket was written, on the journal's
    /// clock), Ecwid refused to answer for the ticket (a 404, say), so their outcome can never
    /// be read and their run was given up rather than stop every drain. They may have been
    /// applied: read the stock.
    pub forgotten: usize,
    /// Events put back to `recorded` because Ecwid refused their batch before queuing it; the
    /// next drain sends them.
    pub released: usize,
    /// Events taken beyond [`Drain::max_events`], 0 without it. A run taken over whose batch
    /// may already have been sent to Ecwid is indivisible: its events went out as one batch
    /// under one deduplication key, and only that batch, whole, can be sent again under the
    /// key or have its outcome read. So it is taken whole even when the bound leaves room for
    /// fewer (up to 500 events, the size of the run another worker claimed), and this says by
    /// how many events the drain went past the bound. A run taken over of which nothing was
    /// sent is cut to fit instead; a run claimed afresh never exceeds the bound.
    pub beyond_max_events: usize,
    /// Runs worked on: claimed, or taken over.
    pub runs: usize,
    /// Of those, runs taken over from a worker whose lease had expired.
    pub taken_over: usize,
    /// Calls to Ecwid's batch API (creates and status reads), each a rate-limited request,
    /// counted once however many attempts it took.
    pub requests_sent: usize,
    /// How long the drain waited on its journal (claims, saves, outcomes).
    pub journal_time: Duration,
    /// Which bound ended the drain.
    pub stopped: DrainStop,
}

type ProgressFn<'a> = Box<dyn FnMut(&DrainReport) + Send + 'a>;

/// A drain of a journal into one store; made by [`Journal::drain`].
#[must_use = "nothing is sent until .send().await"]
pub struct Drain<'a> {
    journal: &'a Journal,
    client: &'a Client,
    max_events: Option<usize>,
    run_size: usize,
    lease: Duration,
    worker: String,
    polling: Polling,
    on_progress: Option<ProgressFn<'a>>,
    options: RequestOptions,
}

request_builder!(Drain, DrainReport);

impl std::fmt::Debug for Drain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Drain")
            .field("journal", self.journal)
            .field("client", self.client)
            .field("max_events", &self.max_events)
            .field("run_size", &self.run_size)
            .field("lease", &self.lease)
            .field("worker", &self.worker)
            .field("polling", &self.polling)
            .finish_non_exhaustive()
    }
}

impl Journal {
    /// Applies the events recorded for `client`'s store through Ecwid's batch API, each
    /// exactly once, oldest first: runs of up to 500 events, each one batch, every step
    /// written to the journal before the next is sent. Runs that a dead worker left are taken
    /// over first. Several workers (processes, machines) may drain one journal at once: they
    /// never take the same event. See the [module docs](super) and [`Drain`].
    ///
    /// ```no_run
    /// # async fn run(journal: ecwid_inventory::journal::Journal, client: ecwid_inventory::Client)
    /// # -> Result<(), ecwid_inventory::Error> {
    /// let report = journal.drain(&client).send().await?;
    /// println!(
    ///     "{} applied, {} failed, {} unknown in {} requests; stopped: {:?}",
    ///     report.applied, report.failed, report.unknown, report.requests_sent, report.stopped
    /// );
    /// # Ok(()) }
    /// ```
    pub fn drain<'a>(&'a self, client: &'a Client) -> Drain<'a> {
        let polling = Polling::new().timeout(DEFAULT_POLL_TIMEOUT);
        let id = uuid::Uuid::new_v4().simple().to_string();
        Drain {
            journal: self,
            client,
            max_events: None,
            run_size: MAX_BATCH_SIZE,
            lease: DEFAULT_LEASE,
            worker: format!("worker-{}-{}", std::process::id(), &id[..8]),
            polling,
            on_progress: None,
            options: RequestOptions::default(),
        }
    }
}

impl<'a> Drain<'a> {
    /// Takes at most this many events (at least 1). Without it, a drain takes as many as were
    /// waiting when it started.
    ///
    /// One exception: a dead worker's run that may already have been sent to Ecwid (its batch
    /// created, or being created, under its deduplication key) is taken over whole, up to the
    /// 500 events of a run, however few the bound leaves: those events went out as one batch,
    /// which can only be sent again, or read, whole. The report says by how much the bound was
    /// passed ([`DrainReport::beyond_max_events`]). A dead worker's run of which nothing was
    /// sent is cut to the room left (and to this drain's [`run_size`](Self::run_size)), its
    /// other events put back to wait, first in line.
    pub fn max_events(mut self, max: usize) -> Self {
        self.max_events = Some(max);
        self
    }

    /// The most events in one run, and so in one batch (1 to 500, default 500).
    pub fn run_size(mut self, size: usize) -> Self {
        self.run_size = size;
        self
    }

    /// How long this worker holds a run between two saves ([`DEFAULT_LEASE`], 5 minutes). It
    /// must cover the longest wait between two saves: the poll timeout plus the call's
    /// deadline, and 30 s for the journal's writes (checked by [`send`](Self::send)). A shorter
    /// lease lets others take over a dead worker's run sooner; a longer one tolerates a slower
    /// Ecwid. Measured on the journal's clock: keep the workers' clocks in sync.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// This worker's name in the journal's runs (1 to 200 bytes; by default `worker-`, the
    /// process id and a few random characters).
    pub fn worker(mut self, name: impl Into<String>) -> Self {
        self.worker = name.into();
        self
    }

    /// How often a run's batch status is read: first after `first`, then half as often again
    /// each time, up to `max` (defaults 200 ms and 2 s), as
    /// [`BulkRun::poll_interval`](crate::bulk::BulkRun::poll_interval).
    pub fn poll_interval(mut self, first: Duration, max: Duration) -> Self {
        self.polling = self.polling.interval(first, max);
        self
    }

    /// How long to wait for Ecwid to report one run's batch completed
    /// ([`DEFAULT_POLL_TIMEOUT`], 2 minutes). Past it the drain stops
    /// ([`DrainStop::RunNotFinished`]) and leaves the run, queued at Ecwid, to the next drain.
    pub fn poll_timeout(mut self, timeout: Duration) -> Self {
        self.polling = self.polling.timeout(timeout);
        self
    }

    /// Called with the report so far after each run.
    pub fn on_progress(mut self, progress: impl FnMut(&DrainReport) + Send + 'a) -> Self {
        self.on_progress = Some(Box::new(progress));
        self
    }

    /// Bad settings fail before anything is read, claimed or sent.
    fn check(&self) -> Result<(), Error> {
        if self.run_size == 0 || self.run_size > MAX_BATCH_SIZE {
            return Err(Error::InvalidInput(format!(
                "a run holds 1 to {MAX_BATCH_SIZE} events, not {}",
                self.run_size
            )));
        }
        if self.max_events == Some(0) {
            return Err(Error::InvalidInput("max_events must be at least 1".into()));
        }
        check_worker(&self.worker)?;
        self.polling.check().map_err(Error::InvalidInput)?;
        self.options.check()?;
        check_setting("lease", self.lease, false).map_err(Error::InvalidInput)?;
        let deadline = self.options.deadline.unwrap_or(self.client.inner.deadline);
        let needed = self.polling.timeout_or_default() + deadline + LEASE_MARGIN;
        if self.lease < needed {
            return Err(Error::InvalidInput(format!(
                "the lease ({:?}) must cover the poll timeout ({:?}), the call's deadline \
                 ({deadline:?}) and {LEASE_MARGIN:?} for the journal: at least {needed:?}; raise \
                 the lease (up to {MAX_SETTING:?}) or shorten the others",
                self.lease,
                self.polling.timeout_or_default()
            )));
        }
        Ok(())
    }

    /// Drains: takes over expired runs first, then claims waiting events run by run, until
    /// none is waiting, the bound is reached (the events waiting when it started, or
    /// [`max_events`](Self::max_events)), or a run cannot be finished; the report says which.
    ///
    /// Fails with [`Error::InvalidInput`] on bad settings, before anything is read or sent,
    /// and with [`Error::Journal`] when the journal fails: the run then stops before sending
    /// anything it could not record first, and the next drain (once the database is back, and
    /// the run's lease has expired) finishes it.
    pub async fn send(mut self) -> Result<DrainReport, Error> {
        self.check()?;
        let store = self.client.store_id();
        let mut report = DrainReport {
            applied: 0,
            failed: 0,
            unknown: 0,
            forgotten: 0,
            released: 0,
            beyond_max_events: 0,
            runs: 0,
            taken_over: 0,
            requests_sent: 0,
            journal_time: Duration::ZERO,
            stopped: DrainStop::NothingWaiting,
        };
        let counts = timed(&mut report, self.journal.counts(store)).await?;
        let waiting =
            usize::try_from(counts.recorded + counts.sending + counts.sent).unwrap_or(usize::MAX);
        let (budget, bound) = match self.max_events {
            Some(max) if max < waiting => (max, DrainStop::MaxEvents(max)),
            _ => (waiting, DrainStop::WaitingAtStart(waiting)),
        };
        let (mut taken, mut events_taken) = (0, 0);
        // Each pass takes at least one event or stops, so there are at most `budget` passes.
        while taken < budget {
            let journal = self.journal;
            let taken_over = timed(
                &mut report,
                journal.take_over(store, &self.worker, self.lease),
            )
            .await?;
            let fresh = taken_over.is_none();
            let run = match taken_over {
                Some(run) => {
                    report.taken_over += 1;
                    run
                }
                None => {
                    let max = self.run_size.min(budget - taken);
                    let plan = self.plan_fn();
                    let claim = journal.claim(store, &self.worker, max, self.lease, plan);
                    match timed(&mut report, claim).await? {
                        Some(run) => run,
                        None => {
                            report.stopped = DrainStop::NothingWaiting;
                            return Ok(report);
                        }
                    }
                }
            };
            report.runs += 1;
            let (took, unfinished) = self.run(run, fresh, budget - taken, &mut report).await?;
            taken += took.max(1);
            events_taken += took;
            if let Some(max) = self.max_events {
                report.beyond_max_events = events_taken.saturating_sub(max);
            }
            if let Some(progress) = &mut self.on_progress {
                progress(&report);
            }
            if let Some(reason) = unfinished {
                report.stopped = DrainStop::RunNotFinished { reason };
                return Ok(report);
            }
        }
        report.stopped = if waiting == 0 {
            DrainStop::NothingWaiting
        } else {
            bound
        };
        Ok(report)
    }

    /// What a claim saves as its run's document: the client's bulk plan of the events, in
    /// their order, so that its key and key time are the client's.
    fn plan_fn(&self) -> PlanFn {
        let (client, run_size) = (self.client.clone(), self.run_size);
        Box::new(move |events: &[EventRecord]| {
            let items = events.iter().map(|record| record.event.bulk_item());
            let plan = client.plan_bulk(items, run_size)?;
            let states = claimed_states(&plan, events.len());
            let document = serde_json::to_value(&plan).expect("a plan serializes");
            Ok((document, states))
        })
    }

    /// Runs one claimed run to its end: finished (`None`), or left for the next drain (why);
    /// with how many events it took. `fresh`: claimed just now, not taken over, so its
    /// document is the plan the claim made. `room`: how many more events the drain may take;
    /// a run taken over that holds more is cut to fit when nothing of it was sent, and taken
    /// whole otherwise (see [`DrainReport::beyond_max_events`]).
    async fn run(
        &mut self,
        claimed: ClaimedRun,
        fresh: bool,
        room: usize,
        report: &mut DrainReport,
    ) -> Result<(usize, Option<String>), Error> {
        let ClaimedRun {
            lease,
            document,
            mut events,
        } = claimed;
        let journal = self.journal;
        let corrupt = |why: String| -> Error {
            JournalError::Corrupt(format!("run {}: {why}", lease.run_id))
                .at(&journal.endpoint(), "resume a run")
                .into()
        };
        // The claim's document, while it is what the journal holds: a first checkpoint
        // that would save it again only extends a lease the claim has just given.
        let mut claimed = fresh.then(|| document.clone());
        // The lease keeps two runners of a run apart; a worker of this process that stalled
        // past its lease may still hold the plan's id, and must not stop the run.
        let plan = match fresh {
            true => serde_json::from_value(document),
            false => BulkPlan::from_saved_with_new_id(document),
        };
        let mut plan =
            plan.map_err(|e| corrupt(format!("its document is not a bulk plan: {e}")))?;
        check_items(&plan, &events).map_err(corrupt)?;
        let summary = plan.report().summary();
        if !fresh && summary.not_sent == plan.len() {
            // Saved before anything was sent (a checkpoint is saved before each create), so
            // nothing was: planned afresh, its key is young whenever the run was taken over
            // (a fresh claim's plan was made with it, just now).
            let mut items = plan.items().cloned().collect::<Vec<_>>();
            // Nothing sent, its events are not bound together yet: a run longer than this
            // drain may take (its bound, or its run size) keeps the events that fit, and puts
            // the rest back, with its new plan saved at once.
            let keep = room.min(self.run_size);
            if items.len() > keep {
                items.truncate(keep);
                plan = self.client.plan_bulk(items, self.run_size)?;
                let shortened = serde_json::to_value(&plan).expect("a plan serializes");
                timed(report, journal.shorten_run(&lease, keep, &shortened)).await?;
                events.truncate(keep);
                claimed = Some(shortened);
            } else {
                plan = self.client.plan_bulk(items, self.run_size)?;
            }
        }
        let took = events.len();

        let calls = Arc::new(AtomicUsize::new(0));
        let waited = Arc::new(Mutex::new(Duration::ZERO));
        let held = Arc::new(Mutex::new(lease));
        let checkpoint = {
            let (journal, held, waited) = (journal.clone(), held.clone(), waited.clone());
            let lease_for = self.lease;
            // What each chunk's events were last written as, so that only changes are written.
            let mut written: Vec<Option<EventState>> = Vec::new();
            let first_states: Vec<EventState> = events.iter().map(|e| e.state.clone()).collect();
            // A run is one chunk of at most 500 events, so its whole plan is a run's size, not the
            // journal's: saving it whole at each checkpoint already costs what changed.
            move |checkpoint: &Checkpoint<'_>| {
                let plan = checkpoint.plan();
                // A done plan is not saved: the run's outcomes are written, and the run closed,
                // as soon as the bulk run returns it. Until then the last saved step stands,
                // and a run resumed from it reads the batch's outcome again, sending nothing.
                let save = (!plan.is_done()).then(|| {
                    let states = changed_states(plan, &first_states, &mut written);
                    let document = serde_json::to_value(plan).expect("a plan serializes");
                    (document, states)
                });
                let save = save.filter(|(document, states)| {
                    let unchanged = claimed.take().is_some_and(|claimed| claimed == *document);
                    !(unchanged && states.is_empty())
                });
                let (journal, held, waited) = (journal.clone(), held.clone(), waited.clone());
                async move {
                    let Some((document, states)) = save else {
                        return Ok(());
                    };
                    let mut lease = lock(&held).clone();
                    let started = Instant::now();
                    let saved = journal
                        .save_run(&mut lease, &document, &states, lease_for)
                        .await;
                    *lock(&waited) += started.elapsed();
                    saved?;
                    *lock(&held) = lease;
                    Ok(())
                }
            }
        };
        let ran = self
            .client
            .resume_bulk(plan)
            .polling(self.polling)
            .options(self.options)
            .count_calls(calls.clone())
            .on_checkpoint_async(checkpoint)
            .send()
            .await;
        report.requests_sent += calls.load(Ordering::Relaxed);
        report.journal_time += *lock(&waited);
        let bulk = ran?;
        let lease = lock(&held).clone();

        let outcomes: Option<Vec<EventState>> = bulk.outcomes().iter().map(final_state).collect();
        match outcomes {
            Some(states) if bulk.plan().is_done() => {
                timed(report, journal.finish_run(&lease, &states)).await?;
                count_outcomes(report, &states);
                tracing::debug!(run = %lease.run_id, events = states.len(), "journal drain: run finished");
                Ok((took, None))
            }
            _ => {
                let reason = bulk
                    .outcomes()
                    .iter()
                    .find_map(|outcome| match outcome {
                        ItemOutcome::NotSent { reason } | ItemOutcome::Unknown { reason } => {
                            Some(reason.clone())
                        }
                        _ => None,
                    })
                    .unwrap_or_else(|| "the run's batch did not finish".to_owned());
                if bulk.summary().not_sent == bulk.outcomes().len() {
                    // Refused before it was queued: nothing was applied.
                    timed(report, journal.release_run(&lease)).await?;
                    report.released += bulk.outcomes().len();
                } else if let Some((states, forgotten)) = forgotten(
                    self.client,
                    self.options,
                    journal.now()?,
                    &bulk,
                    &events,
                    report,
                )
                .await?
                {
                    timed(report, journal.finish_run(&lease, &states)).await?;
                    count_outcomes(report, &states);
                    report.forgotten += forgotten;
                    tracing::warn!(run = %lease.run_id, forgotten, %reason, "journal drain: Ecwid forgot the run's batch past its key's window; its events are unknown");
                    return Ok((took, None));
                } else {
                    let document = serde_json::to_value(bulk.plan()).expect("a plan serializes");
                    timed(report, journal.let_go(&lease, &document)).await?;
                }
                tracing::warn!(run = %lease.run_id, %reason, "journal drain: run not finished");
                Ok((took, Some(reason)))
            }
        }
    }
}

/// For a run the bulk machinery left unfinished only because Ecwid no longer answers for its
/// batches' tickets, each past the key's window at `now` (the journal's clock, in ms): every
/// event's final state (those of the forgotten batches `unknown`) and how many were forgotten.
/// `None` for any other unfinished run, which is left for the next drain. `events` are the
/// run's events as it was taken: a batch's events were marked `sent` when its ticket was
/// written.
async fn forgotten(
    client: &Client,
    options: RequestOptions,
    now: i64,
    bulk: &BulkReport,
    events: &[EventRecord],
    report: &mut DrainReport,
) -> Result<Option<(Vec<EventState>, usize)>, Error> {
    let mut states: Vec<Option<EventState>> = bulk.outcomes().iter().map(final_state).collect();
    let mut forgotten = 0;
    for chunk in bulk.plan().chunk_views() {
        let ticket = match chunk.stage() {
            ChunkStage::Final => continue,
            ChunkStage::Created { ticket } => ticket,
            ChunkStage::Planned | ChunkStage::Creating => return Ok(None),
        };
        let items = chunk.items();
        let written = match events.get(items.start) {
            Some(EventRecord {
                state: EventState::Sent { ticket: sent, .. },
                state_changed_at,
                ..
            }) if sent == ticket => to_ms(*state_changed_at, "a ticket's time")?,
            _ => return Ok(None),
        };
        let age = Duration::from_millis(u64::try_from(now - written).unwrap_or(0));
        if age < KEY_WINDOW {
            return Ok(None);
        }
        // The bulk run's status reads failed; one more says whether Ecwid refuses the
        // ticket itself, or only failed to answer.
        report.requests_sent += 1;
        let read = options.apply(CallOptions::new("get_batch_status", Repeat::Always));
        let refusal = match client.batch_status(ticket, read).await {
            Err(failed) => match failed.into_error() {
                error @ Error::Api { status, .. } if refuses_ticket(status) => error,
                _ => return Ok(None),
            },
            Ok(_) => return Ok(None),
        };
        let unknown = EventState::Unknown {
            reason: format!(
                "Ecwid no longer answers for the batch's ticket {ticket} ({refusal}), {} \
                     minutes after it was written, past its deduplication key's window: the \
                     batch may have been applied, and it is never sent again; read the stock to \
                     reconcile",
                age.as_secs() / 60
            ),
        };
        for state in states.iter_mut().skip(items.start).take(items.len()) {
            *state = Some(unknown.clone());
        }
        forgotten += items.len();
    }
    let states: Option<Vec<EventState>> = states.into_iter().collect();
    Ok(states
        .filter(|_| forgotten > 0)
        .map(|states| (states, forgotten)))
}

/// Whether a status read's error status says Ecwid refuses the ticket itself: a 4xx, except
/// those that refuse the token (401, 403) or the store (402), which every other request would
/// meet too, and 429 (ignored, to send again).
fn refuses_ticket(status: u16) -> bool {
    (400..500).contains(&status) && !matches!(status, 401..=403 | 429)
}

/// Adds a finished run's outcomes to the report.
fn count_outcomes(report: &mut DrainReport, states: &[EventState]) {
    for state in states {
        match state {
            EventState::Applied { .. } => report.applied += 1,
            EventState::Failed { .. } => report.failed += 1,
            _ => report.unknown += 1,
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Awaits a journal operation, adding the time it took to the report.
async fn timed<T, E: Into<Error>>(
    report: &mut DrainReport,
    operation: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, Error> {
    let started = Instant::now();
    let result = operation.await;
    report.journal_time += started.elapsed();
    result.map_err(Into::into)
}

/// The plan must hold the run's events, in order: a document that does not is not resumed.
fn check_items(plan: &BulkPlan, events: &[EventRecord]) -> Result<(), String> {
    if plan.len() != events.len() {
        return Err(format!(
            "its plan holds {} items for {} events",
            plan.len(),
            events.len()
        ));
    }
    for (n, (item, record)) in plan.items().zip(events).enumerate() {
        if item.item != record.event.item || item.change != record.event.change {
            return Err(format!(
                "item {n} of its plan is not event {:?}",
                record.event.id
            ));
        }
    }
    Ok(())
}

/// What a claim writes as its events' states: `sending`, under their chunk's key, from the
/// moment they are claimed (what a claimed event may become is sent under that key).
fn claimed_states(plan: &BulkPlan, events: usize) -> Vec<EventState> {
    let mut states = vec![EventState::Recorded; events];
    for chunk in plan.chunk_views() {
        let items = chunk.items();
        for state in states.iter_mut().skip(items.start).take(items.len()) {
            *state = EventState::Sending {
                deduplication_key: chunk.deduplication_key().to_owned(),
            };
        }
    }
    states
}

/// An event's state as a chunk of the plan shows it while in flight (`None` while the chunk is
/// planned: its events stay as claimed; and once it is done or expired: its outcomes are
/// written when the run finishes).
fn chunk_state(chunk: ChunkView<'_>) -> Option<EventState> {
    let deduplication_key = chunk.deduplication_key().to_owned();
    match chunk.stage() {
        ChunkStage::Creating => Some(EventState::Sending { deduplication_key }),
        ChunkStage::Created { ticket } => Some(EventState::Sent {
            deduplication_key,
            ticket: ticket.to_owned(),
        }),
        ChunkStage::Planned | ChunkStage::Final => None,
    }
}

/// The events (by position in the run) whose state `plan` changes since it was last written;
/// `written` remembers, chunk by chunk, what was (at first, `first` says).
fn changed_states(
    plan: &BulkPlan,
    first: &[EventState],
    written: &mut Vec<Option<EventState>>,
) -> Vec<(usize, EventState)> {
    let mut changed = Vec::new();
    for (n, chunk) in plan.chunk_views().enumerate() {
        let items = chunk.items();
        if written.len() <= n {
            written.push(first.get(items.start).cloned());
        }
        let Some(state) = chunk_state(chunk) else {
            continue;
        };
        if written[n].as_ref() != Some(&state) {
            changed.extend(items.map(|position| (position, state.clone())));
            written[n] = Some(state);
        }
    }
    changed
}

/// An event's final state from its item's outcome; `None` for an item never sent.
fn final_state(outcome: &ItemOutcome) -> Option<EventState> {
    Some(match outcome {
        ItemOutcome::Updated { warning } => EventState::Applied {
            update_count: 1,
            warning: warning.clone(),
        },
        ItemOutcome::NotUpdated => EventState::Applied {
            update_count: 0,
            warning: None,
        },
        ItemOutcome::Failed {
            status,
            error_code,
            error_message,
        } if *status < 500 => EventState::Failed {
            status: Some(*status),
            error_code: error_code.clone(),
            error_message: error_message.clone(),
        },
        // Ecwid retries a 5xx item itself: the change may have been applied, so the event is
        // not `failed` (which would invite recording it again), but unknown.
        ItemOutcome::Failed {
            status,
            error_code,
            error_message,
        } => EventState::Unknown {
            reason: format!(
                "{}: read the stock before recording it again",
                failed_with_5xx(*status, error_code.as_deref(), error_message.as_deref())
            ),
        },
        ItemOutcome::NotExecuted => EventState::Failed {
            status: None,
            error_code: None,
            error_message: None,
        },
        ItemOutcome::Unknown { reason } => EventState::Unknown {
            reason: reason.clone(),
        },
        ItemOutcome::NotSent { .. } => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{bulk::BulkItem, ProductId, StoreId};

    /// A plan of `n` events in runs of `per` as a drain's run holds it: made by the bulk
    /// module, moved on by it (chunk 0 being created, chunk 1 queued as ticket `t-1`), saved
    /// as the journal saves it, and read back.
    fn saved_plan(n: u64, per: usize) -> BulkPlan {
        let client = Client::builder(StoreId::new(1003), "secret_t")
            .build()
            .unwrap();
        let items = (1..=n).map(|p| BulkItem::product(ProductId::new(p), -1));
        let plan = client
            .plan_bulk(items, per)
            .unwrap()
            .creating_for_test(0)
            .created_for_test(1, "t-1");
        serde_json::from_value(serde_json::to_value(&plan).unwrap()).unwrap()
    }

    fn key(state: &EventState) -> &str {
        match state {
            EventState::Sending { deduplication_key }
            | EventState::Sent {
                deduplication_key, ..
            } => deduplication_key,
            other => panic!("{other:?}"),
        }
    }

    /// The events' states the journal writes come from the bulk plan: each event carries its
    /// chunk's deduplication key, and a queued chunk's ticket. Were the journal to read the
    /// plan's saved form by names the plan no longer writes, keys and tickets would come out
    /// empty, and a run taken over could not be matched to what Ecwid holds.
    #[test]
    fn the_plans_keys_and_tickets_come_through_to_the_events() {
        let plan = saved_plan(5, 2);
        let claimed = claimed_states(&plan, 5);
        let keys: Vec<&str> = claimed.iter().map(key).collect();
        assert!(
            keys.iter().all(|k| uuid::Uuid::parse_str(k).is_ok()),
            "{keys:?}"
        );
        assert_eq!((keys[0], keys[2], keys[4]), (keys[1], keys[3], keys[4]));
        assert!(
            keys[0] != keys[2] && keys[2] != keys[4],
            "a key per chunk: {keys:?}"
        );

        // What a checkpoint of this plan writes: chunk 0's events sending, chunk 1's sent with
        // its ticket, chunk 2's (planned) left as claimed.
        let mut written = Vec::new();
        let changed = changed_states(&plan, &vec![EventState::Recorded; 5], &mut written);
        let positions: Vec<usize> = changed.iter().map(|(n, _)| *n).collect();
        assert_eq!(positions, [0, 1, 2, 3]);
        assert_eq!(changed[0].1, claimed[0]);
        assert_eq!(
            changed[2].1,
            EventState::Sent {
                deduplication_key: keys[2].to_owned(),
                ticket: "t-1".into(),
            }
        );
        // Written once: the same plan again changes nothing.
        assert!(changed_states(&plan, &vec![EventState::Recorded; 5], &mut written).is_empty());
    }

    fn failed(status: u16) -> ItemOutcome {
        ItemOutcome::Failed {
            status,
            error_code: Some("CODE".into()),
            error_message: Some("message".into()),
        }
    }

    #[test]
    fn a_refused_item_is_failed_and_a_5xx_item_may_have_been_applied() {
        assert!(matches!(
            final_state(&failed(404)),
            Some(EventState::Failed {
                status: Some(404),
                ..
            })
        ));
        for status in [500, 503] {
            let Some(EventState::Unknown { reason }) = final_state(&failed(status)) else {
                panic!("{status}: {:?}", final_state(&failed(status)));
            };
            assert!(
                reason.contains(&status.to_string()) && reason.contains("may have been applied")
            );
        }
    }
}
