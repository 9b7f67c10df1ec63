//! `fake`: serves a fake store the other commands can be pointed at.

use serde_json::Value;

use crate::harness::{run, Serving};

/// Runs `args` against the fake a `fake --json` command announced.
async fn against(serving: &Value, args: &[&str]) -> crate::harness::Run {
    let store = serving["store_id"].to_string();
    run(
        args,
        &[
            ("ECWID_API_URL", serving["base_url"].as_str().unwrap()),
            ("ECWID_STORE_ID", &store),
            ("ECWID_TOKEN", serving["token"].as_str().unwrap()),
        ],
    )
    .await
}

#[tokio::test]
async fn fake_serves_the_demo_shop_and_says_how_to_reach_it() {
    let serving = Serving::start(&["--json"]).await;
    let announced: Value = serde_json::from_str(&serving.first_line).unwrap();
    assert_eq!(announced["catalog"], "demo");
    assert_eq!(announced["products"], Value::Null);
    assert_eq!(announced["public_token"], "public_token");
    assert!(
        announced["base_url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:"),
        "{announced}"
    );

    let adjusted = against(&announced, &["adjust", "TEE-S", "-3"])
        .await
        .expect(0);
    assert!(adjusted.stdout.contains("applied"), "{adjusted:#?}");
    let read = against(&announced, &["get", "TEE-S", "--json"])
        .await
        .expect(0);
    assert_eq!(read.json()["quantity"], 7, "the fake keeps its state");
}

#[tokio::test]
async fn fake_prints_the_settings_to_export() {
    let mut serving = Serving::start(&[]).await;
    assert!(
        serving.first_line.contains("http://127.0.0.1:"),
        "{}",
        serving.first_line
    );
    let mut exports = Vec::new();
    while exports.len() < 3 {
        let line = serving.next_line().await;
        if let Some(export) = line.trim().strip_prefix("export ") {
            let (name, value) = export.split_once('=').unwrap();
            exports.push((name.to_owned(), value.to_owned()));
        }
    }
    let names: Vec<&str> = exports.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["ECWID_API_URL", "ECWID_STORE_ID", "ECWID_TOKEN"]);
    let env: Vec<(&str, &str)> = exports
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let read = run(&["get", "MUG", "--json"], &env).await.expect(0);
    assert_eq!(read.json()["quantity"], 8);
}

#[tokio::test]
async fn fake_serves_a_generated_catalog() {
    let serving = Serving::start(&["--products", "40", "--seed", "7", "--json"]).await;
    let announced: Value = serde_json::from_str(&serving.first_line).unwrap();
    assert_eq!(announced["catalog"], "generated");
    assert_eq!(announced["products"], 40);
    for sku in ["CAT-000001", "CAT-000040"] {
        let read = against(&announced, &["get", sku, "--json"]).await.expect(0);
        assert_eq!(read.json()["sku"], sku);
    }
    against(&announced, &["get", "CAT-000041"]).await.expect(2);
}

#[tokio::test]
async fn a_taken_port_exits_1() {
    let serving = Serving::start(&["--json"]).await;
    let announced: Value = serde_json::from_str(&serving.first_line).unwrap();
    let port = announced["base_url"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://127.0.0.1:")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let run = run(&["fake", "--port", &port], &[]).await.expect(1);
    assert!(
        run.stderr.contains("cannot start the fake store"),
        "{run:#?}"
    );
}

/// A receiver on 127.0.0.1 that answers every request 200 and hands on each raw request (head
/// and body as text).
async fn webhook_receiver() -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    let (sender, received) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let sender = sender.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                // Read the head, then as much body as Content-Length says.
                loop {
                    let n = stream.read(&mut buffer).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    request.extend_from_slice(&buffer[..n]);
                    let text = String::from_utf8_lossy(&request).to_string();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let length = head
                            .lines()
                            .find_map(|line| {
                                let (name, value) = line.split_once(':')?;
                                name.eq_ignore_ascii_case("content-length")
                                    .then(|| value.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if body.len() >= length {
                            break;
                        }
                    }
                }
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
                let _ = sender.send(String::from_utf8_lossy(&request).to_string());
            });
        }
    });
    (url, received)
}

#[tokio::test]
async fn fake_sends_signed_webhooks_to_a_url_and_keeps_the_secret_to_itself() {
    let secret = "client_secret_never_shown_7f3a";
    let (url, mut received) = webhook_receiver().await;
    let serving =
        Serving::start(&["--json", "--webhook-url", &url, "--client-secret", secret]).await;
    let announced: Value = serde_json::from_str(&serving.first_line).unwrap();
    assert_eq!(announced["webhook_url"], url.as_str());
    assert!(
        !serving.first_line.contains(secret),
        "{}",
        serving.first_line
    );
    let storefront = announced["storefront_url"].as_str().unwrap();
    assert!(storefront.starts_with("http://127.0.0.1:"), "{announced}");

    // A stock write through the API: Ecwid sends product.updated for it.
    against(&announced, &["adjust", "MUG", "-1"])
        .await
        .expect(0);
    let request = tokio::time::timeout(std::time::Duration::from_secs(30), received.recv())
        .await
        .expect("a webhook within 30 s")
        .unwrap();
    assert!(
        request.starts_with("POST /hooks?eventtype=product.updated "),
        "{request}"
    );
    assert!(
        request
            .to_ascii_lowercase()
            .contains("x-ecwid-webhook-signature: "),
        "{request}"
    );
    assert!(
        request.contains("\"eventType\":\"product.updated\""),
        "{request}"
    );
    assert!(!request.contains(secret), "{request}");
}

#[tokio::test]
async fn fake_needs_both_webhook_options_or_neither() {
    for args in [
        &["fake", "--webhook-url", "http://127.0.0.1:9/hooks"][..],
        &["fake", "--client-secret", "s"][..],
    ] {
        let run = run(args, &[]).await.expect(2);
        assert!(run.stderr.contains("required"), "{run:#?}");
    }
    let run = run(
        &[
            "fake",
            "--webhook-url",
            "https://example.com/hooks",
            "--client-secret",
            "s",
        ],
        &[],
    )
    .await
    .expect(1);
    assert!(run.stderr.contains("http://host"), "{run:#?}");
}
