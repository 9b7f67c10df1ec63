//! The token never shows: not in output, errors or log lines at `-vvv`, whatever goes wrong.

use ecwid_inventory_fake::{demo, FakeStore, FakeToken, Fault, Route};

use crate::harness::Shop;

const TOKEN: &str = "secret_Zq7vX2never_shown";

#[tokio::test]
async fn the_token_is_absent_from_all_output_at_vvv() {
    let shop = Shop::start(
        FakeStore::builder()
            .store(demo::store())
            .token(FakeToken::secret(demo::STORE, TOKEN)),
        TOKEN,
    )
    .await;
    // A proxy that echoes the request's Authorization header back in its error page (a read:
    // sent again, and answered).
    let echo = format!("<html><title>Bad gateway for Bearer {TOKEN}</title></html>");
    let mut runs = Vec::new();
    for args in [
        &["-vvv", "get", "TEE-S"][..],
        &["-vvv", "get", "TEE-S", "--json"],
        &["-vvv", "adjust", "TEE-S", "-1", "--notify-low-stock"],
        &["-vvv", "adjust", "TEE-S", "-1", "--exactly-once", "--json"],
        &["-vvv", "set", "MUG", "4"],
        &["-vvv", "adjust", "--product", "999", "1"],
        &["-vvv", "get", "NOPE"],
        &[
            "-vvv",
            "adjust",
            "MUG",
            "1",
            "--exactly-once",
            "--key",
            "order-1",
        ],
        &["-vvv", "snapshot"],
        &["-vvv", "snapshot", "--json"],
    ] {
        runs.push(shop.run(args).await);
    }
    // A sync, its plan saved to a file: neither shows nor saves the token.
    let dir = std::env::temp_dir().join(format!("ecwid-stock-secrets-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("stock.csv");
    std::fs::write(&file, "sku,quantity\nTEE-S,20\nMUG,1\n").unwrap();
    let plan = dir.join("plan.json");
    let (file, plan_arg) = (file.to_str().unwrap(), plan.to_str().unwrap());
    runs.push(shop.run(&["-vvv", "sync", file, "--dry-run"]).await);
    // Ecwid refuses the batch, quoting the token: the change fails, PLAN is kept.
    shop.fake.inject_fault(
        Route::BatchCreate,
        1,
        Fault::ecwid_error(400, "BAD_REQUEST", &format!("token {TOKEN} refused")),
    );
    runs.push(shop.run(&["-vvv", "sync", file, "--plan", plan_arg]).await);
    let saved = std::fs::read_to_string(&plan).expect("PLAN kept after a failure");
    assert!(!saved.contains("Zq7vX2"), "{saved}");
    std::fs::remove_dir_all(&dir).unwrap();
    shop.fake
        .inject_fault(Route::SearchProducts, 1, Fault::respond(502, echo.clone()));
    runs.push(shop.run(&["-vvv", "get", "TEE-S"]).await);
    shop.fake.inject_fault(
        Route::VariationInventory,
        1,
        Fault::ecwid_error(500, "INTERNAL_ERROR", &format!("token {TOKEN} failed")),
    );
    runs.push(shop.run(&["-vvv", "adjust", "TEE-S", "-1", "--json"]).await);

    // Wrong tokens, one of them the real one with a typo, and one in the wrong variable.
    let typo = format!("{TOKEN}x");
    runs.push(
        shop.run_with(&["-vvv", "get", "TEE-S"], &[("ECWID_TOKEN", &typo)])
            .await,
    );
    runs.push(
        shop.run_with(&["-vvv", "get", "TEE-S"], &[("ECWID_STORE_ID", TOKEN)])
            .await,
    );
    let spaced = format!("{TOKEN} ");
    runs.push(
        shop.run_with(&["-vvv", "get", "TEE-S"], &[("ECWID_TOKEN", &spaced)])
            .await,
    );
    runs.push(shop.run(&["-vvv", "get", "TEE-S", "--store", TOKEN]).await);

    let codes: Vec<i32> = runs.iter().map(|run| run.code).collect();
    assert_eq!(
        codes,
        [0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 1, 0, 1, 1, 2, 2, 2],
        "{runs:#?}"
    );
    // The runs did talk to the store, with logs to show for it.
    assert!(shop.requests() >= 10, "{:#?}", shop.fake.requests());
    assert!(
        runs[0].stderr.contains("search_products"),
        "-vvv logs each request: {:#?}",
        runs[0]
    );
    for run in &runs {
        assert!(!run.all().contains(TOKEN), "the token shows in {run:#?}");
        assert!(
            !run.all().contains("Zq7vX2"),
            "part of it shows in {run:#?}"
        );
    }
}
