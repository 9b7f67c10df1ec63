//! The fake Ecwid store's helpers for tests that use it: clients made for it, and waits.

use crate::common;

use std::time::Duration;

use ecwid_inventory::StockItem;
use ecwid_inventory_fake::{Fault, Route, Stock, StockChange};
use serde_json::json;

use common::*;

// ---------------------------------------------------------------------------------------------
// Helpers for tests using the fake

#[tokio::test]
async fn a_client_from_the_fake_talks_to_it_as_the_tokens_store() {
    let fake = start().await;
    let client = fake.client_builder(OTHER_TOKEN).build().unwrap();
    assert_eq!(client.base_url(), fake.base_url());
    let adjustment = client.adjust_product_stock(SHIRT, -1).send().await.unwrap();
    assert_eq!(adjustment.update_count(), 1);
    assert_eq!(
        fake.stock(OTHER_STORE, StockItem::Product { product: SHIRT }),
        Some(Stock::Quantity(0))
    );
    // Any store and token, known or not: the fake answers as Ecwid would.
    let stranger = fake
        .client_builder_for(STORE, "secret_unknown")
        .build()
        .unwrap();
    let refused = stranger.adjust_product_stock(SHIRT, -1).send().await;
    assert_eq!(refused.unwrap_err().status(), Some(403));
}

#[tokio::test]
#[should_panic(expected = "the fake was not given this token")]
async fn a_client_for_a_token_the_fake_does_not_know_needs_its_store() {
    let fake = start().await;
    let _ = fake.client_builder("secret_unknown");
}

#[tokio::test(start_paused = true)]
async fn waiting_for_what_never_lands_fails_with_what_the_fake_holds() {
    let fake = start().await;
    let timeout = fake.wait_for_ledger(1).await.unwrap_err();
    assert!(
        timeout
            .to_string()
            .contains("for 1 applied changes; its ledger holds 0"),
        "{timeout}"
    );
    assert!(fake.wait_for_requests(1).await.is_err());
    assert!(fake
        .wait_until(|fake| fake.ledger().len() == 1)
        .await
        .is_err());
    assert!(fake
        .wait_until(|fake| fake.ledger().is_empty())
        .await
        .is_ok());
}

#[tokio::test]
async fn a_wait_ends_when_the_delta_lands() {
    let fake = start().await;
    fake.inject_fault(
        Route::ProductInventory,
        1,
        Fault::Delay(Duration::from_millis(100)),
    );
    let request = tokio::spawn(delta_owned(fake.base_url(), -1));
    let started = std::time::Instant::now();
    assert_eq!(fake.wait_for_requests(1).await.unwrap().len(), 1);
    let ledger = fake.wait_for_ledger(1).await.unwrap();
    assert_eq!(ledger[0].change, StockChange::Delta(-1));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(request.await.unwrap(), 200);
}

/// A product adjustment sent from a task of its own.
async fn delta_owned(base_url: String, delta: i64) -> u16 {
    put_at(
        &base_url,
        SHIRT_PATH,
        TOKEN,
        json!({ "quantityDelta": delta }),
    )
    .await
    .status()
    .as_u16()
}
