//! Bulk stock sync near and past the hour Ecwid remembers a deduplication key: outcomes left
//! unknown, chunks not created again, old plans that send nothing.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ecwid_inventory::{
    bulk::ItemOutcome,
    settings::{DEFAULT_DEADLINE, DEFAULT_TIMEOUT},
    Progress, TimeSource,
};
use ecwid_inventory_fake::{Fault, Route};
use serde_json::{json, Value};

use common::*;

// ---------------------------------------------------------------------------------------------
// A completed batch that leaves an item's outcome unknown

#[tokio::test]
async fn a_report_with_an_unknown_outcome_is_not_settled() {
    let fake = numbered(2).start().await.unwrap();
    // Ecwid says COMPLETED but its answer has no result for the second item.
    let status = serde_json::json!({
        "status": "COMPLETED",
        "totalRequests": 2,
        "completedRequests": 2,
        "responses": [{
            "id": "0",
            "status": "COMPLETED",
            "httpStatusCode": 200,
            "httpBody": {"updateCount": 1},
        }],
    });
    fake.inject_fault(
        Route::BatchStatus,
        1,
        Fault::respond(200, status.to_string()),
    );
    let report = client(&fake)
        .bulk_adjust(one_per_variation(2))
        .poll_interval(ms(5), ms(50))
        .send()
        .await
        .unwrap();
    assert!(matches!(
        report.outcomes()[0],
        ItemOutcome::Updated { warning: None, .. }
    ));
    assert!(
        matches!(report.outcomes()[1], ItemOutcome::Unknown { .. }),
        "{:?}",
        report.outcomes()[1]
    );
    assert_eq!(report.summary().unknown, 1);
    assert!(
        !report.is_settled(),
        "an Unknown outcome, yet the report says it is settled"
    );
}

#[tokio::test]
async fn a_chunk_creating_for_longer_than_the_key_is_remembered_is_not_created_again() {
    let fake = numbered(20).start().await.unwrap();
    let careful = careful_client(&fake);
    fake.inject_fault(Route::BatchCreate, 1, Fault::CloseAfterApplying);
    let report = careful
        .bulk_adjust(one_per_variation(20))
        .poll_interval(ms(5), ms(50))
        .send()
        .await
        .unwrap();
    fake.batches_settled().await;
    assert_ledger_once(&fake, 20);
    // The plan was saved 56 minutes ago: Ecwid may have forgotten the key by now.
    let plan: Value = serde_json::to_value(report.plan()).unwrap();
    assert_eq!(plan["chunks"][0]["state"]["state"], "creating");
    // The fake's clock is the client's: both see the key 56 minutes old.
    fake.advance_clock(Duration::from_secs(56 * 60));

    let report = resume(&fake, serde_json::from_value(plan).unwrap()).await;
    assert!(!report.is_settled());
    assert!(report.outcomes().iter().all(
        |o| matches!(o, ItemOutcome::Unknown { reason, .. } if reason.contains("minutes old"))
    ));
    // Nothing was sent again, so nothing was applied twice.
    assert_eq!(creates(&fake).len(), 1);
    assert_eq!(fake.requests().len(), 1);
    assert_ledger_once(&fake, 20);
    // The chunk is final: the plan is done, and resuming it again sends nothing.
    let saved = serde_json::to_string(report.plan()).unwrap();
    assert_eq!(states(&saved), ["expired"]);
    assert!(report.plan().is_done());
    let again = resume(&fake, serde_json::from_str(&saved).unwrap()).await;
    assert_eq!(again.outcomes(), report.outcomes());
    assert_eq!(fake.requests().len(), 1);
}

/// A create near the end of the deduplication window gets only what is left of the window,
/// even when the client's own limits would allow more: an attempt or retry past it could
/// apply the chunk twice. The attempt is cut when the window ends, and not retried.
#[tokio::test]
async fn a_create_near_the_end_of_its_key_window_is_cut_there_and_not_retried() {
    // What is left of the window when the run starts: less than an attempt's timeout and the
    // call's deadline, so only the window can cut the attempt.
    const LEFT: Duration = Duration::from_secs(10);
    assert!(LEFT < DEFAULT_TIMEOUT && LEFT < DEFAULT_DEADLINE);
    let fake = numbered(10).start().await.unwrap();
    // The client's wall clock stands still: the key is exactly as old as the plan says when the
    // run reads its age, however long the run takes to start.
    let now = SystemTime::now();
    let client = fake
        .client_builder(TOKEN)
        .no_rate_limit()
        .time_source(TimeSource::new(move || now))
        .build()
        .unwrap();
    let plan = client.plan_bulk(one_per_variation(10), 10).unwrap();
    // A crash left the chunk `creating`, LEFT short of the window; Ecwid now answers a second
    // after the window has ended (well within the fake's wait for the ledger below).
    let mut plan = serde_json::to_value(&plan).unwrap();
    let made = now - (Duration::from_secs(55 * 60) - LEFT);
    plan["chunks"][0]["state"] = json!({"state": "creating"});
    plan["keysMadeUnixMs"] = json!(made.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64);
    fake.inject_fault(
        Route::BatchCreate,
        1,
        Fault::Delay(LEFT + Duration::from_secs(1)),
    );
    let run = client
        .resume_bulk(serde_json::from_value(plan).unwrap())
        .poll_interval(ms(5), ms(50))
        .send();
    // Once the create has reached the fake, tokio's clock is paused: the end of the window (the
    // client's timer) and the slow answer (the fake's) then come in the order of their times,
    // however loaded the machine, and without waiting for them.
    let (report, ()) = tokio::join!(run, async {
        fake.wait_until(|fake| !creates(fake).is_empty())
            .await
            .unwrap();
        tokio::time::pause();
    });
    let report = report.unwrap();
    // The attempt was cut when the window ended, and not retried: the outcome is unknown (the
    // slow create does land), never "applied" on the strength of a late answer.
    assert!(
        report
            .outcomes()
            .iter()
            .all(|o| matches!(o, ItemOutcome::Unknown { .. })),
        "{:?}",
        report.summary()
    );
    assert_eq!(creates(&fake).len(), 1, "not retried");
    let saved = serde_json::to_string(report.plan()).unwrap();
    assert_eq!(states(&saved), ["creating"]);
    // The slow create lands once, after the run gave up on it.
    fake.wait_for_ledger(10).await.unwrap();
    fake.batches_settled().await;
    assert_ledger_once(&fake, 10);
}

/// Once a plan's keys are older than the window, no chunk that is not known to be queued is
/// sent: a `creating` one may have been created, and so may a `planned` one, by a run whose
/// checkpoints were not saved.
#[tokio::test]
async fn a_plan_older_than_its_key_window_sends_nothing_and_its_unqueued_chunks_expire() {
    let fake = numbered(30).start().await.unwrap();
    let items = one_per_variation(30);
    let plan = client(&fake).plan_bulk(items.clone(), 10).unwrap();
    // A crash left the first chunk `creating`, 56 minutes after the plan was made.
    let mut plan = serde_json::to_value(&plan).unwrap();
    plan["chunks"][0]["state"] = json!({"state": "creating"});
    age(&mut plan, 56);
    let seen = Arc::new(Mutex::new(Vec::<Progress>::new()));
    let report = {
        let seen = Arc::clone(&seen);
        client(&fake)
            .resume_bulk(serde_json::from_value(plan).unwrap())
            .poll_interval(ms(5), ms(50))
            .on_progress(move |p| seen.lock().unwrap().push(*p))
            .send()
            .await
            .unwrap()
    };

    // Every item is unknown, and says why.
    let outcomes = report.outcomes();
    assert!(
        outcomes.iter().all(|o| matches!(
            o,
            ItemOutcome::Unknown { reason, .. }
                if reason.contains("read the stock to reconcile") && reason.contains("56 minutes old")
        )),
        "{outcomes:?}"
    );
    assert!(outcomes[10..].iter().all(|o| matches!(
        o,
        ItemOutcome::Unknown { reason, .. } if reason.contains("checkpoints were not saved")
    )));
    assert_eq!(report.summary().unknown, 30);
    let done = serde_json::to_string(report.plan()).unwrap();
    assert_eq!(states(&done), ["expired", "expired", "expired"]);
    assert!(report.plan().is_done(), "nothing is left to resume");
    // Progress counts expired chunks as finished, and ends at the total.
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.last().map(|p| (p.completed, p.total)), Some((30, 30)));
    assert_nothing_sent(&fake);

    // Resuming the finished plan sends nothing either.
    let again = resume(&fake, serde_json::from_str(&done).unwrap()).await;
    assert_eq!(again.outcomes(), report.outcomes());
    assert_nothing_sent(&fake);
}
