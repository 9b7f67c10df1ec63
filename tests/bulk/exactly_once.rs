//! Bulk stock sync applies every item at most once: creates whose fate is unknown (lost
//! answers, 5xx, timeouts), plans saved before running, late resumes and two runners.

use crate::common;

use std::collections::HashSet;
use std::time::Duration;

use ecwid_inventory::{
    bulk::{BulkItem, BulkReport, ItemOutcome},
    Client, Error, RetryPolicy,
};
use ecwid_inventory_fake::{FakeStore, Fault, Origin, Route};
use serde_json::Value;

use common::*;

// ---------------------------------------------------------------------------------------------
// Exactly once when a create's fate is unknown

/// After a disturbed create: one ledger entry per variation, stocks exact, every outcome
/// `Updated`, two creates with the same key of which the first is `first_status`.
async fn assert_retried_once(
    fake: &FakeStore,
    report: &BulkReport,
    items: &[BulkItem],
    first_status: Option<u16>,
) {
    assert!(all_updated(report.outcomes()), "{:?}", report.summary());
    assert!(report.is_settled());
    let creates = creates(fake);
    assert_eq!(creates.len(), 2, "the create was sent again once");
    assert_eq!(dedup_key(&creates[0]), dedup_key(&creates[1]));
    assert_eq!(
        creates[0].body, creates[1].body,
        "the same batch both times"
    );
    assert_eq!(creates[0].status, first_status);
    assert_eq!(creates[1].status, Some(200));
    fake.batches_settled().await;
    let counts = ledger_counts(fake);
    assert_eq!(counts.len(), items.len());
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    assert_ledger_once(fake, items.len());
    assert_stocks(fake, items);
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_is_sent_again_with_the_same_key_and_applied_once() {
    let fake = numbered(40).start().await.unwrap();
    // The first create is queued, then the connection drops: the caller hears nothing.
    fake.inject_fault(Route::BatchCreate, 1, Fault::CloseAfterApplying);
    let items = one_per_variation(40);
    let report = client(&fake)
        .bulk_adjust(items.clone())
        .poll_interval(ms(5), ms(50))
        .send()
        .await
        .unwrap();
    // The fake queued the first create: the second one got its ticket back.
    assert_retried_once(&fake, &report, &items, None).await;
    let tickets: HashSet<_> = fake
        .ledger()
        .into_iter()
        .map(|e| match e.origin {
            Origin::Batch { ticket, .. } => ticket,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(tickets.len(), 1, "one batch ran");
    assert_eq!(fake.pending_faults(), 0);
}

#[tokio::test]
async fn a_create_answered_500_is_sent_again_with_the_same_key_and_applied_once() {
    let fake = numbered(40).start().await.unwrap();
    fake.inject_fault(
        Route::BatchCreate,
        1,
        Fault::ecwid_error(500, "INTERNAL_ERROR", "boom"),
    );
    let items = one_per_variation(40);
    let report = client(&fake)
        .bulk_adjust(items.clone())
        .poll_interval(ms(5), ms(50))
        .send()
        .await
        .unwrap();
    assert_retried_once(&fake, &report, &items, Some(500)).await;
}

#[tokio::test]
async fn a_create_that_times_out_is_sent_again_with_the_same_key_and_applied_once() {
    let fake = numbered(40).start().await.unwrap();
    // The first create lands after the client gave up on it, and after its retry.
    fake.inject_fault(Route::BatchCreate, 1, Fault::Delay(ms(1_000)));
    let client = fake
        .client_builder(TOKEN)
        .no_rate_limit()
        .timeout(ms(250))
        .build()
        .unwrap();
    let items = one_per_variation(40);
    let report = client
        .bulk_adjust(items.clone())
        .poll_interval(ms(5), ms(50))
        .send()
        .await
        .unwrap();
    // Wait for the late first create to be handled: it must find the key and queue nothing.
    handled(&fake, 0).await;
    assert_retried_once(&fake, &report, &items, Some(200)).await;
}

// ---------------------------------------------------------------------------------------------
// Exactly once across runs: saved plans, late resumes, two runners

/// Starts resuming `saved` in the background with `client`, saving no checkpoint, and returns
/// once the fake has received its first create; the caller stops it there.
async fn run_until_first_create(
    fake: &FakeStore,
    client: &Client,
    saved: &Value,
) -> tokio::task::JoinHandle<Result<BulkReport, Error>> {
    let run = {
        let (client, plan) = (
            client.clone(),
            serde_json::from_value(saved.clone()).unwrap(),
        );
        tokio::spawn(async move {
            client
                .resume_bulk(plan)
                .poll_interval(ms(5), ms(50))
                .send()
                .await
        })
    };
    for _ in 0..500 {
        if !creates(fake).is_empty() {
            break;
        }
        tokio::time::sleep(ms(5)).await;
    }
    assert_eq!(creates(fake).len(), 1, "the run sent its first create");
    run
}

/// The defect this guards against: a plan saved before running carried no time, so a resume
/// after Ecwid forgot its keys created every batch again and reported them `Updated`.
#[tokio::test]
async fn a_plan_saved_before_running_and_resumed_after_the_window_applies_nothing_twice() {
    let fake = numbered(20).start().await.unwrap();
    let plan = client(&fake).plan_bulk(one_per_variation(20), 10).unwrap();
    let saved = serde_json::to_value(&plan).unwrap();
    // The program runs the saved plan and stops once Ecwid has the first create, before any
    // later checkpoint is saved; the create (slow to answer) is queued all the same.
    fake.inject_fault(Route::BatchCreate, 1, Fault::Delay(ms(300)));
    let run = run_until_first_create(&fake, &client(&fake), &saved).await;
    run.abort();
    let _ = run.await;
    handled(&fake, 0).await;
    fake.batches_settled().await;
    assert_ledger_once(&fake, 10);

    // An hour later the saved plan is resumed.
    fake.advance_clock(Duration::from_secs(61 * 60));
    let report = resume(&fake, serde_json::from_value(saved).unwrap()).await;
    assert!(
        report.outcomes().iter().all(
            |o| matches!(o, ItemOutcome::Unknown { reason, .. } if reason.contains("61 minutes old"))
        ),
        "{:?}",
        report.summary()
    );
    assert_eq!(
        states(&serde_json::to_string(report.plan()).unwrap()),
        ["expired", "expired"]
    );
    assert_eq!(creates(&fake).len(), 1, "nothing was created again");
    fake.batches_settled().await;
    assert_ledger_once(&fake, 10);
}

/// Within the window, the same saved plan is resumed safely: the first chunk's key returns its
/// first ticket, the second chunk is created, and every outcome is learned.
#[tokio::test]
async fn a_plan_saved_before_running_and_resumed_within_the_window_learns_every_outcome_once() {
    let fake = numbered(20).start().await.unwrap();
    let items = one_per_variation(20);
    let plan = client(&fake).plan_bulk(items.clone(), 10).unwrap();
    let saved = serde_json::to_value(&plan).unwrap();
    fake.inject_fault(Route::BatchCreate, 1, Fault::Delay(ms(300)));
    let run = run_until_first_create(&fake, &client(&fake), &saved).await;
    run.abort();
    let _ = run.await;
    handled(&fake, 0).await;

    fake.advance_clock(Duration::from_secs(50 * 60));
    let report = resume(&fake, serde_json::from_value(saved).unwrap()).await;
    assert!(all_updated(report.outcomes()), "{:?}", report.summary());
    let creates = creates(&fake);
    assert_eq!(creates.len(), 3, "first, its repeat, second");
    assert_eq!(dedup_key(&creates[0]), dedup_key(&creates[1]));
    fake.batches_settled().await;
    assert_ledger_once(&fake, 20);
    assert_stocks(&fake, &items);
}

/// A second runner of a plan that is running in this process is refused at once and sends
/// nothing; once the first is done, running the plan again learns the same outcomes.
#[tokio::test]
async fn a_plan_runs_once_at_a_time_in_a_process() {
    let fake = numbered(20).start().await.unwrap();
    let items = one_per_variation(20);
    let saved = serde_json::to_value(client(&fake).plan_bulk(items.clone(), 10).unwrap()).unwrap();
    fake.inject_fault(Route::BatchCreate, 1, Fault::Delay(ms(300)));
    let first = run_until_first_create(&fake, &client(&fake), &saved).await;

    let other = client(&fake);
    let error = other
        .resume_bulk(serde_json::from_value(saved.clone()).unwrap())
        .send()
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidInput(_)), "{error:?}");
    assert!(error.to_string().contains("already being run"), "{error}");
    assert_eq!(creates(&fake).len(), 1, "the second runner sent nothing");

    let report = first.await.unwrap().unwrap();
    assert!(all_updated(report.outcomes()), "{:?}", report.summary());
    let again = resume(&fake, serde_json::from_value(saved).unwrap()).await;
    assert_eq!(again.outcomes(), report.outcomes());
    fake.batches_settled().await;
    assert_ledger_once(&fake, 20);
    assert_stocks(&fake, &items);
}

/// The defect this guards against, one step at a time: runner A's create is refused with a 429
/// it will not wait for, so A reports the chunk not sent (true: nothing was applied); runner B
/// then runs the same saved plan and applies it; A's plan, resumed an hour later, must not
/// create it again.
#[tokio::test]
async fn a_refused_chunk_another_runner_applied_is_never_created_again_after_the_window() {
    let fake = numbered(10).start().await.unwrap();
    let saved =
        serde_json::to_value(client(&fake).plan_bulk(one_per_variation(10), 10).unwrap()).unwrap();
    fake.inject_fault(
        Route::BatchCreate,
        1,
        Fault::ecwid_error(429, "RATE_LIMITED", "slow down").header("Retry-After", "3600"),
    );
    let a = resume(&fake, serde_json::from_value(saved.clone()).unwrap()).await;
    assert_eq!(a.summary().not_sent, 10);
    assert!(fake.ledger().is_empty(), "NotSent is true when reported");

    let b = resume(&fake, serde_json::from_value(saved).unwrap()).await;
    assert!(all_updated(b.outcomes()));
    fake.batches_settled().await;
    assert_ledger_once(&fake, 10);

    fake.advance_clock(Duration::from_secs(61 * 60));
    let late = serde_json::to_value(a.plan()).unwrap();
    let again = resume(&fake, serde_json::from_value(late).unwrap()).await;
    assert_eq!(again.summary().unknown, 10, "{:?}", again.summary());
    assert_eq!(
        creates(&fake).len(),
        2,
        "A's refused create and B's; none after"
    );
    fake.batches_settled().await;
    assert_ledger_once(&fake, 10);
}

/// Two runners resume one saved plan at once, under injected 429s (over the cap), 500s and
/// lost connections, then the plans they return are resumed again, within the window and
/// after it. Seeded, bounded: whatever happens, no item is applied twice, and no item reported
/// not applied (`NotSent`, `NotExecuted`, a 4xx `Failed`) is in the ledger when reported.
#[tokio::test]
async fn two_runners_of_one_plan_under_random_faults_never_double_or_misreport() {
    let mut rng = fastrand::Rng::with_seed(0x5eed_0009);
    for trial in 0..12 {
        let fake = numbered(40).start().await.unwrap();
        let items = one_per_variation(40);
        let saved = serde_json::to_value(client(&fake).plan_bulk(items, 10).unwrap()).unwrap();
        for _ in 0..rng.usize(1..6) {
            let route = if rng.bool() {
                Route::BatchCreate
            } else {
                Route::BatchStatus
            };
            let fault = match rng.u8(0..4) {
                0 => Fault::ecwid_error(429, "RATE_LIMITED", "wait").header("Retry-After", "3600"),
                1 => Fault::ecwid_error(500, "INTERNAL_ERROR", "oops"),
                2 => Fault::CloseAfterApplying,
                _ => Fault::CloseBeforeApplying,
            };
            fake.inject_fault(route, rng.usize(1..3), fault);
        }
        let mut runner = |plan: Value| {
            let client = Client::builder(STORE, TOKEN)
                .base_url(fake.base_url())
                .time_source(fake.time_source())
                .no_rate_limit()
                .retry_policy(RetryPolicy::default().max_retries(rng.u32(0..3)))
                .build()
                .unwrap();
            async move {
                client
                    .resume_bulk(serde_json::from_value(plan).unwrap())
                    .poll_interval(ms(2), ms(20))
                    .poll_timeout(Duration::from_secs(5))
                    .send()
                    .await
            }
        };
        let (a, b) = tokio::join!(runner(saved.clone()), runner(saved.clone()));
        let mut plans = vec![saved.clone()];
        for result in [a, b] {
            match result {
                Ok(report) => {
                    check_report(&fake, &report, trial).await;
                    plans.push(serde_json::to_value(report.plan()).unwrap());
                }
                Err(error) => assert!(
                    error.to_string().contains("already being run"),
                    "trial {trial}: {error}"
                ),
            }
        }
        fake.clear_faults();
        // Every plan resumed again within the window, then after it.
        for plan in &plans {
            let report = runner(plan.clone()).await.unwrap();
            check_report(&fake, &report, trial).await;
        }
        fake.advance_clock(Duration::from_secs(61 * 60));
        for plan in &plans {
            let report = runner(plan.clone()).await.unwrap();
            check_report(&fake, &report, trial).await;
        }
    }
}

/// Once the fake has settled: no variation in the ledger twice, and no item the report says
/// was not applied in the ledger.
async fn check_report(fake: &FakeStore, report: &BulkReport, trial: usize) {
    fake.batches_settled().await;
    let counts = ledger_counts(fake);
    assert!(
        counts.values().all(|&n| n == 1),
        "trial {trial}: doubled: {counts:?}"
    );
    for (item, outcome) in report.iter() {
        let c = item.item.combination().unwrap().get();
        if !outcome.may_have_been_applied() && !matches!(outcome, ItemOutcome::NotUpdated) {
            assert!(
                !counts.contains_key(&c),
                "trial {trial}: variation {c} reported {outcome:?}, yet applied"
            );
        }
    }
}
