//! `Client::from_env`: `ECWID_STORE_ID`, `ECWID_TOKEN` and the optional `ECWID_API_URL`; and
//! proxies from the environment, never used for a loopback API root.
//!
//! The environment is shared by the whole process, so this file holds a single test that walks
//! through every case in turn.

use crate::common;

use ecwid_inventory::{settings::DEFAULT_BASE_URL, Client, Error, StockItem, StoreId};
use ecwid_inventory_fake::{demo, Stock};

use common::demo_store;

const VARS: [&str; 6] = [
    "ECWID_STORE_ID",
    "ECWID_TOKEN",
    "ECWID_API_URL",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
];

/// Sets exactly the given variables, removing the others.
fn set_env(vars: &[(&str, &str)]) {
    for name in VARS {
        std::env::remove_var(name);
    }
    for (name, value) in vars {
        std::env::set_var(name, value);
    }
}

fn config_error(vars: &[(&str, &str)]) -> String {
    set_env(vars);
    match Client::from_env() {
        Err(Error::Config(message)) => message,
        other => panic!("{vars:?}: expected a configuration error, got {other:?}"),
    }
}

#[tokio::test]
async fn from_env_reads_store_token_and_url() {
    let fake = demo_store().await;
    let base_url = fake.base_url();

    // Missing, blank or malformed variables: a clear error naming the variable.
    assert!(config_error(&[]).contains("ECWID_STORE_ID"));
    assert!(
        config_error(&[("ECWID_STORE_ID", "  "), ("ECWID_TOKEN", "t")]).contains("ECWID_STORE_ID")
    );
    // A value in the wrong variable (here a token) is not echoed.
    let message = config_error(&[("ECWID_STORE_ID", "secret_hunter2"), ("ECWID_TOKEN", "t")]);
    assert!(message.contains("ECWID_STORE_ID"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
    assert!(config_error(&[("ECWID_STORE_ID", "0"), ("ECWID_TOKEN", "t")]).contains("zero"));
    assert!(config_error(&[("ECWID_STORE_ID", "1003")]).contains("ECWID_TOKEN"));
    // A bad token or URL is refused without echoing the token.
    let message = config_error(&[
        ("ECWID_STORE_ID", "1003"),
        ("ECWID_TOKEN", "secret_a\u{7}b"),
    ]);
    assert!(message.contains("control"), "{message}");
    assert!(!message.contains("secret_a"), "{message}");
    let message = config_error(&[
        ("ECWID_STORE_ID", "1003"),
        ("ECWID_TOKEN", "secret_hunter2"),
        ("ECWID_API_URL", "http://shop.example.com/api/v3"),
    ]);
    assert!(message.contains("plain http"), "{message}");
    assert!(!message.contains("hunter2"), "{message}");
    assert!(fake.requests().is_empty(), "nothing was sent");

    // Without ECWID_API_URL the client talks to Ecwid itself.
    set_env(&[
        ("ECWID_STORE_ID", " 1003 "),
        ("ECWID_TOKEN", "secret_hunter2"),
    ]);
    let client = Client::from_env().unwrap();
    assert_eq!(client.store_id(), StoreId::new(1003));
    assert_eq!(client.base_url(), DEFAULT_BASE_URL);
    assert!(!format!("{client:?}").contains("hunter2"));

    // With it, the client works against that API root, and a proxy set in the environment
    // (here one that refuses every connection) is not used for a loopback root.
    set_env(&[
        ("ECWID_STORE_ID", &demo::STORE.to_string()),
        ("ECWID_TOKEN", demo::TOKEN),
        ("ECWID_API_URL", &base_url),
        ("HTTP_PROXY", "http://127.0.0.1:9"),
        ("http_proxy", "http://127.0.0.1:9"),
        ("ALL_PROXY", "http://127.0.0.1:9"),
    ]);
    let client = Client::from_env().unwrap();
    assert_eq!(client.base_url(), base_url);
    let (product, combination) = demo::SMALL_TEE;
    let before = fake.stock(
        demo::STORE,
        StockItem::Variation {
            product,
            combination,
        },
    );
    let adjustment = client
        .adjust_variation_stock(product, combination, -2)
        .send()
        .await
        .unwrap();
    assert!(adjustment.is_updated());
    let Some(Stock::Quantity(before)) = before else {
        panic!("unexpected stock {before:?}")
    };
    assert_eq!(
        fake.stock(
            demo::STORE,
            StockItem::Variation {
                product,
                combination
            }
        ),
        Some(Stock::Quantity(before - 2))
    );
    set_env(&[]);
}
