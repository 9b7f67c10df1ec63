//! The crate's domain types, in one place: an item ([`StockItem`]) and its stock ([`Stock`],
//! [`StockLevel`]), a change of it ([`StockChange`]), and what Ecwid says a change did
//! ([`StockAdjustment`]). A file of its own, below the request builders that use them, so that
//! the public `stock` module can gather both without an import circle.

use crate::{
    generated::types::{StockUpdate, StockUpdateResult},
    CombinationId, Error, ProductId,
};

/// What an adjustment did, as Ecwid reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StockAdjustment {
    update_count: u32,
    warning: Option<String>,
}

impl StockAdjustment {
    /// Ecwid's `updateCount`: 1 when the item was updated, 0 when it was not (for example an
    /// item with unlimited stock).
    pub fn update_count(&self) -> u32 {
        self.update_count
    }

    /// Whether the item was updated (`updateCount` above 0).
    pub fn is_updated(&self) -> bool {
        self.update_count > 0
    }

    /// Ecwid's warning, present when the stock became negative; the adjustment was still applied.
    pub fn warning(&self) -> Option<&str> {
        self.warning.as_deref()
    }

    /// Reads Ecwid's answer; a negative count is not the documented answer.
    pub(crate) fn from_result(result: StockUpdateResult) -> Result<Self, Error> {
        let update_count =
            u32::try_from(result.update_count).map_err(|_| Error::InvalidResponse {
                status: Some(200),
                detail: format!("updateCount is negative: {}", result.update_count),
                read: false,
            })?;
        Ok(Self {
            update_count,
            warning: result.warning,
        })
    }
}

/// A stock as Ecwid models it: a count, or no limit at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Stock {
    /// A counted stock. It may be negative: Ecwid applies a delta that takes it below zero.
    Quantity(i64),
    /// `unlimited: true` in Ecwid: there is no count, and adjustments change nothing.
    Unlimited,
}

/// `12`, `-3`, or `unlimited`.
impl std::fmt::Display for Stock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stock::Quantity(quantity) => write!(f, "{quantity}"),
            Stock::Unlimited => f.write_str("unlimited"),
        }
    }
}

/// The item an adjustment moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StockItem {
    /// A product's own stock (shared by its variations without a SKU of their own).
    Product {
        /// The product.
        product: ProductId,
    },
    /// One variation of a product.
    Variation {
        /// The product.
        product: ProductId,
        /// The variation.
        combination: CombinationId,
    },
}

impl StockItem {
    /// The product the item belongs to.
    pub fn product(self) -> ProductId {
        match self {
            StockItem::Product { product } | StockItem::Variation { product, .. } => product,
        }
    }

    /// The variation, for a variation.
    pub fn combination(self) -> Option<CombinationId> {
        match self {
            StockItem::Product { .. } => None,
            StockItem::Variation { combination, .. } => Some(combination),
        }
    }
}

/// A change of a stock: a delta or an absolute count. What a bulk item does to its item's
/// stock, and what the fake store's ledger records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum StockChange {
    /// Adds this to the stock (negative to take away; not zero).
    Delta(i32),
    /// Sets the stock to this count (0 to [`MAX_QUANTITY`](crate::stock::MAX_QUANTITY)) or to
    /// unlimited stock. A set lands the same count however often it runs, and overwrites
    /// whatever changed the stock since it was planned.
    Set(Stock),
}

/// An item's stock as Ecwid reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct StockLevel {
    /// The product or variation.
    pub item: StockItem,
    /// Its SKU. A variation without a SKU of its own has its product's.
    pub sku: String,
    /// A count (which may be negative) or unlimited stock.
    pub stock: Stock,
    /// Ecwid's in-stock flag.
    pub in_stock: bool,
    /// `true` for a variation without a SKU of its own: it has no stock of its own, and
    /// [`stock`](Self::stock) is its product's. Adjusting either moves both; setting it to a
    /// count other than the product's is refused by Ecwid (`DIFFERENT_COMBINATION_STOCK`).
    pub shares_product_stock: bool,
}

/// Checks a delta: zero would spend a rate-limited request on nothing, and Ecwid takes 32 bits.
pub(crate) fn check_delta(delta: i64) -> Result<i32, Error> {
    if delta == 0 {
        return Err(Error::InvalidInput(
            "the quantity delta must not be zero: it would spend a rate-limited request on nothing"
                .into(),
        ));
    }
    i32::try_from(delta).map_err(|_| {
        Error::InvalidInput(format!(
            "the quantity delta {delta} is outside Ecwid's range ({}..={})",
            i32::MIN,
            i32::MAX
        ))
    })
}

/// The counts Ecwid accepts for a set: its Java client holds quantities as 32-bit integers, and
/// a set below zero is refused here (stock goes negative only through deltas).
pub const MAX_QUANTITY: i64 = i32::MAX as i64;

/// The body that sets `stock`: a count (and no longer unlimited), or unlimited stock.
pub(crate) fn stock_update(stock: Stock) -> Result<StockUpdate, Error> {
    match stock {
        Stock::Unlimited => Ok(StockUpdate {
            quantity: None,
            unlimited: Some(true),
        }),
        Stock::Quantity(quantity) => {
            let quantity = i32::try_from(quantity)
                .ok()
                .filter(|q| *q >= 0)
                .ok_or_else(|| {
                    Error::InvalidInput(format!(
                        "the quantity {quantity} is outside the counts a set accepts (0..={MAX_QUANTITY})"
                    ))
                })?;
            Ok(StockUpdate {
                quantity: Some(quantity),
                unlimited: Some(false),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas() {
        assert_eq!(check_delta(-10).unwrap(), -10);
        assert_eq!(check_delta(i64::from(i32::MIN)).unwrap(), i32::MIN);
        assert!(matches!(check_delta(0), Err(Error::InvalidInput(_))));
        assert!(matches!(
            check_delta(i64::from(i32::MAX) + 1),
            Err(Error::InvalidInput(_))
        ));
    }

    #[test]
    fn negative_update_count_is_not_the_documented_answer() {
        let result = StockUpdateResult {
            update_count: -1,
            warning: None,
        };
        let error = StockAdjustment::from_result(result).unwrap_err();
        assert!(error.may_have_been_applied());
    }

    #[test]
    fn counts_out_of_range_are_refused() {
        for bad in [-1, MAX_QUANTITY + 1, i64::MIN] {
            assert!(
                matches!(
                    stock_update(Stock::Quantity(bad)),
                    Err(Error::InvalidInput(_))
                ),
                "{bad}"
            );
        }
        let body = serde_json::to_value(stock_update(Stock::Quantity(7)).unwrap()).unwrap();
        assert_eq!(body, serde_json::json!({"quantity": 7, "unlimited": false}));
        let body = serde_json::to_value(stock_update(Stock::Unlimited).unwrap()).unwrap();
        assert_eq!(body, serde_json::json!({"unlimited": true}));
    }
}
