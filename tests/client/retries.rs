//! Faults, retries, the rate limiter, the token guard and timeouts, against the fake store.
//!
//! The invariant every fault must keep, checked from the fake's ledger: each delta is applied
//! at most once, and whenever the caller is not told "applied" or "certainly not applied", the
//! error says the outcome is unknown.

use crate::common;

use std::time::{Duration, Instant};

use ecwid_inventory::{Client, ClientBuilder, Error, RateLimit, RetryPolicy, StockAdjustment};
use ecwid_inventory_fake::{demo, FakeStore, Fault, Route};

use common::{demo_shop, demo_store, small_tee_stock};

fn builder(fake: &FakeStore) -> ClientBuilder {
    fake.client_builder(demo::TOKEN).retry_policy(
        RetryPolicy::default()
            .default_retry_after(Duration::from_millis(20))
            .connect_backoff(Duration::from_millis(10), Duration::from_millis(50)),
    )
}

async fn sell_one(client: &Client) -> Result<StockAdjustment, Error> {
    let (product, combination) = demo::SMALL_TEE;
    client
        .adjust_variation_stock(product, combination, -1)
        .send()
        .await
}

/// The ledger's length once it reaches `expected`, or when the fake gives up waiting.
async fn ledger_len_reaching(fake: &FakeStore, expected: usize) -> usize {
    match fake.wait_for_ledger(expected).await {
        Ok(ledger) => ledger.len(),
        Err(_) => fake.ledger().len(),
    }
}

/// Checks the contract for one call: applied at most once, and never silently wrong.
fn assert_never_silently_wrong(
    what: &str,
    result: &Result<StockAdjustment, Error>,
    applied: usize,
) {
    assert!(applied <= 1, "{what}: applied {applied} times");
    match result {
        Ok(_) => assert_eq!(applied, 1, "{what}: success must mean applied once"),
        Err(error) if !error.may_have_been_applied() => {
            assert_eq!(applied, 0, "{what}: said not applied, but was: {error:?}")
        }
        Err(_) => {} // reported as unknown: either way is honest
    }
}

struct Case {
    name: &'static str,
    faults: Vec<(usize, Fault)>,
    timeout: Option<Duration>,
    /// Whether the call should end in success, and how many requests the fake should see.
    expect_ok: bool,
    expect_requests: usize,
    expect_applied: usize,
    expect_unknown: bool,
}

#[tokio::test]
async fn fault_matrix_applies_each_delta_at_most_once() {
    let rate_limited = || Fault::ecwid_error(429, "RATE_LIMITED", "Too many requests");
    let cases = vec![
        Case {
            name: "429 with Retry-After, then success",
            faults: vec![(1, rate_limited().header("Retry-After", "1"))],
            timeout: None,
            expect_ok: true,
            expect_requests: 2,
            expect_applied: 1,
            expect_unknown: false,
        },
        Case {
            name: "429 without Retry-After twice, then success",
            faults: vec![(2, rate_limited())],
            timeout: None,
            expect_ok: true,
            expect_requests: 3,
            expect_applied: 1,
            expect_unknown: false,
        },
        Case {
            name: "429 asking longer than the cap: returned at once",
            faults: vec![(1, rate_limited().header("Retry-After", "3600"))],
            timeout: None,
            expect_ok: false,
            expect_requests: 1,
            expect_applied: 0,
            expect_unknown: false,
        },
        Case {
            name: "429 past the retries",
            faults: vec![(10, rate_limited())],
            timeout: None,
            expect_ok: false,
            expect_requests: 4,
            expect_applied: 0,
            expect_unknown: false,
        },
        Case {
            name: "500: not retried, reported unknown",
            faults: vec![(1, Fault::ecwid_error(500, "INTERNAL_ERROR", "Oops"))],
            timeout: None,
            expect_ok: false,
            expect_requests: 1,
            expect_applied: 0,
            expect_unknown: true,
        },
        Case {
            name: "503 from a proxy: not retried, reported unknown",
            faults: vec![(1, Fault::respond(503, "<html><title>Down</title></html>"))],
            timeout: None,
            expect_ok: false,
            expect_requests: 1,
            expect_applied: 0,
            expect_unknown: true,
        },
        Case {
            name: "answer slower than the timeout: applied, reported unknown",
            faults: vec![(1, Fault::Delay(Duration::from_millis(400)))],
            timeout: Some(Duration::from_millis(100)),
            expect_ok: false,
            expect_requests: 1,
            expect_applied: 1,
            expect_unknown: true,
        },
        Case {
            name: "connection closed before applying: reported unknown",
            faults: vec![(1, Fault::CloseBeforeApplying)],
            timeout: None,
            expect_ok: false,
            expect_requests: 1,
            expect_applied: 0,
            expect_unknown: true,
        },
        Case {
            name: "connection closed after applying: not retried, reported unknown",
            faults: vec![(1, Fault::CloseAfterApplying)],
            timeout: None,
            expect_ok: false,
            expect_requests: 1,
            expect_applied: 1,
            expect_unknown: true,
        },
    ];
    for case in cases {
        let fake = demo_store().await;
        for (times, fault) in &case.faults {
            fake.inject_fault(Route::VariationInventory, *times, fault.clone());
        }
        let mut builder = builder(&fake);
        if let Some(timeout) = case.timeout {
            builder = builder.timeout(timeout);
        }
        let client = builder.build().unwrap();
        let before = small_tee_stock(&fake);
        let result = sell_one(&client).await;
        // A delayed request lands after the call gave up: wait for it (or 5 s) before reading
        // the ledger.
        let applied = ledger_len_reaching(&fake, case.expect_applied).await;

        let name = case.name;
        assert_never_silently_wrong(name, &result, applied);
        assert_eq!(result.is_ok(), case.expect_ok, "{name}: {result:?}");
        assert_eq!(fake.requests().len(), case.expect_requests, "{name}");
        assert_eq!(applied, case.expect_applied, "{name}");
        assert_eq!(small_tee_stock(&fake), before - applied as i64, "{name}");
        if let Err(error) = &result {
            assert_eq!(
                error.may_have_been_applied(),
                case.expect_unknown,
                "{name}: {error:?}"
            );
        }
    }
}

#[tokio::test]
async fn a_long_retry_after_is_returned_with_its_wait() {
    let fake = demo_store().await;
    fake.inject_fault(
        Route::VariationInventory,
        1,
        Fault::ecwid_error(429, "RATE_LIMITED", "Slow down").header("Retry-After", "90"),
    );
    let client = builder(&fake).build().unwrap();
    let started = Instant::now();
    let error = sell_one(&client).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "returned at once"
    );
    assert_eq!(error.retry_after(), Some(Duration::from_secs(90)));
    assert_eq!(error.error_code(), Some("RATE_LIMITED"));
}

/// A loopback port nobody listens on (yet).
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn client_on_port(port: u16, policy: RetryPolicy) -> Client {
    Client::builder(demo::STORE, demo::TOKEN)
        .base_url(format!("http://127.0.0.1:{port}/api/v3"))
        .retry_policy(policy)
        .build()
        .unwrap()
}

#[tokio::test]
async fn refused_connections_are_retried_until_the_store_is_up() {
    let port = closed_port();
    let client = client_on_port(
        port,
        RetryPolicy::default()
            .max_retries(20)
            .connect_backoff(Duration::from_millis(40), Duration::from_millis(80)),
    );
    let call = tokio::spawn(async move { sell_one(&client).await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let fake = demo_shop().port(port).start().await.unwrap();
    let adjustment = call.await.unwrap().unwrap();
    assert!(adjustment.is_updated());
    assert_eq!(fake.ledger().len(), 1, "applied exactly once");
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn refused_connections_end_in_a_connect_error_that_applied_nothing() {
    let client = client_on_port(
        closed_port(),
        RetryPolicy::default().connect_backoff(Duration::from_millis(1), Duration::from_millis(2)),
    );
    let error = sell_one(&client).await.unwrap_err();
    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
    assert!(!error.may_have_been_applied());
}

#[tokio::test]
async fn an_invalid_token_stops_the_client_and_its_clones_until_reset() {
    let fake = demo_store().await;
    let client = fake
        .client_builder_for(demo::STORE, "secret_revoked")
        .build()
        .unwrap();
    let clone = client.clone();
    let first = sell_one(&client).await.unwrap_err();
    assert_eq!(first.status(), Some(403));
    assert_eq!(first.error_code(), Some("INVALID_API_TOKEN"));
    assert!(!first.may_have_been_applied());
    assert!(client.is_token_rejected());

    for c in [&client, &clone] {
        let error = sell_one(c).await.unwrap_err();
        assert!(matches!(error, Error::TokenRejected), "{error:?}");
        assert!(!error.may_have_been_applied());
    }
    assert_eq!(fake.requests().len(), 1, "nothing more was sent");

    client.reset_token_guard();
    assert_eq!(sell_one(&clone).await.unwrap_err().status(), Some(403));
    assert_eq!(fake.requests().len(), 2, "sent again after the reset");
    // A new client with a valid token is not affected.
    let fresh = builder(&fake).build().unwrap();
    assert!(sell_one(&fresh).await.unwrap().is_updated());
}

/// Callers already queued at the limiter when the token is rejected send nothing either.
#[tokio::test]
async fn calls_queued_behind_an_invalid_token_send_nothing() {
    let fake = demo_store().await;
    let client = fake
        .client_builder_for(demo::STORE, "secret_revoked")
        .rate_limit(RateLimit::new(1, Duration::from_millis(200)))
        .build()
        .unwrap();
    let calls: Vec<_> = (0..5)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { sell_one(&client).await })
        })
        .collect();
    let mut errors = Vec::new();
    for call in calls {
        errors.push(call.await.unwrap().unwrap_err());
    }
    let rejected_by_ecwid = errors.iter().filter(|e| e.status() == Some(403)).count();
    let stopped_by_guard = errors
        .iter()
        .filter(|e| matches!(e, Error::TokenRejected))
        .count();
    assert_eq!((rejected_by_ecwid, stopped_by_guard), (1, 4), "{errors:?}");
    assert_eq!(fake.requests().len(), 1, "only the first call was sent");
}

#[tokio::test]
async fn a_deadline_spent_waiting_for_the_limiter_sends_nothing() {
    let fake = demo_store().await;
    let client = builder(&fake)
        .rate_limit(RateLimit::per_minute(1))
        .deadline(Duration::from_millis(300))
        .build()
        .unwrap();
    sell_one(&client).await.unwrap();
    let started = Instant::now();
    let error = sell_one(&client).await.unwrap_err();
    assert!(matches!(error, Error::DeadlineExceeded), "{error:?}");
    assert!(!error.may_have_been_applied());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "gave up at once"
    );
    assert_eq!(fake.requests().len(), 1);
    assert_eq!(fake.ledger().len(), 1);
}

/// A limiter slot that comes with too little of the deadline left is not taken: the request
/// would be cut by the deadline and its outcome left unknown, so nothing is sent. With no least
/// time for an attempt (the behaviour before it existed), the same call is sent and cut.
#[tokio::test]
async fn a_slot_at_the_edge_of_the_deadline_sends_nothing() {
    for least in [None, Some(Duration::ZERO)] {
        let fake = demo_store().await;
        let mut client = builder(&fake)
            .rate_limit(RateLimit::new(1, Duration::from_secs(1)))
            .deadline(Duration::from_millis(1300));
        if let Some(least) = least {
            client = client.min_attempt_time(least);
        }
        let client = client.build().unwrap();
        sell_one(&client).await.unwrap();
        // The next slot comes a window (1.02 s) after that answer, 0.28 s before the deadline;
        // the fake then takes a second to answer.
        fake.inject_fault(
            Route::VariationInventory,
            1,
            Fault::Delay(Duration::from_secs(1)),
        );
        let error = sell_one(&client).await.unwrap_err();
        match least {
            None => {
                assert!(matches!(error, Error::DeadlineExceeded), "{error:?}");
                assert!(!error.may_have_been_applied());
                assert_eq!(fake.requests().len(), 1, "nothing more was sent");
            }
            Some(_) => {
                assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
                assert!(error.may_have_been_applied());
                assert_eq!(ledger_len_reaching(&fake, 2).await, 2, "and it was applied");
            }
        }
    }
}

#[tokio::test]
async fn the_deadline_cuts_a_slow_attempt_and_says_it_may_have_been_applied() {
    let fake = demo_store().await;
    fake.inject_fault(
        Route::VariationInventory,
        1,
        Fault::Delay(Duration::from_millis(600)),
    );
    let client = builder(&fake)
        .timeout(Duration::from_secs(30))
        .deadline(Duration::from_millis(150))
        .build()
        .unwrap();
    let started = Instant::now();
    let error = sell_one(&client).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(500));
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    assert!(error.may_have_been_applied());
}

#[tokio::test]
async fn dropping_a_call_leaves_the_client_usable() {
    let fake = demo_store().await;
    fake.inject_fault(
        Route::VariationInventory,
        1,
        Fault::Delay(Duration::from_millis(300)),
    );
    // One request per 300 ms: a slot or lock leaked by the dropped call would block the next
    // call until its deadline.
    let client = builder(&fake)
        .rate_limit(RateLimit::new(1, Duration::from_millis(300)))
        .deadline(Duration::from_secs(5))
        .build()
        .unwrap();
    let call = {
        let client = client.clone();
        tokio::spawn(async move { sell_one(&client).await })
    };
    // Drop the call once its request has reached the fake (which holds it back 300 ms).
    fake.wait_for_requests(1).await.unwrap();
    assert_eq!(fake.requests().len(), 1, "the request was sent");
    call.abort();
    assert!(
        call.await.unwrap_err().is_cancelled(),
        "the call was cut short"
    );

    let adjustment = sell_one(&client).await.expect("the client still works");
    assert!(adjustment.is_updated());
    // The dropped request lands all the same: its outcome was the caller's to learn.
    assert_eq!(ledger_len_reaching(&fake, 2).await, 2);
    assert_eq!(fake.requests().len(), 2);
}

/// Many tasks hammering one client against a rate-limited fake: zero 429s, exact stock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_tasks_through_one_client_never_earn_a_429() {
    let window = Duration::from_millis(500);
    let per_window = 40;
    let fake = demo_shop()
        .rate_limit(RateLimit::new(per_window, window))
        .start()
        .await
        .unwrap();
    let client = builder(&fake)
        .rate_limit(RateLimit::new(per_window, window))
        .build()
        .unwrap();
    let before = small_tee_stock(&fake);
    let (tasks, each) = (20, 15);
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let client = client.clone();
        handles.push(tokio::spawn(async move {
            for _ in 0..each {
                sell_one(&client).await.unwrap();
            }
        }));
    }
    for handle in handles {
        handle.await.unwrap();
    }
    let total = tasks * each;
    let requests = fake.requests();
    let rejected = requests.iter().filter(|r| r.status == Some(429)).count();
    assert_eq!(rejected, 0, "no request earned a 429");
    assert_eq!(requests.len(), total);
    assert_eq!(fake.ledger().len(), total);
    assert_eq!(small_tee_stock(&fake), before - total as i64);
}

/// Without the client's limiter the same load does earn 429s: the test above can fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_limiter_the_fake_answers_429() {
    let fake = demo_shop()
        .rate_limit(RateLimit::per_minute(10))
        .start()
        .await
        .unwrap();
    let client = builder(&fake)
        .no_rate_limit()
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    let mut rejected = 0;
    for _ in 0..15 {
        if let Err(error) = sell_one(&client).await {
            assert_eq!(error.status(), Some(429));
            assert!(error.retry_after().is_some());
            rejected += 1;
        }
    }
    assert_eq!(rejected, 5);
    assert_eq!(fake.ledger().len(), 10);
}
