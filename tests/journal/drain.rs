//! The drain in one process, on both backends: every event applied once and its outcome
//! written, redeliveries (a day later, past Ecwid's key window), Ecwid refusing or failing,
//! the bounds of one call, bad settings, a lease taken over, and the journal itself failing.

use std::time::Duration;

use ecwid_inventory::journal::{DrainStop, Event, EventState, Journal, Recorded};
use ecwid_inventory::{Error, ProductId, RetryPolicy, StockChange, StockItem};
use ecwid_inventory_fake::{demo, FakeStore, FakeToken, Fault, Product, Route, Store};

use crate::common::postgres::{backends, Backend, Target};
use crate::common::{
    self, client, creates, dedup_key, ms, numbered, EBOOK, POSTER, RACK, START, STORE,
};
use crate::support::{assert_applied_once, assert_journal_applied, record, record_many, sale};

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// The drain as the tests run it: status read often.
async fn drain(
    journal: &Journal,
    client: &ecwid_inventory::Client,
) -> ecwid_inventory::journal::DrainReport {
    journal
        .drain(client)
        .poll_interval(ms(5), ms(50))
        .send()
        .await
        .unwrap()
}

/// The requests the fake received that reached a route other than a create or a read.
fn requests(fake: &FakeStore) -> usize {
    fake.requests().len()
}

#[tokio::test]
async fn a_drain_applies_every_event_once_and_writes_each_outcome() {
    for backend in backends("drain_outcomes").await {
        let (journal, on) = (&backend.journal, backend.name);
        let fake = FakeStore::builder()
            .store(
                Store::new(STORE)
                    .product(demo::numbered_product(RACK, "RACK", 1200, START))
                    .product(Product::new(EBOOK).unlimited())
                    .product(Product::new(POSTER).quantity(1)),
            )
            .token(FakeToken::secret(STORE, common::TOKEN))
            .no_rate_limit()
            .start()
            .await
            .unwrap();
        record_many(journal, 1..=1200).await;
        let at = sale(1201).occurred_at;
        let product = |id: u64| StockItem::Product {
            product: ProductId::new(id),
        };
        let others = [
            Event::new(
                STORE,
                "ebook",
                product(EBOOK.get()),
                StockChange::Delta(-1),
                at,
            ),
            Event::new(
                STORE,
                "poster",
                product(POSTER.get()),
                StockChange::Delta(-3),
                at,
            ),
            Event::new(STORE, "ghost", product(99), StockChange::Delta(-1), at),
        ];
        for event in &others {
            assert!(journal.record(event).await.unwrap().is_new(), "{on}");
        }

        let report = drain(journal, &client(&fake)).await;
        assert_eq!(
            (
                report.applied,
                report.failed,
                report.unknown,
                report.released
            ),
            (1202, 1, 0, 0),
            "{on}: {report:?}"
        );
        assert_eq!((report.runs, report.taken_over), (3, 0), "{on}");
        assert_eq!(report.stopped, DrainStop::WaitingAtStart(1203), "{on}");
        // Three creates and their status reads, counted as the fake received them.
        assert_eq!(creates(&fake).len(), 3, "{on}");
        assert_eq!(report.requests_sent, requests(&fake), "{on}");
        assert!(report.journal_time > Duration::ZERO, "{on}");

        // The rack's changes, and the poster's; the unlimited e-book changes nothing.
        assert_applied_once_with(&fake, 1200, 1);
        let state = |id: &'static str| async move {
            journal.event(STORE, id).await.unwrap().unwrap().state
        };
        assert!(
            matches!(
                state("ebook").await,
                EventState::Applied {
                    update_count: 0,
                    warning: None,
                    ..
                }
            ),
            "{on}: unlimited stock is not updated"
        );
        let EventState::Applied {
            update_count: 1,
            warning: Some(warning),
            ..
        } = state("poster").await
        else {
            panic!("{on}: {:?}", state("poster").await)
        };
        assert_eq!(warning, "Product has negative stock.", "{on}");
        let failed = journal.failed(STORE, None, 10).await.unwrap();
        assert_eq!(failed.len(), 1, "{on}");
        assert_eq!(failed[0].event.id, "ghost", "{on}");
        assert!(
            matches!(&failed[0].state, EventState::Failed { status: Some(404), error_code: Some(code), .. } if code == "PRODUCT_NOT_FOUND"),
            "{on}: {:?}",
            failed[0].state
        );
        // Nothing is left, and a drain now sends nothing.
        let again = drain(journal, &client(&fake)).await;
        assert_eq!((again.runs, again.requests_sent), (0, 0), "{on}");
        assert_eq!(again.stopped, DrainStop::NothingWaiting, "{on}");
        assert_eq!(creates(&fake).len(), 3, "{on}");
    }
}

/// The rack's variations `1..=n` each once, plus `extra` changes of other products.
fn assert_applied_once_with(fake: &FakeStore, n: u64, extra: usize) {
    let rack: Vec<_> = fake
        .ledger()
        .into_iter()
        .filter(|e| e.item.product() == RACK)
        .collect();
    assert_eq!(rack.len() as u64, n);
    assert_eq!(fake.ledger().len(), rack.len() + extra);
    let mut seen = std::collections::HashSet::new();
    for entry in rack {
        assert!(seen.insert(entry.item), "applied twice: {entry:?}");
    }
}

#[tokio::test]
async fn a_redelivered_event_is_applied_once_even_a_day_later() {
    for backend in backends("drain_redelivery").await {
        let (journal, on) = (&backend.journal, backend.name);
        let fake = numbered(1).start().await.unwrap();
        let client = client(&fake);
        for n in 0..3 {
            let recorded = journal.record(&sale(1)).await.unwrap();
            assert_eq!(recorded.is_new(), n == 0, "{on}");
        }
        let report = drain(journal, &client).await;
        assert_eq!(report.applied, 1, "{on}");
        assert_applied_once(&fake, 1);
        let sent = requests(&fake);

        // The webhook sender tries once more, a day later by the journal's clock.
        backend.clock.advance(DAY);
        let recorded = journal.record(&sale(1)).await.unwrap();
        assert!(
            matches!(&recorded, Recorded::Duplicate(r) if matches!(r.state, EventState::Applied { update_count: 1, .. })),
            "{on}: {recorded:?}"
        );
        let report = drain(journal, &client).await;
        assert_eq!((report.runs, report.applied), (0, 0), "{on}");
        assert_eq!(requests(&fake), sent, "{on}: nothing sent");
        assert_applied_once(&fake, 1);
    }
}

/// A journal on `backend`'s database whose clock is the fake's, so that advancing the fake's
/// clock ages keys and leases alike.
async fn on_the_fakes_clock(backend: &Backend, fake: &FakeStore) -> Journal {
    let builder = Journal::builder().time_source(fake.time_source());
    match &backend.target {
        Target::Sqlite(path) => builder.open_sqlite(path).await.unwrap(),
        Target::Postgres(url) => builder.connect_postgres(url).await.unwrap(),
    }
}

#[tokio::test]
async fn the_same_event_past_the_keys_window_is_never_applied_twice() {
    for backend in backends("drain_key_window").await {
        let on = backend.name;
        let fake = numbered(2).start().await.unwrap();
        let journal = on_the_fakes_clock(&backend, &fake).await;
        record(&journal, [1]).await;
        assert_eq!(drain(&journal, &client(&fake)).await.applied, 1, "{on}");

        // Two hours on: Ecwid has long forgotten the batch's key; the journal has not.
        fake.advance_clock(2 * 60 * 60 * Duration::from_secs(1));
        let sent = requests(&fake);
        let again = journal.record(&sale(1)).await.unwrap();
        assert!(matches!(again, Recorded::Duplicate(_)), "{on}: {again:?}");
        assert_eq!(drain(&journal, &client(&fake)).await.runs, 0, "{on}");
        assert_eq!(requests(&fake), sent, "{on}");
        assert_applied_once(&fake, 1);

        // An event whose create was applied but whose answer was lost, by a client that does
        // not retry: its run is left `sending`.
        record(&journal, [2]).await;
        fake.inject_fault(Route::BatchCreate, 1, Fault::CloseAfterApplying);
        let careful = fake
            .client_builder(common::TOKEN)
            .no_rate_limit()
            .retry_policy(RetryPolicy::never())
            .build()
            .unwrap();
        let report = drain(&journal, &careful).await;
        assert!(
            matches!(&report.stopped, DrainStop::RunNotFinished { reason, .. } if reason.contains("may have been created")),
            "{on}: {report:?}"
        );
        let state = journal
            .event(STORE, "order-2")
            .await
            .unwrap()
            .unwrap()
            .state;
        assert!(
            matches!(state, EventState::Sending { .. }),
            "{on}: {state:?}"
        );
        fake.batches_settled().await;
        assert_eq!(
            common::quantity(&fake, 2),
            START - 1,
            "{on}: it was applied"
        );

        // Resumed 56 minutes later, past the key's window: never sent again, and said so.
        fake.advance_clock(Duration::from_secs(56 * 60));
        let creates_before = creates(&fake).len();
        let report = drain(&journal, &client(&fake)).await;
        assert_eq!(
            (report.taken_over, report.unknown),
            (1, 1),
            "{on}: {report:?}"
        );
        assert_eq!(
            creates(&fake).len(),
            creates_before,
            "{on}: not created again"
        );
        assert_applied_once(&fake, 2);
        let unknown = journal.unknown(STORE, None, 10).await.unwrap();
        assert_eq!(unknown.len(), 1, "{on}");
        let EventState::Unknown { reason, .. } = &unknown[0].state else {
            panic!("{on}: {:?}", unknown[0].state)
        };
        assert!(
            reason.contains("never sent again") && reason.contains("read the stock"),
            "{on}: {reason}"
        );
        // Delivered again: the journal answers with what is known, and sends nothing.
        let again = journal.record(&sale(2)).await.unwrap();
        assert!(matches!(again.state(), EventState::Unknown { .. }), "{on}");
        assert_eq!(drain(&journal, &client(&fake)).await.runs, 0, "{on}");
        assert_applied_once(&fake, 2);
    }
}

#[tokio::test]
async fn a_refused_batch_releases_its_events_for_a_later_drain() {
    for backend in backends("drain_refused").await {
        let (journal, on) = (&backend.journal, backend.name);
        let fake = numbered(20).start().await.unwrap();
        record(journal, 1..=20).await;
        fake.inject_fault(
            Route::BatchCreate,
            1,
            Fault::ecwid_error(402, "STORE_IS_SUSPENDED", "The store is suspended"),
        );
        let report = drain(journal, &client(&fake)).await;
        assert_eq!((report.released, report.applied), (20, 0), "{on}");
        assert!(
            matches!(&report.stopped, DrainStop::RunNotFinished { reason, .. } if reason.contains("STORE_IS_SUSPENDED")),
            "{on}: {report:?}"
        );
        assert_eq!(journal.counts(STORE).await.unwrap().recorded, 20, "{on}");
        assert!(fake.ledger().is_empty(), "{on}");

        let report = drain(journal, &client(&fake)).await;
        assert_eq!((report.applied, report.taken_over), (20, 0), "{on}");
        assert_applied_once(&fake, 20);
        assert_journal_applied(journal, 20).await;
        // The refused create and the one that went through carried different keys: the
        // released events were planned again.
        let creates = creates(&fake);
        assert_eq!(creates.len(), 2, "{on}");
        assert_ne!(dedup_key(&creates[0]), dedup_key(&creates[1]), "{on}");
    }
}

#[tokio::test]
async fn ecwid_failing_leaves_the_run_to_the_next_drain_which_sends_nothing_twice() {
    for backend in backends("drain_ecwid_down").await {
        let (journal, on) = (&backend.journal, backend.name);
        let fake = numbered(30).start().await.unwrap();
        record(journal, 1..=30).await;

        // Every create fails with a 503 until the call's deadline.
        fake.inject_fault(Route::BatchCreate, 1000, Fault::respond(503, "busy"));
        let report = journal
            .drain(&client(&fake))
            .poll_interval(ms(5), ms(50))
            .deadline(ms(600))
            .send()
            .await
            .unwrap();
        assert!(
            matches!(&report.stopped, DrainStop::RunNotFinished { reason, .. } if reason.contains("503")),
            "{on}: {report:?}"
        );
        assert_eq!(report.applied + report.released, 0, "{on}");
        assert_eq!(journal.counts(STORE).await.unwrap().sending, 30, "{on}");
        let failed_creates = creates(&fake);
        assert!(failed_creates.len() >= 2, "{on}: the create was retried");
        fake.clear_faults();

        // Ecwid is back. The queued batch is held, and the drain gives up polling it.
        fake.pause_batches();
        let report = journal
            .drain(&client(&fake))
            .poll_interval(ms(5), ms(50))
            .poll_timeout(ms(200))
            .send()
            .await
            .unwrap();
        assert_eq!(
            report.taken_over, 1,
            "{on}: the run left by the first drain"
        );
        assert!(
            matches!(&report.stopped, DrainStop::RunNotFinished { reason, .. } if reason.contains("had not reported it completed")),
            "{on}: {report:?}"
        );
        assert_eq!(journal.counts(STORE).await.unwrap().sent, 30, "{on}");

        fake.resume_batches();
        let report = drain(journal, &client(&fake)).await;
        assert_eq!((report.taken_over, report.applied), (1, 30), "{on}");
        assert_applied_once(&fake, 30);
        assert_journal_applied(journal, 30).await;
        // Every create carried the run's one key; the last drain only read the batch.
        let creates = creates(&fake);
        assert_eq!(creates.len(), failed_creates.len() + 1, "{on}");
        assert!(creates
            .iter()
            .all(|c| dedup_key(c) == dedup_key(&creates[0])));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_takes_at_most_max_events_or_what_waited_when_it_started() {
    for backend in backends("drain_bounds").await {
        let (journal, on) = (&backend.journal, backend.name);
        let fake = numbered(30).start().await.unwrap();
        let client = client(&fake);
        record(journal, 11..=20).await;
        let report = journal
            .drain(&client)
            .run_size(3)
            .max_events(4)
            .poll_interval(ms(5), ms(50))
            .send()
            .await
            .unwrap();
        assert_eq!(report.stopped, DrainStop::MaxEvents(4), "{on}");
        assert_eq!((report.runs, report.applied), (2, 4), "{on}");
        assert_eq!(journal.counts(STORE).await.unwrap().recorded, 6, "{on}");

        // Six wait. While the drain runs, five more come in, older ones: the drain takes six
        // events and stops, leaving the rest to the next call.
        let mut late = Some(journal.clone());
        let report = journal
            .drain(&client)
            .run_size(3)
            .poll_interval(ms(5), ms(50))
            .on_progress(|_| {
                if let Some(journal) = late.take() {
                    tokio::task::block_in_place(|| {
                        tokio::runtime::Handle::current().block_on(record(&journal, 1..=5))
                    });
                }
            })
            .send()
            .await
            .unwrap();
        assert_eq!(report.stopped, DrainStop::WaitingAtStart(6), "{on}");
        assert_eq!((report.runs, report.applied), (2, 6), "{on}");
        assert_eq!(journal.counts(STORE).await.unwrap().recorded, 5, "{on}");
        let report = drain(journal, &client).await;
        assert_eq!(report.applied, 5, "{on}");
        assert_eq!(fake.ledger().len(), 15, "{on}");
    }
}

#[tokio::test]
async fn bad_settings_are_refused_before_anything_is_claimed_or_sent() {
    for backend in backends("drain_settings").await {
        let (journal, on) = (&backend.journal, backend.name);
        let fake = numbered(3).start().await.unwrap();
        let client = client(&fake);
        record(journal, 1..=3).await;
        let cases: Vec<(&str, ecwid_inventory::journal::Drain<'_>)> = vec![
            (
                "a run holds 1 to 500 events, not 0",
                journal.drain(&client).run_size(0),
            ),
            ("not 501", journal.drain(&client).run_size(501)),
            (
                "max_events must be at least 1",
                journal.drain(&client).max_events(0),
            ),
            ("a worker's name", journal.drain(&client).worker("")),
            ("a worker's name", journal.drain(&client).worker("a\nb")),
            (
                "poll interval must not be zero",
                journal.drain(&client).poll_interval(Duration::ZERO, ms(5)),
            ),
            (
                "deadline must not be zero",
                journal.drain(&client).deadline(Duration::ZERO),
            ),
            (
                "lease must not be zero",
                journal.drain(&client).lease(Duration::ZERO),
            ),
            (
                // Default poll timeout 2 min and deadline 2 min, plus 30 s.
                "at least 270s; raise the lease",
                journal.drain(&client).lease(Duration::from_secs(60)),
            ),
            (
                "at least 1230s",
                journal
                    .drain(&client)
                    .poll_timeout(Duration::from_secs(600))
                    .deadline(Duration::from_secs(600)),
            ),
        ];
        for (expected, drain) in cases {
            let error = drain.send().await.unwrap_err();
            assert!(matches!(error, Error::InvalidInput(_)), "{on}: {error:?}");
            assert!(error.to_string().contains(expected), "{on}: {error}");
        }
        assert!(fake.requests().is_empty(), "{on}: nothing sent");
        let runs = backend
            .raw_query("SELECT COUNT(*) FROM ecwid_journal_runs")
            .await;
        assert_eq!(runs, [["0"]], "{on}: nothing claimed");
    }
}

/// A worker stalls while its batch is held; its lease expires and another worker takes the run
/// over. When the batch completes, the stalled worker's next write is refused and it stops;
/// the other finishes the run. One create, everything applied once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_worker_whose_run_was_taken_over_stops_and_the_run_finishes_once() {
    for backend in backends("drain_taken_over").await {
        let on = backend.name;
        let fake = numbered(40).start().await.unwrap();
        let (slow, quick) = (backend.open().await, backend.open().await);
        record(&slow, 1..=40).await;
        fake.pause_batches();
        let slow_drain = {
            let client = client(&fake);
            tokio::spawn(async move {
                slow.drain(&client)
                    .worker("slow")
                    .poll_interval(ms(5), ms(50))
                    .send()
                    .await
            })
        };
        fake.wait_until(|fake| fake.requests().iter().any(|r| r.method == "GET"))
            .await
            .unwrap();
        backend
            .clock
            .advance(ecwid_inventory::journal::DEFAULT_LEASE);
        let quick_drain = {
            let client = client(&fake);
            tokio::spawn(async move {
                quick
                    .drain(&client)
                    .worker("quick")
                    .poll_interval(ms(5), ms(50))
                    .send()
                    .await
            })
        };
        // Ecwid runs the batch only once the quick worker holds the run: until its takeover is
        // saved, the slow worker's expired lease is still the run's, so its writes pass. (The
        // status reads cannot tell: the slow worker keeps reading the held batch meanwhile.)
        wait_for_worker(&backend, "quick").await;
        fake.resume_batches();
        let error = slow_drain.await.unwrap().unwrap_err();
        assert!(!error.may_have_been_applied(), "{on}");
        assert!(
            matches!(&error, Error::Journal { operation, reason, .. }
                if operation == "finish a run" && reason.contains("taken over by another worker")),
            "{on}: {error:?}"
        );
        let report = quick_drain.await.unwrap().unwrap();
        assert_eq!(
            (report.taken_over, report.applied),
            (1, 40),
            "{on}: {report:?}"
        );
        assert_eq!(creates(&fake).len(), 1, "{on}");
        assert_applied_once(&fake, 40);
        assert_journal_applied(&backend.journal, 40).await;
    }
}

/// Waits (at most 30 s, reading the journal's database every 5 ms) until the one open run is
/// held by `worker`.
async fn wait_for_worker(backend: &Backend, worker: &str) {
    let sql = "SELECT worker FROM ecwid_journal_runs WHERE closed_at_ms IS NULL";
    let mut held = Vec::new();
    for _ in 0..6000 {
        held = backend.raw_query(sql).await;
        if held == [[worker]] {
            return;
        }
        tokio::time::sleep(ms(5)).await;
    }
    panic!(
        "{}: the open runs are held by {held:?}, not {worker}",
        backend.name
    );
}

/// Installs, on the journal's own database, a trigger that fails every save of a run whose
/// batch is being created: the journal failing just before a create would be sent.
async fn refuse_creating(backend: &Backend) {
    let sql = match backend.target {
        Target::Sqlite(_) => {
            r#"CREATE TRIGGER refuse_creating BEFORE UPDATE OF document ON ecwid_journal_runs
             WHEN NEW.document LIKE '%"state":"creating"%'
             BEGIN SELECT RAISE(ABORT, 'disk I/O error (a test trigger)'); END;"#
        }
        Target::Postgres(_) => {
            r#"CREATE FUNCTION refuse_creating() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN RAISE EXCEPTION 'could not extend file (a test trigger)'; END $$;
             CREATE TRIGGER refuse_creating BEFORE UPDATE ON ecwid_journal_runs
             FOR EACH ROW WHEN (NEW.document LIKE '%"state":"creating"%')
             EXECUTE FUNCTION refuse_creating();"#
        }
    };
    backend.raw_execute(sql).await;
}

#[tokio::test]
async fn a_journal_that_cannot_record_the_send_fails_clearly_and_sends_nothing() {
    for backend in backends("drain_journal_fails").await {
        let on = backend.name;
        let fake = numbered(30).start().await.unwrap();
        let journal = &on_the_fakes_clock(&backend, &fake).await;
        record(journal, 1..=30).await;
        refuse_creating(&backend).await;

        let error = journal
            .drain(&client(&fake))
            .poll_interval(ms(5), ms(50))
            .send()
            .await
            .unwrap_err();
        let Error::Journal {
            database,
            operation,
            reason,
            ..
        } = &error
        else {
            panic!("{on}: {error:?}")
        };
        assert_eq!(operation, "save a run", "{on}");
        assert!(reason.contains("a test trigger"), "{on}: {reason}");
        assert!(
            database.starts_with("sqlite:") || database.starts_with("postgres://127.0.0.1:"),
            "{on}: {database}"
        );
        assert!(!error.may_have_been_applied(), "{on}");
        assert!(fake.requests().is_empty(), "{on}: nothing was sent");
        // Claimed, their run's plan saved as planned: the run holds them, none sent.
        let counts = journal.counts(STORE).await.unwrap();
        assert_eq!((counts.recorded, counts.sending), (0, 30), "{on}");
        let first = journal.event(STORE, "order-1").await.unwrap().unwrap();
        let EventState::Sending {
            deduplication_key, ..
        } = first.state
        else {
            panic!("{on}: {first:?}")
        };
        let documents = backend
            .raw_query("SELECT document FROM ecwid_journal_runs")
            .await;
        assert!(
            documents[0][0].contains(&format!("\"deduplicationKey\":\"{deduplication_key}\"")),
            "{on}: the key of the run's batch"
        );

        // The database is mended, and the next drain comes an hour later: it takes the run
        // over and sends it, under a new key (the old one may be forgotten, and was never
        // used).
        let mend = match backend.target {
            Target::Sqlite(_) => "DROP TRIGGER refuse_creating",
            Target::Postgres(_) => "DROP TRIGGER refuse_creating ON ecwid_journal_runs",
        };
        backend.raw_execute(mend).await;
        fake.advance_clock(Duration::from_secs(60 * 60));
        let report = drain(journal, &client(&fake)).await;
        assert_eq!(
            (report.taken_over, report.applied),
            (1, 30),
            "{on}: {report:?}"
        );
        assert_eq!(creates(&fake).len(), 1, "{on}");
        assert_applied_once(&fake, 30);
        assert_journal_applied(journal, 30).await;
    }
}

/// PostgreSQL stops while a run's batch is being read: the drain fails, naming the database
/// and the step, once it must write; it sends nothing more. PostgreSQL starts again, and the
/// next drain finishes the run without creating its batch again, then the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_mid_drain_fails_clearly_and_the_next_drain_finishes_once() {
    for mut backend in backends("drain_pg_restart").await {
        let Some(server) = backend.postgres.as_mut() else {
            continue;
        };
        let journal = backend.journal.clone();
        let fake = numbered(1200).start().await.unwrap();
        record_many(&journal, 1..=1200).await;
        fake.pause_batches();
        let drain = {
            let (journal, client) = (journal.clone(), client(&fake));
            tokio::spawn(async move {
                journal
                    .drain(&client)
                    .poll_interval(ms(5), ms(50))
                    .send()
                    .await
            })
        };
        fake.wait_until(|fake| fake.requests().iter().any(|r| r.method == "GET"))
            .await
            .unwrap();
        tokio::task::block_in_place(|| server.stop());
        fake.resume_batches();

        let error = drain.await.unwrap().unwrap_err();
        let text = error.to_string();
        assert!(
            matches!(&error, Error::Journal { operation, .. } if operation == "finish a run"),
            "{error:?}"
        );
        assert!(text.contains("postgres://127.0.0.1:"), "{text}");
        assert!(
            !text.contains(crate::common::postgres::PG_PASSWORD),
            "{text}"
        );
        assert!(!error.may_have_been_applied());
        // The first run's batch went out and ran; nothing after it was sent.
        fake.batches_settled().await;
        assert_eq!(creates(&fake).len(), 1);
        assert_eq!(fake.ledger().len(), 500);

        tokio::task::block_in_place(|| server.start_again());
        backend
            .clock
            .advance(ecwid_inventory::journal::DEFAULT_LEASE);
        let report = drain_report(&journal, &fake).await;
        assert_eq!(
            (report.taken_over, report.runs, report.applied),
            (1, 3, 1200)
        );
        assert_eq!(
            creates(&fake).len(),
            3,
            "the first run's batch was read, not created again"
        );
        assert_applied_once(&fake, 1200);
        assert_journal_applied(&journal, 1200).await;
    }
}

async fn drain_report(
    journal: &Journal,
    fake: &FakeStore,
) -> ecwid_inventory::journal::DrainReport {
    drain(journal, &client(fake)).await
}

/// Ecwid queues a run's batch, and then no longer knows its ticket (here: the store answering
/// is another fake, which never saw it, and answers `404 TICKET_NOT_FOUND`). Within the key's
/// window every drain takes the run over and stops on it; past the window, by the journal's
/// clock, its events end `unknown` (they may have been applied: read the stock), the report
/// counts them, and the drain goes on to the events after them. Nothing is sent twice.
#[tokio::test]
async fn a_run_whose_ticket_ecwid_forgot_ends_unknown_past_the_keys_window() {
    for backend in backends("drain_forgotten_ticket").await {
        let (journal, on) = (&backend.journal, backend.name);
        let first = numbered(20).start().await.unwrap();
        record(journal, 1..=10).await;
        // Queued, and held: the drain gives up polling and leaves the run `sent`.
        first.pause_batches();
        let report = journal
            .drain(&client(&first))
            .poll_interval(ms(5), ms(50))
            .poll_timeout(ms(100))
            .send()
            .await
            .unwrap();
        assert!(
            matches!(report.stopped, DrainStop::RunNotFinished { .. }),
            "{on}: {report:?}"
        );
        assert_eq!(journal.counts(STORE).await.unwrap().sent, 10, "{on}");
        record(journal, 11..=20).await;

        // From now on, Ecwid does not know the ticket.
        let forgetful = numbered(20).start().await.unwrap();
        for _ in 0..2 {
            backend.clock.advance(Duration::from_secs(20 * 60));
            let report = drain(journal, &client(&forgetful)).await;
            assert_eq!((report.taken_over, report.applied), (1, 0), "{on}");
            assert!(
                matches!(&report.stopped, DrainStop::RunNotFinished { reason, .. } if reason.contains("TICKET_NOT_FOUND")),
                "{on}: {report:?}"
            );
            assert_eq!(journal.counts(STORE).await.unwrap().sent, 10, "{on}");
        }
        assert!(creates(&forgetful).is_empty(), "{on}: nothing created");

        // 60 minutes after the ticket was written, past the key's 55. A status read that
        // Ecwid fails with a 5xx says nothing about the ticket: the run waits.
        backend.clock.advance(Duration::from_secs(20 * 60));
        forgetful.inject_fault(Route::BatchStatus, 1000, Fault::respond(503, "busy"));
        let report = journal
            .drain(&client(&forgetful))
            .poll_interval(ms(5), ms(50))
            .deadline(ms(300))
            .send()
            .await
            .unwrap();
        assert!(
            matches!(&report.stopped, DrainStop::RunNotFinished { reason, .. } if reason.contains("503")),
            "{on}: {report:?}"
        );
        assert_eq!((report.unknown, report.forgotten), (0, 0), "{on}");
        assert_eq!(journal.counts(STORE).await.unwrap().sent, 10, "{on}");
        forgetful.clear_faults();

        // Ecwid answers again, refusing the ticket: its events are given up.
        let before = forgetful.requests().len();
        let report = drain(journal, &client(&forgetful)).await;
        assert_eq!(
            report.requests_sent,
            forgetful.requests().len() - before,
            "{on}: every request counted"
        );
        assert_eq!(
            (report.taken_over, report.unknown, report.applied),
            (1, 10, 10),
            "{on}: {report:?}"
        );
        assert_eq!(report.forgotten, 10, "{on}: {report:?}");
        assert_eq!(report.stopped, DrainStop::WaitingAtStart(20), "{on}");
        let counts = journal.counts(STORE).await.unwrap();
        assert_eq!((counts.unknown, counts.applied), (10, 10), "{on}");
        let unknown = journal.unknown(STORE, None, 100).await.unwrap();
        let ids: Vec<_> = unknown.iter().map(|e| e.event.id.clone()).collect();
        let expected: Vec<_> = (1..=10).map(|n| format!("order-{n}")).collect();
        assert_eq!(ids, expected, "{on}");
        let EventState::Unknown { reason, .. } = &unknown[0].state else {
            panic!("{on}: {:?}", unknown[0].state)
        };
        assert!(
            reason.contains("TICKET_NOT_FOUND")
                && reason.contains("may have been applied")
                && reason.contains("never sent again")
                && reason.contains("read the stock"),
            "{on}: {reason}"
        );
        // Only the later run was created, and its events applied, once.
        let creates = creates(&forgetful);
        assert_eq!(creates.len(), 1, "{on}");
        assert_eq!(common::create_len(&creates[0]), 10, "{on}");
        let ledger = forgetful.ledger();
        assert_eq!(ledger.len(), 10, "{on}");
        assert!(
            ledger
                .iter()
                .all(|e| e.item.combination().unwrap().get() > 10),
            "{on}"
        );
        // Nothing is left: the next drain sends nothing.
        let sent = forgetful.requests().len();
        let again = drain(journal, &client(&forgetful)).await;
        assert_eq!(
            (again.runs, again.stopped),
            (0, DrainStop::NothingWaiting),
            "{on}"
        );
        assert_eq!(forgetful.requests().len(), sent, "{on}");
        first.resume_batches();
    }
}

/// A dead worker's run of which nothing was sent (the journal failed as its create was about
/// to be sent) is taken over within `max_events`: the drain keeps as many of its events as the
/// bound leaves, in order, and puts the rest back to wait, first in line for the next drain.
#[tokio::test]
async fn a_run_never_sent_is_taken_over_within_max_events() {
    for backend in backends("drain_take_over_split").await {
        let (journal, on) = (&backend.journal, backend.name);
        let fake = numbered(10).start().await.unwrap();
        let client = client(&fake);
        record(journal, 1..=10).await;
        refuse_creating(&backend).await;
        let error = journal.drain(&client).send().await.unwrap_err();
        assert!(matches!(error, Error::Journal { .. }), "{on}: {error:?}");
        let mend = match backend.target {
            Target::Sqlite(_) => "DROP TRIGGER refuse_creating",
            Target::Postgres(_) => "DROP TRIGGER refuse_creating ON ecwid_journal_runs",
        };
        backend.raw_execute(mend).await;
        backend
            .clock
            .advance(ecwid_inventory::journal::DEFAULT_LEASE);

        let report = journal
            .drain(&client)
            .max_events(4)
            .poll_interval(ms(5), ms(50))
            .send()
            .await
            .unwrap();
        assert_eq!(
            (report.taken_over, report.applied, report.runs),
            (1, 4, 1),
            "{on}: {report:?}"
        );
        assert_eq!(report.stopped, DrainStop::MaxEvents(4), "{on}");
        let counts = journal.counts(STORE).await.unwrap();
        assert_eq!(
            (counts.applied, counts.recorded, counts.sending),
            (4, 6, 0),
            "{on}"
        );
        let creates_now = creates(&fake);
        assert_eq!(creates_now.len(), 1, "{on}");
        assert_eq!(common::create_len(&creates_now[0]), 4, "{on}");
        for n in 1..=4 {
            let record = journal
                .event(STORE, &format!("order-{n}"))
                .await
                .unwrap()
                .unwrap();
            assert!(
                matches!(record.state, EventState::Applied { .. }),
                "{on}: order-{n} {:?}",
                record.state
            );
        }

        // The rest wait as any recorded event: the next drain claims them.
        let report = drain(journal, &client).await;
        assert_eq!(
            (report.taken_over, report.applied),
            (0, 6),
            "{on}: {report:?}"
        );
        assert_applied_once(&fake, 10);
        assert_journal_applied(journal, 10).await;
        let open = backend
            .raw_query("SELECT COUNT(*) FROM ecwid_journal_runs WHERE closed_at_ms IS NULL")
            .await;
        assert_eq!(open, [["0"]], "{on}: every run closed");
    }
}

/// A dead worker's run whose batch Ecwid queued is taken over whole, however few events
/// `max_events` leaves: its events went to Ecwid as one batch under one deduplication key, and
/// only that batch, whole, can be read back. The report says how far past the bound it went.
#[tokio::test]
async fn a_run_already_sent_is_taken_over_whole_past_max_events_and_reported() {
    for backend in backends("drain_take_over_whole").await {
        let (journal, on) = (&backend.journal, backend.name);
        let fake = numbered(12).start().await.unwrap();
        let client = client(&fake);
        record(journal, 1..=10).await;
        fake.pause_batches();
        let report = journal
            .drain(&client)
            .poll_interval(ms(5), ms(50))
            .poll_timeout(ms(100))
            .send()
            .await
            .unwrap();
        assert!(
            matches!(report.stopped, DrainStop::RunNotFinished { .. }),
            "{on}: {report:?}"
        );
        record(journal, 11..=12).await;
        fake.resume_batches();

        let report = journal
            .drain(&client)
            .max_events(3)
            .poll_interval(ms(5), ms(50))
            .send()
            .await
            .unwrap();
        assert_eq!(
            (report.taken_over, report.applied, report.runs),
            (1, 10, 1),
            "{on}: {report:?}"
        );
        assert_eq!(report.beyond_max_events, 7, "{on}: {report:?}");
        assert_eq!(report.stopped, DrainStop::MaxEvents(3), "{on}");
        assert_eq!(journal.counts(STORE).await.unwrap().recorded, 2, "{on}");
        assert_eq!(creates(&fake).len(), 1, "{on}: read, not created again");

        // Within the bound, nothing goes past it.
        let report = journal
            .drain(&client)
            .max_events(3)
            .poll_interval(ms(5), ms(50))
            .send()
            .await
            .unwrap();
        assert_eq!((report.applied, report.beyond_max_events), (2, 0), "{on}");
        assert_applied_once(&fake, 12);
    }
}
