// Each test binary compiles this module on its own and uses only part of it.
#![allow(dead_code)]

//! Setup shared by the integration tests: the fakes' catalogs and tokens, clients, raw
//! requests, and reading a plan, the journal and the ledger; the real servers some tests
//! start, PostgreSQL ([`postgres`]) and Redis ([`redis`]).
//!
//! Each test binary's `main.rs` includes it once (`#[path = "../common/mod.rs"] mod common;`)
//! and its files use `crate::common::...`; a helper two files need lives here, once.

pub mod postgres;
pub mod redis;

use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ecwid_inventory::generated::types::{BatchTicket, EcwidError};
// For `postgres`, which takes `Journal`, `Error` and `TimeSource` from the module including it
// (here, or the crate's own unit tests).
use ecwid_inventory::journal::Journal;
use ecwid_inventory::{
    bulk::{BulkItem, BulkPlan, BulkReport, ItemOutcome},
    Client, ClientBuilder, CombinationId, Error, ProductId, RetryPolicy, StockAdjustment,
    StockItem, StoreId, TimeSource,
};
use ecwid_inventory_fake::{
    demo, FakeStore, FakeStoreBuilder, FakeToken, Origin, Product, RecordedRequest, Scope, Stock,
    Store, Variation,
};
use serde_json::{json, Value};
use wiremock::{matchers::any, Mock, MockServer, Request, ResponseTemplate};

// ---------------------------------------------------------------------------------------------
// A shop of a shirt, an e-book and a poster, spoken to with raw requests

pub const STORE: StoreId = StoreId::new(1003);
pub const OTHER_STORE: StoreId = StoreId::new(2002);
pub const SHIRT: ProductId = ProductId::new(1);
/// Own SKU: own stock of 10, warning limit 2.
pub const SHIRT_RED: CombinationId = CombinationId::new(11);
/// Empty SKU: shares the shirt's stock (20, warning limit 5).
pub const SHIRT_PLAIN: CombinationId = CombinationId::new(12);
pub const EBOOK: ProductId = ProductId::new(2);
pub const POSTER: ProductId = ProductId::new(3);
/// Own SKU, unlimited.
pub const POSTER_DIGITAL: CombinationId = CombinationId::new(31);

pub const TOKEN: &str = "secret_token";
pub const READER: &str = "secret_reader";
pub const WRITER: &str = "secret_writer";
pub const PUBLIC: &str = "public_token";
pub const OTHER_TOKEN: &str = "secret_other";

pub const SHIRT_RED_PATH: &str = "/1003/products/1/combinations/11/inventory";
pub const SHIRT_PLAIN_PATH: &str = "/1003/products/1/combinations/12/inventory";
pub const SHIRT_PATH: &str = "/1003/products/1/inventory";

/// The shirt: 20 in stock, warning limit 5; red with its own SKU and stock, plain sharing the
/// shirt's.
pub fn product(product: ProductId) -> StockItem {
    StockItem::Product { product }
}

pub fn variation(product: ProductId, combination: CombinationId) -> StockItem {
    StockItem::Variation {
        product,
        combination,
    }
}

/// A validator of `T`'s JSON schema (the spec's generated types derive theirs).
pub fn validator<T: schemars::JsonSchema>() -> jsonschema::Validator {
    let schema = serde_json::to_value(schemars::schema_for!(T)).unwrap();
    jsonschema::validator_for(&schema).expect("a valid JSON schema")
}

pub fn shirt_product() -> Product {
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
        .variation(Variation::new(SHIRT_PLAIN))
}

pub fn shop() -> FakeStoreBuilder {
    FakeStore::builder()
        .store(
            Store::new(STORE)
                .product(shirt_product())
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
        .token(FakeToken::secret(OTHER_STORE, OTHER_TOKEN))
}

/// A plain HTTP client for the fake on loopback, ignoring any proxy set in the environment.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

pub async fn start() -> FakeStore {
    shop().start().await.expect("the fake starts")
}

/// A GET with `token`, as it came.
pub async fn get_as(fake: &FakeStore, path_and_query: &str, token: &str) -> reqwest::Response {
    http()
        .get(format!("{}{path_and_query}", fake.base_url()))
        .bearer_auth(token)
        .send()
        .await
        .expect("the fake answers")
}

/// A GET with [`TOKEN`], read.
pub async fn get(fake: &FakeStore, path_and_query: &str) -> (u16, Value) {
    read(get_as(fake, path_and_query, TOKEN).await).await
}

/// A GET with the demo shop's token, read.
pub async fn demo_get(fake: &FakeStore, path_and_query: &str) -> (u16, Value) {
    read(get_as(fake, path_and_query, demo::TOKEN).await).await
}

/// A PUT as the SDK sends it: Bearer token, JSON body.
pub async fn put(fake: &FakeStore, path: &str, token: &str, body: Value) -> reqwest::Response {
    put_at(&fake.base_url(), path, token, body).await
}

/// [`put`] to an API root, for a task that cannot borrow the fake.
pub async fn put_at(base_url: &str, path: &str, token: &str, body: Value) -> reqwest::Response {
    http()
        .put(format!("{base_url}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("the fake answers")
}

pub async fn delta(fake: &FakeStore, path: &str, delta: i64) -> reqwest::Response {
    put(fake, path, TOKEN, json!({ "quantityDelta": delta })).await
}

/// Status and JSON body.
pub async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.json().await.expect("a JSON body");
    (status, body)
}

/// Status and errorCode of an error answer.
pub async fn error(response: reqwest::Response) -> (u16, String) {
    let (status, body) = read(response).await;
    let error: EcwidError = serde_json::from_value(body.clone()).expect("Ecwid's error format");
    assert!(error.error_message.is_some_and(|m| !m.is_empty()), "{body}");
    (status, error.error_code.expect("an errorCode"))
}

pub fn red(fake: &FakeStore) -> Option<Stock> {
    fake.stock(
        STORE,
        StockItem::Variation {
            product: SHIRT,
            combination: SHIRT_RED,
        },
    )
}

pub fn shirt(fake: &FakeStore) -> Option<Stock> {
    fake.stock(STORE, StockItem::Product { product: SHIRT })
}

// ---------------------------------------------------------------------------------------------
// Raw batch requests

pub async fn create_batch(
    fake: &FakeStore,
    query: &str,
    items: Value,
) -> reqwest::Result<reqwest::Response> {
    create_batch_as(fake, query, TOKEN, items).await
}

/// [`create_batch`] with `token`.
pub async fn create_batch_as(
    fake: &FakeStore,
    query: &str,
    token: &str,
    items: Value,
) -> reqwest::Result<reqwest::Response> {
    http()
        .post(format!("{}/1003/batch{query}", fake.base_url()))
        .bearer_auth(token)
        .json(&items)
        .send()
        .await
}

/// Creates a batch (`query` as in [`create_batch`]) and returns its ticket.
pub async fn ticket(fake: &FakeStore, query: &str, items: Value) -> String {
    ticket_as(fake, query, TOKEN, items).await
}

/// [`ticket`] with `token`.
pub async fn ticket_as(fake: &FakeStore, query: &str, token: &str, items: Value) -> String {
    let (status, body) = read(create_batch_as(fake, query, token, items).await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_value::<BatchTicket>(body).unwrap().ticket
}

pub async fn batch_status(fake: &FakeStore, query: &str) -> (u16, Value) {
    let response = http()
        .get(format!("{}/1003/batch?{query}", fake.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    read(response).await
}

pub fn item(id: &str, path: &str, delta: i64) -> Value {
    json!({ "id": id, "method": "PUT", "path": path, "body": { "quantityDelta": delta } })
}

// ---------------------------------------------------------------------------------------------
// Bulk: a numbered catalog, and reading plans, the journal and the ledger

/// The product holding the numbered variations of [`numbered`].
pub const RACK: ProductId = ProductId::new(1);
/// Every numbered variation starts with this stock.
pub const START: i64 = 1_000;

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A store whose product [`RACK`] has variations 1..=n, each with its own SKU and a stock of
/// [`START`]; no rate limit.
pub fn numbered(n: u64) -> FakeStoreBuilder {
    FakeStore::builder()
        .store(Store::new(STORE).product(demo::numbered_product(RACK, "RACK", n, START)))
        .store(Store::new(OTHER_STORE).product(Product::new(RACK).quantity(5)))
        .token(FakeToken::secret(STORE, TOKEN))
        .token(FakeToken::secret(OTHER_STORE, OTHER_TOKEN))
        .no_rate_limit()
}

/// Resumes a saved plan with a plain client, polling often.
pub async fn resume(fake: &FakeStore, plan: BulkPlan) -> BulkReport {
    client(fake)
        .resume_bulk(plan)
        .poll_interval(ms(5), ms(50))
        .send()
        .await
        .expect("the plan resumes")
}

/// Bad input: the fake received nothing and applied nothing.
pub fn assert_nothing_sent(fake: &FakeStore) {
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
    assert!(fake.ledger().is_empty());
}

pub fn client_for(fake: &FakeStore, token: &str) -> Client {
    fake.client_builder(token)
        .no_rate_limit()
        .build()
        .expect("the client builds")
}

pub fn client(fake: &FakeStore) -> Client {
    client_for(fake, TOKEN)
}

/// A client of the demo shop ([`demo_store`]) without a rate limit of its own.
pub fn demo_client(fake: &FakeStore) -> Client {
    client_for(fake, demo::TOKEN)
}

/// A client that never retries, so that a create whose answer is lost leaves its chunk
/// `creating`.
pub fn careful_client(fake: &FakeStore) -> Client {
    fake.client_builder(TOKEN)
        .no_rate_limit()
        .retry_policy(RetryPolicy::never())
        .build()
        .expect("the client builds")
}

pub fn quantity(fake: &FakeStore, combination: u64) -> i64 {
    match fake.stock(
        STORE,
        StockItem::Variation {
            product: RACK,
            combination: CombinationId::new(combination),
        },
    ) {
        Some(Stock::Quantity(q)) => q,
        other => panic!("variation {combination}: {other:?}"),
    }
}

/// `n` items over variations 1..=variations, with varied deltas of both signs.
pub fn spread(n: usize, variations: u64) -> Vec<BulkItem> {
    (0..n)
        .map(|i| {
            let c = (i as u64 % variations) + 1;
            let delta = if i % 3 == 0 {
                -((i % 5) as i32 + 1)
            } else {
                (i % 4) as i32 + 1
            };
            BulkItem::variation(RACK, CombinationId::new(c), delta)
        })
        .collect()
}

/// `n` items, one per variation 1..=n, each delta -(c % 7 + 1).
pub fn one_per_variation(n: u64) -> Vec<BulkItem> {
    (1..=n)
        .map(|c| BulkItem::variation(RACK, CombinationId::new(c), -((c % 7) as i32 + 1)))
        .collect()
}

/// What each numbered variation's stock must be once `items` are applied.
pub fn expected_stocks(items: &[BulkItem]) -> HashMap<u64, i64> {
    let mut stocks = HashMap::new();
    for item in items {
        let c = item.item.combination().expect("a variation").get();
        *stocks.entry(c).or_insert(START) += i64::from(item.delta().expect("a delta"));
    }
    stocks
}

pub fn assert_stocks(fake: &FakeStore, items: &[BulkItem]) {
    for (c, expected) in expected_stocks(items) {
        assert_eq!(quantity(fake, c), expected, "stock of variation {c}");
    }
}

/// The batch creates the fake received, in order.
pub fn creates(fake: &FakeStore) -> Vec<RecordedRequest> {
    fake.requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/batch"))
        .collect()
}

pub fn query_value<'a>(request: &'a RecordedRequest, name: &str) -> Option<&'a str> {
    request
        .query
        .as_deref()?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

pub fn dedup_key(request: &RecordedRequest) -> String {
    query_value(request, "deduplicationKey")
        .expect("every create carries a deduplicationKey")
        .to_owned()
}

/// How many requests a create carried.
pub fn create_len(request: &RecordedRequest) -> usize {
    serde_json::from_str::<Vec<Value>>(&request.body)
        .expect("a create's body is a JSON array")
        .len()
}

/// Asserts that every delta of the ledger came from a batch, each (ticket, index) once, and
/// that there are exactly `n` of them.
pub fn assert_ledger_once(fake: &FakeStore, n: usize) {
    let ledger = fake.ledger();
    let mut seen = HashSet::new();
    for entry in &ledger {
        let Origin::Batch { ticket, index, .. } = &entry.origin else {
            panic!("a delta applied outside a batch: {entry:?}");
        };
        assert!(
            seen.insert((ticket.clone(), *index)),
            "applied twice: {entry:?}"
        );
    }
    assert_eq!(ledger.len(), n, "deltas applied");
}

/// Per variation, how many times the ledger holds it.
/// [`assert_ledger_once`], and no item changed twice, as a sync promises.
pub fn assert_synced_once(fake: &FakeStore, n: usize) {
    assert_ledger_once(fake, n);
    let mut items = HashSet::new();
    for entry in fake.ledger() {
        assert!(
            items.insert(entry.item),
            "one item changed twice: {entry:?}"
        );
    }
}

pub fn ledger_counts(fake: &FakeStore) -> HashMap<u64, usize> {
    let mut counts = HashMap::new();
    for entry in fake.ledger() {
        *counts
            .entry(entry.item.combination().expect("a variation").get())
            .or_insert(0) += 1;
    }
    counts
}

pub fn all_updated(outcomes: &[ItemOutcome]) -> bool {
    outcomes
        .iter()
        .all(|o| matches!(o, ItemOutcome::Updated { warning: None, .. }))
}

/// Waits until the fake answered (or finished handling) request number `n` of those it received.
pub async fn handled(fake: &FakeStore, n: usize) {
    fake.wait_until(|fake| fake.requests().get(n).is_some_and(|r| r.status.is_some()))
        .await
        .unwrap_or_else(|timeout| panic!("request {n} was never handled: {timeout}"));
}

/// The chunks of a serialized plan.
pub fn chunks(json: &str) -> Vec<Value> {
    let plan: Value = serde_json::from_str(json).expect("a plan is JSON");
    plan["chunks"].as_array().expect("chunks").clone()
}

/// Milliseconds since the Unix epoch, as a plan records them.
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Makes a saved plan look `minutes` older, as if the machine's clock had moved on since it
/// was made.
pub fn age(plan: &mut Value, minutes: u64) {
    let made = plan["keysMadeUnixMs"]
        .as_u64()
        .expect("the plan records when its keys were made");
    plan["keysMadeUnixMs"] = json!(made - minutes * 60 * 1000);
}

/// The `ticket` of each batch status read, in order.
pub fn status_reads(fake: &FakeStore) -> Vec<String> {
    fake.requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/batch"))
        .map(|r| query_value(r, "ticket").expect("a ticket").to_owned())
        .collect()
}

pub fn states(json: &str) -> Vec<String> {
    chunks(json)
        .iter()
        .map(|c| c["state"]["state"].as_str().expect("a state").to_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The demo shop

/// The [`demo`] shop with its tokens, its rate limit still to choose.
pub fn demo_shop() -> FakeStoreBuilder {
    FakeStore::builder()
        .store(demo::store())
        .tokens(demo::tokens())
}

/// The [`demo`] shop, started, with no rate limit.
pub async fn demo_store() -> FakeStore {
    demo_shop().no_rate_limit().start().await.unwrap()
}

// ---------------------------------------------------------------------------------------------
// A mock server (wiremock) on loopback

/// The token sent to mock servers; its tail, `8f3a9c`, must never show.
pub const MOCK_TOKEN: &str = "secret_token_8f3a9c";

/// A client builder for store 1003 on the mock server's API root.
pub fn mock_client_builder(server: &MockServer, token: &str) -> ClientBuilder {
    Client::builder(StoreId::new(1003), token).base_url(format!("{}/api/v3", server.uri()))
}

/// A client of the mock server that sends every request once.
pub fn mock_client(server: &MockServer) -> Client {
    mock_client_builder(server, MOCK_TOKEN)
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap()
}

/// Every request the mock server gets is answered with `template`.
pub async fn answer(server: &MockServer, template: ResponseTemplate) {
    Mock::given(any())
        .respond_with(template)
        .mount(server)
        .await;
}

/// The query's pairs, decoded, sorted by name (a repeated name shows twice).
/// One query parameter of a request a mock server received, decoded.
pub fn query_param(request: &Request, name: &str) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

pub fn query(request: &Request) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
    pairs.sort();
    pairs
}

/// The request of the spec's example: variation 422488528 of product 692730761, -10.
pub async fn adjust_seed(client: &Client) -> Result<StockAdjustment, Error> {
    client
        .adjust_variation_stock(
            ProductId::new(692730761),
            CombinationId::new(422488528),
            -10,
        )
        .send()
        .await
}

// ---------------------------------------------------------------------------------------------
// The demo shop's small T-shirt

/// The demo shop's small T-shirt, `TEE-S`, as an item.
pub const SMALL_TEE: StockItem = StockItem::Variation {
    product: demo::SMALL_TEE.0,
    combination: demo::SMALL_TEE.1,
};

/// The small T-shirt's counted stock in the fake.
pub fn small_tee_stock(fake: &FakeStore) -> i64 {
    match fake.stock(demo::STORE, SMALL_TEE) {
        Some(Stock::Quantity(n)) => n,
        other => panic!("unexpected stock {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Logs

/// What the test binary's tracing subscriber writes (installed once, at TRACE, by [`logs`]).
#[derive(Clone, Default)]
pub struct LogBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything logged so far by any test of this binary, each line with its thread's name
/// (libtest names a test's thread after the test).
pub fn logs() -> String {
    static LOGS: std::sync::OnceLock<LogBuffer> = std::sync::OnceLock::new();
    let buffer = LOGS.get_or_init(|| {
        let buffer = LogBuffer::default();
        let writer = buffer.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_thread_names(true)
            .with_writer(move || writer.clone())
            .init();
        buffer
    });
    String::from_utf8_lossy(&buffer.0.lock().unwrap()).into_owned()
}
