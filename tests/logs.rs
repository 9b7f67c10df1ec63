//! What the SDK logs: a span per call with its ids, attempt, status and latency, an event for
//! each wait, and never the token.
//!
//! One global TRACE subscriber for the whole test binary, so that no callsite is ever cached
//! as uninteresting; tests read their own lines from the shared buffer.

use std::{
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use ecwid_inventory::{
    fake::{demo, FakeStore, Fault, Route},
    Client, CombinationId, ProductId, RateLimit, RetryPolicy, StoreId,
};
use serde_json::json;
use wiremock::{matchers::any, Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "secret_token_8f3a9c";

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything logged so far by any test of this binary.
fn logs() -> String {
    static LOGS: OnceLock<Buffer> = OnceLock::new();
    let buffer = LOGS.get_or_init(|| {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        buffer
    });
    String::from_utf8_lossy(&buffer.0.lock().unwrap()).into_owned()
}

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
    let builder =
        Client::builder(StoreId::new(1003), TOKEN).base_url(format!("{}/api/v3", server.uri()));
    let builder_debug = format!("{builder:?}");
    let client = builder.build().unwrap();
    let seed = || {
        client
            .adjust_variation_stock(
                ProductId::new(692730761),
                CombinationId::new(422488528),
                -10,
            )
            .send()
    };
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
    let mine: Vec<&str> = logs
        .lines()
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
