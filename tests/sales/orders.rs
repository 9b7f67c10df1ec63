//! Reading Ecwid's own orders (`Client::order`, `Client::orders`): the exact requests, how the
//! answers are read, and the bound on a search's pages, against a mock server on loopback.

use crate::common;

use std::time::{Duration, SystemTime};

use ecwid_inventory::{
    orders::{FulfillmentStatus, Order, PaymentStatus},
    CombinationId, Error, OrderId, ProductId, RetryPolicy, StockItem,
};
use futures::StreamExt;
use serde_json::{json, Value};
use wiremock::{
    matchers::{any, method, path},
    Mock, MockServer, Request, ResponseTemplate,
};

use common::{mock_client, mock_client_builder, query, MOCK_TOKEN as TOKEN};

const ORDER_PATH: &str = "/api/v3/1003/orders/XJ12H";
const SEARCH_PATH: &str = "/api/v3/1003/orders";

/// `responseFields` of an order read.
const ORDER_FIELDS: &str = "id,orderNumber,paymentStatus,fulfillmentStatus,createTimestamp,\
                            updateTimestamp,items(id,productId,combinationId,sku,quantity,name,\
                            trackQuantity,selectedOptions)";

fn search_fields() -> String {
    format!("total,count,offset,limit,items({ORDER_FIELDS})")
}

fn at(seconds: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(seconds)
}

/// The order `id` as Ecwid sends it, with one line and fields the crate does not read.
fn order_json(id: &str) -> Value {
    json!({
        "id": id,
        "internalId": 516483487,
        "orderNumber": 516483487,
        "total": 10,
        "email": "buyer@example.com",
        "paymentStatus": "PAID",
        "fulfillmentStatus": "AWAITING_PROCESSING",
        "createDate": "2024-09-04 07:22:09 +0000",
        "updateDate": "2024-09-04 07:26:24 +0000",
        "createTimestamp": 1725434529,
        "updateTimestamp": 1725434784,
        "items": [{
            "id": 1828115520,
            "productId": 692730761,
            "combinationId": 422488528,
            "sku": "TEE-S",
            "quantity": 2,
            "name": "Tee",
            "trackQuantity": true,
            "price": 10,
            "nameTranslated": {"en": "Tee"},
            "selectedOptions": [{
                "name": "Size",
                "type": "CHOICE",
                "value": "S",
                "valuesArray": ["S"],
                "selections": [{"selectionTitle": "S", "selectionModifier": 0}]
            }]
        }]
    })
}

/// A search page of `ids` from `offset`, of a search counting `total`.
fn page(offset: usize, total: usize, ids: &[String]) -> Value {
    let items: Vec<Value> = ids.iter().map(|id| order_json(id)).collect();
    json!({"total": total, "count": ids.len(), "offset": offset, "limit": 100, "items": items})
}

/// Order ids `from..to`, as `O0001`.
fn ids(from: usize, to: usize) -> Vec<String> {
    (from..to).map(|n| format!("O{n:04}")).collect()
}

fn offset_of(request: &Request) -> usize {
    request
        .url
        .query_pairs()
        .find(|(name, _)| name == "offset")
        .map_or(0, |(_, offset)| offset.parse().unwrap())
}

/// A server whose search of `total` orders answers each page from `pages(offset)`.
async fn search_server(pages: impl Fn(usize) -> Value + Send + Sync + 'static) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(SEARCH_PATH))
        .respond_with(move |request: &Request| {
            ResponseTemplate::new(200).set_body_json(pages(offset_of(request)))
        })
        .mount(&server)
        .await;
    server
}

/// The catalog of a search of `total` orders, each page holding what its offset calls for.
fn honest(total: usize) -> impl Fn(usize) -> Value + Send + Sync + 'static {
    move |offset| {
        page(
            offset,
            total,
            &ids(offset.min(total), (offset + 100).min(total)),
        )
    }
}

fn invalid_response(error: &Error) -> &str {
    let Error::InvalidResponse { detail, .. } = error else {
        panic!("{error:?}")
    };
    detail
}

#[tokio::test]
async fn an_order_is_read_with_the_stock_fields_only() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(ORDER_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(order_json("XJ12H")))
        .expect(1)
        .mount(&server)
        .await;
    let order = mock_client(&server).order("XJ12H").await.unwrap();

    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        query(&requests[0]),
        [("responseFields".to_owned(), ORDER_FIELDS.to_owned())]
    );
    assert_eq!(order.id, OrderId::new("XJ12H"));
    assert_eq!(order.order_number, Some(516483487));
    assert_eq!(order.payment_status, Some(PaymentStatus::Paid));
    assert_eq!(
        order.fulfillment_status,
        Some(FulfillmentStatus::AwaitingProcessing)
    );
    assert_eq!(order.created, Some(at(1725434529)));
    assert_eq!(order.updated, Some(at(1725434784)));
    let [line] = order.lines.as_slice() else {
        panic!("{order:?}")
    };
    assert_eq!(line.id, 1828115520);
    assert_eq!(line.quantity, 2);
    assert_eq!(line.sku.as_deref(), Some("TEE-S"));
    assert_eq!(line.name.as_deref(), Some("Tee"));
    assert_eq!(line.track_quantity, Some(true));
    assert_eq!(
        line.stock_item(),
        Some(StockItem::Variation {
            product: ProductId::new(692730761),
            combination: CombinationId::new(422488528),
        })
    );
    let [option] = line.selected_options.as_slice() else {
        panic!("{line:?}")
    };
    assert_eq!(
        (option.name.as_deref(), option.kind.as_deref()),
        (Some("Size"), Some("CHOICE"))
    );
    assert_eq!(
        (option.value.as_deref(), option.values.as_slice()),
        (Some("S"), ["S".to_owned()].as_slice())
    );
}

#[tokio::test]
async fn unknown_statuses_and_fields_read_fine() {
    let server = MockServer::start().await;
    let answer = json!({
        "id": "MYSTORE-X8UYE",
        "orderNumber": "551c5edd-5fae-40c1-99a9-25095df20e4f",
        "paymentStatus": "CUSTOM_PAYMENT_STATUS_2",
        "fulfillmentStatus": "TELEPORTED",
        "loyalty": {"earned": 0},
        "somethingNew": [1, "two", {"three": null}],
        "items": [
            {"id": 1, "productId": 7, "quantity": 1, "newField": true,
             "selectedOptions": [{"name": "Color", "type": "SWATCHES", "hexCodes": ["#fff000"]}]},
            {"id": 2, "productId": 0, "sku": "", "quantity": 3}
        ]
    });
    Mock::given(method("GET"))
        .and(path("/api/v3/1003/orders/MYSTORE-X8UYE"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .mount(&server)
        .await;
    let order = mock_client(&server).order("MYSTORE-X8UYE").await.unwrap();
    assert_eq!(
        order.payment_status,
        Some(PaymentStatus::Other("CUSTOM_PAYMENT_STATUS_2".into()))
    );
    assert_eq!(
        order.fulfillment_status,
        Some(FulfillmentStatus::Other("TELEPORTED".into()))
    );
    // A cart id, as Ecwid's docs announced for unfinished orders: no number, no failure.
    assert_eq!(order.order_number, None);
    assert_eq!((order.created, order.updated), (None, None));
    // No variation id: the line draws on the product, as far as it says.
    assert_eq!(
        order.lines[0].stock_item(),
        Some(StockItem::Product {
            product: ProductId::new(7)
        })
    );
    assert_eq!(
        order.lines[0].selected_options[0].kind.as_deref(),
        Some("SWATCHES")
    );
    // A line naming no product of the catalog (product 0, no SKU).
    assert_eq!(
        (order.lines[1].product, order.lines[1].stock_item()),
        (None, None)
    );
    assert_eq!(order.lines[1].sku, None);
    // A status round-trips as Ecwid spells it.
    assert_eq!(
        serde_json::to_value(&order.payment_status).unwrap(),
        json!("CUSTOM_PAYMENT_STATUS_2")
    );
}

#[tokio::test]
async fn an_order_that_cannot_be_identified_is_refused_saying_why() {
    let cases = [
        (
            json!({"paymentStatus": "PAID", "items": []}),
            "without its id",
        ),
        (
            json!({"id": "XJ12H", "items": [{"quantity": 1}]}),
            "without its id",
        ),
        (
            json!({"id": "XJ12H", "items": [{"id": 5, "productId": 7}]}),
            "line 5 without its quantity",
        ),
        (
            json!({"id": "XJ12H", "items": [{"id": 5, "quantity": -1}]}),
            "line 5 has a quantity of -1",
        ),
    ];
    for (answer, says) in cases {
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(200).set_body_json(answer))
            .mount(&server)
            .await;
        let error = mock_client(&server).order("XJ12H").await.unwrap_err();
        assert!(invalid_response(&error).contains(says), "{error}");
        assert!(!error.may_have_been_applied(), "{error:?}");
    }
}

#[tokio::test]
async fn a_missing_order_is_ecwids_refusal_and_applied_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(ORDER_PATH))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "errorMessage": "Order #XJ12H not found",
            "errorCode": "ORDER_NOT_FOUND",
        })))
        .expect(1)
        .mount(&server)
        .await;
    let error = mock_client(&server)
        .order(OrderId::new("XJ12H"))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Api { status: 404, .. }), "{error:?}");
    assert_eq!(error.error_code(), Some("ORDER_NOT_FOUND"));
    assert!(!error.may_have_been_applied());
    assert!(!error.to_string().contains("may have"), "{error}");
}

#[tokio::test]
async fn every_error_of_an_order_read_says_nothing_was_applied() {
    let answers = [
        ResponseTemplate::new(500).set_body_json(json!({"errorCode": "INTERNAL_ERROR"})),
        ResponseTemplate::new(200).set_body_string("not json"),
        ResponseTemplate::new(200).set_body_json(json!({"id": 12})),
    ];
    for answer in answers {
        let server = MockServer::start().await;
        Mock::given(any()).respond_with(answer).mount(&server).await;
        let error = mock_client(&server).order("XJ12H").await.unwrap_err();
        assert!(!error.may_have_been_applied(), "get: {error:?}");
        let error = mock_client(&server).orders().await.unwrap_err();
        assert!(!error.may_have_been_applied(), "search: {error:?}");
    }
}

#[tokio::test]
async fn the_token_in_an_order_never_reaches_the_caller() {
    let server = MockServer::start().await;
    let mut answer = order_json("XJ12H");
    answer["items"][0]["sku"] = json!(format!("sku-{TOKEN}"));
    answer["items"][0]["selectedOptions"][0]["value"] = json!(TOKEN);
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .mount(&server)
        .await;
    let order = mock_client(&server).order("XJ12H").await.unwrap();
    let seen = format!("{order:?}");
    assert!(!seen.contains(TOKEN), "{seen}");
    assert!(seen.contains("[redacted]"), "{seen}");
}

#[tokio::test]
async fn a_search_reads_every_page_with_the_filters_it_was_given() {
    let server = search_server(honest(250)).await;
    let orders = mock_client(&server)
        .orders()
        .updated_from(at(1_700_000_000))
        .updated_to(at(1_700_086_400))
        .created_from(at(1_690_000_000))
        .created_to(at(1_700_000_500))
        .payment_status([PaymentStatus::Paid, PaymentStatus::AwaitingPayment])
        .fulfillment_status([
            FulfillmentStatus::AwaitingProcessing,
            FulfillmentStatus::Other("CUSTOM_FULFILLMENT_STATUS_1".into()),
        ])
        .await
        .unwrap();

    let read: Vec<String> = orders.iter().map(|o| o.id.to_string()).collect();
    assert_eq!(read, ids(0, 250));
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3);
    for (request, offset) in requests.iter().zip([0, 100, 200]) {
        let mut expected: Vec<(String, String)> = [
            ("createdFrom", "1690000000"),
            ("createdTo", "1700000500"),
            (
                "fulfillmentStatus",
                "AWAITING_PROCESSING,CUSTOM_FULFILLMENT_STATUS_1",
            ),
            ("limit", "100"),
            ("offset", &offset.to_string()),
            ("paymentStatus", "PAID,AWAITING_PAYMENT"),
            ("responseFields", &search_fields()),
            ("updatedFrom", "1700000000"),
            ("updatedTo", "1700086400"),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
        expected.sort();
        assert_eq!(query(request), expected);
    }
}

#[tokio::test]
async fn ids_are_searched_as_one_comma_list() {
    let server =
        search_server(|offset| page(offset, 2, &["XJ12H".into(), "SALE-G01ZG".into()])).await;
    let orders = mock_client(&server)
        .orders()
        .ids(["XJ12H", "SALE-G01ZG"])
        .await
        .unwrap();
    assert_eq!(orders.len(), 2);
    let requests = server.received_requests().await.unwrap();
    let sent = query(&requests[0]);
    assert!(
        sent.contains(&("ids".to_owned(), "XJ12H,SALE-G01ZG".to_owned())),
        "{sent:?}"
    );
}

#[tokio::test]
async fn a_stream_reads_a_page_only_when_the_last_one_is_taken() {
    let server = search_server(honest(250)).await;
    let client = mock_client(&server);
    let mut stream = client.orders().stream();
    assert_eq!(stream.total(), None);
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first.id, OrderId::new("O0000"));
    assert_eq!(stream.total(), Some(250));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    let mut read = vec![first];
    for _ in 1..100 {
        read.push(stream.next().await.unwrap().unwrap());
    }
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "the first page's 100 orders came from one request"
    );
    while let Some(order) = stream.next().await {
        read.push(order.unwrap());
    }
    assert_eq!(read.len(), 250);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    assert!(stream.next().await.is_none(), "it stays ended");
}

#[tokio::test]
async fn an_order_pushed_onto_the_next_page_comes_once() {
    // An order placed between the two pages moves O0099 onto the second page.
    let server = search_server(|offset| match offset {
        0 => page(0, 150, &ids(0, 100)),
        _ => page(100, 151, &ids(99, 150)),
    })
    .await;
    let orders: Vec<Order> = mock_client(&server).orders().await.unwrap();
    let read: Vec<String> = orders.iter().map(|o| o.id.to_string()).collect();
    assert_eq!(read, ids(0, 150));
}

#[tokio::test]
async fn an_empty_page_ends_the_search_with_what_was_read() {
    let server = search_server(|offset| match offset {
        0 => page(0, 250, &ids(0, 100)),
        _ => page(offset, 250, &[]),
    })
    .await;
    let orders = mock_client(&server).orders().await.unwrap();
    assert_eq!(orders.len(), 100);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_server_ignoring_the_offset_is_refused_naming_it() {
    let server = search_server(|_| page(0, 250, &ids(0, 100))).await;
    let error = mock_client(&server).orders().await.unwrap_err();
    let why = invalid_response(&error);
    assert!(
        why.contains("offset 100") && why.contains("offset 0"),
        "{why}"
    );
    assert!(!error.may_have_been_applied());
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_server_repeating_a_page_is_refused_naming_it() {
    let server = search_server(|offset| page(offset, 250, &ids(0, 100))).await;
    let client = mock_client(&server);
    let mut stream = client.orders().stream();
    let mut read = 0;
    let error = loop {
        match stream.next().await.expect("an error before the end") {
            Ok(_) => read += 1,
            Err(error) => break error,
        }
    };
    assert_eq!(read, 100, "the first page is read, once");
    let why = invalid_response(&error);
    assert!(
        why.contains("offset 100") && why.contains("only orders read already"),
        "{why}"
    );
    assert!(!error.may_have_been_applied());
    assert!(stream.next().await.is_none(), "it ends after the error");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_total_that_keeps_growing_is_refused_at_the_bound() {
    // New orders on every page and a total that grows by a page each time: without a bound,
    // the search would never end.
    let server =
        search_server(|offset| page(offset, 150 + offset, &ids(offset, offset + 100))).await;
    let error = mock_client(&server).orders().await.unwrap_err();
    let why = invalid_response(&error);
    assert!(
        why.contains("4 pages") && why.contains("more than the 3") && why.contains("150"),
        "{why}"
    );
    assert!(!error.may_have_been_applied());
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        4,
        "two pages for a total of 150, one spare, and the one past the bound"
    );
}

#[tokio::test]
async fn bad_ids_and_filters_send_nothing() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(order_json("XJ12H")))
        .mount(&server)
        .await;
    let client = mock_client(&server);
    for bad in ["", " XJ12H", "XJ 12H", "XJ12H\t", "..", "."] {
        let error = client.order(bad).await.unwrap_err();
        assert!(
            matches!(error, Error::InvalidInput(_)),
            "{bad:?}: {error:?}"
        );
        assert!(!error.may_have_been_applied());
    }
    let refused = [
        ("empty ids", client.orders().ids(Vec::<OrderId>::new())),
        ("an empty id", client.orders().ids(["XJ12H", ""])),
        ("an id with a comma", client.orders().ids(["XJ12H,SALE"])),
        (
            "no payment status",
            client.orders().payment_status(Vec::new()),
        ),
        (
            "a lowercase status",
            client
                .orders()
                .payment_status([PaymentStatus::Other("paid".into())]),
        ),
        (
            "an empty status",
            client
                .orders()
                .fulfillment_status([FulfillmentStatus::Other(String::new())]),
        ),
        ("a zero deadline", client.orders().deadline(Duration::ZERO)),
    ];
    for (what, search) in refused {
        let mut stream = search.stream();
        let error = stream.next().await.unwrap().unwrap_err();
        assert!(matches!(error, Error::InvalidInput(_)), "{what}: {error:?}");
        assert!(stream.next().await.is_none(), "{what}: the stream ends");
    }
    let error = client.orders().ids([""]).await.unwrap_err();
    assert!(matches!(error, Error::InvalidInput(_)), "{error:?}");
    let error = client
        .order("XJ12H")
        .timeout(Duration::ZERO)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidInput(_)), "{error:?}");
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "nothing was sent"
    );
}

#[tokio::test]
async fn a_failed_read_is_sent_again() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(order_json("XJ12H")))
        .mount(&server)
        .await;
    let client = mock_client_builder(&server, TOKEN)
        .retry_policy(
            RetryPolicy::default()
                .connect_backoff(Duration::from_millis(1), Duration::from_millis(5)),
        )
        .build()
        .unwrap();
    let order = client
        .order("XJ12H")
        .deadline(Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(order.id, OrderId::new("XJ12H"));
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}
