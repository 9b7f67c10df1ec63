//! The items the unit tests of `sync` plan for: the shirt (product 1, SKU "TEE"), with
//! variation 11 of its own SKU and stock, and variation 12 without, which shares the shirt's.

use crate::{CombinationId, ProductId, Stock, StockItem, StockLevel};

pub(super) fn product(product: u64) -> StockItem {
    StockItem::Product {
        product: ProductId::new(product),
    }
}

/// A variation of the shirt.
pub(super) fn variation(combination: u64) -> StockItem {
    StockItem::Variation {
        product: ProductId::new(1),
        combination: CombinationId::new(combination),
    }
}

/// `item` as a read returns it; `shares` for a variation without a SKU of its own, which
/// carries its product's SKU and stock.
pub(super) fn read(item: StockItem, sku: &str, stock: Stock, shares: bool) -> StockLevel {
    StockLevel {
        item,
        sku: sku.into(),
        stock,
        in_stock: true,
        shares_product_stock: shares,
    }
}
