//! The fake Ecwid store's records (the requests it received), its lifecycle (port, drop, shutdown) and
//! the catalogs it accepts.

use crate::common;

use std::time::Duration;

use ecwid_inventory::StockItem;
use ecwid_inventory_fake::{demo, FakeStore, FakeToken, Product, Stock, Store, Variation};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use common::*;

// ---------------------------------------------------------------------------------------------
// Records and lifecycle

#[tokio::test]
async fn the_fake_records_requests_but_never_the_token() {
    let fake = start().await;
    let client = http();
    client
        .put(format!(
            "{}{SHIRT_RED_PATH}?checkLowStockNotification=true&token={TOKEN}",
            fake.base_url()
        ))
        .bearer_auth(TOKEN)
        .header("x-echo", format!("copy of {TOKEN}"))
        .json(&json!({ "quantityDelta": -1, "note": TOKEN }))
        .send()
        .await
        .unwrap();
    // An unknown token is redacted too, wherever else the request carries it.
    put(
        &fake,
        SHIRT_PATH,
        "secret_not_configured",
        json!({ "quantityDelta": 1, "note": "secret_not_configured" }),
    )
    .await;

    let requests = fake.requests();
    let printed = format!("{requests:?} {fake:?} {:?}", fake.ledger());
    assert!(!printed.contains(TOKEN), "{printed}");
    assert!(!printed.contains("secret_not_configured"), "{printed}");

    let first = &requests[0];
    assert_eq!(first.method, "PUT");
    assert_eq!(
        first.path,
        "/api/v3/1003/products/1/combinations/11/inventory"
    );
    assert_eq!(
        first.query.as_deref(),
        Some("checkLowStockNotification=true&token=[REDACTED]")
    );
    assert_eq!(first.header("authorization"), Some("Bearer [REDACTED]"));
    assert_eq!(first.header("x-echo"), Some("copy of [REDACTED]"));
    assert_eq!(first.header("content-type"), Some("application/json"));
    let body: Value = serde_json::from_str(&first.body).unwrap();
    assert_eq!(body, json!({ "quantityDelta": -1, "note": "[REDACTED]" }));
    assert_eq!(
        requests[1].header("authorization"),
        Some("Bearer [REDACTED]")
    );
    assert_eq!(requests[1].status, Some(403));
    assert!(
        requests[1].body.contains(r#""note":"[REDACTED]""#),
        "{}",
        requests[1].body
    );
}

/// Sends one keep-alive request by hand and reads its answer, so the connection is surely
/// held by a connection task of the fake.
async fn open_connection(fake: &FakeStore) -> tokio::net::TcpStream {
    let mut stream = tokio::net::TcpStream::connect(fake.addr()).await.unwrap();
    let body = r#"{"quantityDelta":1}"#;
    let request = format!(
        "PUT /api/v3{SHIRT_PATH} HTTP/1.1\r\nHost: fake\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buffer = [0; 1024];
    let n = stream.read(&mut buffer).await.unwrap();
    assert!(
        String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buffer[..n])
    );
    stream
}

async fn closed_within_a_second(stream: &mut tokio::net::TcpStream) -> bool {
    let mut buffer = [0; 64];
    matches!(
        tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buffer)).await,
        Ok(Ok(0) | Err(_))
    )
}

#[tokio::test]
async fn dropping_the_fake_closes_the_port_and_its_connections() {
    let fake = start().await;
    let addr = fake.addr();
    let mut open = open_connection(&fake).await;
    drop(fake);

    assert!(
        closed_within_a_second(&mut open).await,
        "the open connection was closed"
    );
    // The abort runs on the runtime: give it a few turns, then the port must be closed.
    let mut refused = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused, "the port still accepts connections");
}

#[tokio::test]
async fn shutdown_returns_once_the_port_is_closed() {
    let fake = start().await;
    let addr = fake.addr();
    let mut open = open_connection(&fake).await;
    fake.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    assert!(closed_within_a_second(&mut open).await);
}

#[tokio::test]
async fn a_chosen_port_is_used_and_the_base_url_has_no_trailing_slash() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let fake = shop().port(port).start().await.unwrap();
    assert_eq!(fake.base_url(), format!("http://127.0.0.1:{port}/api/v3"));
    assert_eq!(delta(&fake, SHIRT_PATH, 1).await.status(), 200);
    // The port is now taken: a second fake on it fails to start, with the bind's error.
    let taken = shop().port(port).start().await.unwrap_err();
    assert_eq!(taken.kind(), std::io::ErrorKind::AddrInUse);
}

#[tokio::test]
async fn catalogs_ecwid_could_not_hold_are_refused() {
    let twice = FakeStore::builder()
        .store(
            Store::new(STORE)
                .product(Product::new(SHIRT))
                .product(Product::new(SHIRT)),
        )
        .start()
        .await;
    assert_eq!(twice.unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
    let different_shared_stock = FakeStore::builder()
        .store(
            Store::new(STORE).product(
                Product::new(SHIRT)
                    .quantity(5)
                    .variation(Variation::new(SHIRT_PLAIN).quantity(6)),
            ),
        )
        .start()
        .await;
    assert_eq!(
        different_shared_stock.unwrap_err().kind(),
        std::io::ErrorKind::InvalidInput
    );
    let repeated_token = FakeStore::builder()
        .token(FakeToken::secret(STORE, TOKEN))
        .token(FakeToken::public(STORE, TOKEN))
        .start()
        .await
        .unwrap_err();
    assert!(!repeated_token.to_string().contains(TOKEN));
}

#[tokio::test]
async fn the_demo_shop_is_as_documented() {
    let fake = FakeStore::demo().await.unwrap();
    let (tee, small) = demo::SMALL_TEE;
    let (_, medium) = demo::MEDIUM_TEE;
    let (_, large) = demo::LARGE_TEE;
    assert_eq!(
        fake.stock(demo::STORE, StockItem::Product { product: tee }),
        Some(Stock::Quantity(20))
    );
    assert_eq!(
        fake.stock(
            demo::STORE,
            StockItem::Variation {
                product: tee,
                combination: small
            }
        ),
        Some(Stock::Quantity(10))
    );
    assert_eq!(
        fake.stock(
            demo::STORE,
            StockItem::Variation {
                product: tee,
                combination: medium
            }
        ),
        Some(Stock::Quantity(15))
    );
    assert_eq!(
        fake.stock(
            demo::STORE,
            StockItem::Variation {
                product: tee,
                combination: large
            }
        ),
        Some(Stock::Quantity(20))
    );
    assert_eq!(
        fake.stock(
            demo::STORE,
            StockItem::Product {
                product: demo::GIFT_CARD
            }
        ),
        Some(Stock::Unlimited)
    );
    assert_eq!(
        fake.stock(demo::STORE, StockItem::Product { product: demo::MUG }),
        Some(Stock::Quantity(8))
    );

    let path = format!(
        "/{}/products/{tee}/combinations/{large}/inventory",
        demo::STORE
    );
    let answer = put(&fake, &path, demo::TOKEN, json!({ "quantityDelta": -3 })).await;
    assert_eq!(answer.status(), 200);
    assert_eq!(
        fake.stock(demo::STORE, StockItem::Product { product: tee }),
        Some(Stock::Quantity(17))
    );
    let refused = put(
        &fake,
        &path,
        demo::PUBLIC_TOKEN,
        json!({ "quantityDelta": -3 }),
    )
    .await;
    assert_eq!(error(refused).await, (403, "INSUFFICIENT_APP_SCOPE".into()));
}
