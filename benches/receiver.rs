//! What receiving Ecwid's webhooks costs: signed `order.created` deliveries, 100 at a time,
//! POSTed over loopback HTTP/1 to `sales::Receiver` behind axum (as `examples/receiver.rs`
//! serves it), each verified and recorded before its 200, on SQLite (a file,
//! `synchronous=FULL`) and on PostgreSQL (a server on loopback with `fsync` on, started for the
//! run when installed).
//!
//! Reports the verified-and-recorded deliveries per second and the acknowledgement time (from
//! sending the request to reading the 200) at the median, p99 and worst, and checks that every
//! delivery was answered 200 and is in the database once. Goal: p99 under 100 ms and at least
//! 2,000 deliveries a second. The senders run in the same process, on the same 2 cores.
//!
//! `cargo bench --bench receiver`. Environment: `RECEIVER_DELIVERIES` (default 20000),
//! `RECEIVER_CONCURRENCY` (default 100).

// The journal tests' harness, for a PostgreSQL server of the benchmark's own.
#[path = "../tests/common/postgres.rs"]
mod harness;

mod common;

use common::env;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::{extract::State, routing::post, Router};
use ecwid_inventory::journal::Journal;
use ecwid_inventory::sales::{Receiver, Sales};
use ecwid_inventory::webhooks::{sign, SecretString, Verifier, SIGNATURE_HEADER};
use ecwid_inventory::{Error, StoreId, TimeSource};

const STORE: StoreId = StoreId::new(1003);
const CLIENT_SECRET: &str = "the bench app's client secret";

struct Figures {
    wall: Duration,
    /// Each delivery's acknowledgement time, sorted.
    acks: Vec<Duration>,
}

async fn webhook(
    State(receiver): State<Arc<Receiver>>,
    request: axum::extract::Request,
) -> http::StatusCode {
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, receiver.max_body_size()).await {
        Ok(body) => receiver
            .receive(&http::Request::from_parts(parts, body))
            .await
            .status(),
        Err(_) => http::StatusCode::PAYLOAD_TOO_LARGE,
    }
}

/// Signed deliveries: (signature, body), each a new event.
fn deliveries(prefix: &str, count: usize) -> Vec<(String, Vec<u8>)> {
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let secret = SecretString::from(CLIENT_SECRET);
    (0..count)
        .map(|n| {
            let id = format!("{prefix}-{n}");
            let body = serde_json::json!({
                "eventId": id, "eventCreated": created, "storeId": STORE.get(),
                "entityId": 103878161, "eventType": "order.created",
                "data": {"orderId": format!("O{n}"), "newPaymentStatus": "PAID"},
            });
            (
                sign(&secret, created, &id),
                serde_json::to_vec(&body).unwrap(),
            )
        })
        .collect()
}

/// Sends `deliveries` to `url`, `concurrency` at a time; panics on any answer but 200.
async fn send(url: &str, deliveries: Vec<(String, Vec<u8>)>, concurrency: usize) -> Figures {
    let deliveries = Arc::new(deliveries);
    let next = Arc::new(AtomicUsize::new(0));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (deliveries, next, http, url) = (
                deliveries.clone(),
                next.clone(),
                http.clone(),
                url.to_owned(),
            );
            tokio::spawn(async move {
                let mut acks = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let Some((signature, body)) = deliveries.get(n) else {
                        return acks;
                    };
                    let sent = Instant::now();
                    let answer = http
                        .post(&url)
                        .header(SIGNATURE_HEADER, signature)
                        .body(body.clone())
                        .send()
                        .await
                        .expect("the receiver answers");
                    let status = answer.status();
                    let _ = answer.bytes().await;
                    acks.push(sent.elapsed());
                    assert_eq!(status, 200, "delivery {n} was not acknowledged");
                }
            })
        })
        .collect();
    let mut acks = Vec::new();
    for task in tasks {
        acks.extend(task.await.unwrap());
    }
    let wall = started.elapsed();
    acks.sort();
    Figures { wall, acks }
}

async fn run(name: &str, journal: Journal, count: usize, concurrency: usize) {
    let verifier = Verifier::new(SecretString::from(CLIENT_SECRET), STORE).unwrap();
    let receiver = Arc::new(Receiver::new(verifier, Sales::new(journal)));
    let sales = receiver.sales().clone();
    let app = Router::new()
        .route("/webhooks", post(webhook))
        .with_state(receiver);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhooks", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    // Warm up: connections opened, statements prepared, tables touched.
    send(&url, deliveries("warm", concurrency * 5), concurrency).await;
    let figures = send(&url, deliveries("run", count), concurrency).await;
    server.abort();

    let waiting = sales.counts(STORE).await.unwrap().waiting;
    assert_eq!(
        waiting as usize,
        count + concurrency * 5,
        "{name}: every delivery recorded once"
    );
    let at = |q: f64| figures.acks[((figures.acks.len() as f64 * q) as usize).min(count - 1)];
    let rate = count as f64 / figures.wall.as_secs_f64();
    let (median, p99) = (at(0.50), at(0.99));
    println!(
        "{name:<11} {count} deliveries, {concurrency} at a time: {rate:.0} deliveries/s \
         (goal >= 2000: {}), ack median {:.1} ms, p99 {:.1} ms (goal < 100 ms: {}), worst {:.1} ms",
        if rate >= 2000.0 { "met" } else { "MISSED" },
        median.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3,
        if p99 < Duration::from_millis(100) {
            "met"
        } else {
            "MISSED"
        },
        figures.acks.last().unwrap().as_secs_f64() * 1e3,
    );
}

fn main() {
    let count: usize = env("RECEIVER_DELIVERIES", 20_000);
    let concurrency: usize = env("RECEIVER_CONCURRENCY", 100);
    let runtime = tokio::runtime::Runtime::new().unwrap();

    let dir = harness::TempDir::new("bench-receiver");
    let sqlite = runtime
        .block_on(Journal::open_sqlite(dir.path().join("journal.sqlite3")))
        .expect("the SQLite journal opens");
    runtime.block_on(run("SQLite", sqlite, count, concurrency));

    match harness::PgServer::start_durable("bench-receiver") {
        Some(server) => {
            let postgres = runtime
                .block_on(Journal::connect_postgres(&server.url()))
                .expect("the PostgreSQL journal connects");
            runtime.block_on(run("PostgreSQL", postgres, count, concurrency));
        }
        None => println!("PostgreSQL: skipped (not installed)"),
    }
    println!("every delivery answered 200 and recorded once");
}
