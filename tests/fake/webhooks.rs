//! The fake store's webhooks: what a sale, a change of an order and an API write send, signed
//! so that the SDK's `webhooks::Verifier` accepts them; Ecwid's delivery rules (delivered only on
//! 200, 201, 202, 204, 209; retried on a schedule, and no more once delivered); the fault mode
//! (duplicates, delays, reordering, reproducible by its seed); and the client secret kept out of
//! every output. The receivers are mock servers on loopback.
//!
//! One global TRACE subscriber for the whole test binary, so that the secret can be looked for
//! in every log line the fake writes.

use crate::common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use ecwid_inventory::orders::{FulfillmentStatus, PaymentStatus};
use ecwid_inventory::webhooks::{EventKind, Rejection, SecretString, Verifier, SIGNATURE_HEADER};
use ecwid_inventory_fake::webhooks::ecwid_retry_schedule;
use ecwid_inventory_fake::{
    demo, DeliveryOutcome, FakeStore, FakeStoreBuilder, OrderUpdate, Sale, WebhookDelivery,
    WebhookFaults,
};
use serde_json::Value;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use common::*;

/// The app's client secret; its tail, `5e1c9b`, must never show.
const SECRET: &str = "client_secret_of_the_app_5e1c9b";

fn secret() -> SecretString {
    SecretString::from(SECRET)
}

/// A receiver answering every delivery with `status`.
async fn receiver(status: u16) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(status))
        .mount(&server)
        .await;
    server
}

fn hook_url(server: &MockServer) -> String {
    format!("{}/ecwid/webhooks?app=stock", server.uri())
}

/// Retries a few milliseconds apart, so that a delivery settles within the test.
fn quick(retries: usize) -> Vec<Duration> {
    vec![ms(10); retries]
}

/// The demo shop, sending its webhooks to `url` on `schedule`.
fn sending_to(url: String, schedule: Vec<Duration>) -> FakeStoreBuilder {
    demo_shop()
        .no_rate_limit()
        .webhooks(url, secret())
        .webhook_retry_schedule(schedule)
}

fn verifier(fake: &FakeStore) -> Verifier {
    Verifier::builder(secret(), demo::STORE)
        .time_source(fake.time_source())
        .build()
        .unwrap()
}

async fn received(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.unwrap_or_default()
}

fn event_id(request: &Request) -> String {
    let body: Value = serde_json::from_slice(&request.body).unwrap();
    body["eventId"].as_str().unwrap().to_owned()
}

fn attempts(deliveries: &[WebhookDelivery]) -> Vec<(u32, u32, DeliveryOutcome)> {
    deliveries
        .iter()
        .map(|d| (d.delivery, d.attempt, d.outcome.clone()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// What is sent, and that it verifies

#[tokio::test]
async fn a_checkout_sends_signed_order_and_product_events_that_verify() {
    let server = receiver(200).await;
    let fake = sending_to(hook_url(&server), quick(3))
        .start()
        .await
        .unwrap();
    let (tee, small) = demo::SMALL_TEE;
    let order = fake
        .sell(
            demo::STORE,
            Sale::new()
                .variation(tee, small, 2)
                .variation(tee, demo::LARGE_TEE.1, 1)
                .product(demo::MUG, 1)
                .product(demo::GIFT_CARD, 1)
                .paid(),
        )
        .unwrap();
    let number = client_for(&fake, demo::TOKEN)
        .order(order.clone())
        .await
        .unwrap()
        .order_number
        .unwrap();

    let deliveries = fake.wait_for_webhooks_delivered().await.unwrap();
    // One order.created, and one product.updated per product whose stock moved: the T-shirt
    // (twice sold, once announced) and the mug; the gift card's stock is unlimited.
    let sent = fake.webhooks_sent();
    let kinds: Vec<(&str, u64)> = sent
        .iter()
        .map(|event| (event.event_type.as_str(), event.entity_id))
        .collect();
    assert_eq!(
        kinds,
        [
            ("order.created", number),
            ("product.updated", tee.get()),
            ("product.updated", demo::MUG.get()),
        ]
    );
    assert_eq!(deliveries.len(), 3, "{deliveries:?}");
    for delivery in &deliveries {
        assert_eq!((delivery.delivery, delivery.attempt), (1, 1));
        assert_eq!(delivery.outcome, DeliveryOutcome::Delivered { status: 200 });
    }

    let requests = received(&server).await;
    assert_eq!(requests.len(), 3);
    let verifier = verifier(&fake);
    let bodies: HashMap<&str, &str> = sent
        .iter()
        .map(|event| (event.event_id.as_str(), event.body.as_str()))
        .collect();
    let mut products = HashSet::new();
    for request in &requests {
        let event = verifier
            .verify(&request.headers, &request.body)
            .unwrap_or_else(|rejection| panic!("{rejection}: {request:?}"));
        assert_eq!(request.url.path(), "/ecwid/webhooks");
        assert_eq!(query_param(request, "app").as_deref(), Some("stock"));
        assert_eq!(
            query_param(request, "eventtype").as_deref(),
            Some(event.event_type())
        );
        assert!(request.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
        assert_eq!(
            bodies[event.event_id.as_str()].as_bytes(),
            request.body.as_slice()
        );
        assert!(
            uuid::Uuid::parse_str(&event.event_id).is_ok(),
            "{}",
            event.event_id
        );
        assert_eq!(event.store_id, demo::STORE);
        match &event.kind {
            EventKind::OrderCreated(created) => {
                assert_eq!(created.order_id.as_ref(), Some(&order));
                assert_eq!(created.new_payment_status, Some(PaymentStatus::Paid));
                assert_eq!(
                    created.new_fulfillment_status,
                    Some(FulfillmentStatus::AwaitingProcessing)
                );
                assert_eq!(created.old_payment_status, None);
                assert_eq!(event.entity_id, Some(number.to_string()));
            }
            EventKind::ProductUpdated { product_id } => {
                assert_eq!(event.data, Value::Null, "product events carry no data");
                products.insert(*product_id);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(products, HashSet::from([tee, demo::MUG]));

    // The signature is the client secret's: another secret refuses every delivery.
    let stranger = Verifier::new(SecretString::from("another app's secret"), demo::STORE).unwrap();
    for request in &requests {
        assert_eq!(
            stranger.verify(&request.headers, &request.body),
            Err(Rejection::BadSignature)
        );
    }
}

#[tokio::test]
async fn changes_of_an_order_and_api_writes_send_their_events() {
    let server = receiver(200).await;
    let fake = sending_to(hook_url(&server), quick(3))
        .start()
        .await
        .unwrap();
    let order = fake
        .sell(demo::STORE, Sale::new().product(demo::MUG, 2))
        .unwrap();
    fake.update_order(
        demo::STORE,
        &order,
        OrderUpdate::new().fulfillment_status(FulfillmentStatus::Processing),
    )
    .unwrap();
    fake.cancel_order(demo::STORE, &order).unwrap();
    // Changes nothing, so sends nothing.
    fake.cancel_order(demo::STORE, &order).unwrap();
    fake.delete_order(demo::STORE, &order).unwrap();
    // An API write: Ecwid announces every change of a product.
    client_for(&fake, demo::TOKEN)
        .adjust_variation_stock(demo::SMALL_TEE.0, demo::SMALL_TEE.1, -1)
        .send()
        .await
        .unwrap();

    fake.wait_for_webhooks_delivered().await.unwrap();
    let sent: Vec<(String, u64)> = fake
        .webhooks_sent()
        .iter()
        .map(|event| (event.event_type.clone(), event.entity_id))
        .collect();
    let number = 100_000_001;
    let (mug, tee) = (demo::MUG.get(), demo::TEE.get());
    let expected = [
        ("order.created", number),
        ("product.updated", mug),
        ("order.updated", number),
        ("order.updated", number),
        ("product.updated", mug),
        ("order.deleted", number),
        ("product.updated", tee),
    ];
    assert_eq!(
        sent,
        expected.map(|(kind, entity)| (kind.to_owned(), entity))
    );

    // The order events, verified, in the order they happened.
    let verifier = verifier(&fake);
    let requests = received(&server).await;
    let by_id: HashMap<String, &Request> = requests.iter().map(|r| (event_id(r), r)).collect();
    let orders: Vec<EventKind> = fake
        .webhooks_sent()
        .iter()
        .filter(|event| event.event_type.starts_with("order."))
        .map(|event| {
            let request = by_id[&event.event_id];
            verifier
                .verify(&request.headers, &request.body)
                .unwrap()
                .kind
        })
        .collect();
    let [EventKind::OrderCreated(_), EventKind::OrderUpdated(processing), EventKind::OrderUpdated(cancelled), EventKind::OrderDeleted(deleted)] =
        &orders[..]
    else {
        panic!("{orders:?}");
    };
    assert_eq!(
        (
            &processing.old_payment_status,
            &processing.old_fulfillment_status,
            &processing.new_payment_status,
            &processing.new_fulfillment_status
        ),
        (
            &Some(PaymentStatus::AwaitingPayment),
            &Some(FulfillmentStatus::AwaitingProcessing),
            &Some(PaymentStatus::AwaitingPayment),
            &Some(FulfillmentStatus::Processing)
        )
    );
    assert_eq!(
        (&cancelled.old_payment_status, &cancelled.new_payment_status),
        (
            &Some(PaymentStatus::AwaitingPayment),
            &Some(PaymentStatus::Cancelled)
        )
    );
    assert_eq!(deleted.order_id.as_ref(), Some(&order));
    assert_eq!(deleted.new_payment_status, None);
}

#[tokio::test]
async fn event_times_follow_the_fakes_clock() {
    let server = receiver(200).await;
    let fake = sending_to(hook_url(&server), quick(3))
        .start()
        .await
        .unwrap();
    fake.sell(demo::STORE, Sale::new().product(demo::GIFT_CARD, 1))
        .unwrap();
    fake.advance_clock(Duration::from_secs(2 * 60 * 60));
    fake.sell(demo::STORE, Sale::new().product(demo::GIFT_CARD, 1))
        .unwrap();
    fake.wait_for_webhooks_delivered().await.unwrap();
    let sent = fake.webhooks_sent();
    let gap = sent[1].created - sent[0].created;
    assert!((7200..=7201).contains(&gap), "{gap}");
    // A receiver on the same clock accepts both.
    let verifier = verifier(&fake);
    for request in received(&server).await {
        verifier.verify(&request.headers, &request.body).unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// Ecwid's delivery rules

#[tokio::test]
async fn retries_stop_once_delivered() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .mount(&server)
        .await;
    let fake = sending_to(hook_url(&server), quick(5))
        .start()
        .await
        .unwrap();
    // One API write: one product.updated.
    client_for(&fake, demo::TOKEN)
        .adjust_product_stock(demo::MUG, -1)
        .send()
        .await
        .unwrap();

    let deliveries = fake.wait_for_webhooks_settled().await.unwrap();
    assert_eq!(
        attempts(&deliveries),
        [
            (1, 1, DeliveryOutcome::NotDelivered { status: 500 }),
            (1, 2, DeliveryOutcome::Delivered { status: 200 }),
        ]
    );
    assert!(deliveries[0].at <= deliveries[1].at);
    // Longer than the rest of the schedule: nothing more comes.
    tokio::time::sleep(ms(100)).await;
    let requests = received(&server).await;
    assert_eq!(requests.len(), 2, "the event again, then no more");
    assert_eq!(requests[0].body, requests[1].body, "the same event");
    assert_eq!(
        requests[0].headers[&SIGNATURE_HEADER],
        requests[1].headers[&SIGNATURE_HEADER]
    );
    assert_eq!(fake.webhook_deliveries().len(), 2);
}

#[tokio::test]
async fn only_ecwids_statuses_count_as_delivered() {
    for status in [200, 201, 202, 204, 209] {
        let server = receiver(status).await;
        let fake = sending_to(hook_url(&server), quick(2))
            .start()
            .await
            .unwrap();
        fake.sell(demo::STORE, Sale::new().product(demo::GIFT_CARD, 1))
            .unwrap();
        let deliveries = fake.wait_for_webhooks_settled().await.unwrap();
        assert_eq!(
            attempts(&deliveries),
            [(1, 1, DeliveryOutcome::Delivered { status })],
            "{status}"
        );
    }
    // 203, 208, redirects (not followed) and errors: retried to the end of the schedule.
    for status in [203, 206, 208, 301, 302, 307, 400, 404, 500, 503] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(status).insert_header("location", "/elsewhere"))
            .mount(&server)
            .await;
        let fake = sending_to(hook_url(&server), quick(2))
            .start()
            .await
            .unwrap();
        fake.sell(demo::STORE, Sale::new().product(demo::GIFT_CARD, 1))
            .unwrap();
        let deliveries = fake.wait_for_webhooks_settled().await.unwrap();
        let not_delivered = DeliveryOutcome::NotDelivered { status };
        assert_eq!(
            attempts(&deliveries),
            [
                (1, 1, not_delivered.clone()),
                (1, 2, not_delivered.clone()),
                (1, 3, not_delivered),
            ],
            "{status}: one attempt and two retries, then given up"
        );
        let requests = received(&server).await;
        assert_eq!(requests.len(), 3, "{status}");
        assert!(
            requests.iter().all(|r| r.url.path() == "/ecwid/webhooks"),
            "{status}: a redirect is not followed"
        );
    }
}

#[tokio::test]
async fn an_unreachable_receiver_is_retried_to_the_bound() {
    // A port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/ecwid/webhooks", listener.local_addr().unwrap());
    drop(listener);
    let fake = sending_to(url, quick(3)).start().await.unwrap();
    fake.sell(demo::STORE, Sale::new().product(demo::GIFT_CARD, 1))
        .unwrap();
    let deliveries = fake.wait_for_webhooks_settled().await.unwrap();
    assert_eq!(deliveries.len(), 4, "one attempt and three retries");
    for (attempt, delivery) in (1..).zip(&deliveries) {
        assert_eq!(delivery.attempt, attempt);
        assert!(
            matches!(&delivery.outcome, DeliveryOutcome::Failed { error } if error.contains("connect")),
            "{delivery:?}"
        );
    }
}

#[tokio::test]
async fn ecwids_schedule_is_the_default_and_a_bad_url_is_refused() {
    let server = receiver(500).await;
    // Without a schedule of its own the fake waits 15 minutes before the first retry.
    let fake = demo_shop()
        .webhooks(hook_url(&server), secret())
        .start()
        .await
        .unwrap();
    fake.sell(demo::STORE, Sale::new().product(demo::GIFT_CARD, 1))
        .unwrap();
    fake.wait_until(|fake| !fake.webhook_deliveries().is_empty())
        .await
        .unwrap();
    tokio::time::sleep(ms(100)).await;
    assert_eq!(fake.webhook_deliveries().len(), 1);
    assert_eq!(ecwid_retry_schedule()[0], Duration::from_secs(15 * 60));

    for url in ["https://example.com/hooks", "not a url", ""] {
        let error = demo_shop()
            .webhooks(url, secret())
            .start()
            .await
            .unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput, "{url}");
    }
}

/// Ecwid's own schedule, on tokio's paused clock: a day passes in no time. A receiver that is
/// never there gets one attempt and 27 retries, 15, 30 and 45 minutes and then each hour apart,
/// and the attempts' times (the fake's clock, which follows tokio's) show it.
#[tokio::test(start_paused = true)]
async fn ecwids_schedule_retries_27_times_over_a_day() {
    // A port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/ecwid/webhooks", listener.local_addr().unwrap());
    drop(listener);
    let fake = demo_shop().webhooks(url, secret()).start().await.unwrap();
    fake.sell(demo::STORE, Sale::new().product(demo::GIFT_CARD, 1))
        .unwrap();
    tokio::time::sleep(Duration::from_secs(25 * 60 * 60)).await;

    let deliveries = fake.webhook_deliveries();
    let schedule = ecwid_retry_schedule();
    assert_eq!(deliveries.len(), 1 + schedule.len(), "{deliveries:#?}");
    assert!(fake.wait_for_webhooks_settled().await.is_ok(), "given up");
    // Each attempt ends at most a connect timeout after it starts.
    let most = ecwid_inventory_fake::webhooks::CONNECT_TIMEOUT;
    for (pair, wait) in deliveries.windows(2).zip(&schedule) {
        let gap = pair[1].at.duration_since(pair[0].at).unwrap();
        assert!(
            gap >= *wait && gap <= *wait + most,
            "attempt {}: {gap:?} after the one before, not {wait:?}",
            pair[1].attempt
        );
    }
    let day = deliveries[27].at.duration_since(deliveries[0].at).unwrap();
    assert!(day >= Duration::from_secs(24 * 60 * 60), "{day:?}");
}

// ---------------------------------------------------------------------------------------------
// The fault mode

/// Eight sales of a mug each: sixteen events.
fn eight_sales(fake: &FakeStore) {
    for _ in 0..8 {
        fake.sell(demo::STORE, Sale::new().product(demo::MUG, 1))
            .unwrap();
    }
}

#[tokio::test]
async fn the_fault_mode_duplicates_and_reorders_yet_delivers_every_event() {
    let faults = WebhookFaults::seeded(2024).duplicates(0.5).delays(ms(400));
    let server = receiver(200).await;
    let fake = sending_to(hook_url(&server), quick(3))
        .webhook_faults(faults.clone())
        .start()
        .await
        .unwrap();
    eight_sales(&fake);
    fake.wait_for_webhooks_settled().await.unwrap();

    let sent = fake.webhooks_sent();
    assert_eq!(sent.len(), 16);
    let copies: usize = sent.iter().map(|event| event.delays.len()).sum();
    assert!(
        copies > 16,
        "some events are sent twice: {copies} deliveries"
    );

    let requests = received(&server).await;
    let arrived: Vec<String> = requests.iter().map(event_id).collect();
    assert_eq!(arrived.len(), copies, "every delivery arrived");
    let verifier = verifier(&fake);
    for request in &requests {
        verifier.verify(&request.headers, &request.body).unwrap();
    }
    for event in &sent {
        let times = arrived.iter().filter(|id| **id == event.event_id).count();
        assert_eq!(times, event.delays.len(), "{}", event.event_id);
    }
    let mut first_arrivals = Vec::new();
    for id in &arrived {
        if !first_arrivals.contains(id) {
            first_arrivals.push(id.clone());
        }
    }
    let made: Vec<String> = sent.iter().map(|event| event.event_id.clone()).collect();
    assert_ne!(first_arrivals, made, "the events arrived out of order");

    // The same seed and the same sales: the same events, duplicates and delays.
    let again = sending_to(hook_url(&server), quick(3))
        .webhook_faults(faults)
        .start()
        .await
        .unwrap();
    eight_sales(&again);
    let decisions = |fake: &FakeStore| -> Vec<(String, String, u64, Vec<Duration>)> {
        fake.webhooks_sent()
            .into_iter()
            .map(|e| (e.event_id, e.event_type, e.entity_id, e.delays))
            .collect()
    };
    assert_eq!(decisions(&fake), decisions(&again));
    // Another seed decides otherwise.
    let other = sending_to(hook_url(&server), quick(3))
        .webhook_faults(WebhookFaults::seeded(7).delays(ms(400)))
        .start()
        .await
        .unwrap();
    eight_sales(&other);
    assert_ne!(decisions(&fake), decisions(&other));
    again.wait_for_webhooks_settled().await.unwrap();
    other.wait_for_webhooks_settled().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// The secret

#[tokio::test]
async fn the_client_secret_never_shows() {
    logs();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(2)
        .mount(&server)
        .await;
    let builder = sending_to(hook_url(&server), quick(3))
        .webhook_faults(WebhookFaults::seeded(1).duplicates(1.0).delays(ms(20)));
    let builder_debug = format!("{builder:?}");
    let fake = builder.start().await.unwrap();
    let order = fake
        .sell(demo::STORE, Sale::new().product(demo::MUG, 1).paid())
        .unwrap();
    fake.cancel_order(demo::STORE, &order).unwrap();
    fake.wait_for_webhooks_settled().await.unwrap();

    let logs = logs();
    assert!(
        logs.contains("webhook delivery attempt"),
        "the deliveries were logged: {logs}"
    );
    let requests = received(&server).await;
    let received_text: String = requests
        .iter()
        .map(|r| format!("{:?} {}", r.headers, String::from_utf8_lossy(&r.body)))
        .collect();
    for (what, text) in [
        ("builder Debug", builder_debug),
        ("fake Debug", format!("{fake:?}")),
        ("events", format!("{:?}", fake.webhooks_sent())),
        ("deliveries", format!("{:?}", fake.webhook_deliveries())),
        ("requests", format!("{:?}", fake.requests())),
        ("what the receiver got", received_text),
        ("logs", logs),
    ] {
        assert!(!text.contains(SECRET), "{what} shows the secret: {text}");
        assert!(
            !text.contains("5e1c9b"),
            "{what} shows part of the secret: {text}"
        );
    }
}
