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
//! # Offline, the whole loop: the embedded fake store sells 3 orders (and cancels the first)
//! # and delivers its signed webhooks here, duplicated and delayed; each line is printed once.
//! RECEIVER_DEMO_SALES=3 cargo run --example receiver
//! ```
//!
//! Offline (no `ECWID_TOKEN`), the fake store (`ecwid_inventory_fake::FakeStore`, the demo
//! shop) runs on loopback: the receiver reads orders from it, and the fake sends its webhooks
//! (`order.created`, `order.updated`, `product.updated` ...) to this receiver's own
//! `/webhooks`, signed with the same client secret, in its fault mode (about every other event
//! twice, each up to 500 ms late, so out of order). `RECEIVER_DEMO_SALES=N` makes N sales on
//! it once the receiver listens (a small T-shirt and a mug each), and cancels the first once
//! its movements are printed. The output shows each delivery (`recorded`, or `recorded before
//! (a redelivery)`), one `placed` movement per line, and one `restocked` per line of the
//! cancelled order:
//!
//! ```text
//! demo sale: order H25CY (TEE-S x1, MUG x1)
//! webhook: 200 order.created 30fd0600-... of store 1003 recorded
//! webhook: 200 order.created 30fd0600-... of store 1003 recorded before (a redelivery)
//! processed 3 events: 6 movements
//! movement 1003/H25CY/1/placed-1 placed -1 (sku TEE-S)
//! movement 1003/H25CY/2/placed-1 placed -1 (sku MUG)
//! demo sale: order H25CY cancelled
//! processed 1 events: 2 movements
//! movement 1003/H25CY/1/restocked-1 restocked +1 (sku TEE-S)
//! ```
//!
//! The environment:
//! - `ECWID_CLIENT_SECRET`: the app's client secret, which signs the webhooks (not the API
//!   token). Without `ECWID_TOKEN` it defaults to `fake-client-secret`, the fake's.
//! - `ECWID_STORE_ID`, `ECWID_TOKEN`, `ECWID_API_URL` (optional): the store whose orders are
//!   read, as `Client::from_env` reads them. Without `ECWID_TOKEN` the receiver starts the
//!   fake store and reads orders from it (an order it does not hold answers 404: the event is
//!   processed as a deleted order never counted, and moves nothing).
//! - `RECEIVER_JOURNAL`: where events and movements are kept: a SQLite file (default
//!   `receiver-journal.sqlite3`; offline, a new file in the temporary folder each run, since a
//!   new fake makes the same order and event ids again) or a `postgres://` URL.
//! - `RECEIVER_ADDR`: where to listen (default `127.0.0.1:8080`).
//! - `RECEIVER_PROCESS_EVERY_MS`: how often the background task processes (default 2000).
//! - `RECEIVER_DEMO_SALES`: offline only, how many demo sales the fake makes (default 0).
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
    Client, Error,
};
use ecwid_inventory_fake::{demo, FakeStore, Sale, WebhookFaults};

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
    let offline = var("ECWID_TOKEN").is_none();
    let demo_sales: u32 = match var("RECEIVER_DEMO_SALES") {
        Some(n) if offline => n.trim().parse()?,
        Some(_) => {
            return Err("RECEIVER_DEMO_SALES sells on the fake store: unset ECWID_TOKEN".into())
        }
        None => 0,
    };
    // Bound first: offline, the fake store sends its webhooks to this address.
    let addr = var("RECEIVER_ADDR").unwrap_or_else(|| "127.0.0.1:8080".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let url = format!("http://{}/webhooks", listener.local_addr()?);

    let client_secret = match var("ECWID_CLIENT_SECRET") {
        Some(secret) => secret,
        None if offline => FAKE_CLIENT_SECRET.into(),
        None => return Err("ECWID_CLIENT_SECRET is not set".into()),
    };
    // The fake store lives as long as the receiver: its orders are what `process` reads.
    let (client, fake) = if offline {
        let fake = FakeStore::builder()
            .store(demo::store())
            .tokens(demo::tokens())
            .webhooks(url.clone(), SecretString::from(client_secret.clone()))
            .webhook_faults(WebhookFaults::seeded(7).delays(Duration::from_millis(500)))
            .start()
            .await?;
        let client = fake.client_builder(demo::TOKEN).build()?;
        println!(
            "no ECWID_TOKEN: reading orders from the fake store at {}, which sends its webhooks \
             here",
            fake.base_url()
        );
        (client, Some(fake))
    } else {
        (Client::from_env()?, None)
    };
    let store = client.store_id();

    let location = match var("RECEIVER_JOURNAL") {
        Some(location) => location,
        None if offline => {
            let run = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
            let file = format!(
                "receiver-demo-{}-{}.sqlite3",
                std::process::id(),
                run.as_millis()
            );
            std::env::temp_dir().join(file).display().to_string()
        }
        None => "receiver-journal.sqlite3".into(),
    };
    let journal = if location.starts_with("postgres://") || location.starts_with("postgresql://") {
        Journal::connect_postgres(&location).await?
    } else {
        println!("journal: {location}");
        Journal::open_sqlite(&location).await?
    };
    let verifier = Verifier::new(SecretString::from(client_secret), store)?;
    let sales = Sales::new(journal);
    let receiver = Arc::new(Receiver::new(verifier, sales.clone()));

    let every = Duration::from_millis(match var("RECEIVER_PROCESS_EVERY_MS") {
        Some(ms) => ms.trim().parse()?,
        None => 2000,
    });
    tokio::spawn(process_forever(sales.clone(), client, every));

    let app = Router::new()
        .route("/webhooks", post(webhook))
        .with_state(receiver);
    println!("receiving webhooks of store {store} at {url}");
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    if let Some(fake) = &fake {
        demo_sell(fake, &sales, demo_sales).await?;
    }
    server.await??;
    Ok(())
}

/// Sells `n` orders on the fake store (a small T-shirt and a mug each), and once the first
/// one's movements are printed, cancels it: the fake delivers each change's webhooks to the
/// receiver. Stops at the first sale refused (the demo shop holds 8 mugs).
async fn demo_sell(fake: &FakeStore, sales: &Sales, n: u32) -> Result<(), Error> {
    let (tee, small) = demo::SMALL_TEE;
    let mut first = None;
    for _ in 0..n {
        let sale = Sale::new()
            .variation(tee, small, 1)
            .product(demo::MUG, 1)
            .paid();
        match fake.sell(demo::STORE, sale) {
            Ok(order) => {
                println!("demo sale: order {order} (TEE-S x1, MUG x1)");
                first.get_or_insert(order);
            }
            Err(refused) => {
                println!("demo sale refused: {refused}");
                break;
            }
        }
    }
    let Some(order) = first else { return Ok(()) };
    // A cancellation seen before the sale was processed moves nothing (the order never held
    // stock as far as the log knows): wait for the sale's movements first.
    loop {
        let movements = sales.movements(demo::STORE, None, 1000).await?;
        if movements.iter().any(|m| m.order_id == order) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    match fake.cancel_order(demo::STORE, &order) {
        Ok(()) => println!("demo sale: order {order} cancelled"),
        Err(refused) => println!("demo cancellation refused: {refused}"),
    }
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
