//! Stock adjustments: one request builder for the variation and the product endpoints.

use crate::{
    client::CallOptions,
    generated::types::{StockDelta, StockUpdateResult},
    retry::Repeat,
    Client, CombinationId, Error, ProductId,
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

/// A stock adjustment ready to send; made by [`Client::adjust_variation_stock`] and its
/// siblings.
///
/// Nothing is sent until [`send`](AdjustStock::send). Bad input (a zero id or delta) fails there
/// with [`Error::InvalidInput`], before any request.
#[derive(Debug)]
#[must_use = "nothing is sent until .send().await"]
pub struct AdjustStock<'a> {
    pub(crate) client: &'a Client,
    pub(crate) item: StockItem,
    pub(crate) delta: i64,
    pub(crate) check_low_stock_notification: Option<bool>,
    /// Sent as a one-item batch with a deduplication key (see [`AdjustStock::exactly_once`]).
    pub(crate) exactly_once: bool,
}

impl<'a> AdjustStock<'a> {
    pub(crate) fn new(client: &'a Client, item: StockItem, delta: i64) -> Self {
        Self {
            client,
            item,
            delta,
            check_low_stock_notification: client.default_check_low_stock_notification(),
            exactly_once: false,
        }
    }

    /// Asks Ecwid to compare the new stock with the item's warning limit and email the store
    /// owner when it is at or below it (`checkLowStockNotification`). Without this call (or a
    /// client default), the flag is left out of the request.
    pub fn check_low_stock_notification(mut self, check: bool) -> Self {
        self.check_low_stock_notification = Some(check);
        self
    }

    /// Sends the adjustment.
    ///
    /// A connection failure or a `429` is retried by the client's [`RetryPolicy`]; anything
    /// after which the delta may have been applied is returned at once, and
    /// [`Error::may_have_been_applied`] says so. One rate-limited request. With
    /// [`exactly_once`](AdjustStock::exactly_once), those failures are retried too, at the cost
    /// of a batch.
    ///
    /// Dropping the returned future before it completes leaves the client usable, but the
    /// outcome of a request already sent is then unknown.
    ///
    /// [`RetryPolicy`]: crate::RetryPolicy
    pub async fn send(self) -> Result<StockAdjustment, Error> {
        if self.exactly_once {
            return self.send_exactly_once().await;
        }
        let store = self.client.store();
        let product = self.item.product().non_zero()?;
        let combination = self.item.combination().map(|c| c.non_zero()).transpose()?;
        let body = StockDelta {
            quantity_delta: check_delta(self.delta)?,
        };
        let flag = self.check_low_stock_notification;
        let info = CallOptions::new(
            match combination {
                Some(_) => "adjust_variation_stock",
                None => "adjust_product_stock",
            },
            Repeat::IfNotApplied,
        )
        .item(self.item);
        let body = &body;
        let result = self
            .client
            .send(info, move |raw| async move {
                // An unset flag is not sent at all, as the setter's docs promise.
                match combination {
                    Some(combination) => {
                        let call = raw
                            .adjust_variation_stock()
                            .store_id(store)
                            .product_id(product)
                            .combination_id(combination)
                            .body(body.clone());
                        match flag {
                            Some(flag) => call.check_low_stock_notification(flag),
                            None => call,
                        }
                        .send()
                        .await
                    }
                    None => {
                        let call = raw
                            .adjust_product_stock()
                            .store_id(store)
                            .product_id(product)
                            .body(body.clone());
                        match flag {
                            Some(flag) => call.check_low_stock_notification(flag),
                            None => call,
                        }
                        .send()
                        .await
                    }
                }
            })
            .await?;
        StockAdjustment::from_result(result)
    }
}

impl Client {
    /// Adds `delta` to a variation's stock (negative to take stock away).
    ///
    /// The ids are distinct types: a product id does not fit where the combination id goes.
    ///
    /// ```compile_fail
    /// # use ecwid_inventory::{Client, ProductId};
    /// # fn mix_up(client: &Client) {
    /// client.adjust_variation_stock(ProductId::new(1), ProductId::new(2), -1);
    /// # }
    /// ```
    pub fn adjust_variation_stock(
        &self,
        product: ProductId,
        combination: CombinationId,
        delta: i32,
    ) -> AdjustStock<'_> {
        let item = StockItem::Variation {
            product,
            combination,
        };
        AdjustStock::new(self, item, delta.into())
    }

    /// Adds `delta` to a product's stock (negative to take stock away).
    pub fn adjust_product_stock(&self, product: ProductId, delta: i32) -> AdjustStock<'_> {
        AdjustStock::new(self, StockItem::Product { product }, delta.into())
    }

    /// Adds `delta` to the stock of `item`, a product or a variation.
    pub fn adjust_stock(&self, item: StockItem, delta: i32) -> AdjustStock<'_> {
        AdjustStock::new(self, item, delta.into())
    }

    /// Adds `amount` to the stock of `item`: a restock.
    pub fn increase_stock(&self, item: StockItem, amount: u32) -> AdjustStock<'_> {
        AdjustStock::new(self, item, i64::from(amount))
    }

    /// Takes `amount` from the stock of `item`: a sale.
    pub fn decrease_stock(&self, item: StockItem, amount: u32) -> AdjustStock<'_> {
        AdjustStock::new(self, item, -i64::from(amount))
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
}
