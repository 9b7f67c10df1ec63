//! The PostgreSQL backend (feature `postgres`): a few connections made as needed and made again
//! after the server went away, for workers on several machines.
//!
//! Claims and take-overs lock the rows they take with `FOR UPDATE SKIP LOCKED`: two workers
//! never take the same event or run, and neither waits on the other's rows. Migrations run
//! under a transaction-scoped advisory lock, so journals opened at the same moment apply each
//! migration once.

use std::{
    collections::HashMap,
    future::{poll_fn, Future},
    pin::pin,
    str::FromStr,
    sync::{Arc, Mutex},
    task::Poll,
    time::Duration,
};

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio_postgres::{
    config::Host,
    types::{ToSql, Type},
    Client, Config, NoTls, Row, Statement, Transaction,
};

use super::{
    error::{database, JournalError},
    event::{EventRecord, EventRow, EVENT_COLUMNS},
    group::{self, Arrival, GroupFailed, Stored},
    run::{plan_claim, state_ranges, Holder, LeaseKey, PlanFn, PositionedStates},
    schema::{self, MIGRATIONS},
    EventState,
};

/// The most connections one [`Journal`](super::Journal) (and its clones) opens to PostgreSQL;
/// more calls at once wait for one of them.
pub const POSTGRES_CONNECTIONS: usize = 4;

/// How many groups of concurrent records one journal commits at once, each on a connection of
/// its own: while one waits for the disk, the next is sent. The other connections stay free
/// for drains and reads.
pub(super) const COMMITTERS: usize = 2;

/// How long a connection attempt may take when the configuration does not say.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The advisory lock taken while migrating ("ecwidjnl" in ASCII).
const MIGRATION_LOCK: i64 = 0x6563_7769_646a_6e6c;

pub(crate) struct Postgres {
    config: Config,
    endpoint: String,
    password: Option<SecretString>,
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
}

/// A connection, with the statement that records events once it has been prepared on it.
pub(crate) struct Connection {
    client: Client,
    /// [`INSERT_EVENTS`], parsed and planned by the server once for the connection's life
    /// rather than for every group (its planning took longer than storing a group of 30).
    insert_events: Option<Statement>,
}

/// A failure during an operation: PostgreSQL's own, or the journal's.
pub(crate) enum Failure {
    Postgres(tokio_postgres::Error),
    Journal(JournalError),
}

impl From<tokio_postgres::Error> for Failure {
    fn from(error: tokio_postgres::Error) -> Self {
        Failure::Postgres(error)
    }
}

impl From<JournalError> for Failure {
    fn from(error: JournalError) -> Self {
        Failure::Journal(error)
    }
}

/// A connection taken from the pool; back to it when dropped, unless it is closed.
pub(crate) struct Pooled<'a> {
    connection: Option<Connection>,
    pool: &'a Postgres,
    _permit: SemaphorePermit<'a>,
}

impl Pooled<'_> {
    pub(crate) fn client(&mut self) -> &mut Client {
        &mut self.connection.as_mut().expect("held until dropped").client
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take().filter(|c| !c.client.is_closed()) {
            self.pool
                .idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(connection);
        }
    }
}

fn event_row(row: &Row) -> Result<EventRow, tokio_postgres::Error> {
    Ok(EventRow {
        seq: row.try_get(0)?,
        store_id: row.try_get(1)?,
        event_id: row.try_get(2)?,
        product_id: row.try_get(3)?,
        combination_id: row.try_get(4)?,
        change_kind: row.try_get(5)?,
        change_value: row.try_get(6)?,
        check_low_stock: row.try_get(7)?,
        occurred_at_ms: row.try_get(8)?,
        recorded_at_ms: row.try_get(9)?,
        state_detail: row.try_get(10)?,
        state_changed_at_ms: row.try_get(11)?,
    })
}

fn event_rows(rows: &[Row]) -> Result<Vec<EventRow>, Failure> {
    Ok(rows.iter().map(event_row).collect::<Result<_, _>>()?)
}

fn decode_all(rows: Vec<EventRow>) -> Result<Vec<EventRecord>, Failure> {
    Ok(rows
        .into_iter()
        .map(EventRow::decode)
        .collect::<Result<_, _>>()?)
}

fn lease_lost(key: LeaseKey<'_>) -> Failure {
    Failure::Journal(JournalError::lease_lost(key.run_id))
}

/// Updates the states of a run's events by position, in one statement that takes each range
/// of positions with the same state once; each position must name one event.
async fn set_states(
    client: &Transaction<'_>,
    run_id: &str,
    states: &PositionedStates,
    now: i64,
) -> Result<(), Failure> {
    let ranges = state_ranges(states);
    let firsts: Vec<i32> = ranges.iter().map(|r| r.first as i32).collect();
    let lasts: Vec<i32> = ranges.iter().map(|r| r.last as i32).collect();
    let names: Vec<&str> = ranges.iter().map(|r| r.state).collect();
    let details: Vec<&str> = ranges.iter().map(|r| r.detail).collect();
    let updated = client
        .execute(
            "UPDATE ecwid_journal_events e
             SET state = u.state, state_detail = u.detail, state_changed_at_ms = $2
             FROM unnest($3::int[], $4::int[], $5::text[], $6::text[])
                  AS u(first, last, state, detail)
             WHERE e.run_id = $1 AND e.run_position BETWEEN u.first AND u.last",
            &[&run_id, &now, &firsts, &lasts, &names, &details],
        )
        .await?;
    if updated != states.len() as u64 {
        return Err(JournalError::InvalidInput(format!(
            "run {run_id} has no event at some of the positions {:?}",
            states.iter().map(|(p, _, _)| *p).collect::<Vec<_>>()
        ))
        .into());
    }
    Ok(())
}

/// Closes an open run held under `key`; a run held by someone else is a lost lease.
async fn close_run(
    client: &Transaction<'_>,
    key: LeaseKey<'_>,
    closed_as: &str,
    now: i64,
) -> Result<(), Failure> {
    let closed = client
        .execute(
            "UPDATE ecwid_journal_runs SET closed_at_ms = $1, closed_as = $2, saved_at_ms = $1
             WHERE run_id = $3 AND lease_id = $4 AND closed_at_ms IS NULL",
            &[&now, &closed_as, &key.run_id, &key.lease_id],
        )
        .await?;
    if closed != 1 {
        return Err(lease_lost(key));
    }
    Ok(())
}

/// Inserts a group of events, given as one array per column in arrival order, each unless its
/// store and id are there already, and returns the number, store and id of each it inserted.
///
/// Their numbers (`seq`) are taken in arrival order (the journal numbers events in the order
/// they were recorded, and the drain applies events of the same millisecond in that order):
/// `nextval` in the output of a sorted query is evaluated in the sort's order. The rows are
/// then inserted in the order of their store and id: two processes inserting overlapping ids
/// in one transaction each then wait for one another in one order, never in a circle (a
/// deadlock, which PostgreSQL would break by failing one of them).
const INSERT_EVENTS: &str = "
    WITH arrived AS MATERIALIZED (
        SELECT nextval((SELECT pg_get_serial_sequence('ecwid_journal_events', 'seq'))::regclass)
                   AS seq,
               u.*
        FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::text[],
                    $6::bigint[], $7::boolean[], $8::bigint[], $9::bigint[])
             WITH ORDINALITY AS u(store_id, event_id, product_id, combination_id, kind, value,
                                  flag, occurred, recorded, n)
        ORDER BY u.n
    )
    INSERT INTO ecwid_journal_events (seq, store_id, event_id, product_id, combination_id,
        change_kind, change_value, check_low_stock, occurred_at_ms, recorded_at_ms, state,
        state_detail, state_changed_at_ms)
    OVERRIDING SYSTEM VALUE
    SELECT seq, store_id, event_id, product_id, combination_id, kind, value, flag, occurred,
           recorded, $10, $11, recorded
    FROM arrived ORDER BY store_id, event_id
    ON CONFLICT (store_id, event_id) DO NOTHING
    RETURNING seq, store_id, event_id";

/// The types of [`INSERT_EVENTS`]'s parameters.
const INSERT_EVENTS_TYPES: [Type; 11] = [
    Type::INT8_ARRAY,
    Type::TEXT_ARRAY,
    Type::INT8_ARRAY,
    Type::INT8_ARRAY,
    Type::TEXT_ARRAY,
    Type::INT8_ARRAY,
    Type::BOOL_ARRAY,
    Type::INT8_ARRAY,
    Type::INT8_ARRAY,
    Type::TEXT,
    Type::TEXT,
];

/// Inserts `arrivals` in one transaction, sent with its `BEGIN` and `COMMIT` at once (one
/// round trip, and the commit's wait for the disk), through the connection's prepared
/// [`INSERT_EVENTS`], and answers each with its row as stored. Those whose store and id were
/// there already are read after the commit (nothing is read when every event is new, as
/// nearly all are).
async fn store(connection: &mut Connection, arrivals: &[Arrival]) -> Result<Vec<Stored>, Failure> {
    let insert_events = match &connection.insert_events {
        Some(statement) => statement.clone(),
        None => {
            let statement = (connection.client)
                .prepare_typed(INSERT_EVENTS, &INSERT_EVENTS_TYPES)
                .await?;
            connection.insert_events = Some(statement.clone());
            statement
        }
    };
    let client = &connection.client;
    let firsts = group::firsts(arrivals);
    let unique: Vec<&Arrival> = arrivals
        .iter()
        .enumerate()
        .filter(|(n, _)| firsts[*n] == *n)
        .map(|(_, arrival)| arrival)
        .collect();
    let stores: Vec<i64> = unique.iter().map(|a| a.event.store_id).collect();
    let ids: Vec<&str> = unique.iter().map(|a| a.event.event_id.as_str()).collect();
    let payloads = || unique.iter().map(|a| &a.event.payload);
    let products: Vec<i64> = payloads().map(|p| p.product_id).collect();
    let combinations: Vec<Option<i64>> = payloads().map(|p| p.combination_id).collect();
    let kinds: Vec<&str> = payloads().map(|p| p.change_kind.as_str()).collect();
    let values: Vec<Option<i64>> = payloads().map(|p| p.change_value).collect();
    let flags: Vec<Option<bool>> = payloads().map(|p| p.check_low_stock).collect();
    let occurred: Vec<i64> = payloads().map(|p| p.occurred_at_ms).collect();
    let recorded: Vec<i64> = unique.iter().map(|a| a.now).collect();
    let (state, detail) = EventState::Recorded.encode();
    let params: [&(dyn ToSql + Sync); 11] = [
        &stores,
        &ids,
        &products,
        &combinations,
        &kinds,
        &values,
        &flags,
        &occurred,
        &recorded,
        &state,
        &detail,
    ];
    let insert = client.query(&insert_events, &params);
    let (begun, inserted, committed) = in_order(
        client.batch_execute("BEGIN"),
        insert,
        client.batch_execute("COMMIT"),
    )
    .await;
    begun?;
    let rows = inserted?;
    committed?;
    let mut seqs: HashMap<(i64, &str), i64> = HashMap::with_capacity(rows.len());
    for row in &rows {
        seqs.insert((row.try_get(1)?, row.try_get(2)?), row.try_get(0)?);
    }
    // Those already there (recorded before, or by another process meanwhile), read now that
    // the insert has seen them committed.
    let mut there: HashMap<(i64, String), EventRow> = HashMap::new();
    if seqs.len() < unique.len() {
        let (stores, ids): (Vec<i64>, Vec<&str>) = stores
            .iter()
            .zip(&ids)
            .filter(|(store, id)| !seqs.contains_key(&(**store, **id)))
            .map(|(store, id)| (*store, *id))
            .unzip();
        let rows = client
            .query_typed(
                &format!(
                    "SELECT {EVENT_COLUMNS} FROM ecwid_journal_events
                     WHERE (store_id, event_id) IN
                           (SELECT * FROM unnest($1::bigint[], $2::text[]))"
                ),
                &[(&stores, Type::INT8_ARRAY), (&ids, Type::TEXT_ARRAY)],
            )
            .await?;
        for row in event_rows(&rows)? {
            there.insert((row.store_id, row.event_id.clone()), row);
        }
    }
    let mut stored = Vec::with_capacity(arrivals.len());
    for (n, arrival) in arrivals.iter().enumerate() {
        if firsts[n] != n {
            stored.push(None);
            continue;
        }
        let (store_id, event_id) = (arrival.event.store_id, arrival.event.event_id.as_str());
        let answer = match seqs.get(&(store_id, event_id)) {
            Some(seq) => (true, arrival.row(*seq)),
            None => match there.remove(&(store_id, event_id.to_owned())) {
                Some(row) => (false, row),
                // Purged between the insert and the read: record it again to record it anew.
                None => {
                    return Err(JournalError::Corrupt(format!(
                        "event {event_id:?} of store {store_id} was neither inserted nor \
                         found; record it again"
                    ))
                    .into())
                }
            },
        };
        stored.push(Some(answer));
    }
    Ok(group::answers(&firsts, stored))
}

/// Awaits three requests sent at once, in this order: tokio-postgres sends each when it is
/// first polled, and the server answers them in turn.
async fn in_order<A: Future, B: Future, C: Future>(
    a: A,
    b: B,
    c: C,
) -> (A::Output, B::Output, C::Output) {
    let (mut a, mut b, mut c) = (pin!(a), pin!(b), pin!(c));
    let (mut ra, mut rb, mut rc) = (None, None, None);
    poll_fn(|cx| {
        if ra.is_none() {
            ra = ready(a.as_mut().poll(cx));
        }
        if rb.is_none() {
            rb = ready(b.as_mut().poll(cx));
        }
        if rc.is_none() {
            rc = ready(c.as_mut().poll(cx));
        }
        match (ra.take(), rb.take(), rc.take()) {
            (Some(a), Some(b), Some(c)) => Poll::Ready((a, b, c)),
            (a, b, c) => {
                (ra, rb, rc) = (a, b, c);
                Poll::Pending
            }
        }
    })
    .await
}

fn ready<T>(poll: Poll<T>) -> Option<T> {
    match poll {
        Poll::Ready(value) => Some(value),
        Poll::Pending => None,
    }
}

/// `postgres://host:port/database`: where the journal is, without user or password.
fn endpoint(config: &Config) -> String {
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(n, host)| {
            let port = ports.get(n).or(ports.first()).copied().unwrap_or(5432);
            match host {
                Host::Tcp(name) => format!("{name}:{port}"),
                #[cfg(unix)]
                Host::Unix(dir) => format!("{}:{port}", dir.display()),
            }
        })
        .collect();
    format!(
        "postgres://{}/{}",
        hosts.join(","),
        config.get_dbname().unwrap_or("")
    )
}

impl Postgres {
    pub(super) async fn connect(text: &str, now: i64) -> Result<Self, JournalError> {
        // tokio-postgres's parse errors name options, never their values.
        let mut config = Config::from_str(text).map_err(|e| {
            JournalError::InvalidInput(format!(
                "the PostgreSQL connection string cannot be read: {e}{}",
                std::error::Error::source(&e)
                    .map(|cause| format!(": {cause}"))
                    .unwrap_or_default()
            ))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("ecwid-inventory journal");
        }
        let password = config
            .get_password()
            .map(|p| SecretString::from(String::from_utf8_lossy(p).into_owned()));
        let postgres = Postgres {
            endpoint: endpoint(&config),
            config,
            password,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(POSTGRES_CONNECTIONS),
        };
        postgres.migrate(now).await?;
        Ok(postgres)
    }

    pub(super) fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    pub(crate) fn error(&self, operation: &'static str, failure: Failure) -> JournalError {
        match failure {
            Failure::Postgres(e) => database(
                &self.endpoint,
                operation,
                &e,
                self.password.as_ref().map(|p| p.expose_secret()),
            ),
            Failure::Journal(e) => e.at(&self.endpoint, operation),
        }
    }

    /// As [`error`](Self::error), saying too whether the server refused the statement for what
    /// it was given (see [`GroupFailed`]): any error of its own but those of a lost connection
    /// (08), of missing resources (53), of the server stopping (57), of the system (58) or
    /// internal ones (XX).
    pub(crate) fn failed(&self, operation: &'static str, failure: Failure) -> GroupFailed {
        let refused = match &failure {
            Failure::Postgres(e) => e.as_db_error().is_some_and(|db| {
                let class = db.code().code().get(..2).unwrap_or_default();
                !matches!(class, "08" | "53" | "57" | "58" | "XX")
            }),
            Failure::Journal(_) => false,
        };
        GroupFailed {
            error: self.error(operation, failure),
            refused,
        }
    }

    /// An idle connection, or a new one (for the journal's calls, and the sales module's, which
    /// shares the pool).
    pub(crate) async fn connection(
        &self,
        operation: &'static str,
    ) -> Result<Pooled<'_>, JournalError> {
        let permit = self.permits.acquire().await.expect("never closed");
        let idle = {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            idle.retain(|connection| !connection.client.is_closed());
            idle.pop()
        };
        let connection = match idle {
            Some(connection) => connection,
            None => {
                let (client, connection) = self
                    .config
                    .connect(NoTls)
                    .await
                    .map_err(|e| self.error(operation, e.into()))?;
                tokio::spawn(async move {
                    // Ends when the client is dropped or the server goes away; the client then
                    // reports itself closed and is not used again.
                    let _ = connection.await;
                });
                Connection {
                    client,
                    insert_events: None,
                }
            }
        };
        Ok(Pooled {
            connection: Some(connection),
            pool: self,
            _permit: permit,
        })
    }

    /// Applies the migrations this database lacks, each in its own transaction, under an
    /// advisory lock that journals opening at the same moment queue for.
    async fn migrate(&self, now: i64) -> Result<(), JournalError> {
        const OPERATION: &str = "bring its schema up to date";
        let mut pooled = self.connection(OPERATION).await?;
        let client = pooled.client();
        let result: Result<(), Failure> = async {
            for _ in 0..=MIGRATIONS.len() {
                let tx = client.transaction().await?;
                tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                    .await?;
                tx.batch_execute(schema::MIGRATIONS_TABLE).await?;
                let current: i64 = tx
                    .query_one(
                        "SELECT COALESCE(MAX(version), 0)::BIGINT FROM ecwid_journal_migrations",
                        &[],
                    )
                    .await?
                    .try_get(0)?;
                let Some(migration) = schema::next(current)? else {
                    return Ok(());
                };
                tx.batch_execute(migration.postgres).await?;
                tx.execute(
                    "INSERT INTO ecwid_journal_migrations (version, description, applied_at_ms)
                     VALUES ($1, $2, $3)",
                    &[&(migration.version as i32), &migration.description, &now],
                )
                .await?;
                tx.commit().await?;
            }
            unreachable!("each pass applies one of the migrations, or returns")
        }
        .await;
        result.map_err(|f| self.error(OPERATION, f))
    }

    /// Stores `arrivals` in one transaction: each first of its store and id inserted unless
    /// it is already there, each answered with its row as stored (see [`group::answers`]).
    pub(super) async fn store(
        &self,
        arrivals: Arc<[Arrival]>,
        operation: &'static str,
    ) -> Result<Vec<Stored>, GroupFailed> {
        let mut pooled = self.connection(operation).await?;
        // Out of the pool until the transaction has ended: a call stopped halfway (its task
        // dropped) closes the connection, rather than leave a transaction open in the pool;
        // so does a failure, whatever state it left the connection in.
        let mut connection = pooled.connection.take().expect("held until dropped");
        let stored = store(&mut connection, &arrivals).await;
        if stored.is_ok() {
            pooled.connection = Some(connection);
        }
        stored.map_err(|f| self.failed(operation, f))
    }

    pub(super) async fn event(
        &self,
        store: i64,
        id: &str,
    ) -> Result<Option<EventRow>, JournalError> {
        const OPERATION: &str = "read an event";
        let mut pooled = self.connection(OPERATION).await?;
        let client = pooled.client();
        let result: Result<_, Failure> = async {
            let row = client
                .query_opt(
                    &format!(
                        "SELECT {EVENT_COLUMNS} FROM ecwid_journal_events
                         WHERE store_id = $1 AND event_id = $2"
                    ),
                    &[&store, &id],
                )
                .await?;
            Ok(row.as_ref().map(event_row).transpose()?)
        }
        .await;
        result.map_err(|f| self.error(OPERATION, f))
    }

    pub(super) async fn in_state(
        &self,
        store: i64,
        state: &'static str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<EventRow>, JournalError> {
        const OPERATION: &str = "read events";
        let mut pooled = self.connection(OPERATION).await?;
        let client = pooled.client();
        let result: Result<_, Failure> = async {
            // The state written out, not bound: a plan made for any state could not use the
            // index of failed and unknown events.
            let rows = client
                .query(
                    &format!(
                        "SELECT {EVENT_COLUMNS} FROM ecwid_journal_events
                         WHERE store_id = $1 AND state = '{}' AND seq > $2 ORDER BY seq LIMIT $3",
                        schema::listed_state(state)?
                    ),
                    &[&store, &after, &limit],
                )
                .await?;
            event_rows(&rows)
        }
        .await;
        result.map_err(|f| self.error(OPERATION, f))
    }

    pub(super) async fn counts(&self, store: i64) -> Result<Vec<(String, i64)>, JournalError> {
        const OPERATION: &str = "count events";
        let mut pooled = self.connection(OPERATION).await?;
        let client = pooled.client();
        let result: Result<_, Failure> = async {
            let rows = client
                .query(
                    "SELECT state, COUNT(*) FROM ecwid_journal_events WHERE store_id = $1
                     GROUP BY state",
                    &[&store],
                )
                .await?;
            let counts = rows
                .iter()
                .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
                .collect::<Result<_, tokio_postgres::Error>>()?;
            Ok(counts)
        }
        .await;
        result.map_err(|f| self.error(OPERATION, f))
    }

    pub(super) async fn purge(&self, cutoff: i64) -> Result<u64, JournalError> {
        const OPERATION: &str = "purge old events";
        let mut pooled = self.connection(OPERATION).await?;
        let client = pooled.client();
        let result: Result<_, Failure> = async {
            let tx = client.transaction().await?;
            let events = tx
                .execute(
                    "DELETE FROM ecwid_journal_events
                     WHERE state IN ('applied', 'failed', 'unknown') AND state_changed_at_ms < $1
                       AND (run_id IS NULL OR run_id IN
                            (SELECT run_id FROM ecwid_journal_runs WHERE closed_at_ms IS NOT NULL))",
                    &[&cutoff],
                )
                .await?;
            tx.execute(
                "DELETE FROM ecwid_journal_runs r
                 WHERE closed_at_ms < $1 AND NOT EXISTS
                       (SELECT 1 FROM ecwid_journal_events e WHERE e.run_id = r.run_id)",
                &[&cutoff],
            )
            .await?;
            tx.commit().await?;
            Ok(events)
        }
        .await;
        result.map_err(|f| self.error(OPERATION, f))
    }

    pub(super) async fn claim(
        &self,
        holder: &Holder,
        run_id: &str,
        max: i64,
        plan: PlanFn,
    ) -> Result<Option<(serde_json::Value, Vec<EventRecord>)>, JournalError> {
        const OPERATION: &str = "claim events";
        let mut pooled = self.connection(OPERATION).await?;
        let client = pooled.client();
        let result: Result<_, Failure> = async {
            let tx = client.transaction().await?;
            // Rows another claimer holds are skipped, not waited for: it is taking them.
            let rows = tx
                .query(
                    &format!(
                        "SELECT {EVENT_COLUMNS} FROM ecwid_journal_events
                         WHERE store_id = $1 AND run_id IS NULL
                         ORDER BY occurred_at_ms, seq LIMIT $2
                         FOR UPDATE SKIP LOCKED"
                    ),
                    &[&holder.store_id, &max],
                )
                .await?;
            if rows.is_empty() {
                return Ok(None);
            }
            let rows = event_rows(&rows)?;
            let seqs: Vec<i64> = rows.iter().map(|row| row.seq).collect();
            let (document, events, states) = plan_claim(plan, decode_all(rows)?, holder.now_ms)?;
            let names: Vec<Option<&str>> = states.iter().map(|s| s.as_ref().map(|s| s.0)).collect();
            let details: Vec<Option<&str>> = states
                .iter()
                .map(|s| s.as_ref().map(|s| s.1.as_str()))
                .collect();
            tx.execute(
                "INSERT INTO ecwid_journal_runs (run_id, store_id, worker, lease_id,
                     lease_until_ms, document, created_at_ms, saved_at_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                &[
                    &run_id,
                    &holder.store_id,
                    &holder.worker,
                    &holder.lease_id,
                    &holder.lease_until_ms,
                    &document.to_string(),
                    &holder.now_ms,
                ],
            )
            .await?;
            tx.execute(
                "UPDATE ecwid_journal_events e
                 SET run_id = $1, run_position = (u.n - 1)::int,
                     state = COALESCE(u.state, e.state),
                     state_detail = COALESCE(u.detail, e.state_detail),
                     state_changed_at_ms =
                         CASE WHEN u.state IS NULL THEN e.state_changed_at_ms ELSE $5 END
                 FROM unnest($2::bigint[], $3::text[], $4::text[]) WITH ORDINALITY
                      AS u(seq, state, detail, n)
                 WHERE e.seq = u.seq",
                &[&run_id, &seqs, &names, &details, &holder.now_ms],
            )
            .await?;
            tx.commit().await?;
            Ok(Some((document, events)))
        }
        .await;
        result.map_err(|f| self.error(OPERATION, f))
    }

    pub(super) async fn take_over(
        &self,
        holder: &Holder,
    ) -> Result<Option<(String, serde_json::Value, Vec<EventRecord>)>, JournalError> {
        const OPERATION: &str = "take over a run";
        let mut pooled = self.connection(OPERATION).await?;
        let client = pooled.client();
        let result: Result<_, Failure> = async {
            let tx = client.transaction().await?;
            let expired = tx
                .query_opt(
                    "SELECT run_id, document FROM ecwid_journal_runs
                     WHERE store_id = $1 AND closed_at_ms IS NULL AND lease_until_ms <= $2
                     ORDER BY lease_until_ms, run_id LIMIT 1
                     FOR UPDATE SKIP LOCKED",
                    &[&holder.store_id, &holder.now_ms],
                )
                .await?;
            let Some(expired) = expired else {
                return Ok(None);
            };
            let run_id: String = expired.try_get(0)?;
            let saved: String = expired.try_get(1)?;
            tx.execute(
                "UPDATE ecwid_journal_runs SET worker = $1, lease_id = $2, lease_until_ms = $3
                 WHERE run_id = $4",
                &[
                    &holder.worker,
                    &holder.lease_id,
                    &holder.lease_until_ms,
                    &run_id,
                ],
            )
            .await?;
            let rows = tx
                .query(
                    &format!(
                        "SELECT {EVENT_COLUMNS} FROM ecwid_journal_events
                         WHERE run_id = $1 ORDER BY run_position"
                    ),
                    &[&run_id],
                )
                .await?;
            let events = decode_all(event_rows(&rows)?)?;
            let document = serde_json::from_str(&saved).map_err(|e| {
                JournalError::Corrupt(format!("run {run_id}'s document is not JSON: {e}"))
            })?;
            tx.commit().await?;
            Ok(Some((run_id, document, events)))
        }
        .await;
        result.map_err(|f| self.error(OPERATION, f))
    }

    pub(super) async fn save(
        &self,
        key: LeaseKey<'_>,
        document: &str,
        states: &PositionedStates,
        lease_until: i64,
        now: i64,
    ) -> Result<(), JournalError> {
        const OPERATION: &str = "save a run";
        let mut pooled = self.connection(OPERATION).await?;
        let client = pooled.client();
        let result: Result<_, Failure> = async {
            let tx = client.transaction().await?;
            let saved = tx
                .execute(
                    "UPDATE ecwid_journal_runs
                     SET document = $1, lease_until_ms = $2, saved_at_ms = $3
                     WHERE run_id = $4 AND lease_id = $5 AND closed_at_ms IS NULL",
                    &[&document, &lease_until, &now, &key.run_id, &key.lease_id],
                )
                .await?;
            if saved != 1 {
                return Err(lease_lost(key));
            }
            if !states.is_empty() {
                set_states(&tx, key.run_id, states, now).await?;
            }
            tx.commit().await?;
            Ok(())
        }
        .await;
        result.map_err(|f| self.error(OPERATION, f))
    }

    pub(super) async fn finish(
        &self,
        key: LeaseKey<'_>,
        outcomes: &[(&'static str, String)],
        now: i64,
    ) -> Result<(), JournalError> {
        const OPERATION: &str = "finish a run";
        let states: PositionedStates = outcomes
            .iter()
            .enumerate()
            .map(|(position, (state, detail))| (position as i64, *state, detail.clone()))
            .collect();
        let mut pooled = self.connection(OPERATION).await?;
        let client = pooled.client();
        let result: Result<_, Failure> = async {
            let tx = client.transaction().await?;
            let held: i64 = tx
                .query_one(
                    "SELECT COUNT(*) FROM ecwid_journal_events WHERE run_id = $1",
                    &[&key.run_id],
                )
                .await?
                .try_get(0)?;
            if held != states.len() as i64 {
                return Err(JournalError::InvalidInput(format!(
                    "run {} holds {held} events, not {}",
                    key.run_id,
                    states.len()
                ))
                .into());
            }
            // The outcomes first, then the run's close, which checks the lease: a lost lease
            // rolls the outcomes back with it.
            set_states(&tx, key.run_id, &states, now).await?;
            close_run(&tx, key, "finished", now).await?;
            tx.commit().await?;
            Ok(())
        }
        .await;
        result.map_err(|f| self.error(OPERATION, f))
    }

    pub(super) async fn shorten(
        &self,
        key: LeaseKey<'_>,
        keep: i64,
        document: &str,
        now: i64,
    ) -> Result<(), JournalError> {
        const OPERATION: &str = "shorten a run";
        let mut pooled = self.connection(OPERATION).await?;
        let client = pooled.client();
        let result: Result<_, Failure> = async {
            let tx = client.transaction().await?;
            let saved = tx
                .execute(
                    "UPDATE ecwid_journal_runs SET document = $1, saved_at_ms = $2
                     WHERE run_id = $3 AND lease_id = $4 AND closed_at_ms IS NULL",
                    &[&document, &now, &key.run_id, &key.lease_id],
                )
                .await?;
            if saved != 1 {
                return Err(lease_lost(key));
            }
            let (state, detail) = EventState::Recorded.encode();
            tx.execute(
                "UPDATE ecwid_journal_events SET run_id = NULL, run_position = NULL,
                     state = $1, state_detail = $2, state_changed_at_ms = $3
                 WHERE run_id = $4 AND run_position >= $5::bigint",
                &[&state, &detail, &now, &key.run_id, &keep],
            )
            .await?;
            tx.commit().await?;
            Ok(())
        }
        .await;
        result.map_err(|f| self.error(OPERATION, f))
    }

    pub(super) async fn release(&self, key: LeaseKey<'_>, now: i64) -> Result<(), JournalError> {
        const OPERATION: &str = "release a run";
        let mut pooled = self.connection(OPERATION).await?;
        let client = pooled.client();
        let result: Result<_, Failure> = async {
            let tx = client.transaction().await?;
            let (state, detail) = EventState::Recorded.encode();
            tx.execute(
                "UPDATE ecwid_journal_events SET run_id = NULL, run_position = NULL,
                     state = $1, state_detail = $2, state_changed_at_ms = $3
                 WHERE run_id = $4",
                &[&state, &detail, &now, &key.run_id],
            )
            .await?;
            close_run(&tx, key, "released", now).await?;
            tx.commit().await?;
            Ok(())
        }
        .await;
        result.map_err(|f| self.error(OPERATION, f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_names_hosts_ports_and_database_but_no_credentials() {
        let config = Config::from_str("postgresql://shop:hunter2@db.internal:6543/stock").unwrap();
        assert_eq!(endpoint(&config), "postgres://db.internal:6543/stock");
        let config = Config::from_str("host=a,b port=1,2 user=u password=hunter2").unwrap();
        assert_eq!(endpoint(&config), "postgres://a:1,b:2/");
    }
}
