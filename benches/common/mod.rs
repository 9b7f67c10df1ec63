//! What the throughput benchmarks share.

use ecwid_inventory::{
    fake::{demo, FakeStore},
    Client, RateLimit,
};

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
