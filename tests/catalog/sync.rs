//! Making the store's stock match target counts (`Client::plan_sync`, `Client::apply_sync`):
//! a dry run sends no write; applying lands every target with one ledger entry per change,
//! keeps a sale made meanwhile in delta mode and overwrites it in set mode, stays exactly once
//! through faults and a killed run resumed from its saved plan, and reports an item Ecwid
//! refuses while the rest apply.

use crate::common;

use ecwid_inventory::bulk::PlanLog;
use std::sync::{Arc, Mutex};

use ecwid_inventory::{
    sync::{SyncMode, SyncOutcome, SyncPlan, SyncStatus, SyncTarget},
    CombinationId, Error, ProductId, Stock, StockChange, StockItem,
};
use ecwid_inventory_fake::{demo, FakeStore, FakeStoreBuilder, Fault, Product, Route};
use ecwid_inventory_fake::{FakeToken, Store, Variation};
use serde_json::{json, Value};

use common::{assert_synced_once, client, creates, delta, ms, product, query_value, STORE, TOKEN};

const SHIRT: ProductId = ProductId::new(1);
/// Own SKU "SHIRT-RED", own stock 10.
const RED: CombinationId = CombinationId::new(11);
/// No SKU of its own: shares the shirt's stock (20).
const PLAIN: CombinationId = CombinationId::new(12);
/// "GIFT", unlimited.
const GIFT: ProductId = ProductId::new(2);
/// "MUG", 8.
const MUG: ProductId = ProductId::new(3);
/// "CAP", 5.
const CAP: ProductId = ProductId::new(6);
/// The product whose variations 1..=n are "RACK-{n}", each with a stock of 1,000.
const RACK: ProductId = ProductId::new(100);

fn red() -> StockItem {
    StockItem::Variation {
        product: SHIRT,
        combination: RED,
    }
}

fn plain() -> StockItem {
    StockItem::Variation {
        product: SHIRT,
        combination: PLAIN,
    }
}

fn rack(n: u64) -> StockItem {
    StockItem::Variation {
        product: RACK,
        combination: CombinationId::new(n),
    }
}

/// A shirt (a variation with its own stock, one sharing the shirt's), an unlimited gift card,
/// a mug, a cap, two products with the SKU "DUP", and a rack of `rack` numbered variations.
fn shop(rack: u64) -> FakeStoreBuilder {
    FakeStore::builder()
        .store(
            Store::new(STORE)
                .product(
                    Product::new(SHIRT)
                        .sku("SHIRT")
                        .quantity(20)
                        .variation(Variation::new(RED).sku("SHIRT-RED").quantity(10))
                        .variation(Variation::new(PLAIN)),
                )
                .product(Product::new(GIFT).sku("GIFT").unlimited())
                .product(Product::new(MUG).sku("MUG").quantity(8))
                .product(Product::new(ProductId::new(4)).sku("DUP").quantity(1))
                .product(Product::new(ProductId::new(5)).sku("DUP").quantity(2))
                .product(Product::new(CAP).sku("CAP").quantity(5))
                .product(demo::numbered_product(RACK, "RACK", rack, 1_000)),
        )
        .token(FakeToken::secret(STORE, TOKEN))
        .no_rate_limit()
}

fn quantity(fake: &FakeStore, item: StockItem) -> Stock {
    fake.stock(STORE, item).expect("the item exists")
}

/// One target of each status.
fn every_status() -> Vec<SyncTarget> {
    vec![
        SyncTarget::sku("SHIRT-RED", Stock::Quantity(7)),
        SyncTarget::sku("MUG", Stock::Quantity(8)),
        SyncTarget::sku("NOPE", Stock::Quantity(1)),
        SyncTarget::sku("DUP", Stock::Quantity(3)),
        SyncTarget::item(plain(), Stock::Quantity(25)),
        SyncTarget::sku("GIFT", Stock::Quantity(4)),
        SyncTarget::sku("CAP", Stock::Unlimited),
    ]
}

/// Targets for rack variations 1..=n: variation c goes to 1,000 - (c % 7) (unchanged for
/// every seventh).
fn rack_targets(n: u64) -> Vec<(String, Stock)> {
    (1..=n)
        .map(|c| (format!("RACK-{c}"), Stock::Quantity(1_000 - (c % 7) as i64)))
        .collect()
}

fn rack_changes(n: u64) -> usize {
    (1..=n).filter(|c| c % 7 != 0).count()
}

/// Every rack variation is at its target.
fn assert_rack_at_targets(fake: &FakeStore, n: u64) {
    for (c, (_, target)) in (1..=n).zip(rack_targets(n)) {
        assert_eq!(quantity(fake, rack(c)), target, "RACK-{c}");
    }
}

fn is_write(request: &ecwid_inventory_fake::RecordedRequest) -> bool {
    request.method == "PUT"
        || (request.method == "POST"
            && serde_json::from_str::<Vec<Value>>(&request.body)
                .unwrap()
                .iter()
                .any(|item| item["method"] != "GET"))
}

// ---------------------------------------------------------------------------------------------
// The plan (a dry run)

/// Every status, each row's change as the mode says, and not one write sent.
#[tokio::test]
async fn a_dry_run_plans_every_status_and_sends_no_write() {
    let fake = shop(3).start().await.unwrap();
    let client = client(&fake);
    let plan = client.plan_sync(every_status()).await.unwrap();

    let rows = plan.rows();
    let seen: Vec<_> = rows
        .iter()
        .map(|r| (r.sku.as_str(), r.item, r.current, r.change, r.status))
        .collect();
    assert_eq!(
        seen,
        [
            (
                "SHIRT-RED",
                Some(red()),
                Some(Stock::Quantity(10)),
                Some(StockChange::Delta(-3)),
                SyncStatus::Change
            ),
            (
                "MUG",
                Some(product(MUG)),
                Some(Stock::Quantity(8)),
                None,
                SyncStatus::Same
            ),
            ("NOPE", None, None, None, SyncStatus::NotFound),
            ("DUP", None, None, None, SyncStatus::Several),
            // Found by item: the row names it with its product's SKU, and the change goes to
            // the product.
            (
                "SHIRT",
                Some(plain()),
                Some(Stock::Quantity(20)),
                Some(StockChange::Delta(5)),
                SyncStatus::Shared
            ),
            // A delta cannot move an unlimited stock, nor make one: sets, shown in the plan.
            (
                "GIFT",
                Some(product(GIFT)),
                Some(Stock::Unlimited),
                Some(StockChange::Set(Stock::Quantity(4))),
                SyncStatus::Change
            ),
            (
                "CAP",
                Some(product(CAP)),
                Some(Stock::Quantity(5)),
                Some(StockChange::Set(Stock::Unlimited)),
                SyncStatus::Change
            ),
        ]
    );
    assert_eq!(
        rows[3].matches,
        [product(ProductId::new(4)), product(ProductId::new(5))]
    );
    assert_eq!(rows[4].write_item(), Some(product(SHIRT)));
    assert_eq!(plan.changes(), 4);
    assert_eq!(plan.count(SyncStatus::Several), 1);
    assert!(!plan.is_started());
    assert_eq!(plan.requests_sent(), client.requests_sent());

    // The rows print as the command line shows them.
    assert_eq!(
        serde_json::to_value(&rows[0]).unwrap(),
        json!({"sku": "SHIRT-RED", "product_id": 1, "combination_id": 11, "current": 10,
               "target": 7, "change": {"delta": -3}, "status": "change"})
    );
    assert_eq!(
        serde_json::to_value(&rows[2]).unwrap(),
        json!({"sku": "NOPE", "product_id": null, "combination_id": null, "current": null,
               "target": 1, "change": null, "status": "not-found"})
    );
    assert_eq!(
        serde_json::to_value(&rows[6]).unwrap()["change"],
        json!({"set": "unlimited"})
    );

    assert!(fake.ledger().is_empty());
    let writes: Vec<_> = fake.requests().into_iter().filter(is_write).collect();
    assert!(writes.is_empty(), "{writes:?}");
    assert_eq!(quantity(&fake, red()), Stock::Quantity(10));
}

/// In set mode, every change is an absolute count.
#[tokio::test]
async fn set_mode_plans_absolute_counts() {
    let fake = shop(3).start().await.unwrap();
    let plan = client(&fake)
        .plan_sync(every_status())
        .mode(SyncMode::Set)
        .await
        .unwrap();
    let changes: Vec<_> = plan.rows().iter().filter_map(|r| r.change).collect();
    assert_eq!(
        changes,
        [
            StockChange::Set(Stock::Quantity(7)),
            StockChange::Set(Stock::Quantity(25)),
            StockChange::Set(Stock::Quantity(4)),
            StockChange::Set(Stock::Unlimited),
        ]
    );
}

/// Bad input fails with a clear error before anything is sent.
#[tokio::test]
async fn bad_targets_fail_before_anything_is_sent() {
    let fake = shop(3).start().await.unwrap();
    let client = client(&fake);
    let cases: Vec<(&str, Vec<SyncTarget>, &str)> = vec![
        (
            "an empty SKU",
            vec![SyncTarget::sku("", Stock::Quantity(1))],
            "target 0",
        ),
        (
            "a repeated SKU",
            vec![
                SyncTarget::sku("MUG", Stock::Quantity(1)),
                SyncTarget::sku("CAP", Stock::Quantity(1)),
                SyncTarget::sku("MUG", Stock::Quantity(2)),
            ],
            "target 2 (SKU \"MUG\") repeats target 0",
        ),
        (
            "a negative count",
            vec![SyncTarget::sku("MUG", Stock::Quantity(-1))],
            "target 0 (SKU \"MUG\")",
        ),
        (
            "a repeated item",
            vec![
                SyncTarget::item(red(), Stock::Quantity(1)),
                SyncTarget::item(red(), Stock::Quantity(1)),
            ],
            "repeats target 0",
        ),
        (
            "a zero id",
            vec![SyncTarget::item(
                product(ProductId::new(0)),
                Stock::Quantity(1),
            )],
            "target 0",
        ),
    ];
    for (what, targets, says) in cases {
        let error = client.plan_sync(targets).await.unwrap_err();
        assert!(matches!(error, Error::InvalidInput(_)), "{what}: {error:?}");
        assert!(error.to_string().contains(says), "{what}: {error}");
    }
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
}

/// A product and a variation sharing its stock are one stock: two targets for it fail once
/// read, having written nothing.
#[tokio::test]
async fn two_targets_for_one_shared_stock_fail_without_a_write() {
    let fake = shop(3).start().await.unwrap();
    let error = client(&fake)
        .plan_sync([
            SyncTarget::sku("SHIRT", Stock::Quantity(1)),
            SyncTarget::item(plain(), Stock::Quantity(2)),
        ])
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidInput(_)), "{error:?}");
    assert!(error.to_string().contains("targets 0 and 1"), "{error}");
    assert!(fake.ledger().is_empty());
    assert!(!fake.requests().iter().any(is_write));
}

/// A saved plan is checked whole: another version, or a change that is not the one its row's
/// read and target make, fails to load.
#[tokio::test]
async fn a_tampered_saved_plan_fails_to_load() {
    let fake = shop(3).start().await.unwrap();
    let plan = client(&fake).plan_sync(every_status()).await.unwrap();
    let saved = serde_json::to_value(&plan).unwrap();
    let back: SyncPlan = serde_json::from_value(saved.clone()).unwrap();
    assert_eq!(back, plan);

    let mut other_version = saved.clone();
    other_version["version"] = json!(99);
    let error = serde_json::from_value::<SyncPlan>(other_version).unwrap_err();
    assert!(error.to_string().contains("format version 99"), "{error}");

    let mut other_change = saved;
    other_change["rows"][0]["change"] = json!({"delta": -30});
    let error = serde_json::from_value::<SyncPlan>(other_change).unwrap_err();
    assert!(error.to_string().contains("row 0"), "{error}");
}

// ---------------------------------------------------------------------------------------------
// Applying

/// Every target lands, with one ledger entry per change, and the report pairs each row with
/// its outcome and counts the requests.
#[tokio::test]
async fn applying_lands_every_target_with_one_ledger_entry_per_change() {
    let fake = shop(3).start().await.unwrap();
    let client = client(&fake);
    let plan = client.plan_sync(every_status()).await.unwrap();
    let before = fake.requests().len();
    let report = client
        .apply_sync(plan)
        .poll_interval(ms(5), ms(50))
        .await
        .unwrap();

    assert!(
        report.is_complete(),
        "{:?}",
        report.outcomes().collect::<Vec<_>>()
    );
    let summary = report.summary();
    assert_eq!((summary.applied, summary.nothing_to_do), (4, 3));
    assert_eq!(
        report.requests_sent(),
        (fake.requests().len() - before) as u64,
        "the report counts what the fake received"
    );
    assert_eq!(quantity(&fake, red()), Stock::Quantity(7));
    assert_eq!(quantity(&fake, product(SHIRT)), Stock::Quantity(25));
    assert_eq!(quantity(&fake, plain()), Stock::Quantity(25));
    assert_eq!(quantity(&fake, product(GIFT)), Stock::Quantity(4));
    assert_eq!(quantity(&fake, product(CAP)), Stock::Unlimited);
    assert_eq!(quantity(&fake, product(MUG)), Stock::Quantity(8));
    fake.batches_settled().await;
    assert_synced_once(&fake, 4);
    // The shared stock moved once, through its product.
    assert!(fake
        .ledger()
        .iter()
        .any(|e| e.item == product(SHIRT) && e.delta() == Some(5)));
    let outcomes: Vec<_> = report.iter().map(|(r, o)| (r.status, o.clone())).collect();
    assert!(matches!(
        outcomes[3],
        (SyncStatus::Several, SyncOutcome::NothingToDo)
    ));
}

/// A plan with nothing to change sends nothing when applied.
#[tokio::test]
async fn a_plan_with_nothing_to_change_sends_nothing() {
    let fake = shop(3).start().await.unwrap();
    let client = client(&fake);
    let plan = client
        .plan_sync([("MUG", Stock::Quantity(8)), ("NOPE", Stock::Quantity(1))])
        .await
        .unwrap();
    let before = fake.requests().len();
    let report = client.apply_sync(plan).await.unwrap();
    assert_eq!(report.summary().nothing_to_do, 2);
    assert_eq!(report.requests_sent(), 0);
    assert_eq!(fake.requests().len(), before);
}

/// A sale made between the plan's read and the write.
async fn sync_red_to_7_around_a_sale(mode: SyncMode) -> FakeStore {
    let fake = shop(3).start().await.unwrap();
    let client = client(&fake);
    let plan = client
        .plan_sync([("SHIRT-RED", Stock::Quantity(7))])
        .mode(mode)
        .await
        .unwrap();
    // Two sold on the storefront: 10 -> 8.
    let sale = delta(&fake, "/1003/products/1/combinations/11/inventory", -2).await;
    assert_eq!(sale.status(), 200);
    let report = client
        .apply_sync(plan)
        .poll_interval(ms(5), ms(50))
        .await
        .unwrap();
    assert!(
        report.is_complete(),
        "{:?}",
        report.outcomes().collect::<Vec<_>>()
    );
    fake
}

#[tokio::test]
async fn a_sale_between_read_and_write_is_kept_in_delta_mode() {
    let fake = sync_red_to_7_around_a_sale(SyncMode::Delta).await;
    // 10 read, 7 wanted: -3 from wherever the stock is, so the sale stays sold.
    assert_eq!(quantity(&fake, red()), Stock::Quantity(5));
}

#[tokio::test]
async fn a_sale_between_read_and_write_is_overwritten_in_set_mode() {
    let fake = sync_red_to_7_around_a_sale(SyncMode::Set).await;
    assert_eq!(quantity(&fake, red()), Stock::Quantity(7));
}

/// An item Ecwid refuses inside the batch (here deleted between the plan and the write) is
/// `failed` with Ecwid's error; the rest apply.
#[tokio::test]
async fn an_item_refused_inside_a_batch_fails_with_ecwids_error_while_the_rest_apply() {
    let fake = shop(20).start().await.unwrap();
    let client = client(&fake);
    let plan = client.plan_sync(rack_targets(20)).await.unwrap();
    let mut saved = serde_json::to_value(&plan).unwrap();
    saved["rows"].as_array_mut().unwrap().insert(
        5,
        json!({"sku": "GONE", "product_id": 999, "combination_id": null, "current": 5,
               "target": 7, "change": {"delta": 2}, "status": "change"}),
    );
    let plan: SyncPlan = serde_json::from_value(saved).unwrap();
    let report = client
        .apply_sync(plan)
        .poll_interval(ms(5), ms(50))
        .await
        .unwrap();

    let (row, outcome) = report.iter().nth(5).unwrap();
    assert_eq!(row.sku, "GONE");
    assert!(
        matches!(outcome, SyncOutcome::Failed { status: Some(404), error_code: Some(code), .. }
                 if code == "PRODUCT_NOT_FOUND"),
        "{outcome:?}"
    );
    let summary = report.summary();
    assert_eq!((summary.applied, summary.failed), (rack_changes(20), 1));
    assert!(!report.is_complete());
    fake.batches_settled().await;
    assert_synced_once(&fake, rack_changes(20));
    assert_rack_at_targets(&fake, 20);
}

// ---------------------------------------------------------------------------------------------
// Exactly once: faults, and a killed run resumed

/// Faults on the batch requests (lost answers, 5xx, 429) leave every change applied once.
#[tokio::test]
async fn faults_during_apply_keep_every_change_exactly_once() {
    let faults = [
        (Route::BatchCreate, Fault::CloseAfterApplying),
        (Route::BatchCreate, Fault::CloseBeforeApplying),
        (
            Route::BatchCreate,
            Fault::ecwid_error(500, "INTERNAL_ERROR", "boom"),
        ),
        (
            Route::BatchCreate,
            Fault::ecwid_error(429, "RATE_LIMITED", "slow down").header("Retry-After", "0"),
        ),
        (Route::BatchStatus, Fault::CloseAfterApplying),
        (
            Route::BatchStatus,
            Fault::ecwid_error(503, "UNAVAILABLE", "later"),
        ),
        (
            Route::BatchStatus,
            Fault::ecwid_error(429, "RATE_LIMITED", "slow down").header("Retry-After", "0"),
        ),
    ];
    for (route, fault) in faults {
        let what = format!("{route:?} {fault:?}");
        let fake = shop(30).start().await.unwrap();
        let client = client(&fake);
        let plan = client.plan_sync(rack_targets(30)).await.unwrap();
        fake.inject_fault(route, 1, fault);
        let report = client
            .apply_sync(plan)
            .poll_interval(ms(5), ms(50))
            .await
            .unwrap();
        assert!(report.is_complete(), "{what}: {:?}", report.summary());
        assert_eq!(fake.pending_faults(), 0, "{what}: the fault was met");
        fake.batches_settled().await;
        assert_synced_once(&fake, rack_changes(30));
        assert_rack_at_targets(&fake, 30);
    }
}

/// A run killed once its create is on its way: the plan saved at its checkpoint, applied
/// again, learns the outcome of what was sent and sends nothing twice; applying the finished
/// plan again sends no change.
#[tokio::test]
async fn a_killed_apply_resumes_from_its_saved_plan_and_applies_nothing_twice() {
    let fake = shop(40).start().await.unwrap();
    let client = client(&fake);
    let plan = client.plan_sync(rack_targets(40)).await.unwrap();
    let saved: Arc<Mutex<Option<String>>> = Arc::default();
    // The plan's own reads may have been batches.
    let read_creates = creates(&fake).len();
    fake.inject_fault(Route::BatchCreate, 1, Fault::Delay(ms(300)));
    let run = {
        let (client, saved) = (client.clone(), saved.clone());
        tokio::spawn(async move {
            client
                .apply_sync(plan)
                .poll_interval(ms(5), ms(50))
                .on_checkpoint(move |checkpoint| {
                    *saved.lock().unwrap() =
                        Some(serde_json::to_string(checkpoint.plan()).unwrap());
                })
                .await
        })
    };
    fake.wait_until(|fake| creates(fake).len() > read_creates)
        .await
        .unwrap();
    run.abort();
    assert!(run.await.unwrap_err().is_cancelled());
    let saved = saved
        .lock()
        .unwrap()
        .clone()
        .expect("a checkpoint was saved");
    let plan: SyncPlan = serde_json::from_str(&saved).unwrap();
    assert!(plan.is_started());
    // The killed create still lands.
    fake.wait_for_ledger(rack_changes(40)).await.unwrap();

    let report = client
        .apply_sync(plan)
        .poll_interval(ms(5), ms(50))
        .await
        .unwrap();
    assert!(
        report.is_complete(),
        "{:?}",
        report.outcomes().collect::<Vec<_>>()
    );
    assert_eq!(report.summary().applied, rack_changes(40));
    let creates_after_resume = creates(&fake).len();
    assert_eq!(
        creates_after_resume - read_creates,
        2,
        "the create was sent again, once, with its key"
    );

    let again = client.apply_sync(report.into_plan()).await.unwrap();
    assert!(again.is_complete());
    assert_eq!(creates(&fake).len(), creates_after_resume, "nothing new");
    fake.batches_settled().await;
    assert_synced_once(&fake, rack_changes(40));
    assert_rack_at_targets(&fake, 40);
}

/// A checkpoint that cannot be saved stops the sync before anything more is sent, whichever
/// save fails (before the create, or once its ticket is known); the last plan saved, applied
/// again, learns what was sent under its key and applies nothing twice.
#[tokio::test]
async fn a_checkpoint_that_cannot_be_saved_stops_the_sync_before_anything_more_is_sent() {
    for fail_at in 1usize..=3 {
        let fake = shop(20).start().await.unwrap();
        let client = client(&fake);
        let plan = client.plan_sync(rack_targets(20)).await.unwrap();
        let before = fake.requests().len();
        let mut saved: Vec<String> = Vec::new();
        let mut sent_by_then = None;
        let error = client
            .apply_sync(plan)
            .poll_interval(ms(5), ms(50))
            .on_checkpoint_async(|checkpoint| {
                let result = if saved.len() + 1 == fail_at {
                    sent_by_then = Some(fake.requests().len());
                    Err(Error::Config("the disk is full".into()))
                } else {
                    saved.push(serde_json::to_string(checkpoint.plan()).unwrap());
                    Ok(())
                };
                std::future::ready(result)
            })
            .await
            .unwrap_err();
        assert!(error.to_string().contains("the disk is full"), "{error}");
        assert_eq!(
            Some(fake.requests().len()),
            sent_by_then,
            "save {fail_at}: nothing sent after it"
        );
        if fail_at == 3 {
            // The third save is the one after the create went out.
            assert!(sent_by_then > Some(before), "{:#?}", fake.requests());
        }
        fake.batches_settled().await;
        let Some(last) = saved.last() else {
            assert!(fake.ledger().is_empty(), "save {fail_at}");
            continue;
        };
        let last: SyncPlan = serde_json::from_str(last).unwrap();
        let report = client
            .apply_sync(last)
            .poll_interval(ms(5), ms(50))
            .await
            .unwrap();
        assert!(
            report.is_complete(),
            "save {fail_at}: {:?}",
            report.summary()
        );
        fake.batches_settled().await;
        assert_synced_once(&fake, rack_changes(20));
        assert_rack_at_targets(&fake, 20);
    }
}

// ---------------------------------------------------------------------------------------------
// Thousands of targets

/// Thousands of SKUs are read through the whole catalog in a handful of requests, and applied
/// in a few batches.
#[tokio::test]
async fn thousands_of_targets_cost_a_handful_of_requests() {
    let fake = FakeStore::builder()
        .store(demo::catalog(2_000, 5))
        .tokens(demo::tokens())
        .no_rate_limit()
        .start()
        .await
        .unwrap();
    let client = fake
        .client_builder(demo::TOKEN)
        .no_rate_limit()
        .build()
        .unwrap();
    // Every product's own SKU: one in four goes to a new count.
    let targets: Vec<(String, Stock)> = (1..=2_000u64)
        .map(|id| {
            let stock = match fake.stock(demo::STORE, product(ProductId::new(id))) {
                Some(Stock::Quantity(q)) if id % 4 == 0 => Stock::Quantity(q + 3),
                Some(Stock::Quantity(q)) => Stock::Quantity(q),
                _ => Stock::Unlimited,
            };
            (format!("CAT-{id:06}"), stock)
        })
        .collect();
    let progress = Mutex::new(Vec::new());
    let plan = client
        .plan_sync(targets.clone())
        .poll_interval(ms(5), ms(50))
        .on_progress(|p| progress.lock().unwrap().push((p.completed, p.total)))
        .await
        .unwrap();
    // Read through the whole catalog: its products read of its total.
    let progress = progress.into_inner().unwrap();
    assert_eq!(progress.first(), Some(&(100, 2_000)), "{progress:?}");
    assert_eq!(progress.last(), Some(&(2_000, 2_000)), "{progress:?}");
    assert_eq!(
        plan.count(SyncStatus::Change) + plan.count(SyncStatus::Same),
        2_000
    );
    assert!(plan.changes() > 400, "{}", plan.changes());
    assert!(
        plan.requests_sent() <= 8,
        "{} requests",
        plan.requests_sent()
    );

    let report = client
        .apply_sync(plan.clone())
        .poll_interval(ms(5), ms(50))
        .await
        .unwrap();
    assert!(
        report.is_complete(),
        "{:?}",
        report.outcomes().collect::<Vec<_>>()
    );
    assert!(
        report.requests_sent() <= 6,
        "{} requests",
        report.requests_sent()
    );
    fake.batches_settled().await;
    assert_synced_once(&fake, plan.changes());
    for (id, (_, target)) in (1..=2_000u64).zip(targets) {
        assert_eq!(quantity(&fake, product(ProductId::new(id))), target, "{id}");
    }
}

/// A batch Ecwid has not run by the poll timeout leaves its changes `unknown`, saying to apply
/// the saved plan again; doing so once the batch ran learns that they were applied, sending
/// no change again. Progress counts the changes done.
#[tokio::test]
async fn a_batch_not_run_in_time_is_unknown_until_the_plan_is_applied_again() {
    let fake = shop(10).start().await.unwrap();
    let client = client(&fake);
    let plan = client.plan_sync(rack_targets(10)).await.unwrap();
    let read_creates = creates(&fake).len();
    fake.pause_batches();
    let report = client
        .apply_sync(plan)
        .poll_interval(ms(5), ms(20))
        .poll_timeout(ms(200))
        .await
        .unwrap();
    let summary = report.summary();
    assert_eq!(summary.unknown, rack_changes(10), "{summary:?}");
    assert!(report.outcomes().all(|o| match o {
        SyncOutcome::Unknown { reason, .. } => reason.contains("apply the saved plan again"),
        other => matches!(other, SyncOutcome::NothingToDo),
    }));

    fake.resume_batches();
    let progress = Mutex::new(Vec::new());
    let again = client
        .apply_sync(report.into_plan())
        .poll_interval(ms(5), ms(50))
        .on_progress(|p| progress.lock().unwrap().push((p.completed, p.total)))
        .await
        .unwrap();
    assert!(again.is_complete(), "{:?}", again.summary());
    assert_eq!(again.summary().applied, rack_changes(10));
    assert_eq!(
        creates(&fake).len() - read_creates,
        1,
        "the batch was created once, and read again"
    );
    let progress = progress.into_inner().unwrap();
    assert_eq!(
        progress.last(),
        Some(&(rack_changes(10), rack_changes(10))),
        "{progress:?}"
    );
    fake.batches_settled().await;
    assert_synced_once(&fake, rack_changes(10));
    assert_rack_at_targets(&fake, 10);
}

/// The plan's batches only read, so Ecwid may run their items in parallel; the apply's write,
/// so they run in order: a sale and a change of the same stock must land as sent.
#[tokio::test]
async fn read_batches_ask_for_parallel_mode_and_write_batches_never_do() {
    let fake = shop(3).start().await.unwrap();
    let client = client(&fake);
    let plan = client.plan_sync(every_status()).await.unwrap();
    let reads = creates(&fake);
    assert!(!reads.is_empty(), "the plan read through a batch");
    for create in &reads {
        assert_eq!(query_value(create, "allowParallelMode"), Some("true"));
    }
    client
        .apply_sync(plan)
        .poll_interval(ms(5), ms(50))
        .await
        .unwrap();
    let writes = &creates(&fake)[reads.len()..];
    assert!(!writes.is_empty(), "the apply wrote through a batch");
    for create in writes {
        assert_eq!(query_value(create, "allowParallelMode"), None, "{create:?}");
    }
}

/// Saved through a plan log, the sync's plan is written whole once, as applying starts, and
/// then each checkpoint appends what changed: read back after any checkpoint, it is the plan
/// that checkpoint handed over.
#[tokio::test]
async fn a_plan_log_reads_back_as_the_plan_after_every_checkpoint() {
    let fake = shop(1_200).start().await.unwrap();
    let client = client(&fake);
    let plan = client.plan_sync(rack_targets(1_200)).await.unwrap();
    let path = std::env::temp_dir().join(format!("ecwid-sync-log-{}", uuid::Uuid::new_v4()));
    let mut log = PlanLog::create(&path, &plan).unwrap();
    let mut steps: Vec<(SyncPlan, Vec<u8>)> = Vec::new();
    let report = client
        .apply_sync(plan)
        .poll_interval(ms(5), ms(50))
        .on_checkpoint(|checkpoint| {
            log.save(checkpoint).unwrap();
            steps.push((checkpoint.plan().clone(), std::fs::read(&path).unwrap()));
        })
        .await
        .unwrap();
    assert!(
        report.is_complete(),
        "{:?}",
        report.outcomes().collect::<Vec<_>>()
    );
    assert!(steps.len() > 3, "{}", steps.len());
    assert!(
        steps[0].0.is_started(),
        "the first checkpoint holds the bulk plan"
    );
    for (n, (plan, bytes)) in steps.iter().enumerate() {
        std::fs::write(&path, bytes).unwrap();
        assert_eq!(&PlanLog::<SyncPlan>::open(&path).unwrap().0, plan, "{n}");
        if n > 0 {
            // Appended: a batch's state or outcomes, never the plan again.
            let (before, now) = (steps[n - 1].1.len(), bytes.len());
            assert!(
                now - before < steps[0].1.len() / 2,
                "{n}: {before} -> {now}"
            );
        }
    }
    assert_eq!(&steps.last().unwrap().0, report.plan());
    std::fs::remove_file(&path).unwrap();
}
