//! What the caller asks for: a target per item, and the checks it passes before anything is
//! read.

use crate::{reads::check_sku, stock::stock_update, CombinationId, Error, Stock, StockItem};

/// What one item's stock should be: an item named by its SKU (exact match, as
/// [`Client::find_sku`]) or by its ids, and its target stock (a count from 0 to
/// [`MAX_QUANTITY`](crate::stock::MAX_QUANTITY), or unlimited).
///
/// `(sku, stock)` and `(item, stock)` pairs convert into it.
///
/// [`Client::find_sku`]: crate::Client::find_sku
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyncTarget {
    /// The product or variation whose own SKU is `sku`.
    Sku {
        /// The SKU.
        sku: String,
        /// The target stock.
        stock: Stock,
    },
    /// A product's own stock, or a variation's.
    Item {
        /// The item.
        item: StockItem,
        /// The target stock.
        stock: Stock,
    },
}

impl SyncTarget {
    /// The item whose own SKU is `sku` should have `stock`.
    pub fn sku(sku: impl Into<String>, stock: Stock) -> Self {
        SyncTarget::Sku {
            sku: sku.into(),
            stock,
        }
    }

    /// `item` should have `stock`.
    pub fn item(item: StockItem, stock: Stock) -> Self {
        SyncTarget::Item { item, stock }
    }

    /// The target stock.
    pub fn stock(&self) -> Stock {
        match self {
            SyncTarget::Sku { stock, .. } | SyncTarget::Item { stock, .. } => *stock,
        }
    }
}

impl From<(String, Stock)> for SyncTarget {
    fn from((sku, stock): (String, Stock)) -> Self {
        SyncTarget::sku(sku, stock)
    }
}

impl From<(&str, Stock)> for SyncTarget {
    fn from((sku, stock): (&str, Stock)) -> Self {
        SyncTarget::sku(sku, stock)
    }
}

impl From<(StockItem, Stock)> for SyncTarget {
    fn from((item, stock): (StockItem, Stock)) -> Self {
        SyncTarget::item(item, stock)
    }
}

/// How errors name target `n`: its place and its SKU or item.
pub(super) fn name(n: usize, target: &SyncTarget) -> String {
    match target {
        SyncTarget::Sku { sku, .. } => format!("target {n} (SKU {sku:?})"),
        SyncTarget::Item { item, .. } => format!("target {n} ({item:?})"),
    }
}

/// Target `n` well formed: its stock one Ecwid takes, its SKU one a lookup can match, its ids
/// non-zero. That each SKU and item is given once is checked as the targets are indexed
/// (`read::Reading::new`).
pub(super) fn check_target(n: usize, target: &SyncTarget) -> Result<(), Error> {
    let bad = |error: Error| match error {
        Error::InvalidInput(why) => Error::InvalidInput(format!("{}: {why}", name(n, target))),
        other => other,
    };
    stock_update(target.stock()).map_err(bad)?;
    match target {
        SyncTarget::Sku { sku, .. } => check_sku(sku).map_err(bad)?,
        SyncTarget::Item { item, .. } => {
            item.product().non_zero().map_err(bad)?;
            item.combination()
                .map(CombinationId::non_zero)
                .transpose()
                .map_err(bad)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::fixtures::variation;

    #[test]
    fn pairs_convert_into_targets() {
        let sku = SyncTarget::sku("TEE-S", Stock::Quantity(3));
        assert_eq!(SyncTarget::from(("TEE-S", Stock::Quantity(3))), sku);
        assert_eq!(
            SyncTarget::from(("TEE-S".to_owned(), Stock::Quantity(3))),
            sku
        );
        assert_eq!(sku.stock(), Stock::Quantity(3));
        let item = SyncTarget::from((variation(11), Stock::Unlimited));
        assert_eq!(
            item,
            SyncTarget::Item {
                item: variation(11),
                stock: Stock::Unlimited
            }
        );
        assert_eq!(item.stock(), Stock::Unlimited);
    }
}
