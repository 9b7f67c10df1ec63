//! Bulk stock sync through the batch API, against the fake Ecwid store on loopback: outcomes in
//! input order, chunking, progress, bad input, the rate limit and the low-stock default.

use crate::common;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ecwid_inventory::{
    bulk::{BulkItem, ItemOutcome},
    CombinationId, Error, ProductId, Progress, RateLimit, StockChange, StockItem,
};
use ecwid_inventory_fake::{
    FakeStore, FakeToken, LowStockNotification, Origin, Product, Stock, Store, Variation,
    PRODUCT_NEGATIVE_STOCK_WARNING, VARIATION_NEGATIVE_STOCK_WARNING,
};
use serde_json::{json, Value};

use common::*;

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
    let paired: Vec<_> = report.iter().map(|(item, _)| item.clone()).collect();
    assert_eq!(paired, items);
    let summary = report.summary();
    assert_eq!(
        (
            summary.applied,
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
    assert_eq!(report.summary().applied, 1_201);
    assert_eq!(report.plan().chunk_count(), 3);
    let creates = creates(&fake);
    assert_eq!(
        creates.iter().map(create_len).collect::<Vec<_>>(),
        [500, 500, 201]
    );
    let keys: HashSet<_> = creates.iter().map(dedup_key).collect();
    assert_eq!(keys.len(), 3, "each chunk has its own key");
    // Every request the bulk sync sent was a batch create or a status read.
    assert!(fake.requests().iter().all(|r| r.path.ends_with("/batch")));
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
            .on_progress(move |p| seen.lock().unwrap().push(*p))
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
    let requests = fake.requests();
    let rate_limited = requests.iter().filter(|r| r.status == Some(429)).count();
    assert_eq!(rate_limited, 0, "no 429 answers");
    assert_eq!(creates(&fake).len(), 2);
    // 1,000 items one by one would need 1,000 requests, 200 s at this limit.
    assert!(requests.len() <= 30, "{} requests", requests.len());
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
    assert_stocks(&fake, &items);
    assert_ledger_once(&fake, 1_000);
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

/// Absolute counts go beside deltas: each set lands once, the ledger shows it as a set, and a
/// crash resumed from the saved plan sets nothing twice.
#[tokio::test]
async fn sets_and_deltas_run_together_and_resume_once() {
    let fake = numbered(6).start().await.unwrap();
    let variation = |c| StockItem::Variation {
        product: RACK,
        combination: CombinationId::new(c),
    };
    let items = vec![
        BulkItem::variation(RACK, CombinationId::new(1), -5),
        BulkItem::set(variation(2), 42),
        BulkItem::set_unlimited(variation(3)),
        BulkItem::set(variation(4), 0),
        BulkItem::variation(RACK, CombinationId::new(4), 3),
        BulkItem::set(variation(5), -1),
    ];
    // A count below zero is refused before anything is sent.
    let error = client(&fake)
        .bulk_adjust(items.clone())
        .send()
        .await
        .unwrap_err();
    assert!(error.to_string().contains("item 5"), "{error}");
    assert_nothing_sent(&fake);

    let items = items[..5].to_vec();
    let plan = client(&fake).plan_bulk(items, 2).unwrap();
    let saved = serde_json::to_value(&plan).unwrap();
    assert_eq!(
        saved["chunks"][0]["items"][1]["set"],
        json!({"quantity": 42})
    );
    assert_eq!(saved["chunks"][1]["items"][0]["set"], json!("unlimited"));
    let report = resume(&fake, serde_json::from_value(saved.clone()).unwrap()).await;
    assert!(all_updated(report.outcomes()), "{:?}", report.outcomes());
    let stocks: Vec<_> = (1..=4)
        .map(|c| fake.stock(STORE, variation(c)).unwrap())
        .collect();
    assert_eq!(
        stocks,
        [
            Stock::Quantity(START - 5),
            Stock::Quantity(42),
            Stock::Unlimited,
            Stock::Quantity(3),
        ]
    );
    let changes: Vec<_> = fake.ledger().iter().map(|e| e.change).collect();
    assert_eq!(
        changes,
        [
            StockChange::Delta(-5),
            StockChange::Set(Stock::Quantity(42)),
            StockChange::Set(Stock::Unlimited),
            StockChange::Set(Stock::Quantity(0)),
            StockChange::Delta(3),
        ]
    );
    // The saved plan resumed again, within the window: the same tickets, nothing applied twice.
    let again = resume(&fake, serde_json::from_value(saved).unwrap()).await;
    assert_eq!(again.outcomes(), report.outcomes());
    fake.batches_settled().await;
    assert_eq!(fake.ledger().len(), 5);
}
