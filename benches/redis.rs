//! The rate limiter shared through Redis: throughput of four processes sharing one token, and
//! the per-call cost of the Redis limiter against the in-process one.
//!
//! 1. A real `redis-server` on a free loopback port and a fake Ecwid store enforcing 600
//!    requests per 1 s window (LIMIT and WINDOW_MS change it); four child processes (this binary
//!    again) share one token through Redis, the same limit on both sides, and send
//!    LIMIT * (WINDOWS + 1) adjustments between them. The first window's burst is left out:
//!    achieved = (requests - limit) / (first send to last answer), against limit / window.
//!    Target: >= 0.95, zero 429s.
//! 2. One process, a limit too high to wait for: ROUNDS interleaved rounds of CALLS sequential
//!    adjustments through the in-process limiter and through Redis; the median round's ratio.
//!
//! Between the two, the same run's baseline for 1: one process with the in-process limiter
//! doing the same work against a fresh fake.
//!
//! `cargo bench --bench redis` (needs `redis-server` on PATH)

mod common;

#[allow(dead_code)] // the restart helpers serve the tests
#[path = "../tests/common/redis.rs"]
mod server;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ecwid_inventory::{Client, RateLimit, RedisRateLimit};
use ecwid_inventory_fake::{demo, FakeStore};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn epoch_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    if std::env::var_os("BENCH_CHILD_FAKE").is_some() {
        runtime.block_on(child());
    } else {
        runtime.block_on(parent());
    }
}

/// One of the four processes: prints when its first call began and its last one ended.
async fn child() {
    let var = |name: &str| std::env::var(name).unwrap();
    let limit = var("BENCH_LIMIT").parse().unwrap();
    let window = Duration::from_millis(var("BENCH_WINDOW_MS").parse().unwrap());
    let count: u32 = var("BENCH_COUNT").parse().unwrap();
    let tasks: u32 = 16;
    let client = Client::builder(demo::STORE, demo::TOKEN)
        .base_url(var("BENCH_CHILD_FAKE"))
        .rate_limit(RateLimit::new(limit, window))
        .shared_rate_limit(RedisRateLimit::new(var("BENCH_REDIS")))
        .build()
        .unwrap();
    let started = epoch_ms();
    common::sell_small_tees(&client, count, tasks).await;
    println!("BENCH {started} {}", epoch_ms());
}

async fn parent() {
    let limit = env_or("LIMIT", 600) as u32;
    let window = Duration::from_millis(env_or("WINDOW_MS", 1000));
    let windows = env_or("WINDOWS", 4) as u32;
    let processes = env_or("PROCESSES", 4) as u32;
    let total = limit * (windows + 1);
    let Some(redis) = server::RedisServer::start("bench redis", None) else {
        return;
    };

    let fake = common::demo_fake(RateLimit::new(limit, window)).await;
    let mut children = Vec::new();
    for i in 0..processes {
        let count = total / processes + u32::from(i < total % processes);
        children.push(
            tokio::process::Command::new(std::env::current_exe().unwrap())
                .env("BENCH_CHILD_FAKE", fake.base_url())
                .env("BENCH_REDIS", redis.url())
                .env("BENCH_LIMIT", limit.to_string())
                .env("BENCH_WINDOW_MS", window.as_millis().to_string())
                .env("BENCH_COUNT", count.to_string())
                .stdout(std::process::Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .unwrap(),
        );
    }
    let (mut first, mut last) = (u128::MAX, 0);
    for child in children {
        let output = child.wait_with_output().await.unwrap();
        assert!(output.status.success());
        let line = String::from_utf8(output.stdout).unwrap();
        let mut times = line.trim().strip_prefix("BENCH ").unwrap().split(' ');
        first = first.min(times.next().unwrap().parse().unwrap());
        last = last.max(times.next().unwrap().parse().unwrap());
    }
    let requests = fake.requests();
    let rejected = requests.iter().filter(|r| r.status == Some(429)).count();
    assert_eq!(
        fake.ledger().len(),
        total as usize,
        "every delta applied once"
    );
    let elapsed = Duration::from_millis((last - first) as u64);
    let achieved = f64::from(total - limit) / elapsed.as_secs_f64();
    let allowed = f64::from(limit) / window.as_secs_f64();
    println!(
        "{processes} processes sharing one token through Redis, {limit} per {window:?} on both \
         sides: {total} adjustments in {elapsed:?}; achieved {achieved:.1}/s of {allowed:.1}/s \
         allowed = {:.3}; {rejected} 429s",
        achieved / allowed
    );
    // The same run's baseline: one process, the in-process limiter, the same work.
    let fake_local = common::demo_fake(RateLimit::new(limit, window)).await;
    let client = Client::builder(demo::STORE, demo::TOKEN)
        .base_url(fake_local.base_url())
        .rate_limit(RateLimit::new(limit, window))
        .build()
        .unwrap();
    let started = Instant::now();
    common::sell_small_tees(&client, total, 64).await;
    let baseline = f64::from(total - limit) / started.elapsed().as_secs_f64() / allowed;
    println!(
        "same run, one process with the in-process limiter: achieved / allowed = {baseline:.3}; \
         Redis / in-process = {:.3}",
        achieved / allowed / baseline
    );
    fake_local.shutdown().await;

    // Round trips to Redis per adjustment, from Redis's own count of commands.
    let mut connection = redis::Client::open(redis.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut connection)
        .unwrap();
    let calls_of = |command: &str| -> u64 {
        stats
            .lines()
            .find_map(|l| l.strip_prefix(&format!("cmdstat_{command}:calls=")))
            .and_then(|rest| rest.split(',').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    let scripts = calls_of("evalsha") + calls_of("eval");
    println!(
        "Redis: {scripts} script calls for {total} adjustments = {:.2} per adjustment \
         (acquire, release, and the looks of waiting processes)",
        scripts as f64 / f64::from(total)
    );
    fake.shutdown().await;

    // Per-call cost, no waiting.
    let calls = env_or("CALLS", 200) as u32;
    let fake = FakeStore::builder()
        .store(demo::store())
        .tokens(demo::tokens())
        .no_rate_limit()
        .start()
        .await
        .unwrap();
    let high = RateLimit::new(1_000_000, Duration::from_secs(1));
    let local = Client::builder(demo::STORE, demo::TOKEN)
        .base_url(fake.base_url())
        .rate_limit(high)
        .build()
        .unwrap();
    let shared = Client::builder(demo::STORE, demo::TOKEN)
        .base_url(fake.base_url())
        .rate_limit(high)
        .shared_rate_limit(RedisRateLimit::new(redis.url()).key_prefix("bench-cost"))
        .build()
        .unwrap();
    let (product, combination) = demo::SMALL_TEE;
    // Warm up connections (and load the scripts).
    for client in [&local, &shared] {
        for _ in 0..50 {
            client
                .adjust_variation_stock(product, combination, -1)
                .send()
                .await
                .unwrap();
        }
    }
    // Interleaved rounds, so that both see the same machine; the median round decides.
    let rounds = env_or("ROUNDS", 15) as usize;
    let mut times = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        for (client, into) in [(&local, &mut times.0), (&shared, &mut times.1)] {
            let started = Instant::now();
            for _ in 0..calls {
                client
                    .adjust_variation_stock(product, combination, -1)
                    .send()
                    .await
                    .unwrap();
            }
            into.push(started.elapsed() / calls);
        }
    }
    let mut ratios: Vec<f64> = times
        .0
        .iter()
        .zip(&times.1)
        .map(|(local, shared)| shared.as_secs_f64() / local.as_secs_f64())
        .collect();
    ratios.sort_by(f64::total_cmp);
    times.0.sort();
    times.1.sort();
    let (local_call, shared_call) = (times.0[rounds / 2], times.1[rounds / 2]);
    println!(
        "per call, sequential, loopback, no waiting ({rounds} interleaved rounds of {calls}, \
         medians): in-process limiter {:.1} us, Redis limiter {:.1} us: ratio {:.2} \
         (rounds {:.2}..{:.2}) (+{:.1} us a call)",
        local_call.as_secs_f64() * 1e6,
        shared_call.as_secs_f64() * 1e6,
        ratios[rounds / 2],
        ratios[0],
        ratios[rounds - 1],
        (shared_call.as_secs_f64() - local_call.as_secs_f64()) * 1e6,
    );
}
