//! Sustained throughput through the client-side rate limiter against a fake Ecwid store that
//! enforces the same limit.
//!
//! Ecwid's 600 requests per 60 s is scaled down in time: 600 requests per 1 s window (WINDOW_MS
//! and LIMIT in the environment change it), on both sides. Many tasks share one client and send
//! adjustments for WINDOWS windows after the first. The first window's burst is left out of the
//! rate: achieved = (requests - limit) / (time from the first send to the last answer), against
//! allowed = limit / window. Target: achieved / allowed >= 0.95 with zero 429s.
//!
//! `cargo bench --bench limiter`

mod common;

use std::time::Duration;

use ecwid_inventory::{RateLimit, StockItem};
use ecwid_inventory_fake::{demo, Stock};
use tokio::time::Instant;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let limit = env_or("LIMIT", 600) as u32;
    let window = Duration::from_millis(env_or("WINDOW_MS", 1000));
    let windows = env_or("WINDOWS", 4) as u32;
    let tasks = env_or("TASKS", 32) as u32;
    let total = limit * (windows + 1);

    let fake = common::demo_fake(RateLimit::new(limit, window)).await;
    let client = fake
        .client_builder(demo::TOKEN)
        .rate_limit(RateLimit::new(limit, window))
        .build()
        .unwrap();
    let (product, combination) = demo::SMALL_TEE;
    let before = fake.stock(
        demo::STORE,
        StockItem::Variation {
            product,
            combination,
        },
    );

    let started = Instant::now();
    common::sell_small_tees(&client, total, tasks).await;
    let elapsed = started.elapsed();

    let requests = fake.requests();
    let rejected = requests.iter().filter(|r| r.status == Some(429)).count();
    let after = fake.stock(
        demo::STORE,
        StockItem::Variation {
            product,
            combination,
        },
    );
    let (Some(Stock::Quantity(before)), Some(Stock::Quantity(after))) = (before, after) else {
        panic!("the small T-shirt has a counted stock");
    };
    assert_eq!(
        before - after,
        i64::from(total),
        "every adjustment landed once"
    );

    let achieved = f64::from(total - limit) / elapsed.as_secs_f64();
    let allowed = f64::from(limit) / window.as_secs_f64();
    println!(
        "limiter: {total} adjustments from {tasks} tasks through one client, limit {limit} per {} ms on both sides",
        window.as_millis()
    );
    println!(
        "  wall time                     {:8.3} s",
        elapsed.as_secs_f64()
    );
    println!("  requests sent                 {:8}", requests.len());
    println!("  429 answers                   {rejected:8}");
    println!("  achieved rate after the burst {achieved:8.1} requests/s");
    println!("  allowed rate                  {allowed:8.1} requests/s");
    println!("  achieved / allowed            {:8.3}", achieved / allowed);
}
