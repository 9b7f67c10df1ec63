//! `get`: by SKU or ids, in columns and in JSON; a SKU that names no item or several.

use ecwid_inventory::{CombinationId, ProductId};
use ecwid_inventory_fake::{demo, FakeStore, Product, Store, Variation};
use serde_json::json;

use crate::harness::Shop;

/// The value in `line` under `column` of `header`, in aligned columns.
fn cell<'a>(header: &str, line: &'a str, column: &str) -> &'a str {
    let start = header
        .find(column)
        .unwrap_or_else(|| panic!("{column} in {header:?}"));
    line[start..].split("  ").next().unwrap().trim_end()
}

#[tokio::test]
async fn get_prints_aligned_columns() {
    let shop = Shop::demo().await;
    let run = shop.run(&["get", "TEE-S"]).await.expect(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{run:#?}");
    let (header, row) = (lines[0], lines[1]);
    for (column, value) in [
        ("SKU", "TEE-S"),
        ("PRODUCT", "692730761"),
        ("VARIATION", "422488528"),
        ("QUANTITY", "10"),
        ("IN STOCK", "yes"),
        ("SHARED", "no"),
    ] {
        assert_eq!(cell(header, row, column), value, "{column}: {run:#?}");
    }
}

#[tokio::test]
async fn get_json_says_everything_about_an_item() {
    let shop = Shop::demo().await;
    let (tee, large) = demo::LARGE_TEE;
    let large = large.to_string();
    let tee = tee.to_string();
    let gift = demo::GIFT_CARD.to_string();
    let cases: [(&[&str], serde_json::Value); 4] = [
        (
            &["get", "TEE-S", "--json"],
            json!({"sku": "TEE-S", "product_id": 692730761, "combination_id": 422488528,
                   "quantity": 10, "unlimited": false, "in_stock": true,
                   "shares_product_stock": false}),
        ),
        // The global flag before the command, and a product found by its SKU.
        (
            &["--json", "get", "MUG"],
            json!({"sku": "MUG", "product_id": 692730763, "combination_id": null,
                   "quantity": 8, "unlimited": false, "in_stock": true,
                   "shares_product_stock": false}),
        ),
        // A variation without a SKU of its own: its product's SKU and stock.
        (
            &["get", "--product", &tee, "--combination", &large, "--json"],
            json!({"sku": "TEE", "product_id": 692730761, "combination_id": 422488530,
                   "quantity": 20, "unlimited": false, "in_stock": true,
                   "shares_product_stock": true}),
        ),
        (
            &["get", "--product", &gift, "--json"],
            json!({"sku": "GIFT", "product_id": 692730762, "combination_id": null,
                   "quantity": null, "unlimited": true, "in_stock": true,
                   "shares_product_stock": false}),
        ),
    ];
    for (args, expected) in cases {
        let run = shop.run(args).await.expect(0);
        assert_eq!(run.json(), expected, "{args:?}");
        assert!(run.stderr.is_empty(), "{run:#?}");
    }
    assert_eq!(shop.writes(), 0);
}

#[tokio::test]
async fn a_sku_of_no_item_or_of_several_is_bad_input_and_changes_nothing() {
    let store = Store::new(demo::STORE)
        .product(
            Product::new(ProductId::new(1))
                .sku("DUP")
                .quantity(1)
                .variation(
                    Variation::new(CombinationId::new(11))
                        .sku("DUP")
                        .quantity(2),
                ),
        )
        .product(Product::new(ProductId::new(2)).sku("ONE").quantity(3));
    let shop = Shop::start(
        FakeStore::builder().store(store).tokens(demo::tokens()),
        demo::TOKEN,
    )
    .await;

    let none = shop.run(&["adjust", "NOPE", "-1"]).await.expect(2);
    assert_eq!(
        none.stderr.trim(),
        "error: no product or variation has the SKU \"NOPE\""
    );
    let several = shop.run(&["adjust", "DUP", "-1", "--json"]).await.expect(2);
    assert!(
        several
            .stderr
            .contains("is on 2 items (product 1, product 1 variation 11)"),
        "{several:#?}"
    );
    assert!(several.stdout.is_empty(), "{several:#?}");
    assert_eq!(shop.writes(), 0);
    assert!(shop.ledger().is_empty());
}

#[tokio::test]
async fn a_failed_read_exits_1() {
    let shop = Shop::demo().await;
    let run = shop.run(&["get", "--product", "999"]).await.expect(1);
    assert_eq!(
        run.stderr.trim(),
        "error: Ecwid answered 404 PRODUCT_NOT_FOUND: Product 999 not found"
    );
}
