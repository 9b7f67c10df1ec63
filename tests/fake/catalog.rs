//! The fake store's catalog endpoints, spoken to with raw `reqwest` on loopback: reading a
//! product or a variation, searching products, setting a stock, `responseFields`, scopes,
//! faults, the same operations in a batch, sets in the ledger, and every body against the
//! spec's JSON schemas.

use crate::common;

use std::time::Duration;

use ecwid_inventory::generated::types::{
    BatchStatus, EcwidError, ProductPage, ProductStock, StockUpdateResult, VariationStock,
};
use ecwid_inventory::{stock::SkuMatch, ProductId, RateLimit, StockItem};
use ecwid_inventory_fake::{
    FakeStore, FakeStoreBuilder, FakeToken, Fault, LedgerEntry, Origin, Product, Route, Scope,
    Stock, StockChange, Store, Variation,
};
use serde_json::{json, Value};

use common::*;

/// SKU `MUG`: 0, no variations.
const MUG: ProductId = ProductId::new(4);
const PUBLIC_WITH_UPDATE: &str = "public_with_update";

const SHIRT_PRODUCT: &str = "/1003/products/1";
const RED_VARIATION: &str = "/1003/products/1/combinations/11";
const PLAIN_VARIATION: &str = "/1003/products/1/combinations/12";

/// What a client asks for when it reads stock.
const PRODUCT_FIELDS: &str =
    "id,sku,quantity,unlimited,inStock,combinations(id,sku,quantity,unlimited,inStock)";
const VARIATION_FIELDS: &str = "id,sku,quantity,unlimited,inStock";
const SEARCH_FIELDS: &str =
    "total,items(id,sku,quantity,unlimited,inStock,combinations(id,sku,quantity,unlimited,inStock))";

/// The common shop with every product given a SKU, an oversold poster (-2) and a mug (0, no
/// variations), and a public token that was given `update_catalog`.
fn catalog() -> FakeStoreBuilder {
    FakeStore::builder()
        .store(
            Store::new(STORE)
                .product(shirt_product())
                .product(Product::new(EBOOK).sku("EBOOK").unlimited())
                .product(
                    Product::new(POSTER)
                        .sku("POSTER")
                        .quantity(-2)
                        .variation(Variation::new(POSTER_DIGITAL).sku("P-D").unlimited()),
                )
                .product(Product::new(MUG).sku("MUG")),
        )
        .store(Store::new(OTHER_STORE).product(Product::new(SHIRT).sku("X").quantity(1)))
        .token(FakeToken::secret(STORE, TOKEN))
        .token(FakeToken::secret(STORE, READER).scopes([Scope::ReadCatalog]))
        .token(FakeToken::secret(STORE, WRITER).scopes([Scope::UpdateCatalog]))
        .token(FakeToken::public(STORE, PUBLIC))
        .token(
            FakeToken::public(STORE, PUBLIC_WITH_UPDATE)
                .scopes([Scope::ReadCatalog, Scope::UpdateCatalog]),
        )
        .token(FakeToken::secret(OTHER_STORE, OTHER_TOKEN))
}

async fn start_catalog() -> FakeStore {
    catalog().start().await.expect("the fake starts")
}

/// Status and errorCode of an error answer, checked against Ecwid's error format.
fn error_code((status, body): (u16, Value)) -> (u16, String) {
    assert!(validator::<EcwidError>().is_valid(&body), "{body}");
    let error: EcwidError = serde_json::from_value(body.clone()).expect("Ecwid's error format");
    assert!(error.error_message.is_some_and(|m| !m.is_empty()), "{body}");
    (status, error.error_code.expect("an errorCode"))
}

/// A set by `TOKEN`: status and JSON body.
async fn set(fake: &FakeStore, path: &str, body: Value) -> (u16, Value) {
    read(put(fake, path, TOKEN, body).await).await
}

/// Status and errorCode of an error answer, checked against the spec's error schema.
async fn refused(response: reqwest::Response) -> (u16, String) {
    error_code(read(response).await)
}

fn assert_valid<T: schemars::JsonSchema>(body: &Value) {
    let validator = validator::<T>();
    let errors: Vec<String> = validator.iter_errors(body).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{body} against the spec: {errors:?}");
}

fn stock(fake: &FakeStore, item: StockItem) -> Option<Stock> {
    fake.stock(STORE, item)
}

/// The ids of a page's items.
fn ids(page: &Value) -> Vec<u64> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["id"].as_u64().expect("an id"))
        .collect()
}

/// A product's answer without its update time (`updateTimestamp`, `updated`), which depends on
/// when the test ran; both must be there.
fn without_times(mut product: Value) -> Value {
    let object = product.as_object_mut().expect("a product is an object");
    let timestamp = object.remove("updateTimestamp");
    let date = object.remove("updated");
    assert!(
        timestamp.as_ref().is_some_and(Value::is_u64)
            && date.as_ref().is_some_and(Value::is_string),
        "update time: {timestamp:?} {date:?}"
    );
    product
}

fn changes(fake: &FakeStore) -> Vec<(StockItem, StockChange, Stock)> {
    fake.ledger()
        .into_iter()
        .map(|e: LedgerEntry| (e.item, e.change, e.stock_after))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Reads

#[tokio::test]
async fn a_product_answers_its_stock_and_its_variations() {
    let fake = start_catalog().await;
    let (status, shirt) = get(&fake, SHIRT_PRODUCT).await;
    assert_eq!(status, 200);
    assert_valid::<ProductStock>(&shirt);
    assert_eq!(
        without_times(shirt),
        json!({
            "id": 1, "sku": "SHIRT", "quantity": 20, "unlimited": false, "inStock": true,
            "warningLimit": 5,
            "combinations": [
                {"id": 11, "sku": "SHIRT-RED", "quantity": 10, "unlimited": false,
                 "inStock": true, "warningLimit": 2},
                // Empty SKU: the product's stock and warning limit.
                {"id": 12, "sku": "", "quantity": 20, "unlimited": false, "inStock": true,
                 "warningLimit": 5},
            ]
        })
    );

    // Unlimited: no quantity, in stock; no variations: no combinations; no limit: none sent.
    let (_, ebook) = get(&fake, "/1003/products/2").await;
    let (_, poster) = get(&fake, "/1003/products/3").await;
    let (_, mug) = get(&fake, "/1003/products/4").await;
    for body in [&ebook, &poster, &mug] {
        assert_valid::<ProductStock>(body);
    }
    assert_eq!(
        without_times(ebook),
        json!({"id": 2, "sku": "EBOOK", "unlimited": true, "inStock": true})
    );
    assert_eq!(
        without_times(poster),
        json!({
            "id": 3, "sku": "POSTER", "quantity": -2, "unlimited": false, "inStock": false,
            "combinations": [{"id": 31, "sku": "P-D", "unlimited": true, "inStock": true}]
        })
    );
    assert_eq!(
        without_times(mug),
        json!({"id": 4, "sku": "MUG", "quantity": 0, "unlimited": false, "inStock": false})
    );
    assert!(fake.ledger().is_empty(), "a read changes nothing");
}

#[tokio::test]
async fn a_variation_answers_the_stock_it_uses() {
    let fake = start_catalog().await;
    let (status, red) = get(&fake, RED_VARIATION).await;
    assert_eq!(status, 200);
    assert_eq!(
        red,
        json!({"id": 11, "sku": "SHIRT-RED", "quantity": 10, "unlimited": false,
               "inStock": true, "warningLimit": 2})
    );
    let (_, plain) = get(&fake, PLAIN_VARIATION).await;
    assert_eq!(
        plain,
        json!({"id": 12, "sku": "", "quantity": 20, "unlimited": false, "inStock": true,
               "warningLimit": 5})
    );
    let (_, digital) = get(&fake, "/1003/products/3/combinations/31").await;
    assert_eq!(
        digital,
        json!({"id": 31, "sku": "P-D", "unlimited": true, "inStock": true})
    );
    for body in [&red, &plain, &digital] {
        assert_valid::<VariationStock>(body);
    }

    // Shared stock follows the product, whichever of the two moved it.
    let (status, _) = read(
        put(
            &fake,
            "/1003/products/1/inventory",
            TOKEN,
            json!({"quantityDelta": -20}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    let (_, plain) = get(&fake, PLAIN_VARIATION).await;
    assert_eq!(
        (&plain["quantity"], &plain["inStock"]),
        (&json!(0), &json!(false))
    );
    let (_, red) = get(&fake, RED_VARIATION).await;
    assert_eq!(red["quantity"], 10, "own SKU: own stock");
}

#[tokio::test]
async fn reads_of_what_does_not_exist_are_not_found() {
    let fake = start_catalog().await;
    let cases = [
        ("/1003/products/9", 404, "PRODUCT_NOT_FOUND"),
        ("/1003/products/9/combinations/11", 404, "PRODUCT_NOT_FOUND"),
        (
            "/1003/products/1/combinations/99",
            404,
            "COMBINATION_NOT_FOUND",
        ),
        ("/9999/products/1", 404, "STORE_NOT_FOUND"),
        ("/9999/products", 404, "STORE_NOT_FOUND"),
        ("/2002/products/1", 403, "INVALID_API_TOKEN"),
        ("/1003/products/9/combinations", 404, "PRODUCT_NOT_FOUND"),
        ("/1003/products/1/combinations/", 404, "NOT_FOUND"),
        ("/1003/products/x", 404, "NOT_FOUND"),
    ];
    for (path, status, code) in cases {
        assert_eq!(
            refused(get_as(&fake, path, TOKEN).await).await,
            (status, code.to_owned()),
            "{path}"
        );
    }
    // A token of the other store reads its own store.
    let (status, body) = read(get_as(&fake, "/2002/products/1", OTHER_TOKEN).await).await;
    assert_eq!((status, &body["sku"]), (200, &json!("X")));
}

// ---------------------------------------------------------------------------------------------
// responseFields

#[tokio::test]
async fn response_fields_keep_only_the_fields_listed() {
    let fake = start_catalog().await;
    let (status, shirt) = get(
        &fake,
        &format!("{SHIRT_PRODUCT}?responseFields={PRODUCT_FIELDS}"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        shirt,
        json!({
            "id": 1, "sku": "SHIRT", "quantity": 20, "unlimited": false, "inStock": true,
            "combinations": [
                {"id": 11, "sku": "SHIRT-RED", "quantity": 10, "unlimited": false, "inStock": true},
                {"id": 12, "sku": "", "quantity": 20, "unlimited": false, "inStock": true},
            ]
        })
    );
    assert_valid::<ProductStock>(&shirt);

    let (_, plain) = get(
        &fake,
        &format!("{PLAIN_VARIATION}?responseFields={VARIATION_FIELDS}"),
    )
    .await;
    assert_eq!(
        plain,
        json!({"id": 12, "sku": "", "quantity": 20, "unlimited": false, "inStock": true})
    );
    assert_valid::<VariationStock>(&plain);

    let (_, page) = get(
        &fake,
        &format!("/1003/products?sku=SHIRT-RED&responseFields={SEARCH_FIELDS}"),
    )
    .await;
    assert_eq!(
        page,
        json!({"total": 1, "items": [{
            "id": 1, "sku": "SHIRT", "quantity": 20, "unlimited": false, "inStock": true,
            "combinations": [
                {"id": 11, "sku": "SHIRT-RED", "quantity": 10, "unlimited": false, "inStock": true},
                {"id": 12, "sku": "", "quantity": 20, "unlimited": false, "inStock": true},
            ]
        }]})
    );

    // Nested lists, a field the answer lacks, a field kept whole.
    let (_, shirt) = get(
        &fake,
        "/1003/products/1?responseFields=id,combinations(quantity),nothing",
    )
    .await;
    assert_eq!(
        shirt,
        json!({"id": 1, "combinations": [{"quantity": 10}, {"quantity": 20}]})
    );
    let (_, ebook) = get(&fake, "/1003/products/2?responseFields=combinations,id").await;
    assert_eq!(ebook, json!({"id": 2}), "no combinations to keep");
    // Nothing the answer has: an empty object, which the spec allows.
    let (status, nothing) = get(&fake, "/1003/products/1?responseFields=nothing").await;
    assert_eq!((status, nothing), (200, json!({})));
}

#[tokio::test]
async fn an_empty_response_fields_sends_every_field() {
    let fake = start_catalog().await;
    for path in [SHIRT_PRODUCT, RED_VARIATION, "/1003/products"] {
        let (status, everything) = get(&fake, path).await;
        assert_eq!(status, 200);
        let (status, empty) = get(&fake, &format!("{path}?responseFields=")).await;
        assert_eq!((status, &empty), (200, &everything), "{path}");
    }
}

#[tokio::test]
async fn a_malformed_response_fields_is_a_wrong_parameter() {
    let fake = start_catalog().await;
    for fields in [
        " ",
        "id, sku",
        "items(combinations(options(id)))",
        "id,",
        "items(id",
        "items()",
        "id)",
        "a-b",
        "id,,sku",
        "items(id)x",
    ] {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("responseFields", fields)
            .finish();
        for path in [SHIRT_PRODUCT, RED_VARIATION, "/1003/products"] {
            let answer = refused(get_as(&fake, &format!("{path}?{query}"), TOKEN).await).await;
            assert_eq!(
                answer,
                (400, "WRONG_PARAMETER".to_owned()),
                "{path}?{query}"
            );
        }
    }
    // Parameters are read before the product is looked up, and after the scopes.
    let malformed = "?responseFields=items(";
    assert_eq!(
        refused(get_as(&fake, &format!("/1003/products/9{malformed}"), TOKEN).await).await,
        (400, "WRONG_PARAMETER".to_owned())
    );
    assert_eq!(
        refused(get_as(&fake, &format!("{SHIRT_PRODUCT}{malformed}"), WRITER).await).await,
        (403, "INSUFFICIENT_APP_SCOPE".to_owned())
    );
}

// ---------------------------------------------------------------------------------------------
// Search

#[tokio::test]
async fn search_by_sku_matches_a_product_or_a_variation_exactly() {
    let fake = start_catalog().await;
    for (sku, expected) in [
        ("SHIRT", vec![1]),
        ("SHIRT-RED", vec![1]),
        ("P-D", vec![3]),
        ("MUG", vec![4]),
        // Exact and case-sensitive.
        ("shirt", vec![]),
        ("SHIRT-", vec![]),
        ("SHIRT-RED ", vec![]),
        ("NOPE", vec![]),
    ] {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("sku", sku)
            .finish();
        let (status, page) = get(&fake, &format!("/1003/products?{query}")).await;
        assert_eq!(status, 200, "{sku}: {page}");
        assert_valid::<ProductPage>(&page);
        assert_eq!(ids(&page), expected, "{sku}");
        assert_eq!(page["total"], expected.len(), "{sku}");
        assert_eq!(page["count"], expected.len(), "{sku}");
    }
    // Not found is an empty page, not a 404.
    let (_, page) = get(&fake, "/1003/products?sku=NOPE").await;
    assert_eq!(
        page,
        json!({"total": 0, "count": 0, "offset": 0, "limit": 100, "items": []})
    );
    // With sku, other filters are ignored, except productId.
    let (_, page) = get(&fake, "/1003/products?sku=SHIRT&keyword=mug&inStock=false").await;
    assert_eq!(ids(&page), [1]);
    let (_, page) = get(&fake, "/1003/products?sku=SHIRT&productId=1,2").await;
    assert_eq!(ids(&page), [1]);
    let (_, page) = get(&fake, "/1003/products?sku=SHIRT&productId=2,3").await;
    assert_eq!(ids(&page), Vec::<u64>::new());
    // An empty SKU would match every variation that shares its product's: refused, as the
    // spec's minLength says. Spaces are a SKU like any other, matched exactly.
    assert_eq!(
        refused(get_as(&fake, "/1003/products?sku=", TOKEN).await).await,
        (400, "WRONG_PARAMETER".to_owned())
    );
    let (status, page) = get(&fake, "/1003/products?sku=%20%20").await;
    assert_eq!((status, ids(&page)), (200, vec![]));
}

#[tokio::test]
async fn search_pages_through_matches_in_product_id_order() {
    let fake = start_catalog().await;
    let (status, page) = get(&fake, "/1003/products").await;
    assert_eq!(status, 200);
    assert_valid::<ProductPage>(&page);
    assert_eq!(ids(&page), [1, 2, 3, 4]);
    assert_eq!(
        (
            &page["total"],
            &page["count"],
            &page["offset"],
            &page["limit"]
        ),
        (&json!(4), &json!(4), &json!(0), &json!(100))
    );
    // The items are the products as a read answers them.
    let (_, shirt) = get(&fake, SHIRT_PRODUCT).await;
    assert_eq!(page["items"][0], shirt);

    let (_, page) = get(&fake, "/1003/products?offset=1&limit=2").await;
    assert_valid::<ProductPage>(&page);
    assert_eq!(ids(&page), [2, 3]);
    assert_eq!(
        (
            &page["total"],
            &page["count"],
            &page["offset"],
            &page["limit"]
        ),
        (&json!(4), &json!(2), &json!(1), &json!(2))
    );
    let (_, page) = get(&fake, "/1003/products?offset=3&limit=2").await;
    assert_eq!((ids(&page), &page["count"]), (vec![4], &json!(1)));
    let (_, page) = get(&fake, "/1003/products?offset=10").await;
    assert_eq!((ids(&page), &page["total"]), (vec![], &json!(4)));
    // 100 is the most; more is refused as Ecwid refuses over 100 products in one request.
    let (status, page) = get(&fake, "/1003/products?limit=100").await;
    assert_eq!((status, &page["limit"]), (200, &json!(100)));
    for limit in [101, 500] {
        assert_eq!(
            refused(get_as(&fake, &format!("/1003/products?limit={limit}"), TOKEN).await).await,
            (
                402,
                "MAX_PRODUCTS_FOR_API_REQUEST_LIMIT_EXCEEDED".to_owned()
            )
        );
    }
    // productId: a comma list, in any order; the answer is in id order.
    let (_, page) = get(&fake, "/1003/products?productId=4,1,9").await;
    assert_eq!(ids(&page), [1, 4]);
    let (_, page) = get(&fake, "/1003/products?productId=3&limit=1").await;
    assert_eq!(ids(&page), [3]);
    // An id no product can have matches none.
    let (_, page) = get(&fake, "/1003/products?productId=99999999999999999999,1").await;
    assert_eq!(ids(&page), [1]);

    for query in [
        "limit=0",
        "limit=-1",
        "limit=ten",
        "offset=-1",
        "offset=1.5",
        "offset=2147483648",
        "productId=",
        "productId=1,,2",
        "productId=1,",
        "productId=a",
        "productId=1%20,2",
    ] {
        assert_eq!(
            refused(get_as(&fake, &format!("/1003/products?{query}"), TOKEN).await).await,
            (400, "WRONG_PARAMETER".to_owned()),
            "{query}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Sets

#[tokio::test]
async fn setting_a_product_stock_lands_the_count_and_is_recorded_as_a_set() {
    let fake = start_catalog().await;
    let (status, body) = set(&fake, SHIRT_PRODUCT, json!({"quantity": 7})).await;
    assert_eq!((status, &body), (200, &json!({"updateCount": 1})));
    assert_valid::<StockUpdateResult>(&body);
    assert_eq!(stock(&fake, product(SHIRT)), Some(Stock::Quantity(7)));
    assert_eq!(
        stock(&fake, variation(SHIRT, SHIRT_RED)),
        Some(Stock::Quantity(10)),
        "own SKU: untouched"
    );
    let ledger = fake.ledger();
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].store, STORE);
    assert_eq!(ledger[0].item, product(SHIRT));
    assert_eq!(ledger[0].change, StockChange::Set(Stock::Quantity(7)));
    assert_eq!(ledger[0].stock_after, Stock::Quantity(7));
    assert_eq!(ledger[0].delta(), None);
    assert_eq!(ledger[0].origin, Origin::Request(fake.requests()[0].id));

    // The same set again lands the same count, and is still recorded: it was applied.
    assert_eq!(
        set(&fake, SHIRT_PRODUCT, json!({"quantity": 7})).await.0,
        200
    );
    // A stock below zero is set like any other; at or below the warning limit, no notification.
    assert_eq!(
        set(&fake, "/1003/products/3", json!({"quantity": 1}))
            .await
            .0,
        200
    );
    assert_eq!(stock(&fake, product(POSTER)), Some(Stock::Quantity(1)));
    assert_eq!(
        set(&fake, SHIRT_PRODUCT, json!({"quantity": 0})).await.0,
        200
    );
    assert!(fake.low_stock_notifications().is_empty());
    assert_eq!(
        changes(&fake),
        [
            (
                product(SHIRT),
                StockChange::Set(Stock::Quantity(7)),
                Stock::Quantity(7)
            ),
            (
                product(SHIRT),
                StockChange::Set(Stock::Quantity(7)),
                Stock::Quantity(7)
            ),
            (
                product(POSTER),
                StockChange::Set(Stock::Quantity(1)),
                Stock::Quantity(1)
            ),
            (
                product(SHIRT),
                StockChange::Set(Stock::Quantity(0)),
                Stock::Quantity(0)
            ),
        ]
    );
    let (_, shirt) = get(&fake, SHIRT_PRODUCT).await;
    assert_eq!(
        (&shirt["quantity"], &shirt["inStock"]),
        (&json!(0), &json!(false))
    );
}

#[tokio::test]
async fn unlimited_is_set_and_unset() {
    let fake = start_catalog().await;
    assert_eq!(
        set(&fake, "/1003/products/4", json!({"unlimited": true}))
            .await
            .0,
        200
    );
    assert_eq!(stock(&fake, product(MUG)), Some(Stock::Unlimited));
    let (_, mug) = get(&fake, "/1003/products/4").await;
    assert_eq!(
        without_times(mug),
        json!({"id": 4, "sku": "MUG", "unlimited": true, "inStock": true})
    );
    // unlimited: false alone on unlimited stock starts a count at 0 ...
    assert_eq!(
        set(&fake, "/1003/products/4", json!({"unlimited": false}))
            .await
            .0,
        200
    );
    assert_eq!(stock(&fake, product(MUG)), Some(Stock::Quantity(0)));
    // ... and on a counted stock keeps the count.
    assert_eq!(
        set(&fake, SHIRT_PRODUCT, json!({"unlimited": false}))
            .await
            .0,
        200
    );
    assert_eq!(stock(&fake, product(SHIRT)), Some(Stock::Quantity(20)));
    // With a quantity, it sets the count.
    let body = json!({"quantity": 5, "unlimited": false});
    assert_eq!(set(&fake, "/1003/products/2", body).await.0, 200);
    assert_eq!(stock(&fake, product(EBOOK)), Some(Stock::Quantity(5)));
    // An unlimited variation gets a count.
    let digital = "/1003/products/3/combinations/31";
    assert_eq!(set(&fake, digital, json!({"quantity": 2})).await.0, 200);
    assert_eq!(
        stock(&fake, variation(POSTER, POSTER_DIGITAL)),
        Some(Stock::Quantity(2))
    );
    assert_eq!(
        changes(&fake),
        [
            (
                product(MUG),
                StockChange::Set(Stock::Unlimited),
                Stock::Unlimited
            ),
            (
                product(MUG),
                StockChange::Set(Stock::Quantity(0)),
                Stock::Quantity(0)
            ),
            (
                product(SHIRT),
                StockChange::Set(Stock::Quantity(20)),
                Stock::Quantity(20)
            ),
            (
                product(EBOOK),
                StockChange::Set(Stock::Quantity(5)),
                Stock::Quantity(5)
            ),
            (
                variation(POSTER, POSTER_DIGITAL),
                StockChange::Set(Stock::Quantity(2)),
                Stock::Quantity(2)
            ),
        ]
    );
}

#[tokio::test]
async fn unlimited_true_wins_over_a_quantity_sent_beside_it() {
    let fake = start_catalog().await;
    let body = json!({"quantity": 3, "unlimited": true, "name": "Shirt"});
    for (path, item) in [
        (SHIRT_PRODUCT, product(SHIRT)),
        (RED_VARIATION, variation(SHIRT, SHIRT_RED)),
    ] {
        let (status, answer) = set(&fake, path, body.clone()).await;
        assert_eq!((status, answer), (200, json!({"updateCount": 1})), "{path}");
        assert_eq!(stock(&fake, item), Some(Stock::Unlimited), "{path}");
    }
    assert_eq!(fake.ledger().len(), 2);
}

#[tokio::test]
async fn a_body_that_sets_nothing_changes_nothing_and_bad_bodies_are_refused() {
    let fake = start_catalog().await;
    // Nothing to set (unknown fields are ignored): updateCount 0, nothing recorded.
    for body in [
        json!({}),
        json!({"name": "Shirt"}),
        json!({"quantityDelta": 5}),
    ] {
        let (status, answer) = set(&fake, SHIRT_PRODUCT, body.clone()).await;
        assert_eq!(
            (status, &answer),
            (200, &json!({"updateCount": 0})),
            "{body}"
        );
        assert_valid::<StockUpdateResult>(&answer);
    }
    for body in [
        json!({"quantity": -1}),
        json!({"quantity": 2_147_483_648_i64}),
        json!({"quantity": 1.5}),
        json!({"quantity": "3"}),
        json!({"quantity": null}),
        json!({"unlimited": "yes"}),
        json!({"unlimited": null}),
        json!({"quantity": -3, "unlimited": true}),
        json!([3]),
    ] {
        for path in [SHIRT_PRODUCT, RED_VARIATION] {
            assert_eq!(
                refused(put(&fake, path, TOKEN, body.clone()).await).await,
                (400, "WRONG_PARAMETER".to_owned()),
                "{path} {body}"
            );
        }
    }
    // The largest count is accepted.
    let body = json!({"quantity": i32::MAX});
    assert_eq!(set(&fake, RED_VARIATION, body).await.0, 200);
    assert_eq!(
        stock(&fake, variation(SHIRT, SHIRT_RED)),
        Some(Stock::Quantity(i64::from(i32::MAX)))
    );
    // Not JSON: 415; not found: 404.
    let response = http()
        .put(format!("{}{SHIRT_PRODUCT}", fake.base_url()))
        .bearer_auth(TOKEN)
        .body(r#"{"quantity": 1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused(response).await,
        (415, "UNSUPPORTED_MEDIA_TYPE".to_owned())
    );
    for (path, code) in [
        ("/1003/products/9", "PRODUCT_NOT_FOUND"),
        ("/1003/products/1/combinations/99", "COMBINATION_NOT_FOUND"),
    ] {
        let response = put(&fake, path, TOKEN, json!({"quantity": 1})).await;
        assert_eq!(refused(response).await, (404, code.to_owned()), "{path}");
    }
    assert_eq!(
        fake.ledger().len(),
        1,
        "only the accepted set: {:?}",
        fake.ledger()
    );
    assert_eq!(stock(&fake, product(SHIRT)), Some(Stock::Quantity(20)));
}

#[tokio::test]
async fn a_variation_sharing_its_product_stock_is_set_only_to_that_stock() {
    let fake = start_catalog().await;
    // Its own stock: only it moves.
    assert_eq!(
        set(&fake, RED_VARIATION, json!({"quantity": 3})).await.0,
        200
    );
    assert_eq!(
        stock(&fake, variation(SHIRT, SHIRT_RED)),
        Some(Stock::Quantity(3))
    );
    assert_eq!(stock(&fake, product(SHIRT)), Some(Stock::Quantity(20)));

    // Shared stock: a different count is refused, the same one accepted (and recorded).
    for body in [
        json!({"quantity": 21}),
        json!({"quantity": 0}),
        json!({"unlimited": true}),
    ] {
        assert_eq!(
            refused(put(&fake, PLAIN_VARIATION, TOKEN, body.clone()).await).await,
            (400, "DIFFERENT_COMBINATION_STOCK".to_owned()),
            "{body}"
        );
    }
    assert_eq!(
        set(&fake, PLAIN_VARIATION, json!({"quantity": 20})).await.0,
        200
    );
    assert_eq!(
        set(&fake, PLAIN_VARIATION, json!({"unlimited": false}))
            .await
            .0,
        200
    );
    // Once the product is set, the variation reads the new stock and accepts it.
    assert_eq!(
        set(&fake, SHIRT_PRODUCT, json!({"quantity": 4})).await.0,
        200
    );
    let (_, plain) = get(&fake, PLAIN_VARIATION).await;
    assert_eq!(plain["quantity"], 4);
    assert_eq!(
        set(&fake, PLAIN_VARIATION, json!({"quantity": 4})).await.0,
        200
    );
    assert_eq!(
        set(&fake, SHIRT_PRODUCT, json!({"unlimited": true}))
            .await
            .0,
        200
    );
    assert_eq!(
        set(&fake, PLAIN_VARIATION, json!({"unlimited": true}))
            .await
            .0,
        200
    );
    assert_eq!(
        refused(put(&fake, PLAIN_VARIATION, TOKEN, json!({"unlimited": false})).await).await,
        (400, "DIFFERENT_COMBINATION_STOCK".to_owned()),
        "a count of 0 is not the product's unlimited stock"
    );
    let plain = variation(SHIRT, SHIRT_PLAIN);
    let red = variation(SHIRT, SHIRT_RED);
    let to = |n| StockChange::Set(Stock::Quantity(n));
    assert_eq!(
        changes(&fake),
        [
            (red, to(3), Stock::Quantity(3)),
            (plain, to(20), Stock::Quantity(20)),
            (plain, to(20), Stock::Quantity(20)),
            (product(SHIRT), to(4), Stock::Quantity(4)),
            (plain, to(4), Stock::Quantity(4)),
            (
                product(SHIRT),
                StockChange::Set(Stock::Unlimited),
                Stock::Unlimited
            ),
            (plain, StockChange::Set(Stock::Unlimited), Stock::Unlimited),
        ]
    );
}

#[tokio::test]
async fn the_ledger_shows_sets_among_deltas_in_order() {
    let fake = start_catalog().await;
    let inventory = "/1003/products/1/combinations/11/inventory";
    assert_eq!(delta(&fake, inventory, -3).await.status(), 200);
    assert_eq!(
        set(&fake, RED_VARIATION, json!({"quantity": 10})).await.0,
        200
    );
    assert_eq!(delta(&fake, inventory, -12).await.status(), 200);
    assert_eq!(
        set(&fake, RED_VARIATION, json!({"quantity": 5})).await.0,
        200
    );
    let red = variation(SHIRT, SHIRT_RED);
    assert_eq!(
        changes(&fake),
        [
            (red, StockChange::Delta(-3), Stock::Quantity(7)),
            (
                red,
                StockChange::Set(Stock::Quantity(10)),
                Stock::Quantity(10)
            ),
            (red, StockChange::Delta(-12), Stock::Quantity(-2)),
            (
                red,
                StockChange::Set(Stock::Quantity(5)),
                Stock::Quantity(5)
            ),
        ]
    );
    let deltas: Vec<_> = fake.ledger().iter().map(LedgerEntry::delta).collect();
    assert_eq!(deltas, [Some(-3), None, Some(-12), None]);
    let origins: Vec<_> = fake.ledger().into_iter().map(|e| e.origin).collect();
    let requests: Vec<_> = fake
        .requests()
        .iter()
        .map(|r| Origin::Request(r.id))
        .collect();
    assert_eq!(origins, requests);
}

// ---------------------------------------------------------------------------------------------
// Tokens, scopes, routes, rate limit, faults

#[tokio::test]
async fn reads_need_read_catalog_and_sets_update_catalog() {
    let fake = start_catalog().await;
    let reads = [SHIRT_PRODUCT, RED_VARIATION, "/1003/products?sku=SHIRT"];
    let forbidden = (403, "INSUFFICIENT_APP_SCOPE".to_owned());
    for path in reads {
        for token in [TOKEN, READER, PUBLIC, PUBLIC_WITH_UPDATE] {
            assert_eq!(
                get_as(&fake, path, token).await.status(),
                200,
                "{path} {token}"
            );
        }
        assert_eq!(
            refused(get_as(&fake, path, WRITER).await).await,
            forbidden,
            "{path}"
        );
        assert_eq!(
            refused(get_as(&fake, path, "secret_unknown").await).await,
            (403, "INVALID_API_TOKEN".to_owned()),
            "{path}"
        );
    }
    let one = || json!({"quantity": 1});
    // A product's set needs update_catalog only; a variation's both; public tokens never write.
    for (path, token) in [
        (SHIRT_PRODUCT, READER),
        (SHIRT_PRODUCT, PUBLIC),
        (SHIRT_PRODUCT, PUBLIC_WITH_UPDATE),
        (RED_VARIATION, READER),
        (RED_VARIATION, WRITER),
        (RED_VARIATION, PUBLIC),
        (RED_VARIATION, PUBLIC_WITH_UPDATE),
    ] {
        assert_eq!(
            refused(put(&fake, path, token, one()).await).await,
            forbidden,
            "{path} {token}"
        );
    }
    assert!(fake.ledger().is_empty());
    assert_eq!(put(&fake, SHIRT_PRODUCT, WRITER, one()).await.status(), 200);
    assert_eq!(put(&fake, RED_VARIATION, TOKEN, one()).await.status(), 200);
    // A token of another store, and one sent in the query, do not count.
    assert_eq!(
        refused(put(&fake, SHIRT_PRODUCT, OTHER_TOKEN, one()).await).await,
        (403, "INVALID_API_TOKEN".to_owned())
    );
    let response = http()
        .get(format!("{}{SHIRT_PRODUCT}?token={TOKEN}", fake.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused(response).await,
        (403, "INVALID_API_TOKEN".to_owned())
    );
    assert_eq!(fake.ledger().len(), 2);
}

#[tokio::test]
async fn methods_not_served_are_refused_with_allow() {
    let fake = start_catalog().await;
    let client = http();
    for (method, path, allow) in [
        (reqwest::Method::POST, "/1003/products", "GET"),
        (reqwest::Method::PUT, "/1003/products", "GET"),
        (reqwest::Method::DELETE, SHIRT_PRODUCT, "GET, PUT"),
        (reqwest::Method::POST, RED_VARIATION, "GET, PUT"),
    ] {
        let response = client
            .request(method.clone(), format!("{}{path}", fake.base_url()))
            .bearer_auth(TOKEN)
            .json(&json!({"quantity": 1}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["allow"], allow, "{method} {path}");
        assert_eq!(
            refused(response).await,
            (405, "METHOD_NOT_ALLOWED".to_owned()),
            "{method} {path}"
        );
    }
    assert!(fake.ledger().is_empty());
}

/// On tokio's paused clock the fake's window stands still, so `Retry-After` is the whole
/// window however slowly the three requests are made.
#[tokio::test(start_paused = true)]
async fn reads_and_sets_count_against_the_rate_limit() {
    let fake = catalog()
        .rate_limit(RateLimit::new(2, Duration::from_secs(60)))
        .start()
        .await
        .unwrap();
    assert_eq!(get_as(&fake, SHIRT_PRODUCT, TOKEN).await.status(), 200);
    assert_eq!(
        set(&fake, SHIRT_PRODUCT, json!({"quantity": 3})).await.0,
        200
    );
    let late = put(&fake, SHIRT_PRODUCT, TOKEN, json!({"quantity": 4})).await;
    assert_eq!(late.headers()["retry-after"], "60");
    assert_eq!(refused(late).await, (429, "RATE_LIMITED".to_owned()));
    let late = get_as(&fake, "/1003/products", TOKEN).await;
    assert_eq!(refused(late).await, (429, "RATE_LIMITED".to_owned()));
    assert_eq!(stock(&fake, product(SHIRT)), Some(Stock::Quantity(3)));
    // Another token has its own window.
    assert_eq!(get_as(&fake, SHIRT_PRODUCT, READER).await.status(), 200);
}

/// A read, or a set of the count to 1.
async fn send(fake: &FakeStore, method: &str, path: &str) -> reqwest::Response {
    if method == "GET" {
        get_as(fake, path, TOKEN).await
    } else {
        put(fake, path, TOKEN, json!({"quantity": 1})).await
    }
}

#[tokio::test]
async fn faults_are_scripted_per_route() {
    let fake = start_catalog().await;
    let cases = [
        (Route::SearchProducts, "GET", "/1003/products"),
        (Route::GetProduct, "GET", SHIRT_PRODUCT),
        (Route::UpdateProductStock, "PUT", SHIRT_PRODUCT),
        (Route::GetVariation, "GET", RED_VARIATION),
        (Route::UpdateVariationStock, "PUT", RED_VARIATION),
    ];
    for (route, method, path) in cases {
        fake.inject_fault(route, 1, Fault::ecwid_error(503, "DOWN", "scripted"));
        // Every other route answers normally while this one's fault waits.
        for (other, other_method, other_path) in cases {
            if other != route {
                let status = send(&fake, other_method, other_path).await.status();
                assert_eq!(status, 200, "{other:?} while {route:?} waits");
            }
        }
        assert_eq!(fake.pending_faults(), 1);
        assert_eq!(send(&fake, method, path).await.status(), 503, "{route:?}");
        assert_eq!(fake.pending_faults(), 0);
    }

    // The set lands, and the answer is lost: the ledger still shows it.
    fake.inject_fault(Route::UpdateProductStock, 1, Fault::CloseAfterApplying);
    let lost = http()
        .put(format!("{}{SHIRT_PRODUCT}", fake.base_url()))
        .bearer_auth(TOKEN)
        .json(&json!({"quantity": 9}))
        .send()
        .await;
    assert!(lost.is_err(), "the answer never arrives");
    assert_eq!(stock(&fake, product(SHIRT)), Some(Stock::Quantity(9)));
    assert_eq!(
        fake.ledger().last().map(|e| e.change),
        Some(StockChange::Set(Stock::Quantity(9)))
    );
    // A fault of a write route does not meet a read of the same path.
    fake.inject_fault(Route::UpdateVariationStock, 1, Fault::CloseBeforeApplying);
    assert_eq!(get_as(&fake, RED_VARIATION, TOKEN).await.status(), 200);
    assert_eq!(fake.pending_faults(), 1);
}

// ---------------------------------------------------------------------------------------------
// Batches

async fn settled(fake: &FakeStore, ticket: &str) -> Vec<(u16, Value)> {
    fake.batches_settled().await;
    let (status, body) = get(fake, &format!("/1003/batch?ticket={ticket}")).await;
    assert_eq!(status, 200, "{body}");
    assert_valid::<BatchStatus>(&body);
    let status: BatchStatus = serde_json::from_value(body).unwrap();
    status
        .responses
        .into_iter()
        .map(|r| {
            (
                r.http_status_code
                    .and_then(|code| u16::try_from(code).ok())
                    .expect("executed"),
                r.http_body.expect("a body"),
            )
        })
        .collect()
}

#[tokio::test]
async fn sets_and_reads_run_in_a_batch_through_the_same_rules() {
    let fake = start_catalog().await;
    let search = format!("/products?sku=SHIRT-RED&responseFields={SEARCH_FIELDS}");
    let ticket = ticket_as(
        &fake,
        "?stopOnFirstFailure=false",
        TOKEN,
        json!([
            {"id": "a", "method": "PUT", "path": "/products/1", "body": {"quantity": 3}},
            {"id": "b", "method": "PUT", "path": "/products/1/combinations/12", "body": {"quantity": 3}},
            {"id": "c", "method": "PUT", "path": "/products/1/combinations/12", "body": {"quantity": 4}},
            {"id": "d", "method": "PUT", "path": "/products/1/combinations/11", "body": {"unlimited": true}},
            {"id": "e", "method": "GET", "path": "/products/1?responseFields=id,quantity,combinations(id,quantity,unlimited)"},
            {"id": "f", "method": "GET", "path": "/products/1/combinations/12"},
            {"id": "g", "method": "GET", "path": search},
            {"id": "h", "method": "GET", "path": "/products?productId=2,4&limit=1"},
            {"id": "i", "method": "GET", "path": "/products/1?responseFields=items("},
            {"id": "j", "method": "PUT", "path": "/products/9", "body": {"quantity": 1}},
        ]),
    )
    .await;
    let results = settled(&fake, &ticket).await;
    assert_eq!(results[0], (200, json!({"updateCount": 1})));
    assert_eq!(
        results[1],
        (200, json!({"updateCount": 1})),
        "the product's count"
    );
    assert_eq!(results[2].0, 400);
    assert_eq!(results[2].1["errorCode"], "DIFFERENT_COMBINATION_STOCK");
    assert_eq!(results[3], (200, json!({"updateCount": 1})));
    assert_eq!(
        results[4],
        (
            200,
            json!({"id": 1, "quantity": 3, "combinations": [
                {"id": 11, "unlimited": true},
                {"id": 12, "quantity": 3, "unlimited": false},
            ]})
        )
    );
    assert_eq!(results[5].1["quantity"], 3);
    assert_valid::<VariationStock>(&results[5].1);
    assert_eq!(results[6].1["total"], 1);
    assert_eq!(
        results[6].1["items"][0]["combinations"][0]["unlimited"],
        true
    );
    assert_eq!(results[7].1["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        (results[7].1["total"].clone(), ids(&results[7].1)),
        (json!(2), vec![2])
    );
    assert_valid::<ProductPage>(&results[7].1);
    assert_eq!(
        error_code(results[8].clone()),
        (400, "WRONG_PARAMETER".to_owned())
    );
    assert_eq!(
        error_code(results[9].clone()),
        (404, "PRODUCT_NOT_FOUND".to_owned())
    );

    // The sets are in the ledger as sets, from the batch.
    let ledger = fake.ledger();
    let entries: Vec<_> = ledger
        .iter()
        .map(|e| {
            let Origin::Batch { index, .. } = e.origin else {
                panic!("not from the batch: {e:?}")
            };
            (index, e.item, e.change)
        })
        .collect();
    assert_eq!(
        entries,
        [
            (0, product(SHIRT), StockChange::Set(Stock::Quantity(3))),
            (
                1,
                variation(SHIRT, SHIRT_PLAIN),
                StockChange::Set(Stock::Quantity(3))
            ),
            (
                3,
                variation(SHIRT, SHIRT_RED),
                StockChange::Set(Stock::Unlimited)
            ),
        ]
    );
}

#[tokio::test]
async fn a_batch_item_has_the_creating_token_scopes() {
    let fake = start_catalog().await;
    let ticket = ticket_as(
        &fake,
        "?stopOnFirstFailure=false",
        READER,
        json!([
            {"method": "GET", "path": "/products/1/combinations/11?responseFields=quantity"},
            {"method": "PUT", "path": "/products/1", "body": {"quantity": 3}},
            {"method": "GET", "path": "/products?sku=SHIRT&responseFields=count"},
        ]),
    )
    .await;
    let results = settled(&fake, &ticket).await;
    assert_eq!(results[0], (200, json!({"quantity": 10})));
    assert_eq!(
        error_code(results[1].clone()),
        (403, "INSUFFICIENT_APP_SCOPE".to_owned())
    );
    assert_eq!(results[2], (200, json!({"count": 1})));
    assert!(fake.ledger().is_empty());
}

// ---------------------------------------------------------------------------------------------
// The SDK's reads and sets against the fake

#[tokio::test]
async fn the_client_reads_finds_and_sets_stock_through_the_fake() {
    let fake = start_catalog().await;
    let client = fake.client_builder(TOKEN).no_rate_limit().build().unwrap();
    let red = variation(SHIRT, SHIRT_RED);
    let plain = variation(SHIRT, SHIRT_PLAIN);

    let read = client.stock(red).await.unwrap();
    assert_eq!(
        (read.sku.as_str(), read.stock),
        ("SHIRT-RED", Stock::Quantity(10))
    );
    assert!(read.in_stock && !read.shares_product_stock);
    let read = client.stock(plain).await.unwrap();
    assert_eq!(read.stock, Stock::Quantity(20));
    assert!(read.shares_product_stock);
    let read = client.stock(product(EBOOK)).await.unwrap();
    assert_eq!(read.stock, Stock::Unlimited);

    let found = client.find_sku("P-D").await.unwrap();
    assert_eq!(
        found.found().map(|item| (item.item, item.stock)),
        Some((variation(POSTER, POSTER_DIGITAL), Stock::Unlimited))
    );
    assert_eq!(client.find_sku("shirt").await.unwrap(), SkuMatch::NotFound);
    // More than two SKUs go out as a batch of searches.
    let report = client
        .find_skus(["SHIRT", "SHIRT-RED", "MUG", "NOPE"])
        .await
        .unwrap();
    let found: Vec<_> = report.found().map(|(sku, item)| (sku, item.item)).collect();
    assert_eq!(
        found,
        [
            ("SHIRT", product(SHIRT)),
            ("SHIRT-RED", red),
            ("MUG", product(MUG))
        ]
    );
    assert_eq!(report.not_found().collect::<Vec<_>>(), ["NOPE"]);

    client.set_stock(red, 4).send().await.unwrap();
    client
        .set_unlimited_stock(product(MUG))
        .send()
        .await
        .unwrap();
    let refused = client.set_stock(plain, 21).send().await.unwrap_err();
    assert_eq!(refused.status(), Some(400), "{refused}");
    assert_eq!(stock(&fake, red), Some(Stock::Quantity(4)));
    assert_eq!(stock(&fake, product(MUG)), Some(Stock::Unlimited));
    assert_eq!(
        changes(&fake),
        [
            (
                red,
                StockChange::Set(Stock::Quantity(4)),
                Stock::Quantity(4)
            ),
            (
                product(MUG),
                StockChange::Set(Stock::Unlimited),
                Stock::Unlimited
            ),
        ]
    );
}
