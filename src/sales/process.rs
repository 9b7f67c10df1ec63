//! [`Process`]: recorded order events in, their orders read and reconciled, the events marked
//! processed; bounded in events and time, with a [`ProcessReport`].

use std::{
    collections::{BTreeMap, HashMap},
    fmt,
    time::{Duration, SystemTime},
};

use super::{
    dispatch::on_backend,
    movement::FoundBy,
    reconcile::{Observed, Snapshot},
    setup::{column, Sales},
    store::{Claimed, FailedRead, Work},
};
use crate::{
    options::request_builder, orders::Order, settings::check_setting, Client, Error, OrderId,
    RequestOptions,
};

/// The most events a [`Process`] takes by default: 1,000.
pub const DEFAULT_MAX_EVENTS: usize = 1000;

/// How long a [`Process`] goes on claiming events by default: 60 seconds. A batch of events
/// being read when it passes is finished first.
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(60);

/// How long a processor holds the events it claimed, by default: 5 minutes. A processor that
/// dies leaves them to the others this long after it claimed them.
pub const DEFAULT_CLAIM: Duration = Duration::from_secs(5 * 60);

/// Events claimed at once: the orders of one search by `ids` (Ecwid's most per page).
const BATCH: usize = 100;

/// How far around an event naming no order a search for its order reaches: the orders last
/// updated within this of the event's creation.
pub const ORDERLESS_WINDOW: Duration = Duration::from_secs(10 * 60);

/// Why a [`Process`] stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProcessStop {
    /// No order event of the store was waiting (or due for another attempt) any more.
    NothingWaiting,
    /// It took as many events as [`Process::max_events`] allows.
    MaxEvents,
    /// Its [`time_limit`](Process::time_limit) passed.
    TimeLimit,
    /// Ecwid could not be read at all (no connection, a timeout, a 5xx, 429 past the retries,
    /// a refused token): the events whose read failed wait for their next attempt, the rest
    /// of the batch was put back untouched, and the call stopped rather than fail the same
    /// way for every event. `reason` is the error.
    #[non_exhaustive]
    EcwidUnavailable {
        /// What the read answered.
        reason: String,
    },
}

/// What a [`Process`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProcessReport {
    /// Events processed: their orders read and reconciled, and the events marked processed.
    pub processed: usize,
    /// Order reads sent to Ecwid (a search by ids counts once, whatever its pages).
    pub reads: usize,
    /// Orders reconciled (each once per batch, however many events named it).
    pub orders: usize,
    /// Movements recorded.
    pub movements: usize,
    /// Events whose order could not be read, waiting for their next attempt.
    pub retry_later: usize,
    /// Events whose order could not be read for the last allowed time (or which name an order
    /// id Ecwid cannot have): now `failed`.
    pub failed: usize,
    /// Events claimed and then put back untouched, when Ecwid could not be read at all.
    pub put_back: usize,
    /// The last read error, if any.
    pub last_error: Option<String>,
    /// Why it stopped.
    pub stopped: ProcessStop,
}

/// Processes recorded order events; made by [`Sales::process`].
#[must_use = "nothing is done until .send().await"]
pub struct Process<'a> {
    sales: &'a Sales,
    client: &'a Client,
    max_events: usize,
    time_limit: Duration,
    claim: Duration,
    worker: String,
    options: RequestOptions,
}

request_builder!(Process, ProcessReport);

impl fmt::Debug for Process<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Process")
            .field("client", self.client)
            .field("max_events", &self.max_events)
            .field("time_limit", &self.time_limit)
            .field("claim", &self.claim)
            .field("worker", &self.worker)
            .finish_non_exhaustive()
    }
}

impl Sales {
    /// Processes the order events recorded for `client`'s store, oldest first: claims them a
    /// batch (100) at a time, reads their orders (a search by ids for up to 100 orders in one
    /// request; an order the search leaves out is read by itself, and a 404 means deleted),
    /// reconciles each order and marks the batch's events processed in one transaction. See
    /// the [module docs](super) and [`Process`] for its bounds and what happens after a failed
    /// read. Several processors (tasks, processes, machines on PostgreSQL) may process one
    /// database at once: they never take the same event, and an order they both read moves
    /// stock once.
    pub fn process<'a>(&'a self, client: &'a Client) -> Process<'a> {
        Process {
            sales: self,
            client,
            max_events: DEFAULT_MAX_EVENTS,
            time_limit: DEFAULT_TIME_LIMIT,
            claim: DEFAULT_CLAIM,
            worker: format!("sales-{}", uuid::Uuid::new_v4().simple()),
            options: RequestOptions::default(),
        }
    }
}

impl Process<'_> {
    /// Takes at most this many events (1 or more; [`DEFAULT_MAX_EVENTS`] by default).
    pub fn max_events(mut self, max: usize) -> Self {
        self.max_events = max;
        self
    }

    /// Claims no more events once this long has passed since the call started
    /// ([`DEFAULT_TIME_LIMIT`] by default; measured on tokio's clock). The batch being read
    /// then is finished.
    pub fn time_limit(mut self, limit: Duration) -> Self {
        self.time_limit = limit;
        self
    }

    /// How long the events claimed are held before another processor may take them
    /// ([`DEFAULT_CLAIM`] by default): longer than reading one batch of orders takes.
    pub fn claim_for(mut self, claim: Duration) -> Self {
        self.claim = claim;
        self
    }

    /// This processor's name in the database, while it holds events (a fresh one by default).
    pub fn worker(mut self, name: impl Into<String>) -> Self {
        self.worker = name.into();
        self
    }

    /// Processes the events (see [`Sales::process`]).
    pub async fn send(self) -> Result<ProcessReport, Error> {
        self.options.check()?;
        if self.max_events == 0 {
            return Err(Error::InvalidInput(
                "a process takes at least one event".into(),
            ));
        }
        check_setting("process's time limit", self.time_limit, false)
            .map_err(Error::InvalidInput)?;
        check_setting("process's claim", self.claim, false).map_err(Error::InvalidInput)?;
        if self.worker.is_empty()
            || self.worker.len() > 200
            || self.worker.chars().any(char::is_control)
        {
            return Err(Error::InvalidInput(format!(
                "a worker's name must be 1 to 200 bytes without control characters, not {:?}",
                self.worker
            )));
        }
        let sales = self.sales;
        let journal = &sales.inner.journal;
        let store = self.client.store_id();
        let store_id = column(store.get(), "store id")?;
        let claim_ms = i64::try_from(self.claim.as_millis()).unwrap_or(i64::MAX);
        let started = tokio::time::Instant::now();
        let mut report = ProcessReport {
            processed: 0,
            reads: 0,
            orders: 0,
            movements: 0,
            retry_later: 0,
            failed: 0,
            put_back: 0,
            last_error: None,
            stopped: ProcessStop::NothingWaiting,
        };
        let mut taken = 0;
        report.stopped = loop {
            if taken >= self.max_events {
                break ProcessStop::MaxEvents;
            }
            if started.elapsed() >= self.time_limit {
                break ProcessStop::TimeLimit;
            }
            let now = journal.now()?;
            let max = (self.max_events - taken).min(BATCH) as i64;
            let claimed = on_backend!(
                journal,
                claim(
                    store_id,
                    self.worker.clone(),
                    max,
                    now,
                    now.saturating_add(claim_ms)
                )
            )?;
            if claimed.is_empty() {
                break ProcessStop::NothingWaiting;
            }
            taken += claimed.len();
            let read = read_orders(self.client, &self.options, &claimed).await;
            report.reads += read.reads;
            report.orders += read.observed.len();
            let now = journal.now()?;
            let done = read.done.len();
            let work = Work::new(
                store,
                read.observed,
                read.done,
                FoundBy::Webhook,
                sales.inner.policy.clone(),
                now,
            );
            report.movements += on_backend!(journal, reconcile(work))?;
            report.processed += done;
            if !read.failed.is_empty() {
                let failures: Vec<FailedRead> = read
                    .failed
                    .iter()
                    .map(|(event, error, hopeless)| {
                        let attempts = event.attempts.saturating_add(1);
                        FailedRead {
                            seq: event.seq,
                            error: error.clone(),
                            next_attempt_ms: now.saturating_add(sales.retry_delay_ms(attempts)),
                            last: *hopeless || attempts >= i64::from(sales.inner.max_attempts),
                        }
                    })
                    .collect();
                let count = failures.len();
                let ended = on_backend!(journal, fail(failures, now))?;
                report.failed += ended;
                report.retry_later += count - ended;
                report.last_error = read.failed.last().map(|(_, e, _)| e.clone());
            }
            if !read.put_back.is_empty() {
                report.put_back += read.put_back.len();
                on_backend!(journal, release(read.put_back))?;
            }
            if let Some(reason) = read.unavailable {
                break ProcessStop::EcwidUnavailable { reason };
            }
        };
        Ok(report)
    }
}

/// What reading a batch's orders gave.
#[derive(Default)]
struct Read {
    observed: Vec<Observed>,
    /// Events whose orders were all read.
    done: Vec<i64>,
    /// Events whose order could not be read, why, and whether trying again is hopeless.
    failed: Vec<(Claimed, String, bool)>,
    /// Events left unread because Ecwid could not be read at all.
    put_back: Vec<i64>,
    /// Why Ecwid could not be read at all, if so.
    unavailable: Option<String>,
    reads: usize,
}

/// Whether `error` says that Ecwid cannot be read at the moment, whatever the order, rather
/// than something about the order read.
fn ecwid_unavailable(error: &Error) -> bool {
    match error {
        Error::Api { status, .. } => *status >= 500 || (401..=403).contains(status),
        Error::InvalidInput(_) | Error::InvalidResponse { .. } => false,
        _ => true,
    }
}

fn unix_ms_time(ms: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// Keeps the newer of two states of one order.
fn keep(observed: &mut HashMap<String, Observed>, order: &Order) {
    let snapshot = Snapshot::from(order);
    let newer = match observed.get(&snapshot.order_id) {
        Some(Observed::Order(known)) => snapshot.updated_ms >= known.updated_ms,
        Some(Observed::Deleted(_)) => false,
        None => true,
    };
    if newer {
        observed.insert(snapshot.order_id.clone(), Observed::Order(snapshot));
    }
}

/// Reads the orders of `claimed` in as few requests as the API allows. Never fails: a read
/// that fails is noted against the events it was for.
async fn read_orders(client: &Client, options: &RequestOptions, claimed: &[Claimed]) -> Read {
    let mut read = Read::default();
    let mut by_order: BTreeMap<String, Vec<&Claimed>> = BTreeMap::new();
    let mut orderless: Vec<&Claimed> = Vec::new();
    for event in claimed {
        match &event.order_id {
            Some(id) => match OrderId::new(id.as_str()).checked() {
                Ok(_) => by_order.entry(id.clone()).or_default().push(event),
                Err(e) => read.failed.push((event.clone(), e.to_string(), true)),
            },
            None => orderless.push(event),
        }
    }
    let mut observed: HashMap<String, Observed> = HashMap::new();
    let mut unread: Vec<String> = Vec::new();
    let mut failed_orders: HashMap<String, String> = HashMap::new();
    let searchable: Vec<&String> = by_order.keys().filter(|id| !id.contains(',')).collect();
    let stop = |read: &mut Read, error: &Error| -> bool {
        if ecwid_unavailable(error) {
            read.unavailable.get_or_insert_with(|| error.to_string());
            true
        } else {
            false
        }
    };

    for chunk in searchable.chunks(BATCH) {
        if read.unavailable.is_some() {
            unread.extend(chunk.iter().map(|id| id.to_string()));
            continue;
        }
        read.reads += 1;
        let search = client
            .orders()
            .ids(chunk.iter().map(|id| id.as_str()))
            .options(*options)
            .send()
            .await;
        match search {
            Ok(orders) => orders.iter().for_each(|order| keep(&mut observed, order)),
            // Ecwid down: each order's events wait for their next attempt. Any other refusal
            // of the search leaves its orders to be read one by one below.
            Err(error) => {
                if stop(&mut read, &error) {
                    for id in chunk {
                        failed_orders.insert(id.to_string(), error.to_string());
                    }
                }
            }
        }
    }
    // What the search left out (an unfinished order, a search index behind, a deleted
    // order, an id with a comma): read one by one, a 404 meaning deleted.
    for id in by_order.keys() {
        if observed.contains_key(id) || failed_orders.contains_key(id) || unread.contains(id) {
            continue;
        }
        if read.unavailable.is_some() {
            unread.push(id.clone());
            continue;
        }
        read.reads += 1;
        match client
            .order(OrderId::new(id.as_str()))
            .options(*options)
            .send()
            .await
        {
            Ok(order) => keep(&mut observed, &order),
            Err(Error::Api { status: 404, .. }) => {
                observed.insert(id.clone(), Observed::Deleted(id.clone()));
            }
            Err(error) => {
                stop(&mut read, &error);
                failed_orders.insert(id.clone(), error.to_string());
            }
        }
    }
    for (id, events) in &by_order {
        if let Some(error) = failed_orders.get(id) {
            read.failed
                .extend(events.iter().map(|e| ((*e).clone(), error.clone(), false)));
        } else if unread.contains(id) {
            read.put_back.extend(events.iter().map(|e| e.seq));
        } else {
            read.done.extend(events.iter().map(|e| e.seq));
        }
    }
    // An order event without its order id: the orders updated around the event, one of which
    // is its order.
    for event in orderless {
        if read.unavailable.is_some() {
            read.put_back.push(event.seq);
            continue;
        }
        read.reads += 1;
        let at = unix_ms_time(event.created_ms);
        let search = client
            .orders()
            .updated_from(
                at.checked_sub(ORDERLESS_WINDOW)
                    .unwrap_or(SystemTime::UNIX_EPOCH),
            )
            .updated_to(at + ORDERLESS_WINDOW)
            .options(*options)
            .send()
            .await;
        match search {
            Ok(orders) => {
                orders.iter().for_each(|order| keep(&mut observed, order));
                read.done.push(event.seq);
            }
            Err(error) => {
                stop(&mut read, &error);
                read.failed.push((event.clone(), error.to_string(), false));
            }
        }
    }
    read.observed = observed.into_values().collect();
    read
}

impl Sales {
    /// How long an event waits after its `attempts`th failed read.
    fn retry_delay_ms(&self, attempts: i64) -> i64 {
        let (first, max) = self.inner.retry_delay;
        let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
        let delay = first.saturating_mul(1u32 << doublings).min(max);
        i64::try_from(delay.as_millis()).unwrap_or(i64::MAX)
    }
}
