//! Bulk stock sync when polling never sees a batch completed, and the poll settings every
//! builder that polls takes.

use crate::common;

use std::time::Duration;

use ecwid_inventory::{bulk::ItemOutcome, sync::SyncTarget, Error, Polling, Stock, StockItem};
use ecwid_inventory_fake::{Fault, Route};
use futures::StreamExt;
use serde_json::json;

use common::*;

// ---------------------------------------------------------------------------------------------
// Polling that never ends

#[tokio::test]
async fn a_batch_never_reported_completed_is_unknown_after_the_poll_timeout_and_resumable() {
    let fake = numbered(30).start().await.unwrap();
    // Ecwid keeps saying the batch is in progress, however often it is asked.
    let in_progress = json!({"status": "IN_PROGRESS", "totalRequests": 10, "completedRequests": 3});
    fake.inject_fault(
        Route::BatchStatus,
        1_000,
        Fault::respond(200, in_progress.to_string()),
    );
    let items = one_per_variation(30);
    let report = client(&fake)
        .bulk_adjust(items.clone())
        .chunk_size(10)
        .poll_interval(ms(5), ms(20))
        .poll_timeout(ms(150))
        .send()
        .await
        .unwrap();

    // The run ended; every outcome is unknown, and the reason says to resume.
    assert_eq!(report.summary().unknown, 30);
    assert!(!report.is_settled());
    assert!(
        report.outcomes().iter().all(|o| matches!(
            o,
            ItemOutcome::Unknown { reason, .. } if reason.contains("resume the plan")
        )),
        "{:?}",
        report.outcomes()
    );
    let ItemOutcome::Unknown { reason, .. } = &report.outcomes()[0] else {
        unreachable!()
    };
    assert!(reason.contains("150ms"), "{reason}");
    let saved = serde_json::to_string(report.plan()).unwrap();
    assert_eq!(states(&saved), ["created", "created", "created"]);
    assert!(!report.plan().is_done());
    // Every chunk was created once; polling gave up on the first without reading the others.
    assert_eq!(creates(&fake).len(), 3);
    let reads = status_reads(&fake);
    let first_ticket = chunks(&saved)[0]["state"]["ticket"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!reads.is_empty());
    assert!(reads.iter().all(|t| *t == first_ticket), "{reads:?}");

    // The batches ran at Ecwid meanwhile; once Ecwid answers again, resuming learns it all
    // without creating anything again.
    fake.batches_settled().await;
    assert_ledger_once(&fake, 30);
    fake.clear_faults();
    let report = client(&fake)
        .resume_bulk(serde_json::from_str(&saved).unwrap())
        .poll_interval(ms(5), ms(20))
        .poll_timeout(ms(150))
        .send()
        .await
        .unwrap();
    assert!(all_updated(report.outcomes()), "{:?}", report.summary());
    assert!(report.is_settled());
    let done = serde_json::to_string(report.plan()).unwrap();
    assert_eq!(states(&done), ["done", "done", "done"]);
    assert_eq!(creates(&fake).len(), 3);
    assert_ledger_once(&fake, 30);
    assert_stocks(&fake, &items);
}

#[tokio::test]
async fn a_zero_poll_interval_or_poll_timeout_is_refused_before_anything_is_sent() {
    let fake = numbered(3).start().await.unwrap();
    let client = client(&fake);
    let items = || one_per_variation(3);
    let errors = [
        client
            .bulk_adjust(items())
            .poll_interval(Duration::ZERO, ms(50))
            .send()
            .await
            .unwrap_err(),
        client
            .bulk_adjust(items())
            .poll_interval(Duration::ZERO, Duration::ZERO)
            .send()
            .await
            .unwrap_err(),
        client
            .bulk_adjust(items())
            .poll_timeout(Duration::ZERO)
            .send()
            .await
            .unwrap_err(),
        client
            .resume_bulk(client.plan_bulk(items(), 500).unwrap())
            .poll_interval(Duration::ZERO, ms(50))
            .send()
            .await
            .unwrap_err(),
    ];
    for error in errors {
        assert!(matches!(error, Error::InvalidInput(_)), "{error:?}");
        assert!(error.to_string().contains("zero"), "{error}");
    }
    assert_nothing_sent(&fake);
}

/// Every builder that polls takes one `Polling`, checked the same way: a zero interval or
/// timeout is refused by name, before anything is sent.
#[tokio::test]
async fn every_builder_that_polls_refuses_a_bad_polling_before_anything_is_sent() {
    let fake = numbered(3).start().await.unwrap();
    let client = client(&fake);
    let variation = StockItem::Variation {
        product: RACK,
        combination: ecwid_inventory::CombinationId::new(1),
    };
    // Planning reads; applying its plan must then send nothing more.
    let plan = client
        .plan_sync([SyncTarget::item(variation, Stock::Quantity(START + 1))])
        .poll_interval(ms(5), ms(50))
        .await
        .unwrap();
    let sent = fake.requests().len();
    let bad = [
        (
            Polling::default().interval(Duration::ZERO, ms(50)),
            "the first poll interval must not be zero",
        ),
        (
            Polling::default().timeout(Duration::ZERO),
            "the poll timeout must not be zero",
        ),
    ];
    for (polling, expected) in bad {
        let errors = [
            client
                .bulk_adjust(one_per_variation(3))
                .polling(polling)
                .await
                .unwrap_err(),
            client
                .plan_sync([SyncTarget::item(variation, Stock::Quantity(1))])
                .polling(polling)
                .await
                .unwrap_err(),
            client
                .apply_sync(plan.clone())
                .polling(polling)
                .await
                .unwrap_err(),
            client
                .catalog_stock()
                .polling(polling)
                .stream()
                .next()
                .await
                .unwrap()
                .unwrap_err(),
        ];
        for error in errors {
            assert!(matches!(error, Error::InvalidInput(_)), "{error:?}");
            assert!(error.to_string().contains(expected), "{error}");
        }
    }
    assert_eq!(fake.requests().len(), sent, "nothing more was sent");
    assert!(fake.ledger().is_empty());
}

/// A `Polling`'s timeout is the run's: past it, the outcome is unknown and says how long it
/// waited; a later `poll_interval` keeps that timeout.
#[tokio::test]
async fn a_pollings_timeout_is_the_runs() {
    let fake = numbered(3).start().await.unwrap();
    let in_progress = json!({"status": "IN_PROGRESS", "totalRequests": 3, "completedRequests": 1});
    fake.inject_fault(
        Route::BatchStatus,
        1_000,
        Fault::respond(200, in_progress.to_string()),
    );
    let report = client(&fake)
        .bulk_adjust(one_per_variation(3))
        .polling(Polling::default().timeout(ms(120)))
        .poll_interval(ms(5), ms(20))
        .await
        .unwrap();
    let ItemOutcome::Unknown { reason, .. } = &report.outcomes()[0] else {
        panic!("{:?}", report.outcomes())
    };
    assert!(reason.contains("after 120ms of polling"), "{reason}");
}

/// The poll timeout ends the waiting, not a poll interval before it: reads come 0.2, 0.5, 0.95
/// and 1.63 s in, the next full interval would end 2.64 s in, and the last read is sent at the
/// timeout (2.4 s) instead. A batch that Ecwid runs 2 s in is learned by that read.
#[tokio::test]
async fn a_batch_completing_after_the_last_full_interval_is_read_at_the_poll_timeout() {
    let fake = numbered(3).start().await.unwrap();
    fake.pause_batches();
    let items = one_per_variation(3);
    let client = client(&fake);
    let started = tokio::time::Instant::now();
    let run = tokio::spawn({
        let items = items.clone();
        async move {
            client
                .bulk_adjust(items)
                .poll_interval(ms(200), ms(2000))
                .poll_timeout(ms(2400))
                .send()
                .await
        }
    });
    tokio::time::sleep_until(started + ms(2000)).await;
    fake.resume_batches();
    let report = run.await.unwrap().unwrap();
    assert!(all_updated(report.outcomes()), "{:?}", report.outcomes());
    assert!(report.is_settled());
    assert_eq!(
        status_reads(&fake).len(),
        5,
        "four reads at the poll intervals, and one at the timeout"
    );
    assert_ledger_once(&fake, 3);
    assert_stocks(&fake, &items);
}
