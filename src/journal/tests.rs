//! Runs (claims, leases, take-overs, finishing, releasing) and what follows from them (reads of
//! failed and unknown events, purging), on both backends with the same test code: a SQLite file,
//! and a real PostgreSQL server started for each test (see `tests/common/postgres.rs`, shared
//! with the integration tests in `tests/journal/`).

#[path = "../../tests/common/postgres.rs"]
mod harness;

use std::{
    collections::HashSet,
    time::{Duration, UNIX_EPOCH},
};

use serde_json::json;

use super::{ClaimedRun, Event, EventRecord, EventState, Journal, JournalError, PlanFn};
use crate::{Error, ProductId, StockChange, StockItem, StoreId, TimeSource};
use harness::{backends, Backend};

const STORE: StoreId = StoreId::new(1003);
const OTHER_STORE: StoreId = StoreId::new(2002);
const LEASE: Duration = Duration::from_secs(60);
const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// An event selling one of product `n`, which occurred `n` ms into 2026.
fn sale(store: StoreId, n: u64) -> Event {
    Event::new(
        store,
        format!("order-{n}"),
        StockItem::Product {
            product: ProductId::new(n),
        },
        StockChange::Delta(-1),
        UNIX_EPOCH + Duration::from_millis(1_767_225_600_000 + n),
    )
}

async fn record(journal: &Journal, store: StoreId, numbers: impl IntoIterator<Item = u64>) {
    for n in numbers {
        assert!(journal.record(&sale(store, n)).await.unwrap().is_new());
    }
}

/// A plan listing the ids of its events, as the drain's bulk plan lists its items.
fn plan() -> PlanFn {
    Box::new(|events| {
        let ids: Vec<_> = events.iter().map(|e| e.event.id.clone()).collect();
        Ok((json!({ "ids": ids }), Vec::new()))
    })
}

fn ids(run: &ClaimedRun) -> Vec<String> {
    run.events.iter().map(|e| e.event.id.clone()).collect()
}

async fn claim(journal: &Journal, worker: &str, max: usize) -> Option<ClaimedRun> {
    journal
        .claim(STORE, worker, max, LEASE, plan())
        .await
        .unwrap()
}

fn applied() -> EventState {
    EventState::Applied {
        update_count: 1,
        warning: None,
    }
}

fn failed(code: &str) -> EventState {
    EventState::Failed {
        status: Some(404),
        error_code: Some(code.into()),
        error_message: None,
    }
}

fn unknown() -> EventState {
    EventState::Unknown {
        reason: "the batch's key expired".into(),
    }
}

async fn states(journal: &Journal, store: StoreId, numbers: &[u64]) -> Vec<EventState> {
    let mut states = Vec::new();
    for n in numbers {
        let record = journal.event(store, &format!("order-{n}")).await.unwrap();
        states.push(record.unwrap().state);
    }
    states
}

#[tokio::test]
async fn a_claim_takes_the_oldest_waiting_events_into_a_run_with_its_document() {
    for backend in backends("claim_order").await {
        let (journal, on) = (&backend.journal, backend.name);
        // Recorded out of order: they are taken by when they occurred.
        record(journal, STORE, [5, 3, 1, 4, 2]).await;
        record(journal, OTHER_STORE, [9]).await;
        let run = claim(journal, "worker-a", 3).await.unwrap();
        assert_eq!(ids(&run), ["order-1", "order-2", "order-3"], "{on}");
        assert_eq!(
            run.document,
            json!({"ids": ["order-1", "order-2", "order-3"]}),
            "{on}"
        );
        assert_eq!(run.lease.worker, "worker-a");
        assert_eq!(run.lease.until, backend.clock.now() + LEASE, "{on}");
        let rest = claim(journal, "worker-b", 500).await.unwrap();
        assert_eq!(ids(&rest), ["order-4", "order-5"], "{on}");
        assert_ne!(rest.lease.run_id, run.lease.run_id, "{on}");
        assert!(claim(journal, "worker-c", 500).await.is_none(), "{on}");
        // The other store's event waits for its own claim.
        let other = journal
            .claim(OTHER_STORE, "worker-a", 10, LEASE, plan())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(ids(&other), ["order-9"], "{on}");
        // A claimed event is still recorded: nothing of it was sent.
        assert_eq!(journal.counts(STORE).await.unwrap().recorded, 5, "{on}");
    }
}

#[tokio::test]
async fn bad_claims_and_a_failing_plan_claim_nothing() {
    for backend in backends("claim_refused").await {
        let (journal, on) = (&backend.journal, backend.name);
        record(journal, STORE, 1..=3).await;
        for (max, worker, lease) in [
            (0, "w", LEASE),
            (501, "w", LEASE),
            (1, "", LEASE),
            (1, "w", Duration::ZERO),
            (1, "w", 2 * DAY),
        ] {
            let error = journal.claim(STORE, worker, max, lease, plan()).await;
            assert!(
                matches!(error, Err(JournalError::InvalidInput(_))),
                "{on}: {max} {worker:?} {lease:?}: {error:?}"
            );
        }
        let refuse: PlanFn = Box::new(|_| Err(Error::InvalidInput("item 2: no".into())));
        let error = journal
            .claim(STORE, "w", 10, LEASE, refuse)
            .await
            .unwrap_err();
        assert_eq!(
            Error::from(error).to_string(),
            "invalid input: item 2: no",
            "{on}"
        );
        let run = claim(journal, "w", 10).await.unwrap();
        assert_eq!(run.events.len(), 3, "{on}: the failed claim took nothing");
    }
}

/// Concurrent claimers over thousands of events: every event is claimed, by exactly one.
async fn claim_all_concurrently(backend: &Backend, journals: Vec<Journal>) {
    const EVENTS: u64 = 2000;
    let on = backend.name;
    let writer = &backend.journal;
    // Recorded in batches of concurrent calls, to spend less time here than claiming.
    for chunk in (1..=EVENTS).collect::<Vec<_>>().chunks(50) {
        let calls = chunk.iter().map(|n| writer.record_owned(sale(STORE, *n)));
        for recorded in futures_join(calls).await {
            assert!(recorded.is_new());
        }
    }
    let mut tasks = Vec::new();
    for (n, journal) in journals.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            // Bounded: 2000 events in runs of at least 1 take at most 2000 claims.
            for _ in 0..=EVENTS {
                let Some(run) = journal
                    .claim(STORE, &format!("worker-{n}"), 37, LEASE, plan())
                    .await
                    .unwrap()
                else {
                    return mine;
                };
                mine.extend(run.events.iter().map(|e| e.sequence));
            }
            panic!("claimed more runs than there are events");
        }));
    }
    let mut seen = HashSet::new();
    let mut per_worker = Vec::new();
    for task in tasks {
        let mine = task.await.unwrap();
        per_worker.push(mine.len());
        for sequence in mine {
            assert!(
                seen.insert(sequence),
                "{on}: event {sequence} claimed twice"
            );
        }
    }
    assert_eq!(
        seen.len() as u64,
        EVENTS,
        "{on}: every event claimed ({per_worker:?})"
    );
    assert!(claim(writer, "late", 500).await.is_none(), "{on}");
}

/// `join_all` without another dependency: the futures run concurrently on the runtime.
async fn futures_join<T: Send + 'static>(
    futures: impl Iterator<Item = impl std::future::Future<Output = T> + Send + 'static>,
) -> Vec<T> {
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut results = Vec::new();
    for handle in handles {
        results.push(handle.await.unwrap());
    }
    results
}

impl Journal {
    /// `record` as a future that owns what it needs, for spawning.
    fn record_owned(
        &self,
        event: Event,
    ) -> impl std::future::Future<Output = super::Recorded> + Send + 'static {
        let journal = self.clone();
        async move { journal.record(&event).await.unwrap() }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_claimers_sharing_one_journal_never_take_the_same_event() {
    for backend in backends("claim_tasks").await {
        let journals = vec![backend.journal.clone(); 4];
        claim_all_concurrently(&backend, journals).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_claimers_on_separate_connections_never_take_the_same_event() {
    for backend in backends("claim_connections").await {
        let mut journals = Vec::new();
        for _ in 0..4 {
            journals.push(backend.open().await);
        }
        claim_all_concurrently(&backend, journals).await;
    }
}

/// A worker's lease expires and another takes the run over, with its last saved document:
/// the first worker's saves and its finish are refused from then on, writing nothing.
#[tokio::test]
async fn a_lease_taken_over_makes_the_old_holders_writes_fail() {
    for backend in backends("take_over").await {
        let (journal, on) = (&backend.journal, backend.name);
        record(journal, STORE, 1..=3).await;
        let mut run = claim(journal, "worker-a", 10).await.unwrap();
        let checkpoint = json!({"ids": ids(&run), "step": "creating"});
        let sending = EventState::Sending {
            deduplication_key: "k-1".into(),
        };
        journal
            .save_run(&mut run.lease, &checkpoint, &[(0, sending.clone())], LEASE)
            .await
            .unwrap();
        assert_eq!(
            states(journal, STORE, &[1, 2]).await,
            [sending.clone(), EventState::Recorded],
            "{on}"
        );

        // Not expired yet: nothing to take over.
        backend.clock.advance(LEASE - Duration::from_millis(1));
        assert!(
            journal
                .take_over(STORE, "worker-b", LEASE)
                .await
                .unwrap()
                .is_none(),
            "{on}"
        );
        // Expired (worker-a is gone, or stalled).
        backend.clock.advance(Duration::from_millis(1));
        let mut taken = journal
            .take_over(STORE, "worker-b", LEASE)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(taken.lease.run_id, run.lease.run_id, "{on}");
        assert_eq!(taken.lease.worker, "worker-b", "{on}");
        assert_eq!(
            taken.document, checkpoint,
            "{on}: resumed from the saved document"
        );
        assert_eq!(ids(&taken), ["order-1", "order-2", "order-3"], "{on}");
        assert_eq!(taken.events[0].state, sending, "{on}");
        assert!(
            journal
                .take_over(STORE, "worker-c", LEASE)
                .await
                .unwrap()
                .is_none(),
            "{on}"
        );

        // worker-a wakes up: it learns it must stop, and writes nothing.
        let stale = json!({"step": "stale"});
        let error = journal
            .save_run(&mut run.lease, &stale, &[(1, sending.clone())], LEASE)
            .await
            .unwrap_err();
        assert!(
            matches!(error, JournalError::LeaseLost { ref run_id, .. } if *run_id == run.lease.run_id),
            "{on}: {error:?}"
        );
        let error = journal
            .finish_run(&run.lease, &[applied(), applied(), applied()])
            .await
            .unwrap_err();
        assert!(
            matches!(error, JournalError::LeaseLost { .. }),
            "{on}: {error:?}"
        );
        assert!(Error::from(error)
            .to_string()
            .contains("taken over by another worker"));
        let error = journal.release_run(&run.lease).await.unwrap_err();
        assert!(
            matches!(error, JournalError::LeaseLost { .. }),
            "{on}: {error:?}"
        );
        // The outcomes the old holder tried to write were rolled back with its finish.
        assert_eq!(
            states(journal, STORE, &[1, 2, 3]).await,
            [sending.clone(), EventState::Recorded, EventState::Recorded],
            "{on}"
        );

        // worker-b goes on, and a save extends its lease.
        backend.clock.advance(LEASE / 2);
        journal
            .save_run(&mut taken.lease, &json!({"step": 2}), &[], LEASE)
            .await
            .unwrap();
        assert_eq!(taken.lease.until, backend.clock.now() + LEASE, "{on}");
        backend.clock.advance(LEASE - Duration::from_millis(1));
        assert!(
            journal
                .take_over(STORE, "worker-c", LEASE)
                .await
                .unwrap()
                .is_none(),
            "{on}"
        );
        journal
            .finish_run(
                &taken.lease,
                &[applied(), failed("PRODUCT_NOT_FOUND"), unknown()],
            )
            .await
            .unwrap();
        // A finished run is never taken over, however old.
        backend.clock.advance(DAY);
        assert!(
            journal
                .take_over(STORE, "worker-c", LEASE)
                .await
                .unwrap()
                .is_none(),
            "{on}"
        );
    }
}

#[tokio::test]
async fn finishing_writes_every_outcome_and_closes_the_run_or_nothing() {
    for backend in backends("finish").await {
        let (journal, on) = (&backend.journal, backend.name);
        record(journal, STORE, 1..=3).await;
        let mut run = claim(journal, "worker-a", 10).await.unwrap();
        let wrong: [(&str, Vec<EventState>); 3] = [
            ("too few", vec![applied(), applied()]),
            ("too many", vec![applied(); 4]),
            (
                "not final",
                vec![applied(), EventState::Recorded, applied()],
            ),
        ];
        for (what, outcomes) in wrong {
            let error = journal.finish_run(&run.lease, &outcomes).await.unwrap_err();
            assert!(
                matches!(error, JournalError::InvalidInput(_)),
                "{on}, {what}: {error:?}"
            );
            assert_eq!(
                states(journal, STORE, &[1, 2, 3]).await,
                [
                    EventState::Recorded,
                    EventState::Recorded,
                    EventState::Recorded
                ],
                "{on}, {what}: nothing written"
            );
        }
        // A save naming a position the run does not have writes nothing either.
        let error = journal
            .save_run(
                &mut run.lease,
                &json!({}),
                &[(0, applied()), (7, applied())],
                LEASE,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(error, JournalError::InvalidInput(_)),
            "{on}: {error:?}"
        );
        assert_eq!(
            states(journal, STORE, &[1]).await,
            [EventState::Recorded],
            "{on}"
        );

        backend.clock.advance(Duration::from_secs(5));
        let outcomes = [applied(), failed("PRODUCT_NOT_FOUND"), unknown()];
        journal.finish_run(&run.lease, &outcomes).await.unwrap();
        assert_eq!(states(journal, STORE, &[1, 2, 3]).await, outcomes, "{on}");
        let record = journal.event(STORE, "order-1").await.unwrap().unwrap();
        assert_eq!(record.state_changed_at, backend.clock.now(), "{on}");
        let counts = journal.counts(STORE).await.unwrap();
        assert_eq!(
            (
                counts.applied,
                counts.failed,
                counts.unknown,
                counts.recorded
            ),
            (1, 1, 1, 0),
            "{on}"
        );
        // Finished once: the run is closed.
        let again = journal.finish_run(&run.lease, &outcomes).await.unwrap_err();
        assert!(
            matches!(again, JournalError::LeaseLost { .. }),
            "{on}: {again:?}"
        );
        // Final events are never claimed again, and a redelivery returns their outcome.
        assert!(claim(journal, "worker-b", 10).await.is_none(), "{on}");
        let redelivered = journal.record(&sale(STORE, 2)).await.unwrap();
        assert_eq!(redelivered.state(), &failed("PRODUCT_NOT_FOUND"), "{on}");
    }
}

#[test]
fn equal_states_at_consecutive_positions_make_one_range() {
    let a = |p: i64| (p, "sent", "{\"ticket\":\"t-1\"}".to_owned());
    let b = |p: i64| (p, "sent", "{\"ticket\":\"t-2\"}".to_owned());
    let states = vec![a(0), a(1), a(2), b(3), a(4), a(6), (7, "sending", a(7).2)];
    let ranges: Vec<(i64, i64, &str, &str)> = super::run::state_ranges(&states)
        .iter()
        .map(|r| (r.first, r.last, r.state, r.detail))
        .collect();
    let (t1, t2) = (a(0).2, b(0).2);
    assert_eq!(
        ranges,
        [
            (0, 2, "sent", t1.as_str()),
            (3, 3, "sent", t2.as_str()),
            (4, 4, "sent", t1.as_str()),
            (6, 6, "sent", t1.as_str()),
            (7, 7, "sending", t1.as_str()),
        ]
    );
}

#[tokio::test]
async fn states_are_written_range_by_range_each_event_its_own() {
    for backend in backends("ranges").await {
        let (journal, on) = (&backend.journal, backend.name);
        record(journal, STORE, 1..=6).await;
        let mut run = claim(journal, "worker-a", 10).await.unwrap();
        let sending = |key: &str| EventState::Sending {
            deduplication_key: key.into(),
        };
        let saved = [
            (0, sending("k-1")),
            (1, sending("k-1")),
            (2, sending("k-1")),
            (3, sending("k-2")),
            (5, sending("k-1")),
        ];
        journal
            .save_run(&mut run.lease, &json!({}), &saved, LEASE)
            .await
            .unwrap();
        assert_eq!(
            states(journal, STORE, &[1, 2, 3, 4, 5, 6]).await,
            [
                sending("k-1"),
                sending("k-1"),
                sending("k-1"),
                sending("k-2"),
                EventState::Recorded,
                sending("k-1")
            ],
            "{on}"
        );
        let outcomes = [
            applied(),
            applied(),
            failed("PRODUCT_NOT_FOUND"),
            applied(),
            applied(),
            unknown(),
        ];
        journal.finish_run(&run.lease, &outcomes).await.unwrap();
        assert_eq!(
            states(journal, STORE, &[1, 2, 3, 4, 5, 6]).await,
            outcomes,
            "{on}"
        );
    }
}

#[tokio::test]
async fn a_released_run_puts_its_events_back_first_in_line() {
    for backend in backends("release").await {
        let (journal, on) = (&backend.journal, backend.name);
        record(journal, STORE, 1..=2).await;
        let mut run = claim(journal, "worker-a", 10).await.unwrap();
        let sending = EventState::Sending {
            deduplication_key: "k".into(),
        };
        journal
            .save_run(&mut run.lease, &json!({}), &[(0, sending)], LEASE)
            .await
            .unwrap();
        record(journal, STORE, 3..=3).await;
        journal.release_run(&run.lease).await.unwrap();
        assert_eq!(
            states(journal, STORE, &[1, 2, 3]).await,
            [
                EventState::Recorded,
                EventState::Recorded,
                EventState::Recorded
            ],
            "{on}"
        );
        let again = claim(journal, "worker-b", 2).await.unwrap();
        assert_eq!(ids(&again), ["order-1", "order-2"], "{on}");
        // The released run is closed: never taken over.
        backend.clock.advance(DAY);
        let taken = journal
            .take_over(STORE, "worker-c", LEASE)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(taken.lease.run_id, again.lease.run_id, "{on}");
    }
}

#[tokio::test]
async fn a_shortened_run_keeps_its_first_events_and_puts_the_rest_back_first_in_line() {
    for backend in backends("shorten").await {
        let (journal, on) = (&backend.journal, backend.name);
        record(journal, STORE, 1..=5).await;
        let sending = EventState::Sending {
            deduplication_key: "k".into(),
        };
        let mut run = claim(journal, "worker-a", 10).await.unwrap();
        let all: Vec<_> = (0..5).map(|n| (n, sending.clone())).collect();
        journal
            .save_run(&mut run.lease, &json!({"step": "planned"}), &all, LEASE)
            .await
            .unwrap();
        record(journal, STORE, 6..=6).await;

        // Another worker's lease: refused, and nothing changes.
        backend.clock.advance(LEASE);
        let taken = journal
            .take_over(STORE, "worker-b", LEASE)
            .await
            .unwrap()
            .unwrap();
        let error = journal
            .shorten_run(&run.lease, 2, &json!({"step": "stale"}))
            .await
            .unwrap_err();
        assert!(
            matches!(error, JournalError::LeaseLost { .. }),
            "{on}: {error:?}"
        );
        assert_eq!(
            states(journal, STORE, &[3, 4, 5]).await,
            vec![sending.clone(); 3],
            "{on}"
        );
        let error = journal
            .shorten_run(&taken.lease, 0, &json!({}))
            .await
            .unwrap_err();
        assert!(
            matches!(error, JournalError::InvalidInput(_)),
            "{on}: {error:?}"
        );

        journal
            .shorten_run(&taken.lease, 2, &json!({"ids": ["order-1", "order-2"]}))
            .await
            .unwrap();
        assert_eq!(
            states(journal, STORE, &[1, 2, 3, 4, 5]).await,
            [
                sending.clone(),
                sending.clone(),
                EventState::Recorded,
                EventState::Recorded,
                EventState::Recorded
            ],
            "{on}"
        );
        let documents = backend
            .raw_query("SELECT document FROM ecwid_journal_runs")
            .await;
        assert_eq!(
            documents,
            [[r#"{"ids":["order-1","order-2"]}"#]],
            "{on}: the new plan saved with it"
        );
        // The run finishes with the events it kept; those put back are claimed first.
        journal
            .finish_run(&taken.lease, &[applied(), applied()])
            .await
            .unwrap();
        let next = claim(journal, "worker-c", 3).await.unwrap();
        assert_eq!(ids(&next), ["order-3", "order-4", "order-5"], "{on}");
    }
}

/// Finishes one run over events `numbers` with `outcomes`.
async fn finish(
    journal: &Journal,
    numbers: std::ops::RangeInclusive<u64>,
    outcomes: &[EventState],
) {
    record(journal, STORE, numbers).await;
    let run = claim(journal, "worker", 500).await.unwrap();
    journal.finish_run(&run.lease, outcomes).await.unwrap();
}

#[tokio::test]
async fn failed_and_unknown_events_are_read_page_by_page() {
    for backend in backends("reads").await {
        let (journal, on) = (&backend.journal, backend.name);
        let outcomes = [
            failed("A"),
            unknown(),
            applied(),
            failed("B"),
            failed("C"),
            unknown(),
        ];
        finish(journal, 1..=6, &outcomes).await;
        let page = journal.failed(STORE, None, 2).await.unwrap();
        let names =
            |page: &[EventRecord]| page.iter().map(|r| r.event.id.clone()).collect::<Vec<_>>();
        assert_eq!(names(&page), ["order-1", "order-4"], "{on}");
        let next = journal
            .failed(STORE, Some(page[1].sequence), 2)
            .await
            .unwrap();
        assert_eq!(names(&next), ["order-5"], "{on}");
        assert_eq!(next[0].state, failed("C"), "{on}");
        let last = journal
            .failed(STORE, Some(next[0].sequence), 2)
            .await
            .unwrap();
        assert!(last.is_empty(), "{on}");
        let unknown = journal.unknown(STORE, None, 1000).await.unwrap();
        assert_eq!(names(&unknown), ["order-2", "order-6"], "{on}");
        assert!(
            journal
                .failed(OTHER_STORE, None, 10)
                .await
                .unwrap()
                .is_empty(),
            "{on}"
        );
    }
}

#[tokio::test]
async fn purge_removes_final_events_past_the_retention_by_the_journals_clock() {
    for backend in backends("purge").await {
        let on = backend.name;
        let journal = Journal::builder()
            .time_source(TimeSource::new(backend.clock.reader()))
            .retention(7 * DAY)
            .open_sqlite_or_postgres(&backend)
            .await;
        finish(&journal, 1..=2, &[applied(), failed("A")]).await;
        // Still waiting, and claimed into a run that is never finished: never purged.
        record(&journal, STORE, 3..=3).await;
        record(&journal, STORE, 4..=4).await;
        let open_run = claim(&journal, "worker", 1).await.unwrap();
        assert_eq!(ids(&open_run), ["order-3"]);

        backend.clock.advance(7 * DAY - Duration::from_millis(1));
        assert_eq!(
            journal.purge().await.unwrap(),
            0,
            "{on}: kept for the whole retention"
        );
        backend.clock.advance(Duration::from_millis(2));
        assert_eq!(journal.purge().await.unwrap(), 2, "{on}");
        assert_eq!(journal.event(STORE, "order-1").await.unwrap(), None, "{on}");
        assert!(
            journal.event(STORE, "order-3").await.unwrap().is_some(),
            "{on}"
        );
        assert!(
            journal.event(STORE, "order-4").await.unwrap().is_some(),
            "{on}"
        );
        let runs = backend
            .raw_query("SELECT closed_as FROM ecwid_journal_runs ORDER BY created_at_ms")
            .await;
        assert_eq!(
            runs,
            [[String::new()]],
            "{on}: the finished run is gone, the open one kept"
        );

        // Delivered again after its record was purged: a new event (see the retention docs).
        assert!(
            journal.record(&sale(STORE, 1)).await.unwrap().is_new(),
            "{on}"
        );
        backend.clock.advance(30 * DAY);
        assert_eq!(journal.purge().await.unwrap(), 0, "{on}: nothing final");
        // The default retention is 30 days.
        assert_eq!(backend.journal.retention(), super::DEFAULT_RETENTION);
    }
}

/// A database at schema 2 (as the last release before migration 3 left it), remade from the
/// migrations themselves, with an event waiting, one held by an open run, one failed and one
/// applied in a finished run, and a counter past its last event (the newest purged).
async fn at_schema_2(backend: &Backend) {
    let sqlite = matches!(backend.target, harness::Target::Sqlite(_));
    backend
        .raw_execute(
            "DROP TABLE ecwid_journal_events; DROP TABLE ecwid_journal_runs;
             DROP TABLE ecwid_sales_events; DROP TABLE ecwid_sales_orders;
             DROP TABLE ecwid_sales_lines; DROP TABLE ecwid_sales_movements;
             DROP TABLE ecwid_sales_cursors; DROP TABLE ecwid_journal_migrations;",
        )
        .await;
    let mut sql = super::schema::MIGRATIONS_TABLE.to_owned() + ";";
    for migration in &super::schema::MIGRATIONS[..2] {
        sql += if sqlite {
            migration.sqlite
        } else {
            migration.postgres
        };
        sql += &format!(
            ";INSERT INTO ecwid_journal_migrations (version, description, applied_at_ms)
             VALUES ({}, 'earlier', 0);",
            migration.version
        );
    }
    let (yes, detail) = (if sqlite { "1" } else { "true" }, |state: &EventState| {
        serde_json::to_string(state).unwrap()
    });
    let (recorded, sending, failed, applied) = (
        detail(&EventState::Recorded),
        detail(&EventState::Sending {
            deduplication_key: "k".into(),
        }),
        detail(&failed("E")),
        detail(&applied()),
    );
    sql += &format!(
        "INSERT INTO ecwid_journal_runs (run_id, store_id, worker, lease_id, lease_until_ms,
             document, created_at_ms, saved_at_ms)
         VALUES ('run-1', 1003, 'w', 'lease-1', 9999999999999, '{{}}', 1, 1);
         INSERT INTO ecwid_journal_runs (run_id, store_id, worker, lease_id, lease_until_ms,
             document, created_at_ms, saved_at_ms, closed_at_ms, closed_as)
         VALUES ('run-0', 1003, 'w', 'lease-0', 3, '{{}}', 1, 8, 8, 'finished');
         INSERT INTO ecwid_journal_events (seq, store_id, event_id, product_id, combination_id,
             change_kind, change_value, check_low_stock, occurred_at_ms, recorded_at_ms, state,
             state_detail, state_changed_at_ms, run_id, run_position) {}
         VALUES (1, 1003, 'order-1', 1, NULL, 'delta', -1, {yes}, 1767225600001, 5, 'recorded',
                 '{recorded}', 5, NULL, NULL),
                (2, 1003, 'order-2', 2, 7, 'set', 4, NULL, 1767225600002, 5, 'sending',
                 '{sending}', 6, 'run-1', 0),
                (3, 1003, 'order-3', 3, NULL, 'unlimited', NULL, NULL, 1767225600003, 5,
                 'failed', '{failed}', 7, 'run-0', 0),
                (4, 1003, 'order-4', 4, NULL, 'delta', 2, NULL, 1767225600004, 5, 'applied',
                 '{applied}', 8, 'run-0', 1);",
        if sqlite {
            ""
        } else {
            "OVERRIDING SYSTEM VALUE"
        },
    );
    sql += if sqlite {
        "UPDATE sqlite_sequence SET seq = 500 WHERE name = 'ecwid_journal_events';"
    } else {
        "SELECT setval(pg_get_serial_sequence('ecwid_journal_events', 'seq'), 500);"
    };
    backend.raw_execute(&sql).await;
}

#[tokio::test]
async fn a_journal_at_schema_2_is_migrated_keeping_its_events_runs_and_numbering() {
    for backend in backends("schema_2").await {
        let on = backend.name;
        at_schema_2(&backend).await;
        let journal = backend.open().await;
        let versions = backend
            .raw_query("SELECT MAX(version) FROM ecwid_journal_migrations")
            .await;
        assert_eq!(versions, [[super::SCHEMA_VERSION.to_string()]], "{on}");

        let mut kept = Vec::new();
        for n in 1..=4 {
            let id = format!("order-{n}");
            kept.push(journal.event(STORE, &id).await.unwrap().unwrap());
        }
        assert_eq!(
            kept.iter().map(|e| e.sequence).collect::<Vec<_>>(),
            [1, 2, 3, 4],
            "{on}"
        );
        assert_eq!(
            kept[1].event.item,
            StockItem::Variation {
                product: ProductId::new(2),
                combination: crate::CombinationId::new(7)
            },
            "{on}"
        );
        assert_eq!(
            kept[0].event.check_low_stock_notification,
            Some(true),
            "{on}"
        );
        assert_eq!(kept[2].state, failed("E"), "{on}");
        let counts = journal.counts(STORE).await.unwrap();
        assert_eq!(
            (
                counts.recorded,
                counts.sending,
                counts.failed,
                counts.applied
            ),
            (1, 1, 1, 1),
            "{on}"
        );
        let listed = journal.failed(STORE, None, 10).await.unwrap();
        assert_eq!(listed, [kept[2].clone()], "{on}");

        // The run still holds its event, and the waiting one is claimed.
        let run = claim(&journal, "worker", 500).await.unwrap();
        assert_eq!(ids(&run), ["order-1"], "{on}");
        let held = backend
            .raw_query("SELECT event_id FROM ecwid_journal_events WHERE run_id = 'run-1'")
            .await;
        assert_eq!(held, [["order-2"]], "{on}");

        // Numbers go on from the counter, past the purged ones: none is used twice.
        let new = journal.record(&sale(STORE, 5)).await.unwrap();
        assert_eq!(new.record().sequence, 501, "{on}");
    }
}

impl super::JournalBuilder {
    async fn open_sqlite_or_postgres(self, backend: &Backend) -> Journal {
        match &backend.target {
            harness::Target::Sqlite(path) => self.open_sqlite(path).await.unwrap(),
            harness::Target::Postgres(url) => self.connect_postgres(url).await.unwrap(),
        }
    }
}
