//! What the SDK logs: a span per call with its ids, attempt, status and latency, an event for
//! each wait, and never the token.
//!
//! One global TRACE subscriber for the whole test binary, so that no callsite is ever cached
//! as uninteresting; tests read their own lines from the shared buffer. Every test of the
//! binary logs into it once it is set (the client's other tests too), so each line carries the
//! name of the test's thread (libtest names it after the test, and a `#[tokio::test]` runs its
//! tasks on it) for a test to pick out its own.

use crate::common;

use std::time::Duration;

use ecwid_inventory::{Client, ProductId, RateLimit, RetryPolicy, StoreId};
use ecwid_inventory_fake::{demo, FakeStore, Fault, Route};
use serde_json::json;
use wiremock::{matchers::any, Mock, MockServer, ResponseTemplate};

use common::{adjust_seed, logs, mock_client_builder, MOCK_TOKEN as TOKEN};

/// The token appears in no Debug or Display output, no error and no log line, even at TRACE.
#[tokio::test]
async fn token_never_shows() {
    logs();

    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(403).set_body_json(
            json!({"errorMessage": "Token is invalid", "errorCode": "INVALID_API_TOKEN"}),
        ))
        .mount(&server)
        .await;
    let builder = mock_client_builder(&server, TOKEN);
    let builder_debug = format!("{builder:?}");
    let client = builder.build().unwrap();
    let seed = || adjust_seed(&client);
    let error = seed().await.unwrap_err();
    let guarded = seed().await.unwrap_err();
    let raw = client.raw();

    let logs = logs();
    assert!(logs.contains("ecwid.call"), "the call was traced: {logs}");
    assert!(logs.contains("status=403"), "the status was traced: {logs}");
    for (what, text) in [
        ("builder Debug", builder_debug),
        ("client Debug", format!("{client:?}")),
        ("raw client Debug", format!("{raw:?}")),
        ("error Debug", format!("{error:?}")),
        ("error Display", error.to_string()),
        ("guard error", format!("{guarded} {guarded:?}")),
        ("logs", logs),
    ] {
        assert!(!text.contains(TOKEN), "{what} shows the token: {text}");
        assert!(
            !text.contains("8f3a9c"),
            "{what} shows part of the token: {text}"
        );
    }
}

/// A span per call carries the operation, the ids, the attempt, the status and the latency;
/// a 429 wait and a limiter wait each log an event.
#[tokio::test]
async fn each_call_is_traced_with_its_waits() {
    logs();
    let fake = FakeStore::demo().await.unwrap();
    fake.inject_fault(
        Route::ProductInventory,
        1,
        Fault::ecwid_error(429, "RATE_LIMITED", "Too many requests").header("Retry-After", "0"),
    );
    let client = fake
        .client_builder(demo::TOKEN)
        .rate_limit(RateLimit::new(1, Duration::from_millis(100)))
        .retry_policy(RetryPolicy::default())
        .build()
        .unwrap();
    client
        .adjust_product_stock(demo::MUG, -1)
        .send()
        .await
        .unwrap();

    let logs = logs();
    let thread = std::thread::current();
    let test = thread.name().unwrap_or_default();
    let mine: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains(test))
        .filter(|line| line.contains(&format!("product_id={}", demo::MUG)))
        .collect();
    let has = |needle: &str| mine.iter().any(|line| line.contains(needle));
    assert!(
        has("ecwid.call{operation=\"adjust_product_stock\" store_id=1003"),
        "{logs}"
    );
    assert!(
        has("sending the request again"),
        "the 429 wait is logged: {logs}"
    );
    assert!(
        has("waiting for the client-side rate limiter"),
        "the limiter wait is logged: {logs}"
    );
    let success = mine
        .iter()
        .find(|line| line.contains("attempt succeeded"))
        .expect("the success is logged");
    assert!(success.contains("attempt=2"), "{success}");
    assert!(success.contains("status=200"), "{success}");
    assert!(success.contains("latency_ms="), "{success}");
}

/// A server that repeats the request's `Authorization` value wherever it can.
struct Echo(Answer);

/// Builds an answer from the `Authorization` value a request carried.
type Answer = fn(&str) -> ResponseTemplate;

impl wiremock::Respond for Echo {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let authorization = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        (self.0)(authorization)
    }
}

const ECHO_TOKEN: &str = "secret_echo_5d1e7b";

async fn echo_server(route: &str, answer: Answer) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::path_regex(route))
        .respond_with(Echo(answer))
        .mount(&server)
        .await;
    server
}

fn echo_client(server: &MockServer) -> Client {
    mock_client_builder(server, ECHO_TOKEN)
        .no_rate_limit()
        .retry_policy(RetryPolicy::default().max_retry_after(Duration::from_secs(1)))
        .build()
        .unwrap()
}

fn assert_hidden(what: &str, text: &str) {
    assert!(!text.contains(ECHO_TOKEN), "{what} shows the token: {text}");
    assert!(
        !text.contains("5d1e7b"),
        "{what} shows part of the token: {text}"
    );
}

/// An error body, an HTML page, a text body, `args` and a 429's message that repeat the
/// `Authorization` value: no error's Display, Debug or accessor, and no log line, shows it.
#[tokio::test]
async fn a_server_echoing_the_token_in_errors_never_gets_it_shown() {
    logs();
    let answers: [(&str, Answer); 5] = [
        ("json", |auth| {
            ResponseTemplate::new(404).set_body_json(json!({
                "errorMessage": format!("no product for {auth}"),
                "errorCode": auth,
                "args": {"token": auth},
            }))
        }),
        ("html", |auth| {
            ResponseTemplate::new(502).set_body_raw(
                format!("<html><title>Bad gateway for {auth}</title></html>"),
                "text/html",
            )
        }),
        ("text", |auth| {
            ResponseTemplate::new(503).set_body_raw(format!("down; you sent {auth}"), "text/plain")
        }),
        ("429", |auth| {
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "3600")
                .set_body_json(json!({"errorMessage": format!("slow down, {auth}"), "errorCode": "RATE_LIMITED"}))
        }),
        ("unreadable 200", |auth| {
            ResponseTemplate::new(200).set_body_raw(
                format!("{{\"updateCount\": \"{auth}\"}}"),
                "application/json",
            )
        }),
    ];
    for (name, answer) in answers {
        let server = echo_server(".*", answer).await;
        let client = echo_client(&server);
        let error = client
            .adjust_product_stock(ProductId::new(1), -1)
            .send()
            .await
            .unwrap_err();
        // The server did repeat it: the scrubbed text is where the token was.
        let shown = format!("{error} {error:?}");
        assert!(shown.contains("[redacted]"), "{name}: {shown}");
        assert_hidden(name, &shown);
        assert_hidden(
            name,
            &format!("{:?} {:?}", error.error_code(), error.error_message()),
        );
    }
    assert_hidden("logs", &logs());
}

/// Success answers that repeat the token, as it was sent or JSON-escaped (a slash written `\/`,
/// as some encoders do): no value the SDK returns shows it.
#[tokio::test]
async fn a_server_echoing_the_token_in_success_answers_never_gets_it_shown() {
    /// The `Authorization` value as a JSON string's content, each slash escaped.
    fn escaped(auth: &str) -> String {
        auth.replace('/', "\\/")
    }
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::path_regex("/inventory$"))
        .respond_with(Echo(|auth| {
            ResponseTemplate::new(200).set_body_raw(
                format!(
                    r#"{{"updateCount":1,"warning":"negative for {}"}}"#,
                    escaped(auth)
                ),
                "application/json",
            )
        }))
        .mount(&server)
        .await;
    Mock::given(wiremock::matchers::path_regex("/products/1$"))
        .respond_with(Echo(|auth| {
            ResponseTemplate::new(200).set_body_raw(
                format!(r#"{{"id":1,"sku":"{}","quantity":3}}"#, escaped(auth)),
                "application/json",
            )
        }))
        .mount(&server)
        .await;
    for token in [ECHO_TOKEN, "secret_echo/5d1e7b"] {
        let client = mock_client_builder(&server, token)
            .no_rate_limit()
            .build()
            .unwrap();
        let adjustment = client
            .adjust_product_stock(ProductId::new(1), -1)
            .send()
            .await
            .unwrap();
        assert_eq!(
            adjustment.warning(),
            Some("negative for Bearer [redacted]"),
            "{token}"
        );
        assert_hidden(token, &format!("{adjustment:?}"));
        let stock = client
            .stock(ecwid_inventory::StockItem::Product {
                product: ProductId::new(1),
            })
            .await
            .unwrap();
        assert_eq!(stock.sku, "Bearer [redacted]", "{token}");
        assert_hidden(token, &format!("{stock:?}"));
    }
    // The raw client's values are the generated ones, unread by the wrapper: its bodies are
    // scrubbed as they arrive (the token as sent; an escaped form is not searched for there).
    let raw = mock_client_builder(&server, ECHO_TOKEN)
        .build()
        .unwrap()
        .raw();
    let answer = raw
        .adjust_product_stock()
        .store_id(1003u64)
        .product_id(1u64)
        .body(ecwid_inventory::generated::types::StockDelta { quantity_delta: -1 })
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.warning.as_deref(),
        Some("negative for Bearer [redacted]")
    );
    assert_hidden("logs", &logs());
}

/// A batch create refused with the token in its answer, and a batch item whose error repeats
/// it: no outcome, report or saved plan shows it.
#[tokio::test]
async fn a_server_echoing_the_token_in_batch_answers_never_gets_it_saved() {
    logs();
    let items = [ecwid_inventory::bulk::BulkItem::product(
        ProductId::new(1),
        -1,
    )];

    let refused = echo_server(".*", |auth| {
        ResponseTemplate::new(400).set_body_json(
            json!({"errorMessage": format!("bad batch from {auth}"), "errorCode": "WRONG_PARAMETER"}),
        )
    })
    .await;
    let report = echo_client(&refused)
        .bulk_adjust(items.clone())
        .send()
        .await
        .unwrap();
    let saved = serde_json::to_string(report.plan()).unwrap();
    assert!(saved.contains("[redacted]"), "{saved}");
    assert_hidden("refused plan", &saved);
    assert_hidden("refused report", &format!("{report:?}"));

    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ticket": "t-1"})))
        .mount(&server)
        .await;
    Mock::given(wiremock::matchers::method("GET"))
        .respond_with(Echo(|auth| {
            ResponseTemplate::new(200).set_body_json(json!({
                "status": "COMPLETED",
                "totalRequests": 1,
                "completedRequests": 1,
                "responses": [{
                    "id": "0",
                    "status": "FAILED",
                    "httpStatusCode": 404,
                    "httpBody": {"errorMessage": format!("not yours, {auth}"), "errorCode": auth},
                }],
            }))
        }))
        .mount(&server)
        .await;
    let report = echo_client(&server)
        .bulk_adjust(items)
        .poll_interval(Duration::from_millis(5), Duration::from_millis(5))
        .send()
        .await
        .unwrap();
    let outcome = &report.outcomes()[0];
    assert!(
        matches!(
            outcome,
            ecwid_inventory::bulk::ItemOutcome::Failed { status: 404, .. }
        ),
        "{outcome:?}"
    );
    assert!(format!("{outcome:?}").contains("[redacted]"));
    assert_hidden("outcome", &format!("{outcome:?}"));
    assert_hidden("report", &format!("{report:?}"));
    assert_hidden("plan", &serde_json::to_string(report.plan()).unwrap());
    assert_hidden("logs", &logs());
}

/// A batch item whose answer comes as `escapedHttpBody`, a JSON text inside a string, with the
/// token escaped there as some encoders write it (a slash as `\/`): the outcome, report and
/// saved plan never show it.
#[tokio::test]
async fn a_token_escaped_inside_a_batch_items_escaped_body_never_gets_saved() {
    logs();
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ticket": "t-1"})))
        .mount(&server)
        .await;
    Mock::given(wiremock::matchers::method("GET"))
        .respond_with(Echo(|auth| {
            let body = format!(
                r#"{{"errorMessage":"not yours, {}","errorCode":"PRODUCT_NOT_FOUND"}}"#,
                auth.replace('/', "\\/")
            );
            ResponseTemplate::new(200).set_body_json(json!({
                "status": "COMPLETED",
                "responses": [{
                    "id": "0",
                    "status": "FAILED",
                    "httpStatusCode": 404,
                    "escapedHttpBody": body,
                }],
            }))
        }))
        .mount(&server)
        .await;
    let client = mock_client_builder(&server, "secret_echo/5d1e7b")
        .no_rate_limit()
        .build()
        .unwrap();
    let report = client
        .bulk_adjust([ecwid_inventory::bulk::BulkItem::product(
            ProductId::new(1),
            -1,
        )])
        .poll_interval(Duration::from_millis(5), Duration::from_millis(5))
        .send()
        .await
        .unwrap();
    let outcome = format!("{:?}", report.outcomes()[0]);
    assert!(
        outcome.contains("PRODUCT_NOT_FOUND") && outcome.contains("[redacted]"),
        "{outcome}"
    );
    assert_hidden("outcome", &outcome);
    assert_hidden("plan", &serde_json::to_string(report.plan()).unwrap());
    assert_hidden("logs", &logs());
}

/// The builder's Debug shows the base URL's scheme and host only; a URL carrying the token is
/// refused without showing it.
#[test]
fn the_builder_never_shows_a_token_pasted_into_the_base_url() {
    let builder = Client::builder(StoreId::new(1003), ECHO_TOKEN)
        .base_url(format!("https://app.ecwid.com/api/v3?token={ECHO_TOKEN}"));
    let debug = format!("{builder:?}");
    assert!(debug.contains("https://app.ecwid.com"), "{debug}");
    assert_hidden("builder Debug", &debug);
    let error = builder.build().unwrap_err();
    assert_hidden("build error", &format!("{error} {error:?}"));
    let in_path = Client::builder(StoreId::new(1003), ECHO_TOKEN)
        .base_url(format!("https://app.ecwid.com/api/v3/{ECHO_TOKEN}"));
    assert_hidden("builder Debug", &format!("{in_path:?}"));
    let error = in_path.build().unwrap_err();
    assert!(
        error.to_string().contains("contains the API token"),
        "{error}"
    );
    assert_hidden("build error", &format!("{error} {error:?}"));
}
