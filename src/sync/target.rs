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
    use crate::stock::MAX_QUANTITY;
    use crate::sync::fixtures::{product, variation};
    use crate::sync::read::Reading;

    /// The checks `plan_sync` makes before reading: each target's, and each given once.
    fn check_targets(targets: &[SyncTarget]) -> Result<(), Error> {
        Reading::new(targets.to_vec()).map(drop)
    }

    /// The text of the `InvalidInput` that `targets` fail with.
    fn refusal(targets: &[SyncTarget]) -> String {
        match check_targets(targets) {
            Err(Error::InvalidInput(why)) => why,
            other => panic!("{targets:?} gave {other:?}"),
        }
    }

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

    /// Only what can be told without reading: a SKU and an item naming one stock are found out
    /// once read.
    #[test]
    fn well_formed_targets_pass() {
        let targets = [
            SyncTarget::sku("TEE-S", Stock::Quantity(0)),
            SyncTarget::sku("TEE-M", Stock::Quantity(MAX_QUANTITY)),
            SyncTarget::item(variation(11), Stock::Unlimited),
            SyncTarget::item(product(1), Stock::Quantity(4)),
            SyncTarget::item(variation(12), Stock::Quantity(4)),
        ];
        check_targets(&targets).unwrap();
        check_targets(&[]).unwrap();
    }

    #[test]
    fn a_bad_target_is_refused_by_its_place_and_name() {
        let ok = SyncTarget::sku("TEE-S", Stock::Quantity(1));
        let cases = [
            (
                SyncTarget::sku("", Stock::Quantity(1)),
                "target 1 (SKU \"\"): ",
            ),
            (
                SyncTarget::sku(" TEE", Stock::Quantity(1)),
                "target 1 (SKU \" TEE\"): ",
            ),
            (
                SyncTarget::sku("TEE", Stock::Quantity(-1)),
                "target 1 (SKU \"TEE\"): ",
            ),
            (
                SyncTarget::sku("TEE", Stock::Quantity(MAX_QUANTITY + 1)),
                "target 1 (SKU \"TEE\"): ",
            ),
            (
                SyncTarget::item(product(0), Stock::Quantity(1)),
                "target 1 (Product { product: ProductId(0) }): ",
            ),
            (
                SyncTarget::item(variation(0), Stock::Quantity(1)),
                "target 1 (Variation { ",
            ),
            (
                SyncTarget::item(variation(11), Stock::Quantity(-1)),
                "target 1 (Variation { ",
            ),
        ];
        for (bad, named) in cases {
            let why = refusal(&[ok.clone(), bad.clone()]);
            assert!(why.starts_with(named), "{bad:?}: {why}");
        }
    }

    #[test]
    fn a_sku_or_an_item_given_twice_is_refused() {
        let why = refusal(&[
            SyncTarget::sku("TEE-S", Stock::Quantity(1)),
            SyncTarget::sku("TEE-M", Stock::Quantity(1)),
            SyncTarget::sku("TEE-S", Stock::Quantity(2)),
        ]);
        assert!(
            why.starts_with("target 2 (SKU \"TEE-S\") repeats target 0"),
            "{why}"
        );
        let why = refusal(&[
            SyncTarget::item(variation(11), Stock::Quantity(1)),
            SyncTarget::item(variation(12), Stock::Quantity(1)),
            SyncTarget::item(variation(12), Stock::Unlimited),
        ]);
        assert!(why.contains("target 2 ("), "{why}");
        assert!(why.contains("repeats target 1"), "{why}");
    }
}
