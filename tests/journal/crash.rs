//! A draining process killed (SIGKILL) at each step of a run, then a fresh process draining the
//! same journal: every event applied exactly once in the fake's ledger, every state final and
//! true. The steps are reached and seen from outside the child: a lock held on the database,
//! a create or a status read the fake holds, the database's rows.

use std::time::Duration;

use ecwid_inventory::journal::DEFAULT_LEASE;
use ecwid_inventory_fake::{FakeStore, Fault, Route};

use crate::children::{spawn, spawn_held, DrainJob};
use crate::common::postgres::{backends, Backend, Target};
use crate::common::{creates, ms, numbered};
use crate::support::{assert_applied_once, assert_journal_applied, record};

/// Events per test, in runs of `RUN`: the first run is the one killed.
const EVENTS: u64 = 30;
const RUN: usize = 10;

#[derive(Clone, Copy, Debug)]
enum Step {
    /// The events recorded, the drain started but not yet able to write its claim.
    Recorded,
    /// The first run's create reached Ecwid, which has not answered yet.
    CreateSent,
    /// Ecwid's ticket written to the journal (the run's events `sent`); the batch held queued.
    TicketWritten,
    /// A status read of the run's batch reached Ecwid, which has not answered yet.
    ReadingStatus,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_killed_at_any_step_is_finished_by_the_next_process_exactly_once() {
    for backend in backends("drain_crash").await {
        for step in [
            Step::Recorded,
            Step::CreateSent,
            Step::TicketWritten,
            Step::ReadingStatus,
        ] {
            let on = format!("{} killed at {step:?}", backend.name);
            backend
                .raw_execute("DELETE FROM ecwid_journal_events; DELETE FROM ecwid_journal_runs;")
                .await;
            let fake = numbered(EVENTS).start().await.unwrap();
            record(&backend.journal, 1..=EVENTS).await;
            let mut job = DrainJob::new(&backend.target, "doomed");
            job.run_size = RUN;
            kill_at(step, &backend, &fake, &job, &on).await;

            // A fresh process, after the killed one's lease has expired.
            job.worker = "fresh".into();
            job.clock_ahead = DEFAULT_LEASE + Duration::from_secs(60);
            let totals = spawn(&fake, &job).await.finish().await;
            assert_eq!(totals.applied, EVENTS as usize, "{on}: {totals:?}");
            let taken_over = usize::from(!matches!(step, Step::Recorded));
            assert_eq!(totals.taken_over, taken_over, "{on}: {totals:?}");
            fake.batches_settled().await;
            assert_applied_once(&fake, EVENTS);
            assert_journal_applied(&backend.journal, EVENTS).await;
            // One batch per run; after a killed create, that create once more, under its key.
            let expected = EVENTS as usize / RUN + usize::from(matches!(step, Step::CreateSent));
            assert_eq!(creates(&fake).len(), expected, "{on}");
            let open = backend
                .raw_query("SELECT COUNT(*) FROM ecwid_journal_runs WHERE closed_at_ms IS NULL")
                .await;
            assert_eq!(open, [["0"]], "{on}: every run closed");
        }
    }
}

/// Runs a draining child until it reaches `step`, and kills it there.
async fn kill_at(step: Step, backend: &Backend, fake: &FakeStore, job: &DrainJob, on: &str) {
    let in_state = |state: &'static str| {
        format!("SELECT COUNT(*) FROM ecwid_journal_events WHERE state = '{state}'")
    };
    match step {
        Step::Recorded => {
            let mut child = spawn_held(fake, job).await;
            let lock = DatabaseLock::take(&backend.target).await;
            child.go().await;
            child.wait_for_line("CHILD-DRAINING").await;
            child.kill().await;
            lock.release().await;
            assert!(fake.requests().is_empty(), "{on}: nothing sent");
            let runs = backend
                .raw_query("SELECT COUNT(*) FROM ecwid_journal_runs")
                .await;
            assert_eq!(runs, [["0"]], "{on}: nothing claimed");
        }
        Step::CreateSent => {
            fake.inject_fault(Route::BatchCreate, 1, Fault::Delay(ms(1000)));
            let child = spawn(fake, job).await;
            fake.wait_until(|fake| !creates(fake).is_empty())
                .await
                .unwrap();
            child.kill().await;
            // Ecwid still runs the create the dead process sent.
            fake.wait_for_ledger(RUN).await.unwrap();
            let sending = backend.raw_query(&in_state("sending")).await;
            assert_eq!(sending, [[RUN.to_string()]], "{on}: no ticket written");
        }
        Step::TicketWritten => {
            fake.pause_batches();
            let child = spawn(fake, job).await;
            wait_for_rows(backend, &in_state("sent"), RUN).await;
            child.kill().await;
            assert!(fake.ledger().is_empty(), "{on}");
            fake.resume_batches();
        }
        Step::ReadingStatus => {
            fake.inject_fault(Route::BatchStatus, 1000, Fault::Delay(ms(1000)));
            let child = spawn(fake, job).await;
            fake.wait_until(|fake| fake.requests().iter().any(|r| r.method == "GET"))
                .await
                .unwrap();
            child.kill().await;
            fake.clear_faults();
            let sent = backend.raw_query(&in_state("sent")).await;
            assert_eq!(sent, [[RUN.to_string()]], "{on}: no outcome written");
        }
    }
}

/// Waits (at most 30 s, polling every 5 ms) until `count_sql` counts `n` rows.
async fn wait_for_rows(backend: &Backend, count_sql: &str, n: usize) {
    for _ in 0..6000 {
        if backend.raw_query(count_sql).await == [[n.to_string()]] {
            return;
        }
        tokio::time::sleep(ms(5)).await;
    }
    panic!("{count_sql} did not count {n} within 30 s");
}

/// A write lock held on the journal's database by another connection: a drain waits at its
/// first write (SQLite for its busy timeout, PostgreSQL until released).
enum DatabaseLock {
    Sqlite(std::sync::mpsc::Sender<()>, tokio::task::JoinHandle<()>),
    Postgres(tokio_postgres::Client, tokio::task::JoinHandle<()>),
}

impl DatabaseLock {
    async fn take(target: &Target) -> DatabaseLock {
        match target {
            Target::Sqlite(path) => {
                let (locked_tx, locked_rx) = tokio::sync::oneshot::channel();
                let (release, released) = std::sync::mpsc::channel::<()>();
                let path = path.clone();
                let holder = tokio::task::spawn_blocking(move || {
                    let connection = rusqlite::Connection::open(path).unwrap();
                    connection.execute_batch("BEGIN EXCLUSIVE").unwrap();
                    locked_tx.send(()).unwrap();
                    let _ = released.recv();
                    connection.execute_batch("ROLLBACK").unwrap();
                });
                locked_rx.await.unwrap();
                DatabaseLock::Sqlite(release, holder)
            }
            Target::Postgres(url) => {
                let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                let connection = tokio::spawn(async move {
                    let _ = connection.await;
                });
                client
                    .batch_execute(
                        "BEGIN; LOCK TABLE ecwid_journal_events, ecwid_journal_runs \
                         IN ACCESS EXCLUSIVE MODE",
                    )
                    .await
                    .unwrap();
                DatabaseLock::Postgres(client, connection)
            }
        }
    }

    async fn release(self) {
        match self {
            DatabaseLock::Sqlite(release, holder) => {
                release.send(()).unwrap();
                holder.await.unwrap();
            }
            DatabaseLock::Postgres(client, connection) => {
                // A killed child's statement waiting for the lock would otherwise run once it
                // is released, as PostgreSQL notices a closed connection only when it answers.
                client
                    .batch_execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                         WHERE pid <> pg_backend_pid() AND wait_event_type = 'Lock'",
                    )
                    .await
                    .unwrap();
                client.batch_execute("ROLLBACK").await.unwrap();
                drop(client);
                connection.await.unwrap();
            }
        }
    }
}
