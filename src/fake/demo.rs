//! A small, realistic shop to play with offline: what `FakeStore::demo()`, the quickstart and
//! `cargo run --example fake_store` serve.
//!
//! | item | ids | stock | warning limit |
//! |---|---|---|---|
//! | T-shirt (product, SKU `TEE`) | [`TEE`] | 20 | 5 |
//! | T-shirt S (`TEE-S`) | [`SMALL_TEE`] | 10 | 3 |
//! | T-shirt M (`TEE-M`) | [`MEDIUM_TEE`] | 15 | 3 |
//! | T-shirt L (empty SKU: shares the T-shirt's stock) | [`LARGE_TEE`] | the T-shirt's | the T-shirt's |
//! | Gift card (unlimited) | [`GIFT_CARD`] | unlimited | — |
//! | Mug (`MUG`, no variations) | [`MUG`] | 8 | 2 |
//!
//! Tokens: [`TOKEN`] (`read_catalog` and `update_catalog`) and [`PUBLIC_TOKEN`] (read-only), both
//! for [`STORE`]. The ids follow the example in Ecwid's documentation.

use super::{FakeToken, Product, Store, Variation};
use crate::{CombinationId, ProductId, StoreId};

/// The demo store.
pub const STORE: StoreId = StoreId::new(1003);

/// The demo store's secret token, with `read_catalog` and `update_catalog`.
pub const TOKEN: &str = "secret_token";

/// The demo store's public token: it can read but never write the catalog.
pub const PUBLIC_TOKEN: &str = "public_token";

/// The T-shirt: a product with size variations, a stock of 20 and a warning limit of 5.
pub const TEE: ProductId = ProductId::new(692_730_761);

/// The small T-shirt (`TEE-S`): its own stock of 10, warning limit 3.
pub const SMALL_TEE: (ProductId, CombinationId) = (TEE, CombinationId::new(422_488_528));

/// The medium T-shirt (`TEE-M`): its own stock of 15, warning limit 3.
pub const MEDIUM_TEE: (ProductId, CombinationId) = (TEE, CombinationId::new(422_488_529));

/// The large T-shirt: an empty SKU, so it shares the T-shirt's stock (adjusting either moves
/// both).
pub const LARGE_TEE: (ProductId, CombinationId) = (TEE, CombinationId::new(422_488_530));

/// A gift card with unlimited stock: adjustments answer `updateCount: 0`.
pub const GIFT_CARD: ProductId = ProductId::new(692_730_762);

/// A mug without variations: a stock of 8, warning limit 2.
pub const MUG: ProductId = ProductId::new(692_730_763);

/// The demo catalog.
pub fn store() -> Store {
    Store::new(STORE)
        .product(
            Product::new(TEE)
                .sku("TEE")
                .quantity(20)
                .warning_limit(5)
                .variation(
                    Variation::new(SMALL_TEE.1)
                        .sku("TEE-S")
                        .quantity(10)
                        .warning_limit(3),
                )
                .variation(
                    Variation::new(MEDIUM_TEE.1)
                        .sku("TEE-M")
                        .quantity(15)
                        .warning_limit(3),
                )
                .variation(Variation::new(LARGE_TEE.1)),
        )
        .product(Product::new(GIFT_CARD).sku("GIFT").unlimited())
        .product(Product::new(MUG).sku("MUG").quantity(8).warning_limit(2))
}

/// The demo tokens: [`TOKEN`] and [`PUBLIC_TOKEN`].
pub fn tokens() -> [FakeToken; 2] {
    [
        FakeToken::secret(STORE, TOKEN),
        FakeToken::public(STORE, PUBLIC_TOKEN),
    ]
}

/// A product for bulk work: SKU `sku` with no stock of its own, and variations `1..=count`,
/// each with the SKU `{sku}-{n}` and its own stock of `quantity`. The bulk example, benchmark
/// and tests use it.
///
/// ```
/// use ecwid_inventory::fake::demo;
/// use ecwid_inventory::ProductId;
///
/// let shelf = demo::numbered_product(ProductId::new(1), "SHELF", 50, 500);
/// # let _ = shelf;
/// ```
pub fn numbered_product(id: ProductId, sku: &str, count: u64, quantity: i64) -> Product {
    (1..=count).fold(Product::new(id).sku(sku).quantity(0), |product, n| {
        product.variation(
            Variation::new(CombinationId::new(n))
                .sku(format!("{sku}-{n}"))
                .quantity(quantity),
        )
    })
}
