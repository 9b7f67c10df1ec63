//! The fake Ecwid store's scripted faults, met with raw `reqwest` on loopback.

use crate::common;

use std::time::Duration;

use ecwid_inventory_fake::{Fault, Origin, Route, Stock, StockChange};
use serde_json::json;

use common::*;

// ---------------------------------------------------------------------------------------------
// Scripted faults

#[tokio::test]
async fn a_scripted_response_is_sent_instead_and_nothing_is_applied() {
    let fake = start().await;
    fake.inject_fault(
        Route::VariationInventory,
        1,
        Fault::ecwid_error(503, "INTERNAL_ERROR", "Try later").header("Retry-After", "7"),
    );
    // Another route is not affected.
    assert_eq!(delta(&fake, SHIRT_PATH, -1).await.status(), 200);
    assert_eq!(fake.pending_faults(), 1);

    let faulted = delta(&fake, SHIRT_RED_PATH, -1).await;
    assert_eq!(faulted.status(), 503);
    assert_eq!(faulted.headers()["retry-after"], "7");
    assert_eq!(error(faulted).await.1, "INTERNAL_ERROR");
    assert_eq!(red(&fake), Some(Stock::Quantity(10)));
    assert_eq!(fake.pending_faults(), 0);

    // A proxy's HTML page, with its own content type.
    fake.inject_fault(
        Route::Any,
        2,
        Fault::respond(502, "<html>Bad Gateway</html>").header("Content-Type", "text/html"),
    );
    for path in [SHIRT_RED_PATH, "/nowhere"] {
        let proxied = delta(&fake, path, -1).await;
        assert_eq!(proxied.status(), 502);
        assert_eq!(proxied.headers()["content-type"], "text/html");
        assert_eq!(proxied.text().await.unwrap(), "<html>Bad Gateway</html>");
    }

    assert_eq!(delta(&fake, SHIRT_RED_PATH, -1).await.status(), 200);
    assert_eq!(red(&fake), Some(Stock::Quantity(9)));
    let statuses: Vec<_> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [Some(200), Some(503), Some(502), Some(502), Some(200)]
    );
}

#[tokio::test]
async fn closing_before_applying_gives_the_client_an_error_and_applies_nothing() {
    let fake = start().await;
    fake.inject_fault(Route::VariationInventory, 1, Fault::CloseBeforeApplying);
    let client = http();
    let url = format!("{}{SHIRT_RED_PATH}", fake.base_url());
    let sent = client
        .put(&url)
        .bearer_auth(TOKEN)
        .json(&json!({ "quantityDelta": -4 }))
        .send()
        .await;
    let error = sent.expect_err("no response, only a dropped connection");
    assert!(!error.is_status() && !error.is_timeout(), "{error:?}");
    assert!(fake.ledger().is_empty());
    assert_eq!(red(&fake), Some(Stock::Quantity(10)));
    let requests = fake.requests();
    assert_eq!(requests.len(), 1, "the request was read");
    assert_eq!(requests[0].status, None);
    assert_eq!(requests[0].body, r#"{"quantityDelta":-4}"#);

    // The same client goes on over a new connection.
    let again = client
        .put(&url)
        .bearer_auth(TOKEN)
        .json(&json!({ "quantityDelta": -4 }))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(fake.ledger().len(), 1);
}

#[tokio::test]
async fn closing_after_applying_applies_exactly_once_and_a_blind_retry_doubles_it() {
    let fake = start().await;
    fake.inject_fault(Route::VariationInventory, 1, Fault::CloseAfterApplying);
    let client = http();
    let url = format!("{}{SHIRT_RED_PATH}", fake.base_url());
    let send = || {
        client
            .put(&url)
            .bearer_auth(TOKEN)
            .json(&json!({ "quantityDelta": -4 }))
            .send()
    };

    let error = send().await.expect_err("the answer never arrives");
    assert!(!error.is_status() && !error.is_timeout(), "{error:?}");
    let ledger = fake.ledger();
    assert_eq!(ledger.len(), 1, "applied exactly once: {ledger:?}");
    assert_eq!(ledger[0].change, StockChange::Delta(-4));
    assert_eq!(red(&fake), Some(Stock::Quantity(6)));
    let requests = fake.requests();
    assert_eq!(ledger[0].origin, Origin::Request(requests[0].id));
    assert_eq!(requests[0].status, None);

    // This is why the SDK must not retry such a failure blindly.
    assert_eq!(send().await.unwrap().status(), 200);
    assert_eq!(fake.ledger().len(), 2);
    assert_eq!(red(&fake), Some(Stock::Quantity(2)));
}

#[tokio::test]
async fn a_delay_lets_the_client_time_out_while_the_delta_still_lands() {
    let fake = start().await;
    fake.inject_fault(
        Route::ProductInventory,
        2,
        Fault::Delay(Duration::from_millis(600)),
    );
    let impatient = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    let error = impatient
        .put(format!("{}{SHIRT_PATH}", fake.base_url()))
        .bearer_auth(TOKEN)
        .json(&json!({ "quantityDelta": -2 }))
        .send()
        .await
        .expect_err("the client gives up first");
    assert!(error.is_timeout(), "{error:?}");
    assert!(
        fake.ledger().is_empty(),
        "not yet applied when the client gave up"
    );

    // A patient client gets the normal answer, after the delay.
    let started = std::time::Instant::now();
    assert_eq!(delta(&fake, SHIRT_PATH, -2).await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(600));
    // The first request's delay is over too: it was applied although its client saw only a
    // timeout.
    let ledger = fake.wait_for_ledger(2).await.unwrap();
    assert_eq!(ledger.len(), 2, "{ledger:?}");
    assert_eq!(shirt(&fake), Some(Stock::Quantity(16)));
}

#[tokio::test]
async fn faults_are_met_in_order_and_can_be_cleared() {
    let fake = start().await;
    fake.inject_fault(Route::ProductInventory, 1, Fault::respond(500, ""));
    fake.inject_fault(Route::ProductInventory, 1, Fault::respond(502, ""));
    fake.inject_fault(Route::BatchStatus, 3, Fault::CloseBeforeApplying);
    assert_eq!(fake.pending_faults(), 5);
    assert_eq!(delta(&fake, SHIRT_PATH, 1).await.status(), 500);
    assert_eq!(delta(&fake, SHIRT_PATH, 1).await.status(), 502);
    assert_eq!(delta(&fake, SHIRT_PATH, 1).await.status(), 200);
    fake.clear_faults();
    assert_eq!(fake.pending_faults(), 0);
    let status = http()
        .get(format!("{}/1003/batch?ticket=none", fake.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("the cleared fault was not met");
    assert_eq!(status.status(), 404);
}
