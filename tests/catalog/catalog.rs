//! The whole catalog's stock as a stream (`Client::catalog_stock`): against the fake store over
//! thousands of generated products, with the requests counted; incrementally, from a cursor;
//! and against a scripted server whose pages cannot be trusted, which must end with a clear
//! error or a complete answer, never an endless read.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

use ecwid_inventory::{
    catalog::{CatalogCursor, CURSOR_OVERLAP},
    CombinationId, Error, Polling, ProductId, Progress, RetryPolicy, Stock, StockItem, StockLevel,
};
use ecwid_inventory_fake::{demo, FakeStore, Product, Store};
use futures::StreamExt;
use serde_json::{json, Value};
use wiremock::{matchers::any, Mock, MockServer, Request, ResponseTemplate};

use common::{demo_client, http, mock_client_builder, ms, MOCK_TOKEN};

/// What the tests compare of an item: product and variation ids, SKU, stock, in stock,
/// shares its product's stock.
type Row = (u64, Option<u64>, String, String, bool, bool);

fn row(item: &StockLevel) -> Row {
    make_row(
        item.item,
        &item.sku,
        item.stock,
        item.in_stock,
        item.shares_product_stock,
    )
}

fn make_row(item: StockItem, sku: &str, stock: Stock, in_stock: bool, shares: bool) -> Row {
    (
        item.product().get(),
        item.combination().map(CombinationId::get),
        sku.to_owned(),
        stock.to_string(),
        in_stock,
        shares,
    )
}

/// The generated catalog, and a big product at its end (more variations than a page may
/// carry).
async fn catalog_fake(products: u64, big: Option<u64>) -> FakeStore {
    let mut store = demo::catalog(products, 11);
    if let Some(variations) = big {
        store = store.product(demo::numbered_product(
            ProductId::new(900_000),
            "BIG",
            variations,
            7,
        ));
    }
    fake_of(store).await
}

async fn fake_of(store: Store) -> FakeStore {
    FakeStore::builder()
        .store(store)
        .tokens(demo::tokens())
        .no_rate_limit()
        .start()
        .await
        .unwrap()
}

/// Reads the stream to its end: the items, and the error that ended it, if any.
async fn read_all(
    mut stream: ecwid_inventory::catalog::CatalogStream<'_>,
) -> (Vec<StockLevel>, Option<Error>, Option<CatalogCursor>) {
    let mut items = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(item) => items.push(item),
            Err(error) => {
                assert!(
                    stream.next().await.is_none(),
                    "the stream ends after an error"
                );
                return (items, Some(error), stream.cursor());
            }
        }
    }
    (items, None, stream.cursor())
}

/// The catalog as an independent reader sees it: plain search pages of 20 products (never
/// over the variation cap), and each variation's list for a product with more than 20,
/// read with raw requests and parsed here.
async fn oracle(fake: &FakeStore) -> Vec<Row> {
    let http = http();
    let get = |path: String| {
        let http = &http;
        async move {
            http.get(format!("{}/1003{path}", fake.base_url()))
                .bearer_auth(demo::TOKEN)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let stock = |item: &Value| {
        if item["unlimited"] == json!(true) {
            Stock::Unlimited
        } else {
            Stock::Quantity(item["quantity"].as_i64().expect("a quantity"))
        }
    };
    let mut rows = Vec::new();
    let mut offset = 0;
    loop {
        let page = get(format!(
            "/products?sortBy=ADDED_TIME_ASC&offset={offset}&limit=20&responseFields=total,items(id)"
        ))
        .await;
        let ids: Vec<u64> = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_u64().unwrap())
            .collect();
        for id in &ids {
            let product = get(format!("/products/{id}")).await;
            let product_id = ProductId::new(*id);
            let own_sku = product["sku"].as_str().unwrap();
            let own_stock = stock(&product);
            let own_in_stock = product["inStock"].as_bool().unwrap();
            for variation in product["combinations"].as_array().into_iter().flatten() {
                let item = StockItem::Variation {
                    product: product_id,
                    combination: CombinationId::new(variation["id"].as_u64().unwrap()),
                };
                let sku = variation["sku"].as_str().unwrap_or_default();
                rows.push(if sku.is_empty() {
                    make_row(item, own_sku, own_stock, own_in_stock, true)
                } else {
                    make_row(
                        item,
                        sku,
                        stock(variation),
                        variation["inStock"].as_bool().unwrap(),
                        false,
                    )
                });
            }
            rows.push(make_row(
                StockItem::Product {
                    product: product_id,
                },
                own_sku,
                own_stock,
                own_in_stock,
                false,
            ));
        }
        offset += 20;
        if ids.is_empty() || offset >= page["total"].as_u64().unwrap() {
            break;
        }
    }
    rows.sort();
    rows
}

fn sorted(items: &[StockLevel]) -> Vec<Row> {
    let mut rows: Vec<Row> = items.iter().map(row).collect();
    rows.sort();
    rows
}

// ---------------------------------------------------------------------------------------------
// The whole catalog, against the fake

/// 3,000 generated products (no variations to five, variations sharing their product's stock,
/// unlimited items) and one product with 250 variations: every item comes once, as an
/// independent reader sees it, for a handful of requests: one search, then batches.
#[tokio::test]
async fn the_whole_catalog_comes_once_each_for_a_handful_of_requests() {
    let fake = catalog_fake(3_000, Some(250)).await;
    let client = demo_client(&fake);
    let progress = Mutex::new(Vec::<Progress>::new());
    let stream = client
        .catalog_stock()
        .on_progress(|p| progress.lock().unwrap().push(*p))
        .poll_interval(Duration::from_millis(20), Duration::from_millis(100))
        .stream();
    let (items, error, cursor) = read_all(stream).await;
    assert!(error.is_none(), "{error:?}");
    assert!(cursor.is_some(), "a finished stream gives its cursor");

    let requests = fake.requests();
    let spent = client.requests_sent();
    assert_eq!(
        spent,
        requests.len() as u64,
        "the client counts what the fake received"
    );
    let searches = requests
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/products"))
        .count();
    let creates = requests.iter().filter(|r| r.method == "POST").count();
    assert_eq!(searches, 1, "one search; every other page through a batch");
    // 30 pages in one batch; pages over the variation cap read again as halves in a second;
    // the half holding the big product, refused again, read without variations in a third,
    // and its products' variation lists in a fourth (the catalog is the same for its seed).
    assert_eq!(creates, 4);
    assert!(spent <= 12, "{spent} requests for 3,001 products");

    let rows = sorted(&items);
    assert_eq!(rows.len(), items.len(), "no item comes twice");
    let expected = oracle(&fake).await;
    assert_eq!(rows.len(), expected.len());
    assert_eq!(rows, expected);
    let products = items
        .iter()
        .filter(|i| matches!(i.item, StockItem::Product { .. }))
        .count();
    assert_eq!(products, 3_001);
    assert!(items.iter().any(|i| i.shares_product_stock));
    assert!(items.iter().any(|i| i.stock == Stock::Unlimited));
    let big = items
        .iter()
        .filter(|i| i.item.product() == ProductId::new(900_000))
        .count();
    assert_eq!(big, 251, "the big product and its 250 variations");

    let progress = progress.into_inner().unwrap();
    let last = progress.last().expect("progress was reported");
    assert_eq!((last.completed, last.total), (3_001, 3_001));
    assert!(progress
        .windows(2)
        .all(|w| w[0].completed <= w[1].completed));
}

/// Smaller batches read the same catalog, in more rounds.
#[tokio::test]
async fn smaller_batches_read_the_same_catalog_in_more_rounds() {
    let fake = catalog_fake(700, None).await;
    let client = demo_client(&fake);
    let (all, error, _) = read_all(client.catalog_stock().stream()).await;
    assert!(error.is_none(), "{error:?}");
    let before = fake.requests().len();
    let (small, error, _) = read_all(client.catalog_stock().pages_per_batch(2).stream()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(sorted(&small), sorted(&all));
    let creates = fake.requests()[before..]
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert!(
        creates >= 3,
        "6 pages after the first, 2 a batch: {creates}"
    );
}

/// Bad settings are the stream's only item, and nothing is sent.
#[tokio::test]
async fn bad_settings_send_nothing() {
    let fake = catalog_fake(10, None).await;
    let client = demo_client(&fake);
    for (what, stream) in [
        (
            "no page a batch",
            client.catalog_stock().pages_per_batch(0).stream(),
        ),
        (
            "501 pages a batch",
            client.catalog_stock().pages_per_batch(501).stream(),
        ),
        (
            "a zero deadline",
            client.catalog_stock().deadline(Duration::ZERO).stream(),
        ),
        (
            "a zero poll timeout",
            client.catalog_stock().poll_timeout(Duration::ZERO).stream(),
        ),
    ] {
        let (items, error, cursor) = read_all(stream).await;
        assert!(items.is_empty() && cursor.is_none(), "{what}");
        assert!(
            matches!(error, Some(Error::InvalidInput(_))),
            "{what}: {error:?}"
        );
    }
    assert!(fake.requests().is_empty());
}

/// An empty store is one search, and an empty stream with a cursor.
#[tokio::test]
async fn an_empty_catalog_is_one_search() {
    let fake = fake_of(Store::new(demo::STORE)).await;
    let client = demo_client(&fake);
    let (items, error, cursor) = read_all(client.catalog_stock().stream()).await;
    assert!(items.is_empty() && error.is_none() && cursor.is_some());
    assert_eq!(fake.requests().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Status reads: how many a batch costs

/// A store of `products` products without variations whose search pages each take
/// `page_time` to build: a batch of up to 100 page reads (run at once) takes one page time.
async fn paced_fake(products: u64, page_time: Duration) -> FakeStore {
    let store = (1..=products).fold(Store::new(demo::STORE), |store, id| {
        store.product(
            Product::new(ProductId::new(id))
                .sku(format!("P-{id}"))
                .quantity(1),
        )
    });
    FakeStore::builder()
        .store(store)
        .tokens(demo::tokens())
        .no_rate_limit()
        .search_page_time(page_time)
        .start()
        .await
        .unwrap()
}

/// The fake's requests by kind: searches, batch creates, status reads.
fn kinds(fake: &FakeStore) -> (usize, usize, usize) {
    let requests = fake.requests();
    let count = |method: &str, path: &str| {
        requests
            .iter()
            .filter(|r| r.method == method && r.path.ends_with(path))
            .count()
    };
    let kinds = (
        count("GET", "/products"),
        count("POST", "/batch"),
        count("GET", "/batch"),
    );
    assert_eq!(kinds.0 + kinds.1 + kinds.2, requests.len(), "{requests:?}");
    kinds
}

/// On tokio's paused clock, batches that each take 400 ms: the first is read at 200 ms (not
/// yet completed) and at 500 ms; every later one once, when the one before had completed.
/// Read from 200 ms on, each would cost two status reads: 1 + 3 per batch in all.
#[tokio::test(start_paused = true)]
async fn batches_that_take_as_long_as_the_one_before_cost_one_status_read_each() {
    let fake = paced_fake(2_100, ms(400)).await;
    let client = demo_client(&fake);
    let (items, error, cursor) = read_all(client.catalog_stock().pages_per_batch(5).stream()).await;
    assert!(error.is_none() && cursor.is_some(), "{error:?}");
    assert_eq!(items.len(), 2_100);
    let (searches, creates, reads) = kinds(&fake);
    assert_eq!(
        (searches, creates),
        (1, 4),
        "20 pages after the search, 5 a batch"
    );
    assert_eq!(
        reads,
        creates + 1,
        "one status read a batch, and one more for the first"
    );
}

/// Not adaptive, every batch is read from 200 ms on: two status reads for each 400 ms batch.
#[tokio::test(start_paused = true)]
async fn without_adaptive_polling_every_batch_is_read_from_the_first_interval() {
    let fake = paced_fake(2_100, ms(400)).await;
    let client = demo_client(&fake);
    let stream = client
        .catalog_stock()
        .pages_per_batch(5)
        .polling(Polling::default().adaptive(false))
        .stream();
    let (items, error, _) = read_all(stream).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(items.len(), 2_100);
    assert_eq!(kinds(&fake), (1, 4, 8));
}

/// A batch of 500 page reads, a hundred at once, each 400 ms: a fifth is done at 400 ms, all
/// at 2 s. The read at 500 ms finds a fifth done, so the next goes out when the batch will
/// have completed at that pace (2.5 s), where the usual schedule reads at 950 ms, 1.625 s and
/// 2.64 s.
#[tokio::test(start_paused = true)]
async fn a_batch_found_in_progress_is_read_again_when_its_pace_says_it_completes() {
    let fake = paced_fake(50_100, ms(400)).await;
    let client = demo_client(&fake);
    let (items, error, _) = read_all(client.catalog_stock().stream()).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(items.len(), 50_100);
    assert_eq!(kinds(&fake), (1, 1, 3), "read at 200 ms, 500 ms and 2.5 s");
}

/// A batch that never completes, after one that did, still ends the stream at the poll
/// timeout, counted from its ticket, with the error naming it; the items read before come
/// first.
#[tokio::test(start_paused = true)]
async fn a_batch_not_completed_in_time_after_a_learned_one_ends_the_stream_at_the_timeout() {
    let fake = paced_fake(2_100, ms(400)).await;
    let client = demo_client(&fake);
    let stream = client
        .catalog_stock()
        .pages_per_batch(5)
        .poll_timeout(Duration::from_secs(3))
        .on_progress(|progress| {
            if progress.completed > 100 {
                fake.pause_batches();
            }
        })
        .stream();
    let started = tokio::time::Instant::now();
    let (items, error, cursor) = read_all(stream).await;
    assert_eq!(
        items.len(),
        600,
        "the search's page and the first batch's five"
    );
    assert!(cursor.is_none());
    match error {
        Some(Error::InvalidResponse { detail, .. }) => {
            assert!(detail.contains("after 3s of polling"), "{detail}")
        }
        other => panic!("{other:?}"),
    }
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(5),
        "{took:?}"
    );
    let (_, creates, reads) = kinds(&fake);
    assert_eq!(creates, 2);
    // The first batch's two (200 and 500 ms); the second's at what the first took (500 ms),
    // then on with the usual schedule's next intervals (800 ms, 1.25 s, 1.925 s, 2.9375 s),
    // the last at the timeout (3 s).
    assert_eq!(reads, 2 + 6);
}

// ---------------------------------------------------------------------------------------------
// What changed since a cursor

#[tokio::test]
async fn a_cursor_reads_only_the_products_changed_since_the_last_read() {
    let fake = catalog_fake(400, None).await;
    let client = demo_client(&fake);
    // Every product was last updated when the fake started; the first read comes later than
    // the overlap the cursor keeps.
    fake.advance_clock(CURSOR_OVERLAP * 3);
    let (all, error, cursor) = read_all(client.catalog_stock().stream()).await;
    assert!(error.is_none(), "{error:?}");
    let cursor = cursor.unwrap();
    let saved = serde_json::to_string(&cursor).unwrap();
    let cursor: CatalogCursor = serde_json::from_str(&saved).unwrap();

    fake.advance_clock(CURSOR_OVERLAP * 3);
    let changed = [ProductId::new(7), ProductId::new(250), ProductId::new(399)];
    for product in changed {
        client
            .set_stock(StockItem::Product { product }, 3)
            .await
            .unwrap();
    }
    // Read well after the changes, so that the next cursor is past them.
    fake.advance_clock(CURSOR_OVERLAP * 3);
    let before = fake.requests().len();
    let (items, error, next) =
        read_all(client.catalog_stock().updated_since(cursor).stream()).await;
    assert!(error.is_none(), "{error:?}");
    let products: BTreeSet<ProductId> = items.iter().map(|i| i.item.product()).collect();
    assert_eq!(products, changed.into_iter().collect());
    let expected: Vec<Row> = sorted(&all)
        .into_iter()
        .filter(|r| changed.contains(&ProductId::new(r.0)))
        .map(|mut r| {
            // The product's own stock, and its variations' that share it.
            if r.1.is_none() || r.5 {
                (r.3, r.4) = ("3".to_owned(), true);
            }
            r
        })
        .collect();
    assert_eq!(
        sorted(&items),
        expected,
        "each changed product with its variations"
    );
    let search = &fake.requests()[before];
    let query = search.query.as_deref().unwrap_or_default();
    assert!(
        query.contains(&format!(
            "updatedFrom={}",
            cursor
                .updated_from()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
        )),
        "{query}"
    );
    // Nothing changed since: nothing comes, and the cursor moves on.
    let next = next.unwrap();
    assert!(next.updated_from() > cursor.updated_from());
    let (items, error, _) = read_all(client.catalog_stock().updated_since(next).stream()).await;
    assert!(items.is_empty() && error.is_none(), "{items:?} {error:?}");
}

// ---------------------------------------------------------------------------------------------
// Pages that cannot be trusted, from a scripted server

/// A store whose search pages come from `page(offset, limit, read)`, `read` counting the
/// pages read before (the first search is read 0), directly or through batches.
struct Scripted {
    page: fn(u64, u64, usize) -> Value,
    reads: Mutex<usize>,
    batches: Mutex<Vec<Vec<Value>>>,
}

fn scripted(page: fn(u64, u64, usize) -> Value) -> Scripted {
    Scripted {
        page,
        reads: Mutex::new(0),
        batches: Mutex::new(Vec::new()),
    }
}

fn query_of(query: &str) -> BTreeMap<String, String> {
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

impl Scripted {
    fn read(&self, query: &BTreeMap<String, String>) -> Value {
        let number = |name: &str, default: u64| {
            query
                .get(name)
                .map_or(default, |value| value.parse().unwrap())
        };
        let mut reads = self.reads.lock().unwrap();
        let page = (self.page)(number("offset", 0), number("limit", 100), *reads);
        *reads += 1;
        page
    }
}

impl wiremock::Respond for Scripted {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let path = request.url.path();
        let ok = |body: Value| ResponseTemplate::new(200).set_body_json(body);
        if path.ends_with("/products") {
            return ok(self.read(&query_of(request.url.query().unwrap_or_default())));
        }
        let mut batches = self.batches.lock().unwrap();
        if request.method.as_str() == "POST" {
            let items: Vec<Value> = serde_json::from_slice(&request.body).unwrap();
            batches.push(items);
            return ok(json!({"ticket": format!("T-{}", batches.len())}));
        }
        let ticket = query_of(request.url.query().unwrap_or_default())["ticket"].clone();
        let n: usize = ticket.trim_start_matches("T-").parse().unwrap();
        let responses: Vec<Value> = batches[n - 1]
            .iter()
            .map(|item| {
                let path = item["path"].as_str().unwrap();
                let query = path.split_once('?').map_or("", |(_, query)| query);
                json!({
                    "id": item["id"], "status": "COMPLETED", "httpStatusCode": 200,
                    "httpBody": self.read(&query_of(query)),
                })
            })
            .collect();
        ok(json!({
            "status": "COMPLETED", "totalRequests": responses.len(),
            "completedRequests": responses.len(), "responses": responses,
        }))
    }
}

/// A page of products `from..from + count` (ids from 1), with `total`.
fn products(offset: u64, from: u64, count: u64, total: u64, limit: u64) -> Value {
    let items: Vec<Value> = (from..from + count)
        .map(|id| json!({"id": id + 1, "sku": format!("S-{id}"), "quantity": 1}))
        .collect();
    json!({"total": total, "count": count, "offset": offset, "limit": limit, "items": items})
}

/// An honest page of a catalog of `total` products.
fn honest(offset: u64, limit: u64, total: u64) -> Value {
    let count = limit.min(total.saturating_sub(offset));
    products(offset, offset, count, total, limit)
}

async fn read_scripted(
    page: fn(u64, u64, usize) -> Value,
) -> (Vec<StockLevel>, Option<Error>, usize) {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(scripted(page))
        .mount(&server)
        .await;
    let client = mock_client_builder(&server, MOCK_TOKEN)
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    let stream = client
        .catalog_stock()
        .poll_interval(Duration::from_millis(1), Duration::from_millis(1))
        .stream();
    let (items, error, cursor) = read_all(stream).await;
    assert_eq!(cursor.is_some(), error.is_none());
    let requests = server.received_requests().await.unwrap().len();
    (items, error, requests)
}

fn assert_says(error: Option<Error>, says: &[&str]) {
    let error = error.expect("the read ends with an error");
    assert!(matches!(error, Error::InvalidResponse { .. }), "{error:?}");
    let text = error.to_string();
    for part in says {
        assert!(text.contains(part), "{text:?} does not say {part:?}");
    }
}

#[tokio::test]
async fn an_honest_server_is_read_whole() {
    let (items, error, requests) =
        read_scripted(|offset, limit, _| honest(offset, limit, 250)).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(items.len(), 250);
    assert_eq!(requests, 3, "a search, a create and its status");
}

/// An empty page while the total says more ends the read there (it was an error before: a
/// catalog shrinks between pages, and a public token sees fewer products than the total
/// counts). The page after it, asked for in the same batch, is still taken.
#[tokio::test]
async fn an_empty_page_while_the_total_says_more_ends_the_read_with_what_it_read() {
    let (items, error, requests) = read_scripted(|offset, limit, _| match offset {
        100 => products(offset, 0, 0, 250, limit),
        _ => honest(offset, limit, 250),
    })
    .await;
    assert!(error.is_none(), "{error:?}");
    let ids: BTreeSet<u64> = items.iter().map(|i| i.item.product().get()).collect();
    assert_eq!(
        (items.len(), ids.len()),
        (150, 150),
        "the first page, and the page at 200 asked for with the empty one"
    );
    assert!(!ids.contains(&101), "nothing of the empty page");
    assert_eq!(requests, 3);
}

/// A catalog whose first page is all a public token sees of its total: one search, and no
/// batch for pages past it.
#[tokio::test]
async fn a_first_page_shorter_than_the_total_is_the_whole_read() {
    let (items, error, requests) =
        read_scripted(|offset, limit, _| products(offset, 0, 2, 5, limit)).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(items.len(), 2);
    assert_eq!(requests, 1);
}

#[tokio::test]
async fn a_page_that_repeats_another_is_an_error() {
    let (_, error, requests) = read_scripted(|offset, limit, _| match offset {
        // The first page's products, at the right offset.
        200 => products(offset, 0, 50, 250, limit),
        _ => honest(offset, limit, 250),
    })
    .await;
    assert_says(error, &["offset 200", "read already"]);
    assert_eq!(requests, 3);
}

#[tokio::test]
async fn a_page_at_another_offset_than_asked_is_an_error() {
    let (_, error, requests) = read_scripted(|_, limit, _| honest(0, limit, 250)).await;
    assert_says(error, &["offset 100", "offset 0", "ignored"]);
    assert_eq!(requests, 3);
}

/// Products added while the catalog is read come at its end: read, each once.
#[tokio::test]
async fn a_total_that_grows_a_little_is_read_to_its_new_end() {
    let (items, error, requests) = read_scripted(|offset, limit, read| {
        // 250 products when the first page is read, 280 from then on.
        honest(offset, limit, if read == 0 { 250 } else { 280 })
    })
    .await;
    assert!(error.is_none(), "{error:?}");
    let ids: BTreeSet<u64> = items.iter().map(|i| i.item.product().get()).collect();
    assert_eq!((items.len(), ids.len()), (280, 280));
    assert_eq!(
        requests, 5,
        "a second batch for the page past the first total"
    );
}

#[tokio::test]
async fn a_total_that_grows_past_a_spare_page_is_an_error() {
    let (_, error, requests) = read_scripted(|offset, limit, read| {
        honest(offset, limit, if read == 0 { 250 } else { 400 })
    })
    .await;
    assert_says(error, &["grew from 250 to 400", "350"]);
    assert_eq!(requests, 3);
}

/// A total that grows on every page cannot lead the read on: it stops at the first total and
/// a spare page.
#[tokio::test]
async fn a_total_that_keeps_growing_stops_at_the_bound() {
    let (_, error, requests) =
        read_scripted(|offset, limit, read| honest(offset, limit, 250 + 40 * read as u64)).await;
    assert_says(error, &["grew from 250", "350"]);
    assert!(requests <= 5, "{requests} requests");
}

#[tokio::test]
async fn a_total_that_shrinks_is_an_error() {
    let (_, error, requests) = read_scripted(|offset, limit, read| {
        honest(offset, limit, if read == 0 { 250 } else { 240 })
    })
    .await;
    assert_says(error, &["from 250 to 240", "read it again"]);
    assert_eq!(requests, 3);
}

/// A batch's pages are yielded as its status is read, one page at a time (its status is never
/// held whole): an error on a later page of a batch ends the stream after the products of the
/// pages before it.
#[tokio::test]
async fn the_pages_of_a_batch_read_before_an_error_are_yielded() {
    let (items, error, requests) = read_scripted(|offset, limit, _| {
        // The page at offset 200 comes back as the first page.
        honest(if offset == 200 { 0 } else { offset }, limit, 250)
    })
    .await;
    assert_says(error, &["offset 200"]);
    let ids: BTreeSet<u64> = items.iter().map(|i| i.item.product().get()).collect();
    assert_eq!(
        ids.len(),
        200,
        "the first page's and the batch's page at offset 100"
    );
    assert_eq!(requests, 3);
}
