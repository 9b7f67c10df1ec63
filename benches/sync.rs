//! What a planned sync saves: 10,000 target counts by SKU, of which 2,000 differ from the
//! store's stock, applied the plain way (one `find_sku` per SKU, then one `set_stock` per SKU
//! that differs) and through `plan_sync` + `apply_sync`, against the fake Ecwid store under a
//! rate limit scaled down in time.
//!
//! Ecwid allows 600 requests per 60 s; the window shrinks and the count stays, 600 per 1 s on
//! the fake and on the client's limiter alike, and the batch poll intervals shrink with it.
//! Each run reports the requests spent (the fake's recorded requests), the 429s among them and the wall
//! time, and checks every target's stock and that each differing SKU was changed once; the
//! ratios plain/sync close the report. Goal: at most 20 requests, zero 429s, stocks exact.
//!
//! The plain way here is the kinder one: it sets only the SKUs that differ (one find and one
//! set per SKU would be 20,000 requests).
//!
//! `cargo bench --bench sync`. Environment: `SYNC_SKUS` (default 10000), `SYNC_DIFFER`
//! (default 2000), `SYNC_RATE` (requests per window, default 600), `SYNC_WINDOW_MS` (default
//! 1000), `SYNC_TASKS` (concurrent plain tasks, default 64).

mod common;

use common::{env, figures, Figures};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ecwid_inventory::{
    stock::SkuMatch, sync::SyncStatus, Client, ProductId, RateLimit, Stock, StockItem,
};
use ecwid_inventory_fake::{demo, FakeStore};

struct Config {
    skus: u64,
    differ: usize,
    rate: u32,
    window: Duration,
    tasks: usize,
}

/// The generated catalog (one product per SKU target, with their variations).
async fn fake(config: &Config) -> FakeStore {
    FakeStore::builder()
        .store(demo::catalog(config.skus, 1))
        .tokens(demo::tokens())
        .rate_limit(RateLimit::new(config.rate, config.window))
        .start()
        .await
        .expect("the fake starts")
}

fn client(fake: &FakeStore, config: &Config) -> Client {
    fake.client_builder(demo::TOKEN)
        .rate_limit(RateLimit::new(config.rate, config.window))
        .build()
        .expect("the client builds")
}

fn product(id: u64) -> StockItem {
    StockItem::Product {
        product: ProductId::new(id),
    }
}

/// The targets: every product's own SKU at its stock, except the first `differ` counted
/// products with an even id, which go up by 3.
fn targets(fake: &FakeStore, config: &Config) -> Vec<(String, Stock)> {
    let mut differ = 0;
    (1..=config.skus)
        .map(|id| {
            let stock = fake.stock(demo::STORE, product(id)).expect("a product");
            let target = match stock {
                Stock::Quantity(q) if id % 2 == 0 && differ < config.differ => {
                    differ += 1;
                    Stock::Quantity(q + 3)
                }
                other => other,
            };
            (format!("CAT-{id:06}"), target)
        })
        .collect()
}

/// Every product is at its target, and the ledger holds one change per differing SKU.
fn verify(fake: &FakeStore, targets: &[(String, Stock)], config: &Config, what: &str) {
    for (id, (sku, target)) in (1..).zip(targets) {
        assert_eq!(
            fake.stock(demo::STORE, product(id)),
            Some(*target),
            "{what}: {sku}"
        );
    }
    let ledger = fake.ledger();
    assert_eq!(ledger.len(), config.differ, "{what}: changes applied");
    let items: std::collections::HashSet<_> = ledger.iter().map(|e| e.item).collect();
    assert_eq!(items.len(), config.differ, "{what}: each item changed once");
}

/// One `find_sku` per SKU, then a `set_stock` where the stock differs, from `tasks`
/// concurrent tasks sharing one client.
async fn plain(config: &Config) -> Figures {
    let fake = fake(config).await;
    let client = client(&fake, config);
    let targets = Arc::new(targets(&fake, config));
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(config.tasks);
    for _ in 0..config.tasks {
        let (client, next, targets) = (client.clone(), Arc::clone(&next), Arc::clone(&targets));
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((sku, target)) = targets.get(i) else {
                    break;
                };
                let found = client
                    .find_sku(sku)
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("plain: find {sku}: {e}"));
                let SkuMatch::Found(item) = found else {
                    panic!("plain: {sku}: {found:?}");
                };
                if item.stock == *target {
                    continue;
                }
                let Stock::Quantity(quantity) = *target else {
                    panic!("plain: {sku}: an unlimited target differs");
                };
                client
                    .set_stock(item.item, quantity)
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("plain: set {sku}: {e}"));
            }
        }));
    }
    for task in tasks {
        task.await.expect("a task panicked");
    }
    let wall = started.elapsed();
    verify(&fake, &targets, config, "plain");
    figures(&fake, wall)
}

/// `plan_sync`, then `apply_sync` (delta mode).
async fn sync(config: &Config) -> Figures {
    let fake = fake(config).await;
    let client = client(&fake, config);
    let targets = targets(&fake, config);
    // The default poll interval (200 ms to 2 s), scaled down with the window.
    let scale = config.window.as_secs_f64() / 60.0;
    let (first, max) = (
        Duration::from_millis(200).mul_f64(scale),
        Duration::from_secs(2).mul_f64(scale),
    );
    let started = Instant::now();
    let plan = client
        .plan_sync(targets.clone())
        .poll_interval(first, max)
        .await
        .expect("the plan is made");
    assert_eq!(plan.count(SyncStatus::Change), config.differ, "sync: plan");
    let report = client
        .apply_sync(plan.clone())
        .poll_interval(first, max)
        .await
        .expect("the plan is applied");
    let wall = started.elapsed();
    assert!(report.is_complete(), "sync: {:?}", report.summary());
    verify(&fake, &targets, config, "sync");
    let figures = figures(&fake, wall);
    assert_eq!(
        plan.requests_sent() + report.requests_sent(),
        figures.requests as u64,
        "the plan and the report count what the fake received"
    );
    println!(
        "sync     plan: {} requests to read, {} changes; apply: {} requests",
        plan.requests_sent(),
        plan.changes(),
        report.requests_sent()
    );
    figures
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
        skus: common::size("SYNC_SKUS", 10_000),
        differ: env("SYNC_DIFFER", 2_000),
        rate: env("SYNC_RATE", 600),
        window: Duration::from_millis(env("SYNC_WINDOW_MS", 1_000)),
        tasks: env("SYNC_TASKS", 64),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    println!(
        "sync of {} counts by SKU, {} differing (demo::catalog, seed 1); rate limit {} per {} \
         ms on the fake and the client (Ecwid: 600 per 60 s); plain: {} concurrent tasks",
        config.skus,
        config.differ,
        config.rate,
        config.window.as_millis(),
        config.tasks
    );
    let plain = runtime.block_on(plain(&config));
    print("plain", &plain);
    let sync = runtime.block_on(sync(&config));
    print("sync", &sync);
    let met = |ok: bool| if ok { "met" } else { "MISSED" };
    println!(
        "ratio    requests plain/sync {:.1}   wall plain/sync {:.1}   (goal: sync <= 20 \
         requests: {}, zero 429s: {})",
        plain.requests as f64 / sync.requests as f64,
        plain.wall.as_secs_f64() / sync.wall.as_secs_f64(),
        met(sync.requests <= 20),
        met(sync.rate_limited == 0)
    );
    println!("stocks exact after both runs; every differing SKU changed once");
}
