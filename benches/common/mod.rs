//! What the throughput benchmarks share.

// Each benchmark uses some of these.
#![allow(dead_code)]

use std::time::Duration;

use ecwid_inventory::{Client, RateLimit};
use ecwid_inventory_fake::{demo, FakeStore};

/// Sells `total` small T-shirts of the demo shop, one adjustment each, from `tasks` tasks
/// sharing `client`; any failure ends the benchmark.
pub async fn sell_small_tees(client: &Client, total: u32, tasks: u32) {
    let mut handles = Vec::new();
    for task in 0..tasks {
        let client = client.clone();
        let share = total / tasks + u32::from(task < total % tasks);
        handles.push(tokio::spawn(async move {
            let (product, combination) = demo::SMALL_TEE;
            for _ in 0..share {
                client
                    .adjust_variation_stock(product, combination, -1)
                    .send()
                    .await
                    .unwrap();
            }
        }));
    }
    for handle in handles {
        handle.await.unwrap();
    }
}

/// The demo shop on loopback, enforcing `limit` per token as Ecwid does.
pub async fn demo_fake(limit: RateLimit) -> FakeStore {
    FakeStore::builder()
        .store(demo::store())
        .tokens(demo::tokens())
        .rate_limit(limit)
        .start()
        .await
        .unwrap()
}

/// A setting from the environment, or `default`; a value that does not parse ends the run.
pub fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(value) => value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name} is not a valid number: {value:?}")),
        Err(_) => default,
    }
}

/// The largest size a benchmark takes (products, SKUs, events): the fake serves a catalog of
/// that many products in a few hundred megabytes.
pub const MAX_SIZE: u64 = 1_000_000;

/// A benchmark's size from the environment, or `default`: from 1 to [`MAX_SIZE`]; anything else
/// ends the run, naming the variable.
pub fn size<T>(name: &str, default: T) -> T
where
    T: std::str::FromStr + TryInto<u64> + std::fmt::Display + Copy,
{
    let size = env(name, default);
    assert!(
        size.try_into()
            .is_ok_and(|size| (1..=MAX_SIZE).contains(&size)),
        "{name} must be from 1 to {MAX_SIZE}, not {size}"
    );
    size
}

/// What one way of doing the work cost, as the fake saw it.
pub struct Figures {
    /// Requests the fake received.
    pub requests: usize,
    /// How many of them it answered 429.
    pub rate_limited: usize,
    pub wall: Duration,
}

/// The figures of a run against `fake` that took `wall`.
pub fn figures(fake: &FakeStore, wall: Duration) -> Figures {
    let requests = fake.requests();
    Figures {
        requests: requests.len(),
        rate_limited: requests.iter().filter(|r| r.status == Some(429)).count(),
        wall,
    }
}
