//! Bulk stock sync resumed from a saved plan after a crash.

use crate::common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use ecwid_inventory::{
    bulk::{BulkPlan, ItemOutcome},
    Error,
};
use ecwid_inventory_fake::{Fault, Origin, Route};

use common::*;

// ---------------------------------------------------------------------------------------------
// Resume

#[tokio::test]
async fn a_crashed_run_resumes_from_its_last_checkpoint_and_applies_everything_once() {
    let fake = numbered(300).start().await.unwrap();
    let first = client(&fake);
    let items = one_per_variation(300);
    let plan = first.plan_bulk(items.clone(), 100).unwrap();
    assert_eq!((plan.len(), plan.chunk_count()), (300, 3));
    let planned = serde_json::to_string(&plan).unwrap();
    assert_eq!(states(&planned), ["planned", "planned", "planned"]);
    assert!(fake.requests().is_empty(), "planning sends nothing");

    // The first create goes through; the second hangs in the fake (and lands later), and the
    // program dies while it does.
    fake.inject_fault(Route::BatchCreate, 1, Fault::Delay(ms(1)));
    fake.inject_fault(Route::BatchCreate, 1, Fault::Delay(ms(1_500)));
    let saved = Arc::new(Mutex::new(Vec::<String>::new()));
    let run = {
        let (first, saved) = (first.clone(), Arc::clone(&saved));
        let plan: BulkPlan = serde_json::from_str(&planned).unwrap();
        tokio::spawn(async move {
            first
                .resume_bulk(plan)
                .poll_interval(ms(5), ms(50))
                .on_checkpoint(move |checkpoint| {
                    saved
                        .lock()
                        .unwrap()
                        .push(serde_json::to_string(checkpoint.plan()).unwrap())
                })
                .send()
                .await
        })
    };
    // Crash once the second create is in the fake's hands.
    for _ in 0..500 {
        if creates(&fake).len() == 2 {
            break;
        }
        tokio::time::sleep(ms(5)).await;
    }
    assert_eq!(creates(&fake).len(), 2);
    run.abort();
    assert!(run.await.unwrap_err().is_cancelled());
    drop(first);

    let checkpoints = saved.lock().unwrap().clone();
    let last = checkpoints.last().expect("checkpoints were taken").clone();
    // The first chunk has its ticket; the second may have been created; the third was not sent.
    assert_eq!(states(&last), ["created", "creating", "planned"]);
    let first_ticket = chunks(&last)[0]["state"]["ticket"]
        .as_str()
        .unwrap()
        .to_owned();
    // A checkpoint was taken before each create was sent.
    assert!(checkpoints
        .iter()
        .any(|c| states(c) == ["creating", "planned", "planned"]));

    // A new program, a new client.
    let second = client(&fake);
    let report = second
        .resume_bulk(serde_json::from_str(&last).unwrap())
        .poll_interval(ms(5), ms(50))
        .send()
        .await
        .unwrap();
    assert!(all_updated(report.outcomes()), "{:?}", report.summary());
    assert!(report.is_settled());
    let done = serde_json::to_string(report.plan()).unwrap();
    assert_eq!(states(&done), ["done", "done", "done"]);

    // The hung create finally lands: its key is known, nothing more is queued.
    handled(&fake, 1).await;
    fake.batches_settled().await;
    let creates = creates(&fake);
    assert_eq!(
        creates.len(),
        4,
        "first, hung second, resumed second, third"
    );
    assert_eq!(dedup_key(&creates[1]), dedup_key(&creates[2]));
    let keys: HashSet<_> = creates.iter().map(dedup_key).collect();
    assert_eq!(keys.len(), 3);
    let counts = ledger_counts(&fake);
    assert_eq!(counts.len(), 300);
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    assert_ledger_once(&fake, 300);
    assert_stocks(&fake, &items);
    // The first chunk was not created again: it ran under the ticket saved before the crash.
    let first_chunk_tickets: HashSet<_> = fake
        .ledger()
        .into_iter()
        .filter(|e| e.item.combination().unwrap().get() <= 100)
        .map(|e| match e.origin {
            Origin::Batch { ticket, .. } => ticket,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(first_chunk_tickets, HashSet::from([first_ticket]));
}

#[tokio::test]
async fn a_creating_chunk_is_created_again_with_its_key_and_gets_the_first_ticket() {
    let fake = numbered(60).start().await.unwrap();
    // A client that never retries: the create is queued, its answer lost, and the run ends
    // with the chunk in `creating`.
    let careful = careful_client(&fake);
    fake.inject_fault(Route::BatchCreate, 1, Fault::CloseAfterApplying);
    let items = one_per_variation(60);
    let report = careful
        .bulk_adjust(items.clone())
        .poll_interval(ms(5), ms(50))
        .send()
        .await
        .unwrap();
    assert!(!report.is_settled());
    assert_eq!(report.summary().unknown, 60);
    assert!(report
        .outcomes()
        .iter()
        .all(|o| matches!(o, ItemOutcome::Unknown { .. }) && o.may_have_been_applied()));
    let saved = serde_json::to_string(report.plan()).unwrap();
    assert_eq!(states(&saved), ["creating"]);
    // The batch was queued all the same, and ran.
    fake.batches_settled().await;
    assert_ledger_once(&fake, 60);
    let first_ticket = match &fake.ledger()[0].origin {
        Origin::Batch { ticket, .. } => ticket.clone(),
        other => panic!("{other:?}"),
    };

    let report = resume(&fake, serde_json::from_str(&saved).unwrap()).await;
    assert!(all_updated(report.outcomes()), "{:?}", report.summary());
    let done = serde_json::to_string(report.plan()).unwrap();
    assert_eq!(states(&done), ["done"]);
    // Re-created with the same key; Ecwid answered with the first ticket; nothing ran twice.
    let creates = creates(&fake);
    assert_eq!(creates.len(), 2);
    assert_eq!(dedup_key(&creates[0]), dedup_key(&creates[1]));
    let statuses: Vec<_> = fake
        .requests()
        .iter()
        .filter(|r| r.method == "GET")
        .map(|r| query_value(r, "ticket").unwrap().to_owned())
        .collect();
    assert!(!statuses.is_empty());
    assert!(statuses.iter().all(|t| *t == first_ticket), "{statuses:?}");
    fake.batches_settled().await;
    assert_ledger_once(&fake, 60);
    assert_stocks(&fake, &items);
}

#[tokio::test]
async fn a_plan_for_another_store_is_refused_and_nothing_is_sent() {
    let fake = numbered(5).start().await.unwrap();
    let plan = client(&fake).plan_bulk(one_per_variation(5), 500).unwrap();
    let json = serde_json::to_string(&plan).unwrap();
    let other = client_for(&fake, OTHER_TOKEN);
    let error = other
        .resume_bulk(serde_json::from_str(&json).unwrap())
        .poll_interval(ms(5), ms(50))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidInput(_)), "{error:?}");
    assert!(error.to_string().contains("1003"), "{error}");
    assert_nothing_sent(&fake);
}
