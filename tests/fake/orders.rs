//! The fake store sells: storefront sales that take stock and make orders, cancellations,
//! deletions and status changes, the API's order reads answered from them (read with the SDK's
//! client), and the fake's own `/storefront` routes.

use crate::common;

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use ecwid_inventory::{
    orders::{FulfillmentStatus, PaymentStatus},
    CombinationId, Error, OrderId, ProductId, RateLimit, StockItem, StoreId,
};
use ecwid_inventory_fake::{
    demo, FakeStore, FakeToken, Fault, OrderUpdate, Origin, Route, Sale, SaleLine, Scope, Stock,
    StockChange, StorefrontError,
};
use serde_json::{json, Value};

use common::*;

const MUG: StockItem = StockItem::Product { product: demo::MUG };
const TEE: StockItem = StockItem::Product { product: demo::TEE };
const LARGE_TEE: StockItem = StockItem::Variation {
    product: demo::LARGE_TEE.0,
    combination: demo::LARGE_TEE.1,
};

fn stock(fake: &FakeStore, item: StockItem) -> i64 {
    match fake.stock(demo::STORE, item) {
        Some(Stock::Quantity(n)) => n,
        other => panic!("{item:?}: {other:?}"),
    }
}

fn reader(fake: &FakeStore) -> ecwid_inventory::Client {
    fake.client_builder(demo::TOKEN)
        .no_rate_limit()
        .build()
        .unwrap()
}

fn unix(time: SystemTime) -> i64 {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A raw GET of the API, with the demo token.
async fn api_get(fake: &FakeStore, path_and_query: &str) -> (u16, Value) {
    read(
        http()
            .get(format!("{}/1003{path_and_query}", fake.base_url()))
            .bearer_auth(demo::TOKEN)
            .send()
            .await
            .unwrap(),
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// A sale

#[tokio::test]
async fn a_sale_takes_its_stock_and_the_client_reads_the_order_back() {
    let fake = demo_store().await;
    let (tee, small) = demo::SMALL_TEE;
    let before = SystemTime::now();
    let order = fake
        .sell(
            demo::STORE,
            Sale::new()
                .variation(tee, small, 2)
                .line(SaleLine::variation(tee, demo::LARGE_TEE.1, 1).option("Size", "L"))
                .product(demo::MUG, 3)
                .product(demo::GIFT_CARD, 1)
                .paid(),
        )
        .unwrap();

    // The stock moved as a checkout moves it: the large T-shirt shares the T-shirt's stock,
    // and the gift card's is unlimited.
    assert_eq!(small_tee_stock(&fake), 8);
    assert_eq!(stock(&fake, TEE), 19);
    assert_eq!(stock(&fake, LARGE_TEE), 19);
    assert_eq!(stock(&fake, MUG), 5);
    assert_eq!(
        fake.stock(
            demo::STORE,
            StockItem::Product {
                product: demo::GIFT_CARD
            }
        ),
        Some(Stock::Unlimited)
    );
    let ledger = fake.ledger();
    let changes: Vec<(StockItem, StockChange, Stock)> = ledger
        .iter()
        .map(|entry| (entry.item, entry.change, entry.stock_after))
        .collect();
    assert_eq!(
        changes,
        [
            (SMALL_TEE, StockChange::Delta(-2), Stock::Quantity(8)),
            (LARGE_TEE, StockChange::Delta(-1), Stock::Quantity(19)),
            (MUG, StockChange::Delta(-3), Stock::Quantity(5)),
        ]
    );
    for entry in &ledger {
        assert_eq!(
            entry.origin,
            Origin::Storefront {
                order: order.clone()
            }
        );
    }

    // The SDK reads it back, as it reads Ecwid's.
    let client = reader(&fake);
    let read = client.order(order.clone()).await.unwrap();
    assert_eq!(read.id, order);
    assert_eq!(read.order_number, Some(100_000_001));
    assert_eq!(read.payment_status, Some(PaymentStatus::Paid));
    assert_eq!(
        read.fulfillment_status,
        Some(FulfillmentStatus::AwaitingProcessing)
    );
    let created = read.created.expect("createTimestamp");
    assert_eq!(read.updated, Some(created));
    assert!(unix(created) >= unix(before) - 1 && unix(created) <= unix(SystemTime::now()) + 1);
    assert_eq!(read.lines.len(), 4);
    let ids: HashSet<u64> = read.lines.iter().map(|line| line.id).collect();
    assert_eq!(ids.len(), 4, "line ids are unique: {:?}", read.lines);

    let small_line = &read.lines[0];
    assert_eq!(small_line.stock_item(), Some(SMALL_TEE));
    assert_eq!(small_line.sku.as_deref(), Some("TEE-S"));
    assert_eq!(small_line.quantity, 2);
    assert_eq!(small_line.track_quantity, Some(true));
    // No options given: the fake names the variation.
    assert_eq!(small_line.selected_options.len(), 1);
    assert_eq!(
        small_line.selected_options[0].value.as_deref(),
        Some(small.to_string().as_str())
    );
    let large_line = &read.lines[1];
    assert_eq!(large_line.stock_item(), Some(LARGE_TEE));
    // An empty SKU: the line carries its product's.
    assert_eq!(large_line.sku.as_deref(), Some("TEE"));
    assert_eq!(large_line.selected_options[0].name.as_deref(), Some("Size"));
    assert_eq!(large_line.selected_options[0].value.as_deref(), Some("L"));
    let mug_line = &read.lines[2];
    assert_eq!(mug_line.stock_item(), Some(MUG));
    assert_eq!(mug_line.combination, None);
    assert!(mug_line.selected_options.is_empty());
    let gift_line = &read.lines[3];
    assert_eq!(gift_line.track_quantity, Some(false));

    // And the search finds it.
    let found = client.orders().send().await.unwrap();
    assert_eq!(found, [read]);
}

#[tokio::test]
async fn order_ids_are_ecwid_like_and_unique() {
    let fake = demo_store().await;
    let mut ids = HashSet::new();
    for _ in 0..50 {
        let id = fake
            .sell(demo::STORE, Sale::new().product(demo::GIFT_CARD, 1))
            .unwrap();
        let text = id.as_str();
        assert!(
            text.len() == 5
                && text
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()),
            "{text}"
        );
        assert!(ids.insert(id.clone()), "{id} twice");
    }
    let numbers: HashSet<u64> = reader(&fake)
        .orders()
        .send()
        .await
        .unwrap()
        .iter()
        .map(|order| order.order_number.unwrap())
        .collect();
    assert_eq!(numbers.len(), 50);
}

#[tokio::test]
async fn a_sale_beyond_the_stock_or_of_nothing_is_refused_and_changes_nothing() {
    let fake = demo_store().await;
    let (tee, small) = demo::SMALL_TEE;
    let refused = |sale| fake.sell(demo::STORE, sale).unwrap_err();

    assert_eq!(
        refused(Sale::new().product(demo::MUG, 9)),
        StorefrontError::OutOfStock {
            item: MUG,
            requested: 9,
            available: 8
        }
    );
    // Lines on the same stock count together: the large T-shirt shares the T-shirt's 20.
    assert!(matches!(
        refused(
            Sale::new()
                .variation(tee, demo::LARGE_TEE.1, 15)
                .product(tee, 6)
        ),
        StorefrontError::OutOfStock {
            requested: 21,
            available: 20,
            ..
        }
    ));
    // One line too many refuses the whole sale.
    assert!(matches!(
        refused(Sale::new().product(demo::MUG, 1).variation(tee, small, 11)),
        StorefrontError::OutOfStock { .. }
    ));
    assert_eq!(refused(Sale::new()), StorefrontError::NoLines);
    assert!(matches!(
        refused(Sale::new().product(demo::MUG, 0)),
        StorefrontError::BadQuantity { quantity: 0, .. }
    ));
    assert!(matches!(
        refused(Sale::new().product(demo::MUG, u32::MAX)),
        StorefrontError::BadQuantity { .. }
    ));
    assert_eq!(
        refused(Sale::new().product(ProductId::new(404), 1)),
        StorefrontError::UnknownProduct(ProductId::new(404))
    );
    assert_eq!(
        refused(Sale::new().variation(tee, CombinationId::new(404), 1)),
        StorefrontError::UnknownVariation {
            product: tee,
            combination: CombinationId::new(404)
        }
    );
    assert_eq!(
        fake.sell(StoreId::new(404), Sale::new().product(demo::MUG, 1))
            .unwrap_err(),
        StorefrontError::UnknownStore(StoreId::new(404))
    );

    assert!(fake.ledger().is_empty());
    assert_eq!(stock(&fake, MUG), 8);
    assert!(reader(&fake).orders().send().await.unwrap().is_empty());
    // Exactly the stock is not beyond it.
    fake.sell(demo::STORE, Sale::new().product(demo::MUG, 8))
        .unwrap();
    assert_eq!(stock(&fake, MUG), 0);
}

// ---------------------------------------------------------------------------------------------
// Cancelling, deleting, updating

#[tokio::test]
async fn cancelling_restocks_once_and_reopening_takes_the_stock_again() {
    let fake = demo_store().await;
    let order = fake
        .sell(demo::STORE, Sale::new().product(demo::MUG, 3).paid())
        .unwrap();
    assert_eq!(stock(&fake, MUG), 5);

    fake.cancel_order(demo::STORE, &order).unwrap();
    assert_eq!(stock(&fake, MUG), 8);
    let ledger = fake.ledger();
    assert_eq!(ledger.len(), 2);
    assert_eq!(ledger[1].change, StockChange::Delta(3));
    assert_eq!(
        ledger[1].origin,
        Origin::Restock {
            order: order.clone()
        }
    );
    let read = reader(&fake).order(order.clone()).await.unwrap();
    assert_eq!(read.payment_status, Some(PaymentStatus::Cancelled));

    // Cancelling again changes nothing.
    fake.cancel_order(demo::STORE, &order).unwrap();
    assert_eq!(stock(&fake, MUG), 8);
    assert_eq!(fake.ledger().len(), 2);

    // Out of CANCELLED: the order takes its stock again.
    fake.update_order(
        demo::STORE,
        &order,
        OrderUpdate::new().payment_status(PaymentStatus::Paid),
    )
    .unwrap();
    assert_eq!(stock(&fake, MUG), 5);
    assert_eq!(
        fake.ledger()[2].origin,
        Origin::Storefront {
            order: order.clone()
        }
    );
}

#[tokio::test]
async fn deleting_an_order_restocks_what_it_held_and_reads_404_afterwards() {
    let fake = demo_store().await;
    let client = reader(&fake);
    let held = fake
        .sell(demo::STORE, Sale::new().product(demo::MUG, 2))
        .unwrap();
    let cancelled = fake
        .sell(demo::STORE, Sale::new().product(demo::MUG, 1))
        .unwrap();
    fake.cancel_order(demo::STORE, &cancelled).unwrap();
    assert_eq!(stock(&fake, MUG), 6);

    fake.delete_order(demo::STORE, &held).unwrap();
    assert_eq!(stock(&fake, MUG), 8, "the held stock came back");
    let last = fake.ledger().pop().unwrap();
    assert_eq!(
        (last.change, last.origin),
        (
            StockChange::Delta(2),
            Origin::Restock {
                order: held.clone()
            }
        )
    );
    // A cancelled order held nothing: deleting it gives nothing back.
    let changes = fake.ledger().len();
    fake.delete_order(demo::STORE, &cancelled).unwrap();
    assert_eq!(stock(&fake, MUG), 8);
    assert_eq!(fake.ledger().len(), changes);

    let error = client.order(held.clone()).await.unwrap_err();
    assert!(matches!(error, Error::Api { status: 404, .. }), "{error:?}");
    assert_eq!(error.error_code(), Some("ORDER_NOT_FOUND"));
    assert!(client.orders().send().await.unwrap().is_empty());
    assert_eq!(
        fake.delete_order(demo::STORE, &held).unwrap_err(),
        StorefrontError::UnknownOrder(held.clone())
    );
    assert_eq!(
        fake.cancel_order(demo::STORE, &held).unwrap_err(),
        StorefrontError::UnknownOrder(held)
    );
}

#[tokio::test]
async fn status_changes_move_no_stock_and_stamp_the_update_time() {
    let fake = demo_store().await;
    let client = reader(&fake);
    let order = fake
        .sell(demo::STORE, Sale::new().product(demo::MUG, 1))
        .unwrap();
    let placed = client.order(order.clone()).await.unwrap();

    fake.advance_clock(Duration::from_secs(3600));
    let shipped = OrderUpdate::new()
        .payment_status(PaymentStatus::Paid)
        .fulfillment_status(FulfillmentStatus::Shipped);
    fake.update_order(demo::STORE, &order, shipped.clone())
        .unwrap();
    let read = client.order(order.clone()).await.unwrap();
    assert_eq!(read.payment_status, Some(PaymentStatus::Paid));
    assert_eq!(read.fulfillment_status, Some(FulfillmentStatus::Shipped));
    assert_eq!(read.created, placed.created);
    assert_eq!(
        unix(read.updated.unwrap()),
        unix(placed.created.unwrap()) + 3600,
        "the fake's clock stamps the update"
    );
    assert_eq!(stock(&fake, MUG), 7);
    assert_eq!(fake.ledger().len(), 1, "only the sale moved stock");

    // The statuses it already has: nothing changes, not even the time.
    fake.advance_clock(Duration::from_secs(60));
    fake.update_order(demo::STORE, &order, shipped).unwrap();
    assert_eq!(
        client.order(order.clone()).await.unwrap().updated,
        read.updated
    );
    // Refunded: still no stock moves (only a cancellation restocks).
    fake.update_order(
        demo::STORE,
        &order,
        OrderUpdate::new().payment_status(PaymentStatus::Refunded),
    )
    .unwrap();
    assert_eq!(stock(&fake, MUG), 7);
}

// ---------------------------------------------------------------------------------------------
// The search

#[tokio::test]
async fn the_order_search_filters_by_ids_statuses_and_times() {
    let fake = demo_store().await;
    let client = reader(&fake);
    let sell = |sale: Sale| fake.sell(demo::STORE, sale).unwrap();
    let first = sell(Sale::new().product(demo::GIFT_CARD, 1));
    fake.advance_clock(Duration::from_secs(100));
    let second = sell(Sale::new().product(demo::GIFT_CARD, 1).paid());
    fake.advance_clock(Duration::from_secs(100));
    let third = sell(
        Sale::new()
            .product(demo::GIFT_CARD, 1)
            .paid()
            .fulfillment_status(FulfillmentStatus::Shipped),
    );
    fake.advance_clock(Duration::from_secs(100));
    // The first order changes last.
    fake.update_order(
        demo::STORE,
        &first,
        OrderUpdate::new().fulfillment_status(FulfillmentStatus::Processing),
    )
    .unwrap();
    let mut times = Vec::new();
    for id in [&first, &second, &third] {
        let order = client.order(id.clone()).await.unwrap();
        times.push((order.created.unwrap(), order.updated.unwrap()));
    }
    let [(created_first, updated_first), (created_second, _), (created_third, updated_third)] =
        times[..]
    else {
        unreachable!()
    };
    assert!(
        updated_first > updated_third,
        "the first order changed last"
    );

    let ids = |orders: Vec<ecwid_inventory::orders::Order>| -> Vec<OrderId> {
        orders.into_iter().map(|order| order.id).collect()
    };
    let all = ids(client.orders().send().await.unwrap());
    assert_eq!(all, [first.clone(), second.clone(), third.clone()]);

    assert_eq!(
        ids(client
            .orders()
            .ids([third.clone(), first.clone()])
            .send()
            .await
            .unwrap()),
        [first.clone(), third.clone()]
    );
    assert_eq!(
        ids(client
            .orders()
            .payment_status([PaymentStatus::Paid])
            .send()
            .await
            .unwrap()),
        [second.clone(), third.clone()]
    );
    assert_eq!(
        ids(client
            .orders()
            .payment_status([PaymentStatus::AwaitingPayment, PaymentStatus::Cancelled])
            .send()
            .await
            .unwrap()),
        std::slice::from_ref(&first)
    );
    assert_eq!(
        ids(client
            .orders()
            .fulfillment_status([FulfillmentStatus::Shipped, FulfillmentStatus::Processing])
            .send()
            .await
            .unwrap()),
        [first.clone(), third.clone()]
    );
    // Time bounds include their ends.
    assert_eq!(
        ids(client
            .orders()
            .created_from(created_second)
            .created_to(created_third)
            .send()
            .await
            .unwrap()),
        [second.clone(), third.clone()]
    );
    assert_eq!(
        ids(client
            .orders()
            .created_to(created_first)
            .send()
            .await
            .unwrap()),
        std::slice::from_ref(&first)
    );
    assert_eq!(
        ids(client
            .orders()
            .updated_from(updated_third + Duration::from_secs(1))
            .send()
            .await
            .unwrap()),
        std::slice::from_ref(&first)
    );
    assert_eq!(
        ids(client
            .orders()
            .updated_to(updated_third)
            .send()
            .await
            .unwrap()),
        [second.clone(), third.clone()]
    );
    assert_eq!(
        ids(client
            .orders()
            .updated_from(updated_first)
            .updated_to(updated_first)
            .payment_status([PaymentStatus::Paid])
            .send()
            .await
            .unwrap()),
        Vec::<OrderId>::new(),
        "every filter applies"
    );

    // Paging, as Ecwid pages.
    let (status, page) = api_get(&fake, "/orders?offset=1&limit=1").await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            &page["total"],
            &page["count"],
            &page["offset"],
            &page["limit"]
        ),
        (&json!(3), &json!(1), &json!(1), &json!(1))
    );
    assert_eq!(page["items"][0]["id"], second.as_str());
    let (_, past) = api_get(&fake, "/orders?offset=3").await;
    assert_eq!(past["items"], json!([]));
    assert_eq!(past["total"], 3);
    let (status, body) = api_get(&fake, "/orders?limit=101").await;
    assert_eq!(status, 402, "{body}");
    assert_eq!(
        body["errorCode"],
        "MAX_ORDERS_FOR_API_REQUEST_LIMIT_EXCEEDED"
    );
    for bad in [
        "paymentStatus=paid",
        "ids=",
        "createdFrom=yesterday",
        "limit=0",
    ] {
        let (status, body) = api_get(&fake, &format!("/orders?{bad}")).await;
        assert_eq!(
            (status, body["errorCode"].as_str()),
            (400, Some("WRONG_PARAMETER")),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn unfinished_orders_are_left_out_unless_asked_for() {
    let fake = demo_store().await;
    let client = reader(&fake);
    let unfinished = fake
        .sell(demo::STORE, Sale::new().product(demo::GIFT_CARD, 1))
        .unwrap();
    fake.update_order(
        demo::STORE,
        &unfinished,
        OrderUpdate::new().payment_status(PaymentStatus::Incomplete),
    )
    .unwrap();
    assert!(client.orders().send().await.unwrap().is_empty());
    let asked = client
        .orders()
        .payment_status([PaymentStatus::Incomplete])
        .send()
        .await
        .unwrap();
    assert_eq!(asked.len(), 1);
    // Read by its id, it is there.
    assert!(client.order(unfinished).await.is_ok());
}

// ---------------------------------------------------------------------------------------------
// The API's rules

#[tokio::test]
async fn order_reads_follow_the_apis_rules() {
    let reader_token = "secret_catalog_reader";
    let fake = demo_shop()
        .token(FakeToken::secret(demo::STORE, reader_token).scopes([Scope::ReadCatalog]))
        .token(FakeToken::secret(OTHER_STORE, OTHER_TOKEN))
        .store(ecwid_inventory_fake::Store::new(OTHER_STORE))
        .rate_limit(RateLimit::per_minute(30))
        .start()
        .await
        .unwrap();
    let order = fake
        .sell(demo::STORE, Sale::new().product(demo::MUG, 1))
        .unwrap();
    let get = |token: &str, store: u64, rest: String| {
        let request = http()
            .get(format!("{}/{store}{rest}", fake.base_url()))
            .bearer_auth(token);
        async move { error(request.send().await.unwrap()).await }
    };
    let one = format!("/orders/{order}");

    // Scopes: read_orders, which a public token never has.
    for token in [demo::PUBLIC_TOKEN, reader_token] {
        assert_eq!(
            get(token, 1003, one.clone()).await,
            (403, "INSUFFICIENT_APP_SCOPE".to_owned()),
            "{token}"
        );
        assert_eq!(
            get(token, 1003, "/orders".to_owned()).await,
            (403, "INSUFFICIENT_APP_SCOPE".to_owned())
        );
    }
    assert_eq!(
        get("secret_unknown", 1003, one.clone()).await,
        (403, "INVALID_API_TOKEN".to_owned())
    );
    // Another store's order is not there.
    assert_eq!(
        get(OTHER_TOKEN, OTHER_STORE.get(), one.clone()).await,
        (404, "ORDER_NOT_FOUND".to_owned())
    );
    assert_eq!(
        get(demo::TOKEN, 1003, "/orders/XJ12H".to_owned()).await,
        (404, "ORDER_NOT_FOUND".to_owned())
    );

    // responseFields, nested two deep.
    let (status, body) = api_get(
        &fake,
        &format!("{one}?responseFields=id,items(sku,quantity)"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"id": order.as_str(), "items": [{"sku": "MUG", "quantity": 1}]})
    );
    let (_, page) = api_get(&fake, "/orders?responseFields=total,items(paymentStatus)").await;
    assert_eq!(
        page,
        json!({"total": 1, "items": [{"paymentStatus": "AWAITING_PAYMENT"}]})
    );

    // A scripted fault: the SDK reads again.
    fake.inject_fault(Route::GetOrder, 1, Fault::respond(503, "<html>Down</html>"));
    fake.client_builder(demo::TOKEN)
        .no_rate_limit()
        .build()
        .unwrap()
        .order(order.clone())
        .await
        .unwrap();
    assert_eq!(fake.pending_faults(), 0);

    // The rate limit counts order reads like any other request.
    let mut statuses = Vec::new();
    for _ in 0..30 {
        let response = http()
            .get(format!("{}/1003/orders", fake.base_url()))
            .bearer_auth(demo::TOKEN)
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
}

#[tokio::test]
async fn a_batch_reads_orders_too() {
    let fake = demo_store().await;
    let order = fake
        .sell(demo::STORE, Sale::new().product(demo::MUG, 1))
        .unwrap();
    let created = http()
        .post(format!("{}/1003/batch", fake.base_url()))
        .bearer_auth(demo::TOKEN)
        .json(&json!([{"id": "o", "method": "GET", "path": format!("/orders/{order}?responseFields=id")}]))
        .send()
        .await
        .unwrap();
    let (_, ticket) = read(created).await;
    fake.batches_settled().await;
    let (_, status) = batch_status(
        &fake,
        &format!("ticket={}", ticket["ticket"].as_str().unwrap()),
    )
    .await;
    assert_eq!(status["responses"][0]["httpStatusCode"], 200);
    assert_eq!(
        status["responses"][0]["httpBody"],
        json!({"id": order.as_str()})
    );
}

// ---------------------------------------------------------------------------------------------
// Over HTTP

#[tokio::test]
async fn the_storefront_routes_sell_update_cancel_and_delete() {
    let fake = demo_store().await;
    let root = format!("{}/1003/orders", fake.storefront_url());
    let (tee, small) = demo::SMALL_TEE;

    let sold = http()
        .post(&root)
        .json(&json!({
            "items": [
                {"productId": tee.get(), "combinationId": small.get(), "quantity": 2,
                 "selectedOptions": [{"name": "Size", "value": "S"}]},
                {"productId": demo::MUG.get(), "quantity": 1}
            ],
            "paymentStatus": "PAID"
        }))
        .send()
        .await
        .unwrap();
    let (status, order) = read(sold).await;
    assert_eq!(status, 200, "{order}");
    let id = OrderId::new(order["id"].as_str().unwrap());
    assert_eq!(order["paymentStatus"], "PAID");
    assert_eq!(order["fulfillmentStatus"], "AWAITING_PROCESSING");
    assert_eq!(order["items"][0]["selectedOptions"][0]["value"], "S");
    assert_eq!(small_tee_stock(&fake), 8);
    assert_eq!(stock(&fake, MUG), 7);
    // The API reads the same order.
    let (_, read_back) = api_get(&fake, &format!("/orders/{id}")).await;
    assert_eq!(read_back, order);

    let updated = http()
        .put(format!("{root}/{id}"))
        .json(&json!({"fulfillmentStatus": "SHIPPED"}))
        .send()
        .await
        .unwrap();
    let (status, order) = read(updated).await;
    assert_eq!(
        (status, &order["fulfillmentStatus"], &order["paymentStatus"]),
        (200, &json!("SHIPPED"), &json!("PAID"))
    );

    let cancelled = http()
        .post(format!("{root}/{id}/cancel"))
        .send()
        .await
        .unwrap();
    let (status, order) = read(cancelled).await;
    assert_eq!(
        (status, &order["paymentStatus"]),
        (200, &json!("CANCELLED"))
    );
    assert_eq!(small_tee_stock(&fake), 10);
    assert_eq!(stock(&fake, MUG), 8);

    let deleted = http().delete(format!("{root}/{id}")).send().await.unwrap();
    assert_eq!(read(deleted).await, (200, json!({"deleteCount": 1})));
    let (status, _) = api_get(&fake, &format!("/orders/{id}")).await;
    assert_eq!(status, 404);

    // The storefront's requests are recorded like any other.
    assert!(fake
        .requests()
        .iter()
        .any(|r| r.method == "DELETE" && r.path == format!("/storefront/1003/orders/{id}")));
}

#[tokio::test]
async fn the_storefront_routes_refuse_as_ecwid_would() {
    let fake = demo_store().await;
    let root = format!("{}/1003/orders", fake.storefront_url());
    let post = |body: Value| http().post(&root).json(&body).send();
    let mug = demo::MUG.get();

    let cases = [
        (
            json!({"items": [{"productId": mug, "quantity": 9}]}),
            409,
            "OUT_OF_STOCK",
        ),
        (
            json!({"items": [{"productId": 404, "quantity": 1}]}),
            404,
            "PRODUCT_NOT_FOUND",
        ),
        (
            json!({"items": [{"productId": demo::TEE.get(), "combinationId": 404, "quantity": 1}]}),
            404,
            "COMBINATION_NOT_FOUND",
        ),
        (json!({"items": []}), 400, "WRONG_PARAMETER"),
        (
            json!({"items": [{"productId": mug, "quantity": 0}]}),
            400,
            "WRONG_PARAMETER",
        ),
        (
            json!({"items": [{"productId": mug, "quantity": -1}]}),
            400,
            "WRONG_PARAMETER",
        ),
        (
            json!({"items": [{"productId": mug}]}),
            400,
            "WRONG_PARAMETER",
        ),
        (
            json!({"items": [{"productId": mug, "quantity": 1}], "paymentStatus": "REFUNDED"}),
            400,
            "WRONG_PARAMETER",
        ),
        (json!([1]), 400, "WRONG_PARAMETER"),
    ];
    for (body, status, code) in cases {
        let answer = error(post(body.clone()).await.unwrap()).await;
        assert_eq!(answer, (status, code.to_owned()), "{body}");
    }
    let text = http()
        .post(&root)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(text.status(), 415);
    let unknown_store = http()
        .post(format!("{}/404/orders", fake.storefront_url()))
        .json(&json!({"items": [{"productId": mug, "quantity": 1}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error(unknown_store).await,
        (404, "STORE_NOT_FOUND".to_owned())
    );
    let unknown_order = http()
        .post(format!("{root}/XJ12H/cancel"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error(unknown_order).await,
        (404, "ORDER_NOT_FOUND".to_owned())
    );
    let wrong_method = http().get(&root).send().await.unwrap();
    assert_eq!(wrong_method.status(), 405);
    assert_eq!(wrong_method.headers()["allow"], "POST");
    let nowhere = http()
        .post(format!("{}/1003/carts", fake.storefront_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(error(nowhere).await, (404, "NOT_FOUND".to_owned()));

    assert!(fake.ledger().is_empty(), "nothing was sold");
    assert_eq!(stock(&fake, MUG), 8);
}
