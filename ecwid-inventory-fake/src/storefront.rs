//! Ecwid's own sales on the fake: a shopper's checkout ([`FakeStore::sell`] with a [`Sale`]),
//! and what the owner does to an order afterwards ([`FakeStore::update_order`] with an
//! [`OrderUpdate`], [`FakeStore::cancel_order`], [`FakeStore::delete_order`]). Each moves the
//! stock as Ecwid does, records the change in the ledger, keeps the order for the API's order
//! endpoints to answer, and sends the webhooks Ecwid would ([`webhooks`](crate::webhooks)).
//!
//! # What each does to stock
//!
//! | action | order | stock | ledger [`Origin`] |
//! |---|---|---|---|
//! | a sale | created, `AWAITING_PAYMENT` (or `PAID`), `AWAITING_PROCESSING` unless told | each line's quantity taken from its item's stock, when the stock is counted | `Storefront { order }` |
//! | an update of the statuses | statuses changed | none, unless it cancels (below) | — |
//! | a cancellation (payment status `CANCELLED`) | `CANCELLED` | each line given back | `Restock { order }` |
//! | an update that takes an order out of `CANCELLED` | statuses changed | each line taken again | `Storefront { order }` |
//! | a deletion | gone: the order endpoints answer 404 | each line the order still held given back | `Restock { order }` |
//!
//! The choices:
//! - **A sale beyond the stock is refused** ([`StorefrontError::OutOfStock`]), as Ecwid's
//!   storefront refuses to check out more than is in stock, so a sale never takes a stock below
//!   zero. The lines of one sale that draw on the same stock (the same item twice, or a
//!   variation with an empty SKU and its product) are counted together. Unlimited stock is not
//!   tracked (the line says `trackQuantity: false`): a sale takes nothing from it, and nothing
//!   is given back.
//! - **Cancelling restocks**, as Ecwid documents; so does **deleting an order that still held
//!   its stock** (the fake's choice, the one the SDK's movement rules make: a deletion after a
//!   sale is a restock). A cancelled order holds nothing, so deleting it gives nothing back.
//! - **Taking an order out of `CANCELLED`** (to `PAID`, say) takes its stock again, without
//!   the checkout's refusal: an owner's change is not refused, and the stock may go negative
//!   (*the fake's choice*: Ecwid does not document it). Other status changes (`PAID`,
//!   `REFUNDED`, `SHIPPED` ...) move no stock.
//! - A cancellation of a cancelled order, or an update to the statuses it already has, changes
//!   nothing and sends nothing.
//!
//! Each stock change updates its product's update time, as an API change does. A sale sends no
//! low-stock notification (the fake records those for the API's adjustments only).
//!
//! # The order's fields
//!
//! An order gets an id like Ecwid's (`XJ12H`, unique in the fake, the same in every run), an
//! internal number (`orderNumber`, a webhook's `entityId`: 100000001, then 100000002, ...), and
//! `createTimestamp` / `updateTimestamp` from the fake's clock
//! ([`FakeStore::advance_clock`] moves them). Each line has an id unique in the fake,
//! `productId`, `quantity`, `trackQuantity`, `sku` (a variation's own SKU, else its
//! product's), and for a variation `combinationId` and `selectedOptions`: the options given to
//! [`SaleLine::option`], or, when none were, one `CHOICE` option named `Variation` whose value
//! is the variation's id (*the fake's choice*: it holds no product options). Lines have no
//! `name` (the fake holds no names).
//!
//! # Over HTTP
//!
//! The same actions, for a storefront or a tool in any language, under `/storefront` (outside
//! the API: no token, no rate limit; scripted faults of [`Route::Any`](crate::Route::Any)
//! apply), with Ecwid's error body (`errorCode`, `errorMessage`) when refused:
//!
//! | request | does | answers |
//! |---|---|---|
//! | `POST /storefront/{storeId}/orders` `{"items": [{"productId": 1, "combinationId": 11, "quantity": 2, "selectedOptions": [{"name": "Size", "value": "S"}]}], "paymentStatus": "PAID", "fulfillmentStatus": "PROCESSING"}` (`combinationId`, `selectedOptions` and both statuses optional; `paymentStatus` is `AWAITING_PAYMENT` or `PAID`) | a sale | 200, the order as `GET /orders/{orderId}` sends it |
//! | `PUT /storefront/{storeId}/orders/{orderId}` `{"paymentStatus": "PAID", "fulfillmentStatus": "SHIPPED"}` (each optional) | an update | 200, the order |
//! | `POST /storefront/{storeId}/orders/{orderId}/cancel` | a cancellation | 200, the order |
//! | `DELETE /storefront/{storeId}/orders/{orderId}` | a deletion | 200, `{"deleteCount": 1}` |
//!
//! Refusals: 400 `WRONG_PARAMETER` (a body that is not JSON, or not of this shape; no line; a
//! quantity of 0 or above 2147483647), 415 for a body not sent as `application/json`, 404
//! `STORE_NOT_FOUND`, `PRODUCT_NOT_FOUND`, `COMBINATION_NOT_FOUND`, `ORDER_NOT_FOUND`, 409
//! `OUT_OF_STOCK` (*the fake's code*), 404 `NOT_FOUND` for another path under `/storefront`,
//! 405 for another method. [`FakeStore::storefront_url`] gives the root.
//!
//! # Example
//!
//! ```
//! use ecwid_inventory::{StockItem, orders::PaymentStatus};
//! use ecwid_inventory_fake::{demo, FakeStore, Origin, Sale, Stock, StorefrontError};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let fake = FakeStore::demo().await?;
//! let mug = StockItem::Product { product: demo::MUG };
//!
//! // A shopper buys 3 of the 8 mugs, and pays.
//! let order = fake.sell(demo::STORE, Sale::new().product(demo::MUG, 3).paid())?;
//! assert_eq!(fake.stock(demo::STORE, mug), Some(Stock::Quantity(5)));
//! assert_eq!(fake.ledger()[0].origin, Origin::Storefront { order: order.clone() });
//!
//! // Six more are more than the store has: refused, nothing taken.
//! let refused = fake.sell(demo::STORE, Sale::new().product(demo::MUG, 6));
//! assert!(matches!(refused, Err(StorefrontError::OutOfStock { .. })));
//!
//! // The API reads the order back.
//! let client = fake.client_builder(demo::TOKEN).build()?;
//! let read = client.order(order.clone()).await?;
//! assert_eq!(read.payment_status, Some(PaymentStatus::Paid));
//! assert_eq!(read.lines[0].quantity, 3);
//!
//! // Cancelled: the mugs come back.
//! fake.cancel_order(demo::STORE, &order)?;
//! assert_eq!(fake.stock(demo::STORE, mug), Some(Stock::Quantity(8)));
//! # Ok(()) }
//! ```
//!
//! [`FakeStore::sell`]: crate::FakeStore::sell
//! [`FakeStore::update_order`]: crate::FakeStore::update_order
//! [`FakeStore::cancel_order`]: crate::FakeStore::cancel_order
//! [`FakeStore::delete_order`]: crate::FakeStore::delete_order
//! [`FakeStore::advance_clock`]: crate::FakeStore::advance_clock
//! [`FakeStore::storefront_url`]: crate::FakeStore::storefront_url

use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::fmt;

use hyper::StatusCode;
use serde::Deserialize;
use serde_json::json;

use super::answer::Answer;
use super::catalog::{Missing, Target};
use super::order_book::{ChosenOption, Line, OrderRecord, OrderRef};
use super::orders::{order_body, order_not_found};
use super::records::{LedgerEntry, Origin};
use super::request::{parse_id, Body, HttpRequest};
use super::routes::read_json;
use super::state::State;
use super::webhooks::OrderChange;
use ecwid_inventory::{
    orders::{FulfillmentStatus, PaymentStatus},
    CombinationId, OrderId, ProductId, Stock, StockChange, StockItem, StoreId,
};

/// A shopper's checkout: its lines, and the order's statuses. Give it to
/// [`FakeStore::sell`](crate::FakeStore::sell).
///
/// ```
/// use ecwid_inventory_fake::{demo, Sale, SaleLine};
/// use ecwid_inventory::orders::FulfillmentStatus;
///
/// let (tee, small) = demo::SMALL_TEE;
/// let sale = Sale::new()
///     .product(demo::MUG, 2)
///     .line(SaleLine::variation(tee, small, 1).option("Size", "S"))
///     .paid()
///     .fulfillment_status(FulfillmentStatus::Processing);
/// # let _ = sale;
/// ```
#[derive(Clone, Debug)]
pub struct Sale {
    lines: Vec<SaleLine>,
    paid: bool,
    fulfillment: FulfillmentStatus,
}

impl Default for Sale {
    fn default() -> Self {
        Sale {
            lines: Vec::new(),
            paid: false,
            fulfillment: FulfillmentStatus::AwaitingProcessing,
        }
    }
}

impl Sale {
    /// A sale with no lines yet, `AWAITING_PAYMENT` and `AWAITING_PROCESSING`.
    pub fn new() -> Self {
        Sale::default()
    }

    /// Adds a line.
    pub fn line(mut self, line: SaleLine) -> Self {
        self.lines.push(line);
        self
    }

    /// Adds a line of `quantity` of a product.
    pub fn product(self, product: ProductId, quantity: u32) -> Self {
        self.line(SaleLine::product(product, quantity))
    }

    /// Adds a line of `quantity` of a variation.
    pub fn variation(self, product: ProductId, combination: CombinationId, quantity: u32) -> Self {
        self.line(SaleLine::variation(product, combination, quantity))
    }

    /// The shopper paid at checkout: the order is `PAID` (else `AWAITING_PAYMENT`).
    pub fn paid(mut self) -> Self {
        self.paid = true;
        self
    }

    /// The order's fulfilment status (default `AWAITING_PROCESSING`).
    pub fn fulfillment_status(mut self, status: FulfillmentStatus) -> Self {
        self.fulfillment = status;
        self
    }
}

/// One line of a [`Sale`]: a product or a variation, how many, and the options the shopper
/// chose.
#[derive(Clone, Debug)]
pub struct SaleLine {
    item: StockItem,
    quantity: u32,
    options: Vec<ChosenOption>,
}

impl SaleLine {
    /// `quantity` of a product (without variations, or sold as itself).
    pub fn product(product: ProductId, quantity: u32) -> Self {
        SaleLine {
            item: StockItem::Product { product },
            quantity,
            options: Vec::new(),
        }
    }

    /// `quantity` of a variation.
    pub fn variation(product: ProductId, combination: CombinationId, quantity: u32) -> Self {
        SaleLine {
            item: StockItem::Variation {
                product,
                combination,
            },
            quantity,
            options: Vec::new(),
        }
    }

    /// Adds an option the shopper chose, such as `("Size", "S")`: the order's line lists it in
    /// `selectedOptions`.
    pub fn option(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.push(ChosenOption {
            name: name.into(),
            value: value.into(),
        });
        self
    }
}

/// A change of an order's statuses by the owner. Give it to
/// [`FakeStore::update_order`](crate::FakeStore::update_order); a status not set stays as it
/// is.
///
/// ```
/// use ecwid_inventory::{orders::{FulfillmentStatus, PaymentStatus}};
/// use ecwid_inventory_fake::OrderUpdate;
///
/// let shipped = OrderUpdate::new()
///     .payment_status(PaymentStatus::Paid)
///     .fulfillment_status(FulfillmentStatus::Shipped);
/// # let _ = shipped;
/// ```
#[derive(Clone, Debug, Default)]
pub struct OrderUpdate {
    payment: Option<PaymentStatus>,
    fulfillment: Option<FulfillmentStatus>,
}

impl OrderUpdate {
    /// An update that changes nothing yet.
    pub fn new() -> Self {
        OrderUpdate::default()
    }

    /// The new payment status. `CANCELLED` cancels the order (and restocks it).
    pub fn payment_status(mut self, status: PaymentStatus) -> Self {
        self.payment = Some(status);
        self
    }

    /// The new fulfilment status.
    pub fn fulfillment_status(mut self, status: FulfillmentStatus) -> Self {
        self.fulfillment = Some(status);
        self
    }
}

/// Why the fake refused a sale or a change of an order. Nothing was changed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StorefrontError {
    /// The fake serves no such store.
    UnknownStore(StoreId),
    /// The store has no such product.
    UnknownProduct(ProductId),
    /// The product has no such variation.
    UnknownVariation {
        /// The product.
        product: ProductId,
        /// The variation it does not have.
        combination: CombinationId,
    },
    /// A sale without lines.
    NoLines,
    /// A line's quantity is 0, or above `i32::MAX` (a stock change is 32 bits, as Ecwid's).
    BadQuantity {
        /// The line's item.
        item: StockItem,
        /// The quantity asked for.
        quantity: u32,
    },
    /// The sale asks for more of an item than its stock holds.
    OutOfStock {
        /// The (first) line's item.
        item: StockItem,
        /// How many the sale's lines ask of that stock in all.
        requested: u64,
        /// The stock.
        available: i64,
    },
    /// The store has no such order (never made, or deleted).
    UnknownOrder(OrderId),
    /// The fake has made every order id it can (33,554,432 orders).
    TooManyOrders,
}

impl fmt::Display for StorefrontError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorefrontError::UnknownStore(store) => write!(f, "store {store} not found"),
            StorefrontError::UnknownProduct(product) => write!(f, "product {product} not found"),
            StorefrontError::UnknownVariation {
                product,
                combination,
            } => write!(
                f,
                "combination {combination} of product {product} not found"
            ),
            StorefrontError::NoLines => f.write_str("a sale needs at least one line"),
            StorefrontError::BadQuantity { item, quantity } => write!(
                f,
                "{item:?}: a quantity must be from 1 to {}, not {quantity}",
                i32::MAX
            ),
            StorefrontError::OutOfStock {
                item,
                requested,
                available,
            } => write!(
                f,
                "{item:?}: {requested} ordered, {available} in stock: the storefront refuses \
                 a checkout beyond the stock"
            ),
            StorefrontError::UnknownOrder(order) => write!(f, "order {order} not found"),
            StorefrontError::TooManyOrders => {
                f.write_str("the fake has made every order id it can")
            }
        }
    }
}

impl StdError for StorefrontError {}

impl StorefrontError {
    fn from_missing(item: StockItem, missing: Missing, store: StoreId) -> Self {
        match missing {
            Missing::Store => StorefrontError::UnknownStore(store),
            Missing::Product => StorefrontError::UnknownProduct(item.product()),
            Missing::Combination => StorefrontError::UnknownVariation {
                product: item.product(),
                combination: item.combination().unwrap_or(CombinationId::new(0)),
            },
        }
    }

    /// The storefront route's answer.
    fn answer(&self) -> Answer {
        let (status, code) = match self {
            StorefrontError::UnknownStore(_) => (StatusCode::NOT_FOUND, "STORE_NOT_FOUND"),
            StorefrontError::UnknownProduct(_) => (StatusCode::NOT_FOUND, "PRODUCT_NOT_FOUND"),
            StorefrontError::UnknownVariation { .. } => {
                (StatusCode::NOT_FOUND, "COMBINATION_NOT_FOUND")
            }
            StorefrontError::UnknownOrder(_) => (StatusCode::NOT_FOUND, "ORDER_NOT_FOUND"),
            StorefrontError::OutOfStock { .. } => (StatusCode::CONFLICT, "OUT_OF_STOCK"),
            StorefrontError::NoLines | StorefrontError::BadQuantity { .. } => {
                (StatusCode::BAD_REQUEST, "WRONG_PARAMETER")
            }
            StorefrontError::TooManyOrders => (StatusCode::CONFLICT, "TOO_MANY_ORDERS"),
        };
        Answer::error(status, code, self.to_string())
    }
}

/// Which way stock moves for an order.
#[derive(Clone, Copy)]
enum Movement {
    /// Taken from stock: a sale, or an order leaving `CANCELLED`.
    Take,
    /// Given back: a cancellation, or the deletion of an order that held it.
    GiveBack,
}

impl State {
    /// A storefront sale: checked whole (store, items, quantities, stock), then the order made
    /// and its tracked lines taken from stock, and its webhooks sent.
    pub(crate) fn sell(&mut self, store: StoreId, sale: Sale) -> Result<OrderId, StorefrontError> {
        if !self.catalog.has_store(store) {
            return Err(StorefrontError::UnknownStore(store));
        }
        if sale.lines.is_empty() {
            return Err(StorefrontError::NoLines);
        }
        // What each stock is asked for, by the counter it moves (a variation sharing its
        // product's stock moves the product's).
        let mut asked: BTreeMap<(ProductId, Option<CombinationId>), (StockItem, u64)> =
            BTreeMap::new();
        let mut lines = Vec::with_capacity(sale.lines.len());
        for line in sale.lines {
            let item = line.item;
            if line.quantity == 0 || i32::try_from(line.quantity).is_err() {
                return Err(StorefrontError::BadQuantity {
                    item,
                    quantity: line.quantity,
                });
            }
            let target = Target { store, item };
            let missing = |missing| StorefrontError::from_missing(item, missing, store);
            let shares = self.catalog.shares_product_stock(target).map_err(missing)?;
            let product = self
                .catalog
                .product(store, item.product())
                .map_err(missing)?;
            // A variation sharing its product's stock has no SKU of its own: its product's.
            let own_sku = item
                .combination()
                .and_then(|combination| product.variation(combination))
                .map(|variation| variation.sku)
                .filter(|sku| !sku.is_empty());
            let sku = own_sku.unwrap_or_else(|| product.sku()).to_owned();
            let stock = self.catalog.stock(target).expect("the item was just found");
            let tracked = matches!(stock, Stock::Quantity(_));
            if tracked {
                let counter = (item.product(), item.combination().filter(|_| !shares));
                asked.entry(counter).or_insert((item, 0)).1 += u64::from(line.quantity);
            }
            let options = match (item, line.options.is_empty()) {
                (StockItem::Variation { combination, .. }, true) => vec![ChosenOption {
                    name: "Variation".to_owned(),
                    value: combination.to_string(),
                }],
                _ => line.options,
            };
            lines.push(Line {
                id: 0,
                item,
                sku,
                quantity: line.quantity,
                tracked,
                options,
            });
        }
        for &(item, requested) in asked.values() {
            let target = Target { store, item };
            if let Some(Stock::Quantity(available)) = self.catalog.stock(target) {
                if i64::try_from(requested).map_or(true, |requested| requested > available) {
                    return Err(StorefrontError::OutOfStock {
                        item,
                        requested,
                        available,
                    });
                }
            }
        }
        let (sequence, id, number) = self
            .orders
            .next_order()
            .ok_or(StorefrontError::TooManyOrders)?;
        for line in &mut lines {
            line.id = self.orders.next_line_id();
        }
        let now = self.clock.unix_seconds();
        let payment = if sale.paid {
            PaymentStatus::Paid
        } else {
            PaymentStatus::AwaitingPayment
        };
        let products = self.move_stock(store, &id, &lines, Movement::Take);
        let order = OrderRecord {
            store,
            id: id.clone(),
            number,
            payment,
            fulfillment: sale.fulfillment,
            created: now,
            updated: now,
            lines,
            holds_stock: true,
        };
        self.outbox.order_event(
            "order.created",
            OrderChange {
                store,
                number,
                order_id: id.as_str(),
                new: Some((order.payment.as_str(), order.fulfillment.as_str())),
                old: None,
            },
            now,
        );
        self.outbox.products_updated(store, products, now);
        tracing::debug!(order = %id, %store, "fake store: storefront sale");
        self.orders.insert(sequence, order);
        Ok(id)
    }

    /// An owner's change of an order's statuses: a cancellation gives its stock back, leaving
    /// `CANCELLED` takes it again, nothing else moves stock.
    pub(crate) fn update_order(
        &mut self,
        store: StoreId,
        id: &OrderId,
        update: OrderUpdate,
    ) -> Result<(), StorefrontError> {
        if !self.catalog.has_store(store) {
            return Err(StorefrontError::UnknownStore(store));
        }
        let now = self.clock.unix_seconds();
        let Some(order) = self.orders.get_mut(store, OrderRef::parse(id.as_str())) else {
            return Err(StorefrontError::UnknownOrder(id.clone()));
        };
        let old = (order.payment.clone(), order.fulfillment.clone());
        let new = (
            update.payment.unwrap_or_else(|| old.0.clone()),
            update.fulfillment.unwrap_or_else(|| old.1.clone()),
        );
        if new == old {
            return Ok(());
        }
        let cancelled = new.0 == PaymentStatus::Cancelled;
        let movement = match (cancelled, order.holds_stock) {
            (true, true) => Some(Movement::GiveBack),
            (false, false) => Some(Movement::Take),
            _ => None,
        };
        (order.payment, order.fulfillment) = new.clone();
        order.updated = now;
        order.holds_stock = !cancelled;
        let (number, lines) = (order.number, order.lines.clone());
        let products = match movement {
            Some(movement) => self.move_stock(store, id, &lines, movement),
            None => Vec::new(),
        };
        self.outbox.order_event(
            "order.updated",
            OrderChange {
                store,
                number,
                order_id: id.as_str(),
                new: Some((new.0.as_str(), new.1.as_str())),
                old: Some((old.0.as_str(), old.1.as_str())),
            },
            now,
        );
        self.outbox.products_updated(store, products, now);
        Ok(())
    }

    /// A deletion: the order is gone, and the stock it still held comes back.
    pub(crate) fn delete_order(
        &mut self,
        store: StoreId,
        id: &OrderId,
    ) -> Result<(), StorefrontError> {
        if !self.catalog.has_store(store) {
            return Err(StorefrontError::UnknownStore(store));
        }
        let Some(order) = self.orders.remove(store, OrderRef::parse(id.as_str())) else {
            return Err(StorefrontError::UnknownOrder(id.clone()));
        };
        let now = self.clock.unix_seconds();
        let products = if order.holds_stock {
            self.move_stock(store, id, &order.lines, Movement::GiveBack)
        } else {
            Vec::new()
        };
        self.outbox.order_event(
            "order.deleted",
            OrderChange {
                store,
                number: order.number,
                order_id: id.as_str(),
                new: None,
                old: None,
            },
            now,
        );
        self.outbox.products_updated(store, products, now);
        Ok(())
    }

    /// Moves the stock of an order's tracked lines, recording each change; returns the
    /// products whose stock moved. A stock made unlimited since the sale is left alone.
    fn move_stock(
        &mut self,
        store: StoreId,
        order: &OrderId,
        lines: &[Line],
        movement: Movement,
    ) -> Vec<ProductId> {
        let mut moved = Vec::new();
        for line in lines.iter().filter(|line| line.tracked) {
            let target = Target {
                store,
                item: line.item,
            };
            let Ok(counter) = self.catalog.counter_mut(target) else {
                continue;
            };
            let Stock::Quantity(before) = counter.stock else {
                continue;
            };
            let quantity = i32::try_from(line.quantity).expect("checked when sold");
            let (delta, origin) = match movement {
                Movement::Take => (
                    -quantity,
                    Origin::Storefront {
                        order: order.clone(),
                    },
                ),
                Movement::GiveBack => (
                    quantity,
                    Origin::Restock {
                        order: order.clone(),
                    },
                ),
            };
            let after = before.saturating_add(i64::from(delta));
            counter.stock = Stock::Quantity(after);
            self.record(LedgerEntry {
                store,
                item: line.item,
                change: StockChange::Delta(delta),
                stock_after: Stock::Quantity(after),
                origin,
            });
            moved.push(line.item.product());
        }
        moved
    }
}

// ---------------------------------------------------------------------------------------------
// Over HTTP

/// A storefront path: `/storefront/{storeId}/orders[/{orderId}[/cancel]]`.
enum StorefrontPath<'a> {
    Orders(StoreId),
    Order(StoreId, &'a str),
    Cancel(StoreId, &'a str),
}

impl<'a> StorefrontPath<'a> {
    fn parse(path: &'a str) -> Option<Self> {
        let rest = path.strip_prefix("/storefront/")?;
        let segments: Vec<&str> = rest.split('/').collect();
        let store = StoreId::new(parse_id(segments.first()?)?);
        match segments.as_slice() {
            [_, "orders"] => Some(StorefrontPath::Orders(store)),
            [_, "orders", id] if !id.is_empty() => Some(StorefrontPath::Order(store, id)),
            [_, "orders", id, "cancel"] if !id.is_empty() => {
                Some(StorefrontPath::Cancel(store, id))
            }
            _ => None,
        }
    }

    fn allowed_methods(&self) -> &'static [&'static str] {
        match self {
            StorefrontPath::Orders(_) | StorefrontPath::Cancel(..) => &["POST"],
            StorefrontPath::Order(..) => &["PUT", "DELETE"],
        }
    }
}

/// A sale's body.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SaleBody {
    items: Vec<SaleItemBody>,
    payment_status: Option<String>,
    fulfillment_status: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SaleItemBody {
    product_id: u64,
    combination_id: Option<u64>,
    quantity: u32,
    #[serde(default)]
    selected_options: Vec<OptionBody>,
}

#[derive(Deserialize)]
struct OptionBody {
    name: String,
    value: String,
}

/// An update's body.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateBody {
    payment_status: Option<String>,
    fulfillment_status: Option<String>,
}

/// A status as Ecwid spells one: capitals, digits and `_`.
fn status(name: &str, value: Option<String>) -> Result<Option<String>, Answer> {
    match value {
        Some(value)
            if value.is_empty()
                || !value
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_') =>
        {
            Err(Answer::wrong_parameter(format!(
                "{name} must be a status such as PAID, not {value:?}"
            )))
        }
        other => Ok(other),
    }
}

fn body<T: for<'de> Deserialize<'de>>(request: &HttpRequest<'_>) -> Result<T, Answer> {
    let value = read_json(Body::Http {
        content_type: request.content_type,
        bytes: request.body,
    })?;
    serde_json::from_value(value)
        .map_err(|error| Answer::wrong_parameter(format!("The body is not as expected: {error}")))
}

impl State {
    /// A request under `/storefront` (see the module docs).
    pub(crate) fn handle_storefront(&mut self, request: &HttpRequest<'_>) -> Answer {
        let Some(path) = StorefrontPath::parse(request.path) else {
            return Answer::error(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                format!("No storefront route at {}", request.path),
            );
        };
        let allowed = path.allowed_methods();
        if !allowed.contains(&request.method) {
            let mut answer = Answer::error(
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                format!("{} is not supported here", request.method),
            );
            answer.headers.push(("allow", allowed.join(", ")));
            return answer;
        }
        let answered = match path {
            StorefrontPath::Orders(store) => self.sell_over_http(store, request),
            StorefrontPath::Order(store, id) if request.method == "PUT" => {
                self.update_over_http(store, id, request)
            }
            StorefrontPath::Order(store, id) => {
                let id = OrderId::new(id);
                self.delete_order(store, &id)
                    .map(|()| Answer::ok(json!({ "deleteCount": 1 })))
                    .map_err(|error| error.answer())
            }
            StorefrontPath::Cancel(store, id) => {
                let id = OrderId::new(id);
                let cancel = OrderUpdate::new().payment_status(PaymentStatus::Cancelled);
                self.update_order(store, &id, cancel)
                    .map_err(|error| error.answer())
                    .map(|()| self.order_answer(store, &id))
            }
        };
        answered.unwrap_or_else(|answer| answer)
    }

    fn sell_over_http(
        &mut self,
        store: StoreId,
        request: &HttpRequest<'_>,
    ) -> Result<Answer, Answer> {
        let body: SaleBody = body(request)?;
        let mut sale = Sale::new();
        match status("paymentStatus", body.payment_status)?.as_deref() {
            None | Some("AWAITING_PAYMENT") => {}
            Some("PAID") => sale = sale.paid(),
            Some(other) => {
                return Err(Answer::wrong_parameter(format!(
                    "A sale's paymentStatus is AWAITING_PAYMENT or PAID, not {other:?}"
                )))
            }
        }
        if let Some(fulfillment) = status("fulfillmentStatus", body.fulfillment_status)? {
            sale = sale.fulfillment_status(FulfillmentStatus::from(fulfillment));
        }
        for item in body.items {
            let product = ProductId::new(item.product_id);
            let mut line = match item.combination_id {
                Some(combination) => {
                    SaleLine::variation(product, CombinationId::new(combination), item.quantity)
                }
                None => SaleLine::product(product, item.quantity),
            };
            for option in item.selected_options {
                line = line.option(option.name, option.value);
            }
            sale = sale.line(line);
        }
        let id = self.sell(store, sale).map_err(|error| error.answer())?;
        Ok(self.order_answer(store, &id))
    }

    fn update_over_http(
        &mut self,
        store: StoreId,
        id: &str,
        request: &HttpRequest<'_>,
    ) -> Result<Answer, Answer> {
        let body: UpdateBody = body(request)?;
        let mut update = OrderUpdate::new();
        if let Some(payment) = status("paymentStatus", body.payment_status)? {
            update = update.payment_status(PaymentStatus::from(payment));
        }
        if let Some(fulfillment) = status("fulfillmentStatus", body.fulfillment_status)? {
            update = update.fulfillment_status(FulfillmentStatus::from(fulfillment));
        }
        let id = OrderId::new(id);
        self.update_order(store, &id, update)
            .map_err(|error| error.answer())?;
        Ok(self.order_answer(store, &id))
    }

    /// The order as the API's read sends it.
    fn order_answer(&self, store: StoreId, id: &OrderId) -> Answer {
        let order = OrderRef::parse(id.as_str());
        match self.orders.get(store, order) {
            Some(record) => Answer::ok(order_body(record)),
            None => order_not_found(order),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storefront_paths_are_read_strictly() {
        assert!(matches!(
            StorefrontPath::parse("/storefront/1003/orders"),
            Some(StorefrontPath::Orders(store)) if store.get() == 1003
        ));
        assert!(matches!(
            StorefrontPath::parse("/storefront/1003/orders/XJ12H"),
            Some(StorefrontPath::Order(_, "XJ12H"))
        ));
        assert!(matches!(
            StorefrontPath::parse("/storefront/1003/orders/XJ12H/cancel"),
            Some(StorefrontPath::Cancel(_, "XJ12H"))
        ));
        for path in [
            "/storefront/x/orders",
            "/storefront/1003",
            "/storefront/1003/orders/",
            "/storefront/1003/orders//cancel",
            "/storefront/1003/orders/XJ12H/refund",
            "/api/v3/1003/orders",
        ] {
            assert!(StorefrontPath::parse(path).is_none(), "{path}");
        }
    }

    #[test]
    fn statuses_are_spelled_as_ecwid_spells_them() {
        assert_eq!(
            status("s", Some("CUSTOM_1".into())).unwrap(),
            Some("CUSTOM_1".into())
        );
        assert_eq!(status("s", None).unwrap(), None);
        for bad in ["", "paid", "PAID ", "PA-ID"] {
            assert!(status("s", Some(bad.into())).is_err(), "{bad:?}");
        }
    }
}
