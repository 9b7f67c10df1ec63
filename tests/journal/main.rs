//! The journal's storage through its public API, on both backends with the same test code: a
//! SQLite file in a temporary folder, and a real PostgreSQL server started for each test (see
//! `common/postgres.rs`; skipped, saying so, when PostgreSQL is not installed, unless `CI` is set).
//!
//! Group commit and `record_many` are tested in `group.rs`. Claims, leases and runs, which the
//! drain builds on, are tested in the crate's own unit tests (`src/journal/tests.rs`), with the
//! same harness.

mod children;
#[path = "../common/mod.rs"]
mod common;
mod crash;
mod drain;
mod group;
mod support;
mod workers;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::postgres::{backends, TempDir, PG_PASSWORD};
use ecwid_inventory::journal::{Event, EventState, Journal, Recorded, MAX_READ, SCHEMA_VERSION};
use ecwid_inventory::{
    stock::MAX_QUANTITY, CombinationId, Error, ProductId, Stock, StockChange, StockItem, StoreId,
};

const STORE: StoreId = StoreId::new(1003);
const OTHER_STORE: StoreId = StoreId::new(2002);
const DAY: Duration = Duration::from_secs(24 * 60 * 60);

fn small_tee() -> StockItem {
    StockItem::Variation {
        product: ProductId::new(1),
        combination: CombinationId::new(11),
    }
}

fn at(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

fn sale(id: &str) -> Event {
    Event::new(
        STORE,
        id,
        small_tee(),
        StockChange::Delta(-2),
        at(1_767_225_000_123),
    )
    .check_low_stock_notification(true)
}

/// `sale(id)` with one thing changed.
fn sale_with(id: &str, change: impl FnOnce(&mut Event)) -> Event {
    let mut event = sale(id);
    change(&mut event);
    event
}

#[tokio::test]
async fn recording_an_event_twice_is_a_no_op_that_returns_its_state() {
    for backend in backends("record_twice").await {
        let (journal, on) = (&backend.journal, backend.name);
        let first = journal.record(&sale("order-1")).await.unwrap();
        let Recorded::New(stored) = &first else {
            panic!("{on}: {first:?}")
        };
        assert_eq!(stored.event, sale("order-1"), "{on}");
        assert_eq!(stored.state, EventState::Recorded, "{on}");
        assert_eq!(stored.recorded_at, backend.clock.now(), "{on}");

        // Delivered again, a day later.
        backend.clock.advance(DAY);
        let again = journal.record(&sale("order-1")).await.unwrap();
        let Recorded::Duplicate(again) = again else {
            panic!("{on}: {again:?}")
        };
        assert_eq!(&again, stored, "{on}: the stored event, unchanged");
        assert_eq!(journal.counts(STORE).await.unwrap().recorded, 1, "{on}");

        // Read back by id, and through a journal opened anew on the same database.
        let read = journal.event(STORE, "order-1").await.unwrap();
        assert_eq!(read.as_ref(), Some(stored), "{on}");
        let reopened = backend.open().await;
        assert_eq!(
            reopened.event(STORE, "order-1").await.unwrap().as_ref(),
            Some(stored),
            "{on}"
        );
        assert_eq!(journal.event(STORE, "order-2").await.unwrap(), None, "{on}");
    }
}

#[tokio::test]
async fn the_same_id_in_two_stores_is_two_events() {
    for backend in backends("two_stores").await {
        let (journal, on) = (&backend.journal, backend.name);
        let mut elsewhere = sale("order-1");
        elsewhere.store = OTHER_STORE;
        assert!(
            journal.record(&sale("order-1")).await.unwrap().is_new(),
            "{on}"
        );
        assert!(journal.record(&elsewhere).await.unwrap().is_new(), "{on}");
        let here = journal.event(STORE, "order-1").await.unwrap().unwrap();
        let there = journal
            .event(OTHER_STORE, "order-1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(here.event.store, STORE, "{on}");
        assert_eq!(there.event.store, OTHER_STORE, "{on}");
        assert_ne!(here.sequence, there.sequence, "{on}");
        assert_eq!(journal.counts(STORE).await.unwrap().recorded, 1, "{on}");
        assert_eq!(
            journal.counts(OTHER_STORE).await.unwrap().recorded,
            1,
            "{on}"
        );
    }
}

#[tokio::test]
async fn a_different_payload_under_a_known_id_is_reported_and_the_first_kept() {
    for backend in backends("conflict").await {
        let (journal, on) = (&backend.journal, backend.name);
        let first = journal
            .record(&sale("order-1"))
            .await
            .unwrap()
            .into_record();
        let product = StockItem::Product {
            product: ProductId::new(1),
        };
        let variants = [
            (
                "delta",
                sale_with("order-1", |e| e.change = StockChange::Delta(-3)),
            ),
            (
                "set",
                sale_with("order-1", |e| {
                    e.change = StockChange::Set(Stock::Quantity(2))
                }),
            ),
            (
                "unlimited",
                sale_with("order-1", |e| e.change = StockChange::Set(Stock::Unlimited)),
            ),
            ("item", sale_with("order-1", |e| e.item = product)),
            ("flag", sale("order-1").check_low_stock_notification(false)),
            (
                "no flag",
                sale_with("order-1", |e| e.check_low_stock_notification = None),
            ),
            (
                "time",
                sale_with("order-1", |e| {
                    e.occurred_at = sale("order-1").occurred_at + Duration::from_millis(1)
                }),
            ),
        ];
        for (what, event) in variants {
            let recorded = journal.record(&event).await.unwrap();
            let Recorded::Conflict(stored) = recorded else {
                panic!("{on}, another {what}: {recorded:?}")
            };
            assert_eq!(stored, first, "{on}, another {what}: the first is kept");
        }
        // Below a millisecond, the time is the same time.
        let same = sale_with("order-1", |e| {
            e.occurred_at = sale("order-1").occurred_at + Duration::from_micros(300)
        });
        assert!(
            matches!(journal.record(&same).await.unwrap(), Recorded::Duplicate(_)),
            "{on}"
        );
        assert_eq!(journal.counts(STORE).await.unwrap().recorded, 1, "{on}");
    }
}

#[tokio::test]
async fn every_kind_of_change_is_stored_as_given() {
    for backend in backends("kinds").await {
        let (journal, on) = (&backend.journal, backend.name);
        let events = [
            Event::new(
                STORE,
                "delta",
                small_tee(),
                StockChange::Delta(i32::MIN),
                at(1),
            ),
            Event::new(
                STORE,
                "set",
                StockItem::Product {
                    product: ProductId::new(i64::MAX as u64),
                },
                StockChange::Set(Stock::Quantity(MAX_QUANTITY)),
                at(2),
            )
            .check_low_stock_notification(false),
            Event::new(
                STORE,
                "unlimited",
                small_tee(),
                StockChange::Set(Stock::Unlimited),
                at(3),
            ),
        ];
        for event in &events {
            assert!(journal.record(event).await.unwrap().is_new(), "{on}");
            let stored = journal.event(STORE, &event.id).await.unwrap().unwrap();
            assert_eq!(&stored.event, event, "{on}");
        }
    }
}

#[tokio::test]
async fn bad_input_is_refused_and_records_nothing() {
    for backend in backends("bad_input").await {
        let (journal, on) = (&backend.journal, backend.name);
        let bad = [
            sale_with("x", |e| e.id = String::new()),
            sale_with("order-1", |e| e.change = StockChange::Delta(0)),
            sale_with("order-1", |e| e.store = StoreId::new(0)),
            sale_with("order-1", |e| {
                e.change = StockChange::Set(Stock::Quantity(-1))
            }),
        ];
        for event in bad {
            let error = journal.record(&event).await.unwrap_err();
            assert!(matches!(error, Error::InvalidInput(_)), "{on}: {error:?}");
        }
        for limit in [0, MAX_READ + 1] {
            let error = journal.failed(STORE, None, limit).await.unwrap_err();
            assert!(
                error.to_string().contains("the limit must be 1 to 1000"),
                "{on}: {error}"
            );
        }
        let counts = journal.counts(StoreId::new(0)).await.unwrap();
        assert_eq!(counts, Default::default(), "{on}");
        assert_eq!(
            journal.counts(STORE).await.unwrap(),
            Default::default(),
            "{on}"
        );
    }
}

/// Many deliveries of one event at once, through separate connections: one records it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_deliveries_of_one_event_record_it_once() {
    for backend in backends("concurrent_records").await {
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let journal = backend.open().await;
            tasks.push(tokio::spawn(async move {
                journal.record(&sale("order-1")).await.unwrap().is_new()
            }));
        }
        let mut new = 0;
        for task in tasks {
            new += usize::from(task.await.unwrap());
        }
        assert_eq!(new, 1, "on {}", backend.name);
    }
}

#[tokio::test]
async fn migrations_run_once_and_a_newer_schema_is_refused() {
    for backend in backends("migrations").await {
        let on = backend.name;
        let first_open = backend.clock.now();
        backend.clock.advance(DAY);
        // Opened again (and again): the migrations table already says what is done, and a
        // second CREATE TABLE would fail.
        backend.open().await;
        backend.open().await;
        let applied = backend
            .raw_query(
                "SELECT version, applied_at_ms FROM ecwid_journal_migrations ORDER BY version",
            )
            .await;
        let first_ms = first_open
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis()
            .to_string();
        let expected: Vec<Vec<String>> = (1..=SCHEMA_VERSION)
            .map(|v| vec![v.to_string(), first_ms.clone()])
            .collect();
        assert_eq!(applied, expected, "{on}");

        // A newer release migrated this database: this one refuses it, naming both versions.
        let newer = SCHEMA_VERSION + 1;
        backend
            .raw_execute(&format!(
                "INSERT INTO ecwid_journal_migrations (version, description, applied_at_ms)
                 VALUES ({newer}, 'from the future', 0)"
            ))
            .await;
        let error = backend.try_open().await.unwrap_err();
        assert!(
            matches!(&error, Error::Journal { operation, .. } if operation == "bring its schema up to date"),
            "{on}: {error:?}"
        );
        let error = error.to_string();
        assert!(
            error.contains(&format!("schema version {newer}"))
                && error.contains(&format!("(schema version {SCHEMA_VERSION})")),
            "{on}: {error}"
        );
        // And it changed nothing.
        let versions = backend
            .raw_query("SELECT COUNT(*) FROM ecwid_journal_migrations")
            .await;
        assert_eq!(versions, [[(SCHEMA_VERSION + 1).to_string()]], "{on}");
    }
}

#[tokio::test]
async fn a_journal_shows_where_it_is_but_never_a_password() {
    for backend in backends("debug").await {
        let shown = format!("{:?}", backend.journal);
        assert!(!shown.contains(PG_PASSWORD), "{shown}");
        match &backend.postgres {
            Some(server) => {
                let port = server.url().rsplit(':').next().unwrap().to_owned();
                let port = port.split('/').next().unwrap();
                assert!(
                    shown.contains(&format!("postgres://127.0.0.1:{port}/postgres")),
                    "{shown}"
                );
            }
            None => assert!(
                shown.contains("sqlite:") && shown.contains("journal.sqlite3"),
                "{shown}"
            ),
        }
    }
}

/// PostgreSQL stops: each call fails at once with an error that says where and what, without
/// the password; once it is back, the same journal works again on fresh connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_gives_a_clear_error_and_works_again_after_a_restart() {
    for mut backend in backends("pg_restart").await {
        let Some(server) = backend.postgres.as_mut() else {
            continue;
        };
        let journal = backend.journal.clone();
        assert!(journal.record(&sale("order-1")).await.unwrap().is_new());
        tokio::task::block_in_place(|| server.stop());

        let error = journal.record(&sale("order-2")).await.unwrap_err();
        let text = error.to_string();
        assert!(!error.may_have_been_applied());
        assert!(
            text.starts_with("the journal's database postgres://127.0.0.1:"),
            "{text}"
        );
        assert!(text.contains("failed to record an event"), "{text}");
        let Error::Journal {
            database,
            operation,
            ..
        } = &error
        else {
            panic!("{error:?}")
        };
        assert_eq!(operation, "record an event");
        assert!(database.ends_with("/postgres"), "{database}");
        assert!(!text.contains(PG_PASSWORD), "{text}");
        let error = journal
            .event(STORE, "order-1")
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("failed to read an event"), "{error}");

        tokio::task::block_in_place(|| server.start_again());
        assert!(journal.record(&sale("order-2")).await.unwrap().is_new());
        let first = journal.record(&sale("order-1")).await.unwrap();
        assert!(matches!(first, Recorded::Duplicate(_)), "{first:?}");
        assert_eq!(journal.counts(STORE).await.unwrap().recorded, 2);
    }
}

#[tokio::test]
async fn connection_failures_never_show_the_password() {
    for backend in backends("pg_password").await {
        let Some(server) = &backend.postgres else {
            continue;
        };
        let wrong = server.url().replace(PG_PASSWORD, "wrong-hunter3");
        let error = Journal::connect_postgres(&wrong)
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("password authentication failed"), "{error}");
        assert!(!error.contains("wrong-hunter3"), "{error}");
        let unreadable = format!("postgresql://postgres:{PG_PASSWORD}@127.0.0.1:notaport/db");
        let error = Journal::connect_postgres(&unreadable).await.unwrap_err();
        assert!(matches!(error, Error::InvalidInput(_)), "{error:?}");
        assert!(!error.to_string().contains(PG_PASSWORD), "{error}");
    }
}

#[tokio::test]
async fn an_unreadable_sqlite_file_is_a_clear_error() {
    let dir = TempDir::new("not_sqlite");
    let path = dir.path().join("journal.sqlite3");
    std::fs::write(&path, "this is not a database, but it is long enough to be read as one......................................................................................").unwrap();
    let error = Journal::open_sqlite(&path).await.unwrap_err().to_string();
    assert!(error.contains("journal.sqlite3"), "{error}");
    assert!(error.contains("not a database"), "{error}");
    let error = Journal::builder()
        .retention(Duration::ZERO)
        .open_sqlite(dir.path().join("other.sqlite3"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Config(_)), "{error:?}");
}

/// Four openers of one SQLite file that does not exist yet, all at once, each on a connection
/// of its own in a thread of its own (as four processes would be), in 200 rounds: every open
/// succeeds, the file ends in write-ahead logging, and its migrations ran once. (Before the
/// switch to write-ahead logging waited for the others, about one round in 30 failed with
/// "database is locked".)
#[test]
fn many_first_opens_of_a_new_sqlite_file_at_once_all_succeed() {
    const ROUNDS: usize = 200;
    const OPENERS: usize = 4;
    let dir = TempDir::new("first_opens");
    for round in 0..ROUNDS {
        let path = dir.path().join(format!("journal-{round}.sqlite3"));
        let start = std::sync::Arc::new(std::sync::Barrier::new(OPENERS));
        let openers: Vec<_> = (0..OPENERS)
            .map(|_| {
                let (path, start) = (path.clone(), start.clone());
                std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    // The runtime's blocking thread, where the open runs, started beforehand:
                    // the openers then reach the file within microseconds of each other.
                    runtime
                        .block_on(async { tokio::task::spawn_blocking(|| ()).await })
                        .unwrap();
                    start.wait();
                    runtime.block_on(async {
                        Journal::open_sqlite(&path)
                            .await
                            .map(|journal| journal.retention())
                    })
                })
            })
            .collect();
        for opener in openers {
            if let Err(error) = opener.join().unwrap() {
                panic!("round {round}: {error:?}");
            }
        }
        let connection = rusqlite::Connection::open(&path).unwrap();
        let mode: String = connection
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "wal", "round {round}");
        let migrations: i64 = connection
            .query_row("SELECT COUNT(*) FROM ecwid_journal_migrations", [], |row| {
                row.get(0)
            })
            .unwrap();
        assert_eq!(migrations, i64::from(SCHEMA_VERSION), "round {round}");
    }
}

/// The same race, step by step: another connection holds the write lock of a new file (as
/// another process opening it does while it switches it to write-ahead logging) when the
/// journal opens it. The open waits for the lock, as any write does, and succeeds once it is
/// released, instead of failing at once with "database is locked".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_a_new_sqlite_file_waits_for_another_connection_writing_it() {
    let dir = TempDir::new("open_waits");
    let path = dir.path().join("journal.sqlite3");
    let writer = rusqlite::Connection::open(&path).unwrap();
    writer.execute_batch("BEGIN IMMEDIATE").unwrap();
    let opening = tokio::spawn(Journal::open_sqlite(path.clone()));
    // Time for the open to meet the lock (it fails within a millisecond when it does not wait).
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !opening.is_finished(),
        "the open did not wait: {:?}",
        opening.await.unwrap()
    );
    writer.execute_batch("COMMIT").unwrap();
    let journal = opening.await.unwrap().unwrap();
    assert!(journal.record(&sale("order-1")).await.unwrap().is_new());
    let mode: String = writer
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}
