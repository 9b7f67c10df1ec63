//! The fake Ecwid store, spoken to with raw `reqwest` on loopback: Ecwid's rules.

use crate::common;

use std::time::Duration;

use ecwid_inventory::{RateLimit, StockItem};
use ecwid_inventory_fake::{
    LedgerEntry, Origin, Stock, StockChange, PRODUCT_NEGATIVE_STOCK_WARNING,
    VARIATION_NEGATIVE_STOCK_WARNING,
};
use serde_json::json;

use common::*;

// ---------------------------------------------------------------------------------------------
// Ecwid's rules

#[tokio::test]
async fn adjusting_a_variation_moves_its_stock_and_is_recorded_once() {
    let fake = start().await;
    let (status, body) = read(delta(&fake, SHIRT_RED_PATH, -3).await).await;
    assert_eq!((status, body), (200, json!({ "updateCount": 1 })));
    assert_eq!(red(&fake), Some(Stock::Quantity(7)));
    assert_eq!(
        shirt(&fake),
        Some(Stock::Quantity(20)),
        "own SKU: own stock"
    );

    let journal = fake.requests();
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0].status, Some(200));
    let ledger: Vec<_> = fake
        .ledger()
        .into_iter()
        .map(|d: LedgerEntry| (d.store, d.item, d.change, d.stock_after, d.origin))
        .collect();
    assert_eq!(
        ledger,
        [(
            STORE,
            StockItem::Variation {
                product: SHIRT,
                combination: SHIRT_RED,
            },
            StockChange::Delta(-3),
            Stock::Quantity(7),
            Origin::Request(journal[0].id),
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_adjustments_are_each_applied_exactly_once() {
    let fake = std::sync::Arc::new(start().await);
    let client = http();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let (fake, client) = (std::sync::Arc::clone(&fake), client.clone());
        tasks.spawn(async move {
            let response = client
                .put(format!("{}{SHIRT_RED_PATH}", fake.base_url()))
                .bearer_auth(TOKEN)
                .json(&json!({ "quantityDelta": -1 }))
                .send()
                .await
                .unwrap();
            response.status().as_u16()
        });
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.unwrap(), 200);
    }
    assert_eq!(red(&fake), Some(Stock::Quantity(-40)));
    let ledger = fake.ledger();
    assert_eq!(ledger.len(), 50);
    // Each request applied once, and the deltas were serialised: every intermediate stock
    // from 9 down to -40 appears exactly once.
    let mut requests: Vec<_> = ledger.iter().map(|d| d.origin.clone()).collect();
    requests.sort_by_key(|origin| match origin {
        Origin::Request(id) => id.0,
        _ => panic!("no batch here"),
    });
    requests.dedup();
    assert_eq!(requests.len(), 50);
    let after: Vec<_> = ledger.iter().map(|d| d.stock_after).collect();
    assert_eq!(
        after,
        (-40..=9).rev().map(Stock::Quantity).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn stock_may_go_negative_with_a_warning_on_both_endpoints() {
    let fake = start().await;
    let (status, body) = read(delta(&fake, SHIRT_RED_PATH, -15).await).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({ "updateCount": 1, "warning": VARIATION_NEGATIVE_STOCK_WARNING })
    );
    assert_eq!(red(&fake), Some(Stock::Quantity(-5)));

    let (status, body) = read(delta(&fake, SHIRT_PATH, -25).await).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({ "updateCount": 1, "warning": "Product has negative stock." })
    );
    assert_eq!(
        PRODUCT_NEGATIVE_STOCK_WARNING,
        "Product has negative stock."
    );
    assert_eq!(shirt(&fake), Some(Stock::Quantity(-5)));

    // Back to zero: no longer negative, no warning.
    let (_, body) = read(delta(&fake, SHIRT_PATH, 5).await).await;
    assert_eq!(body, json!({ "updateCount": 1 }));
}

#[tokio::test]
async fn a_variation_with_an_empty_sku_shares_the_products_stock() {
    let fake = start().await;
    assert_eq!(read(delta(&fake, SHIRT_PLAIN_PATH, -4).await).await.0, 200);
    assert_eq!(shirt(&fake), Some(Stock::Quantity(16)));
    assert_eq!(
        fake.stock(
            STORE,
            StockItem::Variation {
                product: SHIRT,
                combination: SHIRT_PLAIN
            }
        ),
        Some(Stock::Quantity(16))
    );
    assert_eq!(read(delta(&fake, SHIRT_PATH, 1).await).await.0, 200);
    assert_eq!(
        fake.stock(
            STORE,
            StockItem::Variation {
                product: SHIRT,
                combination: SHIRT_PLAIN
            }
        ),
        Some(Stock::Quantity(17))
    );
    assert_eq!(red(&fake), Some(Stock::Quantity(10)), "own SKU: untouched");
    let ledger = fake.ledger();
    assert_eq!(ledger[0].item.combination(), Some(SHIRT_PLAIN));
    assert_eq!(ledger[0].stock_after, Stock::Quantity(16));
    assert_eq!(ledger[1].item.combination(), None);
    assert_eq!(ledger[1].stock_after, Stock::Quantity(17));
}

#[tokio::test]
async fn unlimited_stock_answers_update_count_zero_and_changes_nothing() {
    let fake = start().await;
    for path in [
        "/1003/products/2/inventory",
        "/1003/products/3/combinations/31/inventory",
    ] {
        let (status, body) = read(delta(&fake, path, -5).await).await;
        assert_eq!((status, body), (200, json!({ "updateCount": 0 })), "{path}");
    }
    assert_eq!(
        fake.stock(STORE, StockItem::Product { product: EBOOK }),
        Some(Stock::Unlimited)
    );
    assert_eq!(
        fake.stock(
            STORE,
            StockItem::Variation {
                product: POSTER,
                combination: POSTER_DIGITAL
            }
        ),
        Some(Stock::Unlimited)
    );
    assert_eq!(
        fake.stock(STORE, StockItem::Product { product: POSTER }),
        Some(Stock::Quantity(3))
    );
    assert!(fake.ledger().is_empty());
}

#[tokio::test]
async fn tokens_and_scopes_are_enforced() {
    let fake = start().await;
    let body = json!({ "quantityDelta": -1 });
    let client = http();
    let url = |path: &str| format!("{}{path}", fake.base_url());

    let missing = client
        .put(url(SHIRT_RED_PATH))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(error(missing).await, (403, "INVALID_API_TOKEN".into()));
    // Ecwid refuses a token in the query string: it is as good as none.
    let in_query = client
        .put(url(&format!("{SHIRT_RED_PATH}?token={TOKEN}")))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(error(in_query).await, (403, "INVALID_API_TOKEN".into()));
    let basic = client
        .put(url(SHIRT_RED_PATH))
        .header("authorization", format!("Basic {TOKEN}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(error(basic).await, (403, "INVALID_API_TOKEN".into()));
    for (path, token, expected) in [
        (SHIRT_RED_PATH, "secret_unknown", "INVALID_API_TOKEN"),
        (SHIRT_RED_PATH, OTHER_TOKEN, "INVALID_API_TOKEN"),
        (SHIRT_RED_PATH, READER, "INSUFFICIENT_APP_SCOPE"),
        (SHIRT_PATH, READER, "INSUFFICIENT_APP_SCOPE"),
        // The variation endpoint needs read_catalog too.
        (SHIRT_RED_PATH, WRITER, "INSUFFICIENT_APP_SCOPE"),
        (SHIRT_RED_PATH, PUBLIC, "INSUFFICIENT_APP_SCOPE"),
        (SHIRT_PATH, PUBLIC, "INSUFFICIENT_APP_SCOPE"),
    ] {
        let answer = error(put(&fake, path, token, body.clone()).await).await;
        assert_eq!(answer, (403, expected.to_owned()), "{path} with {token}");
    }
    assert!(fake.ledger().is_empty());

    // The scheme is case-insensitive, as in HTTP.
    let lower = client
        .put(url(SHIRT_PATH))
        .header("authorization", format!("bearer {TOKEN}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(lower.status(), 200);
    // update_catalog alone is enough for the product endpoint; the other store's token works
    // on its own store.
    assert_eq!(
        read(put(&fake, SHIRT_PATH, WRITER, body.clone()).await)
            .await
            .0,
        200
    );
    assert_eq!(
        read(put(&fake, "/2002/products/1/inventory", OTHER_TOKEN, body).await)
            .await
            .0,
        200
    );
    assert_eq!(fake.ledger().len(), 3);
    assert_eq!(
        fake.stock(OTHER_STORE, StockItem::Product { product: SHIRT }),
        Some(Stock::Quantity(0))
    );
}

#[tokio::test]
async fn missing_store_product_variation_and_path_are_404() {
    let fake = start().await;
    for (path, code) in [
        ("/9999/products/1/inventory", "STORE_NOT_FOUND"),
        (
            "/9999/products/1/combinations/11/inventory",
            "STORE_NOT_FOUND",
        ),
        ("/1003/products/99/inventory", "PRODUCT_NOT_FOUND"),
        (
            "/1003/products/99/combinations/11/inventory",
            "PRODUCT_NOT_FOUND",
        ),
        (
            "/1003/products/1/combinations/99/inventory",
            "COMBINATION_NOT_FOUND",
        ),
        // A variation of another product is not found either.
        (
            "/1003/products/3/combinations/11/inventory",
            "COMBINATION_NOT_FOUND",
        ),
        ("/1003/products/1/stock", "NOT_FOUND"),
        ("/1003/products/one/inventory", "NOT_FOUND"),
    ] {
        assert_eq!(
            error(delta(&fake, path, -1).await).await,
            (404, code.to_owned()),
            "{path}"
        );
    }
    let outside_api = http()
        .get(fake.base_url().replace("/api/v3", "/index.html"))
        .send()
        .await
        .unwrap();
    assert_eq!(error(outside_api).await, (404, "NOT_FOUND".into()));
    assert!(fake.ledger().is_empty());
    assert_eq!(red(&fake), Some(Stock::Quantity(10)));
}

#[tokio::test]
async fn malformed_requests_are_refused_and_not_applied() {
    let fake = start().await;
    for body in [
        json!({}),
        json!({ "quantityDelta": "5" }),
        json!({ "quantityDelta": 1.5 }),
        json!({ "quantityDelta": 2_147_483_648_i64 }),
        json!({ "quantityDelta": null }),
        json!([{ "quantityDelta": 1 }]),
    ] {
        let answer = error(put(&fake, SHIRT_RED_PATH, TOKEN, body.clone()).await).await;
        assert_eq!(answer, (400, "WRONG_PARAMETER".into()), "{body}");
    }
    // The largest 32-bit delta is fine.
    assert_eq!(
        read(
            put(
                &fake,
                SHIRT_PATH,
                TOKEN,
                json!({ "quantityDelta": i32::MIN })
            )
            .await
        )
        .await
        .0,
        200
    );

    let client = http();
    let url = format!("{}{SHIRT_RED_PATH}", fake.base_url());
    let not_json = client
        .put(&url)
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body("{quantityDelta: 1")
        .send()
        .await
        .unwrap();
    assert_eq!(error(not_json).await, (400, "WRONG_PARAMETER".into()));
    let wrong_type = client
        .put(&url)
        .bearer_auth(TOKEN)
        .header("content-type", "text/plain")
        .body(r#"{"quantityDelta": 1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(error(wrong_type).await.0, 415);
    let no_type = client
        .put(&url)
        .bearer_auth(TOKEN)
        .body(r#"{"quantityDelta": 1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(error(no_type).await.0, 415);
    let with_charset = client
        .put(&url)
        .bearer_auth(TOKEN)
        .header("content-type", "application/json; charset=utf-8")
        .body(r#"{"quantityDelta": 1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(with_charset.status(), 200);
    let bad_flag = put(
        &fake,
        &format!("{SHIRT_RED_PATH}?checkLowStockNotification=maybe"),
        TOKEN,
        json!({ "quantityDelta": 1 }),
    )
    .await;
    assert_eq!(error(bad_flag).await, (400, "WRONG_PARAMETER".into()));

    let get = client.get(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(get.status(), 405);
    assert_eq!(get.headers()["allow"], "PUT");
    assert_eq!(error(get).await.1, "METHOD_NOT_ALLOWED");

    // Only the i32::MIN product delta and the charset variation delta landed.
    let ledger = fake.ledger();
    assert_eq!(ledger.len(), 2);
    assert_eq!(red(&fake), Some(Stock::Quantity(11)));
}

#[tokio::test]
async fn low_stock_notifications_are_recorded_at_or_below_the_warning_limit() {
    let fake = start().await;
    let checked = format!("{SHIRT_RED_PATH}?checkLowStockNotification=true");
    // 10 -> 3: above the limit of 2.
    assert_eq!(read(delta(&fake, &checked, -7).await).await.0, 200);
    assert!(fake.low_stock_notifications().is_empty());
    // 3 -> 2: at the limit, but not asked for.
    assert_eq!(read(delta(&fake, SHIRT_RED_PATH, -1).await).await.0, 200);
    assert!(fake.low_stock_notifications().is_empty());
    // 2 -> 2: at the limit and asked for.
    assert_eq!(read(delta(&fake, &checked, 0).await).await.0, 200);
    // Product: 20 -> 5, at its limit of 5.
    let product_checked = format!("{SHIRT_PATH}?checkLowStockNotification=true");
    assert_eq!(read(delta(&fake, &product_checked, -15).await).await.0, 200);
    // An explicit false asks for nothing.
    let unchecked = format!("{SHIRT_PATH}?checkLowStockNotification=false");
    assert_eq!(read(delta(&fake, &unchecked, -1).await).await.0, 200);

    let notifications = fake.low_stock_notifications();
    assert_eq!(notifications.len(), 2, "{notifications:?}");
    assert_eq!(notifications[0].item.combination(), Some(SHIRT_RED));
    assert_eq!(
        (notifications[0].stock, notifications[0].warning_limit),
        (2, 2)
    );
    assert_eq!(notifications[1].item.combination(), None);
    assert_eq!(
        (notifications[1].stock, notifications[1].warning_limit),
        (5, 5)
    );
}

/// Under tokio's paused clock the fake's clock stands still, so the six requests arrive within
/// the one-second window however slowly they are made: only `advance_clock` moves it.
#[tokio::test(start_paused = true)]
async fn past_the_rate_limit_a_request_gets_429_with_retry_after_and_is_not_applied() {
    let fake = shop()
        .rate_limit(RateLimit::new(5, Duration::from_secs(1)))
        .start()
        .await
        .unwrap();
    for _ in 0..5 {
        assert_eq!(delta(&fake, SHIRT_RED_PATH, -1).await.status(), 200);
    }
    let sixth = delta(&fake, SHIRT_RED_PATH, -1).await;
    assert_eq!(sixth.status(), 429);
    assert_eq!(sixth.headers()["retry-after"], "1");
    assert_eq!(error(sixth).await.1, "RATE_LIMITED");
    assert_eq!(red(&fake), Some(Stock::Quantity(5)));
    assert_eq!(fake.ledger().len(), 5);
    assert_eq!(fake.requests().len(), 6, "the refused request was received");

    // The limit is per token.
    let other = put(&fake, SHIRT_PATH, WRITER, json!({ "quantityDelta": -1 })).await;
    assert_eq!(other.status(), 200);

    // Once the window has slid past the first five, requests pass again.
    fake.advance_clock(Duration::from_secs(1));
    assert_eq!(delta(&fake, SHIRT_RED_PATH, -1).await.status(), 200);
    assert_eq!(red(&fake), Some(Stock::Quantity(4)));
}

/// Under tokio's paused clock only `advance_clock` moves the fake's clock: the wait left is
/// exactly 7.5 s, however long the requests take.
#[tokio::test(start_paused = true)]
async fn retry_after_rounds_the_wait_up_to_whole_seconds() {
    let fake = shop()
        .rate_limit(RateLimit::new(1, Duration::from_secs(10)))
        .start()
        .await
        .unwrap();
    assert_eq!(delta(&fake, SHIRT_RED_PATH, -1).await.status(), 200);
    fake.advance_clock(Duration::from_millis(2500));
    let refused = delta(&fake, SHIRT_RED_PATH, -1).await;
    assert_eq!(refused.status(), 429);
    // 7.5 s left, rounded up.
    assert_eq!(refused.headers()["retry-after"], "8");
}
