//! Ecwid's own sales as stock movements (`ecwid_inventory::sales`), through the public API:
//! deliveries signed with `webhooks::sign` and received through `sales::Receiver` (verified,
//! recorded and answered) in real databases (a SQLite file, and a real PostgreSQL server
//! through the journal tests' harness, skipped when not installed unless `CI` is set), processed against a mock Ecwid on loopback whose orders the
//! test changes, and the movements read back.
//!
//! Each test runs the same code on both backends.

use std::{
    collections::{BTreeMap, HashSet},
    sync::{Arc, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use crate::common::{
    postgres::{backends, Backend, TestClock},
    query_param,
};
use ecwid_inventory::{
    journal::{Journal, Recorded as JournalRecorded},
    sales::{
        FoundBy, Movement, MovementKind, ProcessStop, Receipt, Receiver as SalesReceiver, Recorded,
        Sales, SalesCursor, StockPolicy,
    },
    webhooks::{sign, SecretString, Verifier, SIGNATURE_HEADER},
    Client, CombinationId, Error, OrderId, ProductId, RetryPolicy, StockChange, StockItem, StoreId,
    TimeSource,
};
use serde_json::{json, Value};
use wiremock::{
    matchers::{method, path, path_regex},
    Mock, MockServer, Request, ResponseTemplate,
};

const STORE: StoreId = StoreId::new(1003);
const TEE: ProductId = ProductId::new(7);
const MUG: ProductId = ProductId::new(8);
const DAY: Duration = Duration::from_secs(24 * 60 * 60);
const CLIENT_SECRET: &str = "the app's client secret";

// ---------------------------------------------------------------------------------------------
// A mock Ecwid whose orders the test changes

/// An order line: line id, product, variation, quantity.
type Line = (u64, ProductId, Option<u64>, u32);

#[derive(Default)]
struct ShopState {
    orders: BTreeMap<String, Value>,
    /// Answer every order read with a 500.
    failing: bool,
    /// Every request, as `path?query`.
    requests: Vec<String>,
}

/// Ecwid's order endpoints on loopback, answering from the orders the test put there.
struct Shop {
    server: MockServer,
    state: Arc<Mutex<ShopState>>,
}

impl Shop {
    async fn start() -> Shop {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(ShopState::default()));
        let one = state.clone();
        Mock::given(method("GET"))
            .and(path_regex(r"^/api/v3/1003/orders/[^/]+$"))
            .respond_with(move |request: &Request| {
                let mut shop = one.lock().unwrap();
                shop.requests.push(request.url.path().to_owned());
                if shop.failing {
                    return ResponseTemplate::new(500);
                }
                let id = request.url.path().rsplit('/').next().unwrap().to_owned();
                match shop.orders.get(&id) {
                    Some(order) => ResponseTemplate::new(200).set_body_json(order),
                    None => ResponseTemplate::new(404).set_body_json(json!({
                        "errorMessage": format!("Order #{id} not found"),
                        "errorCode": "ORDER_NOT_FOUND"
                    })),
                }
            })
            .mount(&server)
            .await;
        let search = state.clone();
        Mock::given(method("GET"))
            .and(path("/api/v3/1003/orders"))
            .respond_with(move |request: &Request| {
                let mut shop = search.lock().unwrap();
                shop.requests.push(format!(
                    "{}?{}",
                    request.url.path(),
                    request.url.query().unwrap_or("")
                ));
                if shop.failing {
                    return ResponseTemplate::new(500);
                }
                let ids: Option<HashSet<String>> = query_param(request, "ids")
                    .map(|ids| ids.split(',').map(str::to_owned).collect());
                let from: Option<i64> =
                    query_param(request, "updatedFrom").map(|t| t.parse().unwrap());
                let to: Option<i64> = query_param(request, "updatedTo").map(|t| t.parse().unwrap());
                let offset: usize =
                    query_param(request, "offset").map_or(0, |o| o.parse().unwrap());
                let limit: usize =
                    query_param(request, "limit").map_or(100, |l| l.parse().unwrap());
                let matching: Vec<&Value> = shop
                    .orders
                    .values()
                    .filter(|o| {
                        ids.as_ref()
                            .is_none_or(|ids| ids.contains(o["id"].as_str().unwrap()))
                    })
                    // As Ecwid's search does without a payment status filter.
                    .filter(|o| o["paymentStatus"] != "INCOMPLETE")
                    .filter(|o| {
                        from.is_none_or(|from| o["updateTimestamp"].as_i64().unwrap() >= from)
                    })
                    .filter(|o| to.is_none_or(|to| o["updateTimestamp"].as_i64().unwrap() <= to))
                    .collect();
                let items: Vec<&Value> =
                    matching.iter().skip(offset).take(limit).copied().collect();
                ResponseTemplate::new(200).set_body_json(json!({
                    "total": matching.len(),
                    "count": items.len(),
                    "offset": offset,
                    "limit": limit,
                    "items": items,
                }))
            })
            .mount(&server)
            .await;
        Shop { server, state }
    }

    /// Puts order `id` in the shop as it is now, last updated at `updated` (UNIX seconds).
    fn put(&self, id: &str, payment: &str, fulfillment: &str, updated: i64, lines: &[Line]) {
        let items: Vec<Value> = lines
            .iter()
            .map(|&(line, product, combination, quantity)| {
                json!({
                    "id": line,
                    "productId": product.get(),
                    "combinationId": combination,
                    "sku": format!("SKU-{}-{}", product.get(), combination.unwrap_or(0)),
                    "quantity": quantity,
                    "name": "Tee",
                    "price": 10
                })
            })
            .collect();
        let order = json!({
            "id": id,
            "orderNumber": 516483487,
            "paymentStatus": payment,
            "fulfillmentStatus": fulfillment,
            "createTimestamp": updated,
            "updateTimestamp": updated,
            "email": "buyer@example.com",
            "items": items,
        });
        self.state
            .lock()
            .unwrap()
            .orders
            .insert(id.to_owned(), order);
    }

    fn delete(&self, id: &str) {
        self.state.lock().unwrap().orders.remove(id);
    }

    fn fail(&self, failing: bool) {
        self.state.lock().unwrap().failing = failing;
    }

    fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }

    fn client(&self) -> Client {
        Client::builder(STORE, "secret_token_8f3a9c")
            .base_url(format!("{}/api/v3", self.server.uri()))
            .retry_policy(RetryPolicy::never())
            .no_rate_limit()
            .build()
            .unwrap()
    }
}

// ---------------------------------------------------------------------------------------------
// Deliveries, signed as Ecwid signs them and verified as a receiver does

fn seconds(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A receiver of one backend: its clock, the verifier, the sales and the shop's client.
struct Receiver {
    clock: TestClock,
    verifier: Verifier,
    sales: Sales,
    client: Client,
}

impl Receiver {
    /// A receiver on the backend's own journal, with Ecwid's stock policy.
    fn on(backend: &Backend, shop: &Shop) -> Receiver {
        Receiver::new(
            backend,
            backend.journal.clone(),
            StockPolicy::default(),
            shop,
        )
    }

    fn new(backend: &Backend, journal: Journal, policy: StockPolicy, shop: &Shop) -> Receiver {
        let verifier = Verifier::builder(SecretString::from(CLIENT_SECRET), STORE)
            .time_source(TimeSource::new(backend.clock.reader()))
            .build()
            .unwrap();
        let sales = Sales::builder().policy(policy).build(journal).unwrap();
        Receiver {
            clock: backend.clock.clone(),
            verifier,
            sales,
            client: shop.client(),
        }
    }

    fn now(&self) -> i64 {
        seconds(self.clock.now())
    }

    /// Receives (verifies, records and answers 200, through `sales::Receiver`) the delivery of
    /// event `event_id` of `event_type`, created at
    /// `created` (UNIX seconds), about `order` (`data.orderId`) claiming `payment` as its new
    /// payment status.
    async fn deliver(
        &self,
        event_id: &str,
        event_type: &str,
        created: i64,
        order: Option<&str>,
        payment: &str,
    ) -> Recorded {
        let data = match order {
            Some(order) => json!({"orderId": order, "newPaymentStatus": payment}),
            None if event_type.starts_with("order.") => json!({"newPaymentStatus": payment}),
            None => Value::Null,
        };
        let mut body = json!({
            "eventId": event_id,
            "eventCreated": created,
            "storeId": STORE.get(),
            "entityId": 103878161,
            "eventType": event_type,
        });
        if !data.is_null() {
            body["data"] = data;
        }
        let request = http::Request::post("/webhooks")
            .header(
                SIGNATURE_HEADER,
                sign(&SecretString::from(CLIENT_SECRET), created, event_id),
            )
            .body(serde_json::to_vec(&body).unwrap())
            .unwrap();
        let inbox = SalesReceiver::new(self.verifier.clone(), self.sales.clone());
        match inbox.receive(&request).await {
            receipt @ Receipt::Recorded { recorded, .. } => {
                assert_eq!(receipt.status(), http::StatusCode::OK);
                recorded
            }
            receipt => panic!("{event_id} was not acknowledged: {receipt}"),
        }
    }

    async fn process(&self) -> ecwid_inventory::sales::ProcessReport {
        self.sales.process(&self.client).send().await.unwrap()
    }

    async fn movements(&self) -> Vec<Movement> {
        self.sales.movements(STORE, None, 1000).await.unwrap()
    }
}

/// `(id, delta)` of each movement, in the log's order.
fn summary(movements: &[Movement]) -> Vec<(String, i64)> {
    movements
        .iter()
        .map(|m| (m.id.clone(), m.delta()))
        .collect()
}

fn expected(movements: &[(&str, i64)]) -> Vec<(String, i64)> {
    movements
        .iter()
        .map(|(id, d)| (id.to_string(), *d))
        .collect()
}

fn tee(combination: u64) -> Option<u64> {
    Some(combination)
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_same_event_three_times_out_of_order_and_a_day_later_is_one_movement() {
    let shop = Shop::start().await;
    for backend in backends("sales_redelivered").await {
        let on = backend.name;
        let r = Receiver::on(&backend, &shop);
        let t = r.now();
        shop.put(
            "XJ12H",
            "PAID",
            "AWAITING_PROCESSING",
            t,
            &[(1, TEE, tee(11), 2)],
        );
        // order.created and order.updated, each delivered three times, in no order; the
        // update's body claims a status the order never had: it is not believed.
        let deliveries = [
            ("e-updated", "order.updated", "CANCELLED"),
            ("e-created", "order.created", "PAID"),
            ("e-updated", "order.updated", "CANCELLED"),
            ("e-created", "order.created", "PAID"),
            ("e-created", "order.created", "PAID"),
            ("e-updated", "order.updated", "CANCELLED"),
        ];
        let mut new = 0;
        for (id, kind, claimed) in deliveries {
            if r.deliver(id, kind, t, Some("XJ12H"), claimed)
                .await
                .is_new()
            {
                new += 1;
            }
        }
        assert_eq!(new, 2, "{on}");
        let report = r.process().await;
        assert_eq!(
            (report.processed, report.movements),
            (2, 1),
            "{on}: {report:?}"
        );
        assert_eq!(report.stopped, ProcessStop::NothingWaiting, "{on}");

        // A day later (within the verifier's 26 hours), delivered again: a duplicate.
        backend.clock.advance(DAY);
        let again = r
            .deliver("e-created", "order.created", t, Some("XJ12H"), "PAID")
            .await;
        assert_eq!(again, Recorded::Duplicate, "{on}");
        let report = r.process().await;
        assert_eq!((report.processed, report.movements), (0, 0), "{on}");

        let movements = r.movements().await;
        assert_eq!(
            summary(&movements),
            expected(&[("1003/XJ12H/1/placed-1", -2)]),
            "{on}"
        );
        let m = &movements[0];
        assert_eq!(m.kind, MovementKind::Placed, "{on}");
        assert_eq!(
            m.item,
            StockItem::Variation {
                product: TEE,
                combination: CombinationId::new(11)
            },
            "{on}"
        );
        assert_eq!(m.sku.as_deref(), Some("SKU-7-11"), "{on}");
        assert_eq!(m.order_id, OrderId::new("XJ12H"), "{on}");
        assert_eq!(m.found_by, FoundBy::Webhook, "{on}");
        let counts = r.sales.counts(STORE).await.unwrap();
        assert_eq!(
            (counts.processed, counts.waiting),
            (2, 0),
            "{on}: {counts:?}"
        );
    }
}

#[tokio::test]
async fn a_checkouts_several_webhooks_give_one_movement_per_line_and_product_events_none() {
    let shop = Shop::start().await;
    for backend in backends("sales_checkout").await {
        let on = backend.name;
        let r = Receiver::on(&backend, &shop);
        let t = r.now();
        shop.put(
            "CHK1",
            "AWAITING_PAYMENT",
            "AWAITING_PROCESSING",
            t,
            &[(1, TEE, tee(11), 2), (2, MUG, None, 1)],
        );
        r.deliver("c1", "order.created", t, Some("CHK1"), "AWAITING_PAYMENT")
            .await;
        r.deliver("p1", "product.updated", t, None, "").await;
        r.deliver("p2", "product.updated", t, None, "").await;
        // Paid a moment later.
        shop.put(
            "CHK1",
            "PAID",
            "AWAITING_PROCESSING",
            t + 5,
            &[(1, TEE, tee(11), 2), (2, MUG, None, 1)],
        );
        r.deliver("c2", "order.updated", t + 5, Some("CHK1"), "PAID")
            .await;
        r.deliver("p1", "product.updated", t, None, "").await;
        let report = r.process().await;
        assert_eq!(report.processed, 2, "{on}: {report:?}");
        // Both order events in one batch: one search by ids read the order.
        assert_eq!(report.reads, 1, "{on}: {report:?}");
        assert_eq!(
            summary(&r.movements().await),
            expected(&[("1003/CHK1/1/placed-1", -2), ("1003/CHK1/2/placed-1", -1)]),
            "{on}"
        );
        let counts = r.sales.counts(STORE).await.unwrap();
        assert_eq!(
            (counts.processed, counts.skipped),
            (2, 2),
            "{on}: {counts:?}"
        );
    }
    // Product events were never read: only order searches went out.
    assert!(
        shop.requests()
            .iter()
            .all(|r| r.starts_with("/api/v3/1003/orders")),
        "{:?}",
        shop.requests()
    );
}

#[tokio::test]
async fn a_cancellation_after_the_sale_restocks_once() {
    let shop = Shop::start().await;
    for backend in backends("sales_cancel").await {
        let on = backend.name;
        let r = Receiver::on(&backend, &shop);
        let t = r.now();
        let lines = [(1, TEE, tee(11), 2)];
        shop.put("C1", "PAID", "AWAITING_PROCESSING", t, &lines);
        r.deliver("a", "order.created", t, Some("C1"), "PAID").await;
        r.process().await;
        shop.put("C1", "CANCELLED", "AWAITING_PROCESSING", t + 60, &lines);
        r.deliver("b", "order.updated", t + 60, Some("C1"), "CANCELLED")
            .await;
        r.deliver("b", "order.updated", t + 60, Some("C1"), "CANCELLED")
            .await;
        r.process().await;
        // The first event delivered again after the cancellation reads the order as it is now.
        backend.clock.advance(Duration::from_secs(3600));
        r.deliver("a2", "order.updated", t, Some("C1"), "PAID")
            .await;
        r.process().await;
        assert_eq!(
            summary(&r.movements().await),
            expected(&[("1003/C1/1/placed-1", -2), ("1003/C1/1/restocked-1", 2)]),
            "{on}"
        );
    }
}

#[tokio::test]
async fn a_deletion_after_the_sale_restocks_once_and_a_claimed_deletion_is_not_believed() {
    let shop = Shop::start().await;
    for backend in backends("sales_delete").await {
        let on = backend.name;
        let r = Receiver::on(&backend, &shop);
        let t = r.now();
        let lines = [(1, TEE, tee(11), 2), (2, MUG, None, 3)];
        shop.put("D1", "PAID", "SHIPPED", t, &lines);
        shop.put("D2", "PAID", "SHIPPED", t, &[(1, MUG, None, 1)]);
        r.deliver("d1", "order.created", t, Some("D1"), "PAID")
            .await;
        r.deliver("d2", "order.created", t, Some("D2"), "PAID")
            .await;
        r.process().await;
        // D1 is deleted; D2 is not, whatever a (replayed, unsigned) body says.
        shop.delete("D1");
        r.deliver("x1", "order.deleted", t + 60, Some("D1"), "")
            .await;
        r.deliver("x2", "order.deleted", t + 60, Some("D2"), "")
            .await;
        let report = r.process().await;
        assert_eq!(report.movements, 2, "{on}: {report:?}");
        r.deliver("x1", "order.deleted", t + 60, Some("D1"), "")
            .await;
        r.deliver("x3", "order.updated", t + 90, Some("D1"), "PAID")
            .await;
        r.process().await;
        let movements = r.movements().await;
        assert_eq!(
            summary(&movements),
            expected(&[
                ("1003/D1/1/placed-1", -2),
                ("1003/D1/2/placed-1", -3),
                ("1003/D2/1/placed-1", -1),
                ("1003/D1/1/restocked-1", 2),
                ("1003/D1/2/restocked-1", 3),
            ]),
            "{on}"
        );
        assert!(
            movements[3].order_deleted && movements[4].order_deleted,
            "{on}"
        );
        assert_eq!(movements[3].payment_status, None, "{on}");
    }
}

#[tokio::test]
async fn a_quantity_edit_moves_the_difference_once() {
    let shop = Shop::start().await;
    for backend in backends("sales_edit").await {
        let on = backend.name;
        let r = Receiver::on(&backend, &shop);
        let t = r.now();
        shop.put("Q1", "PAID", "PROCESSING", t, &[(1, TEE, tee(11), 2)]);
        r.deliver("q1", "order.created", t, Some("Q1"), "PAID")
            .await;
        r.process().await;
        shop.put("Q1", "PAID", "PROCESSING", t + 10, &[(1, TEE, tee(11), 5)]);
        r.deliver("q2", "order.updated", t + 10, Some("Q1"), "PAID")
            .await;
        r.deliver("q2", "order.updated", t + 10, Some("Q1"), "PAID")
            .await;
        r.process().await;
        shop.put("Q1", "PAID", "PROCESSING", t + 20, &[(1, TEE, tee(11), 3)]);
        r.deliver("q3", "order.updated", t + 20, Some("Q1"), "PAID")
            .await;
        r.process().await;
        r.deliver("q3", "order.updated", t + 20, Some("Q1"), "PAID")
            .await;
        r.process().await;
        assert_eq!(
            summary(&r.movements().await),
            expected(&[
                ("1003/Q1/1/placed-1", -2),
                ("1003/Q1/1/placed-2", -3),
                ("1003/Q1/1/restocked-1", 2),
            ]),
            "{on}"
        );
    }
}

#[tokio::test]
async fn an_order_event_without_an_order_id_finds_its_order_by_a_search() {
    let shop = Shop::start().await;
    for backend in backends("sales_orderless").await {
        let on = backend.name;
        let r = Receiver::on(&backend, &shop);
        let t = r.now();
        shop.put("N1", "PAID", "PROCESSING", t, &[(1, TEE, tee(12), 1)]);
        // Updated long before: outside the search's window around the event.
        shop.put(
            "OLD",
            "PAID",
            "PROCESSING",
            t - 86_400,
            &[(1, MUG, None, 1)],
        );
        r.deliver("n1", "order.updated", t, None, "PAID").await;
        let report = r.process().await;
        assert_eq!(report.processed, 1, "{on}: {report:?}");
        assert_eq!(
            summary(&r.movements().await),
            expected(&[("1003/N1/1/placed-1", -1)]),
            "{on}"
        );
    }
    let searched = shop.requests();
    assert!(
        searched
            .iter()
            .any(|r| r.contains("updatedFrom=") && r.contains("updatedTo=")),
        "{searched:?}"
    );
    assert!(!searched
        .iter()
        .any(|r| r.contains("entityId") || r.contains("103878161")));
}

#[tokio::test]
async fn webhooks_and_a_catch_up_over_the_same_orders_move_each_item_once() {
    let shop = Shop::start().await;
    for backend in backends("sales_catch_up").await {
        let on = backend.name;
        let r = Receiver::on(&backend, &shop);
        let t = r.now();
        // W: seen by webhook; M: missed by the webhooks (the receiver was down).
        shop.put("W", "PAID", "PROCESSING", t, &[(1, TEE, tee(11), 1)]);
        shop.put("M", "PAID", "PROCESSING", t, &[(1, MUG, None, 4)]);
        r.deliver("w", "order.created", t, Some("W"), "PAID").await;
        r.process().await;

        // No cursor saved yet: the first catch-up says where to start.
        let refused = r.sales.catch_up(&r.client).await.unwrap_err();
        assert!(
            matches!(refused, Error::InvalidInput(_)),
            "{on}: {refused:?}"
        );
        let since = backend.clock.now() - Duration::from_secs(3600);
        let report = r.sales.catch_up(&r.client).since(since).await.unwrap();
        assert_eq!(
            (report.orders, report.movements),
            (2, 1),
            "{on}: {report:?}"
        );
        // The cursor moved on to the start less the overlap, and was saved.
        let cursor = SalesCursor::since(
            STORE,
            backend.clock.now() - ecwid_inventory::sales::CATCH_UP_OVERLAP,
        );
        assert_eq!(report.cursor, cursor, "{on}");
        assert_eq!(r.sales.cursor(STORE).await.unwrap(), Some(cursor), "{on}");

        // Again from the saved cursor: the same orders (updated within the overlap), nothing new.
        let again = r.sales.catch_up(&r.client).await.unwrap();
        assert_eq!((again.orders, again.movements), (2, 0), "{on}: {again:?}");
        // The missed order's webhook finally comes: nothing new either.
        r.deliver("m", "order.created", t, Some("M"), "PAID").await;
        assert_eq!(r.process().await.movements, 0, "{on}");

        // A cancellation found by a catch-up run from a cursor kept in a file.
        shop.put("M", "CANCELLED", "PROCESSING", t + 60, &[(1, MUG, None, 4)]);
        backend.clock.advance(Duration::from_secs(120));
        let file: SalesCursor =
            serde_json::from_str(&serde_json::to_string(&cursor).unwrap()).unwrap();
        let from_file = r.sales.catch_up(&r.client).cursor(file).await.unwrap();
        assert_eq!(from_file.movements, 1, "{on}: {from_file:?}");
        // A given cursor is returned, not saved.
        assert_eq!(r.sales.cursor(STORE).await.unwrap(), Some(cursor), "{on}");
        let other = SalesCursor::since(StoreId::new(2002), since);
        let refused = r.sales.catch_up(&r.client).cursor(other).await.unwrap_err();
        assert!(
            matches!(refused, Error::InvalidInput(_)),
            "{on}: {refused:?}"
        );

        let movements = r.movements().await;
        assert_eq!(
            summary(&movements),
            expected(&[
                ("1003/W/1/placed-1", -1),
                ("1003/M/1/placed-1", -4),
                ("1003/M/1/restocked-1", 4),
            ]),
            "{on}"
        );
        assert_eq!(
            movements.iter().map(|m| m.found_by).collect::<Vec<_>>(),
            [FoundBy::Webhook, FoundBy::CatchUp, FoundBy::CatchUp],
            "{on}"
        );
    }
}

#[tokio::test]
async fn a_catch_up_whose_read_fails_keeps_its_cursor() {
    let shop = Shop::start().await;
    for backend in backends("sales_catch_up_fails").await {
        let on = backend.name;
        let r = Receiver::on(&backend, &shop);
        let since = backend.clock.now() - DAY;
        let cursor = SalesCursor::since(STORE, since);
        r.sales.save_cursor(&cursor).await.unwrap();
        shop.fail(true);
        backend.clock.advance(DAY);
        let error = r.sales.catch_up(&r.client).await.unwrap_err();
        assert!(
            matches!(error, Error::Api { status: 500, .. }),
            "{on}: {error:?}"
        );
        assert_eq!(r.sales.cursor(STORE).await.unwrap(), Some(cursor), "{on}");
        shop.fail(false);
    }
}

#[tokio::test]
async fn two_processors_at_once_on_one_database_move_each_item_once() {
    let shop = Shop::start().await;
    for backend in backends("sales_two_processors").await {
        let on = backend.name;
        let first = Receiver::on(&backend, &shop);
        let second = Receiver::new(
            &backend,
            backend.open().await,
            StockPolicy::default(),
            &shop,
        );
        let t = first.now();
        let orders = 60;
        for n in 0..orders {
            let id = format!("T{n}");
            shop.put(
                &id,
                "PAID",
                "PROCESSING",
                t,
                &[(1, TEE, tee(n + 1), 1), (2, MUG, None, 2)],
            );
            // Three events per order, recorded through both receivers.
            first
                .deliver(&format!("{id}-a"), "order.created", t, Some(&id), "PAID")
                .await;
            second
                .deliver(&format!("{id}-b"), "order.updated", t, Some(&id), "PAID")
                .await;
            first
                .deliver(&format!("{id}-c"), "order.updated", t, Some(&id), "PAID")
                .await;
        }
        // Small claims, so that the two interleave and share orders.
        let run = |r: &Receiver| {
            let sales = r.sales.clone();
            let client = r.client.clone();
            async move {
                let mut total = 0;
                loop {
                    let report = sales.process(&client).max_events(7).await.unwrap();
                    total += report.processed;
                    if report.stopped == ProcessStop::NothingWaiting {
                        return total;
                    }
                }
            }
        };
        let (a, b) = tokio::join!(run(&first), run(&second));
        assert_eq!(a + b, orders as usize * 3, "{on}: {a} + {b}");
        let movements = first.movements().await;
        assert_eq!(movements.len(), orders as usize * 2, "{on}");
        let ids: HashSet<&str> = movements.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids.len(), movements.len(), "{on}: an id twice");
        assert!(
            movements.iter().all(|m| m.id.ends_with("/placed-1")),
            "{on}"
        );
        // In order, and gap-free for a reader going page by page.
        let mut paged = Vec::new();
        let mut after = None;
        loop {
            let page = second.sales.movements(STORE, after, 13).await.unwrap();
            let Some(last) = page.last() else { break };
            after = Some(last.sequence);
            paged.extend(page);
        }
        assert_eq!(paged, movements, "{on}");
        assert!(
            movements.windows(2).all(|w| w[0].sequence < w[1].sequence),
            "{on}"
        );
        let counts = first.sales.counts(STORE).await.unwrap();
        assert_eq!(counts.processed, orders * 3, "{on}: {counts:?}");
    }
}

#[tokio::test]
async fn an_order_read_that_fails_leaves_the_event_for_a_later_call() {
    let shop = Shop::start().await;
    for backend in backends("sales_read_fails").await {
        let on = backend.name;
        let journal = backend.journal.clone();
        let r = Receiver::new(&backend, journal, StockPolicy::default(), &shop);
        let t = r.now();
        shop.put("F1", "PAID", "PROCESSING", t, &[(1, TEE, tee(11), 1)]);
        r.deliver("f1", "order.created", t, Some("F1"), "PAID")
            .await;
        shop.fail(true);
        let report = r.process().await;
        assert_eq!(
            (report.processed, report.retry_later),
            (0, 1),
            "{on}: {report:?}"
        );
        assert!(
            matches!(report.stopped, ProcessStop::EcwidUnavailable { .. }),
            "{on}: {report:?}"
        );
        assert!(
            report.last_error.as_deref().unwrap().contains("500"),
            "{on}"
        );
        assert_eq!(r.sales.counts(STORE).await.unwrap().waiting, 1, "{on}");
        // Not due again yet (the first retry waits a minute), even once Ecwid answers.
        shop.fail(false);
        let report = r.process().await;
        assert_eq!(
            (report.processed, report.stopped),
            (0, ProcessStop::NothingWaiting),
            "{on}"
        );
        backend.clock.advance(Duration::from_secs(61));
        let report = r.process().await;
        assert_eq!(
            (report.processed, report.movements),
            (1, 1),
            "{on}: {report:?}"
        );
        assert_eq!(r.movements().await.len(), 1, "{on}");
    }
}

#[tokio::test]
async fn an_event_whose_order_cannot_be_read_ends_failed_after_the_last_attempt() {
    let shop = Shop::start().await;
    for backend in backends("sales_attempts").await {
        let on = backend.name;
        let shop_client = shop.client();
        let sales = Sales::builder()
            .max_attempts(2)
            .retry_delay(Duration::from_secs(10), Duration::from_secs(10))
            .build(backend.journal.clone())
            .unwrap();
        let r = Receiver {
            clock: backend.clock.clone(),
            verifier: Verifier::builder(SecretString::from(CLIENT_SECRET), STORE)
                .time_source(TimeSource::new(backend.clock.reader()))
                .build()
                .unwrap(),
            sales,
            client: shop_client,
        };
        let t = r.now();
        shop.put("G1", "PAID", "PROCESSING", t, &[(1, TEE, tee(11), 1)]);
        r.deliver("g1", "order.created", t, Some("G1"), "PAID")
            .await;
        shop.fail(true);
        assert_eq!(r.process().await.retry_later, 1, "{on}");
        backend.clock.advance(Duration::from_secs(11));
        let report = r.process().await;
        assert_eq!(
            (report.retry_later, report.failed),
            (0, 1),
            "{on}: {report:?}"
        );
        backend.clock.advance(DAY);
        assert_eq!(
            r.process().await.stopped,
            ProcessStop::NothingWaiting,
            "{on}"
        );
        assert_eq!(r.sales.counts(STORE).await.unwrap().failed, 1, "{on}");
        // Put back by hand once Ecwid answers: processed, once.
        shop.fail(false);
        assert_eq!(r.sales.retry_failed(STORE).await.unwrap(), 1, "{on}");
        let report = r.process().await;
        assert_eq!(
            (report.processed, report.movements),
            (1, 1),
            "{on}: {report:?}"
        );
    }
}

/// Place, cancel, re-open, cancel again; and another order placed, edited and deleted.
async fn history(r: &Receiver, shop: &Shop, order: &str) {
    let t = r.now();
    let lines = [(1, TEE, tee(11), 2), (2, MUG, None, 1)];
    for (n, (payment, at)) in [
        ("PAID", 0),
        ("CANCELLED", 10),
        ("AWAITING_PAYMENT", 20),
        ("CANCELLED", 30),
    ]
    .into_iter()
    .enumerate()
    {
        shop.put(order, payment, "PROCESSING", t + at, &lines);
        r.deliver(
            &format!("{order}-{n}"),
            "order.updated",
            t + at,
            Some(order),
            payment,
        )
        .await;
        r.process().await;
    }
    let other = format!("{order}-2");
    shop.put(&other, "PAID", "PROCESSING", t, &[(5, TEE, tee(12), 1)]);
    r.deliver(
        &format!("{other}-a"),
        "order.created",
        t,
        Some(&other),
        "PAID",
    )
    .await;
    r.process().await;
    shop.put(&other, "PAID", "PROCESSING", t + 5, &[(5, TEE, tee(12), 4)]);
    r.deliver(
        &format!("{other}-b"),
        "order.updated",
        t + 5,
        Some(&other),
        "PAID",
    )
    .await;
    r.process().await;
    shop.delete(&other);
    r.deliver(
        &format!("{other}-c"),
        "order.deleted",
        t + 9,
        Some(&other),
        "",
    )
    .await;
    r.process().await;
}

#[tokio::test]
async fn movement_ids_are_the_same_across_runs_and_databases() {
    let shop = Shop::start().await;
    let mut runs = Vec::new();
    for round in 0..2 {
        for backend in backends(&format!("sales_ids_{round}")).await {
            let r = Receiver::on(&backend, &shop);
            history(&r, &shop, "H1").await;
            runs.push((backend.name, summary(&r.movements().await)));
        }
    }
    let want = expected(&[
        ("1003/H1/1/placed-1", -2),
        ("1003/H1/2/placed-1", -1),
        ("1003/H1/1/restocked-1", 2),
        ("1003/H1/2/restocked-1", 1),
        ("1003/H1/1/placed-2", -2),
        ("1003/H1/2/placed-2", -1),
        ("1003/H1/1/restocked-2", 2),
        ("1003/H1/2/restocked-2", 1),
        ("1003/H1-2/5/placed-1", -1),
        ("1003/H1-2/5/placed-2", -3),
        ("1003/H1-2/5/restocked-1", 4),
    ]);
    for (on, run) in runs {
        assert_eq!(run, want, "{on}");
    }
}

#[tokio::test]
async fn the_policy_settings_change_the_outcome_as_documented() {
    let shop = Shop::start().await;
    let lines = [(1, TEE, tee(11), 2)];
    let policies = [
        (
            "default",
            StockPolicy::default(),
            "REFUNDED",
            "PROCESSING",
            true,
        ),
        (
            "refunds kept",
            StockPolicy::default().refunded_restocks(false),
            "REFUNDED",
            "PROCESSING",
            false,
        ),
        ("default", StockPolicy::default(), "PAID", "RETURNED", false),
        (
            "returns shelved",
            StockPolicy::default().returned_restocks(true),
            "PAID",
            "RETURNED",
            true,
        ),
        (
            "default",
            StockPolicy::default(),
            "PARTIALLY_REFUNDED",
            "PROCESSING",
            false,
        ),
    ];
    for (n, (name, policy, payment, fulfillment, restocks)) in policies.into_iter().enumerate() {
        for backend in backends(&format!("sales_policy_{n}")).await {
            let on = format!("{}, {name}, {payment}/{fulfillment}", backend.name);
            let r = Receiver::new(&backend, backend.journal.clone(), policy.clone(), &shop);
            let t = r.now();
            let order = format!("P{n}");
            shop.put(&order, "PAID", "PROCESSING", t, &lines);
            r.deliver("a", "order.created", t, Some(&order), "PAID")
                .await;
            r.process().await;
            shop.put(&order, payment, fulfillment, t + 60, &lines);
            r.deliver("b", "order.updated", t + 60, Some(&order), payment)
                .await;
            r.process().await;
            let kinds: Vec<MovementKind> = r.movements().await.iter().map(|m| m.kind).collect();
            let want = if restocks {
                vec![MovementKind::Placed, MovementKind::Restocked]
            } else {
                vec![MovementKind::Placed]
            };
            assert_eq!(kinds, want, "{on}");
        }
    }
    // An unfinished checkout never moves stock, and then moves it once placed.
    for backend in backends("sales_policy_incomplete").await {
        let on = backend.name;
        let r = Receiver::on(&backend, &shop);
        let t = r.now();
        shop.put("I1", "INCOMPLETE", "AWAITING_PROCESSING", t, &lines);
        r.deliver("i1", "order.created", t, Some("I1"), "INCOMPLETE")
            .await;
        r.process().await;
        assert!(r.movements().await.is_empty(), "{on}");
        shop.put(
            "I1",
            "AWAITING_PAYMENT",
            "AWAITING_PROCESSING",
            t + 30,
            &lines,
        );
        r.deliver(
            "i2",
            "order.updated",
            t + 30,
            Some("I1"),
            "AWAITING_PAYMENT",
        )
        .await;
        r.process().await;
        assert_eq!(
            summary(&r.movements().await),
            expected(&[("1003/I1/1/placed-1", -2)]),
            "{on}"
        );
    }
}

#[tokio::test]
async fn a_movement_applied_through_the_journal_under_its_id_is_applied_once() {
    let shop = Shop::start().await;
    for backend in backends("sales_to_journal").await {
        let on = backend.name;
        let r = Receiver::on(&backend, &shop);
        let t = r.now();
        shop.put("J1", "PAID", "PROCESSING", t, &[(1, TEE, tee(11), 2)]);
        r.deliver("j", "order.created", t, Some("J1"), "PAID").await;
        r.process().await;
        let other_store = StoreId::new(2002);
        let mirrored = StockItem::Product {
            product: ProductId::new(70),
        };
        let movement = &r.movements().await[0];
        // A consumer that crashed and read the movement again records it again: once.
        for time in 0..2 {
            let event = movement.journal_event(other_store, mirrored).unwrap();
            assert_eq!(event.id, "1003/J1/1/placed-1", "{on}");
            assert_eq!(event.change, StockChange::Delta(-2), "{on}");
            let recorded = backend.journal.record(&event).await.unwrap();
            assert_eq!(
                matches!(recorded, JournalRecorded::New(_)),
                time == 0,
                "{on}: {recorded:?}"
            );
        }
        assert_eq!(
            backend.journal.counts(other_store).await.unwrap().recorded,
            1,
            "{on}"
        );
    }
}

#[tokio::test]
async fn deliveries_recorded_at_once_are_each_on_disk_once() {
    let shop = Shop::start().await;
    for backend in backends("sales_group_commit").await {
        let on = backend.name;
        let r = Arc::new(Receiver::on(&backend, &shop));
        let t = r.now();
        let deliver_all = |r: Arc<Receiver>| async move {
            let tasks: Vec<_> = (0..200)
                .map(|n| {
                    let r = r.clone();
                    tokio::spawn(async move {
                        r.deliver(
                            &format!("g-{}", n % 150),
                            "order.created",
                            t,
                            Some("G"),
                            "PAID",
                        )
                        .await
                    })
                })
                .collect();
            let mut new = 0;
            for task in tasks {
                if task.await.unwrap().is_new() {
                    new += 1;
                }
            }
            new
        };
        assert_eq!(deliver_all(r.clone()).await, 150, "{on}");
        assert_eq!(deliver_all(r.clone()).await, 0, "{on}");
        // Each is on disk: a journal opened anew on the same database sees them all.
        let reopened = Sales::new(backend.open().await);
        assert_eq!(reopened.counts(STORE).await.unwrap().waiting, 150, "{on}");
    }
}

#[tokio::test]
async fn retention_purges_old_events_and_movements_but_not_the_counts() {
    let shop = Shop::start().await;
    for backend in backends("sales_retention").await {
        let on = backend.name;
        let r = Receiver::on(&backend, &shop);
        let t = r.now();
        let lines = [(1, TEE, tee(11), 1)];
        shop.put("R1", "PAID", "PROCESSING", t, &lines);
        r.deliver("r1", "order.created", t, Some("R1"), "PAID")
            .await;
        r.process().await;
        // Past the journal's retention (30 days).
        backend.clock.advance(31 * DAY);
        let purged = r.sales.purge().await.unwrap();
        assert_eq!(
            (purged.events, purged.movements),
            (1, 1),
            "{on}: {purged:?}"
        );
        assert!(r.movements().await.is_empty(), "{on}");
        // The order seen again (a late catch-up): counted already, nothing moves.
        let report = r
            .sales
            .catch_up(&r.client)
            .since(UNIX_EPOCH + Duration::from_secs(t as u64 - 60))
            .await
            .unwrap();
        assert_eq!(
            (report.orders, report.movements),
            (1, 0),
            "{on}: {report:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The receiver: what it answers, and what it records

/// A delivery of `body`, signed over `created` and `event_id` with `secret`.
fn signed_with(
    secret: &str,
    created: i64,
    event_id: &str,
    body: Vec<u8>,
) -> http::Request<Vec<u8>> {
    http::Request::post("/webhooks")
        .header(
            SIGNATURE_HEADER,
            sign(&SecretString::from(secret), created, event_id),
        )
        .body(body)
        .unwrap()
}

/// An `order.created` body of `store` about `order`.
fn order_body(event_id: &str, created: i64, store: u64, order: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "eventId": event_id,
        "eventCreated": created,
        "storeId": store,
        "entityId": 103878161,
        "eventType": "order.created",
        "data": {"orderId": order, "newPaymentStatus": "PAID"},
    }))
    .unwrap()
}

#[tokio::test]
async fn the_receiver_refuses_every_rejection_with_its_status_and_records_nothing() {
    use ecwid_inventory::webhooks::{Rejection, DEFAULT_MAX_BODY_SIZE};
    let shop = Shop::start().await;
    for backend in backends("sales_receiver_refusals").await {
        let on = backend.name;
        let r = Receiver::on(&backend, &shop);
        let inbox = SalesReceiver::new(r.verifier.clone(), r.sales.clone());
        let t = r.now();
        shop.put("R", "PAID", "PROCESSING", t, &[(1, TEE, tee(11), 1)]);
        let good = |id: &str| signed_with(CLIENT_SECRET, t, id, order_body(id, t, 1003, "R"));
        let header = |request: &mut http::Request<Vec<u8>>, value: &str| {
            request
                .headers_mut()
                .append(SIGNATURE_HEADER, value.parse().unwrap());
        };

        let mut unsigned = good("unsigned");
        unsigned.headers_mut().remove(SIGNATURE_HEADER);
        let mut repeated = good("repeated");
        let again = sign(&SecretString::from(CLIENT_SECRET), t, "repeated");
        header(&mut repeated, &again);
        let mut malformed = good("malformed");
        malformed.headers_mut().remove(SIGNATURE_HEADER);
        header(&mut malformed, "not base64 at all!");
        let mut tampered = good("tampered");
        *tampered.body_mut() = order_body("another", t, 1003, "R");
        let long_id = "x".repeat(300);
        let cases: Vec<(&str, http::Request<Vec<u8>>, u16)> = vec![
            (
                // Validly signed, and not JSON: refused for its length, never parsed.
                "too large",
                signed_with(
                    CLIENT_SECRET,
                    t,
                    "big",
                    vec![b'{'; DEFAULT_MAX_BODY_SIZE + 1],
                ),
                413,
            ),
            ("unsigned", unsigned, 401),
            ("repeated signature", repeated, 401),
            ("malformed signature", malformed, 401),
            (
                "forged",
                signed_with(
                    "another app's secret",
                    t,
                    "forged",
                    order_body("forged", t, 1003, "R"),
                ),
                401,
            ),
            ("tampered", tampered, 401),
            (
                "not JSON",
                signed_with(CLIENT_SECRET, t, "nj", b"hello".to_vec()),
                400,
            ),
            (
                "no eventId",
                signed_with(CLIENT_SECRET, t, "ne", br#"{"eventCreated":1}"#.to_vec()),
                400,
            ),
            (
                "stale (a replay after the maximum age)",
                signed_with(
                    CLIENT_SECRET,
                    t - 27 * 3600,
                    "old",
                    order_body("old", t - 27 * 3600, 1003, "R"),
                ),
                403,
            ),
            (
                "from the future",
                signed_with(
                    CLIENT_SECRET,
                    t + 3600,
                    "ahead",
                    order_body("ahead", t + 3600, 1003, "R"),
                ),
                403,
            ),
            (
                "another store",
                signed_with(CLIENT_SECRET, t, "other", order_body("other", t, 2002, "R")),
                403,
            ),
            (
                // Signed, but an id the journal cannot hold: no retry would record it.
                "event id too long",
                signed_with(
                    CLIENT_SECRET,
                    t,
                    &long_id,
                    order_body(&long_id, t, 1003, "R"),
                ),
                400,
            ),
        ];
        for (case, request, status) in cases {
            let receipt = inbox.receive(&request).await;
            assert_eq!(receipt.status().as_u16(), status, "{on}, {case}: {receipt}");
            assert!(!receipt.is_acknowledged(), "{on}, {case}");
            if case == "too large" {
                assert!(
                    matches!(receipt, Receipt::Refused(Rejection::TooLarge { .. })),
                    "{on}: {receipt:?}"
                );
            }
        }
        let rows = backend
            .raw_query("SELECT COUNT(*) FROM ecwid_sales_events")
            .await;
        assert_eq!(rows, [["0"]], "{on}: a refused delivery was recorded");
        assert_eq!(r.process().await.movements, 0, "{on}");

        // The genuine delivery is taken, and moves once.
        assert_eq!(inbox.receive(&good("genuine")).await.status(), 200, "{on}");
        r.process().await;
        assert_eq!(
            summary(&r.movements().await),
            expected(&[("1003/R/1/placed-1", -1)]),
            "{on}"
        );
    }
}

#[tokio::test]
async fn the_journal_down_is_answered_503_and_the_next_delivery_records_it() {
    let shop = Shop::start().await;
    for mut backend in backends("sales_receiver_down").await {
        let on = backend.name;
        let r = Receiver::on(&backend, &shop);
        let inbox = SalesReceiver::new(r.verifier.clone(), r.sales.clone())
            .time_budget(Duration::from_secs(3))
            .unwrap();
        let t = r.now();
        shop.put("D", "PAID", "PROCESSING", t, &[(1, TEE, tee(11), 3)]);
        let delivery = signed_with(CLIENT_SECRET, t, "d-1", order_body("d-1", t, 1003, "D"));

        // Down: PostgreSQL stopped; SQLite refusing every write to the events.
        match backend.postgres.as_mut() {
            Some(server) => server.stop(),
            None => {
                backend
                    .raw_execute(
                        "CREATE TRIGGER down BEFORE INSERT ON ecwid_sales_events \
                         BEGIN SELECT RAISE(ABORT, 'the disk is full'); END;",
                    )
                    .await
            }
        }
        let receipt = inbox.receive(&delivery).await;
        assert_eq!(receipt.status(), 503, "{on}: {receipt}");
        assert!(!receipt.is_acknowledged(), "{on}");
        assert!(
            matches!(receipt, Receipt::Failed(_) | Receipt::TimedOut { .. }),
            "{on}: {receipt:?}"
        );

        // Up again: Ecwid's next delivery of the same event is recorded, and it moves.
        match backend.postgres.as_mut() {
            Some(server) => server.start_again(),
            None => backend.raw_execute("DROP TRIGGER down;").await,
        }
        let receipt = inbox.receive(&delivery).await;
        assert_eq!(receipt.status(), 200, "{on}: {receipt}");
        assert!(
            matches!(
                receipt,
                Receipt::Recorded {
                    recorded: Recorded::New,
                    ..
                }
            ),
            "{on}: {receipt:?}"
        );
        r.process().await;
        assert_eq!(
            summary(&r.movements().await),
            expected(&[("1003/D/1/placed-1", -3)]),
            "{on}"
        );
    }
}

#[test]
fn the_receivers_time_budget_stays_within_ecwids_10_seconds() {
    let verifier = Verifier::new(SecretString::from(CLIENT_SECRET), STORE).unwrap();
    let dir = crate::common::postgres::TempDir::new("sales_receiver_budget");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let sales = Sales::new(
        runtime
            .block_on(Journal::open_sqlite(dir.path().join("j.sqlite3")))
            .unwrap(),
    );
    let inbox = SalesReceiver::new(verifier, sales);
    for refused in [Duration::ZERO, Duration::from_secs(10)] {
        assert!(matches!(
            inbox.clone().time_budget(refused),
            Err(Error::InvalidInput(_))
        ));
    }
    assert!(inbox.time_budget(Duration::from_secs(9)).is_ok());
}

// ---------------------------------------------------------------------------------------------
// A receiver process killed between recording and acknowledging

const CHILD: &str = "SALES_RECEIVER_CHILD_JOURNAL";
const CHILD_PORT_FILE: &str = "SALES_RECEIVER_CHILD_PORT_FILE";

/// Not a test of its own: the receiver process that
/// `a_receiver_killed_between_recording_and_acknowledging_moves_each_item_once` starts (this
/// test binary again, with `SALES_RECEIVER_CHILD_JOURNAL` set). Without it, it returns at once.
///
/// It serves `POST /webhooks` with `sales::Receiver` behind axum on 127.0.0.1, and waits up to
/// 300 ms after each record before answering, as a slow network would: the window in which a
/// crash leaves an event recorded and not acknowledged.
#[test]
fn receiver_child_process() {
    let Ok(journal) = std::env::var(CHILD) else {
        return;
    };
    let port_file = std::env::var(CHILD_PORT_FILE).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async move {
        use axum::{extract::State, routing::post, Router};
        let journal = if journal.starts_with("postgres") {
            Journal::connect_postgres(&journal).await.unwrap()
        } else {
            Journal::open_sqlite(&journal).await.unwrap()
        };
        let verifier = Verifier::new(SecretString::from(CLIENT_SECRET), STORE).unwrap();
        let inbox = Arc::new(SalesReceiver::new(verifier, Sales::new(journal)));
        let handler = |State(inbox): State<Arc<SalesReceiver>>, request: axum::extract::Request| async move {
            let (parts, body) = request.into_parts();
            let body = axum::body::to_bytes(body, inbox.max_body_size()).await.unwrap();
            let receipt = inbox.receive(&http::Request::from_parts(parts, body)).await;
            if receipt.is_acknowledged() {
                tokio::time::sleep(Duration::from_millis(fastrand::u64(0..300))).await;
            }
            receipt.status()
        };
        let app = Router::new()
            .route("/webhooks", post(handler))
            .with_state(inbox);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        std::fs::write(format!("{port_file}.tmp"), port.to_string()).unwrap();
        std::fs::rename(format!("{port_file}.tmp"), &port_file).unwrap();
        axum::serve(listener, app).await.unwrap();
    });
}

/// The receiver process; killed (SIGKILL) and waited for when dropped, so that a failing test
/// leaves none behind.
struct ChildReceiver(std::process::Child);

impl ChildReceiver {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for ChildReceiver {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The receiver process, started on `journal`; returns it and its port.
async fn start_receiver(journal: &str, dir: &std::path::Path) -> (ChildReceiver, u16) {
    let port_file = dir.join(format!("port-{}", fastrand::u64(..)));
    // The test's name within its binary: this module's path without the binary's own name.
    let module = module_path!()
        .split_once("::")
        .map_or("", |(_, module)| module);
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            &format!("{module}::receiver_child_process"),
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, journal)
        .env(CHILD_PORT_FILE, &port_file)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let child = ChildReceiver(child);
    for _ in 0..600 {
        if let Ok(port) = std::fs::read_to_string(&port_file) {
            return (child, port.trim().parse().unwrap());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the receiver process did not start in 30 s");
}

/// Delivers `bodies` (event id, created, body) at once to the receiver on `port`; returns the
/// ids answered 200, once `stop_after` of them were, or when all were answered.
async fn deliver_at_once(
    port: u16,
    bodies: &[(String, i64, Vec<u8>)],
    answered: Option<(usize, &mut ChildReceiver)>,
) -> HashSet<String> {
    let http = reqwest::Client::new();
    let (acks, mut acked) = tokio::sync::mpsc::unbounded_channel::<String>();
    let tasks: Vec<_> = bodies
        .iter()
        .cloned()
        .map(|(id, created, body)| {
            let (http, acks) = (http.clone(), acks.clone());
            tokio::spawn(async move {
                let answer = http
                    .post(format!("http://127.0.0.1:{port}/webhooks"))
                    .header(
                        SIGNATURE_HEADER,
                        sign(&SecretString::from(CLIENT_SECRET), created, &id),
                    )
                    .body(body)
                    .send()
                    .await;
                if answer.is_ok_and(|a| a.status() == 200) {
                    let _ = acks.send(id);
                }
            })
        })
        .collect();
    drop(acks);
    let mut ids = HashSet::new();
    match answered {
        Some((stop_after, child)) => {
            while let Some(id) = acked.recv().await {
                ids.insert(id);
                if ids.len() == stop_after {
                    break;
                }
            }
            // SIGKILL: no handler runs, no answer in flight is sent.
            child.kill();
            for task in tasks {
                task.await.unwrap();
            }
            while let Ok(id) = acked.try_recv() {
                ids.insert(id);
            }
        }
        None => {
            for task in tasks {
                task.await.unwrap();
            }
            while let Some(id) = acked.recv().await {
                ids.insert(id);
            }
        }
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_killed_between_recording_and_acknowledging_moves_each_item_once() {
    let shop = Shop::start().await;
    for backend in backends("sales_receiver_killed").await {
        let on = backend.name;
        let (journal, dir) = match &backend.target {
            crate::common::postgres::Target::Sqlite(path) => (
                path.to_str().unwrap().to_owned(),
                path.parent().unwrap().to_owned(),
            ),
            crate::common::postgres::Target::Postgres(url) => (url.clone(), std::env::temp_dir()),
        };
        // The receiver process runs on the system's clock: so do the deliveries and the
        // processing here.
        let t = seconds(SystemTime::now());
        // 20 checkouts of two lines, each sending order.created, order.updated and a
        // product.updated per line: 80 deliveries, in no order.
        let mut bodies = Vec::new();
        for n in 0..20 {
            let order = format!("K{n}");
            shop.put(
                &order,
                "PAID",
                "PROCESSING",
                t,
                &[(1, TEE, tee(11), 1), (2, MUG, None, 2)],
            );
            for kind in ["order.created", "order.updated"] {
                let id = format!("{order}-{kind}");
                let mut body: Value =
                    serde_json::from_slice(&order_body(&id, t, 1003, &order)).unwrap();
                body["eventType"] = kind.into();
                bodies.push((id, t, serde_json::to_vec(&body).unwrap()));
            }
            for product in [TEE, MUG] {
                let id = format!("{order}-product-{}", product.get());
                let body = json!({"eventId": id, "eventCreated": t, "storeId": 1003,
                    "entityId": product.get(), "eventType": "product.updated", "data": {}});
                bodies.push((id, t, serde_json::to_vec(&body).unwrap()));
            }
        }
        fastrand::shuffle(&mut bodies);

        let (mut child, port) = start_receiver(&journal, &dir).await;
        let acked = deliver_at_once(port, &bodies, Some((5, &mut child))).await;
        let recorded: HashSet<String> = backend
            .raw_query("SELECT event_id FROM ecwid_sales_events")
            .await
            .into_iter()
            .map(|row| row[0].clone())
            .collect();
        assert!(
            acked.is_subset(&recorded),
            "{on}: an acknowledged event is lost"
        );
        let unacknowledged = recorded.difference(&acked).count();
        assert!(
            unacknowledged > 0,
            "{on}: the kill came after every answer: {} acknowledged, {} recorded",
            acked.len(),
            recorded.len()
        );

        // Started again; Ecwid delivers everything not acknowledged, and (as a replay) the rest.
        let (mut child, port) = start_receiver(&journal, &dir).await;
        fastrand::shuffle(&mut bodies);
        let acked = deliver_at_once(port, &bodies, None).await;
        child.kill();
        assert_eq!(acked.len(), bodies.len(), "{on}");

        let sales = Sales::new(match &backend.target {
            crate::common::postgres::Target::Sqlite(path) => {
                Journal::open_sqlite(path).await.unwrap()
            }
            crate::common::postgres::Target::Postgres(url) => {
                Journal::connect_postgres(url).await.unwrap()
            }
        });
        let report = sales.process(&shop.client()).send().await.unwrap();
        assert_eq!(report.movements, 40, "{on}: {report:?}");
        let movements = sales.movements(STORE, None, 1000).await.unwrap();
        let ids: HashSet<&str> = movements.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids.len(), 40, "{on}: a movement was recorded twice");
        for n in 0..20 {
            assert!(
                ids.contains(format!("1003/K{n}/1/placed-1").as_str()),
                "{on}"
            );
            assert!(
                ids.contains(format!("1003/K{n}/2/placed-1").as_str()),
                "{on}"
            );
        }
        let counts = sales.counts(STORE).await.unwrap();
        assert_eq!(
            (counts.processed, counts.skipped, counts.waiting),
            (40, 40, 0),
            "{on}: {counts:?}"
        );
    }
}
