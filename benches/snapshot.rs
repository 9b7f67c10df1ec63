//! What reading the catalog through the batch API saves: a snapshot of every product's and
//! variation's stock in a 10,000-product catalog, read one search page of 100 at a time (the
//! plain way, as Ecwid's Java client pages), then through `catalog_stock`, against the fake
//! Ecwid store under a rate limit scaled down in time.
//!
//! Ecwid allows 600 requests per 60 s; the window shrinks and the count stays, 600 per 1 s on
//! the fake and on the client's limiter alike, and every other time shrinks with it (divided
//! by 60): the batch poll intervals, and the two costs modelled, given in Ecwid's own time:
//! - `SNAPSHOT_PAGE_MS`, Ecwid's time to build one search page of 100 products (default 300
//!   ms, an assumption: Ecwid does not publish it), paid by every page read, a direct search
//!   and a batch's page read alike ([`FakeStoreBuilder::search_page_time`]), the batch's
//!   together as it asks for `allowParallelMode`;
//! - `SNAPSHOT_LATENCY_MS`, a round trip to Ecwid (default 100 ms, an assumption: a server in
//!   Europe or North America), paid by every HTTP request either way sends, and not by the
//!   page reads a batch runs inside the store.
//!
//! What the fake itself spends (its CPU, on the same 2 cores as the client) is paid as it
//! comes, by both ways. Each run reports the requests spent (the fake's recorded requests), the 429s
//! among them and the wall time, and checks that both ways read the same items; the ratios
//! plain/stream close the report. Goal: at most 10 requests (against 100), and at least 10x
//! less wall time.
//!
//! `cargo bench --bench snapshot`. Environment: `SNAPSHOT_PRODUCTS` (default 10000),
//! `SNAPSHOT_RATE` (requests per window, default 600), `SNAPSHOT_WINDOW_MS` (default 1000),
//! `SNAPSHOT_PAGE_MS` (default 300), `SNAPSHOT_LATENCY_MS` (default 100).
//!
//! [`FakeStoreBuilder::search_page_time`]: ecwid_inventory_fake::FakeStoreBuilder::search_page_time

mod common;

use common::{env, figures, Figures};

use std::time::{Duration, Instant};

use ecwid_inventory::{Client, RateLimit, Stock};
use ecwid_inventory_fake::{demo, FakeStore, Fault, Route};
use futures::StreamExt;
use serde_json::Value;

struct Config {
    products: u64,
    rate: u32,
    window: Duration,
    /// Ecwid's time, before scaling.
    page_time: Duration,
    /// Ecwid's time, before scaling.
    latency: Duration,
}

impl Config {
    /// Ecwid's time as run here: divided as the rate limit's window is (60 s to `window`).
    fn scaled(&self, time: Duration) -> Duration {
        time.mul_f64(self.window.as_secs_f64() / 60.0)
    }
}

/// An item as both ways see it: product, variation (0 for the product's own stock), stock.
type Row = (u64, u64, String);

async fn fake(config: &Config) -> FakeStore {
    let fake = FakeStore::builder()
        .store(demo::catalog(config.products, 1))
        .tokens(demo::tokens())
        .rate_limit(RateLimit::new(config.rate, config.window))
        .search_page_time(config.scaled(config.page_time))
        .start()
        .await
        .expect("the fake starts");
    if !config.latency.is_zero() {
        // Far more than either way sends: every request meets the round trip.
        let latency = config.scaled(config.latency);
        fake.inject_fault(Route::Any, 100_000, Fault::Delay(latency));
    }
    fake
}

fn client(fake: &FakeStore, config: &Config) -> Client {
    fake.client_builder(demo::TOKEN)
        .rate_limit(RateLimit::new(config.rate, config.window))
        .build()
        .expect("the client builds")
}

const ITEM_FIELDS: &str = "id,sku,quantity,unlimited,inStock";

/// A stock as a search answer gives it.
fn stock(item: &Value) -> String {
    if item["unlimited"] == Value::Bool(true) {
        Stock::Unlimited.to_string()
    } else {
        Stock::Quantity(item["quantity"].as_i64().expect("a quantity")).to_string()
    }
}

/// The plain way: search pages of 100 products with their variations, one after the other,
/// each through the client's connection; a page refused for carrying over 200 variations is
/// read again as two halves. A 429 waits what Ecwid asks.
async fn plain(config: &Config) -> (Figures, Vec<Row>) {
    let fake = fake(config).await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("{}/{}/products", fake.base_url(), demo::STORE);
    let fields = format!("total,count,items({ITEM_FIELDS},combinations({ITEM_FIELDS}))");
    let mut rows = Vec::new();
    let started = Instant::now();
    // Pages to read, as (offset, limit); the first page says how many follow.
    let mut pages = vec![(0u64, 100u64)];
    let mut total = None;
    while let Some((offset, limit)) = pages.pop() {
        let response = http
            .get(&url)
            .bearer_auth(demo::TOKEN)
            .query(&[
                ("sortBy", "ADDED_TIME_ASC"),
                ("offset", &offset.to_string()),
                ("limit", &limit.to_string()),
                ("responseFields", &fields),
            ])
            .send()
            .await
            .expect("the fake answers");
        match response.status().as_u16() {
            200 => {}
            429 => {
                let wait: u64 = response.headers()["Retry-After"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                tokio::time::sleep(Duration::from_secs(wait)).await;
                pages.push((offset, limit));
                continue;
            }
            400 if limit > 1 => {
                let half = limit / 2;
                pages.push((offset + half, limit - half));
                pages.push((offset, half));
                continue;
            }
            status => panic!("plain: page at {offset} answered {status}"),
        }
        let page: Value = response.json().await.expect("a JSON page");
        if total.is_none() {
            let all = page["total"].as_u64().expect("a total");
            total = Some(all);
            pages.extend((1..all.div_ceil(100)).rev().map(|n| (n * 100, 100)));
        }
        for product in page["items"].as_array().expect("items") {
            let id = product["id"].as_u64().expect("an id");
            rows.push((id, 0, stock(product)));
            for variation in product["combinations"].as_array().into_iter().flatten() {
                // A variation without a SKU of its own shares its product's stock.
                let own = variation["sku"].as_str().is_some_and(|s| !s.is_empty());
                let stock = if own {
                    stock(variation)
                } else {
                    stock(product)
                };
                rows.push((id, variation["id"].as_u64().expect("an id"), stock));
            }
        }
    }
    let wall = started.elapsed();
    (figures(&fake, wall), rows)
}

/// `catalog_stock`: one search, then the pages through batches.
async fn stream(config: &Config) -> (Figures, Vec<Row>) {
    let fake = fake(config).await;
    let client = client(&fake, config);
    // The default poll interval (200 ms to 2 s), scaled down with the window.
    let started = Instant::now();
    let mut stream = client
        .catalog_stock()
        .poll_interval(
            config.scaled(Duration::from_millis(200)),
            config.scaled(Duration::from_secs(2)),
        )
        .stream();
    let mut rows = Vec::new();
    while let Some(item) = stream.next().await {
        let item = item.expect("the stream reads the catalog");
        rows.push((
            item.item.product().get(),
            item.item.combination().map_or(0, |c| c.get()),
            item.stock.to_string(),
        ));
    }
    assert!(stream.cursor().is_some(), "stream: the read ended whole");
    let wall = started.elapsed();
    let figures = figures(&fake, wall);
    assert_eq!(
        client.requests_sent(),
        figures.requests as u64,
        "the client counts what the fake received"
    );
    (figures, rows)
}

fn print(name: &str, f: &Figures) {
    println!(
        "{name:<8} requests {:>6}   429s {:>3}   wall {:>8.3} s",
        f.requests,
        f.rate_limited,
        f.wall.as_secs_f64()
    );
}

fn main() {
    let config = Config {
        products: common::size("SNAPSHOT_PRODUCTS", 10_000),
        rate: env("SNAPSHOT_RATE", 600),
        window: Duration::from_millis(env("SNAPSHOT_WINDOW_MS", 1_000)),
        page_time: Duration::from_millis(env("SNAPSHOT_PAGE_MS", 300)),
        latency: Duration::from_millis(env("SNAPSHOT_LATENCY_MS", 100)),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    println!(
        "snapshot of {} products (demo::catalog, seed 1); rate limit {} per {} ms on the fake \
         and the client (Ecwid: 600 per 60 s); Ecwid's {} ms a search page and {} ms a round \
         trip, run as {:.2} ms and {:.2} ms",
        config.products,
        config.rate,
        config.window.as_millis(),
        config.page_time.as_millis(),
        config.latency.as_millis(),
        config.scaled(config.page_time).as_secs_f64() * 1e3,
        config.scaled(config.latency).as_secs_f64() * 1e3,
    );
    let (plain, mut plain_rows) = runtime.block_on(plain(&config));
    print("plain", &plain);
    let (stream, mut stream_rows) = runtime.block_on(stream(&config));
    print("stream", &stream);
    plain_rows.sort();
    stream_rows.sort();
    assert_eq!(plain_rows, stream_rows, "both ways read the same items");
    let requests = plain.requests as f64 / stream.requests as f64;
    let wall = plain.wall.as_secs_f64() / stream.wall.as_secs_f64();
    let met = |ok: bool| if ok { "met" } else { "MISSED" };
    println!(
        "ratio    requests plain/stream {requests:.1} (goal: stream <= 10 requests: {})   \
         wall plain/stream {wall:.1} (goal >= 10: {})",
        met(stream.requests <= 10),
        met(wall >= 10.0)
    );
    println!("{} items, the same both ways", stream_rows.len());
}
