//! Settings from the environment and flags, and bad input: one line naming the variable or
//! flag at fault, exit 2, nothing sent.

use crate::harness::{run, Shop};

/// Exit 2 with one error line that names `what`, and no request sent.
#[track_caller]
fn refused(shop: &Shop, run: crate::harness::Run, what: &str) {
    let run = run.expect(2);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {run:#?}");
    assert!(lines[0].starts_with("error: "), "{run:#?}");
    assert!(lines[0].contains(what), "names {what}: {run:#?}");
    assert!(run.stdout.is_empty(), "{run:#?}");
    assert_eq!(
        shop.requests(),
        0,
        "nothing sent: {:#?}",
        shop.fake.requests()
    );
}

#[tokio::test]
async fn a_missing_setting_is_named_and_nothing_is_sent() {
    let shop = Shop::demo().await;
    let no_store = shop
        .run_with(&["get", "TEE-S"], &[("ECWID_STORE_ID", "")])
        .await;
    refused(&shop, no_store, "ECWID_STORE_ID is not set");
    let no_token = shop
        .run_with(&["get", "TEE-S"], &[("ECWID_TOKEN", "")])
        .await;
    refused(&shop, no_token, "ECWID_TOKEN is not set");
    let blank_token = shop
        .run_with(&["get", "TEE-S"], &[("ECWID_TOKEN", "  ")])
        .await;
    refused(&shop, blank_token, "ECWID_TOKEN is not set");
}

/// Arguments, settings added to the shop's, and what the error must name.
type Case<'a> = (&'a [&'a str], &'a [(&'static str, &'a str)], &'a str);

#[tokio::test]
async fn a_bad_setting_is_named_and_nothing_is_sent() {
    let shop = Shop::demo().await;
    let cases: [Case; 6] = [
        (
            &["get", "TEE-S"],
            &[("ECWID_STORE_ID", "shop")],
            "ECWID_STORE_ID is not a store id",
        ),
        (
            &["get", "TEE-S"],
            &[("ECWID_STORE_ID", "0")],
            "ECWID_STORE_ID is not a store id",
        ),
        (
            &["get", "TEE-S", "--store", "x12"],
            &[],
            "--store is not a store id",
        ),
        (
            &["get", "TEE-S"],
            &[("ECWID_API_URL", "http://shop.example/api/v3")],
            "ECWID_API_URL: the base URL uses plain http",
        ),
        (
            &["get", "TEE-S", "--api-url", "ftp://127.0.0.1/api/v3"],
            &[],
            "--api-url: the base URL must use https",
        ),
        (
            &["get", "TEE-S"],
            &[("ECWID_TOKEN", "secret token")],
            "ECWID_TOKEN: the API token contains whitespace",
        ),
    ];
    for (args, env, what) in cases {
        refused(&shop, shop.run_with(args, env).await, what);
    }
}

#[tokio::test]
async fn flags_override_the_environment() {
    let shop = Shop::demo().await;
    let url = shop.fake.base_url();
    let run = shop
        .run_with(
            &[
                "get",
                "TEE-S",
                "--json",
                "--store",
                "1003",
                "--api-url",
                &url,
            ],
            &[
                ("ECWID_STORE_ID", "shop"),
                ("ECWID_API_URL", "http://shop.example/api/v3"),
            ],
        )
        .await
        .expect(0);
    assert_eq!(run.json()["quantity"], 10);
}

#[tokio::test]
async fn the_token_can_come_from_a_file_and_only_from_there_or_the_environment() {
    let shop = Shop::demo().await;
    let folder = std::env::temp_dir().join(format!("ecwid-stock-test-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    let token_file = folder.join("token");
    // An editor leaves a line break after it.
    std::fs::write(&token_file, "secret_token\n").unwrap();
    let path = token_file.to_str().unwrap();

    // The file wins over a wrong ECWID_TOKEN, and none is needed.
    for env in [
        &[("ECWID_TOKEN", "")][..],
        &[("ECWID_TOKEN", "secret_wrong")],
    ] {
        let run = shop
            .run_with(&["get", "TEE-S", "--json", "--token-file", path], env)
            .await
            .expect(0);
        assert_eq!(run.json()["sku"], "TEE-S");
    }
    let sent = shop.requests();

    std::fs::write(&token_file, "\n").unwrap();
    let empty = shop.run(&["get", "TEE-S", "--token-file", path]).await;
    let missing_path = folder.join("missing");
    let missing = shop
        .run(&[
            "get",
            "TEE-S",
            "--token-file",
            missing_path.to_str().unwrap(),
        ])
        .await;
    // There is no flag for the token itself: it would show in `ps`.
    let flag = shop.run(&["get", "TEE-S", "--token", "secret_token"]).await;
    std::fs::remove_dir_all(&folder).unwrap();

    for (run, what) in [
        (empty, "--token-file"),
        (missing, "--token-file"),
        (flag, "unexpected argument '--token'"),
    ] {
        let run = run.expect(2);
        assert!(run.stderr.contains(what), "{run:#?}");
    }
    assert_eq!(shop.requests(), sent, "nothing more sent");
}

/// Arguments clap refuses, and values the command line checks itself, are refused before the
/// SKU lookup, so nothing at all reaches the store.
#[tokio::test]
async fn usage_errors_and_bad_values_exit_2_and_send_nothing() {
    let shop = Shop::demo().await;
    let cases: [&[&str]; 24] = [
        &[],
        &["frobnicate"],
        &["get"],
        &["get", "TEE-S", "--frobnicate"],
        &["get", "TEE-S", "--product", "692730761"],
        &["get", "--combination", "422488528"],
        &["get", "--product", "many"],
        &["adjust", "TEE-S"],
        &["adjust", "TEE-S", "0"],
        &["adjust", "TEE-S", "-0"],
        &["adjust", "TEE-S", "2147483648"],
        &["adjust", "TEE-S", "1.5"],
        &["adjust", "TEE-S", "-1", "--key", "order-1"],
        &[
            "adjust",
            "TEE-S",
            "-1",
            "--exactly-once",
            "--first-attempt",
            "2026-12-03T15:04:05Z",
        ],
        &[
            "adjust",
            "TEE-S",
            "-1",
            "--exactly-once",
            "--key",
            "order-1",
            "--first-attempt",
            "today",
        ],
        &["set", "TEE-S", "-1"],
        &["set", "TEE-S", "2147483648"],
        &["set", "TEE-S", "lots"],
        &["snapshot", "--format", "xml"],
        &["sync"],
        &["sync", "stock.csv", "--mode", "both"],
        &["sync", "stock.csv", "--dry-run=yes"],
        &["fake", "--seed", "3"],
        &["fake", "--products", "0"],
    ];
    for args in cases {
        let run = shop.run(args).await;
        assert_eq!(run.code, 2, "{args:?}: {run:#?}");
        assert!(run.stderr.contains("error"), "{args:?}: {run:#?}");
        assert!(run.stdout.is_empty(), "{args:?}: {run:#?}");
    }
    assert_eq!(shop.requests(), 0, "{:#?}", shop.fake.requests());
}

/// What the library refuses before sending (a zero id, a SKU no item can have) is bad input
/// too.
#[tokio::test]
async fn input_the_library_refuses_exits_2_and_sends_nothing() {
    let shop = Shop::demo().await;
    for args in [
        &["get", "--product", "0"][..],
        &["adjust", "--product", "0", "-1"],
        &["set", "--product", "692730761", "--combination", "0", "3"],
        &["adjust", " TEE-S", "-1"],
        &["get", ""],
        &[
            "adjust",
            "--product",
            "692730763",
            "-1",
            "--exactly-once",
            "--key",
            "",
        ],
    ] {
        let run = shop.run(args).await;
        assert_eq!(run.code, 2, "{args:?}: {run:#?}");
        assert!(
            run.stderr.starts_with("error: invalid input"),
            "{args:?}: {run:#?}"
        );
    }
    assert_eq!(shop.requests(), 0, "{:#?}", shop.fake.requests());
}

#[tokio::test]
async fn help_and_version_exit_0() {
    for args in [&["--help"][..], &["adjust", "--help"], &["--version"]] {
        let run = run(args, &[]).await.expect(0);
        assert!(!run.stdout.is_empty());
    }
    let help = run(&["set", "--help"], &[]).await.expect(0);
    assert!(help.stdout.contains("overwrites"), "{help:#?}");
}
