//! A webhook receiver for Ecwid's sales: `POST /webhooks` verifies and records each delivery
//! (`ecwid_inventory::sales::Receiver`) and answers only once it is on disk; a background task
//! processes the recorded events (reading their orders) and prints each stock movement once.
//!
//! ```sh
//! # Against a real store (Ecwid must reach the address: put it behind your HTTPS proxy):
//! ECWID_CLIENT_SECRET=... ECWID_STORE_ID=1003 ECWID_TOKEN=secret_... \
//!   RECEIVER_JOURNAL=receiver.sqlite3 RECEIVER_ADDR=127.0.0.1:8080 \
//!   cargo run --example receiver
//!
//! # Offline, against the embedded fake store (no ECWID_TOKEN set), and one signed delivery:
//! cargo run --example receiver
//! ```
//!
//! The environment:
//! - `ECWID_CLIENT_SECRET`: the app's client secret, which signs the webhooks (not the API
//!   token). Without `ECWID_TOKEN` it defaults to `fake-client-secret`, the fake's.
//! - `ECWID_STORE_ID`, `ECWID_TOKEN`, `ECWID_API_URL` (optional): the store whose orders are
//!   read, as `Client::from_env` reads them. Without `ECWID_TOKEN` the receiver starts the
//!   fake store (`ecwid_inventory_fake::FakeStore`) on loopback and reads orders from it (a
//!   fake that holds no such order answers 404: the event is processed as a deleted order
//!   never counted, and moves nothing).
//! - `RECEIVER_JOURNAL`: where events and movements are kept: a SQLite file (default
//!   `receiver-journal.sqlite3`) or a `postgres://` URL.
//! - `RECEIVER_ADDR`: where to listen (default `127.0.0.1:8080`).
//! - `RECEIVER_PROCESS_EVERY_MS`: how often the background task processes (default 2000).
//!
//! Statuses (see `Receiver`'s docs): 200 once recorded, 413 for a body over 64 KiB (refused
//! before it is read whole), 401 for a missing or wrong signature, 400 for a body that is not a
//! webhook, 403 for an event too old or of another store, 503 when the journal fails or is too
//! slow (Ecwid then delivers it again). Try it with a delivery signed as Ecwid signs one:
//!
//! ```sh
//! created=$(date +%s); id=e-$created
//! sig=$(printf '%s' "$created.$id" | openssl dgst -sha256 -hmac fake-client-secret -binary | base64)
//! curl -i -H "X-Ecwid-Webhook-Signature: $sig" -d "{\"eventId\":\"$id\",\"eventCreated\":$created,
//!   \"storeId\":1003,\"eventType\":\"order.created\",\"data\":{\"orderId\":\"XJ12H\"}}" \
//!   http://127.0.0.1:8080/webhooks
//! ```

use std::{process::ExitCode, sync::Arc, time::Duration};

use axum::{
    body::Bytes,
    extract::{Request, State},
    http::StatusCode,
    routing::post,
    Router,
};
use ecwid_inventory::{
    journal::Journal,
    sales::{Receiver, Sales},
    webhooks::{SecretString, Verifier},
    Client,
};
use ecwid_inventory_fake::{demo, FakeStore};

/// The client secret the offline run signs and verifies with.
const FAKE_CLIENT_SECRET: &str = "fake-client-secret";

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    // The fake store lives as long as the receiver: its orders are what `process` reads.
    let (client, client_secret, _fake) = if var("ECWID_TOKEN").is_some() {
        let secret = var("ECWID_CLIENT_SECRET").ok_or("ECWID_CLIENT_SECRET is not set")?;
        (Client::from_env()?, secret, None)
    } else {
        let fake = FakeStore::demo().await?;
        let client = fake.client_builder(demo::TOKEN).build()?;
        println!(
            "no ECWID_TOKEN: reading orders from the fake store at {}",
            fake.base_url()
        );
        let secret = var("ECWID_CLIENT_SECRET").unwrap_or_else(|| FAKE_CLIENT_SECRET.into());
        (client, secret, Some(fake))
    };
    let store = client.store_id();

    let location = var("RECEIVER_JOURNAL").unwrap_or_else(|| "receiver-journal.sqlite3".into());
    let journal = if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        Journal::connect_postgres(&location).await?
    } else {
        Journal::open_sqlite(&location).await?
    };
    let verifier = Verifier::new(SecretString::from(client_secret), store)?;
    let receiver = Arc::new(Receiver::new(verifier, Sales::new(journal)));

    let every = Duration::from_millis(match var("RECEIVER_PROCESS_EVERY_MS") {
        Some(ms) => ms.trim().parse()?,
        None => 2000,
    });
    tokio::spawn(process_forever(receiver.sales().clone(), client, every));

    let app = Router::new()
        .route("/webhooks", post(webhook))
        .with_state(receiver);
    let addr = var("RECEIVER_ADDR").unwrap_or_else(|| "127.0.0.1:8080".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "receiving webhooks of store {store} at http://{}/webhooks",
        listener.local_addr()?
    );
    axum::serve(listener, app).await?;
    Ok(())
}

/// `POST /webhooks`: verify, record, and answer with the receipt's status.
async fn webhook(State(receiver): State<Arc<Receiver>>, request: Request) -> (StatusCode, String) {
    let (parts, body) = request.into_parts();
    // Reading stops past the limit: a large body is never all in memory. The receiver checks
    // the length again before parsing.
    let body: Bytes = match axum::body::to_bytes(body, receiver.max_body_size()).await {
        Ok(body) => body,
        Err(_) => {
            println!(
                "webhook: 413 refused: the body is over {} bytes",
                receiver.max_body_size()
            );
            return (StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large".into());
        }
    };
    let receipt = receiver
        .receive(&http::Request::from_parts(parts, body))
        .await;
    // The receipt never holds the secret or the body: safe to log.
    println!("webhook: {} {receipt}", receipt.status().as_u16());
    let reason = if receipt.is_acknowledged() {
        String::new()
    } else {
        receipt.status().canonical_reason().unwrap_or("").to_owned()
    };
    (receipt.status(), reason)
}

/// Processes the recorded events every `every`, and prints the movements after the last one
/// printed. A real consumer applies each movement to its channel under `movement.id` and keeps
/// its cursor (`after`) with that channel.
async fn process_forever(sales: Sales, client: Client, every: Duration) {
    let mut after = None;
    let mut ticks = tokio::time::interval(every);
    loop {
        ticks.tick().await;
        match sales.process(&client).send().await {
            Ok(report) if report.processed > 0 => println!(
                "processed {} events: {} movements",
                report.processed, report.movements
            ),
            Ok(_) => {}
            Err(error) => eprintln!("processing stopped: {error}"),
        }
        loop {
            match sales.movements(client.store_id(), after, 100).await {
                Ok(movements) if movements.is_empty() => break,
                Ok(movements) => {
                    for movement in movements {
                        println!(
                            "movement {} {} {:+} (sku {})",
                            movement.id,
                            movement.kind.as_str(),
                            movement.delta(),
                            movement.sku.as_deref().unwrap_or("-")
                        );
                        after = Some(movement.sequence);
                    }
                }
                Err(error) => {
                    eprintln!("reading movements failed: {error}");
                    break;
                }
            }
        }
    }
}
