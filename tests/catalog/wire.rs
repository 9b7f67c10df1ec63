//! The exact requests of the catalog operations (reading stock, finding SKUs, setting stock,
//! exactly-once adjustments) and how their answers are read, against a mock server on loopback.

use crate::common;

use std::time::Duration;

use ecwid_inventory::{
    stock::{SkuMatch, MAX_QUANTITY},
    Client, CombinationId, Error, ProductId, RetryPolicy, Stock, StockItem, StockLevel,
};
use serde_json::{json, Value};
use wiremock::{
    matchers::{any, method, path, query_param},
    Mock, MockServer, Request, ResponseTemplate,
};

use common::{
    answer, mock_client, mock_client_builder, product, query, variation, MOCK_TOKEN as TOKEN,
};

const P: ProductId = ProductId::new(692730761);
const C: CombinationId = CombinationId::new(422488528);
const PRODUCT: StockItem = StockItem::Product { product: P };
const VARIATION: StockItem = StockItem::Variation {
    product: P,
    combination: C,
};

const PRODUCT_PATH: &str = "/api/v3/1003/products/692730761";
const VARIATION_PATH: &str = "/api/v3/1003/products/692730761/combinations/422488528";
const SEARCH_PATH: &str = "/api/v3/1003/products";
const BATCH_PATH: &str = "/api/v3/1003/batch";

/// `responseFields` of a product or variation read.
const ITEM_FIELDS: &str = "id,sku,quantity,unlimited,inStock,instock";
/// `responseFields` of a SKU search.
const SEARCH_FIELDS: &str = "total,count,offset,limit,items(id,sku,quantity,unlimited,inStock,\
                             instock,combinations(id,sku,quantity,unlimited,inStock,instock))";

/// A client with the default retries, backing off briefly.
fn retrying_client(server: &MockServer) -> Client {
    mock_client_builder(server, TOKEN)
        .retry_policy(
            RetryPolicy::default()
                .connect_backoff(Duration::from_millis(1), Duration::from_millis(5)),
        )
        .build()
        .unwrap()
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

fn ecwid_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "errorMessage": message,
        "errorCode": code,
    }))
}

async fn received(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = expected
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    pairs.sort();
    pairs
}

fn query_value(request: &Request, name: &str) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

fn body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).expect("a JSON body")
}

fn assert_authorized(request: &Request) {
    assert_eq!(
        request.headers.get("authorization").unwrap(),
        &format!("Bearer {TOKEN}"),
        "{} {}",
        request.method,
        request.url
    );
}

/// A read: GET, the token, no body.
fn assert_read(request: &Request, expected_path: &str, expected_query: &[(&str, &str)]) {
    assert_eq!(request.method.as_str(), "GET");
    assert_eq!(request.url.path(), expected_path);
    assert_eq!(query(request), pairs(expected_query), "{}", request.url);
    assert_authorized(request);
    assert!(request.body.is_empty(), "a read has no body");
}

/// A search page of `items`, all on one page.
fn page(items: Value) -> Value {
    let n = items.as_array().unwrap().len();
    json!({"total": n, "count": n, "offset": 0, "limit": 100, "items": items})
}

/// Every field of an item's stock, to compare at once.
fn fields(stock: &StockLevel) -> (StockItem, &str, Stock, bool, bool) {
    (
        stock.item,
        stock.sku.as_str(),
        stock.stock,
        stock.in_stock,
        stock.shares_product_stock,
    )
}

// ---------------------------------------------------------------------------------------------
// Reading one item's stock

#[tokio::test]
async fn stock_of_a_product_is_one_get_with_its_response_fields() {
    let server = MockServer::start().await;
    answer(
        &server,
        ok(json!({
            "id": 692730761, "sku": "MUG", "quantity": 7, "inStock": true,
            // Fields Ecwid sends that the SDK does not ask for are ignored.
            "name": "Mug", "price": 9.5, "media": {"images": []}, "options": [1, "two"],
        })),
    )
    .await;

    let stock = mock_client(&server).stock(PRODUCT).await.unwrap();
    assert_eq!(
        fields(&stock),
        (PRODUCT, "MUG", Stock::Quantity(7), true, false)
    );
    let requests = received(&server).await;
    assert_eq!(requests.len(), 1);
    assert_read(
        &requests[0],
        PRODUCT_PATH,
        &[("responseFields", ITEM_FIELDS)],
    );
}

#[tokio::test]
async fn stock_of_a_variation_with_its_own_sku_is_one_get() {
    let server = MockServer::start().await;
    answer(
        &server,
        ok(json!({
            "id": 422488528, "sku": "TEE-S", "quantity": -2, "instock": false,
            "options": [{"name": "Size", "value": "S"}], "warningLimit": 1,
        })),
    )
    .await;

    let stock = mock_client(&server).stock(VARIATION).await.unwrap();
    assert_eq!(
        fields(&stock),
        (VARIATION, "TEE-S", Stock::Quantity(-2), false, false)
    );
    let requests = received(&server).await;
    assert_eq!(
        requests.len(),
        1,
        "no product read for a variation with a SKU"
    );
    assert_read(
        &requests[0],
        VARIATION_PATH,
        &[("responseFields", ITEM_FIELDS)],
    );
}

/// A variation with an empty SKU, or none, has its product's stock: the product is read too,
/// and its numbers (not the variation's) are the answer.
#[tokio::test]
async fn a_variation_without_a_sku_reads_its_products_stock() {
    for variation_body in [
        json!({"id": 422488528, "sku": "", "quantity": 999, "inStock": false}),
        json!({"id": 422488528, "quantity": 999, "inStock": false}),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(VARIATION_PATH))
            .respond_with(ok(variation_body.clone()))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(PRODUCT_PATH))
            .respond_with(ok(
                json!({"id": 692730761, "sku": "TEE", "quantity": 20, "inStock": true}),
            ))
            .mount(&server)
            .await;

        let stock = mock_client(&server).stock(VARIATION).await.unwrap();
        assert_eq!(
            fields(&stock),
            (VARIATION, "TEE", Stock::Quantity(20), true, true),
            "{variation_body}"
        );
        let requests = received(&server).await;
        assert_eq!(requests.len(), 2, "{variation_body}");
        assert_read(
            &requests[0],
            VARIATION_PATH,
            &[("responseFields", ITEM_FIELDS)],
        );
        assert_read(
            &requests[1],
            PRODUCT_PATH,
            &[("responseFields", ITEM_FIELDS)],
        );
    }
}

/// `inStock` and `instock` (the spelling of Ecwid's field table) are both read; without
/// either, a positive count or unlimited stock is in stock.
#[tokio::test]
async fn counts_unlimited_and_both_spellings_of_in_stock_are_read() {
    let cases = [
        (
            json!({"quantity": 5, "inStock": false}),
            Stock::Quantity(5),
            false,
        ),
        (
            json!({"quantity": 5, "instock": false}),
            Stock::Quantity(5),
            false,
        ),
        (
            json!({"quantity": 0, "instock": true}),
            Stock::Quantity(0),
            true,
        ),
        (
            json!({"quantity": 0, "inStock": true}),
            Stock::Quantity(0),
            true,
        ),
        (json!({"quantity": 3}), Stock::Quantity(3), true),
        (json!({"quantity": 0}), Stock::Quantity(0), false),
        (json!({"quantity": -4}), Stock::Quantity(-4), false),
        (json!({"unlimited": true}), Stock::Unlimited, true),
        (
            json!({"unlimited": true, "quantity": 4}),
            Stock::Unlimited,
            true,
        ),
        (
            json!({"unlimited": false, "quantity": 4}),
            Stock::Quantity(4),
            true,
        ),
    ];
    for (fields, stock, in_stock) in cases {
        let mut answer_body = json!({"id": 692730761, "sku": "MUG"});
        answer_body
            .as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        let server = MockServer::start().await;
        answer(&server, ok(answer_body)).await;
        let read = mock_client(&server).stock(PRODUCT).await.unwrap();
        assert_eq!((read.stock, read.in_stock), (stock, in_stock), "{fields}");
    }
}

#[tokio::test]
async fn an_item_with_neither_quantity_nor_unlimited_is_an_invalid_response() {
    for (item, body) in [
        (
            PRODUCT,
            json!({"id": 692730761, "sku": "MUG", "inStock": true}),
        ),
        (
            PRODUCT,
            json!({"id": 692730761, "sku": "MUG", "unlimited": false}),
        ),
        (
            VARIATION,
            json!({"id": 422488528, "sku": "TEE-S", "instock": true}),
        ),
    ] {
        let server = MockServer::start().await;
        answer(&server, ok(body.clone())).await;
        let error = mock_client(&server).stock(item).await.unwrap_err();
        assert!(
            matches!(
                error,
                Error::InvalidResponse {
                    status: Some(200),
                    ..
                }
            ),
            "{body}: {error:?}"
        );
        assert_eq!(received(&server).await.len(), 1, "{body}");
    }
    // The same in a search: the matched item is unreadable, so the lookup fails.
    let server = MockServer::start().await;
    answer(
        &server,
        ok(page(json!([{"id": 5, "sku": "MUG", "inStock": true}]))),
    )
    .await;
    let error = mock_client(&server).find_sku("MUG").await.unwrap_err();
    assert!(matches!(error, Error::InvalidResponse { .. }), "{error:?}");
}

// ---------------------------------------------------------------------------------------------
// Finding one SKU

/// A page Ecwid might send for a search: it matches loosely, the SDK exactly.
fn shirt_page() -> Value {
    page(json!([
        {"id": 1, "sku": "TEE", "quantity": 20, "inStock": true, "name": "Tee", "combinations": [
            {"id": 11, "sku": "TEE-S", "quantity": 4, "instock": true, "options": []},
            {"id": 12, "sku": "", "quantity": 20},
        ]},
        {"id": 2, "sku": "tee-s", "unlimited": true, "price": 3},
    ]))
}

#[tokio::test]
async fn find_sku_sends_one_search_and_matches_skus_exactly() {
    let server = MockServer::start().await;
    answer(&server, ok(shirt_page())).await;
    let client = mock_client(&server);

    // A variation's SKU; the product "tee-s" differs only in case and is not matched.
    let found = client.find_sku("TEE-S").await.unwrap();
    assert_eq!(
        found.found().map(fields),
        Some((
            variation(ProductId::new(1), CombinationId::new(11)),
            "TEE-S",
            Stock::Quantity(4),
            true,
            false
        ))
    );
    // A product's SKU; its variation without a SKU is not matched by it.
    let found = client.find_sku("TEE").await.unwrap();
    assert_eq!(
        found.found().map(fields),
        Some((
            product(ProductId::new(1)),
            "TEE",
            Stock::Quantity(20),
            true,
            false
        ))
    );
    // Ecwid answering with items of other SKUs only: nothing matches.
    assert_eq!(client.find_sku("tee").await.unwrap(), SkuMatch::NotFound);
    assert_eq!(client.find_sku("Tee-S").await.unwrap(), SkuMatch::NotFound);

    let requests = received(&server).await;
    assert_eq!(requests.len(), 4, "one search per SKU");
    for (request, sku) in requests.iter().zip(["TEE-S", "TEE", "tee", "Tee-S"]) {
        assert_read(
            request,
            SEARCH_PATH,
            &[
                ("sku", sku),
                ("offset", "0"),
                ("responseFields", SEARCH_FIELDS),
            ],
        );
    }
}

#[tokio::test]
async fn a_sku_with_reserved_characters_is_sent_encoded() {
    let server = MockServer::start().await;
    answer(&server, ok(page(json!([])))).await;
    let sku = "A&B C/é+%=?#";
    assert_eq!(
        mock_client(&server).find_sku(sku).await.unwrap(),
        SkuMatch::NotFound
    );
    let request = &received(&server).await[0];
    assert_eq!(query_value(request, "sku").as_deref(), Some(sku));
    assert_eq!(request.url.path(), SEARCH_PATH);
}

#[tokio::test]
async fn several_items_with_a_sku_are_all_reported_and_none_is_not_found() {
    let server = MockServer::start().await;
    Mock::given(query_param("sku", "DUP"))
        .respond_with(ok(page(json!([
            {"id": 3, "sku": "DUP", "unlimited": true},
            {"id": 4, "sku": "OTHER", "quantity": 1, "combinations": [
                {"id": 41, "sku": "DUP", "quantity": 0},
            ]},
        ]))))
        .mount(&server)
        .await;
    Mock::given(query_param("sku", "NONE"))
        .respond_with(ok(page(json!([]))))
        .mount(&server)
        .await;
    let client = mock_client(&server);

    let SkuMatch::Several(items) = client.find_sku("DUP").await.unwrap() else {
        panic!("two items have the SKU")
    };
    let found: Vec<_> = items
        .iter()
        .map(|i| (i.item, i.stock, i.in_stock))
        .collect();
    assert_eq!(
        found,
        [
            (product(ProductId::new(3)), Stock::Unlimited, true),
            (
                variation(ProductId::new(4), CombinationId::new(41)),
                Stock::Quantity(0),
                false
            ),
        ]
    );
    assert_eq!(client.find_sku("NONE").await.unwrap(), SkuMatch::NotFound);
    assert_eq!(received(&server).await.len(), 2);
}

#[tokio::test]
async fn find_sku_reads_every_page() {
    let server = MockServer::start().await;
    Mock::given(query_param("offset", "0"))
        .respond_with(ok(json!({
            "total": 3, "count": 2, "offset": 0, "limit": 2,
            "items": [
                {"id": 1, "sku": "OTHER", "quantity": 1, "combinations": [
                    {"id": 11, "sku": "PAGED", "quantity": 5},
                ]},
                {"id": 2, "sku": "NOPE", "quantity": 1},
            ],
        })))
        .mount(&server)
        .await;
    Mock::given(query_param("offset", "2"))
        .respond_with(ok(json!({
            "total": 3, "count": 1, "offset": 2, "limit": 2,
            "items": [{"id": 3, "sku": "PAGED", "quantity": 6, "somethingNew": true}],
        })))
        .mount(&server)
        .await;

    let SkuMatch::Several(items) = mock_client(&server).find_sku("PAGED").await.unwrap() else {
        panic!("a match on each page")
    };
    let found: Vec<_> = items.iter().map(|i| (i.item, i.stock)).collect();
    assert_eq!(
        found,
        [
            (
                variation(ProductId::new(1), CombinationId::new(11)),
                Stock::Quantity(5)
            ),
            (product(ProductId::new(3)), Stock::Quantity(6)),
        ]
    );
    let requests = received(&server).await;
    assert_eq!(requests.len(), 2, "two pages, then stop");
    for (request, offset) in requests.iter().zip(["0", "2"]) {
        assert_read(
            request,
            SEARCH_PATH,
            &[
                ("sku", "PAGED"),
                ("offset", offset),
                ("responseFields", SEARCH_FIELDS),
            ],
        );
    }
}

/// A search server that misbehaves: it answers every search page from `page(offset)`, where
/// `offset` is the one asked for.
struct Paging(fn(u64) -> Value);

impl wiremock::Respond for Paging {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let offset = query_value(request, "offset").map_or(0, |o| o.parse().unwrap());
        ok((self.0)(offset))
    }
}

/// `count` products with the SKU "LOOP", from id `first`.
fn loop_items(first: u64, count: u64) -> Value {
    (first..first + count)
        .map(|id| json!({"id": id, "sku": "LOOP", "quantity": 1}))
        .collect()
}

/// A server that repeats a page, ignores the offset, or keeps inflating its total: the search
/// ends with an error saying why, after a few requests, instead of spending the rate limit
/// forever.
#[tokio::test]
async fn a_search_that_would_page_forever_ends_saying_why() {
    type Server = (&'static str, fn(u64) -> Value, &'static str, usize);
    let servers: [Server; 3] = [
        (
            "the same products at every offset",
            |offset| {
                json!({"total": 250, "count": 100, "offset": offset, "limit": 100,
                            "items": loop_items(1, 100)})
            },
            "read already",
            2,
        ),
        (
            "the offset ignored",
            |_| {
                json!({"total": 250, "count": 100, "offset": 0, "limit": 100,
                       "items": loop_items(1, 100)})
            },
            "offset seems ignored",
            2,
        ),
        (
            "a total that keeps growing",
            |offset| {
                json!({"total": offset + 150, "count": 100, "offset": offset,
                            "limit": 100, "items": loop_items(offset + 1, 100)})
            },
            "more than the 3",
            4,
        ),
    ];
    for (what, page, says, requests) in servers {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(Paging(page))
            .mount(&server)
            .await;
        let error = mock_client(&server).find_sku("LOOP").await.unwrap_err();
        assert!(
            matches!(error, Error::InvalidResponse { .. }),
            "{what}: {error:?}"
        );
        assert!(error.to_string().contains(says), "{what}: {error}");
        assert_eq!(received(&server).await.len(), requests, "{what}");
    }
}

/// An empty page while the total says more ends the search with what it read (it was an
/// error before: a catalog shrinks between pages, and a public token sees fewer products than
/// the total counts).
#[tokio::test]
async fn a_search_whose_page_comes_back_empty_ends_with_what_it_read() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(Paging(|offset| {
            json!({"total": 250, "count": if offset == 0 { 100 } else { 0 },
                   "offset": offset, "limit": 100,
                   "items": if offset == 0 { loop_items(1, 100) } else { json!([]) }})
        }))
        .mount(&server)
        .await;
    let found = mock_client(&server).find_sku("LOOP").await.unwrap();
    let SkuMatch::Several(items) = found else {
        panic!("{found:?}")
    };
    assert_eq!(items.len(), 100, "the first page's matches");
    assert_eq!(received(&server).await.len(), 2);
}

/// Ecwid's documented search answer for a public token: a `total` of 5 and two items (the
/// products a public token does not see are counted all the same), and an empty page after
/// them. The lookup ends at the empty page with what it read.
#[tokio::test]
async fn a_public_tokens_search_whose_total_counts_more_than_it_shows_is_read_to_its_empty_page() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(SEARCH_PATH))
        .respond_with(Paging(|offset| match offset {
            0 => json!({
                "total": 5, "count": 2, "offset": 0, "limit": 100,
                "items": [
                    {"id": 692730761, "sku": "123123", "unlimited": true, "inStock": true,
                     "enabled": true},
                    {"id": 692730762, "sku": "123124", "quantity": 3, "inStock": true,
                     "enabled": true},
                ],
            }),
            _ => json!({"total": 5, "count": 0, "offset": offset, "limit": 100, "items": []}),
        }))
        .mount(&server)
        .await;
    let found = mock_client(&server).find_sku("123123").await.unwrap();
    let item = found.found().expect("one item has the SKU");
    assert_eq!(
        item.item,
        StockItem::Product {
            product: ProductId::new(692730761)
        }
    );
    assert_eq!(item.stock, Stock::Unlimited);
    let offsets: Vec<_> = received(&server)
        .await
        .iter()
        .map(|r| query_value(r, "offset"))
        .collect();
    assert_eq!(
        offsets,
        [Some("0".to_owned()), Some("2".to_owned())],
        "the page after the two items, and no more"
    );
}

// ---------------------------------------------------------------------------------------------
// Finding many SKUs

#[tokio::test]
async fn two_skus_are_searched_directly() {
    let server = MockServer::start().await;
    answer(&server, ok(shirt_page())).await;
    let report = mock_client(&server)
        .find_skus(["TEE-S", "NOPE", "TEE-S"])
        .await
        .unwrap();
    let asked: Vec<_> = report.results.iter().map(|(sku, _)| sku.as_str()).collect();
    assert_eq!(asked, ["TEE-S", "NOPE"], "each SKU once, in order");
    assert_eq!(report.not_found().collect::<Vec<_>>(), ["NOPE"]);
    assert_eq!(
        report
            .get("TEE-S")
            .and_then(SkuMatch::found)
            .map(|i| i.item),
        Some(variation(ProductId::new(1), CombinationId::new(11)))
    );
    let requests = received(&server).await;
    let skus: Vec<_> = requests
        .iter()
        .map(|r| {
            assert_eq!(r.url.path(), SEARCH_PATH, "no batch for two SKUs");
            query_value(r, "sku").unwrap()
        })
        .collect();
    assert_eq!(skus, ["TEE-S", "NOPE"]);
}

/// Mounts a batch create answered with `ticket`, a first status read answered in progress, and
/// the next ones completed with `responses`.
async fn mount_batch(server: &MockServer, ticket: &str, responses: Value) {
    Mock::given(method("POST"))
        .and(path(BATCH_PATH))
        .respond_with(ok(json!({"ticket": ticket})))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(BATCH_PATH))
        .and(query_param("ticket", ticket))
        .respond_with(ok(json!({
            "status": "IN_PROGRESS", "totalRequests": 1, "completedRequests": 0,
        })))
        .up_to_n_times(1)
        .mount(server)
        .await;
    let n = responses.as_array().unwrap().len();
    Mock::given(method("GET"))
        .and(path(BATCH_PATH))
        .and(query_param("ticket", ticket))
        .respond_with(ok(json!({
            "status": "COMPLETED", "totalRequests": n, "completedRequests": n,
            "responses": responses,
        })))
        .mount(server)
        .await;
}

fn completed(id: &str, body: Value) -> Value {
    json!({
        "id": id, "status": "COMPLETED", "httpStatusCode": 200,
        "httpStatusLine": "HTTP/1.1 200 OK", "httpBody": body,
    })
}

fn failed(id: &str, status: u16, code: &str) -> Value {
    json!({
        "id": id, "status": "FAILED", "httpStatusCode": status,
        "httpStatusLine": format!("HTTP/1.1 {status}"),
        "httpBody": {"errorMessage": "Refused", "errorCode": code},
    })
}

/// The create's query: a fresh UUID as the deduplication key, no stop on a failure, and
/// parallel mode when the batch only reads (`reads_only`), never when it writes.
fn assert_create_query(create: &Request, reads_only: bool) -> String {
    assert_eq!(create.method.as_str(), "POST");
    assert_eq!(create.url.path(), BATCH_PATH);
    assert_authorized(create);
    let key = query_value(create, "deduplicationKey").expect("a deduplicationKey");
    assert!(uuid::Uuid::parse_str(&key).is_ok(), "not a UUID: {key}");
    let mut expected = vec![
        ("deduplicationKey", key.as_str()),
        ("stopOnFirstFailure", "false"),
    ];
    if reads_only {
        expected.push(("allowParallelMode", "true"));
    }
    assert_eq!(query(create), pairs(&expected));
    key
}

#[tokio::test]
async fn three_skus_cost_one_batch_create_and_its_status_reads() {
    let server = MockServer::start().await;
    mount_batch(
        &server,
        "T-1",
        json!([
            completed("0", page(json!([{"id": 1, "sku": "A", "quantity": 2}]))),
            completed("1", page(json!([{"id": 2, "sku": "b", "quantity": 2}]))),
            completed(
                "2",
                page(
                    json!([{"id": 3, "sku": "X", "quantity": 1, "combinations": [
                        {"id": 31, "sku": "C", "unlimited": true, "extra": {"x": 1}},
                    ]}])
                ),
            ),
        ]),
    )
    .await;

    let report = mock_client(&server)
        .find_skus(["A", "B", "A", "C"])
        .await
        .unwrap();

    let asked: Vec<_> = report.results.iter().map(|(sku, _)| sku.as_str()).collect();
    assert_eq!(asked, ["A", "B", "C"]);
    assert_eq!(report.not_found().collect::<Vec<_>>(), ["B"]);
    let found: Vec<_> = report
        .found()
        .map(|(sku, i)| (sku, i.item, i.stock))
        .collect();
    assert_eq!(
        found,
        [
            ("A", product(ProductId::new(1)), Stock::Quantity(2)),
            (
                "C",
                variation(ProductId::new(3), CombinationId::new(31)),
                Stock::Unlimited
            ),
        ]
    );

    let requests = received(&server).await;
    let (create, reads) = requests.split_first().unwrap();
    assert_create_query(create, true);
    let items = body(create);
    let items = items.as_array().expect("a JSON array");
    assert_eq!(items.len(), 3);
    for (n, (item, sku)) in items.iter().zip(["A", "B", "C"]).enumerate() {
        let keys: Vec<_> = item.as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            keys,
            ["id", "method", "path"],
            "a GET carries no body: {item}"
        );
        assert_eq!(item["id"], json!(n.to_string()));
        assert_eq!(item["method"], json!("GET"));
        let (item_path, item_query) = item["path"]
            .as_str()
            .unwrap()
            .split_once('?')
            .expect("a path with a query");
        assert_eq!(item_path, "/products");
        let mut query: Vec<(String, String)> = form_urlencoded::parse(item_query.as_bytes())
            .into_owned()
            .collect();
        query.sort();
        assert_eq!(
            query,
            pairs(&[("sku", sku), ("responseFields", SEARCH_FIELDS)]),
            "{item}"
        );
    }
    assert_eq!(reads.len(), 2, "one read in progress, one completed");
    for read in reads {
        assert_read(read, BATCH_PATH, &[("ticket", "T-1")]);
    }
}

/// A status read that finds the batch in progress is read no further than its counts, and
/// they are only a hint for when to read again: a status in progress whose body breaks off
/// after its status is polled on, as one whose counts are missing, not an error.
#[tokio::test]
async fn a_status_in_progress_whose_rest_cannot_be_read_is_polled_on() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(BATCH_PATH))
        .respond_with(ok(json!({"ticket": "T-1"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(BATCH_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"status":"IN_PROGRESS","totalRequests":3,"completedRequests":"#,
            "application/json",
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let responses: Vec<Value> = ["A", "B", "C"]
        .iter()
        .enumerate()
        .map(|(n, sku)| {
            completed(
                &n.to_string(),
                page(json!([{"id": n + 1, "sku": sku, "quantity": 2}])),
            )
        })
        .collect();
    Mock::given(method("GET"))
        .and(path(BATCH_PATH))
        .respond_with(ok(json!({
            "status": "COMPLETED", "totalRequests": 3, "completedRequests": 3,
            "responses": responses,
        })))
        .mount(&server)
        .await;

    let report = mock_client(&server)
        .find_skus(["A", "B", "C"])
        .await
        .unwrap();

    assert_eq!(report.found().count(), 3);
    assert_eq!(
        received(&server).await.len(),
        3,
        "a create and two status reads"
    );
}

#[tokio::test]
async fn a_search_refused_inside_the_batch_is_that_skus_error() {
    let server = MockServer::start().await;
    mount_batch(
        &server,
        "T-2",
        json!([
            completed("0", page(json!([]))),
            failed("1", 403, "INSUFFICIENT_APP_SCOPE"),
            completed("2", page(json!([{"id": 3, "sku": "C", "quantity": 1}]))),
        ]),
    )
    .await;
    let report = mock_client(&server)
        .find_skus(["A", "B", "C"])
        .await
        .unwrap();
    assert_eq!(report.get("A"), Some(&SkuMatch::NotFound));
    let Err(error) = &report.results[1].1 else {
        panic!("B was refused")
    };
    assert!(
        matches!(error, Error::Api { status: 403, error_code: Some(code), .. } if code == "INSUFFICIENT_APP_SCOPE"),
        "{error:?}"
    );
    assert!(report.get("B").is_none());
    assert_eq!(
        report.get("C").and_then(SkuMatch::found).map(|i| i.item),
        Some(product(ProductId::new(3)))
    );
}

/// 501 SKUs make two batches; when the first is refused, the call fails with Ecwid's refusal
/// (nothing changed: it can be made again), not with an error about the input.
#[tokio::test]
async fn a_lookup_batch_that_fails_fails_the_call_with_its_error() {
    let server = MockServer::start().await;
    answer(
        &server,
        ecwid_error(403, "INSUFFICIENT_APP_SCOPE", "No read_catalog"),
    )
    .await;
    let skus: Vec<String> = (1..=501).map(|n| format!("SKU-{n}")).collect();
    let error = mock_client(&server).find_skus(&skus).await.unwrap_err();
    assert_eq!(error.status(), Some(403), "{error:?}");
    assert_eq!(error.error_code(), Some("INSUFFICIENT_APP_SCOPE"));
    assert!(!error.may_have_been_applied());
    // The first batch was refused; the second was never sent.
    assert_eq!(received(&server).await.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Setting stock

#[tokio::test]
async fn sets_put_an_absolute_count_or_unlimited_stock() {
    let server = MockServer::start().await;
    answer(
        &server,
        ok(json!({"updateCount": 1, "somethingNew": [1, 2]})),
    )
    .await;
    let client = mock_client(&server);

    let set = client.set_stock(PRODUCT, 12).send().await.unwrap();
    assert_eq!((set.update_count(), set.warning()), (1, None));
    client.set_stock(VARIATION, 0).send().await.unwrap();
    client
        .set_stock(VARIATION, MAX_QUANTITY)
        .send()
        .await
        .unwrap();
    client.set_unlimited_stock(PRODUCT).send().await.unwrap();
    client.set_unlimited_stock(VARIATION).send().await.unwrap();

    let expected = [
        (PRODUCT_PATH, json!({"quantity": 12, "unlimited": false})),
        (VARIATION_PATH, json!({"quantity": 0, "unlimited": false})),
        (
            VARIATION_PATH,
            json!({"quantity": 2147483647, "unlimited": false}),
        ),
        (PRODUCT_PATH, json!({"unlimited": true})),
        (VARIATION_PATH, json!({"unlimited": true})),
    ];
    let requests = received(&server).await;
    assert_eq!(requests.len(), expected.len());
    for (request, (expected_path, expected_body)) in requests.iter().zip(expected) {
        assert_eq!(request.method.as_str(), "PUT");
        assert_eq!(request.url.path(), expected_path);
        assert_eq!(request.url.query(), None);
        assert_eq!(body(request), expected_body);
        assert_authorized(request);
        assert_eq!(
            request.headers.get("content-type").unwrap(),
            "application/json"
        );
    }
}

#[tokio::test]
async fn a_set_answered_with_zero_updates_reads_as_not_updated() {
    let server = MockServer::start().await;
    answer(&server, ok(json!({"updateCount": 0}))).await;
    let set = mock_client(&server)
        .set_stock(PRODUCT, 3)
        .send()
        .await
        .unwrap();
    assert!(!set.is_updated());
}

/// Mounts a first answer of 500, then `then` for every request after it.
async fn fail_once_then(server: &MockServer, then: ResponseTemplate) {
    Mock::given(any())
        .respond_with(ecwid_error(500, "INTERNAL_ERROR", "Try again"))
        .up_to_n_times(1)
        .mount(server)
        .await;
    Mock::given(any()).respond_with(then).mount(server).await;
}

#[tokio::test]
async fn a_set_is_sent_again_after_a_500_an_adjustment_is_not() {
    let server = MockServer::start().await;
    fail_once_then(&server, ok(json!({"updateCount": 1}))).await;
    let set = retrying_client(&server)
        .set_stock(VARIATION, 5)
        .send()
        .await
        .unwrap();
    assert!(set.is_updated());
    let requests = received(&server).await;
    assert_eq!(requests.len(), 2, "the 500, then the same PUT again");
    for request in &requests {
        assert_eq!(request.method.as_str(), "PUT");
        assert_eq!(request.url.path(), VARIATION_PATH);
        assert_eq!(body(request), json!({"quantity": 5, "unlimited": false}));
    }

    let server = MockServer::start().await;
    fail_once_then(&server, ok(json!({"updateCount": 1}))).await;
    let error = retrying_client(&server)
        .adjust_variation_stock(P, C, -5)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Api { status: 500, .. }), "{error:?}");
    assert!(error.may_have_been_applied());
    assert_eq!(received(&server).await.len(), 1, "a delta is never resent");
}

#[tokio::test]
async fn a_read_is_sent_again_after_a_500() {
    let server = MockServer::start().await;
    fail_once_then(
        &server,
        ok(json!({"id": 692730761, "sku": "MUG", "quantity": 7})),
    )
    .await;
    let stock = retrying_client(&server).stock(PRODUCT).await.unwrap();
    assert_eq!(stock.stock, Stock::Quantity(7));
    assert_eq!(received(&server).await.len(), 2);
}

// ---------------------------------------------------------------------------------------------
// Errors and bad input

/// Ecwid's 404 and 403 are read with their code and message, are not sent again, and say
/// nothing was applied.
#[tokio::test]
async fn not_found_and_forbidden_carry_ecwids_error() {
    for (status, code) in [(404, "PRODUCT_NOT_FOUND"), (403, "INSUFFICIENT_APP_SCOPE")] {
        let server = MockServer::start().await;
        answer(&server, ecwid_error(status, code, "Refused by Ecwid")).await;
        let client = retrying_client(&server);
        let errors = [
            ("stock", client.stock(PRODUCT).await.unwrap_err()),
            (
                "variation stock",
                client.stock(VARIATION).await.unwrap_err(),
            ),
            ("find_sku", client.find_sku("MUG").await.unwrap_err()),
            (
                "set",
                client.set_stock(PRODUCT, 1).send().await.unwrap_err(),
            ),
            (
                "set unlimited",
                client
                    .set_unlimited_stock(VARIATION)
                    .send()
                    .await
                    .unwrap_err(),
            ),
            (
                "exactly once",
                client
                    .adjust_variation_stock(P, C, 1)
                    .exactly_once()
                    .send()
                    .await
                    .unwrap_err(),
            ),
        ];
        for (what, error) in &errors {
            let Error::Api {
                status: got,
                error_code,
                error_message,
                ..
            } = error
            else {
                panic!("{what} {status}: {error:?}")
            };
            assert_eq!(*got, status, "{what}");
            assert_eq!(error_code.as_deref(), Some(code), "{what}");
            assert_eq!(error_message.as_deref(), Some("Refused by Ecwid"), "{what}");
            assert!(!error.may_have_been_applied(), "{what}");
        }
        assert_eq!(
            received(&server).await.len(),
            errors.len(),
            "{status}: each sent once"
        );
    }
}

#[tokio::test]
async fn bad_input_sends_nothing() {
    let server = MockServer::start().await;
    answer(&server, ok(json!({"updateCount": 1}))).await;
    let client = retrying_client(&server);
    let zero_product = StockItem::Product {
        product: ProductId::new(0),
    };
    let zero_variation = StockItem::Variation {
        product: P,
        combination: CombinationId::new(0),
    };

    let errors = [
        ("empty SKU", client.find_sku("").await.unwrap_err()),
        ("blank SKU", client.find_sku("  ").await.unwrap_err()),
        (
            "SKU with a space before",
            client.find_sku(" A").await.unwrap_err(),
        ),
        (
            "SKU with a newline after",
            client.find_sku("A\n").await.unwrap_err(),
        ),
        (
            "an empty SKU among two",
            client.find_skus(["A", ""]).await.unwrap_err(),
        ),
        (
            "a blank SKU among a batch's",
            client.find_skus(["A", "B", "C", "\t"]).await.unwrap_err(),
        ),
        (
            "stock of product 0",
            client.stock(zero_product).await.unwrap_err(),
        ),
        (
            "stock of combination 0",
            client.stock(zero_variation).await.unwrap_err(),
        ),
        (
            "stock of product 0 with a combination",
            client
                .stock(StockItem::Variation {
                    product: ProductId::new(0),
                    combination: C,
                })
                .await
                .unwrap_err(),
        ),
        (
            "set -1",
            client.set_stock(PRODUCT, -1).send().await.unwrap_err(),
        ),
        (
            "set past i32",
            client
                .set_stock(VARIATION, MAX_QUANTITY + 1)
                .send()
                .await
                .unwrap_err(),
        ),
        (
            "set i64::MIN",
            client
                .set_stock(VARIATION, i64::MIN)
                .send()
                .await
                .unwrap_err(),
        ),
        (
            "set on product 0",
            client.set_stock(zero_product, 1).send().await.unwrap_err(),
        ),
        (
            "set on combination 0",
            client
                .set_stock(zero_variation, 1)
                .send()
                .await
                .unwrap_err(),
        ),
        (
            "unlimited on product 0",
            client
                .set_unlimited_stock(zero_product)
                .send()
                .await
                .unwrap_err(),
        ),
        (
            "unlimited on combination 0",
            client
                .set_unlimited_stock(zero_variation)
                .send()
                .await
                .unwrap_err(),
        ),
        (
            "exactly once on product 0",
            client
                .adjust_variation_stock(ProductId::new(0), C, 1)
                .exactly_once()
                .send()
                .await
                .unwrap_err(),
        ),
        (
            "exactly once on combination 0",
            client
                .adjust_variation_stock(P, CombinationId::new(0), 1)
                .exactly_once()
                .send()
                .await
                .unwrap_err(),
        ),
        (
            "exactly once with a zero delta",
            client
                .adjust_variation_stock(P, C, 0)
                .exactly_once()
                .send()
                .await
                .unwrap_err(),
        ),
    ];
    for (what, error) in &errors {
        assert!(matches!(error, Error::InvalidInput(_)), "{what}: {error:?}");
        assert!(!error.may_have_been_applied(), "{what}");
    }
    assert_eq!(received(&server).await.len(), 0);
}

// ---------------------------------------------------------------------------------------------
// A read applies nothing: its errors say so

/// A read's error: nothing was applied, and its text never says otherwise.
fn assert_applied_nothing(what: &str, error: &Error) {
    assert!(!error.may_have_been_applied(), "{what}: {error:?}");
    let text = error.to_string();
    assert!(!text.contains("may have been applied"), "{what}: {text}");
}

/// A server on loopback that reads each request and closes the connection without an
/// answer: the client sees the connection lost after the request was written.
async fn closing_server() -> String {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
        }
    });
    format!("http://{address}/api/v3")
}

/// A server on loopback that takes connections and never answers.
async fn silent_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    format!("http://{address}/api/v3")
}

fn client_at(base_url: &str) -> ecwid_inventory::ClientBuilder {
    Client::builder(ecwid_inventory::StoreId::new(1003), TOKEN)
        .base_url(base_url)
        .retry_policy(RetryPolicy::never())
}

/// A search's errors: a 5xx, an unreadable answer, and pages that repeat themselves.
#[tokio::test]
async fn a_searchs_errors_say_nothing_was_applied() {
    let server = MockServer::start().await;
    answer(&server, ecwid_error(503, "UNAVAILABLE", "Try later")).await;
    let error = mock_client(&server).find_sku("MUG").await.unwrap_err();
    assert!(matches!(error, Error::Api { status: 503, .. }), "{error:?}");
    assert_applied_nothing("a 503", &error);

    let server = MockServer::start().await;
    answer(
        &server,
        ResponseTemplate::new(200).set_body_string("not json"),
    )
    .await;
    let error = mock_client(&server).find_sku("MUG").await.unwrap_err();
    assert!(matches!(error, Error::InvalidResponse { .. }), "{error:?}");
    assert_applied_nothing("an unreadable answer", &error);

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(Paging(|offset| {
            json!({"total": 250, "count": 100, "offset": offset, "limit": 100,
                   "items": loop_items(1, 100)})
        }))
        .mount(&server)
        .await;
    let error = mock_client(&server).find_sku("LOOP").await.unwrap_err();
    assert!(matches!(error, Error::InvalidResponse { .. }), "{error:?}");
    assert_applied_nothing("a page repeated", &error);
}

/// A product's read: the connection lost after the request, and an unreadable answer.
#[tokio::test]
async fn a_products_errors_say_nothing_was_applied() {
    let error = client_at(&closing_server().await)
        .build()
        .unwrap()
        .stock(PRODUCT)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert_applied_nothing("a connection lost", &error);

    let server = MockServer::start().await;
    answer(&server, ResponseTemplate::new(200).set_body_string("{")).await;
    let error = mock_client(&server).stock(PRODUCT).await.unwrap_err();
    assert!(matches!(error, Error::InvalidResponse { .. }), "{error:?}");
    assert_applied_nothing("an unreadable answer", &error);
}

/// A variation's read: no answer within the attempt's timeout, or within the call's deadline,
/// and a 500.
#[tokio::test]
async fn a_variations_errors_say_nothing_was_applied() {
    let silent = silent_server().await;
    let error = client_at(&silent)
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap()
        .stock(VARIATION)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    assert_applied_nothing("the attempt's timeout", &error);
    let error = client_at(&silent)
        .timeout(Duration::from_secs(30))
        .deadline(Duration::from_millis(200))
        .build()
        .unwrap()
        .stock(VARIATION)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    assert_applied_nothing("the call's deadline", &error);

    let server = MockServer::start().await;
    answer(&server, ecwid_error(500, "INTERNAL_ERROR", "Oops")).await;
    let error = mock_client(&server).stock(VARIATION).await.unwrap_err();
    assert!(matches!(error, Error::Api { status: 500, .. }), "{error:?}");
    assert_applied_nothing("a 500", &error);
}

/// A batch of reads: its create failing (a 500, an unreadable answer), and items that failed
/// inside it (a 500, a result that cannot be read), for SKU lookups and catalog pages alike.
#[tokio::test]
async fn a_read_batchs_errors_say_nothing_was_applied() {
    let skus = ["A", "B", "C"];
    let server = MockServer::start().await;
    answer(&server, ecwid_error(500, "INTERNAL_ERROR", "Oops")).await;
    let error = mock_client(&server).find_skus(skus).await.unwrap_err();
    assert!(matches!(error, Error::Api { status: 500, .. }), "{error:?}");
    assert_applied_nothing("the create's 500", &error);

    let server = MockServer::start().await;
    answer(&server, ResponseTemplate::new(200).set_body_string("[")).await;
    let error = mock_client(&server).find_skus(skus).await.unwrap_err();
    assert!(matches!(error, Error::InvalidResponse { .. }), "{error:?}");
    assert_applied_nothing("the create's unreadable answer", &error);

    let server = MockServer::start().await;
    mount_batch(
        &server,
        "T-read",
        json!([
            failed("0", 500, "INTERNAL_ERROR"),
            {"id": "1", "status": "FAILED", "httpBody": {"errorMessage": "?"}},
            completed("2", page(json!([]))),
        ]),
    )
    .await;
    let report = mock_client(&server).find_skus(skus).await.unwrap();
    let a = report.results[0].1.as_ref().unwrap_err();
    assert!(matches!(a, Error::Api { status: 500, .. }), "{a:?}");
    assert_applied_nothing("an item's 500", a);
    let b = report.results[1].1.as_ref().unwrap_err();
    assert!(matches!(b, Error::InvalidResponse { .. }), "{b:?}");
    assert_applied_nothing("an unclear item", b);

    // The catalog's pages after its first, read through a batch whose create fails.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(SEARCH_PATH))
        .respond_with(ok(
            json!({"total": 250, "count": 100, "offset": 0, "limit": 100,
                                "items": loop_items(1, 100)}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(BATCH_PATH))
        .respond_with(ecwid_error(502, "BAD_GATEWAY", "Upstream"))
        .mount(&server)
        .await;
    let client = mock_client(&server);
    let mut stream = client.catalog_stock().stream();
    let error = loop {
        match futures::StreamExt::next(&mut stream).await {
            Some(Ok(_)) => continue,
            Some(Err(error)) => break error,
            None => panic!("the stream ended without the create's error"),
        }
    };
    assert!(matches!(error, Error::Api { status: 502, .. }), "{error:?}");
    assert_applied_nothing("a catalog batch's 502", &error);
}

/// A batch's status read: a 502 and an unreadable answer.
#[tokio::test]
async fn a_status_reads_errors_say_nothing_was_applied() {
    for (what, status_answer) in [
        ("a 502", ecwid_error(502, "BAD_GATEWAY", "Upstream")),
        (
            "an unreadable answer",
            ResponseTemplate::new(200).set_body_string("<html>"),
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(BATCH_PATH))
            .respond_with(ok(json!({"ticket": "T-status"})))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(BATCH_PATH))
            .respond_with(status_answer)
            .mount(&server)
            .await;
        let error = mock_client(&server)
            .find_skus(["A", "B", "C"])
            .await
            .unwrap_err();
        assert!(
            matches!(error, Error::Api { .. } | Error::InvalidResponse { .. }),
            "{what}: {error:?}"
        );
        assert_applied_nothing(what, &error);
    }
}

/// A write's errors still say it may have been applied: a set answered unreadably.
#[tokio::test]
async fn a_writes_unreadable_answer_still_says_it_may_have_been_applied() {
    let server = MockServer::start().await;
    answer(
        &server,
        ResponseTemplate::new(200).set_body_string("not json"),
    )
    .await;
    let error = mock_client(&server)
        .set_stock(PRODUCT, 3)
        .send()
        .await
        .unwrap_err();
    assert!(error.may_have_been_applied(), "{error:?}");
    assert!(
        error.to_string().contains("may have been applied"),
        "{error}"
    );
}

// ---------------------------------------------------------------------------------------------
// Exactly-once adjustments

#[tokio::test]
async fn exactly_once_sends_a_one_item_batch_and_reads_its_result() {
    let server = MockServer::start().await;
    mount_batch(
        &server,
        "T-9",
        json!([completed(
            "0",
            json!({"updateCount": 1, "warning": "Product has negative stock.", "x": 1}),
        )]),
    )
    .await;

    let adjustment = mock_client(&server)
        .adjust_variation_stock(P, C, -3)
        .exactly_once()
        .send()
        .await
        .unwrap();
    assert_eq!(adjustment.update_count(), 1);
    assert_eq!(adjustment.warning(), Some("Product has negative stock."));

    let requests = received(&server).await;
    let (create, reads) = requests.split_first().unwrap();
    assert_create_query(create, false);
    assert_eq!(
        body(create),
        json!([{
            "id": "0",
            "method": "PUT",
            "path": "/products/692730761/combinations/422488528/inventory",
            "body": {"quantityDelta": -3},
        }])
    );
    assert_eq!(reads.len(), 2, "one read in progress, one completed");
    for read in reads {
        assert_read(read, BATCH_PATH, &[("ticket", "T-9")]);
    }
}

#[tokio::test]
async fn exactly_once_product_paths_and_the_low_stock_flag() {
    let server = MockServer::start().await;
    mount_batch(
        &server,
        "T-4",
        json!([completed("0", json!({"updateCount": 0}))]),
    )
    .await;
    let client = mock_client(&server);
    let adjustment = client
        .adjust_product_stock(P, 4)
        .check_low_stock_notification(true)
        .exactly_once()
        .send()
        .await
        .unwrap();
    assert!(!adjustment.is_updated(), "updateCount 0 is read as such");
    client
        .adjust_product_stock(P, 4)
        .exactly_once()
        .send()
        .await
        .unwrap();

    let creates: Vec<_> = received(&server)
        .await
        .into_iter()
        .filter(|r| r.method.as_str() == "POST")
        .collect();
    assert_eq!(creates.len(), 2);
    assert_eq!(
        body(&creates[0])[0]["path"],
        json!("/products/692730761/inventory?checkLowStockNotification=true")
    );
    assert_eq!(
        body(&creates[1])[0]["path"],
        json!("/products/692730761/inventory")
    );
    assert_ne!(
        assert_create_query(&creates[0], false),
        assert_create_query(&creates[1], false),
        "each call has its own key"
    );
}

/// A create answered 500 may have been queued: it is sent again with the same key, whether
/// the client's pipeline (retrying client) or the exactly-once loop (never-retrying client)
/// sends it.
#[tokio::test]
async fn a_create_answered_500_is_sent_again_with_the_same_key() {
    for retrying in [true, false] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ecwid_error(500, "INTERNAL_ERROR", "Try again"))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        mount_batch(
            &server,
            "T-5",
            json!([completed("0", json!({"updateCount": 1}))]),
        )
        .await;
        let client = if retrying {
            retrying_client(&server)
        } else {
            mock_client_builder(&server, TOKEN)
                .retry_policy(
                    RetryPolicy::never()
                        .connect_backoff(Duration::from_millis(1), Duration::from_millis(5)),
                )
                .build()
                .unwrap()
        };
        let adjustment = client
            .adjust_variation_stock(P, C, -1)
            .exactly_once()
            .send()
            .await
            .unwrap();
        assert!(adjustment.is_updated(), "retrying: {retrying}");

        let creates: Vec<_> = received(&server)
            .await
            .into_iter()
            .filter(|r| r.method.as_str() == "POST")
            .collect();
        assert_eq!(creates.len(), 2, "retrying: {retrying}");
        assert_eq!(
            assert_create_query(&creates[0], false),
            assert_create_query(&creates[1], false),
            "retrying: {retrying}"
        );
        assert_eq!(body(&creates[0]), body(&creates[1]));
    }
}

#[tokio::test]
async fn an_item_failed_with_404_is_an_error_that_applied_nothing() {
    let server = MockServer::start().await;
    mount_batch(
        &server,
        "T-6",
        json!([failed("0", 404, "COMBINATION_NOT_FOUND")]),
    )
    .await;
    let error = retrying_client(&server)
        .adjust_variation_stock(P, C, -1)
        .exactly_once()
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            Error::Api { status: 404, error_code: Some(code), error_message: Some(message), .. }
                if code == "COMBINATION_NOT_FOUND" && message == "Refused"
        ),
        "{error:?}"
    );
    assert!(!error.may_have_been_applied());
    let creates = received(&server)
        .await
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .count();
    assert_eq!(creates, 1, "a refused item is not sent again");
}

/// Ecwid's batch documentation shows an error body spelled `{"error_message": ...}`: the
/// message is read whichever way it is spelled, for a refused create and for a batch item.
#[tokio::test]
async fn an_error_message_spelled_in_snake_case_is_read() {
    let server = MockServer::start().await;
    answer(
        &server,
        ResponseTemplate::new(400)
            .set_body_json(json!({"error_message": "Can't create batch. Too many requests"})),
    )
    .await;
    let skus = ["A", "B", "C"];
    let error = mock_client(&server).find_skus(skus).await.unwrap_err();
    assert_eq!(error.status(), Some(400), "{error:?}");
    assert_eq!(
        error.error_message(),
        Some("Can't create batch. Too many requests"),
        "{error:?}"
    );

    let server = MockServer::start().await;
    mount_batch(
        &server,
        "T-snake",
        json!([
            completed("0", json!({"total": 0, "count": 0, "offset": 0, "limit": 100, "items": []})),
            {
                "id": "1", "status": "FAILED", "httpStatusCode": 400,
                "httpBody": {"error_message": "Wrong SKU", "errorCode": "WRONG_PARAMETER"},
            },
            completed("2", json!({"total": 0, "count": 0, "offset": 0, "limit": 100, "items": []})),
        ]),
    )
    .await;
    let report = mock_client(&server).find_skus(skus).await.unwrap();
    let (_, refused) = &report.results[1];
    let error = refused.as_ref().unwrap_err();
    assert_eq!(error.error_code(), Some("WRONG_PARAMETER"), "{error:?}");
    assert_eq!(error.error_message(), Some("Wrong SKU"), "{error:?}");
}

/// A SKU on 150 items: the first lookup batch brings 100, and a second round reads the rest,
/// so every match is reported.
#[tokio::test]
async fn find_skus_reports_every_match_of_a_sku_on_several_pages() {
    let server = MockServer::start().await;
    let many = |offset: u64, count: u64| {
        json!({"total": 150, "count": count, "offset": offset, "limit": 100,
               "items": (offset + 1..=offset + count)
                   .map(|id| json!({"id": id, "sku": "MANY", "quantity": 1}))
                   .collect::<Vec<_>>()})
    };
    let empty = json!({"total": 0, "count": 0, "offset": 0, "limit": 100, "items": []});
    Mock::given(method("POST"))
        .and(path(BATCH_PATH))
        .and(wiremock::matchers::body_string_contains("offset=100"))
        .respond_with(ok(json!({"ticket": "T-2"})))
        .with_priority(1)
        .mount(&server)
        .await;
    mount_batch(
        &server,
        "T-1",
        json!([
            completed("0", many(0, 100)),
            completed("1", empty.clone()),
            completed("2", empty),
        ]),
    )
    .await;
    Mock::given(method("GET"))
        .and(path(BATCH_PATH))
        .and(query_param("ticket", "T-2"))
        .respond_with(ok(json!({
            "status": "COMPLETED", "totalRequests": 1, "completedRequests": 1,
            "responses": [completed("0", many(100, 50))],
        })))
        .mount(&server)
        .await;
    let report = mock_client(&server)
        .find_skus(["MANY", "B", "C"])
        .await
        .unwrap();
    let Some(SkuMatch::Several(items)) = report.get("MANY") else {
        panic!("{:?}", report.get("MANY"))
    };
    assert_eq!(items.len(), 150);
    assert_eq!(report.get("B"), Some(&SkuMatch::NotFound));
    let creates: Vec<Request> = received(&server)
        .await
        .into_iter()
        .filter(|r| r.method.as_str() == "POST")
        .collect();
    assert_eq!(
        creates.len(),
        2,
        "one round for the first pages, one for the rest"
    );
    let second: Value = serde_json::from_slice(&creates[1].body).unwrap();
    assert_eq!(
        second.as_array().unwrap().len(),
        1,
        "only MANY has another page"
    );
}
