//! The SQLite backend: one connection to a file, used from tokio's blocking threads so that
//! no call blocks the runtime.
//!
//! Write-ahead logging lets readers go on while one writer writes, and transactions that write
//! start `IMMEDIATE` (taking the file's write lock at once), so that several processes sharing
//! the file queue for it (up to [`BUSY_TIMEOUT`]) instead of failing halfway. Opening waits
//! the same way: the switch to write-ahead logging is tried again while another connection
//! holds the file (see [`write_ahead_logging`]), and each migration runs in an `IMMEDIATE`
//! transaction.

use std::{
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use rusqlite::{params, Connection, ErrorCode, OptionalExtension, Row, TransactionBehavior};

use super::{
    error::{database, JournalError},
    event::{EventRecord, EventRow, EVENT_COLUMNS},
    group::{self, Arrival, GroupFailed, Stored},
    run::{plan_claim, state_ranges, Holder, LeaseKey, PlanFn, PositionedStates},
    schema::{self, MIGRATIONS, SQLITE_FINAL},
    EventState,
};

/// How long a statement waits for another process's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) struct Sqlite {
    connection: Arc<Mutex<Connection>>,
    path: String,
}

/// A failure inside a blocking call: SQLite's own, or the journal's.
pub(crate) enum Failure {
    Sqlite(rusqlite::Error),
    Journal(JournalError),
}

impl From<rusqlite::Error> for Failure {
    fn from(error: rusqlite::Error) -> Self {
        Failure::Sqlite(error)
    }
}

impl From<JournalError> for Failure {
    fn from(error: JournalError) -> Self {
        Failure::Journal(error)
    }
}

fn event_row(row: &Row<'_>) -> rusqlite::Result<EventRow> {
    Ok(EventRow {
        seq: row.get(0)?,
        store_id: row.get(1)?,
        event_id: row.get(2)?,
        product_id: row.get(3)?,
        combination_id: row.get(4)?,
        change_kind: row.get(5)?,
        change_value: row.get(6)?,
        check_low_stock: row.get(7)?,
        occurred_at_ms: row.get(8)?,
        recorded_at_ms: row.get(9)?,
        state_detail: row.get(10)?,
        state_changed_at_ms: row.get(11)?,
    })
}

fn decode_all(rows: Vec<EventRow>) -> Result<Vec<EventRecord>, Failure> {
    Ok(rows
        .into_iter()
        .map(EventRow::decode)
        .collect::<Result<_, _>>()?)
}

fn run_events(connection: &Connection, run_id: &str) -> Result<Vec<EventRow>, Failure> {
    let mut statement = connection.prepare_cached(&format!(
        "SELECT {EVENT_COLUMNS} FROM ecwid_journal_events WHERE run_id = ?1 ORDER BY run_position"
    ))?;
    let rows = statement
        .query_map([run_id], event_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

fn document(text: &str) -> Result<serde_json::Value, Failure> {
    serde_json::from_str(text).map_err(|e| {
        Failure::Journal(JournalError::Corrupt(format!(
            "a run's document is not JSON: {e}"
        )))
    })
}

/// Updates the states of a run's events by position, a statement per range of positions
/// that take the same state; each position must name one event.
fn set_states(
    connection: &Connection,
    run_id: &str,
    states: &PositionedStates,
    now: i64,
) -> Result<(), Failure> {
    let mut statement = connection.prepare_cached(
        "UPDATE ecwid_journal_events SET state = ?1, state_detail = ?2, state_changed_at_ms = ?3
         WHERE run_id = ?4 AND run_position BETWEEN ?5 AND ?6",
    )?;
    for range in state_ranges(states) {
        let updated = statement.execute(params![
            range.state,
            range.detail,
            now,
            run_id,
            range.first,
            range.last
        ])?;
        if updated as i64 != range.last - range.first + 1 {
            return Err(JournalError::InvalidInput(format!(
                "run {run_id} has no event at some of the positions {} to {}",
                range.first, range.last
            ))
            .into());
        }
    }
    Ok(())
}

/// Closes an open run held under `key`; a run held by someone else is a lost lease.
fn close_run(
    connection: &Connection,
    key: LeaseKey<'_>,
    closed_as: &str,
    now: i64,
) -> Result<(), Failure> {
    let closed = connection.execute(
        "UPDATE ecwid_journal_runs SET closed_at_ms = ?1, closed_as = ?2, saved_at_ms = ?1
         WHERE run_id = ?3 AND lease_id = ?4 AND closed_at_ms IS NULL",
        params![now, closed_as, key.run_id, key.lease_id],
    )?;
    if closed != 1 {
        return Err(lease_lost(key));
    }
    Ok(())
}

fn lease_lost(key: LeaseKey<'_>) -> Failure {
    Failure::Journal(JournalError::lease_lost(key.run_id))
}

/// Whether SQLite refused a statement for what it was given (a constraint or trigger, a value
/// too big or of the wrong type), rather than failed to do it (busy, I/O, out of space).
fn refused(error: &rusqlite::Error) -> bool {
    match error {
        rusqlite::Error::SqliteFailure(e, _) => matches!(
            e.code,
            ErrorCode::ConstraintViolation | ErrorCode::TooBig | ErrorCode::TypeMismatch
        ),
        rusqlite::Error::ToSqlConversionFailure(_)
        | rusqlite::Error::IntegralValueOutOfRange(..) => true,
        _ => false,
    }
}

/// Inserts `arrivals` inside the caller's transaction, in their order (the journal numbers
/// them so), and answers each with its row as stored.
fn store(connection: &Connection, arrivals: &[Arrival]) -> Result<Vec<Stored>, Failure> {
    let (state, detail) = EventState::Recorded.encode();
    // Without `RETURNING`, which makes SQLite gather the returned rows in a table of their
    // own for each statement: the number of an inserted row is the connection's last rowid.
    let mut insert = connection.prepare_cached(
        "INSERT INTO ecwid_journal_events (store_id, event_id, product_id, combination_id,
             change_kind, change_value, check_low_stock, occurred_at_ms, recorded_at_ms,
             state, state_detail, state_changed_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?9)
         ON CONFLICT (store_id, event_id) DO NOTHING",
    )?;
    let mut read = connection.prepare_cached(&format!(
        "SELECT {EVENT_COLUMNS} FROM ecwid_journal_events WHERE store_id = ?1 AND event_id = ?2"
    ))?;
    let firsts = group::firsts(arrivals);
    let mut stored = Vec::with_capacity(arrivals.len());
    for (n, arrival) in arrivals.iter().enumerate() {
        if firsts[n] != n {
            stored.push(None);
            continue;
        }
        let (new, p) = (&arrival.event, &arrival.event.payload);
        let inserted = insert.execute(params![
            new.store_id,
            new.event_id,
            p.product_id,
            p.combination_id,
            p.change_kind,
            p.change_value,
            p.check_low_stock,
            p.occurred_at_ms,
            arrival.now,
            state,
            detail
        ])? == 1;
        let seq = inserted.then(|| connection.last_insert_rowid());
        stored.push(Some(match seq {
            Some(seq) => (true, arrival.row(seq)),
            None => (
                false,
                read.query_row(params![new.store_id, new.event_id], event_row)?,
            ),
        }));
    }
    Ok(group::answers(&firsts, stored))
}

/// Switches the file to write-ahead logging (a file already in it stays so), waiting for other
/// connections up to [`BUSY_TIMEOUT`], as any write does.
///
/// SQLite does not wait for the busy timeout here: the switch reads the file, then asks for
/// its write lock while still holding the read lock, and rather than risk a deadlock with
/// another connection doing the same it fails at once with `SQLITE_BUSY`. Several processes
/// opening a new file together meet that (while the file is new, each of them must switch
/// it); so the switch is tried again, after a short wait, until it succeeds or the busy
/// timeout has passed. A file that cannot take write-ahead logging keeps its mode, as SQLite
/// answers without an error.
fn write_ahead_logging(connection: &Connection) -> rusqlite::Result<()> {
    let give_up = Instant::now() + BUSY_TIMEOUT;
    let mut wait = Duration::from_millis(1);
    loop {
        let switched = connection
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0));
        match switched {
            Err(rusqlite::Error::SqliteFailure(failure, _))
                if failure.code == ErrorCode::DatabaseBusy && Instant::now() < give_up => {}
            other => return other.map(drop),
        }
        std::thread::sleep(wait.min(give_up.saturating_duration_since(Instant::now())));
        wait = (wait * 2).min(Duration::from_millis(50));
    }
}

impl Sqlite {
    pub(super) async fn open(path: PathBuf, now: i64) -> Result<Self, JournalError> {
        let shown = path.display().to_string();
        let opened = {
            let shown = shown.clone();
            tokio::task::spawn_blocking(move || -> Result<Connection, JournalError> {
                let fail = |e: rusqlite::Error| database(&shown, "open", &e, None);
                let connection = Connection::open(&path).map_err(fail)?;
                connection.busy_timeout(BUSY_TIMEOUT).map_err(fail)?;
                write_ahead_logging(&connection).map_err(fail)?;
                // Durable when the machine stops too, not only the process: a journal entry
                // that vanished could let an event apply twice.
                connection
                    .pragma_update(None, "synchronous", "FULL")
                    .map_err(fail)?;
                connection
                    .pragma_update(None, "foreign_keys", "ON")
                    .map_err(fail)?;
                Ok(connection)
            })
        };
        let opened = opened
            .await
            .map_err(|e| database(&shown, "open", &e, None))??;
        let sqlite = Sqlite {
            connection: Arc::new(Mutex::new(opened)),
            path: shown,
        };
        sqlite.migrate(now).await?;
        Ok(sqlite)
    }

    pub(super) fn endpoint(&self) -> String {
        format!("sqlite:{}", self.path)
    }

    /// Runs `work` on the connection in a blocking thread (the journal's calls, and the sales
    /// module's, which shares the connection).
    pub(crate) async fn call<T: Send + 'static>(
        &self,
        operation: &'static str,
        work: impl FnOnce(&mut Connection) -> Result<T, Failure> + Send + 'static,
    ) -> Result<T, JournalError> {
        self.call_saying(operation, work)
            .await
            .map_err(|failed| failed.error)
    }

    /// As [`call`](Self::call), saying too whether the database refused the work (see
    /// [`GroupFailed`]): for a group's transaction, which is split when refused.
    pub(crate) async fn call_saying<T: Send + 'static>(
        &self,
        operation: &'static str,
        work: impl FnOnce(&mut Connection) -> Result<T, Failure> + Send + 'static,
    ) -> Result<T, GroupFailed> {
        let connection = self.connection.clone();
        let result = tokio::task::spawn_blocking(move || {
            // A panic in an earlier call rolled its transaction back as it unwound: the
            // connection is still sound.
            let mut connection = connection.lock().unwrap_or_else(|e| e.into_inner());
            work(&mut connection)
        })
        .await
        .map_err(|e| database(&self.endpoint(), operation, &e, None))?;
        result.map_err(|failure| match failure {
            Failure::Sqlite(e) => GroupFailed {
                refused: refused(&e),
                error: database(&self.endpoint(), operation, &e, None),
            },
            Failure::Journal(e) => e.at(&self.endpoint(), operation).into(),
        })
    }

    /// Applies the migrations this database lacks, each in its own transaction.
    async fn migrate(&self, now: i64) -> Result<(), JournalError> {
        self.call("bring its schema up to date", move |connection| {
            for _ in 0..=MIGRATIONS.len() {
                let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
                tx.execute_batch(schema::MIGRATIONS_TABLE)?;
                let current: i64 = tx.query_row(
                    "SELECT COALESCE(MAX(version), 0) FROM ecwid_journal_migrations",
                    [],
                    |row| row.get(0),
                )?;
                let Some(migration) = schema::next(current)? else {
                    return Ok(());
                };
                tx.execute_batch(migration.sqlite)?;
                tx.execute(
                    "INSERT INTO ecwid_journal_migrations (version, description, applied_at_ms)
                     VALUES (?1, ?2, ?3)",
                    params![migration.version, migration.description, now],
                )?;
                tx.commit()?;
            }
            unreachable!("each pass applies one of the migrations, or returns")
        })
        .await
    }

    /// Stores `arrivals` in one transaction: each first of its store and id inserted unless
    /// it is already there, each answered with its row as stored (see [`group::answers`]).
    pub(super) async fn store(
        &self,
        arrivals: Arc<[Arrival]>,
        operation: &'static str,
    ) -> Result<Vec<Stored>, GroupFailed> {
        self.call_saying(operation, move |connection| {
            let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let stored = store(&tx, &arrivals)?;
            tx.commit()?;
            Ok(stored)
        })
        .await
    }

    pub(super) async fn event(
        &self,
        store: i64,
        id: &str,
    ) -> Result<Option<EventRow>, JournalError> {
        let id = id.to_owned();
        self.call("read an event", move |connection| {
            Ok(connection
                .query_row(
                    &format!(
                        "SELECT {EVENT_COLUMNS} FROM ecwid_journal_events
                         WHERE store_id = ?1 AND event_id = ?2"
                    ),
                    params![store, id],
                    event_row,
                )
                .optional()?)
        })
        .await
    }

    pub(super) async fn in_state(
        &self,
        store: i64,
        state: &'static str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<EventRow>, JournalError> {
        self.call("read events", move |connection| {
            // The state written out, not bound: SQLite uses the index of failed and unknown
            // events only where it can see that the query asks for one of those.
            let mut statement = connection.prepare_cached(&format!(
                "SELECT {EVENT_COLUMNS} FROM ecwid_journal_events
                 WHERE store_id = ?1 AND state = '{}' AND seq > ?2 ORDER BY seq LIMIT ?3",
                schema::listed_state(state)?
            ))?;
            let rows = statement
                .query_map(params![store, after, limit], event_row)?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }

    pub(super) async fn counts(&self, store: i64) -> Result<Vec<(String, i64)>, JournalError> {
        self.call("count events", move |connection| {
            let mut statement = connection.prepare_cached(
                "SELECT state, COUNT(*) FROM ecwid_journal_events WHERE store_id = ?1
                 GROUP BY state",
            )?;
            let counts = statement
                .query_map([store], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<Result<_, _>>()?;
            Ok(counts)
        })
        .await
    }

    pub(super) async fn purge(&self, cutoff: i64) -> Result<u64, JournalError> {
        self.call("purge old events", move |connection| {
            let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let events = tx.execute(
                &format!(
                    "DELETE FROM ecwid_journal_events
                     WHERE {SQLITE_FINAL} AND state_changed_at_ms < ?1
                       AND (run_id IS NULL OR run_id IN
                            (SELECT run_id FROM ecwid_journal_runs WHERE closed_at_ms IS NOT NULL))"
                ),
                [cutoff],
            )?;
            tx.execute(
                "DELETE FROM ecwid_journal_runs
                 WHERE closed_at_ms < ?1 AND NOT EXISTS
                       (SELECT 1 FROM ecwid_journal_events e
                        WHERE e.run_id = ecwid_journal_runs.run_id)",
                [cutoff],
            )?;
            tx.commit()?;
            Ok(events as u64)
        })
        .await
    }

    pub(super) async fn claim(
        &self,
        holder: &Holder,
        run_id: &str,
        max: i64,
        plan: PlanFn,
    ) -> Result<Option<(serde_json::Value, Vec<EventRecord>)>, JournalError> {
        let (holder, run_id) = (holder.clone(), run_id.to_owned());
        self.call("claim events", move |connection| {
            let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let rows: Vec<EventRow> = tx
                .prepare_cached(&format!(
                    "SELECT {EVENT_COLUMNS} FROM ecwid_journal_events
                     WHERE store_id = ?1 AND run_id IS NULL
                     ORDER BY occurred_at_ms, seq LIMIT ?2"
                ))?
                .query_map(params![holder.store_id, max], event_row)?
                .collect::<Result<_, _>>()?;
            if rows.is_empty() {
                return Ok(None);
            }
            let seqs: Vec<i64> = rows.iter().map(|row| row.seq).collect();
            let (document, events, states) = plan_claim(plan, decode_all(rows)?, holder.now_ms)?;
            tx.execute(
                "INSERT INTO ecwid_journal_runs (run_id, store_id, worker, lease_id,
                     lease_until_ms, document, created_at_ms, saved_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
                params![
                    run_id,
                    holder.store_id,
                    holder.worker,
                    holder.lease_id,
                    holder.lease_until_ms,
                    document.to_string(),
                    holder.now_ms
                ],
            )?;
            // One statement for the whole run, its events listed as JSON: `[seq, state,
            // detail]` each (the state and detail null to leave them), in the run's order.
            let claimed: Vec<serde_json::Value> = seqs
                .iter()
                .zip(&states)
                .map(|(seq, state)| match state {
                    Some((name, detail)) => serde_json::json!([seq, name, detail]),
                    None => serde_json::json!([seq, null, null]),
                })
                .collect();
            let joined = tx.execute(
                "UPDATE ecwid_journal_events
                 SET run_id = ?1, run_position = j.key,
                     state = COALESCE(j.value ->> 1, state),
                     state_detail = COALESCE(j.value ->> 2, state_detail),
                     state_changed_at_ms =
                         CASE WHEN j.value ->> 1 IS NULL THEN state_changed_at_ms ELSE ?3 END
                 FROM json_each(?2) AS j
                 WHERE ecwid_journal_events.seq = j.value ->> 0",
                params![
                    run_id,
                    serde_json::Value::Array(claimed).to_string(),
                    holder.now_ms
                ],
            )?;
            if joined != seqs.len() {
                return Err(JournalError::Corrupt(format!(
                    "a claim of {} events joined {joined} to its run",
                    seqs.len()
                ))
                .into());
            }
            tx.commit()?;
            Ok(Some((document, events)))
        })
        .await
    }

    pub(super) async fn take_over(
        &self,
        holder: &Holder,
    ) -> Result<Option<(String, serde_json::Value, Vec<EventRecord>)>, JournalError> {
        let holder = holder.clone();
        self.call("take over a run", move |connection| {
            let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let expired: Option<(String, String)> = tx
                .query_row(
                    "SELECT run_id, document FROM ecwid_journal_runs
                     WHERE store_id = ?1 AND closed_at_ms IS NULL AND lease_until_ms <= ?2
                     ORDER BY lease_until_ms, run_id LIMIT 1",
                    params![holder.store_id, holder.now_ms],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()?;
            let Some((run_id, saved)) = expired else {
                return Ok(None);
            };
            tx.execute(
                "UPDATE ecwid_journal_runs SET worker = ?1, lease_id = ?2, lease_until_ms = ?3
                 WHERE run_id = ?4",
                params![
                    holder.worker,
                    holder.lease_id,
                    holder.lease_until_ms,
                    run_id
                ],
            )?;
            let events = decode_all(run_events(&tx, &run_id)?)?;
            let document = document(&saved)?;
            tx.commit()?;
            Ok(Some((run_id, document, events)))
        })
        .await
    }

    pub(super) async fn save(
        &self,
        key: LeaseKey<'_>,
        document: &str,
        states: &PositionedStates,
        lease_until: i64,
        now: i64,
    ) -> Result<(), JournalError> {
        let (run_id, lease_id) = (key.run_id.to_owned(), key.lease_id.to_owned());
        let (document, states) = (document.to_owned(), states.clone());
        self.call("save a run", move |connection| {
            let key = LeaseKey {
                run_id: &run_id,
                lease_id: &lease_id,
            };
            let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let saved = tx.execute(
                "UPDATE ecwid_journal_runs SET document = ?1, lease_until_ms = ?2, saved_at_ms = ?3
                 WHERE run_id = ?4 AND lease_id = ?5 AND closed_at_ms IS NULL",
                params![document, lease_until, now, key.run_id, key.lease_id],
            )?;
            if saved != 1 {
                return Err(lease_lost(key));
            }
            set_states(&tx, key.run_id, &states, now)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    pub(super) async fn finish(
        &self,
        key: LeaseKey<'_>,
        outcomes: &[(&'static str, String)],
        now: i64,
    ) -> Result<(), JournalError> {
        let (run_id, lease_id) = (key.run_id.to_owned(), key.lease_id.to_owned());
        let states: PositionedStates = outcomes
            .iter()
            .enumerate()
            .map(|(position, (state, detail))| (position as i64, *state, detail.clone()))
            .collect();
        self.call("finish a run", move |connection| {
            let key = LeaseKey {
                run_id: &run_id,
                lease_id: &lease_id,
            };
            let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let held: i64 = tx.query_row(
                "SELECT COUNT(*) FROM ecwid_journal_events WHERE run_id = ?1",
                [key.run_id],
                |row| row.get(0),
            )?;
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
            set_states(&tx, key.run_id, &states, now)?;
            close_run(&tx, key, "finished", now)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    pub(super) async fn shorten(
        &self,
        key: LeaseKey<'_>,
        keep: i64,
        document: &str,
        now: i64,
    ) -> Result<(), JournalError> {
        let (run_id, lease_id) = (key.run_id.to_owned(), key.lease_id.to_owned());
        let document = document.to_owned();
        self.call("shorten a run", move |connection| {
            let key = LeaseKey {
                run_id: &run_id,
                lease_id: &lease_id,
            };
            let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let saved = tx.execute(
                "UPDATE ecwid_journal_runs SET document = ?1, saved_at_ms = ?2
                 WHERE run_id = ?3 AND lease_id = ?4 AND closed_at_ms IS NULL",
                params![document, now, key.run_id, key.lease_id],
            )?;
            if saved != 1 {
                return Err(lease_lost(key));
            }
            let (state, detail) = EventState::Recorded.encode();
            tx.execute(
                "UPDATE ecwid_journal_events SET run_id = NULL, run_position = NULL,
                     state = ?1, state_detail = ?2, state_changed_at_ms = ?3
                 WHERE run_id = ?4 AND run_position >= ?5",
                params![state, detail, now, key.run_id, keep],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    pub(super) async fn release(&self, key: LeaseKey<'_>, now: i64) -> Result<(), JournalError> {
        let (run_id, lease_id) = (key.run_id.to_owned(), key.lease_id.to_owned());
        self.call("release a run", move |connection| {
            let key = LeaseKey {
                run_id: &run_id,
                lease_id: &lease_id,
            };
            let tx = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let (state, detail) = EventState::Recorded.encode();
            tx.execute(
                "UPDATE ecwid_journal_events SET run_id = NULL, run_position = NULL,
                     state = ?1, state_detail = ?2, state_changed_at_ms = ?3
                 WHERE run_id = ?4",
                params![state, detail, now, key.run_id],
            )?;
            close_run(&tx, key, "released", now)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }
}
