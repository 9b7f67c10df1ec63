//! Setting an absolute count: [`Client::set_stock`] and [`Client::set_unlimited_stock`].
//!
//! A set lands the same count however often it is sent, so unlike a delta it is retried after
//! a timeout, a lost connection or a 5xx. The price of an absolute count: a change made to the
//! item between two attempts (a sale on the storefront, say) is overwritten.

use std::time::SystemTime;

use crate::{
    bulk::BulkItem,
    client::CallOptions,
    deduplication::{CallerKey, Once},
    exactly_once::send_once_as,
    options::request_builder,
    retry::Repeat,
    stock::stock_update,
    Client, Error, RequestOptions, Stock, StockAdjustment, StockChange, StockItem,
};

/// An absolute stock ready to send; made by [`Client::set_stock`] and
/// [`Client::set_unlimited_stock`].
#[derive(Debug)]
#[must_use = "nothing is sent until .send().await"]
pub struct SetStock<'a> {
    client: &'a Client,
    item: StockItem,
    stock: Stock,
    options: RequestOptions,
    once: Once,
}

request_builder!(SetStock, StockAdjustment);

impl SetStock<'_> {
    /// Sends the set exactly once, as a one-item batch under a fresh deduplication key, as
    /// [`AdjustStock::exactly_once`](crate::stock::AdjustStock::exactly_once) does for a delta. A set
    /// sent twice lands the same count, but a second one landing after a sale overwrites it;
    /// exactly once, it cannot.
    pub fn exactly_once(mut self) -> Self {
        self.once = std::mem::take(&mut self.once).fresh();
        self
    }

    /// Sends the set exactly once under a key derived from the caller's own id, as
    /// [`AdjustStock::exactly_once_key`](crate::stock::AdjustStock::exactly_once_key) does for a delta
    /// (the same rules for `first_attempt` and the 55-minute window).
    pub fn exactly_once_key(mut self, key: impl Into<String>, first_attempt: SystemTime) -> Self {
        self.once = Once::Keyed(CallerKey::new(key.into(), first_attempt));
        self
    }

    /// Sends the set, retrying after any failure that leaves its outcome unknown (repeating it
    /// lands the same count). Bad input (a zero id, a count out of range) fails before anything
    /// is sent; Ecwid refuses a count for a variation that shares its product's stock unless it
    /// equals the product's (`400 DIFFERENT_COMBINATION_STOCK`).
    pub async fn send(self) -> Result<StockAdjustment, Error> {
        self.options.check()?;
        if !matches!(self.once, Once::No) {
            let request =
                BulkItem::change(self.item, StockChange::Set(self.stock)).to_request(0)?;
            return send_once_as(self.client, request, &self.once, &self.options).await;
        }
        let store = self.client.store();
        let product = self.item.product().non_zero()?;
        let combination = self.item.combination().map(|c| c.non_zero()).transpose()?;
        let body = stock_update(self.stock)?;
        // An absolute count: sending it again lands the same count.
        let options = CallOptions::new(
            match combination {
                Some(_) => "update_variation_stock",
                None => "update_product_stock",
            },
            Repeat::Always,
        )
        .item(self.item);
        let options = self.options.apply(options);
        let body = &body;
        let result = self
            .client
            .send(options, move |raw| async move {
                match combination {
                    Some(combination) => {
                        raw.update_variation_stock()
                            .store_id(store)
                            .product_id(product)
                            .combination_id(combination)
                            .body(body.clone())
                            .send()
                            .await
                    }
                    None => {
                        raw.update_product_stock()
                            .store_id(store)
                            .product_id(product)
                            .body(body.clone())
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
    /// Sets the stock of `item` to `quantity` (0 to [`MAX_QUANTITY`](crate::stock::MAX_QUANTITY)), making a stock that was
    /// unlimited a counted one.
    ///
    /// Safe to send again after an unknown outcome, and retried by itself: the same count
    /// lands. A change made to the item between two attempts is overwritten, as with any
    /// absolute count; for a change relative to what is there, adjust instead.
    pub fn set_stock(&self, item: StockItem, quantity: i64) -> SetStock<'_> {
        SetStock {
            client: self,
            item,
            stock: Stock::Quantity(quantity),
            options: RequestOptions::default(),
            once: Once::No,
        }
    }

    /// Makes the stock of `item` unlimited.
    pub fn set_unlimited_stock(&self, item: StockItem) -> SetStock<'_> {
        SetStock {
            client: self,
            item,
            stock: Stock::Unlimited,
            options: RequestOptions::default(),
            once: Once::No,
        }
    }
}
