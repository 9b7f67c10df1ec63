//! Exactly once across processes: deduplication keys derived from the caller's own ids, for
//! single adjustments, sets and bulk runs, within Ecwid's window and past it. Two clients
//! stand for a process and its restart.

use crate::common;

use std::time::{Duration, SystemTime};

use ecwid_inventory::{
    bulk::{BulkItem, ItemOutcome, KEY_WINDOW},
    Client, Error, RetryPolicy,
};
use ecwid_inventory_fake::{demo, FakeStore, Fault, Route};

use common::{
    all_updated, client, creates, dedup_key, ledger_counts, ms, numbered, one_per_variation,
    small_tee_stock, OTHER_TOKEN, SMALL_TEE,
};

fn demo_client(fake: &FakeStore) -> Client {
    fake.client_builder(demo::TOKEN)
        .no_rate_limit()
        .retry_policy(RetryPolicy::default().connect_backoff(ms(5), ms(20)))
        .build()
        .unwrap()
}

/// The fake's time now, as its clients read it.
fn now(fake: &FakeStore) -> SystemTime {
    fake.time_source().now()
}

/// The same call made again by a restarted process, under the same key: Ecwid answers with the
/// first ticket, the delta lands once, and both processes learn the same outcome.
#[tokio::test]
async fn the_same_key_from_two_processes_applies_once() {
    let fake = FakeStore::demo().await.unwrap();
    let before = small_tee_stock(&fake);
    let received = now(&fake);
    let key = "shopify-order-1001/line-2";
    let first = demo_client(&fake)
        .adjust_stock(SMALL_TEE, -2)
        .exactly_once_key(key, received)
        .await
        .unwrap();
    // The process restarts ten minutes later and handles the same order line again.
    fake.advance_clock(Duration::from_secs(10 * 60));
    let again = demo_client(&fake)
        .adjust_stock(SMALL_TEE, -2)
        .exactly_once_key(key, received)
        .await
        .unwrap();
    assert_eq!(first, again);
    assert!(again.is_updated());
    assert_eq!(small_tee_stock(&fake), before - 2);
    assert_eq!(fake.ledger().len(), 1);
    let creates = creates(&fake);
    assert_eq!(creates.len(), 2);
    assert_eq!(dedup_key(&creates[0]), dedup_key(&creates[1]));
    assert!(uuid::Uuid::parse_str(&dedup_key(&creates[0])).is_ok());

    // Another key is another change.
    demo_client(&fake)
        .adjust_stock(SMALL_TEE, -2)
        .exactly_once_key("shopify-order-1001/line-3", received)
        .await
        .unwrap();
    assert_eq!(small_tee_stock(&fake), before - 4);
    assert_eq!(fake.ledger().len(), 2);
}

/// The first process dies after its create went out and was applied, before it learned the
/// outcome; the restarted process sends the same call and learns it: still once.
#[tokio::test]
async fn a_process_that_died_after_its_create_is_recognized_after_a_restart() {
    let fake = FakeStore::demo().await.unwrap();
    fake.inject_fault(Route::BatchCreate, 1, Fault::CloseAfterApplying);
    fake.inject_fault(
        Route::BatchStatus,
        100,
        Fault::Delay(Duration::from_secs(30)),
    );
    let received = now(&fake);
    let first = {
        let client = demo_client(&fake);
        tokio::spawn(async move {
            client
                .adjust_stock(SMALL_TEE, -3)
                .exactly_once_key("order-7", received)
                .await
        })
    };
    fake.wait_for_ledger(1).await.unwrap();
    first.abort();
    let _ = first.await;
    fake.clear_faults();
    let again = demo_client(&fake)
        .adjust_stock(SMALL_TEE, -3)
        .exactly_once_key("order-7", received)
        .await
        .unwrap();
    assert!(again.is_updated());
    fake.batches_settled().await;
    assert_eq!(fake.ledger().len(), 1);
}

/// Past the window, a key cannot protect: the call is refused, sends nothing, and says why;
/// it never sends the change again blindly.
#[tokio::test]
async fn a_key_older_than_the_window_is_not_sent_again() {
    let fake = FakeStore::demo().await.unwrap();
    let received = now(&fake);
    demo_client(&fake)
        .adjust_stock(SMALL_TEE, -1)
        .exactly_once_key("order-8", received)
        .await
        .unwrap();
    fake.advance_clock(Duration::from_secs(61 * 60));
    let sent = fake.requests().len();
    let error = demo_client(&fake)
        .adjust_stock(SMALL_TEE, -1)
        .exactly_once_key("order-8", received)
        .await
        .unwrap_err();
    let Error::KeyExpired { age, window, .. } = &error else {
        panic!("{error:?}")
    };
    assert!(*age >= Duration::from_secs(61 * 60) && *window == Duration::from_secs(55 * 60));
    assert!(error.may_have_been_applied(), "an earlier attempt may have");
    assert!(error.to_string().contains("not sent"), "{error}");
    assert_eq!(fake.requests().len(), sent, "nothing was sent");
    assert_eq!(fake.ledger().len(), 1);

    // The same for a first attempt that was already old when this process started, and for a
    // set.
    let long_ago = now(&fake) - Duration::from_secs(56 * 60);
    let error = demo_client(&fake)
        .set_stock(SMALL_TEE, 7)
        .exactly_once_key("count-9", long_ago)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::KeyExpired { .. }), "{error:?}");
    assert_eq!(fake.requests().len(), sent);
}

/// Past the key's window (its first attempt set so that 800 ms of it are left), a batch that
/// never completes is reported unknown, and the create is not sent again. (Was a unit test of
/// `src/exactly_once.rs`, which cut the window to the same 800 ms through the private
/// `send_once`; it uses the fake store, which the crate's unit tests cannot.)
#[tokio::test]
async fn past_the_window_the_outcome_is_unknown_and_nothing_is_resent() {
    let fake = FakeStore::demo().await.unwrap();
    fake.pause_batches();
    let client = fake
        .client_builder(demo::TOKEN)
        .deadline(Duration::from_secs(3600))
        .build()
        .unwrap();
    let first_attempt = now(&fake) - (KEY_WINDOW - Duration::from_millis(800));
    let error = client
        .adjust_product_stock(demo::MUG, -1)
        .exactly_once_key("order-at-the-window's-end", first_attempt)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::OutcomeUnknown { .. }), "{error:?}");
    assert!(error.may_have_been_applied());
    let text = error.to_string();
    assert!(
        text.contains("window") && text.contains("had not completed"),
        "{text}"
    );
    let creates = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(creates, 1, "never sent again");
    assert!(fake.ledger().is_empty());
}

/// A keyed set lands once: the second process's repeat cannot overwrite a sale made in
/// between.
#[tokio::test]
async fn a_keyed_set_sent_again_does_not_overwrite_a_later_sale() {
    let fake = FakeStore::demo().await.unwrap();
    let received = now(&fake);
    demo_client(&fake)
        .set_stock(SMALL_TEE, 12)
        .exactly_once_key("count-2026-12-03", received)
        .await
        .unwrap();
    demo_client(&fake)
        .adjust_stock(SMALL_TEE, -1)
        .await
        .unwrap();
    let again = demo_client(&fake)
        .set_stock(SMALL_TEE, 12)
        .exactly_once_key("count-2026-12-03", received)
        .await
        .unwrap();
    assert!(again.is_updated());
    assert_eq!(small_tee_stock(&fake), 11, "the sale is kept");
    assert_eq!(fake.ledger().len(), 2);
}

/// Bad keys are refused before anything is sent.
#[tokio::test]
async fn bad_keys_send_nothing() {
    let fake = FakeStore::demo().await.unwrap();
    let client = demo_client(&fake);
    let received = now(&fake);
    for key in [String::new(), "x".repeat(1001)] {
        let error = client
            .adjust_stock(SMALL_TEE, -1)
            .exactly_once_key(key.clone(), received)
            .await
            .unwrap_err();
        assert!(matches!(error, Error::InvalidInput(_)), "{error:?}");
    }
    assert!(fake.requests().is_empty());
}

/// A keyed bulk run made again by a restarted process, with the same items in the same
/// order: the same chunks under the same keys, each applied once, and the repeat learns every
/// outcome. Keys are per store.
#[tokio::test]
async fn a_keyed_bulk_run_made_again_applies_each_item_once() {
    let fake = numbered(30).start().await.unwrap();
    let received = now(&fake);
    let keyed = |items: Vec<BulkItem>| -> Vec<BulkItem> {
        items
            .into_iter()
            .enumerate()
            .map(|(n, item)| item.exactly_once_key(format!("order-{n}"), received))
            .collect()
    };
    let first = client(&fake)
        .bulk_adjust(keyed(one_per_variation(30)))
        .chunk_size(10)
        .poll_interval(ms(5), ms(50))
        .await
        .unwrap();
    assert!(all_updated(first.outcomes()), "{:?}", first.summary());
    let again = client(&fake)
        .bulk_adjust(keyed(one_per_variation(30)))
        .chunk_size(10)
        .poll_interval(ms(5), ms(50))
        .await
        .unwrap();
    assert!(all_updated(again.outcomes()), "{:?}", again.summary());
    fake.batches_settled().await;
    assert!(ledger_counts(&fake).values().all(|&n| n == 1));
    assert_eq!(fake.ledger().len(), 30);
    let creates = creates(&fake);
    assert_eq!(creates.len(), 6);
    for n in 0..3 {
        assert_eq!(dedup_key(&creates[n]), dedup_key(&creates[n + 3]));
    }
    // The same keys in another store are other keys.
    let other = common::client_for(&fake, OTHER_TOKEN)
        .bulk_adjust(vec![
            BulkItem::product(common::RACK, 1).exactly_once_key("order-0", received)
        ])
        .poll_interval(ms(5), ms(50))
        .await
        .unwrap();
    assert!(all_updated(other.outcomes()));
    let last = common::creates(&fake).pop().unwrap();
    assert_ne!(dedup_key(&creates[0]), dedup_key(&last));
}

/// Keys on some items only, a key given twice, or keys past the window: refused or expired,
/// nothing sent.
#[tokio::test]
async fn a_keyed_bulk_run_is_checked_and_never_sent_past_the_window() {
    let fake = numbered(4).start().await.unwrap();
    let received = now(&fake);
    let items = one_per_variation(4);
    let mixed = vec![
        items[0].clone().exactly_once_key("a", received),
        items[1].clone(),
    ];
    let twice = vec![
        items[0].clone().exactly_once_key("a", received),
        items[1].clone().exactly_once_key("a", received),
    ];
    for (what, run) in [("mixed", mixed), ("twice", twice)] {
        let error = client(&fake).bulk_adjust(run).await.unwrap_err();
        assert!(matches!(error, Error::InvalidInput(_)), "{what}: {error:?}");
    }
    let old = now(&fake) - Duration::from_secs(56 * 60);
    let report = client(&fake)
        .bulk_adjust(
            items
                .into_iter()
                .enumerate()
                .map(|(n, item)| item.exactly_once_key(format!("late-{n}"), old)),
        )
        .poll_interval(ms(5), ms(50))
        .await
        .unwrap();
    assert!(report
        .outcomes()
        .iter()
        .all(|o| matches!(o, ItemOutcome::Unknown { .. })));
    assert!(fake.requests().is_empty(), "nothing was sent");
}
