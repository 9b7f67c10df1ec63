//! What reading a whole catalog needs from the fake store: a product's variations in one list,
//! search orders (`sortBy`) that page stably, products' update times and the `updatedFrom` /
//! `updatedTo` filters, the 200-variation cap of a search page, the generated big catalog, and
//! the same reads carried by a batch. Spoken to with raw `reqwest` on loopback.

use crate::common;

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use ecwid_inventory::ProductId;
use ecwid_inventory_fake::{demo, FakeStore, FakeToken, Product, Scope, Store};
use serde_json::{json, Value};

use common::*;

/// A token with `update_catalog` only.
const WRITER_ONLY: &str = "secret_writer_only";

/// Far more than the time a test takes, so that an update after it is always later.
const AN_HOUR: Duration = Duration::from_secs(3600);

/// The error code of a refusal.
fn code(answer: &(u16, Value)) -> (u16, &str) {
    (
        answer.0,
        answer.1["errorCode"].as_str().unwrap_or("no errorCode"),
    )
}

/// The ids of a search page's items, or of a list's elements.
fn ids(answer: &Value) -> Vec<u64> {
    answer
        .get("items")
        .unwrap_or(answer)
        .as_array()
        .expect("a list")
        .iter()
        .map(|item| item["id"].as_u64().expect("an id"))
        .collect()
}

/// A demo shop product's `updateTimestamp`.
async fn updated_at(fake: &FakeStore, product: ProductId) -> i64 {
    let (status, answer) = demo_get(fake, &format!("/1003/products/{product}")).await;
    assert_eq!(status, 200, "{answer}");
    answer["updateTimestamp"]
        .as_i64()
        .expect("an updateTimestamp")
}

async fn adjust(fake: &FakeStore, path: &str, delta: i64) {
    let response = put_at(
        &fake.base_url(),
        path,
        demo::TOKEN,
        json!({ "quantityDelta": delta }),
    )
    .await;
    assert_eq!(response.status(), 200);
}

fn demo_paths() -> (String, String, String) {
    let (tee, small) = demo::SMALL_TEE;
    (
        format!("/1003/products/{tee}/combinations/{small}/inventory"),
        format!("/1003/products/{}/inventory", demo::MUG),
        format!("/1003/products/{}/inventory", demo::GIFT_CARD),
    )
}

/// The demo shop with a token that may write but not read.
async fn demo_with_writer() -> FakeStore {
    demo_shop()
        .no_rate_limit()
        .token(FakeToken::secret(demo::STORE, WRITER_ONLY).scopes([Scope::UpdateCatalog]))
        .start()
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// A product's variations

#[tokio::test]
async fn list_variations_answers_every_variation_of_a_product_as_its_own_read_does() {
    let fake = demo_with_writer().await;
    let (status, list) =
        demo_get(&fake, &format!("/1003/products/{}/combinations", demo::TEE)).await;
    assert_eq!(status, 200);
    let expected = [demo::SMALL_TEE.1, demo::MEDIUM_TEE.1, demo::LARGE_TEE.1].map(|c| c.get());
    assert_eq!(ids(&list), expected);
    for (listed, combination) in list.as_array().unwrap().iter().zip(expected) {
        let (_, alone) = demo_get(
            &fake,
            &format!("/1003/products/{}/combinations/{combination}", demo::TEE),
        )
        .await;
        assert_eq!(*listed, alone);
    }
    // The large T-shirt has no SKU of its own: it answers the T-shirt's stock.
    assert_eq!(
        (&list[2]["sku"], &list[2]["quantity"]),
        (&json!(""), &json!(20))
    );

    let (_, cut) = demo_get(
        &fake,
        &format!(
            "/1003/products/{}/combinations?responseFields=id,quantity",
            demo::TEE
        ),
    )
    .await;
    assert_eq!(
        cut,
        json!([{"id": expected[0], "quantity": 10}, {"id": expected[1], "quantity": 15},
               {"id": expected[2], "quantity": 20}])
    );
    let (status, none) =
        demo_get(&fake, &format!("/1003/products/{}/combinations", demo::MUG)).await;
    assert_eq!((status, none), (200, json!([])));

    // Reading needs read_catalog, as every read does; a public token has it.
    let path = format!("/1003/products/{}/combinations", demo::TEE);
    assert_eq!(
        read(get_as(&fake, &path, demo::PUBLIC_TOKEN).await).await.1,
        list
    );
    let refused = read(get_as(&fake, &path, WRITER_ONLY).await).await;
    assert_eq!(code(&refused), (403, "INSUFFICIENT_APP_SCOPE"));
    for (path, expected) in [
        ("/1003/products/9/combinations", (404, "PRODUCT_NOT_FOUND")),
        ("/9999/products/1/combinations", (404, "STORE_NOT_FOUND")),
        (
            "/1003/products/9/combinations?responseFields=id,",
            (400, "WRONG_PARAMETER"),
        ),
    ] {
        assert_eq!(code(&demo_get(&fake, path).await), expected, "{path}");
    }
    let put = put_at(&fake.base_url(), &path, demo::TOKEN, json!({})).await;
    assert_eq!(put.status(), 405);
}

#[tokio::test]
async fn over_200_variations_refuse_a_search_page_but_not_a_product_s_own_reads() {
    // 100 + 100 + 1 variations, each with its own SKU.
    let fake = FakeStore::builder()
        .store(
            Store::new(demo::STORE)
                .product(demo::numbered_product(ProductId::new(1), "A", 100, 1))
                .product(demo::numbered_product(ProductId::new(2), "B", 100, 1))
                .product(demo::numbered_product(ProductId::new(3), "C", 1, 1)),
        )
        .tokens(demo::tokens())
        .start()
        .await
        .unwrap();
    for query in [
        "",
        "?limit=3",
        "?responseFields=items",
        "?responseFields=total,items(id,combinations(id))",
        "?productId=1,2,3",
    ] {
        let refused = demo_get(&fake, &format!("/1003/products{query}")).await;
        assert_eq!(
            code(&refused),
            (400, "COMBINATION_LIMIT_PER_REQUEST_EXCEEDED"),
            "{query}"
        );
    }
    for (query, expected) in [
        // 200 exactly is allowed.
        ("?limit=2", vec![1, 2]),
        ("?offset=1", vec![2, 3]),
        ("?sku=B-7", vec![2]),
        // Variations not sent: no cap.
        ("?responseFields=total,items(id,sku)", vec![1, 2, 3]),
        ("?responseFields=total", vec![]),
    ] {
        let (status, page) = demo_get(&fake, &format!("/1003/products{query}")).await;
        assert_eq!(status, 200, "{query}: {page}");
        if !expected.is_empty() {
            assert_eq!(ids(&page), expected, "{query}");
        }
    }
    // One product's own reads are not capped (the fake's choice): listVariations is the way to
    // read a product with many variations.
    let (status, list) = demo_get(&fake, "/1003/products/1/combinations").await;
    assert_eq!((status, list.as_array().unwrap().len()), (200, 100));
    let fake = FakeStore::builder()
        .store(Store::new(demo::STORE).product(demo::numbered_product(
            ProductId::new(1),
            "BIG",
            250,
            1,
        )))
        .tokens(demo::tokens())
        .start()
        .await
        .unwrap();
    let (status, list) = demo_get(&fake, "/1003/products/1/combinations").await;
    assert_eq!((status, list.as_array().unwrap().len()), (200, 250));
    let (status, product) = demo_get(&fake, "/1003/products/1").await;
    assert_eq!(
        (status, product["combinations"].as_array().unwrap().len()),
        (200, 250)
    );
    let refused = demo_get(&fake, "/1003/products?productId=1").await;
    assert_eq!(
        code(&refused),
        (400, "COMBINATION_LIMIT_PER_REQUEST_EXCEEDED")
    );
}

// ---------------------------------------------------------------------------------------------
// Update times

#[tokio::test]
async fn every_applied_change_moves_its_product_s_update_time_and_nothing_else_does() {
    let fake = demo_store().await;
    let (small_tee, _, gift_card) = demo_paths();
    let start = updated_at(&fake, demo::TEE).await;
    for product in [demo::MUG, demo::GIFT_CARD] {
        assert_eq!(
            updated_at(&fake, product).await,
            start,
            "all start together"
        );
    }
    let (_, tee) = demo_get(&fake, &format!("/1003/products/{}", demo::TEE)).await;
    let (_, mug_answer) = demo_get(&fake, &format!("/1003/products/{}", demo::MUG)).await;
    assert_eq!(tee["updated"], mug_answer["updated"]);
    assert!(
        tee["updated"].as_str().unwrap().ends_with(" +0000"),
        "{tee}"
    );

    // A variation's adjustment moves its product.
    fake.advance_clock(AN_HOUR);
    adjust(&fake, &small_tee, -1).await;
    let tee_changed = updated_at(&fake, demo::TEE).await;
    assert!(tee_changed >= start + 3600, "{tee_changed} after {start}");
    assert_eq!(updated_at(&fake, demo::MUG).await, start);
    let (_, tee) = demo_get(&fake, &format!("/1003/products/{}", demo::TEE)).await;
    assert_ne!(tee["updated"], mug_answer["updated"]);

    // A set carried by a batch moves its product too.
    fake.advance_clock(AN_HOUR);
    let items = json!([{"method": "PUT", "path": format!("/products/{}", demo::MUG),
                        "body": {"quantity": 3}}]);
    let created = create_batch(&fake, "", items).await.unwrap();
    assert_eq!(created.status(), 200);
    fake.batches_settled().await;
    assert!(updated_at(&fake, demo::MUG).await >= tee_changed + 3600);

    // What changes no stock moves nothing: a read, an adjustment of unlimited stock
    // (updateCount 0), a set with no stock field, a refused set.
    fake.advance_clock(AN_HOUR);
    let before: Vec<i64> = update_times(&fake).await;
    adjust(&fake, &gift_card, -1).await;
    let tee = format!("/1003/products/{}", demo::TEE);
    assert_eq!(put(&fake, &tee, demo::TOKEN, json!({})).await.status(), 200);
    let (tee_id, large) = demo::LARGE_TEE;
    let different = json!({"quantity": 1});
    let path = format!("/1003/products/{tee_id}/combinations/{large}");
    assert_eq!(
        put(&fake, &path, demo::TOKEN, different).await.status(),
        400
    );
    assert_eq!(update_times(&fake).await, before);
}

/// The demo shop's three products' update times, in id order.
async fn update_times(fake: &FakeStore) -> Vec<i64> {
    let mut times = Vec::new();
    for product in [demo::TEE, demo::GIFT_CARD, demo::MUG] {
        times.push(updated_at(fake, product).await);
    }
    times
}

// ---------------------------------------------------------------------------------------------
// Orders

/// Products 30, 10 and 20, added in that order, with no variations.
async fn three_products() -> FakeStore {
    let store = [30, 10, 20]
        .into_iter()
        .fold(Store::new(demo::STORE), |store, id| {
            store.product(
                Product::new(ProductId::new(id))
                    .sku(format!("P{id}"))
                    .quantity(5),
            )
        });
    FakeStore::builder()
        .store(store)
        .tokens(demo::tokens())
        .start()
        .await
        .unwrap()
}

async fn order(fake: &FakeStore, sort: &str) -> Vec<u64> {
    let (status, page) = demo_get(fake, &format!("/1003/products?sortBy={sort}")).await;
    assert_eq!(status, 200, "{sort}: {page}");
    ids(&page)
}

#[tokio::test]
async fn search_orders_by_sort_by_with_ties_broken_by_id() {
    let fake = three_products().await;
    // The fake holds no names, prices or owner's order: those keep id order, as no sortBy does.
    for sort in [
        "RELEVANCE",
        "DEFINED_BY_STORE_OWNER",
        "NAME_ASC",
        "NAME_DESC",
        "PRICE_ASC",
        "PRICE_DESC",
    ] {
        assert_eq!(order(&fake, sort).await, [10, 20, 30], "{sort}");
    }
    assert_eq!(
        ids(&demo_get(&fake, "/1003/products").await.1),
        [10, 20, 30]
    );
    assert_eq!(order(&fake, "ADDED_TIME_ASC").await, [30, 10, 20]);
    assert_eq!(order(&fake, "ADDED_TIME_DESC").await, [20, 10, 30]);
    // Every product was last updated when the fake started: a tie, broken by id.
    assert_eq!(order(&fake, "UPDATED_TIME_ASC").await, [10, 20, 30]);
    assert_eq!(order(&fake, "UPDATED_TIME_DESC").await, [30, 20, 10]);

    fake.advance_clock(AN_HOUR);
    adjust(&fake, "/1003/products/10/inventory", 1).await;
    assert_eq!(order(&fake, "UPDATED_TIME_ASC").await, [20, 30, 10]);
    assert_eq!(order(&fake, "UPDATED_TIME_DESC").await, [10, 30, 20]);
    fake.advance_clock(AN_HOUR);
    adjust(&fake, "/1003/products/30/inventory", 1).await;
    assert_eq!(order(&fake, "UPDATED_TIME_ASC").await, [20, 10, 30]);
    // The order holds across pages.
    let mut paged = Vec::new();
    for offset in 0..3 {
        let query = format!("/1003/products?sortBy=UPDATED_TIME_ASC&limit=1&offset={offset}");
        paged.extend(ids(&demo_get(&fake, &query).await.1));
    }
    assert_eq!(paged, [20, 10, 30]);

    for sort in ["updated_time_asc", "NEWEST", ""] {
        let refused = demo_get(&fake, &format!("/1003/products?sortBy={sort}")).await;
        assert_eq!(code(&refused), (400, "WRONG_PARAMETER"), "{sort:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// What changed

async fn search_ids(fake: &FakeStore, query: &str) -> Vec<u64> {
    let (status, page) = demo_get(fake, &format!("/1003/products?{query}")).await;
    assert_eq!(status, 200, "{query}: {page}");
    ids(&page)
}

#[tokio::test]
async fn updated_from_and_updated_to_are_bounds_included() {
    let fake = demo_store().await;
    let (small_tee, mug, _) = demo_paths();
    let (tee, gift, mug_id) = (demo::TEE.get(), demo::GIFT_CARD.get(), demo::MUG.get());
    fake.advance_clock(AN_HOUR);
    adjust(&fake, &mug, -1).await;
    fake.advance_clock(AN_HOUR);
    adjust(&fake, &small_tee, -1).await;
    let at = updated_at(&fake, demo::MUG).await;
    assert!(updated_at(&fake, demo::GIFT_CARD).await < at);
    assert!(updated_at(&fake, demo::TEE).await > at);

    for (query, expected) in [
        (format!("updatedFrom={at}"), vec![tee, mug_id]),
        (format!("updatedFrom={}", at + 1), vec![tee]),
        (format!("updatedTo={at}"), vec![gift, mug_id]),
        (format!("updatedTo={}", at - 1), vec![gift]),
        (format!("updatedFrom={at}&updatedTo={at}"), vec![mug_id]),
        (
            format!("updatedFrom={at}&sortBy=UPDATED_TIME_ASC"),
            vec![mug_id, tee],
        ),
        // With sku or productId, Ecwid ignores the other filters.
        (format!("updatedFrom={}&sku=MUG", at + 1), vec![mug_id]),
        (format!("updatedTo={}&productId={tee}", at - 1), vec![tee]),
    ] {
        assert_eq!(search_ids(&fake, &query).await, expected, "{query}");
    }

    // The same bound written as a date, with or without its offset.
    let (_, product) = demo_get(&fake, &format!("/1003/products/{mug_id}")).await;
    let date = product["updated"].as_str().unwrap();
    let without_offset = date.strip_suffix(" +0000").unwrap();
    for written in [date, without_offset] {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("updatedFrom", written)
            .append_pair("updatedTo", written)
            .finish();
        assert_eq!(search_ids(&fake, &query).await, [mug_id], "{written}");
    }
    for bad in ["yesterday", "2024-01-01T00:00:00", "-5", "2024-1-1", ""] {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("updatedFrom", bad)
            .finish();
        let refused = demo_get(&fake, &format!("/1003/products?{query}")).await;
        assert_eq!(code(&refused), (400, "WRONG_PARAMETER"), "{bad:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// The generated catalog, read whole

/// Every product of the store, paged in `sort` order with `fields`: a page refused for carrying
/// over 200 variations is asked again with half the limit, as a reader must. Returns the
/// products and how many pages were refused. At most 1,000 requests.
async fn read_all(fake: &FakeStore, sort: &str, fields: &str) -> (Vec<Value>, usize) {
    let (mut products, mut refusals, mut offset, mut limit) = (Vec::new(), 0, 0, 100);
    for _ in 0..1_000 {
        let query = format!(
            "/1003/products?sortBy={sort}&offset={offset}&limit={limit}&responseFields={fields}"
        );
        let (status, page) = demo_get(fake, &query).await;
        if status == 400 && page["errorCode"] == "COMBINATION_LIMIT_PER_REQUEST_EXCEEDED" {
            refusals += 1;
            limit /= 2;
            continue;
        }
        assert_eq!(status, 200, "{query}: {page}");
        let items = page["items"].as_array().unwrap().clone();
        offset += items.len();
        products.extend(items);
        if offset >= page["total"].as_u64().unwrap() as usize {
            return (products, refusals);
        }
        limit = 100;
    }
    panic!("the catalog was not read in 1,000 requests");
}

async fn catalog_store(products: u64, seed: u64) -> FakeStore {
    FakeStore::builder()
        .store(demo::catalog(products, seed))
        .tokens(demo::tokens())
        .no_rate_limit()
        .start()
        .await
        .unwrap()
}

const CATALOG_FIELDS: &str =
    "total,items(id,sku,quantity,unlimited,combinations(id,sku,unlimited))";

#[tokio::test]
async fn a_generated_catalog_reads_whole_in_a_stable_order_with_the_mix_it_promises() {
    let fake = catalog_store(1_000, 7).await;
    let (products, refusals) = read_all(&fake, "ADDED_TIME_ASC", CATALOG_FIELDS).await;
    let ids: Vec<u64> = products.iter().map(|p| p["id"].as_u64().unwrap()).collect();
    assert_eq!(
        ids,
        (1..=1_000).collect::<Vec<_>>(),
        "each product once, as added"
    );
    assert!(refusals > 0, "some pages of 100 carry over 200 variations");

    let mut skus = HashSet::new();
    let (mut bare, mut many, mut unlimited, mut sharing, mut unlimited_variations) =
        (0, 0, 0, 0, 0);
    for product in &products {
        assert!(skus.insert(product["sku"].as_str().unwrap().to_owned()));
        unlimited += usize::from(product["unlimited"] == true);
        let variations = product["combinations"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        bare += usize::from(variations.is_empty());
        many += usize::from(variations.len() >= 3);
        assert!(variations.len() <= 5);
        for variation in variations {
            match variation["sku"].as_str().unwrap() {
                "" => sharing += 1,
                sku => {
                    assert!(skus.insert(sku.to_owned()), "{sku} twice");
                    unlimited_variations += usize::from(variation["unlimited"] == true);
                }
            }
        }
    }
    for (what, n) in [
        ("products without variations", bare),
        ("products with three or more", many),
        ("unlimited products", unlimited),
        ("variations sharing their product's stock", sharing),
        ("unlimited variations", unlimited_variations),
    ] {
        assert!(n > 10, "{n} {what}");
    }

    // The same seed makes the same catalog; another seed another one.
    let again = catalog_store(1_000, 7).await;
    assert_eq!(
        read_all(&again, "ADDED_TIME_ASC", CATALOG_FIELDS).await.0,
        products
    );
    let other = catalog_store(1_000, 8).await;
    assert_ne!(
        read_all(&other, "ADDED_TIME_ASC", CATALOG_FIELDS).await.0,
        products
    );
}

#[tokio::test]
async fn a_cursor_on_update_times_reads_exactly_what_changed_since() {
    let fake = catalog_store(300, 3).await;
    let fields = "total,items(id,updateTimestamp)";
    let (first, _) = read_all(&fake, "UPDATED_TIME_ASC", fields).await;
    let cursor = first
        .iter()
        .map(|p| p["updateTimestamp"].as_i64().unwrap())
        .max()
        .unwrap();

    // Changes after the cursor: a REST set and adjustment, then a batch.
    fake.advance_clock(AN_HOUR);
    let set = put(
        &fake,
        "/1003/products/7",
        demo::TOKEN,
        json!({"quantity": 1}),
    )
    .await;
    assert_eq!(set.status(), 200);
    adjust(&fake, "/1003/products/250/inventory", -1).await;
    fake.advance_clock(AN_HOUR);
    let items = json!([
        {"method": "PUT", "path": "/products/42/inventory", "body": {"quantityDelta": 2}},
        {"method": "GET", "path": "/products/1/combinations"},
    ]);
    assert_eq!(create_batch(&fake, "", items).await.unwrap().status(), 200);
    fake.batches_settled().await;

    let query = format!("sortBy=UPDATED_TIME_ASC&updatedFrom={}", cursor + 1);
    let changed = search_ids(&fake, &query).await;
    // 7 changed before 250, or in the same second (a tie, broken by id): 7 first either way.
    // 42 came an hour later; the batch's read changed nothing.
    assert_eq!(changed, [7, 250, 42]);
    let everything: BTreeSet<u64> = search_ids(&fake, &format!("updatedFrom={cursor}&limit=100"))
        .await
        .into_iter()
        .collect();
    assert_eq!(
        everything.len(),
        100,
        "the cursor itself is included: every product"
    );
}

// ---------------------------------------------------------------------------------------------
// The same reads, carried by a batch

#[tokio::test]
async fn a_batch_carries_variation_lists_orders_and_update_filters_as_rest_answers_them() {
    let fake = demo_store().await;
    let (_, mug, _) = demo_paths();
    fake.advance_clock(AN_HOUR);
    adjust(&fake, &mug, -1).await;
    let since = updated_at(&fake, demo::MUG).await;
    let reads = [
        format!(
            "/products/{}/combinations?responseFields=id,quantity",
            demo::TEE
        ),
        format!("/products/{}/combinations", demo::MUG),
        "/products?sortBy=ADDED_TIME_DESC&responseFields=items(id)".to_owned(),
        format!("/products?sortBy=UPDATED_TIME_DESC&updatedFrom={since}"),
        "/products/9/combinations".to_owned(),
        "/products?sortBy=OLDEST".to_owned(),
    ];
    let items: Vec<Value> = reads
        .iter()
        .map(|path| json!({"method": "GET", "path": path}))
        .collect();
    let created = read(
        create_batch(&fake, "?stopOnFirstFailure=false", json!(items))
            .await
            .unwrap(),
    )
    .await;
    fake.batches_settled().await;
    let ticket = created.1["ticket"].as_str().unwrap();
    let (_, status) = batch_status(&fake, &format!("ticket={ticket}")).await;
    let responses = status["responses"].as_array().unwrap();
    assert_eq!(responses.len(), reads.len());
    for (path, response) in reads.iter().zip(responses) {
        let (code, body) = demo_get(&fake, &format!("/1003{path}")).await;
        assert_eq!(response["httpStatusCode"], code, "{path}");
        assert_eq!(response["httpBody"], body, "{path}");
    }
    assert_eq!(ids(&responses[3]["httpBody"]), [demo::MUG.get()]);
    assert_eq!(responses[4]["httpBody"]["errorCode"], "PRODUCT_NOT_FOUND");
    assert_eq!(responses[5]["httpBody"]["errorCode"], "WRONG_PARAMETER");
}
