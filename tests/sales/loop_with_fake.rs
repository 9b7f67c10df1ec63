//! The whole loop against the fake store: shoppers buy on `ecwid_inventory_fake::FakeStore`,
//! which delivers its signed webhooks (duplicated, delayed and reordered by its fault mode) to
//! a `sales::Receiver` behind axum on 127.0.0.1; `Sales::process` reads the orders back from
//! the fake, and each line sold is one `placed` movement, each line given back one restock,
//! through a receiver answering 503, a receiver crashed (not listening, its journal reopened),
//! and a catch-up over the same orders. On SQLite, and PostgreSQL when installed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::{extract::State, http::StatusCode, routing::post, Router};
use ecwid_inventory::{
    sales::{Movement, MovementKind, Receiver, Sales},
    webhooks::{SecretString, Verifier},
    Client, OrderId, StockItem,
};
use ecwid_inventory_fake::{demo, DeliveryOutcome, FakeStore, Sale, Stock, WebhookFaults};
use tokio::task::JoinHandle;

use crate::common::{demo_shop, ms, postgres::backends};

const CLIENT_SECRET: &str = "the app's client secret";

/// The receiver the server hands deliveries to; none while it is down (answered 503).
type Slot = Arc<Mutex<Option<Receiver>>>;

/// `POST /webhooks`, as `examples/receiver.rs` serves it, answering 503 while the slot is empty.
async fn webhook(State(slot): State<Slot>, request: axum::extract::Request) -> StatusCode {
    let receiver = slot.lock().unwrap().clone();
    let Some(receiver) = receiver else {
        return StatusCode::SERVICE_UNAVAILABLE;
    };
    let (parts, body) = request.into_parts();
    match axum::body::to_bytes(body, receiver.max_body_size()).await {
        Ok(body) => receiver
            .receive(&http::Request::from_parts(parts, body))
            .await
            .status(),
        Err(_) => StatusCode::PAYLOAD_TOO_LARGE,
    }
}

/// The webhook server on loopback: stopped (not listening) and started again on the same port.
struct Hook {
    slot: Slot,
    addr: SocketAddr,
    server: Option<JoinHandle<()>>,
}

impl Hook {
    async fn start() -> Hook {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut hook = Hook {
            slot: Slot::default(),
            addr,
            server: None,
        };
        hook.serve(listener);
        hook
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let app = Router::new()
            .route("/webhooks", post(webhook))
            .with_state(self.slot.clone());
        self.server = Some(tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        }));
    }

    fn url(&self) -> String {
        format!("http://{}/webhooks", self.addr)
    }

    /// Up (recording in `receiver`), or down but listening (503) with `None`.
    fn set(&self, receiver: Option<Receiver>) {
        *self.slot.lock().unwrap() = receiver;
    }

    /// The process dies: nothing listens any more, and its receiver is gone.
    async fn crash(&mut self) {
        self.set(None);
        let server = self.server.take().expect("the server runs");
        server.abort();
        let _ = server.await;
    }

    /// Listening again on the same port.
    async fn restart(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }
}

/// Waits until each event made after the first `since` had an attempt that `failed` says
/// failed (the fake retries it later).
async fn wait_for_failed_attempts(
    fake: &FakeStore,
    since: usize,
    failed: impl Fn(&DeliveryOutcome) -> bool,
) {
    fake.wait_until(|fake| {
        let deliveries = fake.webhook_deliveries();
        fake.webhooks_sent()[since..].iter().all(|event| {
            deliveries
                .iter()
                .any(|d| d.event_id == event.event_id && failed(&d.outcome))
        })
    })
    .await
    .unwrap_or_else(|timeout| panic!("the deliveries never failed: {timeout}"));
}

/// The fake's stock item that a movement's item takes from: the large T-shirt has an empty
/// SKU, so it shares the T-shirt's stock.
fn stock_of(item: StockItem) -> StockItem {
    match item {
        StockItem::Variation { combination, .. } if combination == demo::LARGE_TEE.1 => {
            StockItem::Product { product: demo::TEE }
        }
        item => item,
    }
}

fn counted(fake: &FakeStore, item: StockItem) -> i64 {
    match fake.stock(demo::STORE, item) {
        Some(Stock::Quantity(n)) => n,
        other => panic!("{item:?}: {other:?}"),
    }
}

/// Per order, per line: how many `placed` and `restocked` movements.
fn per_line(movements: &[Movement]) -> BTreeMap<(String, u64), (usize, usize)> {
    let mut lines = BTreeMap::new();
    for movement in movements {
        let counts = lines
            .entry((movement.order_id.as_str().to_owned(), movement.line_id))
            .or_insert((0, 0));
        match movement.kind {
            MovementKind::Placed => counts.0 += 1,
            MovementKind::Restocked => counts.1 += 1,
            other => panic!("{other:?}"),
        }
    }
    lines
}

async fn process(sales: &Sales, client: &Client) -> usize {
    let report = sales.process(client).send().await.unwrap();
    assert_eq!(
        (report.retry_later, report.failed, report.put_back),
        (0, 0, 0),
        "{report:?}"
    );
    report.movements
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sales_on_the_fake_through_faults_crashes_and_a_catch_up_are_each_one_movement() {
    for backend in backends("sales_loop_with_fake").await {
        let on = backend.name;
        let mut hook = Hook::start().await;
        let fake = demo_shop()
            .no_rate_limit()
            .webhooks(hook.url(), SecretString::from(CLIENT_SECRET))
            // Retries 50 ms apart for 20 s: the receiver is down far less than that.
            .webhook_retry_schedule(vec![ms(50); 400])
            .webhook_faults(WebhookFaults::seeded(24).duplicates(0.5).delays(ms(200)))
            .start()
            .await
            .unwrap();
        let client = fake.client_builder(demo::TOKEN).build().unwrap();
        let verifier = Verifier::builder(SecretString::from(CLIENT_SECRET), demo::STORE)
            .time_source(fake.time_source())
            .build()
            .unwrap();
        // The journal reads the fake's clock: a catch-up's cursor is in the orders' time.
        let open = || async { Sales::new(backend.open_on(fake.time_source()).await.unwrap()) };
        let mut sales = open().await;
        hook.set(Some(Receiver::new(verifier.clone(), sales.clone())));
        let started = fake.time_source().now() - Duration::from_secs(60);

        let items = [
            StockItem::Variation {
                product: demo::TEE,
                combination: demo::SMALL_TEE.1,
            },
            StockItem::Variation {
                product: demo::TEE,
                combination: demo::MEDIUM_TEE.1,
            },
            StockItem::Product { product: demo::TEE },
            StockItem::Product { product: demo::MUG },
        ];
        let before: HashMap<StockItem, i64> =
            items.iter().map(|&i| (i, counted(&fake, i))).collect();
        let (tee, small, medium, large) = (
            demo::TEE,
            demo::SMALL_TEE.1,
            demo::MEDIUM_TEE.1,
            demo::LARGE_TEE.1,
        );
        let sell = |sale: Sale| fake.sell(demo::STORE, sale).unwrap();
        // Lines of each order.
        let mut lines: HashMap<OrderId, usize> = HashMap::new();

        // Up: two checkouts, delivered through duplicates and delays.
        let a = sell(
            Sale::new()
                .variation(tee, small, 2)
                .product(demo::MUG, 1)
                .paid(),
        );
        let b = sell(
            Sale::new()
                .variation(tee, medium, 1)
                .variation(tee, large, 2),
        );
        lines.extend([(a.clone(), 2), (b.clone(), 2)]);
        fake.wait_for_webhooks_delivered().await.unwrap();
        assert_eq!(process(&sales, &client).await, 4, "{on}");

        // Down, answering 503: a checkout and a cancellation wait in the fake's retries.
        hook.set(None);
        let since = fake.webhooks_sent().len();
        let c = sell(
            Sale::new()
                .variation(tee, small, 1)
                .product(demo::MUG, 2)
                .paid(),
        );
        lines.insert(c.clone(), 2);
        fake.cancel_order(demo::STORE, &a).unwrap();
        wait_for_failed_attempts(&fake, since, |outcome| outcome.status() == Some(503)).await;
        hook.set(Some(Receiver::new(verifier.clone(), sales.clone())));
        fake.wait_for_webhooks_delivered().await.unwrap();
        // C's two lines placed, A's two restocked.
        assert_eq!(process(&sales, &client).await, 4, "{on}");

        // Crashed: nothing listens; a checkout and a deletion come meanwhile.
        hook.crash().await;
        let since = fake.webhooks_sent().len();
        let d = sell(
            Sale::new()
                .variation(tee, medium, 2)
                .variation(tee, large, 1)
                .variation(tee, small, 1)
                .paid(),
        );
        lines.insert(d.clone(), 3);
        fake.delete_order(demo::STORE, &b).unwrap();
        wait_for_failed_attempts(&fake, since, |outcome| {
            matches!(outcome, DeliveryOutcome::Failed { .. })
        })
        .await;
        // Restarted: the journal opened again on the same database.
        drop(sales);
        sales = open().await;
        hook.set(Some(Receiver::new(verifier.clone(), sales.clone())));
        hook.restart().await;
        fake.wait_for_webhooks_delivered().await.unwrap();
        // D's three lines placed, B's two restocked.
        assert_eq!(process(&sales, &client).await, 5, "{on}");

        // The deliveries were as unruly as promised: duplicates, and refused attempts retried.
        let deliveries = fake.wait_for_webhooks_settled().await.unwrap();
        assert!(
            deliveries.iter().any(|d| d.delivery == 2),
            "{on}: no duplicate"
        );
        assert!(
            deliveries.iter().any(|d| d.attempt > 1 && d.is_delivered()),
            "{on}: no retry delivered"
        );

        // A catch-up over the same orders (the deleted one is in no search) moves nothing.
        let caught_up = sales.catch_up(&client).since(started).await.unwrap();
        assert_eq!(
            (caught_up.orders, caught_up.movements),
            (3, 0),
            "{on}: {caught_up:?}"
        );

        // Each line placed once; the cancelled and the deleted order's lines restocked once.
        let movements = sales.movements(demo::STORE, None, 1000).await.unwrap();
        let given_back: HashSet<&str> = [a.as_str(), b.as_str()].into();
        let mut expected = BTreeMap::new();
        for (order, n) in &lines {
            let restocked = usize::from(given_back.contains(order.as_str()));
            let found: Vec<_> = per_line(&movements)
                .into_iter()
                .filter(|((o, _), _)| o == order.as_str())
                .collect();
            assert_eq!(found.len(), *n, "{on}: lines of {order}: {found:?}");
            for (line, counts) in found {
                expected.insert(line, (1, restocked));
                assert_eq!(counts, (1, restocked), "{on}: {order}");
            }
        }
        assert_eq!(per_line(&movements), expected, "{on}");
        assert_eq!(movements.len(), 13, "{on}");

        // The movements add up to what the fake's stock did.
        let mut moved: HashMap<StockItem, i64> = HashMap::new();
        for movement in &movements {
            *moved.entry(stock_of(movement.item)).or_default() += movement.delta();
        }
        for item in items {
            assert_eq!(
                before[&item] + moved.get(&item).copied().unwrap_or(0),
                counted(&fake, item),
                "{on}: {item:?}"
            );
        }
        assert_eq!(moved.len(), items.len(), "{on}: {moved:?}");
    }
}
