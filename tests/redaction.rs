//! The token never shows: not in Debug or Display, not in errors, not in logs.
//!
//! Alone in its test binary so that its tracing subscriber sees every callsite first.

use ecwid_inventory::{Client, CombinationId, ProductId, StoreId};
use serde_json::json;
use wiremock::{matchers::any, Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "secret_token_8f3a9c";

/// The token appears in no Debug or Display output, no error and no log line, even at TRACE.
#[tokio::test]
async fn token_never_shows() {
    use std::sync::{Arc, Mutex};

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
    let logs = Buffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

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

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
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
