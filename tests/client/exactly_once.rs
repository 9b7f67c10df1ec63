//! Exactly-once single adjustments against the fake store: whatever the transport does to the
//! create or the status reads, the fake's ledger shows one application, and the caller gets
//! the real outcome.

use crate::common;

use std::time::Duration;

use ecwid_inventory::{Client, Error, RetryPolicy};
use ecwid_inventory_fake::{demo, FakeStore, Fault, Route};

use common::{creates, dedup_key, ms, small_tee_stock, status_reads, SMALL_TEE};

fn client(fake: &FakeStore) -> Client {
    fake.client_builder(demo::TOKEN)
        .no_rate_limit()
        .timeout(Duration::from_millis(500))
        .retry_policy(RetryPolicy::default().connect_backoff(ms(5), ms(20)))
        .build()
        .unwrap()
}

/// Sells one small T-shirt exactly once, within `deadline`, expecting a failure.
async fn sell_once_within(fake: &FakeStore, deadline: Duration) -> Error {
    fake.client_builder(demo::TOKEN)
        .no_rate_limit()
        .deadline(deadline)
        .build()
        .unwrap()
        .adjust_stock(SMALL_TEE, -1)
        .exactly_once()
        .await
        .unwrap_err()
}

/// Each fault, met once by the create or by a status read: one application, the real answer.
#[tokio::test]
async fn no_fault_of_the_transport_applies_it_twice_or_leaves_it_unknown() {
    let faults: Vec<(&str, Route, Fault)> = vec![
        (
            "create: answer lost after applying",
            Route::BatchCreate,
            Fault::CloseAfterApplying,
        ),
        (
            "create: lost before applying",
            Route::BatchCreate,
            Fault::CloseBeforeApplying,
        ),
        (
            "create: 500",
            Route::BatchCreate,
            Fault::ecwid_error(500, "INTERNAL_ERROR", "oops"),
        ),
        (
            "create: times out, lands later",
            Route::BatchCreate,
            Fault::Delay(ms(800)),
        ),
        (
            "create: 429",
            Route::BatchCreate,
            Fault::ecwid_error(429, "RATE_LIMITED", "wait").header("Retry-After", "0"),
        ),
        (
            "status: 500",
            Route::BatchStatus,
            Fault::ecwid_error(500, "INTERNAL_ERROR", "oops"),
        ),
        (
            "status: answer lost",
            Route::BatchStatus,
            Fault::CloseAfterApplying,
        ),
        (
            "status: times out",
            Route::BatchStatus,
            Fault::Delay(ms(800)),
        ),
    ];
    for (name, route, fault) in faults {
        let fake = FakeStore::demo().await.unwrap();
        fake.inject_fault(route, 1, fault);
        let adjustment = client(&fake)
            .adjust_stock(SMALL_TEE, -4)
            .exactly_once()
            .send()
            .await
            .unwrap_or_else(|error| panic!("{name}: {error:?}"));
        assert!(adjustment.is_updated(), "{name}");
        fake.batches_settled().await;
        // A delayed request finishes on its own; give it the time to land (or not).
        tokio::time::sleep(ms(900)).await;
        fake.batches_settled().await;
        assert_eq!(fake.ledger().len(), 1, "{name}: applied once");
        assert_eq!(small_tee_stock(&fake), 6, "{name}");
        let creates = creates(&fake);
        assert!(!creates.is_empty(), "{name}");
        let key = dedup_key(&creates[0]);
        assert!(
            creates.iter().all(|c| dedup_key(c) == key),
            "{name}: one key"
        );
    }
}

/// The item's own answer is the call's: a warning when stock goes negative, an error when
/// Ecwid refuses the item (nothing applied), `updateCount: 0` for unlimited stock.
#[tokio::test]
async fn the_items_real_outcome_is_returned() {
    let fake = FakeStore::demo().await.unwrap();
    let client = client(&fake);
    let oversold = client
        .adjust_stock(SMALL_TEE, -15)
        .exactly_once()
        .send()
        .await
        .unwrap();
    assert!(oversold.is_updated());
    assert!(oversold.warning().is_some(), "{oversold:?}");
    assert_eq!(small_tee_stock(&fake), -5);

    let missing = client
        .adjust_product_stock(ecwid_inventory::ProductId::new(999), -1)
        .exactly_once()
        .send()
        .await
        .unwrap_err();
    assert_eq!(missing.status(), Some(404), "{missing:?}");
    assert_eq!(missing.error_code(), Some("PRODUCT_NOT_FOUND"));
    assert!(!missing.may_have_been_applied());

    let gift = client
        .adjust_product_stock(demo::GIFT_CARD, -1)
        .exactly_once()
        .send()
        .await
        .unwrap();
    assert_eq!(gift.update_count(), 0);
    assert_eq!(fake.ledger().len(), 1, "only the oversell moved stock");
}

/// A create refused outright (a 429 longer than the client waits, or bad input) applied
/// nothing, and says so; bad input sends nothing at all.
#[tokio::test]
async fn a_refused_create_or_bad_input_applies_nothing() {
    let fake = FakeStore::demo().await.unwrap();
    fake.inject_fault(
        Route::BatchCreate,
        1,
        Fault::ecwid_error(429, "RATE_LIMITED", "wait").header("Retry-After", "3600"),
    );
    let error = client(&fake)
        .adjust_stock(SMALL_TEE, -1)
        .exactly_once()
        .send()
        .await
        .unwrap_err();
    assert!(matches!(error, Error::RateLimited { .. }), "{error:?}");
    assert!(!error.may_have_been_applied());
    let error = client(&fake)
        .adjust_stock(SMALL_TEE, 0)
        .exactly_once()
        .send()
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidInput(_)), "{error:?}");
    fake.batches_settled().await;
    assert!(fake.ledger().is_empty());
    assert_eq!(fake.requests().len(), 1, "only the refused create");
}

/// While the batch never completes, the call ends at its deadline with the outcome unknown,
/// and the create is not sent again.
#[tokio::test]
async fn a_batch_that_never_completes_ends_unknown_at_the_deadline() {
    let fake = FakeStore::demo().await.unwrap();
    fake.pause_batches();
    let client = fake
        .client_builder(demo::TOKEN)
        .no_rate_limit()
        .deadline(Duration::from_millis(700))
        .build()
        .unwrap();
    let error = client
        .adjust_stock(SMALL_TEE, -1)
        .exactly_once()
        .send()
        .await
        .unwrap_err();
    assert!(matches!(error, Error::OutcomeUnknown { .. }), "{error:?}");
    assert!(error.may_have_been_applied());
    assert!(error.to_string().contains("deadline"), "{error}");
    assert_eq!(creates(&fake).len(), 1);
    fake.resume_batches();
    fake.batches_settled().await;
    assert_eq!(fake.ledger().len(), 1, "it was queued, and ran once");
}

/// A status answer that says COMPLETED without the item's result, or with a result that does
/// not say what happened, is read again: the next read tells, and the real outcome comes back.
#[tokio::test]
async fn a_completed_status_that_does_not_tell_yet_is_read_again() {
    let unclear_answers = [
        serde_json::json!({
            "status": "COMPLETED", "totalRequests": 1, "completedRequests": 1, "responses": [],
        }),
        serde_json::json!({
            "status": "COMPLETED", "totalRequests": 1, "completedRequests": 1,
            "responses": [{"id": "0", "status": "FAILED"}],
        }),
    ];
    for answer in unclear_answers {
        let fake = FakeStore::demo().await.unwrap();
        fake.inject_fault(
            Route::BatchStatus,
            2,
            Fault::respond(200, answer.to_string()),
        );
        let before = small_tee_stock(&fake);
        let adjustment = client(&fake)
            .adjust_stock(SMALL_TEE, -2)
            .exactly_once()
            .send()
            .await
            .unwrap_or_else(|error| panic!("{answer}: {error:?}"));
        assert!(adjustment.is_updated(), "{answer}");
        assert_eq!(small_tee_stock(&fake), before - 2, "{answer}");
        assert_eq!(fake.ledger().len(), 1, "{answer}");
        assert_eq!(creates(&fake).len(), 1, "{answer}");
    }
}

/// When no read ever tells, the call keeps reading until its deadline, and its error says
/// what was known and what ended it.
#[tokio::test]
async fn an_outcome_that_never_becomes_known_ends_at_the_deadline_saying_why() {
    let fake = FakeStore::demo().await.unwrap();
    let empty = serde_json::json!({
        "status": "COMPLETED", "totalRequests": 1, "completedRequests": 1, "responses": [],
    });
    fake.inject_fault(
        Route::BatchStatus,
        1000,
        Fault::respond(200, empty.to_string()),
    );
    let error = sell_once_within(&fake, Duration::from_millis(1500)).await;
    let text = error.to_string();
    assert!(matches!(error, Error::OutcomeUnknown { .. }), "{error:?}");
    assert!(
        text.contains("without its result")
            && text.contains("no time was left for another status read before the call's deadline"),
        "{text}"
    );
    let reads = status_reads(&fake).len();
    assert!(reads >= 3, "gave up after {reads} status reads");
}

/// Once a create may have been applied, a 429 asking for a wait over the retry policy's cap or
/// past the deadline stops the call at once (Ecwid blocks tokens that keep failing), and the
/// error says so; the delta was applied once.
#[tokio::test]
async fn a_create_told_to_wait_too_long_is_not_sent_again() {
    for (retry_after, says) in [("120", "cap"), ("30", "deadline")] {
        let fake = FakeStore::demo().await.unwrap();
        fake.inject_fault(Route::BatchCreate, 1, Fault::CloseAfterApplying);
        fake.inject_fault(
            Route::BatchCreate,
            100,
            Fault::ecwid_error(429, "RATE_LIMITED", "wait").header("Retry-After", retry_after),
        );
        let client = fake
            .client_builder(demo::TOKEN)
            .no_rate_limit()
            .deadline(Duration::from_secs(4))
            .retry_policy(RetryPolicy::default().connect_backoff(ms(5), ms(20)))
            .build()
            .unwrap();
        let error = client
            .adjust_stock(SMALL_TEE, -1)
            .exactly_once()
            .send()
            .await
            .unwrap_err();
        let text = error.to_string();
        assert!(matches!(error, Error::OutcomeUnknown { .. }), "{error:?}");
        assert!(
            text.contains("Retry-After") && text.contains(says),
            "{text}"
        );
        assert_eq!(creates(&fake).len(), 2, "Retry-After {retry_after}: {text}");
        fake.batches_settled().await;
        assert_eq!(fake.ledger().len(), 1);
    }
}

/// The same for the status reads: a 429 whose wait is past the deadline ends the reads at once.
#[tokio::test]
async fn status_reads_told_to_wait_past_the_deadline_stop_at_once() {
    let fake = FakeStore::demo().await.unwrap();
    fake.inject_fault(
        Route::BatchStatus,
        100,
        Fault::ecwid_error(429, "RATE_LIMITED", "wait").header("Retry-After", "30"),
    );
    let error = sell_once_within(&fake, Duration::from_secs(4)).await;
    let text = error.to_string();
    assert!(matches!(error, Error::OutcomeUnknown { .. }), "{error:?}");
    assert!(
        text.contains("Retry-After") && text.contains("deadline"),
        "{text}"
    );
    let reads = status_reads(&fake).len();
    assert_eq!(reads, 1, "{text}");
}

/// A client with the default settings but for its `deadline` (and no rate limit).
fn client_with_deadline(fake: &FakeStore, deadline: Duration) -> Client {
    fake.client_builder(demo::TOKEN)
        .no_rate_limit()
        .deadline(deadline)
        .build()
        .unwrap()
}

/// The last status read is not given up a poll interval early: with a 1.86 s deadline, reads
/// come about 0.1, 0.25, 0.48, 0.81 and 1.32 s after the create, and the next full interval
/// would pass the deadline; one more read still fits, timed to finish by the deadline (a status
/// read changes nothing, so it is given what a round trip of the call takes, not the client's
/// least attempt time of 1 s). A batch that Ecwid runs 1.6 s in is learned by that read.
#[tokio::test]
async fn a_batch_completing_after_the_last_full_interval_is_read_before_the_deadline() {
    let fake = FakeStore::demo().await.unwrap();
    fake.pause_batches();
    let client = client_with_deadline(&fake, ms(1860));
    let started = tokio::time::Instant::now();
    let call = tokio::spawn(async move {
        client
            .adjust_stock(SMALL_TEE, -1)
            .exactly_once()
            .send()
            .await
    });
    tokio::time::sleep_until(started + ms(1600)).await;
    fake.resume_batches();
    let adjustment = call
        .await
        .unwrap()
        .expect("the read timed to finish by the deadline learns the outcome");
    assert!(adjustment.is_updated());
    assert!(started.elapsed() < ms(1860), "within the deadline");
    assert_eq!(fake.ledger().len(), 1);
    assert_eq!(creates(&fake).len(), 1);
    assert_eq!(
        status_reads(&fake).len(),
        6,
        "five reads at the poll intervals, and one timed to the deadline"
    );
}

/// When no read fits any more, the error says so, with the deadline, the time passed and left,
/// and the time a read needs; the last read was sent with that time still left, not later.
#[tokio::test]
async fn when_no_read_fits_any_more_the_error_says_so_with_the_times() {
    let fake = FakeStore::demo().await.unwrap();
    fake.pause_batches();
    let client = client_with_deadline(&fake, ms(1500));
    let started = tokio::time::Instant::now();
    let error = client
        .adjust_stock(SMALL_TEE, -1)
        .exactly_once()
        .send()
        .await
        .unwrap_err();
    let ended = started.elapsed();
    let text = error.to_string();
    assert!(matches!(error, Error::OutcomeUnknown { .. }), "{error:?}");
    assert!(error.may_have_been_applied());
    assert!(
        text.contains("it had not completed at the last status read")
            && text.contains("no time was left for another status read")
            && text.contains("the call's deadline (1.5s)")
            && text.contains("had passed")
            && text.contains("was left")
            && text.contains("a status read needs"),
        "{text}"
    );
    assert!(!text.contains("deadline ended"), "it had not: {text}");
    // Reads about 0.1, 0.25, 0.48, 0.81 and 1.32 s in, then one timed to the deadline.
    assert_eq!(status_reads(&fake).len(), 6, "{text}");
    assert!(
        ended >= ms(1400),
        "ended {ended:?} in, before the last read fitted"
    );
    assert!(ended < ms(1500), "ended {ended:?} in, past the deadline");
    assert_eq!(creates(&fake).len(), 1);
}
