//! Bulk sync with an asynchronous checkpoint that may fail (a database): awaited before the run
//! sends anything more, and when it fails the run stops at once, sending nothing more.

use crate::common;

use std::sync::{Arc, Mutex};

use ecwid_inventory::{bulk::BulkPlan, Error};
use ecwid_inventory_fake::FakeStore;

use common::*;

/// GETs of a batch's status the fake received.
fn status_reads(fake: &FakeStore) -> usize {
    fake.requests().iter().filter(|r| r.method == "GET").count()
}

/// The chunks' states of a plan.
fn plan_states(plan: &BulkPlan) -> Vec<String> {
    states(&serde_json::to_string(plan).unwrap())
}

#[tokio::test]
async fn an_async_checkpoint_is_awaited_before_the_run_sends_anything_more() {
    let fake = numbered(300).start().await.unwrap();
    let client = client(&fake);
    let items = one_per_variation(300);
    // Each checkpoint takes a while, then notes what the fake had received by its end: had the
    // run sent a create while a checkpoint was still saving, its count would be ahead.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let report = client
        .bulk_adjust(items.clone())
        .chunk_size(100)
        .poll_interval(ms(5), ms(50))
        .on_checkpoint_async(|checkpoint| {
            let (states, seen, fake) = (plan_states(checkpoint.plan()), Arc::clone(&seen), &fake);
            async move {
                tokio::time::sleep(ms(20)).await;
                seen.lock()
                    .unwrap()
                    .push((states, creates(fake).len(), status_reads(fake)));
                Ok(())
            }
        })
        .send()
        .await
        .unwrap();
    assert!(all_updated(report.outcomes()), "{:?}", report.summary());
    let seen = seen.lock().unwrap().clone();
    let at = |states: [&str; 3]| {
        seen.iter()
            .find(|(s, _, _)| *s == states)
            .map(|(_, creates, reads)| (*creates, *reads))
            .unwrap_or_else(|| panic!("no checkpoint of {states:?} in {seen:?}"))
    };
    // Each chunk was saved as being created before its create went out.
    assert_eq!(at(["planned", "planned", "planned"]), (0, 0));
    assert_eq!(at(["creating", "planned", "planned"]), (0, 0));
    assert_eq!(at(["created", "creating", "planned"]), (1, 0));
    assert_eq!(at(["created", "created", "creating"]), (2, 0));
    assert_eq!(at(["created", "created", "created"]), (3, 0));
    // The last checkpoint holds the outcomes; the run sent nothing after it.
    let (last, creates_at_end, reads_at_end) = seen.last().unwrap().clone();
    assert_eq!(last, ["done", "done", "done"]);
    assert_eq!((creates_at_end, reads_at_end), (3, status_reads(&fake)));
    assert_ledger_once(&fake, 300);
    assert_stocks(&fake, &items);
}

/// A checkpoint that fails at the step of the plan shown by `fail_at` (the chunks' states):
/// `send` returns its error.
async fn run_failing_at(fake: &FakeStore, fail_at: [&str; 3]) -> (Error, Vec<Vec<String>>) {
    let client = client(fake);
    let handed = Arc::new(Mutex::new(Vec::new()));
    let error = client
        .bulk_adjust(one_per_variation(300))
        .chunk_size(100)
        .poll_interval(ms(5), ms(50))
        .on_checkpoint_async(|checkpoint| {
            let states = plan_states(checkpoint.plan());
            handed.lock().unwrap().push(states.clone());
            let fails = states == fail_at;
            async move {
                if fails {
                    return Err(Error::Config("the database is gone".into()));
                }
                Ok(())
            }
        })
        .send()
        .await
        .unwrap_err();
    let handed = handed.lock().unwrap().clone();
    (error, handed)
}

#[tokio::test]
async fn a_checkpoint_failing_before_a_create_stops_the_run_and_sends_nothing_more() {
    let fake = numbered(300).start().await.unwrap();
    let (error, handed) = run_failing_at(&fake, ["created", "creating", "planned"]).await;
    assert_eq!(
        error.to_string(),
        "invalid client configuration: the database is gone"
    );
    // The plan as it stood when the checkpoint failed was the last one handed over.
    assert_eq!(handed.last().unwrap(), &["created", "creating", "planned"]);
    // The first chunk's create went out; the second's, whose checkpoint failed, did not, and
    // nothing came after it.
    assert_eq!(creates(&fake).len(), 1);
    assert_eq!(status_reads(&fake), 0);
    fake.batches_settled().await;
    assert_ledger_once(&fake, 100);
}

#[tokio::test]
async fn a_checkpoint_failing_after_an_answer_stops_the_run_before_its_next_request() {
    let fake = numbered(300).start().await.unwrap();
    let (error, handed) = run_failing_at(&fake, ["created", "planned", "planned"]).await;
    assert!(
        error.to_string().contains("the database is gone"),
        "{error}"
    );
    assert_eq!(handed.last().unwrap(), &["created", "planned", "planned"]);
    assert_eq!(creates(&fake).len(), 1);
    assert_eq!(status_reads(&fake), 0);
}

#[tokio::test]
async fn a_checkpoint_failing_at_the_start_sends_nothing_and_a_plain_one_still_runs_first() {
    let fake = numbered(300).start().await.unwrap();
    let client = client(&fake);
    let plain = Arc::new(Mutex::new(0));
    let error = client
        .bulk_adjust(one_per_variation(300))
        .on_checkpoint(|_| *plain.lock().unwrap() += 1)
        .on_checkpoint_async(|_| async { Err(Error::Config("no database".into())) })
        .send()
        .await
        .unwrap_err();
    assert!(error.to_string().contains("no database"), "{error}");
    assert!(!error.may_have_been_applied());
    assert_eq!(*plain.lock().unwrap(), 1, "the plain checkpoint ran first");
    assert_nothing_sent(&fake);
}
