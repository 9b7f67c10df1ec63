//! Bulk stock sync through the batch API, against the fake Ecwid store on loopback: outcomes in
//! input order, chunking, exactly-once creates under lost answers, 5xx and timeouts, resume after
//! a crash, progress, bad input, and the rate limit.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ecwid_inventory::fake::{
    demo, FakeStore, FakeStoreBuilder, FakeToken, Fault, LowStockNotification, Origin, Product,
    RecordedRequest, Route, Stock, Store, Variation, PRODUCT_NEGATIVE_STOCK_WARNING,
    VARIATION_NEGATIVE_STOCK_WARNING,
};
use ecwid_inventory::{
    BulkItem, BulkPlan, BulkReport, Client, CombinationId, Error, ItemOutcome, ProductId, Progress,
    RateLimit, RetryPolicy, StockItem, StoreId,
};
use serde_json::{json, Value};

const STORE: StoreId = StoreId::new(1003);
const OTHER_STORE: StoreId = StoreId::new(2002);
const TOKEN: &str = "secret_token";
const OTHER_TOKEN: &str = "secret_other";

/// The product holding the numbered variations of [`numbered`].
const RACK: ProductId = ProductId::new(1);
/// Every numbered variation starts with this stock.
const START: i64 = 1_000;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A store whose product [`RACK`] has variations 1..=n, each with its own SKU and a stock of
/// [`START`]; no rate limit.
fn numbered(n: u64) -> FakeStoreBuilder {
    FakeStore::builder()
        .store(Store::new(STORE).product(demo::numbered_product(RACK, "RACK", n, START)))
        .store(Store::new(OTHER_STORE).product(Product::new(RACK).quantity(5)))
        .token(FakeToken::secret(STORE, TOKEN))
        .token(FakeToken::secret(OTHER_STORE, OTHER_TOKEN))
        .no_rate_limit()
}

/// Resumes a saved plan with a plain client, polling often.
async fn resume(fake: &FakeStore, plan: BulkPlan) -> BulkReport {
    client(fake)
        .resume_bulk(plan)
        .poll_interval(ms(5), ms(50))
        .send()
        .await
        .expect("the plan resumes")
}

/// Bad input: the fake received nothing and applied nothing.
fn assert_nothing_sent(fake: &FakeStore) {
    assert!(fake.journal().is_empty(), "{:?}", fake.journal());
    assert!(fake.ledger().is_empty());
}

fn client_for(fake: &FakeStore, token: &str) -> Client {
    fake.client_builder(token)
        .no_rate_limit()
        .build()
        .expect("the client builds")
}

fn client(fake: &FakeStore) -> Client {
    client_for(fake, TOKEN)
}

fn quantity(fake: &FakeStore, combination: u64) -> i64 {
    match fake.stock(
        STORE,
        StockItem::Variation {
            product: RACK,
            combination: CombinationId::new(combination),
        },
    ) {
        Some(Stock::Quantity(q)) => q,
        other => panic!("variation {combination}: {other:?}"),
    }
}

/// `n` items over variations 1..=variations, with varied deltas of both signs.
fn spread(n: usize, variations: u64) -> Vec<BulkItem> {
    (0..n)
        .map(|i| {
            let c = (i as u64 % variations) + 1;
            let delta = if i % 3 == 0 {
                -((i % 5) as i32 + 1)
            } else {
                (i % 4) as i32 + 1
            };
            BulkItem::variation(RACK, CombinationId::new(c), delta)
        })
        .collect()
}

/// What each numbered variation's stock must be once `items` are applied.
fn expected_stocks(items: &[BulkItem]) -> HashMap<u64, i64> {
    let mut stocks = HashMap::new();
    for item in items {
        let c = item.item.combination().expect("a variation").get();
        *stocks.entry(c).or_insert(START) += i64::from(item.delta().expect("a delta"));
    }
    stocks
}

fn assert_stocks(fake: &FakeStore, items: &[BulkItem]) {
    for (c, expected) in expected_stocks(items) {
        assert_eq!(quantity(fake, c), expected, "stock of variation {c}");
    }
}

/// The batch creates the fake received, in order.
fn creates(fake: &FakeStore) -> Vec<RecordedRequest> {
    fake.journal()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/batch"))
        .collect()
}

fn query_value<'a>(request: &'a RecordedRequest, name: &str) -> Option<&'a str> {
    request
        .query
        .as_deref()?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

fn dedup_key(request: &RecordedRequest) -> String {
    query_value(request, "deduplicationKey")
        .expect("every create carries a deduplicationKey")
        .to_owned()
}

/// How many requests a create carried.
fn create_len(request: &RecordedRequest) -> usize {
    serde_json::from_str::<Vec<Value>>(&request.body)
        .expect("a create's body is a JSON array")
        .len()
}

/// Asserts that every delta of the ledger came from a batch, each (ticket, index) once, and
/// that there are exactly `n` of them.
fn assert_ledger_once(fake: &FakeStore, n: usize) {
    let ledger = fake.ledger();
    let mut seen = HashSet::new();
    for entry in &ledger {
        let Origin::Batch { ticket, index, .. } = &entry.origin else {
            panic!("a delta applied outside a batch: {entry:?}");
        };
        assert!(
            seen.insert((ticket.clone(), *index)),
            "applied twice: {entry:?}"
        );
    }
    assert_eq!(ledger.len(), n, "deltas applied");
}

/// Per variation, how many times the ledger holds it.
fn ledger_counts(fake: &FakeStore) -> HashMap<u64, usize> {
    let mut counts = HashMap::new();
    for entry in fake.ledger() {
        *counts
            .entry(entry.item.combination().expect("a variation").get())
            .or_insert(0) += 1;
    }
    counts
}

fn all_updated(outcomes: &[ItemOutcome]) -> bool {
    outcomes
        .iter()
        .all(|o| matches!(o, ItemOutcome::Updated { warning: None, .. }))
}

/// Waits until the fake answered (or finished handling) request number `n` of its journal.
async fn handled(fake: &FakeStore, n: usize) {
    fake.wait_until(|fake| fake.journal().get(n).is_some_and(|r| r.status.is_some()))
        .await
        .unwrap_or_else(|timeout| panic!("request {n} was never handled: {timeout}"));
}

/// The chunks of a serialized plan.
fn chunks(json: &str) -> Vec<Value> {
    let plan: Value = serde_json::from_str(json).expect("a plan is JSON");
    plan["chunks"].as_array().expect("chunks").clone()
}

/// Milliseconds since the Unix epoch, as a plan records them.
fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Makes a saved plan look `minutes` older, as if the machine's clock had moved on since it
/// was made.
fn age(plan: &mut Value, minutes: u64) {
    let made = plan["keysMadeUnixMs"]
        .as_u64()
        .expect("the plan records when its keys were made");
    plan["keysMadeUnixMs"] = json!(made - minutes * 60 * 1000);
}

/// The `ticket` of each batch status read, in order.
fn status_reads(fake: &FakeStore) -> Vec<String> {
    fake.journal()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/batch"))
        .map(|r| query_value(r, "ticket").expect("a ticket").to_owned())
        .collect()
}

fn states(json: &str) -> Vec<String> {
    chunks(json)
        .iter()
        .map(|c| c["state"]["state"].as_str().expect("a state").to_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Outcomes

#[tokio::test]
async fn outcomes_come_back_in_input_order_for_every_kind_of_result() {
    let (shirt, red, blue, digital) = (
        ProductId::new(1),
        CombinationId::new(11),
        CombinationId::new(12),
        CombinationId::new(13),
    );
    let (mug, gift, unknown_product) = (ProductId::new(2), ProductId::new(3), ProductId::new(999));
    let fake = FakeStore::builder()
        .store(
            Store::new(STORE)
                .product(
                    Product::new(shirt)
                        .sku("SHIRT")
                        .quantity(50)
                        .variation(Variation::new(red).sku("RED").quantity(10).warning_limit(8))
                        .variation(
                            Variation::new(blue)
                                .sku("BLUE")
                                .quantity(5)
                                .warning_limit(3),
                        )
                        .variation(Variation::new(digital).sku("DIGITAL").unlimited()),
                )
                .product(Product::new(mug).sku("MUG").quantity(8).warning_limit(2))
                .product(Product::new(gift).sku("GIFT").unlimited()),
        )
        .token(FakeToken::secret(STORE, TOKEN))
        .no_rate_limit()
        .start()
        .await
        .unwrap();
    let client = client(&fake);

    let items = vec![
        // 0: red 10 -> 7; at or below its limit of 8, but the flag is false.
        BulkItem::variation(shirt, red, -3).check_low_stock_notification(false),
        // 1: no such product.
        BulkItem::product(unknown_product, 1),
        // 2: blue 5 -> -5: a warning, and a notification (limit 3).
        BulkItem::variation(shirt, blue, -10).check_low_stock_notification(true),
        // 3: unlimited product.
        BulkItem::product(gift, 5),
        // 4: no such variation.
        BulkItem::variation(shirt, CombinationId::new(777), -1),
        // 5: mug 8 -> -2: the product's warning; no flag, so no notification.
        BulkItem::product(mug, -10),
        // 6: red 7 -> 8, at its limit of 8, flag true: a notification.
        BulkItem::variation(shirt, red, 1).check_low_stock_notification(true),
        // 7: unlimited variation.
        BulkItem::variation(shirt, digital, -1),
    ];
    let report = client
        .bulk_adjust(items.clone())
        .poll_interval(ms(5), ms(50))
        .send()
        .await
        .unwrap();

    fn failed(code: &str) -> impl Fn(&ItemOutcome) -> bool + '_ {
        move |o| matches!(o, ItemOutcome::Failed { status: 404, error_code: Some(c), .. } if c == code)
    }
    let outcomes = report.outcomes();
    assert_eq!(outcomes.len(), 8);
    assert!(matches!(
        outcomes[0],
        ItemOutcome::Updated { warning: None, .. }
    ));
    assert!(
        failed("PRODUCT_NOT_FOUND")(&outcomes[1]),
        "{:?}",
        outcomes[1]
    );
    assert!(
        matches!(&outcomes[2], ItemOutcome::Updated { warning: Some(w), .. } if w == VARIATION_NEGATIVE_STOCK_WARNING),
        "{:?}",
        outcomes[2]
    );
    assert_eq!(outcomes[3], ItemOutcome::NotUpdated);
    assert!(
        failed("COMBINATION_NOT_FOUND")(&outcomes[4]),
        "{:?}",
        outcomes[4]
    );
    assert!(
        matches!(&outcomes[5], ItemOutcome::Updated { warning: Some(w), .. } if w == PRODUCT_NEGATIVE_STOCK_WARNING),
        "{:?}",
        outcomes[5]
    );
    assert!(matches!(
        outcomes[6],
        ItemOutcome::Updated { warning: None, .. }
    ));
    assert_eq!(outcomes[7], ItemOutcome::NotUpdated);
    // iter() pairs each item with its own outcome.
    let paired: Vec<_> = report.iter().map(|(item, _)| *item).collect();
    assert_eq!(paired, items);
    let summary = report.summary();
    assert_eq!(
        (
            summary.updated,
            summary.not_updated,
            summary.failed,
            summary.not_executed,
            summary.not_sent,
            summary.unknown
        ),
        (4, 2, 2, 0, 0, 0)
    );
    assert!(report.is_settled());
    assert!(!outcomes[1].may_have_been_applied() && outcomes[2].may_have_been_applied());
    // The saved plan records the outcomes with camelCase fields, like the rest of the plan.
    let ItemOutcome::Failed {
        error_message: Some(message),
        ..
    } = &outcomes[1]
    else {
        panic!("{:?}", outcomes[1])
    };
    let saved = serde_json::to_value(report.plan()).unwrap();
    assert_eq!(
        saved["chunks"][0]["state"]["outcomes"][1],
        json!({
            "outcome": "failed",
            "status": 404,
            "errorCode": "PRODUCT_NOT_FOUND",
            "errorMessage": message,
        })
    );

    // One batch, and the failures did not stop the items after them.
    assert_eq!(creates(&fake).len(), 1);
    assert_eq!(
        fake.stock(
            STORE,
            StockItem::Variation {
                product: shirt,
                combination: red
            }
        ),
        Some(Stock::Quantity(8))
    );
    assert_eq!(
        fake.stock(
            STORE,
            StockItem::Variation {
                product: shirt,
                combination: blue
            }
        ),
        Some(Stock::Quantity(-5))
    );
    assert_eq!(
        fake.stock(STORE, StockItem::Product { product: mug }),
        Some(Stock::Quantity(-2))
    );
    assert_eq!(
        fake.stock(STORE, StockItem::Product { product: shirt }),
        Some(Stock::Quantity(50))
    );
    assert_eq!(
        fake.stock(STORE, StockItem::Product { product: gift }),
        Some(Stock::Unlimited)
    );
    assert_eq!(
        fake.stock(
            STORE,
            StockItem::Variation {
                product: shirt,
                combination: digital
            }
        ),
        Some(Stock::Unlimited)
    );

    // The ledger holds exactly the applied items, once each, at their positions in the batch.
    let ledger: Vec<_> = fake
        .ledger()
        .into_iter()
        .map(|e| {
            let Origin::Batch { index, .. } = e.origin else {
                panic!("not from a batch: {e:?}")
            };
            (
                index,
                e.item.product(),
                e.item.combination(),
                e.delta().expect("an adjustment"),
                e.stock_after,
            )
        })
        .collect();
    assert_eq!(
        ledger,
        [
            (0, shirt, Some(red), -3, Stock::Quantity(7)),
            (2, shirt, Some(blue), -10, Stock::Quantity(-5)),
            (5, mug, None, -10, Stock::Quantity(-2)),
            (6, shirt, Some(red), 1, Stock::Quantity(8)),
        ]
    );

    // The low-stock flag travelled with each item: only the two items asking got one.
    let notifications: Vec<_> = fake
        .low_stock_notifications()
        .into_iter()
        .map(|n: LowStockNotification| (n.store, n.item, n.stock, n.warning_limit))
        .collect();
    assert_eq!(
        notifications,
        [
            (
                STORE,
                StockItem::Variation {
                    product: shirt,
                    combination: blue,
                },
                -5,
                3,
            ),
            (
                STORE,
                StockItem::Variation {
                    product: shirt,
                    combination: red,
                },
                8,
                8,
            ),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Chunks

#[tokio::test]
async fn more_than_500_items_go_out_as_chunks_of_500() {
    let fake = numbered(4).start().await.unwrap();
    let items = spread(1_201, 4);
    let report = client(&fake)
        .bulk_adjust(items.clone())
        .poll_interval(ms(5), ms(50))
        .send()
        .await
        .unwrap();

    assert_eq!(report.outcomes().len(), 1_201);
    assert!(all_updated(report.outcomes()));
    assert_eq!(report.summary().updated, 1_201);
    assert_eq!(report.plan().chunk_count(), 3);
    let creates = creates(&fake);
    assert_eq!(
        creates.iter().map(create_len).collect::<Vec<_>>(),
        [500, 500, 201]
    );
    let keys: HashSet<_> = creates.iter().map(dedup_key).collect();
    assert_eq!(keys.len(), 3, "each chunk has its own key");
    // Every request the bulk sync sent was a batch create or a status read.
    assert!(fake.journal().iter().all(|r| r.path.ends_with("/batch")));
    assert_stocks(&fake, &items);
    assert_ledger_once(&fake, 1_201);
}

#[tokio::test]
async fn a_custom_chunk_size_is_honoured() {
    let fake = numbered(3).start().await.unwrap();
    let items = spread(350, 3);
    let report = client(&fake)
        .bulk_adjust(items.clone())
        .chunk_size(100)
        .poll_interval(ms(5), ms(50))
        .send()
        .await
        .unwrap();
    assert!(all_updated(report.outcomes()));
    assert_eq!(report.outcomes().len(), 350);
    assert_eq!(
        creates(&fake).iter().map(create_len).collect::<Vec<_>>(),
        [100, 100, 100, 50]
    );
    assert_stocks(&fake, &items);
    assert_ledger_once(&fake, 350);
}

// ---------------------------------------------------------------------------------------------
// Exactly once when a create's fate is unknown

/// `n` items, one per variation 1..=n, each delta -(c % 7 + 1).
fn one_per_variation(n: u64) -> Vec<BulkItem> {
    (1..=n)
        .map(|c| BulkItem::variation(RACK, CombinationId::new(c), -((c % 7) as i32 + 1)))
        .collect()
}

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
    assert!(fake.journal().is_empty(), "planning sends nothing");

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
                .on_checkpoint(move |plan| {
                    saved
                        .lock()
                        .unwrap()
                        .push(serde_json::to_string(plan).unwrap())
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
    let careful = fake
        .client_builder(TOKEN)
        .no_rate_limit()
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
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
        .journal()
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

// ---------------------------------------------------------------------------------------------
// Progress

#[tokio::test]
async fn progress_only_grows_and_ends_at_the_total() {
    let fake = numbered(10).batch_item_delay(ms(2)).start().await.unwrap();
    let items = spread(200, 10);
    let seen = Arc::new(Mutex::new(Vec::<Progress>::new()));
    let report = {
        let seen = Arc::clone(&seen);
        client(&fake)
            .bulk_adjust(items.clone())
            .chunk_size(50)
            .poll_interval(ms(5), ms(20))
            .on_progress(move |p| seen.lock().unwrap().push(p))
            .send()
            .await
            .unwrap()
    };
    assert!(all_updated(report.outcomes()));
    let seen = seen.lock().unwrap().clone();
    assert!(seen.iter().all(|p| p.total == 200), "{seen:?}");
    assert!(
        seen.windows(2).all(|w| w[0].completed <= w[1].completed),
        "{seen:?}"
    );
    assert_eq!(seen.last().map(|p| p.completed), Some(200));
    // Progress inside a chunk is reported, not just whole chunks.
    assert!(
        seen.iter()
            .any(|p| p.completed > 0 && p.completed < 200 && p.completed % 50 != 0),
        "{seen:?}"
    );
    assert_stocks(&fake, &items);
}

// ---------------------------------------------------------------------------------------------
// Bad input

#[tokio::test]
async fn bad_input_fails_before_anything_is_sent() {
    let fake = numbered(3).start().await.unwrap();
    let client = client(&fake);
    let good = || spread(10, 3);
    let with = |index: usize, item: BulkItem| {
        let mut items = good();
        items[index] = item;
        items
    };
    let bad_items = [
        (
            "zero delta",
            with(4, BulkItem::variation(RACK, CombinationId::new(1), 0)),
        ),
        (
            "zero product",
            with(7, BulkItem::product(ProductId::new(0), 3)),
        ),
        (
            "zero combination",
            with(2, BulkItem::variation(RACK, CombinationId::new(0), 3)),
        ),
    ];
    for (what, items) in bad_items {
        let error = client
            .bulk_adjust(items.clone())
            .poll_interval(ms(5), ms(50))
            .send()
            .await
            .unwrap_err();
        assert!(matches!(error, Error::InvalidInput(_)), "{what}: {error:?}");
        assert!(client.plan_bulk(items, 500).is_err(), "{what}");
    }
    for size in [0, 501] {
        let error = client
            .bulk_adjust(good())
            .chunk_size(size)
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(error, Error::InvalidInput(_)),
            "chunk size {size}: {error:?}"
        );
        assert!(client.plan_bulk(good(), size).is_err());
    }
    assert_nothing_sent(&fake);
    for c in 1..=3 {
        assert_eq!(quantity(&fake, c), START);
    }
}

// ---------------------------------------------------------------------------------------------
// Rate limit

#[tokio::test]
async fn a_batch_is_one_request_against_the_rate_limit() {
    let limit = RateLimit::new(5, Duration::from_secs(1));
    let fake = numbered(10).rate_limit(limit).start().await.unwrap();
    let client = fake
        .client_builder(TOKEN)
        .rate_limit(limit)
        .build()
        .unwrap();
    let items = spread(1_000, 10);
    let started = tokio::time::Instant::now();
    let report = client
        .bulk_adjust(items.clone())
        .poll_interval(ms(5), ms(50))
        .send()
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert!(all_updated(report.outcomes()), "{:?}", report.summary());
    let journal = fake.journal();
    let rate_limited = journal.iter().filter(|r| r.status == Some(429)).count();
    assert_eq!(rate_limited, 0, "no 429 answers");
    assert_eq!(creates(&fake).len(), 2);
    // 1,000 items one by one would need 1,000 requests, 200 s at this limit.
    assert!(journal.len() <= 30, "{} requests", journal.len());
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
    assert_stocks(&fake, &items);
    assert_ledger_once(&fake, 1_000);
}

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
    let careful = fake
        .client_builder(TOKEN)
        .no_rate_limit()
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
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
    let mut plan: Value = serde_json::to_value(report.plan()).unwrap();
    assert_eq!(plan["chunks"][0]["state"]["state"], "creating");
    age(&mut plan, 56);
    fake.advance_clock(Duration::from_secs(56 * 60));

    let report = resume(&fake, serde_json::from_value(plan).unwrap()).await;
    assert!(!report.is_settled());
    assert!(report.outcomes().iter().all(
        |o| matches!(o, ItemOutcome::Unknown { reason, .. } if reason.contains("minutes old"))
    ));
    // Nothing was sent again, so nothing was applied twice.
    assert_eq!(creates(&fake).len(), 1);
    assert_eq!(fake.journal().len(), 1);
    assert_ledger_once(&fake, 20);
    // The chunk is final: the plan is done, and resuming it again sends nothing.
    let saved = serde_json::to_string(report.plan()).unwrap();
    assert_eq!(states(&saved), ["expired"]);
    assert!(report.plan().is_done());
    let again = resume(&fake, serde_json::from_str(&saved).unwrap()).await;
    assert_eq!(again.outcomes(), report.outcomes());
    assert_eq!(fake.journal().len(), 1);
}

/// A create near the end of the deduplication window gets only what is left of the window,
/// even when the client's own deadline would allow more: an attempt or retry past it could
/// apply the chunk twice. The attempt is cut when the window ends, and not retried.
#[tokio::test]
async fn a_create_near_the_end_of_its_key_window_is_cut_there_and_not_retried() {
    let fake = numbered(10).start().await.unwrap();
    let plan = client(&fake).plan_bulk(one_per_variation(10), 10).unwrap();
    // A crash left the chunk `creating` 300 ms short of the window; Ecwid now answers slowly.
    let mut plan = serde_json::to_value(&plan).unwrap();
    let nearly = 55 * 60 * 1000 - 300;
    plan["chunks"][0]["state"] = json!({"state": "creating"});
    plan["keysMadeUnixMs"] = json!(unix_ms() - nearly);
    fake.inject_fault(Route::BatchCreate, 1, Fault::Delay(ms(3_000)));
    let report = resume(&fake, serde_json::from_value(plan).unwrap()).await;
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
            .on_progress(move |p| seen.lock().unwrap().push(p))
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

// ---------------------------------------------------------------------------------------------
// The client's default low-stock flag

#[tokio::test]
async fn the_clients_low_stock_default_reaches_batch_items_that_do_not_set_their_own() {
    let (low, quiet, own) = (
        CombinationId::new(1),
        CombinationId::new(2),
        CombinationId::new(3),
    );
    let variation = |c| {
        Variation::new(c)
            .sku(format!("RACK-{}", c.get()))
            .quantity(10)
            .warning_limit(8)
    };
    let fake = FakeStore::builder()
        .store(
            Store::new(STORE).product(
                Product::new(RACK)
                    .sku("RACK")
                    .quantity(0)
                    .variation(variation(low))
                    .variation(variation(quiet))
                    .variation(variation(own)),
            ),
        )
        .token(FakeToken::secret(STORE, TOKEN))
        .no_rate_limit()
        .start()
        .await
        .unwrap();
    let notifying = fake
        .client_builder(TOKEN)
        .no_rate_limit()
        .check_low_stock_notification(true)
        .build()
        .unwrap();
    let items = vec![
        // No flag of its own: the client's default (true) applies. 10 -> 7, under 8.
        BulkItem::variation(RACK, low, -3),
        // Its own false wins over the default. 10 -> 7.
        BulkItem::variation(RACK, quiet, -3).check_low_stock_notification(false),
    ];
    // Planned by the notifying client, saved, and sent by a client without a default: the
    // plan records the flag, so the resumed run sends it all the same.
    let plan = serde_json::to_string(&notifying.plan_bulk(items, 500).unwrap()).unwrap();
    let report = resume(&fake, serde_json::from_str(&plan).unwrap()).await;
    // A direct run of the notifying client: an item without a flag gets its default, 10 -> 6.
    let direct = notifying
        .bulk_adjust([BulkItem::variation(RACK, own, -4)])
        .poll_interval(ms(5), ms(50))
        .send()
        .await
        .unwrap();
    assert!(all_updated(report.outcomes()) && all_updated(direct.outcomes()));

    // The flag travelled in each batch item's path.
    let paths: Vec<Vec<String>> = creates(&fake)
        .iter()
        .map(|c| {
            serde_json::from_str::<Vec<Value>>(&c.body)
                .unwrap()
                .iter()
                .map(|r| r["path"].as_str().unwrap().to_owned())
                .collect()
        })
        .collect();
    assert_eq!(
        paths,
        [
            vec![
                "/products/1/combinations/1/inventory?checkLowStockNotification=true",
                "/products/1/combinations/2/inventory?checkLowStockNotification=false",
            ],
            vec!["/products/1/combinations/3/inventory?checkLowStockNotification=true"],
        ]
    );
    // The report shows the items as sent.
    let flags: Vec<_> = report
        .iter()
        .map(|(item, _)| item.check_low_stock_notification)
        .collect();
    assert_eq!(flags, [Some(true), Some(false)]);
    // Ecwid notified for the two items that asked, not for the one that said false.
    let notified: Vec<_> = fake
        .low_stock_notifications()
        .iter()
        .map(|n| (n.item.combination(), n.stock))
        .collect();
    assert_eq!(notified, [(Some(low), 7), (Some(own), 6)]);
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
    let mut saved = serde_json::to_value(&plan).unwrap();
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
    age(&mut saved, 61);
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
    let mut saved = serde_json::to_value(&plan).unwrap();
    fake.inject_fault(Route::BatchCreate, 1, Fault::Delay(ms(300)));
    let run = run_until_first_create(&fake, &client(&fake), &saved).await;
    run.abort();
    let _ = run.await;
    handled(&fake, 0).await;

    fake.advance_clock(Duration::from_secs(50 * 60));
    age(&mut saved, 50);
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
    let mut late = serde_json::to_value(a.plan()).unwrap();
    age(&mut late, 61);
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
            let mut late = plan.clone();
            age(&mut late, 61);
            let report = runner(late).await.unwrap();
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
