//! A durable journal of stock events (feature `journal`): each event recorded once, whatever
//! the channel it came from delivers twice, and kept with its outcome.
//!
//! Inside one call the crate applies a change once. Around it, your program is where changes
//! get lost or doubled: it receives an order from another channel (a webhook, a queue, a
//! poll), crashes after sending the delta and before noting it, and sends it again on restart;
//! or the channel delivers the same order twice, as webhook senders do. The journal closes that
//! gap: record every incoming order line under its own id, acknowledge it to the channel, and
//! drain the journal. The program can be killed at any instant, restarted, sent the same orders
//! again and run on several machines at once, and Ecwid's stock still moves exactly once per
//! order line.
//!
//! The journal stores each event under the caller's own id, keyed by `(store, event id)`:
//! recording an id that is already there changes nothing and returns the stored event and its
//! state, so a redelivered event can never be applied twice, however late it comes, as long as
//! its outcome is kept (see *Retention*).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::SystemTime;
//! use ecwid_inventory::journal::{DrainStop, Event, EventState, Journal, Recorded};
//! use ecwid_inventory::{StockChange, StockItem};
//! use ecwid_inventory_fake::{demo, FakeStore};
//!
//! # let dir = std::env::temp_dir().join(format!("ecwid-journal-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir).unwrap();
//! let fake = FakeStore::demo().await?;
//! let client = fake.client_builder(demo::TOKEN).build()?;
//! let journal = Journal::open_sqlite(dir.join("stock-journal.sqlite3")).await?;
//! // or, for workers on several machines (feature "postgres"):
//! // let journal = Journal::connect_postgres("postgresql://sync:password@db.internal/shop").await?;
//!
//! // 1. Receive and record: one event per order line, under the line's own id. Acknowledge
//! //    the delivery only once `record` has returned: from then on the journal answers for it.
//! let sold = Event::new(
//!     client.store_id(),
//!     "order-5521/line-1", // unique within the store; a redelivery carries the same id
//!     StockItem::Product { product: demo::MUG },
//!     StockChange::Delta(-2),
//!     SystemTime::now(), // when it happened
//! );
//! match journal.record(&sold).await? {
//!     Recorded::New(_) => {} // to be applied once
//!     Recorded::Duplicate(known) => println!("seen before: {:?}", known.state),
//!     Recorded::Conflict(known) => eprintln!("id reused for other content: {known:?}"),
//!     _ => {}
//! }
//! // The same order, delivered again: nothing changes.
//! let again = journal.record(&sold).await?;
//! assert!(matches!(again, Recorded::Duplicate(_)));
//! assert_eq!(again.state(), &EventState::Recorded);
//!
//! // 2. Drain (from a timer, after each delivery, or from other workers): runs of up to 500
//! //    events, one batch request each, every step written to the journal before the next.
//! let report = journal.drain(&client).send().await?;
//! println!(
//!     "{} applied, {} failed, {} unknown in {} requests",
//!     report.applied, report.failed, report.unknown, report.requests_sent
//! );
//! if let DrainStop::RunNotFinished { reason, .. } = &report.stopped {
//!     eprintln!("left for the next drain: {reason}");
//! }
//! assert_eq!(report.applied, 1);
//!
//! // 3. Look at what did not apply.
//! for event in journal.failed(client.store_id(), None, 100).await? {
//!     eprintln!("{}: {:?}", event.event.id, event.state); // Ecwid's error
//! }
//! for event in journal.unknown(client.store_id(), None, 100).await? {
//!     eprintln!("{}: {:?}", event.event.id, event.state); // read the stock to reconcile
//! }
//! assert_eq!(fake.ledger().len(), 1);
//! # drop(journal);
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # Ok(()) }
//! ```
//!
//! # The drain
//!
//! Events are applied by a drain ([`Journal::drain`], through the crate's exactly-once
//! [bulk](crate::bulk) machinery, as [`Client::resume_bulk`](crate::Client::resume_bulk) does),
//! which claims them in *runs*: a batch of up to 500 events of one store, held by one worker
//! under a lease, with the run's saved progress (its bulk plan, as JSON, under one deduplication
//! key made when it is claimed) written before each next step is sent; every checkpoint is
//! written to the run (extending its lease) before the next request is sent. A drain first takes
//! over the runs dead workers left (their lease expired), then claims the oldest recorded events.
//! Once Ecwid has answered, each event's outcome is written and the run closed. A run that goes
//! through takes four writing transactions: the claim (its events joined to the run and marked
//! `sending`), the plan before the create, the ticket, and the outcomes with the run's close.
//!
//! Each `send()` is bounded: it takes at most the events waiting when it started (or
//! [`Drain::max_events`]), and stops at the first run it cannot finish rather than meet the same
//! failure again; [`DrainReport::stopped`] says which bound ended it. A run of which something
//! may have been sent is indivisible (its events went to Ecwid as one batch under one
//! deduplication key, which can only be sent again or read whole), so a drain takes it over
//! whole, up to 500 events, even past its `max_events` ([`DrainReport::beyond_max_events`] says
//! by how many); one of which nothing was sent is cut to the room the drain has left, its other
//! events put back to wait, first in line. Settings: `run_size` (1 to 500), `max_events`,
//! `lease` ([`DEFAULT_LEASE`], 5 minutes; it must cover the poll timeout, the call's deadline and
//! 30 s, and is checked), `poll_interval`, `poll_timeout` ([`DEFAULT_POLL_TIMEOUT`], 2 minutes),
//! `worker`, the usual `deadline` and `timeout`, and `on_progress`.
//!
//! # What each failure does
//!
//! | what happens | what the journal holds | what the next drain does |
//! |---|---|---|
//! | the process is killed after recording, before its drain wrote anything | `recorded` | claims the events and sends them |
//! | killed after claiming, before the create went out | a run whose plan was never sent (its events `sending` under the run's key, marked by the claim) | plans it afresh and sends it |
//! | killed after the create went out, before the ticket was written | a run `sending`, its key saved | once the lease has expired, sends the create again under the same key: Ecwid answers with the first ticket and applies nothing twice |
//! | killed after the ticket was written, or while reading the status | a run `sent`, its ticket saved | reads the batch's outcome; sends nothing again |
//! | the same event delivered again (an hour, a day later) | the event, in whatever state | `record` returns `Duplicate` with its state; nothing is sent |
//! | the journal's database down (or a write failing) | the last step written | the drain fails with `Error::Journal` (database, operation, why; `may_have_been_applied()` is false) before sending anything it could not record first; once the database is back and the lease has expired, the next drain resumes the run |
//! | Ecwid refuses the batch before queuing it (a suspended store, a bad token) | events `recorded` again | sends them, planned afresh |
//! | Ecwid down (creates or reads failing until the deadline), or slower than the poll timeout | a run `sending` or `sent` | sends the create again under the same key, or reads the batch |
//! | a run left `sending` is resumed 55 minutes or more after its key was made | (Ecwid may have forgotten the key) | never sends it again: its events end `unknown`, "may have been applied: read the stock" |
//! | Ecwid forgets a queued batch's ticket (refuses its status reads: a 404, say) | a run `sent` | reads it again; once the ticket is 55 minutes old (the journal's clock) and Ecwid still refuses it, gives the run up: its events end `unknown` ("may have been applied: read the stock"), counted in `report.forgotten`, and the drain goes on to the next events. A status read that fails without Ecwid's refusal (no connection, a 5xx) leaves the run for the next drain |
//! | Ecwid refuses an item (no such product, a bad count) | `failed` with Ecwid's status and error | nothing; `failed()` lists it |
//! | Ecwid fails an item with a 5xx inside its batch (which Ecwid retries itself) | `unknown`, with the status and error: it may have been applied | read the stock before recording it again; `unknown()` lists it |
//! | a worker stalls past its lease | another worker took the run over | the stalled worker's next write is refused (`Error::Journal`) and it stops before sending more |
//!
//! Runs left by a dead worker wait for its lease (5 minutes by default) to expire; a shorter
//! lease frees them sooner but needs a shorter poll timeout and deadline. Leases are measured on
//! the journal's clock (the system's, or [`JournalBuilder::time_source`]): keep the workers' clocks in
//! sync.
//!
//! **Several workers, several machines.** Point every worker at one PostgreSQL journal and give
//! their clients one shared rate limit (`RedisRateLimit`, feature
//! `redis`): claims take the oldest free events with `FOR UPDATE SKIP LOCKED`, so workers never
//! take the same event and never wait on one another, and the Redis limiter keeps them under
//! Ecwid's limit together. Tested with four processes draining 4,000 events into a fake with a
//! scaled limit: each applied once, zero 429s, every worker did a share.
//!
//! # Storage
//!
//! - **What is stored**: per `(store, event id)`, the item, the change (a delta or an absolute
//!   count), the low-stock flag and when it happened, all as first recorded (recording the id
//!   again changes nothing and returns the stored event; other content under a known id is
//!   reported as `Conflict`); when it was recorded; and its state: `recorded`, `sending` (with
//!   the batch's deduplication key, from the moment its run claims it), `sent` (with Ecwid's
//!   ticket), then `applied` (Ecwid's answer: `updateCount` and warning), `failed` (Ecwid's
//!   status, code and message) or `unknown` (why). States serialize as
//!   `{"state": "applied", "updateCount": 1, "warning": null}` and so on, a stable form
//!   documented on [`EventState`]. [`Journal::event`] reads one, [`Journal::failed`] and
//!   [`Journal::unknown`] list those to look at, [`Journal::counts`] how many are in each state.
//! - **SQLite** ([`Journal::open_sqlite`], the default): one file, for one machine. Write-ahead
//!   logging with `synchronous = FULL`: each transaction is on disk when it returns, across a
//!   power loss too, not only a crash of the process, because `NORMAL` could lose the last
//!   transactions: an event recorded and acknowledged, or the save that a create went out,
//!   after which the run would be planned afresh under a new key and applied twice. Calls run on
//!   tokio's blocking threads. Several processes may share the file (transactions that lock the
//!   file while they write) and open it at once, a new file too: the switch to write-ahead
//!   logging and the migrations wait for one another as writes do, up to the 10 s busy timeout.
//! - **PostgreSQL** ([`Journal::connect_postgres`], feature `postgres`): for workers on several
//!   machines. Claims lock rows with `FOR UPDATE SKIP LOCKED`, so workers never take the same
//!   event and never wait on one another's rows. Up to 4 connections per journal, made again
//!   after the server restarts; no TLS, so reach a remote server through a private network or a
//!   tunnel.
//!
//! Both hold the same tables (`ecwid_journal_*`, and `ecwid_sales_*` for the
//! sales module, `ecwid_inventory::sales`, so they can live in a database of your own),
//! created and upgraded by numbered migrations when the journal is opened, each once, in a
//! transaction; a database written by a newer release (a higher [`SCHEMA_VERSION`]) is refused
//! with an error naming both schema versions. Errors are [`Error::Journal`], saying which
//! database (never its password), what operation and why (bad input is
//! [`Error::InvalidInput`]). Every time stored comes from the journal's clock
//! ([`JournalBuilder::time_source`], the system clock by default, injectable), never from the database
//! server's.
//!
//! **Which crates, and why**: [rusqlite](https://crates.io/crates/rusqlite) with `bundled`
//! (SQLite compiled in: a fresh machine needs no system SQLite; 7 more crates) and
//! [tokio-postgres](https://crates.io/crates/tokio-postgres) (the plain async driver under most
//! Rust PostgreSQL stacks; 35 more crates). Both are light builds with plain SQL strings: no
//! query macros, no ORM, and no database needed at compile time (sqlx's checked queries want
//! one, or saved query metadata; diesel and sea-orm add a large generic query layer). A user who
//! enables neither feature compiles neither.
//!
//! **Tests** run both backends through the same test code: SQLite in a temporary file, and a
//! real PostgreSQL (`initdb` and `postgres` from `/usr/lib/postgresql/*/bin`) started by each
//! test on a free loopback port with its data and socket in a temporary folder, run as the
//! `postgres` user when the tests run as root, and stopped and removed when the test ends.
//! Without PostgreSQL installed its half of each test is skipped, saying so (with `CI` set it
//! fails instead); `.ci/run` installs it.
//!
//! # Retention
//!
//! Events with a final state (applied, failed, unknown) are kept for the retention
//! ([`DEFAULT_RETENTION`], 30 days, or [`JournalBuilder::retention`]) after their state became
//! final, and removed by [`Journal::purge`] (run it daily) after that. **An event delivered
//! again after its record was purged is a new event**, and is applied again: keep the retention
//! longer than the longest your channels may take to redeliver (Ecwid's own webhooks retry for
//! about a day). Events not yet final are never purged.
//!
//! # Cost
//!
//! `cargo bench --bench journal`: 10,000 events drained into the fake at Ecwid's limit (scaled)
//! take 40 requests, **250 events per request** (one create and one status read per run of
//! 500), 500 times fewer than one [`exactly_once()`](crate::stock::AdjustStock::exactly_once) call per
//! event, and finish 32 to 48 times sooner. The journal's own writes are most of the drain's
//! wall time there (57% on SQLite, 76% on PostgreSQL; the target of under 10% is not met where
//! the fake answers at once), and would be 9% and 17% against Ecwid's real pace. One PostgreSQL
//! on a 2-core machine records and drains about 1,800 events a second. The figures, and how
//! they were taken, are in `benches/README.md`.

mod drain;
mod error;
mod event;
pub(crate) mod group;
mod handle;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
mod run;
mod schema;
pub(crate) mod sqlite;
#[cfg(test)]
mod tests;

use std::{fmt, path::Path, sync::Arc, time::Duration};

pub use drain::{Drain, DrainReport, DrainStop, DEFAULT_LEASE, DEFAULT_POLL_TIMEOUT};
pub(crate) use error::JournalError;
pub use event::{Event, EventRecord, EventState, Recorded, StateCounts, MAX_EVENT_ID_LEN};
pub use group::MAX_GROUP;
pub(crate) use handle::Backend;
pub use handle::Journal;
pub use schema::SCHEMA_VERSION;

use crate::{bulk::MAX_BATCH_SIZE, settings::check_setting, time::TimeSource, Error, StoreId};
use event::{column_id, to_ms, EventRow, NewEvent};
use group::{Arrival, GroupCommit, Stored};

/// What recording is called in errors.
const RECORD: &str = "record an event";
use handle::Inner;
use run::{check_worker, positions, ClaimedRun, Holder, LeaseKey, PlanFn, RunLease};

/// How long final events are kept by default: 30 days.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// The most events [`Journal::failed`] and [`Journal::unknown`] return at once.
pub const MAX_READ: usize = 1000;

/// Calls the same method, with the same arguments, on whichever backend the journal has.
macro_rules! backend {
    ($journal:expr, $backend:ident => $call:expr) => {
        match &$journal.inner.backend {
            Backend::Sqlite($backend) => $call,
            #[cfg(feature = "postgres")]
            Backend::Postgres($backend) => $call,
        }
    };
}

/// Settings of a [`Journal`]: retention and clock. Made by [`Journal::builder`].
#[must_use = "nothing is opened until .open_sqlite() or .connect_postgres()"]
pub struct JournalBuilder {
    retention: Duration,
    clock: TimeSource,
    group: usize,
}

impl fmt::Debug for JournalBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JournalBuilder")
            .field("retention", &self.retention)
            .field("group_commit", &self.group)
            .finish_non_exhaustive()
    }
}

impl JournalBuilder {
    /// How long events with a final state are kept (from when their state became final)
    /// before [`Journal::purge`] removes them; [`DEFAULT_RETENTION`] (30 days) by default. An
    /// event delivered again after that is recorded as a new event.
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// Where every time the journal stores comes from ([`TimeSource::system`] by default):
    /// when events were recorded, leases, retention. For tests that move time; the clock a
    /// client's keys age on ([`ClientBuilder::time_source`](crate::ClientBuilder::time_source))
    /// is the same type, so a journal and its clients can share one.
    pub fn time_source(mut self, time_source: TimeSource) -> Self {
        self.clock = time_source;
        self
    }

    /// The most concurrent [`Journal::record`] calls that share one transaction (1 to
    /// [`MAX_GROUP`], which is the default). With 1, each call is a transaction of its own,
    /// as before group commit: for comparing the two.
    pub fn group_commit(mut self, max_events: usize) -> Self {
        self.group = max_events;
        self
    }

    /// Opens (creating it if missing) the SQLite journal in the file at `path`, and brings its
    /// schema up to date.
    pub async fn open_sqlite(self, path: impl AsRef<Path>) -> Result<Journal, Error> {
        self.check()?;
        let now = self.now()?;
        let backend = sqlite::Sqlite::open(path.as_ref().to_path_buf(), now).await?;
        Ok(self.build(Backend::Sqlite(backend)))
    }

    /// Connects to the PostgreSQL database named by `config`, a URL
    /// (`postgresql://user:password@host:5432/database`) or a `key=value` string
    /// (`host=... user=... password=... dbname=...`), and brings the journal's schema up to
    /// date. Connections are made as needed, up to [`POSTGRES_CONNECTIONS`] at once, and made
    /// again after the server restarts. Without TLS: reach a remote server through a secure
    /// network. The password never appears in `Debug`, errors or logs.
    #[cfg(feature = "postgres")]
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    pub async fn connect_postgres(self, config: &str) -> Result<Journal, Error> {
        self.check()?;
        let now = self.now()?;
        let backend = postgres::Postgres::connect(config, now).await?;
        Ok(self.build(Backend::Postgres(Box::new(backend))))
    }

    fn check(&self) -> Result<(), Error> {
        if self.retention.is_zero() {
            return Err(Error::Config(
                "the journal's retention must not be zero".into(),
            ));
        }
        if self.group == 0 || self.group > MAX_GROUP {
            return Err(Error::Config(format!(
                "the journal's group commit holds 1 to {MAX_GROUP} events, not {}",
                self.group
            )));
        }
        Ok(())
    }

    fn now(&self) -> Result<i64, JournalError> {
        to_ms(self.clock.now(), "the journal's clock reads")
    }

    fn build(self, backend: Backend) -> Journal {
        let committers = match &backend {
            Backend::Sqlite(_) => 1,
            #[cfg(feature = "postgres")]
            Backend::Postgres(_) => postgres::COMMITTERS,
        };
        Journal {
            inner: Arc::new(Inner {
                backend,
                clock: self.clock,
                retention: self.retention,
                group: (self.group > 1).then(|| GroupCommit::new(self.group, committers)),
            }),
        }
    }
}

#[cfg(feature = "postgres")]
#[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
pub use postgres::POSTGRES_CONNECTIONS;

impl fmt::Debug for Journal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Journal")
            .field("database", &self.endpoint())
            .field("retention", &self.inner.retention)
            .finish_non_exhaustive()
    }
}

impl Journal {
    /// Settings other than the defaults: retention, clock.
    pub fn builder() -> JournalBuilder {
        JournalBuilder {
            retention: DEFAULT_RETENTION,
            clock: TimeSource::system(),
            group: MAX_GROUP,
        }
    }

    /// [`Journal::builder`]`().open_sqlite(path)`: the SQLite journal in the file at `path`,
    /// created if missing.
    pub async fn open_sqlite(path: impl AsRef<Path>) -> Result<Journal, Error> {
        Self::builder().open_sqlite(path).await
    }

    /// [`Journal::builder`]`().connect_postgres(config)`: the journal in a PostgreSQL
    /// database (see [`JournalBuilder::connect_postgres`]).
    #[cfg(feature = "postgres")]
    #[cfg_attr(docsrs, doc(cfg(feature = "postgres")))]
    pub async fn connect_postgres(config: &str) -> Result<Journal, Error> {
        Self::builder().connect_postgres(config).await
    }

    /// How long final events are kept.
    pub fn retention(&self) -> Duration {
        self.inner.retention
    }

    /// Now by the journal's clock, in milliseconds since the Unix epoch.
    pub(crate) fn now(&self) -> Result<i64, JournalError> {
        to_ms(self.inner.clock.now(), "the journal's clock reads")
    }

    /// The database, for the modules that keep tables of their own in it (`crate::sales`).
    #[cfg_attr(not(feature = "sales"), allow(dead_code))]
    pub(crate) fn backend(&self) -> &Backend {
        &self.inner.backend
    }

    /// Where the journal is: `sqlite:` and the file, or PostgreSQL's hosts, ports and
    /// database (never a password).
    pub(crate) fn endpoint(&self) -> String {
        backend!(self, b => b.endpoint())
    }

    /// `error`, named with this journal's database and what it was doing.
    fn at(&self, error: JournalError, doing: &'static str) -> JournalError {
        error.at(&self.endpoint(), doing)
    }

    /// Records `event` unless an event with its store and id is already there, and returns the
    /// event as stored: [`Recorded::New`], [`Recorded::Duplicate`] (nothing changed), or
    /// [`Recorded::Conflict`] (the id is known with other content, which is kept). A bad event
    /// (an empty or overlong id, a zero id or delta, a count out of range) fails with
    /// [`Error::InvalidInput`], recording nothing.
    ///
    /// It returns once the event is on disk (the database's commit returned), never before.
    /// Concurrent calls on one journal (and its clones) share that commit: up to
    /// [`MAX_GROUP`] of them are stored in one transaction (see
    /// [`JournalBuilder::group_commit`]), so that one fsync serves them all. The same id twice
    /// among concurrent calls is recorded once, the other call told [`Recorded::Duplicate`]
    /// (or [`Recorded::Conflict`]) as if it had come after.
    ///
    /// One event never fails another's call. A bad event is refused before it joins a group.
    /// When the database refuses a group's transaction (a constraint or trigger of its own, a
    /// value it cannot store), none of it is kept, and the group is tried again in halves down
    /// to single events: the refused event's call fails with [`Error::Journal`], the others
    /// are recorded. When the database cannot be reached, or fails the commit, each call of the
    /// group fails with [`Error::Journal`]: none is told "recorded" for an event that may not
    /// be (recording it again is safe: it is then new, or a duplicate).
    pub async fn record(&self, event: &Event) -> Result<Recorded, Error> {
        let arrival = Arrival {
            event: NewEvent::check(event)?,
            now: self.now()?,
        };
        let stored = match &self.inner.group {
            Some(group) => self.record_in_group(group, arrival.clone()).await?,
            None => {
                let alone = Arc::from([arrival.clone()]);
                let stored = backend!(self, b => b.store(alone, RECORD).await)
                    .map_err(|failed| failed.error)?;
                stored.into_iter().next().expect("one answer per event")
            }
        };
        Ok(self.recorded(&arrival.event, stored)?)
    }

    /// Records `events` in one transaction, as [`record`](Self::record) would one after the
    /// other, and returns what each gave, in their order; the same id twice in `events` is
    /// new the first time (if it was not already recorded) and a duplicate (or conflict) the
    /// second. All of them are on disk when it returns, or none: a failure records none of
    /// them.
    ///
    /// Every event is checked before anything is written: one bad event anywhere (see
    /// [`record`](Self::record)) fails the call with [`Error::InvalidInput`], naming its
    /// position, and records nothing. The transaction holds the database's write lock (SQLite)
    /// while it runs, a few microseconds per event: split very large batches (beyond some
    /// tens of thousands) where other writers must not wait that long.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), ecwid_inventory::Error> {
    /// use std::time::SystemTime;
    /// use ecwid_inventory::journal::{Event, Journal};
    /// use ecwid_inventory::{ProductId, StockChange, StockItem, StoreId};
    ///
    /// # let dir = std::env::temp_dir().join(format!("ecwid-journal-many-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// let journal = Journal::open_sqlite(dir.join("journal.sqlite3")).await?;
    /// let line = |n: u64| {
    ///     Event::new(
    ///         StoreId::new(1003),
    ///         format!("order-5521/line-{n}"),
    ///         StockItem::Product { product: ProductId::new(n) },
    ///         StockChange::Delta(-1),
    ///         SystemTime::now(),
    ///     )
    /// };
    /// let order = [line(1), line(2), line(3)];
    /// let recorded = journal.record_many(&order).await?;
    /// assert!(recorded.iter().all(|r| r.is_new()));
    /// // Delivered again: nothing changes.
    /// assert!(journal.record_many(&order).await?.iter().all(|r| !r.is_new()));
    /// # drop(journal);
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// # Ok(()) }
    /// ```
    pub async fn record_many(&self, events: &[Event]) -> Result<Vec<Recorded>, Error> {
        let now = self.now()?;
        let arrivals: Vec<Arrival> = events
            .iter()
            .enumerate()
            .map(|(n, event)| match NewEvent::check(event) {
                Ok(event) => Ok(Arrival { event, now }),
                Err(JournalError::InvalidInput(why)) => Err(JournalError::InvalidInput(format!(
                    "event {n} of the {} given: {why}",
                    events.len()
                ))),
                Err(other) => Err(other),
            })
            .collect::<Result<_, _>>()?;
        if arrivals.is_empty() {
            return Ok(Vec::new());
        }
        let arrivals: Arc<[Arrival]> = arrivals.into();
        let stored = backend!(self, b => b.store(arrivals.clone(), "record events").await)
            .map_err(|failed| failed.error)?;
        let recorded = arrivals
            .iter()
            .zip(stored)
            .map(|(arrival, stored)| self.recorded(&arrival.event, stored))
            .collect::<Result<_, _>>();
        Ok(recorded?)
    }

    /// Waits for `arrival`'s group to be committed, starting the committer when none runs.
    async fn record_in_group(
        &self,
        group: &Arc<GroupCommit<Arrival, Stored>>,
        arrival: Arrival,
    ) -> Result<Stored, Error> {
        let journal = self.clone();
        let store = move |arrivals: Arc<[Arrival]>| {
            let journal = journal.clone();
            async move { backend!(journal, b => b.store(arrivals, RECORD).await) }
        };
        let answer = group.commit(arrival, store).await.unwrap_or_else(|| {
            Err(JournalError::Database {
                endpoint: self.endpoint(),
                operation: RECORD,
                reason: "the transaction of its group was stopped before it answered (its \
                         runtime shut down); the event may or may not be recorded: record it \
                         again"
                    .into(),
            })
        });
        Ok(answer?)
    }

    /// What storing `new` gave, as [`Recorded`].
    fn recorded(&self, new: &NewEvent, (inserted, row): Stored) -> Result<Recorded, JournalError> {
        let same = row.payload() == new.payload;
        let record = row.decode().map_err(|e| self.at(e, RECORD))?;
        Ok(match (inserted, same) {
            (true, _) => Recorded::New(record),
            (false, true) => Recorded::Duplicate(record),
            (false, false) => Recorded::Conflict(record),
        })
    }

    /// The event `id` of `store`, if it was recorded (and not purged).
    pub async fn event(&self, store: StoreId, id: &str) -> Result<Option<EventRecord>, Error> {
        let store = column_id(store.get(), "store id")?;
        let row = backend!(self, b => b.event(store, id).await)?;
        let record = row.map(EventRow::decode).transpose();
        Ok(record.map_err(|e| self.at(e, "read an event"))?)
    }

    /// Up to `limit` (1 to [`MAX_READ`]) of `store`'s failed events, in the order they were
    /// recorded, starting after the event numbered `after` (an [`EventRecord::sequence`];
    /// `None` for the first).
    pub async fn failed(
        &self,
        store: StoreId,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<EventRecord>, Error> {
        self.in_state(store, "failed", after, limit).await
    }

    /// Up to `limit` (1 to [`MAX_READ`]) of `store`'s events whose outcome is unknown (they
    /// may have been applied: read the stock to reconcile), in the order they were recorded,
    /// starting after the event numbered `after` (`None` for the first).
    pub async fn unknown(
        &self,
        store: StoreId,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<EventRecord>, Error> {
        self.in_state(store, "unknown", after, limit).await
    }

    async fn in_state(
        &self,
        store: StoreId,
        state: &'static str,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<EventRecord>, Error> {
        if limit == 0 || limit > MAX_READ {
            return Err(Error::InvalidInput(format!(
                "the limit must be 1 to {MAX_READ}, not {limit}"
            )));
        }
        let store = column_id(store.get(), "store id")?;
        let after = column_id(after.unwrap_or(0), "sequence")?;
        let rows = backend!(self, b => b.in_state(store, state, after, limit as i64).await)?;
        let records: Result<Vec<_>, _> = rows.into_iter().map(EventRow::decode).collect();
        Ok(records.map_err(|e| self.at(e, "read events"))?)
    }

    /// How many of `store`'s events are in each state.
    pub async fn counts(&self, store: StoreId) -> Result<StateCounts, Error> {
        let store = column_id(store.get(), "store id")?;
        let mut counts = StateCounts::default();
        for (state, count) in backend!(self, b => b.counts(store).await)? {
            counts
                .add(&state, count)
                .map_err(|e| self.at(e, "count events"))?;
        }
        Ok(counts)
    }

    /// Removes events whose state became final longer ago than the retention, and runs closed
    /// longer ago than that which hold no event any more; returns how many events it removed.
    /// An event removed here and delivered again is recorded as new. Run it now and then (once
    /// a day is plenty).
    pub async fn purge(&self) -> Result<u64, Error> {
        let now = self.now()?;
        let retention = i64::try_from(self.inner.retention.as_millis()).unwrap_or(i64::MAX);
        let cutoff = now.saturating_sub(retention);
        Ok(backend!(self, b => b.purge(cutoff).await)?)
    }
}

// -------------------------------------------------------------------------------------------
// Runs: what the drain builds on.

impl Journal {
    /// A new holder for a run of `store`: `worker`, with a fresh lease id, until `lease` from
    /// now.
    fn holder(
        &self,
        store: StoreId,
        worker: &str,
        lease: Duration,
    ) -> Result<Holder, JournalError> {
        check_worker(worker)?;
        let store_id = column_id(store.get(), "store id")?;
        if store_id == 0 {
            return Err(JournalError::InvalidInput(
                "the store id must not be zero".into(),
            ));
        }
        let (now_ms, lease_until_ms) = self.lease_from_now(lease)?;
        Ok(Holder {
            store_id,
            worker: worker.to_owned(),
            lease_id: uuid::Uuid::new_v4().to_string(),
            lease_until_ms,
            now_ms,
        })
    }

    /// Now, and `lease` from now, by the journal's clock.
    fn lease_from_now(&self, lease: Duration) -> Result<(i64, i64), JournalError> {
        check_setting("lease", lease, false).map_err(JournalError::InvalidInput)?;
        let now = self.now()?;
        Ok((now, now + lease.as_millis() as i64))
    }

    fn lease(holder: Holder, run_id: String, store: StoreId) -> RunLease {
        RunLease {
            run_id,
            lease_id: holder.lease_id,
            store,
            worker: holder.worker,
            until: event::from_ms(holder.lease_until_ms),
        }
    }

    /// Takes up to `max` (1 to 500) of `store`'s events that belong to no run, oldest first
    /// (by when they occurred, then by when they were recorded), into a new run held by
    /// `worker` for `lease`, with the document `plan` makes from them. `None` when no event
    /// waits. Concurrent claimers never take the same event.
    pub(crate) async fn claim(
        &self,
        store: StoreId,
        worker: &str,
        max: usize,
        lease: Duration,
        plan: PlanFn,
    ) -> Result<Option<ClaimedRun>, JournalError> {
        if max == 0 || max > MAX_BATCH_SIZE {
            return Err(JournalError::InvalidInput(format!(
                "a run holds 1 to {MAX_BATCH_SIZE} events, not {max}"
            )));
        }
        let holder = self.holder(store, worker, lease)?;
        let run_id = uuid::Uuid::new_v4().to_string();
        let claimed = backend!(self, b => b.claim(&holder, &run_id, max as i64, plan).await)?;
        Ok(claimed.map(|(document, events)| ClaimedRun {
            lease: Self::lease(holder, run_id, store),
            document,
            events,
        }))
    }

    /// Takes over one of `store`'s open runs whose lease has expired (its worker died, or
    /// stalled), for `worker` and `lease`, with its last saved document. `None` when there is
    /// none.
    pub(crate) async fn take_over(
        &self,
        store: StoreId,
        worker: &str,
        lease: Duration,
    ) -> Result<Option<ClaimedRun>, JournalError> {
        let holder = self.holder(store, worker, lease)?;
        let taken = backend!(self, b => b.take_over(&holder).await)?;
        Ok(taken.map(|(run_id, document, events)| ClaimedRun {
            lease: Self::lease(holder, run_id, store),
            document,
            events,
        }))
    }

    /// Saves the run's document and the states of some of its events (by position in the run),
    /// and extends its lease to `lease` from now, in one transaction; fails with
    /// [`JournalError::LeaseLost`], writing nothing, when another worker holds it now.
    pub(crate) async fn save_run(
        &self,
        run: &mut RunLease,
        document: &serde_json::Value,
        states: &[(usize, EventState)],
        lease: Duration,
    ) -> Result<(), JournalError> {
        let (now, until) = self.lease_from_now(lease)?;
        let states = positions(states)?;
        let document = document.to_string();
        let key = LeaseKey {
            run_id: &run.run_id,
            lease_id: &run.lease_id,
        };
        backend!(self, b => b.save(key, &document, &states, until, now).await)?;
        run.until = event::from_ms(until);
        Ok(())
    }

    /// Writes each event's final state (`outcomes`, one per event in the run's order) and
    /// closes the run, in one transaction: all of it, or nothing (a lost lease, an outcome that
    /// is not final, a count that does not match).
    pub(crate) async fn finish_run(
        &self,
        run: &RunLease,
        outcomes: &[EventState],
    ) -> Result<(), JournalError> {
        if let Some((n, state)) = outcomes.iter().enumerate().find(|(_, s)| !s.is_final()) {
            return Err(JournalError::InvalidInput(format!(
                "outcome {n} is {}, not a final state",
                state.name()
            )));
        }
        let outcomes: Vec<_> = outcomes.iter().map(EventState::encode).collect();
        let key = LeaseKey {
            run_id: &run.run_id,
            lease_id: &run.lease_id,
        };
        let now = self.now()?;
        backend!(self, b => b.finish(key, &outcomes, now).await)
    }

    /// Ends the run's lease now, with `document` saved: the run stays open, for the next
    /// drain (this worker's or another's) to take over at once and resume. For a run whose
    /// outcome is not known yet.
    pub(crate) async fn let_go(
        &self,
        run: &RunLease,
        document: &serde_json::Value,
    ) -> Result<(), JournalError> {
        let now = self.now()?;
        let key = LeaseKey {
            run_id: &run.run_id,
            lease_id: &run.lease_id,
        };
        let document = document.to_string();
        backend!(self, b => b.save(key, &document, &Vec::new(), now, now).await)
    }

    /// Keeps the run's first `keep` events and puts the others back to recorded, out of any
    /// run, with `document` (the run's plan of the events it keeps) saved, in one
    /// transaction: for a run of which nothing can have been sent, taken over by a drain with
    /// room for fewer events. The events put back are claimed again first, being the oldest.
    pub(crate) async fn shorten_run(
        &self,
        run: &RunLease,
        keep: usize,
        document: &serde_json::Value,
    ) -> Result<(), JournalError> {
        if keep == 0 {
            return Err(JournalError::InvalidInput(
                "a run keeps at least one event".into(),
            ));
        }
        let key = LeaseKey {
            run_id: &run.run_id,
            lease_id: &run.lease_id,
        };
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        let document = document.to_string();
        let now = self.now()?;
        backend!(self, b => b.shorten(key, keep, &document, now).await)
    }

    /// Puts the run's events back to recorded, out of any run, and closes it: for a run of
    /// which nothing can have been sent. They are claimed again first, being the oldest.
    pub(crate) async fn release_run(&self, run: &RunLease) -> Result<(), JournalError> {
        let key = LeaseKey {
            run_id: &run.run_id,
            lease_id: &run.lease_id,
        };
        let now = self.now()?;
        backend!(self, b => b.release(key, now).await)
    }
}
