//! Group commit and `record_many`, on both backends: many concurrent recorders, of distinct
//! and of the same ids; a group holding events the database refuses (those fail alone, the
//! others are recorded) and one whose server stops under it (every caller told, nothing of it
//! kept); a batch's round trip
//! and its refusal of bad input; and a recording process killed (SIGKILL) while groups are
//! being committed, which loses no event it acknowledged.
//!
//! Some tests run on tokio's current-thread runtime so that a group's make-up is known: there
//! the committer, a task of its own, runs only once the test's task waits, so every call that
//! `join_all` polls first is in the first group.

use std::collections::{HashMap, HashSet};
use std::process::Stdio;

use ecwid_inventory::journal::{Event, Journal, Recorded, MAX_GROUP};
use ecwid_inventory::{Error, StockChange, StoreId};
use futures::future::join_all;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::common::postgres::{backends, Backend, Target};
use crate::{sale, sale_with, STORE};

const RECORDERS: usize = 64;

/// Every event of `ids` is stored as `sale(id)`.
async fn assert_readable(journal: &Journal, ids: &[String], on: &str) {
    for id in ids {
        let stored = journal.event(STORE, id).await.unwrap();
        assert_eq!(
            stored.map(|r| r.event),
            Some(sale(id)),
            "{on}: {id} as recorded"
        );
    }
}

/// 64 recorders at once, each of its own 40 ids, through one journal: every call new, every
/// event stored once under a number of its own and readable afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_recorders_of_distinct_ids_each_record_theirs() {
    for backend in backends("group_distinct").await {
        let on = backend.name;
        let mut tasks = Vec::new();
        for recorder in 0..RECORDERS {
            let journal = backend.journal.clone();
            tasks.push(tokio::spawn(async move {
                let mut sequences = Vec::new();
                for n in 0..40 {
                    let recorded = journal
                        .record(&sale(&format!("r{recorder}-{n}")))
                        .await
                        .unwrap();
                    let Recorded::New(record) = recorded else {
                        panic!("r{recorder}-{n}: {recorded:?}")
                    };
                    sequences.push(record.sequence);
                }
                sequences
            }));
        }
        let mut sequences = HashSet::new();
        for task in tasks {
            for sequence in task.await.unwrap() {
                assert!(sequences.insert(sequence), "{on}: {sequence} given twice");
            }
        }
        assert_eq!(sequences.len(), RECORDERS * 40, "{on}");
        assert_eq!(
            backend.journal.counts(STORE).await.unwrap().recorded,
            (RECORDERS * 40) as u64,
            "{on}"
        );
        let ids: Vec<String> = (0..RECORDERS)
            .flat_map(|r| (0..40).map(move |n| format!("r{r}-{n}")))
            .collect();
        assert_readable(&backend.open().await, &ids, on).await;
    }
}

/// 64 recorders at once, each delivering the same 40 ids (each starting at another one), as a
/// channel delivering everything many times would: each id new exactly once, every other
/// delivery a duplicate of the stored event.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_recorders_of_the_same_ids_record_each_once() {
    const IDS: usize = 40;
    for backend in backends("group_overlapping").await {
        let on = backend.name;
        let mut tasks = Vec::new();
        for recorder in 0..RECORDERS {
            let journal = backend.journal.clone();
            tasks.push(tokio::spawn(async move {
                let mut answers = Vec::new();
                for k in 0..IDS {
                    let id = format!("order-{}", (recorder + k) % IDS);
                    answers.push((id.clone(), journal.record(&sale(&id)).await.unwrap()));
                }
                answers
            }));
        }
        let mut new: HashMap<String, u64> = HashMap::new();
        let mut duplicates: Vec<(String, u64)> = Vec::new();
        for task in tasks {
            for (id, answer) in task.await.unwrap() {
                match answer {
                    Recorded::New(record) => {
                        let earlier = new.insert(id.clone(), record.sequence);
                        assert!(earlier.is_none(), "{on}: {id} new twice");
                    }
                    Recorded::Duplicate(record) => duplicates.push((id, record.sequence)),
                    other => panic!("{on}: {id}: {other:?}"),
                }
            }
        }
        assert_eq!(new.len(), IDS, "{on}: each id new once");
        assert_eq!(duplicates.len(), IDS * (RECORDERS - 1), "{on}");
        for (id, sequence) in duplicates {
            assert_eq!(
                new[&id], sequence,
                "{on}: {id}'s duplicate is the stored event"
            );
        }
        assert_eq!(
            backend.journal.counts(STORE).await.unwrap().recorded,
            IDS as u64,
            "{on}"
        );
        let ids: Vec<String> = new.into_keys().collect();
        assert_readable(&backend.open().await, &ids, on).await;
    }
}

/// One group holding the same id three times (once with other content) and another id: the
/// first delivery is new, the others are what they would be one after another.
#[tokio::test]
async fn the_same_id_twice_in_one_group_is_new_once_then_a_duplicate() {
    for backend in backends("group_same_id").await {
        let on = backend.name;
        let other = sale_with("order-1", |e| e.change = StockChange::Delta(-5));
        let events = [sale("order-1"), sale("order-1"), other, sale("order-2")];
        let answers = join_all(events.iter().map(|e| backend.journal.record(e))).await;
        let answers: Vec<Recorded> = answers.into_iter().map(Result::unwrap).collect();
        assert!(
            matches!(
                &answers[..],
                [
                    Recorded::New(first),
                    Recorded::Duplicate(again),
                    Recorded::Conflict(kept),
                    Recorded::New(_)
                ] if again == first && kept == first
            ),
            "{on}: {answers:?}"
        );
        assert_eq!(backend.journal.counts(STORE).await.unwrap().recorded, 2);
    }
}

/// A row the database refuses: every insert of an event whose id starts with `poison`.
async fn refuse_poison(backend: &Backend) {
    let sql = match backend.target {
        Target::Sqlite(_) => {
            r#"CREATE TRIGGER refuse_poison BEFORE INSERT ON ecwid_journal_events
             WHEN NEW.event_id LIKE 'poison%'
             BEGIN SELECT RAISE(ABORT, 'disk I/O error (a test trigger)'); END;"#
        }
        Target::Postgres(_) => {
            r#"CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN RAISE EXCEPTION 'could not extend file (a test trigger)'; END $$;
             CREATE TRIGGER refuse_poison BEFORE INSERT ON ecwid_journal_events
             FOR EACH ROW WHEN (NEW.event_id LIKE 'poison%')
             EXECUTE FUNCTION refuse_poison();"#
        }
    };
    backend.raw_execute(sql).await;
}

/// 64 calls in one group, two of which the database refuses (a trigger of its own): those two
/// fail, each with the database's words; the 62 others are recorded (the group tried again in
/// halves), and a journal opened afresh finds them and not the refused two.
#[tokio::test]
async fn a_refused_event_fails_alone_and_the_rest_of_its_group_is_recorded() {
    for backend in backends("group_refused").await {
        let on = backend.name;
        refuse_poison(&backend).await;
        let mut ids: Vec<String> = (0..RECORDERS).map(|n| format!("order-{n}")).collect();
        ids[17] = "poison-17".into();
        ids[RECORDERS - 1] = "poison-63".into();
        let events: Vec<Event> = ids.iter().map(|id| sale(id)).collect();
        let answers = join_all(events.iter().map(|e| backend.journal.record(e))).await;
        for (id, answer) in ids.iter().zip(answers) {
            if id.starts_with("poison") {
                let error = answer.expect_err(id);
                assert!(
                    matches!(&error, Error::Journal { operation, reason, .. }
                        if operation == "record an event" && reason.contains("a test trigger")),
                    "{on}: {id}: {error:?}"
                );
            } else {
                let answer = answer.unwrap_or_else(|e| panic!("{on}: {id}: {e:?}"));
                assert!(answer.is_new(), "{on}: {id}: {answer:?}");
            }
        }
        let reopened = backend.open().await;
        for id in &ids {
            let stored = reopened.event(STORE, id).await.unwrap();
            assert_eq!(stored.is_some(), !id.starts_with("poison"), "{on}: {id}");
        }
        assert_eq!(
            reopened.counts(STORE).await.unwrap().recorded,
            (RECORDERS - 2) as u64,
            "{on}"
        );
    }
}

/// A batch through `record_many` is one transaction, all or nothing: a refused event fails
/// the call, and none of the batch is kept.
#[tokio::test]
async fn record_many_with_a_refused_event_keeps_none_of_the_batch() {
    for backend in backends("record_many_refused").await {
        let on = backend.name;
        refuse_poison(&backend).await;
        let batch = [sale("order-1"), sale("poison"), sale("order-2")];
        let error = backend.journal.record_many(&batch).await.unwrap_err();
        assert!(
            matches!(&error, Error::Journal { reason, .. } if reason.contains("a test trigger")),
            "{on}: {error:?}"
        );
        assert_eq!(
            backend.journal.counts(STORE).await.unwrap().recorded,
            0,
            "{on}"
        );
    }
}

/// PostgreSQL stops while a group of 64 is inside its transaction (its insert waiting for a
/// lock another connection holds): every caller is told an error, and once the server is
/// back none of the 64 is there.
#[tokio::test]
async fn postgres_stopped_mid_group_fails_every_caller_and_keeps_none() {
    for mut backend in backends("group_pg_stopped").await {
        let Some(server) = backend.postgres.take() else {
            continue;
        };
        let Target::Postgres(url) = &backend.target else {
            unreachable!()
        };
        let (locker, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap();
        let connection = tokio::spawn(connection);
        locker
            .batch_execute("BEGIN; LOCK TABLE ecwid_journal_events IN ACCESS EXCLUSIVE MODE")
            .await
            .unwrap();
        let ids: Vec<String> = (0..RECORDERS).map(|n| format!("order-{n}")).collect();
        let events: Vec<Event> = ids.iter().map(|id| sale(id)).collect();
        let mut group = Box::pin(join_all(events.iter().map(|e| backend.journal.record(e))));
        assert!(futures::poll!(group.as_mut()).is_pending());
        // The committer runs while this task waits, and its insert waits for the lock.
        let waiting = "SELECT COUNT(*) FROM pg_stat_activity
                       WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO ecwid_journal_events%'";
        for polled in 0.. {
            let rows = locker.query_one(waiting, &[]).await.unwrap();
            if rows.get::<_, i64>(0) == 1 {
                break;
            }
            assert!(
                polled < 6000,
                "the group's insert never waited for the lock"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let mut server = tokio::task::spawn_blocking(move || {
            let mut server = server;
            server.stop();
            server
        })
        .await
        .unwrap();
        for (id, answer) in ids.iter().zip(group.await) {
            let error = answer.expect_err(id);
            assert!(
                matches!(&error, Error::Journal { operation, .. } if operation == "record an event"),
                "{id}: {error:?}"
            );
        }
        let _ = connection.await;
        server = tokio::task::spawn_blocking(move || {
            server.start_again();
            server
        })
        .await
        .unwrap();
        let reopened = backend.open().await;
        for id in &ids {
            assert_eq!(reopened.event(STORE, id).await.unwrap(), None, "{id}");
        }
        assert!(backend
            .journal
            .record(&sale("order-0"))
            .await
            .unwrap()
            .is_new());
        backend.postgres = Some(server);
    }
}

#[tokio::test]
async fn record_many_answers_each_event_in_order_as_one_after_another() {
    for backend in backends("record_many").await {
        let (journal, on) = (&backend.journal, backend.name);
        assert!(journal.record(&sale("known")).await.unwrap().is_new());
        let batch = [
            sale("order-1"),
            sale("known"),
            sale("order-2"),
            sale("order-1"),
            sale_with("order-2", |e| e.change = StockChange::Delta(-7)),
            sale("order-3"),
        ];
        let answers = journal.record_many(&batch).await.unwrap();
        let kinds: Vec<&str> = answers
            .iter()
            .map(|answer| match answer {
                Recorded::New(_) => "new",
                Recorded::Duplicate(_) => "duplicate",
                Recorded::Conflict(_) => "conflict",
                _ => "other",
            })
            .collect();
        assert_eq!(
            kinds,
            ["new", "duplicate", "new", "duplicate", "conflict", "new"],
            "{on}"
        );
        for (event, answer) in batch.iter().zip(&answers) {
            let stored = journal.event(STORE, &event.id).await.unwrap().unwrap();
            assert_eq!(answer.record(), &stored, "{on}: {}", event.id);
        }
        // Numbered in the batch's order, as one after the other: here and in a batch whose
        // ids sort in another order ("late-30", "late-29", ..., "late-1").
        let numbers: Vec<u64> = [0, 2, 5].map(|n| answers[n].record().sequence).into();
        assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{on}: {numbers:?}");
        let late: Vec<Event> = (1..=30).rev().map(|n| sale(&format!("late-{n}"))).collect();
        let numbers: Vec<u64> = (journal.record_many(&late).await.unwrap())
            .iter()
            .map(|answer| answer.record().sequence)
            .collect();
        assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{on}: {numbers:?}");

        assert_eq!(journal.counts(STORE).await.unwrap().recorded, 34, "{on}");
        assert_eq!(journal.record_many(&[]).await.unwrap(), [], "{on}");
        // Delivered again whole: nothing changes.
        let again = journal.record_many(&batch).await.unwrap();
        assert!(again.iter().all(|a| !a.is_new()), "{on}: {again:?}");
        assert_eq!(journal.counts(STORE).await.unwrap().recorded, 34, "{on}");
    }
}

#[tokio::test]
async fn record_many_refuses_a_batch_with_a_bad_event_and_writes_none_of_it() {
    for backend in backends("record_many_bad").await {
        let (journal, on) = (&backend.journal, backend.name);
        let mut batch: Vec<Event> = (0..5).map(|n| sale(&format!("order-{n}"))).collect();
        batch[3].change = StockChange::Delta(0);
        let error = journal.record_many(&batch).await.unwrap_err();
        assert!(
            matches!(&error, Error::InvalidInput(why) if why.starts_with("event 3 of the 5 given:")),
            "{on}: {error:?}"
        );
        batch[3] = sale_with("order-3", |e| e.store = StoreId::new(0));
        assert!(matches!(
            journal.record_many(&batch).await,
            Err(Error::InvalidInput(_))
        ));
        assert_eq!(journal.counts(STORE).await.unwrap(), Default::default());
        for event in &batch {
            assert_eq!(journal.event(STORE, &event.id).await.unwrap(), None, "{on}");
        }
    }
}

#[tokio::test]
async fn a_group_size_out_of_range_is_refused() {
    let dir = crate::common::postgres::TempDir::new("group_size");
    for size in [0, MAX_GROUP + 1] {
        let error = Journal::builder()
            .group_commit(size)
            .open_sqlite(dir.path().join("journal.sqlite3"))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::Config(why) if why.contains(&format!("not {size}"))),
            "{error:?}"
        );
    }
    // A group of 1: each call a transaction of its own, the same answers.
    let alone = Journal::builder()
        .group_commit(1)
        .open_sqlite(dir.path().join("journal.sqlite3"))
        .await
        .unwrap();
    let events = [sale("order-1"), sale("order-1")];
    let answers = join_all(events.iter().map(|e| alone.record(e))).await;
    let new = answers
        .iter()
        .filter(|a| a.as_ref().unwrap().is_new())
        .count();
    assert_eq!(new, 1);
}

/// A process recording with 64 recorders, printing each event it was told is new, killed
/// (SIGKILL) while it records: every event it acknowledged is in the journal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_process_killed_mid_group_loses_no_acknowledged_event() {
    const ACKNOWLEDGED: usize = 600;
    for backend in backends("group_killed").await {
        let on = backend.name;
        let target = match &backend.target {
            Target::Sqlite(path) => format!("sqlite:{}", path.display()),
            Target::Postgres(url) => url.clone(),
        };
        let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "group::record_child", "--nocapture", "--ignored"])
            .args(["--quiet"])
            .env("CHILD_JOURNAL", target)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("the test binary runs as a child");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut acknowledged = Vec::new();
        while acknowledged.len() < ACKNOWLEDGED {
            let line = lines.next_line().await.unwrap();
            let line = line.unwrap_or_else(|| panic!("{on}: the child ended"));
            // A whole line only: "ACK <id> ."
            if let Some(id) = line.strip_prefix("ACK ").and_then(|l| l.strip_suffix(" .")) {
                acknowledged.push(id.to_owned());
            }
        }
        child.kill().await.unwrap();
        // Lines printed before the kill, still in the pipe.
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(id) = line.strip_prefix("ACK ").and_then(|l| l.strip_suffix(" .")) {
                acknowledged.push(id.to_owned());
            }
        }
        let reopened = backend.open().await;
        let recorded = reopened.counts(STORE).await.unwrap().recorded as usize;
        assert!(recorded >= acknowledged.len(), "{on}");
        for id in &acknowledged {
            assert!(
                reopened.event(STORE, id).await.unwrap().is_some(),
                "{on}: {id} acknowledged, and lost"
            );
        }
    }
}

/// The child: records events `0, 1, 2, ...` from 64 recorders into the journal that
/// `CHILD_JOURNAL` names, printing `ACK <id> .` for each it was told is new, until killed. Run
/// by hand (without the variable) it does nothing.
#[test]
#[ignore = "run by the other tests as a child process"]
fn record_child() {
    let target = std::env::var("CHILD_JOURNAL").unwrap_or_default();
    if target.is_empty() {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let journal = match target.strip_prefix("sqlite:") {
            Some(path) => Journal::open_sqlite(path).await.unwrap(),
            None => Journal::connect_postgres(&target).await.unwrap(),
        };
        let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..RECORDERS {
            let (journal, next) = (journal.clone(), next.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let id = format!("order-{n}");
                    if journal.record(&sale(&id)).await.unwrap().is_new() {
                        println!("ACK {id} .");
                    }
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
    });
}
