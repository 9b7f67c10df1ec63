//! `adjust` and `set`: what they send, what they print, and how they end.

use ecwid_inventory::StockItem;
use ecwid_inventory_fake::{demo, Fault, Origin, Route, Stock, StockChange};
use serde_json::json;

use crate::harness::Shop;

const SMALL_TEE: StockItem = StockItem::Variation {
    product: demo::SMALL_TEE.0,
    combination: demo::SMALL_TEE.1,
};
const MEDIUM_TEE: StockItem = StockItem::Variation {
    product: demo::MEDIUM_TEE.0,
    combination: demo::MEDIUM_TEE.1,
};
const MUG: StockItem = StockItem::Product { product: demo::MUG };

#[tokio::test]
async fn adjust_applies_a_delta_once() {
    let shop = Shop::demo().await;
    let run = shop
        .run(&["adjust", "TEE-S", "-2", "--json"])
        .await
        .expect(0);
    assert_eq!(
        run.json(),
        json!({"sku": "TEE-S", "product_id": 692730761, "combination_id": 422488528,
               "change": -2, "outcome": "applied", "warning": null, "error": null})
    );
    let ledger = shop.ledger();
    assert_eq!(ledger.len(), 1, "{ledger:#?}");
    assert_eq!(
        (ledger[0].item, ledger[0].change),
        (SMALL_TEE, StockChange::Delta(-2))
    );
    assert_eq!(
        shop.fake.stock(demo::STORE, SMALL_TEE),
        Some(Stock::Quantity(8))
    );

    // In columns, by ids (no SKU known), a positive delta shown with its sign.
    let mug = demo::MUG.to_string();
    let run = shop
        .run(&["adjust", "--product", &mug, "3"])
        .await
        .expect(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{run:#?}");
    assert!(lines[0].starts_with("SKU"), "{run:#?}");
    let cells: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(cells, ["-", &mug, "+3", "applied"], "{run:#?}");
    assert_eq!(shop.fake.stock(demo::STORE, MUG), Some(Stock::Quantity(11)));
}

#[tokio::test]
async fn the_low_stock_notification_is_asked_for_only_with_its_flag() {
    let shop = Shop::demo().await;
    // 10 - 8 = 2, under TEE-S's warning limit of 3.
    shop.run(&["adjust", "TEE-S", "-8"]).await.expect(0);
    assert!(shop.fake.low_stock_notifications().is_empty());
    shop.run(&["adjust", "TEE-S", "+8"]).await.expect(0);
    shop.run(&["adjust", "TEE-S", "-8", "--notify-low-stock"])
        .await
        .expect(0);
    let notifications = shop.fake.low_stock_notifications();
    assert_eq!(notifications.len(), 1, "{notifications:#?}");
    assert_eq!(
        (notifications[0].item, notifications[0].stock),
        (SMALL_TEE, 2)
    );
    let queries: Vec<Option<String>> = shop
        .fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT")
        .map(|r| r.query)
        .collect();
    assert_eq!(
        queries,
        [None, None, Some("checkLowStockNotification=true".into())],
        "left out of the request unless asked for"
    );
}

#[tokio::test]
async fn ecwids_warning_is_shown() {
    let shop = Shop::demo().await;
    let run = shop
        .run(&["adjust", "MUG", "-10", "--json"])
        .await
        .expect(0);
    assert_eq!(run.json()["warning"], "Product has negative stock.");
    let run = shop.run(&["adjust", "MUG", "-1"]).await.expect(0);
    assert!(
        run.stdout.lines().next().unwrap().ends_with("WARNING"),
        "{run:#?}"
    );
    assert!(
        run.stdout.contains("Product has negative stock."),
        "{run:#?}"
    );
    assert_eq!(shop.fake.stock(demo::STORE, MUG), Some(Stock::Quantity(-3)));
}

#[tokio::test]
async fn exactly_once_survives_a_lost_answer_and_applies_once() {
    let shop = Shop::demo().await;
    shop.fake
        .inject_fault(Route::BatchCreate, 1, Fault::CloseAfterApplying);
    let run = shop
        .run(&["adjust", "TEE-S", "-4", "--exactly-once", "--json"])
        .await
        .expect(0);
    assert_eq!(run.json()["outcome"], "applied");
    shop.fake.batches_settled().await;
    let ledger = shop.ledger();
    assert_eq!(ledger.len(), 1, "{ledger:#?}");
    assert!(
        matches!(ledger[0].origin, Origin::Batch { .. }),
        "{ledger:#?}"
    );
    let creates = shop
        .fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(creates, 2, "the create was sent again, under the same key");
    assert_eq!(
        shop.fake.stock(demo::STORE, SMALL_TEE),
        Some(Stock::Quantity(6))
    );
}

/// Without --exactly-once, a lost answer is not sent again (it may have been applied): the
/// outcome is unknown, exit 1, and the output says what to do.
#[tokio::test]
async fn a_lost_answer_is_unknown_and_exits_1() {
    let shop = Shop::demo().await;
    shop.fake
        .inject_fault(Route::VariationInventory, 1, Fault::CloseAfterApplying);
    let run = shop
        .run(&["adjust", "TEE-S", "-2", "--json"])
        .await
        .expect(1);
    let json = run.json();
    assert_eq!(json["outcome"], "unknown", "{run:#?}");
    let error = json["error"].as_str().unwrap();
    assert!(
        error.contains("may have been applied") && error.contains("ecwid-stock get TEE-S"),
        "{error}"
    );
    assert_eq!(run.stderr.trim(), format!("error: {error}"));
    assert_eq!(shop.ledger().len(), 1, "applied once, never sent again");
}

#[tokio::test]
async fn a_refused_change_failed_and_exits_1() {
    let shop = Shop::demo().await;
    shop.fake.inject_fault(
        Route::ProductInventory,
        1,
        Fault::ecwid_error(409, "NOT_ALLOWED_TO_UPDATE_PARAMETER", "no"),
    );
    let run = shop.run(&["adjust", "MUG", "5", "--json"]).await.expect(1);
    assert_eq!(
        run.json(),
        json!({"sku": "MUG", "product_id": 692730763, "combination_id": null,
               "change": 5, "outcome": "failed", "warning": null,
               "error": "Ecwid answered 409 NOT_ALLOWED_TO_UPDATE_PARAMETER: no"})
    );
    assert!(shop.ledger().is_empty());
}

#[tokio::test]
async fn an_unlimited_item_is_not_updated_and_exits_0() {
    let shop = Shop::demo().await;
    let run = shop
        .run(&["adjust", "GIFT", "-1", "--json"])
        .await
        .expect(0);
    assert_eq!(run.json()["outcome"], "not-updated");
    let run = shop.run(&["adjust", "GIFT", "-1"]).await.expect(0);
    assert!(run.stdout.contains("not-updated"), "{run:#?}");
    assert!(run.stderr.contains("unlimited stock"), "{run:#?}");
    assert!(shop.ledger().is_empty());
}

#[tokio::test]
async fn set_lands_a_count_or_unlimited_stock() {
    let shop = Shop::demo().await;
    let run = shop.run(&["set", "TEE-M", "40", "--json"]).await.expect(0);
    assert_eq!(
        run.json(),
        json!({"sku": "TEE-M", "product_id": 692730761, "combination_id": 422488529,
               "target": 40, "outcome": "applied", "warning": null, "error": null})
    );
    let run = shop
        .run(&["set", "MUG", "unlimited", "--json"])
        .await
        .expect(0);
    assert_eq!(run.json()["target"], "unlimited");
    let run = shop.run(&["set", "MUG", "0"]).await.expect(0);
    assert!(
        run.stdout.lines().nth(1).unwrap().contains("applied"),
        "{run:#?}"
    );
    let changes: Vec<(StockItem, StockChange)> =
        shop.ledger().iter().map(|e| (e.item, e.change)).collect();
    assert_eq!(
        changes,
        [
            (MEDIUM_TEE, StockChange::Set(Stock::Quantity(40))),
            (MUG, StockChange::Set(Stock::Unlimited)),
            (MUG, StockChange::Set(Stock::Quantity(0))),
        ]
    );
}

#[tokio::test]
async fn a_set_ecwid_refuses_failed_and_exits_1() {
    let shop = Shop::demo().await;
    let (tee, large) = demo::LARGE_TEE;
    let (tee, large) = (tee.to_string(), large.to_string());
    let run = shop
        .run(&["set", "--product", &tee, "--combination", &large, "5"])
        .await
        .expect(1);
    assert!(run.stdout.contains("failed"), "{run:#?}");
    assert!(
        run.stderr.contains("400 DIFFERENT_COMBINATION_STOCK"),
        "{run:#?}"
    );
    assert!(shop.ledger().is_empty());
}

#[tokio::test]
async fn quiet_prints_nothing_but_errors() {
    let shop = Shop::demo().await;
    let run = shop
        .run(&["adjust", "TEE-S", "-1", "--quiet"])
        .await
        .expect(0);
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("", ""));
    let run = shop.run(&["-q", "set", "TEE-S", "3"]).await.expect(0);
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("", ""));
    let run = shop
        .run(&["adjust", "--product", "999", "1", "-q"])
        .await
        .expect(1);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("PRODUCT_NOT_FOUND"), "{run:#?}");
    assert_eq!(shop.ledger().len(), 2);
}

/// `--key`: the same command run again (a cron job restarted, say) is answered with the first
/// run's result and applied once; another key is another change.
#[tokio::test]
async fn a_key_of_the_callers_applies_the_same_command_once() {
    let shop = Shop::demo().await;
    let first = shop
        .run(&[
            "adjust",
            "TEE-S",
            "-2",
            "--exactly-once",
            "--key",
            "order-1001/line-2",
            "--json",
        ])
        .await
        .expect(0);
    let json = first.json();
    assert_eq!(json["outcome"], "applied", "{first:#?}");
    let first_attempt = json["first_attempt"].as_str().expect("printed").to_owned();
    shop.fake.batches_settled().await;

    let again = shop
        .run(&[
            "adjust",
            "TEE-S",
            "-2",
            "--exactly-once",
            "--key",
            "order-1001/line-2",
            "--first-attempt",
            &first_attempt,
            "--json",
        ])
        .await
        .expect(0);
    assert_eq!(again.json()["outcome"], "applied", "{again:#?}");
    assert_eq!(again.json()["first_attempt"], first_attempt.as_str());
    shop.fake.batches_settled().await;
    assert_eq!(shop.ledger().len(), 1, "{:#?}", shop.ledger());
    assert_eq!(
        shop.fake.stock(demo::STORE, SMALL_TEE),
        Some(Stock::Quantity(8))
    );

    shop.run(&[
        "adjust",
        "TEE-S",
        "-2",
        "--exactly-once",
        "--key",
        "order-1001/line-3",
    ])
    .await
    .expect(0);
    shop.fake.batches_settled().await;
    assert_eq!(shop.ledger().len(), 2, "another key, another change");
    assert_eq!(
        shop.fake.stock(demo::STORE, SMALL_TEE),
        Some(Stock::Quantity(6))
    );
}

/// A key first used 55 minutes ago or more may be forgotten by Ecwid: the command sends
/// nothing, and since an earlier run may have applied it, its outcome is unknown (exit 1).
#[tokio::test]
async fn a_key_too_old_to_be_remembered_sends_nothing_and_exits_1() {
    let shop = Shop::demo().await;
    let hour_ago = humantime::format_rfc3339_seconds(
        std::time::SystemTime::now() - std::time::Duration::from_secs(56 * 60),
    )
    .to_string();
    let run = shop
        .run(&[
            "adjust",
            "TEE-S",
            "-2",
            "--exactly-once",
            "--key",
            "order-1001/line-2",
            "--first-attempt",
            &hour_ago,
            "--json",
        ])
        .await
        .expect(1);
    let json = run.json();
    assert_eq!(json["outcome"], "unknown", "{run:#?}");
    let error = json["error"].as_str().unwrap();
    assert!(
        error.contains("not sent") && error.contains("ecwid-stock get TEE-S"),
        "{error}"
    );
    assert_eq!(shop.writes(), 0, "nothing sent");
}
