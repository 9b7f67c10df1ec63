//! The fake Ecwid store, spoken to with raw `reqwest` on loopback: Ecwid's rules, the scripted
//! faults, the records tests rely on, the batch API, and conformance of every body to the spec.

use std::time::Duration;

use ecwid_inventory::fake::{
    demo, FakeStore, FakeStoreBuilder, FakeToken, Fault, LedgerEntry, Origin, Product, Route,
    Scope, Stock, StockChange, Store, Variation, PRODUCT_NEGATIVE_STOCK_WARNING,
    VARIATION_NEGATIVE_STOCK_WARNING,
};
use ecwid_inventory::generated::types::{BatchStatus, BatchTicket, EcwidError, StockUpdateResult};
use ecwid_inventory::{CombinationId, ProductId, RateLimit, StockItem, StoreId};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const STORE: StoreId = StoreId::new(1003);
const OTHER_STORE: StoreId = StoreId::new(2002);
const SHIRT: ProductId = ProductId::new(1);
/// Own SKU: own stock of 10, warning limit 2.
const SHIRT_RED: CombinationId = CombinationId::new(11);
/// Empty SKU: shares the shirt's stock (20, warning limit 5).
const SHIRT_PLAIN: CombinationId = CombinationId::new(12);
const EBOOK: ProductId = ProductId::new(2);
const POSTER: ProductId = ProductId::new(3);
/// Own SKU, unlimited.
const POSTER_DIGITAL: CombinationId = CombinationId::new(31);

const TOKEN: &str = "secret_token";
const READER: &str = "secret_reader";
const WRITER: &str = "secret_writer";
const PUBLIC: &str = "public_token";
const OTHER: &str = "secret_other_store";

const SHIRT_RED_PATH: &str = "/1003/products/1/combinations/11/inventory";
const SHIRT_PLAIN_PATH: &str = "/1003/products/1/combinations/12/inventory";
const SHIRT_PATH: &str = "/1003/products/1/inventory";

fn shop() -> FakeStoreBuilder {
    FakeStore::builder()
        .store(
            Store::new(STORE)
                .product(
                    Product::new(SHIRT)
                        .sku("SHIRT")
                        .quantity(20)
                        .warning_limit(5)
                        .variation(
                            Variation::new(SHIRT_RED)
                                .sku("SHIRT-RED")
                                .quantity(10)
                                .warning_limit(2),
                        )
                        .variation(Variation::new(SHIRT_PLAIN)),
                )
                .product(Product::new(EBOOK).unlimited())
                .product(
                    Product::new(POSTER)
                        .quantity(3)
                        .variation(Variation::new(POSTER_DIGITAL).sku("P-D").unlimited()),
                ),
        )
        .store(Store::new(OTHER_STORE).product(Product::new(SHIRT).quantity(1)))
        .token(FakeToken::secret(STORE, TOKEN))
        .token(FakeToken::secret(STORE, READER).scopes([Scope::ReadCatalog]))
        .token(FakeToken::secret(STORE, WRITER).scopes([Scope::UpdateCatalog]))
        .token(FakeToken::public(STORE, PUBLIC))
        .token(FakeToken::secret(OTHER_STORE, OTHER))
}

/// A plain HTTP client for the fake on loopback, ignoring any proxy set in the environment.
fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

async fn start() -> FakeStore {
    shop().start().await.expect("the fake starts")
}

/// A PUT as the SDK sends it: Bearer token, JSON body.
async fn put(fake: &FakeStore, path: &str, token: &str, body: Value) -> reqwest::Response {
    http()
        .put(format!("{}{path}", fake.base_url()))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("the fake answers")
}

async fn delta(fake: &FakeStore, path: &str, delta: i64) -> reqwest::Response {
    put(fake, path, TOKEN, json!({ "quantityDelta": delta })).await
}

/// Status and JSON body.
async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.json().await.expect("a JSON body");
    (status, body)
}

/// Status and errorCode of an error answer.
async fn error(response: reqwest::Response) -> (u16, String) {
    let (status, body) = read(response).await;
    let error: EcwidError = serde_json::from_value(body.clone()).expect("Ecwid's error format");
    assert!(error.error_message.is_some_and(|m| !m.is_empty()), "{body}");
    (status, error.error_code.expect("an errorCode"))
}

fn red(fake: &FakeStore) -> Option<Stock> {
    fake.stock(
        STORE,
        StockItem::Variation {
            product: SHIRT,
            combination: SHIRT_RED,
        },
    )
}

fn shirt(fake: &FakeStore) -> Option<Stock> {
    fake.stock(STORE, StockItem::Product { product: SHIRT })
}

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

    let journal = fake.journal();
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
        (SHIRT_RED_PATH, OTHER, "INVALID_API_TOKEN"),
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
        read(put(&fake, "/2002/products/1/inventory", OTHER, body).await)
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

#[tokio::test]
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
    assert_eq!(fake.journal().len(), 6, "the refused request was received");

    // The limit is per token.
    let other = put(&fake, SHIRT_PATH, WRITER, json!({ "quantityDelta": -1 })).await;
    assert_eq!(other.status(), 200);

    // Once the window has slid past the first five, requests pass again.
    fake.advance_clock(Duration::from_secs(1));
    assert_eq!(delta(&fake, SHIRT_RED_PATH, -1).await.status(), 200);
    assert_eq!(red(&fake), Some(Stock::Quantity(4)));
}

#[tokio::test]
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

// ---------------------------------------------------------------------------------------------
// Scripted faults

#[tokio::test]
async fn a_scripted_response_is_sent_instead_and_nothing_is_applied() {
    let fake = start().await;
    fake.inject_fault(
        Route::VariationInventory,
        1,
        Fault::ecwid_error(503, "INTERNAL_ERROR", "Try later").header("Retry-After", "7"),
    );
    // Another route is not affected.
    assert_eq!(delta(&fake, SHIRT_PATH, -1).await.status(), 200);
    assert_eq!(fake.pending_faults(), 1);

    let faulted = delta(&fake, SHIRT_RED_PATH, -1).await;
    assert_eq!(faulted.status(), 503);
    assert_eq!(faulted.headers()["retry-after"], "7");
    assert_eq!(error(faulted).await.1, "INTERNAL_ERROR");
    assert_eq!(red(&fake), Some(Stock::Quantity(10)));
    assert_eq!(fake.pending_faults(), 0);

    // A proxy's HTML page, with its own content type.
    fake.inject_fault(
        Route::Any,
        2,
        Fault::respond(502, "<html>Bad Gateway</html>").header("Content-Type", "text/html"),
    );
    for path in [SHIRT_RED_PATH, "/nowhere"] {
        let proxied = delta(&fake, path, -1).await;
        assert_eq!(proxied.status(), 502);
        assert_eq!(proxied.headers()["content-type"], "text/html");
        assert_eq!(proxied.text().await.unwrap(), "<html>Bad Gateway</html>");
    }

    assert_eq!(delta(&fake, SHIRT_RED_PATH, -1).await.status(), 200);
    assert_eq!(red(&fake), Some(Stock::Quantity(9)));
    let statuses: Vec<_> = fake.journal().iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [Some(200), Some(503), Some(502), Some(502), Some(200)]
    );
}

#[tokio::test]
async fn closing_before_applying_gives_the_client_an_error_and_applies_nothing() {
    let fake = start().await;
    fake.inject_fault(Route::VariationInventory, 1, Fault::CloseBeforeApplying);
    let client = http();
    let url = format!("{}{SHIRT_RED_PATH}", fake.base_url());
    let sent = client
        .put(&url)
        .bearer_auth(TOKEN)
        .json(&json!({ "quantityDelta": -4 }))
        .send()
        .await;
    let error = sent.expect_err("no response, only a dropped connection");
    assert!(!error.is_status() && !error.is_timeout(), "{error:?}");
    assert!(fake.ledger().is_empty());
    assert_eq!(red(&fake), Some(Stock::Quantity(10)));
    let journal = fake.journal();
    assert_eq!(journal.len(), 1, "the request was read");
    assert_eq!(journal[0].status, None);
    assert_eq!(journal[0].body, r#"{"quantityDelta":-4}"#);

    // The same client goes on over a new connection.
    let again = client
        .put(&url)
        .bearer_auth(TOKEN)
        .json(&json!({ "quantityDelta": -4 }))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(fake.ledger().len(), 1);
}

#[tokio::test]
async fn closing_after_applying_applies_exactly_once_and_a_blind_retry_doubles_it() {
    let fake = start().await;
    fake.inject_fault(Route::VariationInventory, 1, Fault::CloseAfterApplying);
    let client = http();
    let url = format!("{}{SHIRT_RED_PATH}", fake.base_url());
    let send = || {
        client
            .put(&url)
            .bearer_auth(TOKEN)
            .json(&json!({ "quantityDelta": -4 }))
            .send()
    };

    let error = send().await.expect_err("the answer never arrives");
    assert!(!error.is_status() && !error.is_timeout(), "{error:?}");
    let ledger = fake.ledger();
    assert_eq!(ledger.len(), 1, "applied exactly once: {ledger:?}");
    assert_eq!(ledger[0].change, StockChange::Delta(-4));
    assert_eq!(red(&fake), Some(Stock::Quantity(6)));
    let journal = fake.journal();
    assert_eq!(ledger[0].origin, Origin::Request(journal[0].id));
    assert_eq!(journal[0].status, None);

    // This is why the SDK must not retry such a failure blindly.
    assert_eq!(send().await.unwrap().status(), 200);
    assert_eq!(fake.ledger().len(), 2);
    assert_eq!(red(&fake), Some(Stock::Quantity(2)));
}

#[tokio::test]
async fn a_delay_lets_the_client_time_out_while_the_delta_still_lands() {
    let fake = start().await;
    fake.inject_fault(
        Route::ProductInventory,
        2,
        Fault::Delay(Duration::from_millis(200)),
    );
    let impatient = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    let error = impatient
        .put(format!("{}{SHIRT_PATH}", fake.base_url()))
        .bearer_auth(TOKEN)
        .json(&json!({ "quantityDelta": -2 }))
        .send()
        .await
        .expect_err("the client gives up first");
    assert!(error.is_timeout(), "{error:?}");
    assert!(
        fake.ledger().is_empty(),
        "not yet applied when the client gave up"
    );

    // A patient client gets the normal answer, after the delay.
    let started = std::time::Instant::now();
    assert_eq!(delta(&fake, SHIRT_PATH, -2).await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(200));
    // The first request's delay is over too: it was applied although its client saw only a
    // timeout.
    let ledger = fake.wait_for_ledger(2).await.unwrap();
    assert_eq!(ledger.len(), 2, "{ledger:?}");
    assert_eq!(shirt(&fake), Some(Stock::Quantity(16)));
}

#[tokio::test]
async fn faults_are_met_in_order_and_can_be_cleared() {
    let fake = start().await;
    fake.inject_fault(Route::ProductInventory, 1, Fault::respond(500, ""));
    fake.inject_fault(Route::ProductInventory, 1, Fault::respond(502, ""));
    fake.inject_fault(Route::BatchStatus, 3, Fault::CloseBeforeApplying);
    assert_eq!(fake.pending_faults(), 5);
    assert_eq!(delta(&fake, SHIRT_PATH, 1).await.status(), 500);
    assert_eq!(delta(&fake, SHIRT_PATH, 1).await.status(), 502);
    assert_eq!(delta(&fake, SHIRT_PATH, 1).await.status(), 200);
    fake.clear_faults();
    assert_eq!(fake.pending_faults(), 0);
    let status = http()
        .get(format!("{}/1003/batch?ticket=none", fake.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("the cleared fault was not met");
    assert_eq!(status.status(), 404);
}

// ---------------------------------------------------------------------------------------------
// Records and lifecycle

#[tokio::test]
async fn the_journal_records_requests_but_never_the_token() {
    let fake = start().await;
    let client = http();
    client
        .put(format!(
            "{}{SHIRT_RED_PATH}?checkLowStockNotification=true&token={TOKEN}",
            fake.base_url()
        ))
        .bearer_auth(TOKEN)
        .header("x-echo", format!("copy of {TOKEN}"))
        .json(&json!({ "quantityDelta": -1, "note": TOKEN }))
        .send()
        .await
        .unwrap();
    // An unknown token is redacted too, wherever else the request carries it.
    put(
        &fake,
        SHIRT_PATH,
        "secret_not_configured",
        json!({ "quantityDelta": 1, "note": "secret_not_configured" }),
    )
    .await;

    let journal = fake.journal();
    let printed = format!("{journal:?} {fake:?} {:?}", fake.ledger());
    assert!(!printed.contains(TOKEN), "{printed}");
    assert!(!printed.contains("secret_not_configured"), "{printed}");

    let first = &journal[0];
    assert_eq!(first.method, "PUT");
    assert_eq!(
        first.path,
        "/api/v3/1003/products/1/combinations/11/inventory"
    );
    assert_eq!(
        first.query.as_deref(),
        Some("checkLowStockNotification=true&token=[REDACTED]")
    );
    assert_eq!(first.header("authorization"), Some("Bearer [REDACTED]"));
    assert_eq!(first.header("x-echo"), Some("copy of [REDACTED]"));
    assert_eq!(first.header("content-type"), Some("application/json"));
    let body: Value = serde_json::from_str(&first.body).unwrap();
    assert_eq!(body, json!({ "quantityDelta": -1, "note": "[REDACTED]" }));
    assert_eq!(
        journal[1].header("authorization"),
        Some("Bearer [REDACTED]")
    );
    assert_eq!(journal[1].status, Some(403));
    assert!(
        journal[1].body.contains(r#""note":"[REDACTED]""#),
        "{}",
        journal[1].body
    );
}

/// Sends one keep-alive request by hand and reads its answer, so the connection is surely
/// held by a connection task of the fake.
async fn open_connection(fake: &FakeStore) -> tokio::net::TcpStream {
    let mut stream = tokio::net::TcpStream::connect(fake.addr()).await.unwrap();
    let body = r#"{"quantityDelta":1}"#;
    let request = format!(
        "PUT /api/v3{SHIRT_PATH} HTTP/1.1\r\nHost: fake\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buffer = [0; 1024];
    let n = stream.read(&mut buffer).await.unwrap();
    assert!(
        String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buffer[..n])
    );
    stream
}

async fn closed_within_a_second(stream: &mut tokio::net::TcpStream) -> bool {
    let mut buffer = [0; 64];
    matches!(
        tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buffer)).await,
        Ok(Ok(0) | Err(_))
    )
}

#[tokio::test]
async fn dropping_the_fake_closes_the_port_and_its_connections() {
    let fake = start().await;
    let addr = fake.addr();
    let mut open = open_connection(&fake).await;
    drop(fake);

    assert!(
        closed_within_a_second(&mut open).await,
        "the open connection was closed"
    );
    // The abort runs on the runtime: give it a few turns, then the port must be closed.
    let mut refused = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused, "the port still accepts connections");
}

#[tokio::test]
async fn shutdown_returns_once_the_port_is_closed() {
    let fake = start().await;
    let addr = fake.addr();
    let mut open = open_connection(&fake).await;
    fake.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    assert!(closed_within_a_second(&mut open).await);
}

#[tokio::test]
async fn a_chosen_port_is_used_and_the_base_url_has_no_trailing_slash() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let fake = shop().port(port).start().await.unwrap();
    assert_eq!(fake.base_url(), format!("http://127.0.0.1:{port}/api/v3"));
    assert_eq!(delta(&fake, SHIRT_PATH, 1).await.status(), 200);
    // The port is now taken: a second fake on it fails to start, with the bind's error.
    let taken = shop().port(port).start().await.unwrap_err();
    assert_eq!(taken.kind(), std::io::ErrorKind::AddrInUse);
}

#[tokio::test]
async fn catalogs_ecwid_could_not_hold_are_refused() {
    let twice = FakeStore::builder()
        .store(
            Store::new(STORE)
                .product(Product::new(SHIRT))
                .product(Product::new(SHIRT)),
        )
        .start()
        .await;
    assert_eq!(twice.unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
    let different_shared_stock = FakeStore::builder()
        .store(
            Store::new(STORE).product(
                Product::new(SHIRT)
                    .quantity(5)
                    .variation(Variation::new(SHIRT_PLAIN).quantity(6)),
            ),
        )
        .start()
        .await;
    assert_eq!(
        different_shared_stock.unwrap_err().kind(),
        std::io::ErrorKind::InvalidInput
    );
    let repeated_token = FakeStore::builder()
        .token(FakeToken::secret(STORE, TOKEN))
        .token(FakeToken::public(STORE, TOKEN))
        .start()
        .await
        .unwrap_err();
    assert!(!repeated_token.to_string().contains(TOKEN));
}

#[tokio::test]
async fn the_demo_shop_is_as_documented() {
    let fake = FakeStore::demo().await.unwrap();
    let (tee, small) = demo::SMALL_TEE;
    let (_, medium) = demo::MEDIUM_TEE;
    let (_, large) = demo::LARGE_TEE;
    assert_eq!(
        fake.stock(demo::STORE, StockItem::Product { product: tee }),
        Some(Stock::Quantity(20))
    );
    assert_eq!(
        fake.stock(
            demo::STORE,
            StockItem::Variation {
                product: tee,
                combination: small
            }
        ),
        Some(Stock::Quantity(10))
    );
    assert_eq!(
        fake.stock(
            demo::STORE,
            StockItem::Variation {
                product: tee,
                combination: medium
            }
        ),
        Some(Stock::Quantity(15))
    );
    assert_eq!(
        fake.stock(
            demo::STORE,
            StockItem::Variation {
                product: tee,
                combination: large
            }
        ),
        Some(Stock::Quantity(20))
    );
    assert_eq!(
        fake.stock(
            demo::STORE,
            StockItem::Product {
                product: demo::GIFT_CARD
            }
        ),
        Some(Stock::Unlimited)
    );
    assert_eq!(
        fake.stock(demo::STORE, StockItem::Product { product: demo::MUG }),
        Some(Stock::Quantity(8))
    );

    let path = format!(
        "/{}/products/{tee}/combinations/{large}/inventory",
        demo::STORE
    );
    let answer = put(&fake, &path, demo::TOKEN, json!({ "quantityDelta": -3 })).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(
        fake.stock(demo::STORE, StockItem::Product { product: tee }),
        Some(Stock::Quantity(17))
    );
    let refused = put(
        &fake,
        &path,
        demo::PUBLIC_TOKEN,
        json!({ "quantityDelta": -3 }),
    )
    .await;
    assert_eq!(error(refused).await, (403, "INSUFFICIENT_APP_SCOPE".into()));
}

// ---------------------------------------------------------------------------------------------
// Batch API

async fn create_batch(
    fake: &FakeStore,
    query: &str,
    items: Value,
) -> reqwest::Result<reqwest::Response> {
    http()
        .post(format!("{}/1003/batch{query}", fake.base_url()))
        .bearer_auth(TOKEN)
        .json(&items)
        .send()
        .await
}

async fn ticket(fake: &FakeStore, query: &str, items: Value) -> String {
    let (status, body) = read(create_batch(fake, query, items).await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_value::<BatchTicket>(body).unwrap().ticket
}

async fn batch_status(fake: &FakeStore, query: &str) -> (u16, Value) {
    let response = http()
        .get(format!("{}/1003/batch?{query}", fake.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    read(response).await
}

async fn settled_status(fake: &FakeStore, ticket: &str) -> BatchStatus {
    fake.batches_settled().await;
    let (status, body) = batch_status(fake, &format!("ticket={ticket}")).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_value(body).unwrap()
}

fn item(id: &str, path: &str, delta: i64) -> Value {
    json!({ "id": id, "method": "PUT", "path": path, "body": { "quantityDelta": delta } })
}

#[tokio::test]
async fn a_batch_runs_its_items_in_order_through_the_same_rules() {
    let fake = start().await;
    let ticket = ticket(
        &fake,
        "",
        json!([
            item("a", "/products/1/combinations/11/inventory", -1),
            item(
                "b",
                "/products/1/inventory?checkLowStockNotification=true",
                -15
            ),
            item("c", "/products/1/combinations/11/inventory", -12),
            item("d", "/products/2/inventory", -1),
        ]),
    )
    .await;
    let status = settled_status(&fake, &ticket).await;
    let body = serde_json::to_value(&status).unwrap();
    assert_eq!(body["status"], "COMPLETED");
    assert_eq!(
        (
            body["totalRequests"].clone(),
            body["completedRequests"].clone()
        ),
        (json!(4), json!(4))
    );
    let responses = body["responses"].as_array().unwrap();
    assert_eq!(responses[0]["id"], "a");
    assert_eq!(responses[0]["status"], "COMPLETED");
    assert_eq!(responses[0]["httpStatusCode"], 200);
    assert_eq!(responses[0]["httpStatusLine"], "HTTP/1.1 200 OK");
    assert_eq!(responses[0]["httpBody"], json!({ "updateCount": 1 }));
    assert_eq!(
        responses[2]["httpBody"],
        json!({ "updateCount": 1, "warning": VARIATION_NEGATIVE_STOCK_WARNING })
    );
    assert_eq!(responses[3]["httpBody"], json!({ "updateCount": 0 }));

    assert_eq!(red(&fake), Some(Stock::Quantity(-3)));
    assert_eq!(shirt(&fake), Some(Stock::Quantity(5)));
    assert_eq!(fake.low_stock_notifications().len(), 1);
    let ledger = fake.ledger();
    let create = fake.journal()[0].id;
    let origins: Vec<_> = ledger.iter().map(|d| d.origin.clone()).collect();
    assert_eq!(
        origins,
        (0..3)
            .map(|index| Origin::Batch {
                ticket: ticket.clone(),
                created_by: create,
                index
            })
            .collect::<Vec<_>>()
    );

    // escapedJson: each body as a JSON string.
    let (_, escaped) = batch_status(&fake, &format!("ticket={ticket}&escapedJson=true")).await;
    let first = &escaped["responses"][0];
    assert!(first.get("httpBody").is_none());
    let unescaped: Value =
        serde_json::from_str(first["escapedHttpBody"].as_str().unwrap()).unwrap();
    assert_eq!(unescaped, json!({ "updateCount": 1 }));
}

#[tokio::test]
async fn the_first_failure_stops_a_batch_unless_asked_otherwise() {
    let fake = start().await;
    let items = json!([
        item("ok", "/products/1/combinations/11/inventory", -1),
        item("missing", "/products/99/inventory", -1),
        item("skipped", "/products/1/combinations/11/inventory", -1),
    ]);
    let stopped = ticket(&fake, "", items.clone()).await;
    let status = serde_json::to_value(settled_status(&fake, &stopped).await).unwrap();
    let responses = &status["responses"];
    assert_eq!(responses[0]["status"], "COMPLETED");
    assert_eq!(responses[1]["status"], "FAILED");
    assert_eq!(responses[1]["httpStatusCode"], 404);
    assert_eq!(responses[1]["httpStatusLine"], "HTTP/1.1 404 Not Found");
    assert_eq!(responses[1]["httpBody"]["errorCode"], "PRODUCT_NOT_FOUND");
    assert_eq!(responses[2]["status"], "NOT_EXECUTED");
    assert!(responses[2].get("httpStatusCode").is_none());
    assert_eq!(responses[2]["id"], "skipped");
    assert_eq!(status["completedRequests"], 3);
    assert_eq!(
        red(&fake),
        Some(Stock::Quantity(9)),
        "the skipped item was not applied"
    );

    let carried_on = ticket(&fake, "?stopOnFirstFailure=false", items).await;
    let status = serde_json::to_value(settled_status(&fake, &carried_on).await).unwrap();
    let statuses: Vec<_> = status["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].clone())
        .collect();
    assert_eq!(
        statuses,
        [json!("COMPLETED"), json!("FAILED"), json!("COMPLETED")]
    );
    assert_eq!(red(&fake), Some(Stock::Quantity(7)));
}

#[tokio::test]
async fn batch_items_are_checked_like_requests() {
    let fake = start().await;
    let response = http()
        .post(format!(
            "{}/1003/batch?stopOnFirstFailure=false",
            fake.base_url()
        ))
        .bearer_auth(WRITER)
        .json(&json!([
            item("variation needs read_catalog", "/products/1/combinations/11/inventory", -1),
            item("product is fine", "/products/1/inventory", -1),
            { "id": "get", "method": "GET", "path": "/products/1/inventory" },
            { "id": "no body", "method": "PUT", "path": "/products/1/inventory" },
            item("nested", "/batch", -1),
            item("unknown", "/orders", -1),
            item("bad flag", "/products/1/inventory?checkLowStockNotification=1", -1),
        ]))
        .send()
        .await
        .unwrap();
    let (_, body) = read(response).await;
    let ticket = body["ticket"].as_str().unwrap().to_owned();
    let status = serde_json::to_value(settled_status(&fake, &ticket).await).unwrap();
    let results: Vec<_> = status["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap().to_owned(),
                r["httpStatusCode"].as_i64().unwrap(),
                r["httpBody"]["errorCode"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let expected = [
        ("FAILED", 403, "INSUFFICIENT_APP_SCOPE"),
        ("COMPLETED", 200, ""),
        ("FAILED", 405, "METHOD_NOT_ALLOWED"),
        ("FAILED", 400, "WRONG_PARAMETER"),
        ("FAILED", 400, "WRONG_PARAMETER"),
        ("FAILED", 404, "NOT_FOUND"),
        ("FAILED", 400, "WRONG_PARAMETER"),
    ]
    .map(|(s, c, e)| (s.to_owned(), c, e.to_owned()));
    assert_eq!(results, expected);
    assert_eq!(fake.ledger().len(), 1);
}

#[tokio::test]
async fn batches_wait_in_fifo_order_and_report_queued_then_completed() {
    let fake = start().await;
    fake.pause_batches();
    let first = ticket(&fake, "", json!([item("1", "/products/1/inventory", 5)])).await;
    let second = ticket(&fake, "", json!([item("2", "/products/1/inventory", -30)])).await;
    let (status, body) = batch_status(&fake, &format!("ticket={first}")).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({ "status": "QUEUED", "totalRequests": 1, "completedRequests": 0 })
    );
    assert!(fake.ledger().is_empty());

    fake.resume_batches();
    fake.batches_settled().await;
    let ledger = fake.ledger();
    // First in, first run: +5 then -30.
    let after: Vec<_> = ledger.iter().map(|d| d.stock_after).collect();
    assert_eq!(after, [Stock::Quantity(25), Stock::Quantity(-5)]);
    assert_eq!(settled_status(&fake, &second).await.responses.len(), 1);
}

#[tokio::test]
async fn a_running_batch_reports_its_progress() {
    let fake = shop()
        .batch_item_delay(Duration::from_millis(40))
        .start()
        .await
        .unwrap();
    let items: Vec<_> = (0..4)
        .map(|i| item(&i.to_string(), "/products/1/inventory", -1))
        .collect();
    let ticket = ticket(&fake, "", Value::Array(items)).await;
    let mut seen_in_progress = None;
    for _ in 0..200 {
        let (_, body) = batch_status(&fake, &format!("ticket={ticket}")).await;
        if body["status"] == "IN_PROGRESS" {
            let completed = body["completedRequests"].as_i64().unwrap();
            let shown = body
                .get("responses")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            assert_eq!(shown as i64, completed, "one result per completed request");
            seen_in_progress = Some(completed);
            if completed > 0 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let completed = seen_in_progress.expect("IN_PROGRESS was observed");
    assert!((0..4).contains(&completed));
    assert_eq!(
        settled_status(&fake, &ticket).await.completed_requests,
        Some(4)
    );
    assert_eq!(shirt(&fake), Some(Stock::Quantity(16)));
}

#[tokio::test]
async fn a_deduplication_key_returns_the_first_ticket_for_an_hour() {
    let fake = start().await;
    let query = "?deduplicationKey=5f0c4d1e-8a41-4c3e-9b7e-2f1d7c3a9e10";
    let items = json!([item("x", "/products/1/inventory", -2)]);
    let first = ticket(&fake, query, items.clone()).await;
    fake.batches_settled().await;
    let again = ticket(&fake, query, items.clone()).await;
    fake.batches_settled().await;
    assert_eq!(again, first);
    assert_eq!(fake.ledger().len(), 1, "the repeat applied nothing");

    // Another key is another batch.
    let other = ticket(&fake, "?deduplicationKey=other", items.clone()).await;
    assert_ne!(other, first);
    fake.batches_settled().await;
    assert_eq!(fake.ledger().len(), 2);

    fake.advance_clock(Duration::from_secs(59 * 60));
    assert_eq!(ticket(&fake, query, items.clone()).await, first);
    fake.advance_clock(Duration::from_secs(60));
    let after_an_hour = ticket(&fake, query, items).await;
    assert_ne!(after_an_hour, first, "forgotten after an hour");
    fake.batches_settled().await;
    assert_eq!(fake.ledger().len(), 3);
    assert_eq!(shirt(&fake), Some(Stock::Quantity(14)));
}

#[tokio::test]
async fn a_lost_batch_answer_is_recovered_by_its_deduplication_key() {
    let fake = start().await;
    fake.inject_fault(Route::BatchCreate, 1, Fault::CloseAfterApplying);
    let query = "?deduplicationKey=retry-me";
    let items = json!([item("x", "/products/1/inventory", -2)]);
    let lost = create_batch(&fake, query, items.clone()).await;
    assert!(lost.is_err(), "the caller got no answer");
    fake.batches_settled().await;
    assert_eq!(fake.ledger().len(), 1, "but the batch was queued and ran");

    let ticket = ticket(&fake, query, items).await;
    fake.batches_settled().await;
    assert_eq!(fake.ledger().len(), 1, "the retry applied nothing new");
    let Origin::Batch {
        ticket: applied_by, ..
    } = &fake.ledger()[0].origin
    else {
        panic!("applied by the batch");
    };
    assert_eq!(applied_by, &ticket);
}

#[tokio::test]
async fn malformed_batches_and_tickets_are_refused() {
    let fake = start().await;
    let too_many: Vec<_> = (0..501)
        .map(|i| item(&i.to_string(), "/products/1/inventory", 1))
        .collect();
    for (query, body) in [
        ("", Value::Array(too_many)),
        (
            "",
            json!({ "path": "/products/1/inventory", "method": "PUT" }),
        ),
        ("", json!([{ "path": "/products/1/inventory" }])),
        (
            "",
            json!([{ "path": "/products/1/inventory", "method": "PATCH" }]),
        ),
        ("?stopOnFirstFailure=perhaps", json!([])),
    ] {
        let answer = error(create_batch(&fake, query, body).await.unwrap()).await;
        assert_eq!(answer, (400, "WRONG_PARAMETER".into()), "{query}");
    }
    let full: Vec<_> = (0..500)
        .map(|i| item(&i.to_string(), "/products/1/inventory", 1))
        .collect();
    let accepted = ticket(&fake, "", Value::Array(full)).await;
    assert_eq!(
        settled_status(&fake, &accepted).await.completed_requests,
        Some(500)
    );
    assert_eq!(shirt(&fake), Some(Stock::Quantity(520)));

    let (status, body) = batch_status(&fake, "ticket=no-such-ticket").await;
    assert_eq!(
        (status, body["errorCode"].clone()),
        (404, json!("TICKET_NOT_FOUND"))
    );
    let (status, body) = batch_status(&fake, "escapedJson=true").await;
    assert_eq!(
        (status, body["errorCode"].clone()),
        (400, json!("WRONG_PARAMETER"))
    );
    // Another store's token cannot read this store's batches.
    let foreign = http()
        .get(format!("{}/1003/batch?ticket={accepted}", fake.base_url()))
        .bearer_auth(OTHER)
        .send()
        .await
        .unwrap();
    assert_eq!(error(foreign).await, (403, "INVALID_API_TOKEN".into()));
    let delete = http()
        .delete(format!("{}/1003/batch", fake.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(delete.headers()["allow"], "GET, POST");
    assert_eq!(error(delete).await.0, 405);
}

#[tokio::test]
async fn a_batch_item_whose_id_is_null_is_refused() {
    let fake = start().await;
    // The spec types `id` as a string: null is as malformed as a number.
    for id in [Value::Null, json!(7)] {
        let body = json!([{
            "id": id,
            "path": "/products/1/inventory",
            "method": "PUT",
            "body": { "quantityDelta": 1 },
        }]);
        let answer = error(create_batch(&fake, "", body).await.unwrap()).await;
        assert_eq!(answer, (400, "WRONG_PARAMETER".into()), "id {id}");
    }
    fake.batches_settled().await;
    assert!(fake.ledger().is_empty());
    assert_eq!(shirt(&fake), Some(Stock::Quantity(20)));
}

#[tokio::test]
async fn a_batch_counts_as_one_request_against_the_rate_limit() {
    let fake = shop()
        .rate_limit(RateLimit::per_minute(2))
        .start()
        .await
        .unwrap();
    let items: Vec<_> = (0..10)
        .map(|i| item(&i.to_string(), "/products/1/inventory", -1))
        .collect();
    ticket(&fake, "", Value::Array(items)).await;
    fake.batches_settled().await;
    assert_eq!(fake.ledger().len(), 10);
    assert_eq!(delta(&fake, SHIRT_PATH, -1).await.status(), 200);
    assert_eq!(delta(&fake, SHIRT_PATH, -1).await.status(), 429);
    assert_eq!(shirt(&fake), Some(Stock::Quantity(9)));
}

// ---------------------------------------------------------------------------------------------
// Conformance to the spec

fn validator<T: schemars::JsonSchema>() -> jsonschema::Validator {
    let schema = serde_json::to_value(schemars::schema_for!(T)).unwrap();
    jsonschema::validator_for(&schema).expect("a valid JSON schema")
}

#[tokio::test]
async fn every_kind_of_body_the_fake_sends_matches_the_spec() {
    let fake = shop()
        .rate_limit(RateLimit::per_minute(40))
        .start()
        .await
        .unwrap();
    let client = http();
    let url = |path: &str| format!("{}{path}", fake.base_url());
    let mut stock_results = Vec::new();
    let mut errors = Vec::new();

    // Successes of both endpoints: plain, with a warning, updateCount 0.
    for (path, delta) in [
        (SHIRT_RED_PATH, -1),
        (SHIRT_PATH, -1),
        (SHIRT_RED_PATH, -100),
        (SHIRT_PATH, -100),
        ("/1003/products/2/inventory", -1),
        ("/1003/products/3/combinations/31/inventory", -1),
    ] {
        stock_results.push(read(self::delta(&fake, path, delta).await).await);
    }
    // Every kind of error.
    let one = json!({ "quantityDelta": 1 });
    errors.push(read(put(&fake, SHIRT_PATH, TOKEN, json!({})).await).await);
    errors.push(read(put(&fake, SHIRT_PATH, "secret_unknown", one.clone()).await).await);
    errors.push(read(put(&fake, SHIRT_PATH, READER, one.clone()).await).await);
    errors.push(read(put(&fake, "/9999/products/1/inventory", TOKEN, one.clone()).await).await);
    errors.push(read(put(&fake, "/1003/products/9/inventory", TOKEN, one.clone()).await).await);
    errors.push(
        read(
            put(
                &fake,
                "/1003/products/1/combinations/9/inventory",
                TOKEN,
                one.clone(),
            )
            .await,
        )
        .await,
    );
    errors.push(read(put(&fake, "/1003/elsewhere", TOKEN, one.clone()).await).await);
    errors.push(
        read(
            client
                .get(url(SHIRT_PATH))
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap(),
        )
        .await,
    );
    errors.push(
        read(
            client
                .put(url(SHIRT_PATH))
                .bearer_auth(TOKEN)
                .body("1")
                .send()
                .await
                .unwrap(),
        )
        .await,
    );
    errors.push(batch_status(&fake, "ticket=unknown").await);
    errors.push(batch_status(&fake, "").await);
    errors.push(read(create_batch(&fake, "", json!({})).await.unwrap()).await);

    // Batch: a ticket, and a status in every state and form.
    fake.pause_batches();
    let ticket_answer = read(
        create_batch(
            &fake,
            "",
            json!([
                item("ok", "/products/1/inventory", 1),
                item("negative", "/products/1/combinations/11/inventory", -100),
                item("fails", "/products/99/inventory", 1),
                item("skipped", "/products/1/inventory", 1),
            ]),
        )
        .await
        .unwrap(),
    )
    .await;
    let ticket = ticket_answer.1["ticket"].as_str().unwrap().to_owned();
    let mut statuses = vec![batch_status(&fake, &format!("ticket={ticket}")).await];
    fake.resume_batches();
    fake.batches_settled().await;
    statuses.push(batch_status(&fake, &format!("ticket={ticket}")).await);
    statuses.push(batch_status(&fake, &format!("ticket={ticket}&escapedJson=true")).await);

    // And a 429, last: fill the window.
    loop {
        let (status, body) = read(self::delta(&fake, SHIRT_PATH, 1).await).await;
        if status == 429 {
            errors.push((status, body));
            break;
        }
    }

    let stock_result = validator::<StockUpdateResult>();
    let ecwid_error = validator::<EcwidError>();
    let batch_ticket = validator::<BatchTicket>();
    let batch_status = validator::<BatchStatus>();
    // The checks have teeth: wrong bodies are refused.
    assert!(!stock_result.is_valid(&json!({ "updateCount": "1" })));
    assert!(!stock_result.is_valid(&json!({ "warning": "w" })));
    assert!(!ecwid_error.is_valid(&json!({ "errorCode": 403 })));
    assert!(!batch_ticket.is_valid(&json!({})));
    assert!(!batch_status.is_valid(&json!({ "status": "DONE" })));
    assert!(!batch_status
        .is_valid(&json!({ "status": "COMPLETED", "responses": [{ "status": "OK" }] })));

    assert_eq!(stock_results.len(), 6);
    for (status, body) in &stock_results {
        assert_eq!(*status, 200);
        assert!(stock_result.is_valid(body), "{body}");
    }
    let kinds: std::collections::BTreeSet<_> = errors
        .iter()
        .map(|(status, body)| (*status, body["errorCode"].as_str().unwrap().to_owned()))
        .collect();
    let expected: std::collections::BTreeSet<_> = [
        (400, "WRONG_PARAMETER"),
        (403, "INSUFFICIENT_APP_SCOPE"),
        (403, "INVALID_API_TOKEN"),
        (404, "COMBINATION_NOT_FOUND"),
        (404, "NOT_FOUND"),
        (404, "PRODUCT_NOT_FOUND"),
        (404, "STORE_NOT_FOUND"),
        (404, "TICKET_NOT_FOUND"),
        (405, "METHOD_NOT_ALLOWED"),
        (415, "UNSUPPORTED_MEDIA_TYPE"),
        (429, "RATE_LIMITED"),
    ]
    .into_iter()
    .map(|(status, code)| (status, code.to_owned()))
    .collect();
    assert_eq!(kinds, expected);
    for (_, body) in &errors {
        assert!(ecwid_error.is_valid(body), "{body}");
    }
    assert_eq!(ticket_answer.0, 200);
    assert!(batch_ticket.is_valid(&ticket_answer.1));
    for (status, body) in &statuses {
        assert_eq!(*status, 200);
        assert!(batch_status.is_valid(body), "{body}");
        // The bodies carried in a batch's results are the same kinds, and conform too.
        for response in body["responses"].as_array().into_iter().flatten() {
            let carried = match response.get("escapedHttpBody") {
                Some(escaped) => serde_json::from_str(escaped.as_str().unwrap()).unwrap(),
                None => response.get("httpBody").cloned().unwrap_or(Value::Null),
            };
            match response["httpStatusCode"].as_i64() {
                Some(200) => assert!(stock_result.is_valid(&carried), "{carried}"),
                Some(_) => assert!(ecwid_error.is_valid(&carried), "{carried}"),
                None => assert_eq!(response["status"], "NOT_EXECUTED"),
            }
        }
    }
    assert_eq!(statuses[0].1["status"], "QUEUED");
    assert_eq!(statuses[1].1["status"], "COMPLETED");
}

// ---------------------------------------------------------------------------------------------
// Helpers for tests using the fake

#[tokio::test]
async fn a_client_from_the_fake_talks_to_it_as_the_tokens_store() {
    let fake = start().await;
    let client = fake.client_builder(OTHER).build().unwrap();
    assert_eq!(client.base_url(), fake.base_url());
    let adjustment = client.adjust_product_stock(SHIRT, -1).send().await.unwrap();
    assert_eq!(adjustment.update_count(), 1);
    assert_eq!(
        fake.stock(OTHER_STORE, StockItem::Product { product: SHIRT }),
        Some(Stock::Quantity(0))
    );
    // Any store and token, known or not: the fake answers as Ecwid would.
    let stranger = fake
        .client_builder_for(STORE, "secret_unknown")
        .build()
        .unwrap();
    let refused = stranger.adjust_product_stock(SHIRT, -1).send().await;
    assert_eq!(refused.unwrap_err().status(), Some(403));
}

#[tokio::test]
#[should_panic(expected = "the fake was not given this token")]
async fn a_client_for_a_token_the_fake_does_not_know_needs_its_store() {
    let fake = start().await;
    let _ = fake.client_builder("secret_unknown");
}

#[tokio::test(start_paused = true)]
async fn waiting_for_what_never_lands_fails_with_what_the_fake_holds() {
    let fake = start().await;
    let timeout = fake.wait_for_ledger(1).await.unwrap_err();
    assert!(
        timeout
            .to_string()
            .contains("for 1 applied changes; its ledger holds 0"),
        "{timeout}"
    );
    assert!(fake.wait_for_journal(1).await.is_err());
    assert!(fake
        .wait_until(|fake| fake.ledger().len() == 1)
        .await
        .is_err());
    assert!(fake
        .wait_until(|fake| fake.ledger().is_empty())
        .await
        .is_ok());
}

#[tokio::test]
async fn a_wait_ends_when_the_delta_lands() {
    let fake = start().await;
    fake.inject_fault(
        Route::ProductInventory,
        1,
        Fault::Delay(Duration::from_millis(100)),
    );
    let request = tokio::spawn(delta_owned(fake.base_url(), -1));
    let started = std::time::Instant::now();
    assert_eq!(fake.wait_for_journal(1).await.unwrap().len(), 1);
    let ledger = fake.wait_for_ledger(1).await.unwrap();
    assert_eq!(ledger[0].change, StockChange::Delta(-1));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(request.await.unwrap(), 200);
}

/// A product adjustment sent from a task of its own.
async fn delta_owned(base_url: String, delta: i64) -> u16 {
    http()
        .put(format!("{base_url}{SHIRT_PATH}"))
        .bearer_auth(TOKEN)
        .json(&json!({ "quantityDelta": delta }))
        .send()
        .await
        .expect("the fake answers")
        .status()
        .as_u16()
}
