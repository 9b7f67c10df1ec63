//! What the caller asks for: a target per item, and the checks it passes before anything is
//! read.

use std::collections::HashMap;

use crate::{reads::check_sku, sets::stock_update, CombinationId, Error, Stock, StockItem};

/// What one item's stock should be: an item named by its SKU (exact match, as
/// [`Client::find_sku`]) or by its ids, and its target stock (a count from 0 to
/// [`MAX_QUANTITY`](crate::MAX_QUANTITY), or unlimited).
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

/// Every target well formed, each SKU and item once.
pub(super) fn check_targets(targets: &[SyncTarget]) -> Result<(), Error> {
    let mut skus: HashMap<&str, usize> = HashMap::new();
    let mut items: HashMap<StockItem, usize> = HashMap::new();
    for (n, target) in targets.iter().enumerate() {
        let name = match target {
            SyncTarget::Sku { sku, .. } => format!("target {n} (SKU {sku:?})"),
            SyncTarget::Item { item, .. } => format!("target {n} ({item:?})"),
        };
        let bad = |error: Error| match error {
            Error::InvalidInput(why) => Error::InvalidInput(format!("{name}: {why}")),
            other => other,
        };
        stock_update(target.stock()).map_err(bad)?;
        let earlier = match target {
            SyncTarget::Sku { sku, .. } => {
                check_sku(sku).map_err(bad)?;
                skus.insert(sku, n)
            }
            SyncTarget::Item { item, .. } => {
                item.product().non_zero().map_err(bad)?;
                item.combination()
                    .map(CombinationId::non_zero)
                    .transpose()
                    .map_err(bad)?;
                items.insert(*item, n)
            }
        };
        if let Some(earlier) = earlier {
            return Err(Error::InvalidInput(format!(
                "{name} repeats target {earlier}: give each item one target"
            )));
        }
    }
    Ok(())
}
