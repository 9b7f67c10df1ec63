//! What the batch API saves: 10,000 adjustments sent one request each, then through
//! `bulk_adjust`, against the fake Ecwid store under a rate limit scaled down in time.
//!
//! Ecwid allows 600 requests per 60 s. To keep the run short, the window shrinks and the count
//! stays: 600 per 1 s, on the fake and on the client's limiter alike. Each run reports the
//! requests spent (the fake's recorded requests), the 429s among them and the wall time, checks every
//! stock, and the ratios single/bulk close the report. Target: requests(single)/requests(bulk)
//! >= 100.
//!
//! `cargo bench --bench bulk`. Environment: `BULK_RATE` (requests per window, default 600),
//! `BULK_WINDOW_MS` (default 1000), `BULK_ITEMS` (default 10000), `BULK_TASKS` (concurrent
//! single-request tasks, default 64), `BULK_VARIATIONS` (default 100).

mod common;

use common::{env, figures, Figures};

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ecwid_inventory::{
    bulk::BulkItem, Client, CombinationId, ProductId, RateLimit, StockItem, StoreId,
};
use ecwid_inventory_fake::{demo, FakeStore, FakeToken, Stock, Store};

const STORE: StoreId = StoreId::new(1003);
const TOKEN: &str = "secret_bench_token";
const RACK: ProductId = ProductId::new(1);
const START: i64 = 1_000_000;

struct Config {
    rate: u32,
    window: Duration,
    items: usize,
    tasks: usize,
    variations: u64,
}

async fn fake(config: &Config) -> FakeStore {
    let rack = demo::numbered_product(RACK, "RACK", config.variations, START);
    FakeStore::builder()
        .store(Store::new(STORE).product(rack))
        .token(FakeToken::secret(STORE, TOKEN))
        .rate_limit(RateLimit::new(config.rate, config.window))
        .start()
        .await
        .expect("the fake starts")
}

fn client(fake: &FakeStore, config: &Config) -> Client {
    fake.client_builder(TOKEN)
        .rate_limit(RateLimit::new(config.rate, config.window))
        .build()
        .expect("the client builds")
}

/// The adjustments: item `i` moves variation `i % variations + 1` by a delta of either sign.
fn adjustments(config: &Config) -> Vec<(CombinationId, i32)> {
    (0..config.items)
        .map(|i| {
            let c = CombinationId::new(i as u64 % config.variations + 1);
            let delta = if i % 3 == 0 {
                -((i % 5) as i32 + 1)
            } else {
                (i % 4) as i32 + 1
            };
            (c, delta)
        })
        .collect()
}

/// Checks every stock against the adjustments and the ledger's length; panics if wrong.
fn verify(fake: &FakeStore, adjustments: &[(CombinationId, i32)], what: &str) {
    let mut expected: HashMap<CombinationId, i64> = HashMap::new();
    for &(c, delta) in adjustments {
        *expected.entry(c).or_insert(START) += i64::from(delta);
    }
    for (c, stock) in expected {
        assert_eq!(
            fake.stock(
                STORE,
                StockItem::Variation {
                    product: RACK,
                    combination: c
                }
            ),
            Some(Stock::Quantity(stock)),
            "{what}: stock of variation {c:?}"
        );
    }
    assert_eq!(
        fake.ledger().len(),
        adjustments.len(),
        "{what}: deltas applied"
    );
}

/// One `adjust_variation_stock` request per adjustment, from `tasks` concurrent tasks sharing
/// one client.
async fn single(config: &Config, adjustments: &Arc<Vec<(CombinationId, i32)>>) -> Figures {
    let fake = fake(config).await;
    let client = client(&fake, config);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(config.tasks);
    for _ in 0..config.tasks {
        let (client, next, adjustments) =
            (client.clone(), Arc::clone(&next), Arc::clone(adjustments));
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(c, delta)) = adjustments.get(i) else {
                    break;
                };
                let answer = client
                    .adjust_variation_stock(RACK, c, delta)
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("single adjustment {i}: {e}"));
                assert!(answer.is_updated(), "single adjustment {i} not updated");
            }
        }));
    }
    for task in tasks {
        task.await.expect("a task panicked");
    }
    let wall = started.elapsed();
    verify(&fake, adjustments, "single");
    figures(&fake, wall)
}

/// All adjustments through one `bulk_adjust`.
async fn bulk(config: &Config, adjustments: &[(CombinationId, i32)]) -> Figures {
    let fake = fake(config).await;
    let client = client(&fake, config);
    let items: Vec<_> = adjustments
        .iter()
        .map(|&(c, delta)| BulkItem::variation(RACK, c, delta))
        .collect();
    // The default poll interval (200 ms to 2 s), scaled down with the window.
    let scale = config.window.as_secs_f64() / 60.0;
    let started = Instant::now();
    let report = client
        .bulk_adjust(items)
        .poll_interval(
            Duration::from_millis(200).mul_f64(scale),
            Duration::from_secs(2).mul_f64(scale),
        )
        .send()
        .await
        .expect("the bulk sync runs");
    let wall = started.elapsed();
    let summary = report.summary();
    assert_eq!(summary.applied, adjustments.len(), "bulk: {summary:?}");
    verify(&fake, adjustments, "bulk");
    figures(&fake, wall)
}

fn print(name: &str, f: &Figures) {
    println!(
        "{name:<8} requests {:>6}   429s {:>3}   wall {:>8.2} s",
        f.requests,
        f.rate_limited,
        f.wall.as_secs_f64()
    );
}

fn main() {
    let config = Config {
        rate: env("BULK_RATE", 600),
        window: Duration::from_millis(env("BULK_WINDOW_MS", 1_000)),
        items: env("BULK_ITEMS", 10_000),
        tasks: env("BULK_TASKS", 64),
        variations: env("BULK_VARIATIONS", 100),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    println!(
        "{} adjustments over {} variations; rate limit {} per {} ms on the fake and the client \
         (Ecwid: 600 per 60 s); single: {} concurrent tasks, one client",
        config.items,
        config.variations,
        config.rate,
        config.window.as_millis(),
        config.tasks
    );
    let adjustments = Arc::new(adjustments(&config));
    let single = runtime.block_on(single(&config, &adjustments));
    print("single", &single);
    let bulk = runtime.block_on(bulk(&config, &adjustments));
    print("bulk", &bulk);
    let requests_ratio = single.requests as f64 / bulk.requests as f64;
    println!(
        "ratio    requests single/bulk {:.1} (target >= 100: {})   wall single/bulk {:.1}",
        requests_ratio,
        if requests_ratio >= 100.0 {
            "met"
        } else {
            "MISSED"
        },
        single.wall.as_secs_f64() / bulk.wall.as_secs_f64()
    );
    println!("stocks exact after both runs; every delta applied once");
}
