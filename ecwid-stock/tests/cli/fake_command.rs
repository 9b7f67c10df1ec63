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
