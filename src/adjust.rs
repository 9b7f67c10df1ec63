//! Stock adjustments: one request builder for the variation and the product endpoints.

use crate::{
    client::CallOptions, deduplication::Once, generated::types::StockDelta,
    options::request_builder, retry::Repeat, stock::check_delta, Client, CombinationId, Error,
    ProductId, RequestOptions, StockAdjustment, StockItem,
};

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
    /// Whether it is sent exactly once, as a one-item batch under a deduplication key (see
    /// [`AdjustStock::exactly_once`]).
    pub(crate) once: Once,
    pub(crate) options: RequestOptions,
}

request_builder!(AdjustStock, StockAdjustment);

impl<'a> AdjustStock<'a> {
    pub(crate) fn new(client: &'a Client, item: StockItem, delta: i64) -> Self {
        Self {
            client,
            item,
            delta,
            check_low_stock_notification: client.default_check_low_stock_notification(),
            once: Once::No,
            options: RequestOptions::default(),
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
        self.options.check()?;
        if !matches!(self.once, Once::No) {
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
        let info = self.options.apply(info);
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
