//! A small, realistic shop to play with offline: what `FakeStore::demo()`, the quickstart and
//! `cargo run -p ecwid-inventory-fake --example fake_store` serve.
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
//!
//! For bulk work and whole-catalog reads, [`catalog`] makes a store of any size, and
//! [`numbered_product`] one product with many variations.

use super::auth::FakeToken;
use super::catalog::{Product, Store, Variation};
use ecwid_inventory::{CombinationId, ProductId, StoreId};

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

/// A big catalog for [`STORE`], the same for the same `seed`: `products` products with ids
/// `1..=products`, added in id order, each with its own SKU `CAT-{id}` (six digits at least)
/// and a mix Ecwid's catalogs have:
///
/// - no variations (3 products in 10), one or two (4 in 10), or three to five (3 in 10), with
///   ids `id * 100 + 1` on (so unique in the store);
/// - a variation with its own SKU `CAT-{id}-{n}` and its own stock, or (1 in 4) with an empty
///   SKU, sharing its product's stock;
/// - unlimited stock for 1 product in 10 and 1 own-SKU variation in 10, a count from 0 to 100
///   otherwise, and a warning limit from 1 to 5 for 1 counted item in 3.
///
/// Every SKU is unique. With 1.8 variations per product on average, about one page of 100
/// products in nine carries over 200 variations, which the fake refuses as Ecwid does
/// (`COMBINATION_LIMIT_PER_REQUEST_EXCEEDED`): a reader of the whole catalog must cope.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use ecwid_inventory_fake::{demo, FakeStore};
///
/// let fake = FakeStore::builder()
///     .store(demo::catalog(5_000, 7))
///     .tokens(demo::tokens())
///     .start()
///     .await?;
/// # let _ = fake;
/// # Ok(()) }
/// ```
pub fn catalog(products: u64, seed: u64) -> Store {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut store = Store::new(STORE);
    for id in 1..=products {
        let sku = format!("CAT-{id:06}");
        let mut product = Product::new(ProductId::new(id)).sku(&sku);
        product = match random_stock(&mut rng) {
            (None, _) => product.unlimited(),
            (Some(quantity), None) => product.quantity(quantity),
            (Some(quantity), Some(limit)) => product.quantity(quantity).warning_limit(limit),
        };
        let variations = match rng.u8(0..10) {
            0..=2 => 0,
            3..=6 => rng.u64(1..=2),
            _ => rng.u64(3..=5),
        };
        for n in 1..=variations {
            let variation = Variation::new(CombinationId::new(id * 100 + n));
            // An empty SKU: the variation shares its product's stock, and has none to set.
            let variation = if rng.u8(0..4) == 0 {
                variation
            } else {
                let variation = variation.sku(format!("{sku}-{n}"));
                match random_stock(&mut rng) {
                    (None, _) => variation.unlimited(),
                    (Some(quantity), None) => variation.quantity(quantity),
                    (Some(quantity), Some(limit)) => {
                        variation.quantity(quantity).warning_limit(limit)
                    }
                }
            };
            product = product.variation(variation);
        }
        store = store.product(product);
    }
    store
}

/// A stock for [`catalog`]: unlimited (`None`) 1 time in 10, else a count from 0 to 100, with
/// a warning limit from 1 to 5 one time in 3.
fn random_stock(rng: &mut fastrand::Rng) -> (Option<i64>, Option<i64>) {
    if rng.u8(0..10) == 0 {
        return (None, None);
    }
    let quantity = rng.i64(0..=100);
    (Some(quantity), (rng.u8(0..3) == 0).then(|| rng.i64(1..=5)))
}

/// A product for bulk work: SKU `sku` with no stock of its own, and variations `1..=count`,
/// each with the SKU `{sku}-{n}` and its own stock of `quantity`. The bulk example, benchmark
/// and tests use it.
///
/// ```
/// use ecwid_inventory_fake::demo;
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
