//! Ecwid's own sales, read for what they do to stock: one order by its id
//! ([`Client::order`]), or the orders matching a search ([`Client::orders`]), page by page.
//!
//! A stock sync learns that Ecwid itself sold something from a webhook, which names the order
//! (`data.orderId`) and carries none of its lines: the receiver reads the order. When webhooks
//! were missed (the receiver down longer than Ecwid retries them), a search of the orders
//! updated since a time catches up. Both reads ask Ecwid for the fields that matter for stock
//! only (`responseFields`): the order's id, number, statuses and times, and each line's id,
//! product, variation, SKU, quantity, name and chosen options. Each is an [`Order`] with its
//! [`OrderLine`]s.
//!
//! ```no_run
//! # async fn run(client: ecwid_inventory::Client) -> Result<(), ecwid_inventory::Error> {
//! use std::time::{Duration, SystemTime};
//! use ecwid_inventory::{orders::PaymentStatus, OrderId};
//!
//! // A webhook named order XJ12H: what did it sell?
//! let order = client.order(OrderId::new("XJ12H")).await?;
//! for line in &order.lines {
//!     println!("{:?} x{} ({:?})", line.stock_item(), line.quantity, line.sku);
//! }
//!
//! // Catching up: every paid order updated in the last day, a page at a time.
//! use futures::StreamExt;
//! let since = SystemTime::now() - Duration::from_secs(24 * 60 * 60);
//! let mut orders = client
//!     .orders()
//!     .updated_from(since)
//!     .payment_status([PaymentStatus::Paid])
//!     .stream();
//! while let Some(order) = orders.next().await {
//!     let order = order?;
//!     println!("{} {:?}", order.id, order.payment_status);
//! }
//! # Ok(()) }
//! ```
//!
//! **What is read leniently**: Ecwid's other fields are ignored; a status this crate does not
//! know (a store's custom status, a value Ecwid adds) is kept as
//! [`PaymentStatus::Other`] or [`FulfillmentStatus::Other`]; a field left out is `None`. Only an
//! answer that cannot identify what it describes fails the read ([`Error::InvalidResponse`]):
//! an order without its id, a line without its id or quantity, an id or a quantity that is not
//! a whole number of the right sign.
//!
//! **The variation of a line**: Ecwid's current API reference documents `combinationId` on an
//! order's line, the variation whose options match those chosen; its older docs and its Java
//! client have no such field. [`OrderLine::combination`] is therefore optional: without it, the
//! variation is known by the line's [`sku`](OrderLine::sku) (Ecwid sends the variation's SKU
//! when the chosen options match one) and its [`selected_options`](OrderLine::selected_options).
//!
//! **Paging**: a search reads 100 orders a page (Ecwid's most) through the crate's one pager,
//! bounded by the first page's `total`: a server ignoring the offset, repeating a page, or
//! whose total keeps growing (more pages than the first total calls for, plus one spare) ends
//! the search with [`Error::InvalidResponse`] naming the bound, instead of reading forever. An
//! empty page ends the search with what was read. Ecwid documents no `sortBy` for orders and
//! no order of the pages: an order placed while the search is read can push one already read
//! onto the next page, and the search yields each order once. An order that leaves the
//! search's filters while it is read (updated past `updated_to`, paid while the search asks for
//! unpaid orders) can move one not yet read onto a page already read: a catch-up that must see
//! everything overlaps its next run with this one.
//!
//! **Errors**: reads apply nothing, so every error of a read says
//! [`may_have_been_applied`](Error::may_have_been_applied)` == false`, and a read is retried
//! (timeouts, lost connections, 5xx, 429) like any request safe to repeat. A bad order id or
//! filter is [`Error::InvalidInput`], with nothing sent.

use std::{
    fmt,
    pin::Pin,
    task::{Context, Poll},
    time::{Duration, SystemTime},
};

use crate::{
    client::CallOptions,
    generated::types,
    options::request_builder,
    paging::{Next, PageRead, PageReader, PageStream, Pages},
    retry::Repeat,
    transport::{Redactor, Scrub},
    Client, CombinationId, Error, OrderId, ProductId, RequestOptions, StockItem,
};

/// An order's statuses, shared with the webhooks that announce their changes.
pub use crate::order_status::{FulfillmentStatus, PaymentStatus};

/// Orders per search page: Ecwid's most.
const PAGE: u32 = 100;

/// The fields of an order's line that matter for stock, as `responseFields` asks for them.
const LINE_FIELDS: &str =
    "id,productId,combinationId,sku,quantity,name,trackQuantity,selectedOptions";

/// The fields of an order that matter for stock, its lines' included.
fn order_fields() -> String {
    format!(
        "id,orderNumber,paymentStatus,fulfillmentStatus,createTimestamp,updateTimestamp,\
         items({LINE_FIELDS})"
    )
}

/// A search page of orders.
fn page_fields() -> String {
    format!("total,count,offset,limit,items({})", order_fields())
}

/// An order, with what matters for stock. Made by [`Client::order`] and [`Client::orders`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Order {
    /// The order's id, such as `XJ12H`.
    pub id: OrderId,
    /// The order's number without the store's prefix and suffix, when Ecwid sent it as a
    /// number.
    pub order_number: Option<u64>,
    /// The payment status, when Ecwid sent one.
    pub payment_status: Option<PaymentStatus>,
    /// The fulfillment status, when Ecwid sent one.
    pub fulfillment_status: Option<FulfillmentStatus>,
    /// When the order was placed (Ecwid's `createTimestamp`, whole seconds).
    pub created: Option<SystemTime>,
    /// When the order last changed (Ecwid's `updateTimestamp`, whole seconds).
    pub updated: Option<SystemTime>,
    /// The order's lines, in Ecwid's order.
    pub lines: Vec<OrderLine>,
}

/// One line of an [`Order`]: a product or one of its variations, and how many were ordered.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OrderLine {
    /// The line's id, unique within its order (Ecwid's `items[].id`).
    pub id: u64,
    /// The product ordered; `None` when the line names none (an order created through the API
    /// may carry lines that are not products of the catalog).
    pub product: Option<ProductId>,
    /// The variation whose options match those chosen, when Ecwid sent it (see the
    /// [module docs](self)).
    pub combination: Option<CombinationId>,
    /// The SKU ordered: the variation's when the chosen options match one.
    pub sku: Option<String>,
    /// How many were ordered.
    pub quantity: u32,
    /// The product's name.
    pub name: Option<String>,
    /// Whether the product's stock is tracked, when Ecwid said.
    pub track_quantity: Option<bool>,
    /// The options the customer chose, in Ecwid's order.
    pub selected_options: Vec<SelectedOption>,
}

impl OrderLine {
    /// The stock the line draws on, as far as the line says: the variation when it names one,
    /// else the product; `None` when it names no product.
    pub fn stock_item(&self) -> Option<StockItem> {
        let product = self.product?;
        Some(match self.combination {
            Some(combination) => StockItem::Variation {
                product,
                combination,
            },
            None => StockItem::Product { product },
        })
    }
}

/// An option chosen for an [`OrderLine`], such as `Size: L`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SelectedOption {
    /// The option's name, such as `Size`.
    pub name: Option<String>,
    /// Ecwid's option type: `CHOICE`, `CHOICES`, `TEXT`, `DATE`, `FILES`, or one added since.
    pub kind: Option<String>,
    /// The value chosen or entered; for `CHOICES`, every value, separated by commas.
    pub value: Option<String>,
    /// The values chosen, one by one.
    pub values: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Answers -> orders

fn unreadable(detail: String) -> Error {
    Error::unreadable_read(detail)
}

/// An order as Ecwid sent it, read leniently (see the module docs).
fn order_of(order: &types::Order) -> Result<Order, Error> {
    let id = match order.id.as_deref() {
        Some(id) if !id.is_empty() => OrderId::new(id),
        _ => return Err(unreadable("an order without its id".into())),
    };
    let lines = order
        .items
        .iter()
        .map(|line| {
            line_of(line).map_err(|why| match why {
                Error::InvalidResponse { detail, .. } => {
                    unreadable(format!("order {id}: {detail}"))
                }
                other => other,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Order {
        order_number: order.order_number.as_ref().and_then(number),
        payment_status: order.payment_status.as_deref().map(PaymentStatus::from),
        fulfillment_status: order
            .fulfillment_status
            .as_deref()
            .map(FulfillmentStatus::from),
        created: order.create_timestamp.and_then(time),
        updated: order.update_timestamp.and_then(time),
        lines,
        id,
    })
}

fn line_of(line: &types::OrderItem) -> Result<OrderLine, Error> {
    let id = match line.id {
        Some(id) if id > 0 => id.unsigned_abs(),
        Some(id) => return Err(unreadable(format!("a line whose id is {id}"))),
        None => return Err(unreadable("a line without its id".into())),
    };
    let quantity = line
        .quantity
        .ok_or_else(|| unreadable(format!("line {id} without its quantity")))?;
    let quantity = u32::try_from(quantity)
        .map_err(|_| unreadable(format!("line {id} has a quantity of {quantity}")))?;
    Ok(OrderLine {
        id,
        // Zero, as Ecwid sends for "none" in other id fields, names nothing.
        product: positive(line.product_id).map(ProductId::new),
        combination: positive(line.combination_id).map(CombinationId::new),
        sku: line.sku.clone().filter(|sku| !sku.is_empty()),
        quantity,
        name: line.name.clone(),
        track_quantity: line.track_quantity,
        selected_options: line
            .selected_options
            .iter()
            .map(|option| SelectedOption {
                name: option.name.clone(),
                kind: option.type_.clone(),
                value: option.value.clone(),
                values: option.values_array.clone(),
            })
            .collect(),
    })
}

fn positive(id: Option<i64>) -> Option<u64> {
    id.and_then(|id| u64::try_from(id).ok())
        .filter(|&id| id > 0)
}

/// `orderNumber`: a number, or a string of digits; anything else is no number.
fn number(value: &serde_json::Value) -> Option<u64> {
    match value {
        serde_json::Value::Number(number) => number.as_u64(),
        serde_json::Value::String(text) => text.parse().ok(),
        _ => None,
    }
}

fn time(seconds: i64) -> Option<SystemTime> {
    let seconds = u64::try_from(seconds).ok()?;
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

/// UNIX seconds, as Ecwid reads a time in a query (a time before 1970 is 1970).
fn seconds(time: SystemTime) -> String {
    time.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
        .to_string()
}

// The token in an answer never reaches the caller: every string of an order answer is scrubbed.
impl Scrub for types::OrderPage {
    fn scrub(&mut self, redactor: &Redactor) {
        self.items.scrub(redactor);
    }
}

impl Scrub for types::Order {
    fn scrub(&mut self, redactor: &Redactor) {
        self.id.scrub(redactor);
        self.order_number.scrub(redactor);
        self.payment_status.scrub(redactor);
        self.fulfillment_status.scrub(redactor);
        self.create_date.scrub(redactor);
        self.update_date.scrub(redactor);
        self.items.scrub(redactor);
    }
}

impl Scrub for types::OrderItem {
    fn scrub(&mut self, redactor: &Redactor) {
        self.sku.scrub(redactor);
        self.name.scrub(redactor);
        self.selected_options.scrub(redactor);
    }
}

impl Scrub for types::OrderItemOption {
    fn scrub(&mut self, redactor: &Redactor) {
        self.name.scrub(redactor);
        self.type_.scrub(redactor);
        self.value.scrub(redactor);
        self.values_array.scrub(redactor);
    }
}

// ---------------------------------------------------------------------------------------------
// Reading one order

impl Client {
    /// Reads the order `id` (such as a webhook's `data.orderId`), with its lines: one request,
    /// asking for the fields that matter for stock only. See the [module docs](crate::orders)
    /// for what is read and how leniently.
    ///
    /// An empty id, or one with whitespace in it, fails with [`Error::InvalidInput`] before
    /// anything is sent. An order Ecwid does not have is [`Error::Api`] with status 404 and
    /// Ecwid's error code. Every error says
    /// [`may_have_been_applied`](Error::may_have_been_applied)` == false`.
    pub fn order(&self, id: impl Into<OrderId>) -> GetOrder<'_> {
        GetOrder {
            client: self,
            id: id.into(),
            options: RequestOptions::default(),
        }
    }

    /// A search of the store's orders, filtered by the setters of [`SearchOrders`]: the
    /// catch-up when webhooks were missed. Await it for every matching order, or read them
    /// page by page with [`SearchOrders::stream`]. See the [module docs](crate::orders) for
    /// the paging and its bound.
    pub fn orders(&self) -> SearchOrders<'_> {
        SearchOrders {
            client: self,
            filters: Filters::default(),
            options: RequestOptions::default(),
        }
    }
}

/// Reads one order; made by [`Client::order`]. Send it with `.await` or [`send`](Self::send).
#[derive(Debug)]
#[must_use = "nothing is sent until it is awaited"]
pub struct GetOrder<'a> {
    client: &'a Client,
    id: OrderId,
    options: RequestOptions,
}

request_builder!(GetOrder, Order);

impl GetOrder<'_> {
    /// Reads the order (see [`Client::order`]).
    pub async fn send(self) -> Result<Order, Error> {
        let Self {
            client,
            id,
            options,
        } = self;
        options.check()?;
        let order_id = id.checked()?;
        let store = client.store();
        let fields = order_fields();
        let fields = fields.as_str();
        let order = client
            .send(
                options.apply(CallOptions::new("get_order", Repeat::Always)),
                move |raw| async move {
                    raw.get_order()
                        .store_id(store)
                        .order_id(order_id)
                        .response_fields(fields)
                        .send()
                        .await
                },
            )
            .await?;
        order_of(&order)
    }
}

// ---------------------------------------------------------------------------------------------
// Searching orders

/// A search's filters, as the query carries them.
#[derive(Clone, Debug, Default)]
struct Filters {
    ids: Option<Vec<OrderId>>,
    updated_from: Option<SystemTime>,
    updated_to: Option<SystemTime>,
    created_from: Option<SystemTime>,
    created_to: Option<SystemTime>,
    payment_status: Option<Vec<PaymentStatus>>,
    fulfillment_status: Option<Vec<FulfillmentStatus>>,
}

/// The filters checked and spelled as the query carries them.
#[derive(Debug, Default)]
struct Query {
    ids: Option<String>,
    updated_from: Option<String>,
    updated_to: Option<String>,
    created_from: Option<String>,
    created_to: Option<String>,
    payment_status: Option<String>,
    fulfillment_status: Option<String>,
}

impl Filters {
    /// The query, or why a filter is refused (nothing is sent then).
    fn query(&self) -> Result<Query, Error> {
        let ids = match &self.ids {
            None => None,
            Some(ids) if ids.is_empty() => {
                return Err(Error::InvalidInput(
                    "an empty list of order ids matches no order; leave `ids` out to match \
                     every order"
                        .into(),
                ))
            }
            Some(ids) => {
                let mut list = Vec::with_capacity(ids.len());
                for id in ids {
                    let id = id.checked()?;
                    if id.contains(',') {
                        return Err(Error::InvalidInput(format!(
                            "the order id {id:?} holds a comma, which separates the ids of a \
                             search: read it with `Client::order`"
                        )));
                    }
                    list.push(id);
                }
                Some(list.join(","))
            }
        };
        Ok(Query {
            ids,
            updated_from: self.updated_from.map(seconds),
            updated_to: self.updated_to.map(seconds),
            created_from: self.created_from.map(seconds),
            created_to: self.created_to.map(seconds),
            payment_status: statuses("payment", self.payment_status.as_deref())?,
            fulfillment_status: statuses("fulfillment", self.fulfillment_status.as_deref())?,
        })
    }
}

/// A status filter as a comma list; an empty list, or a status Ecwid could not spell, is
/// refused.
fn statuses<S: AsRef<str>>(what: &str, statuses: Option<&[S]>) -> Result<Option<String>, Error> {
    let Some(statuses) = statuses else {
        return Ok(None);
    };
    if statuses.is_empty() {
        return Err(Error::InvalidInput(format!(
            "an empty list of {what} statuses matches no order; leave the filter out to match \
             every status"
        )));
    }
    let mut list = Vec::with_capacity(statuses.len());
    for status in statuses {
        let status = status.as_ref();
        let spelled = !status.is_empty()
            && status
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if !spelled {
            return Err(Error::InvalidInput(format!(
                "{status:?} is not a {what} status: Ecwid's are capital letters, digits and `_`"
            )));
        }
        list.push(status);
    }
    Ok(Some(list.join(",")))
}

impl AsRef<str> for PaymentStatus {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for FulfillmentStatus {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

/// A search of orders; made by [`Client::orders`]. Every filter set must match. Await it (or
/// [`send`](Self::send)) for every matching order, or read them page by page with
/// [`stream`](Self::stream).
#[derive(Debug)]
#[must_use = "nothing is sent until it is awaited or its stream is polled"]
pub struct SearchOrders<'a> {
    client: &'a Client,
    filters: Filters,
    options: RequestOptions,
}

request_builder!(SearchOrders, Vec<Order>);

impl<'a> SearchOrders<'a> {
    /// Only these orders (Ecwid's `ids`): several orders in one request, up to 100 a page.
    /// An empty list, or an id that [`Client::order`] would refuse or that holds a comma, fails
    /// with [`Error::InvalidInput`] and nothing is sent.
    pub fn ids<I: Into<OrderId>>(mut self, ids: impl IntoIterator<Item = I>) -> Self {
        self.filters.ids = Some(ids.into_iter().map(Into::into).collect());
        self
    }

    /// Orders last updated at or after `time` (Ecwid's `updatedFrom`, whole seconds): the
    /// catch-up's lower bound.
    pub fn updated_from(mut self, time: SystemTime) -> Self {
        self.filters.updated_from = Some(time);
        self
    }

    /// Orders last updated at or before `time` (Ecwid's `updatedTo`, whole seconds).
    pub fn updated_to(mut self, time: SystemTime) -> Self {
        self.filters.updated_to = Some(time);
        self
    }

    /// Orders placed at or after `time` (Ecwid's `createdFrom`, whole seconds).
    pub fn created_from(mut self, time: SystemTime) -> Self {
        self.filters.created_from = Some(time);
        self
    }

    /// Orders placed at or before `time` (Ecwid's `createdTo`, whole seconds).
    pub fn created_to(mut self, time: SystemTime) -> Self {
        self.filters.created_to = Some(time);
        self
    }

    /// Orders with any of these payment statuses. Without it, Ecwid leaves out unfinished
    /// orders ([`PaymentStatus::Incomplete`]). An empty list, or an
    /// [`Other`](PaymentStatus::Other) status that is not capital letters, digits and `_`,
    /// fails with [`Error::InvalidInput`] and nothing is sent.
    pub fn payment_status(mut self, statuses: impl IntoIterator<Item = PaymentStatus>) -> Self {
        self.filters.payment_status = Some(statuses.into_iter().collect());
        self
    }

    /// Orders with any of these fulfillment statuses; checked as
    /// [`payment_status`](Self::payment_status) is.
    pub fn fulfillment_status(
        mut self,
        statuses: impl IntoIterator<Item = FulfillmentStatus>,
    ) -> Self {
        self.filters.fulfillment_status = Some(statuses.into_iter().collect());
        self
    }

    /// Every matching order, each once, read page by page (see the [module docs](crate::orders)
    /// for the bound). For many orders, [`stream`](Self::stream) holds one page at a time
    /// instead of them all.
    pub async fn send(self) -> Result<Vec<Order>, Error> {
        let mut reader = self.reader();
        let mut orders = Vec::new();
        while let Some(page) = reader.next_page().await? {
            orders.extend(page);
        }
        Ok(orders)
    }

    /// The matching orders as a stream, each once, read a page (100 orders) at a time as the
    /// stream is polled. The filters and settings are checked when it is first polled: a bad
    /// one is its first and only item, with nothing sent.
    pub fn stream(self) -> OrderStream<'a> {
        OrderStream(PageStream::new(self.reader()))
    }

    fn reader(self) -> Reader<'a> {
        Reader {
            client: self.client,
            filters: self.filters,
            options: self.options,
            query: None,
            pages: Pages::new(),
            total: None,
            done: false,
        }
    }
}

/// A search read page by page: what [`SearchOrders::send`] and [`OrderStream`] pull from.
struct Reader<'a> {
    client: &'a Client,
    filters: Filters,
    options: RequestOptions,
    /// `None` until the filters are checked, before the first page.
    query: Option<Query>,
    pages: Pages<String>,
    /// The search's total as the last page said.
    total: Option<u32>,
    done: bool,
}

impl Reader<'_> {
    /// The orders of the next page not read before, or `None` once every page was read.
    async fn next_page(&mut self) -> Result<Option<Vec<Order>>, Error> {
        if self.done {
            return Ok(None);
        }
        let query = match self.query.take() {
            Some(query) => query,
            // The first page: the settings and filters are checked before anything is sent.
            None => {
                self.options.check()?;
                self.filters.query()?
            }
        };
        let query = &*self.query.insert(query);
        let store = self.client.store();
        let offset = self.pages.offset();
        let fields = page_fields();
        let fields = fields.as_str();
        let options = self
            .options
            .apply(CallOptions::new("search_orders", Repeat::Always));
        let page = self
            .client
            .send(options, move |raw| async move {
                let mut search = raw
                    .search_orders()
                    .store_id(store)
                    .offset(offset)
                    .limit(PAGE)
                    .response_fields(fields);
                if let Some(ids) = &query.ids {
                    search = search.ids(ids.as_str());
                }
                if let Some(at) = &query.updated_from {
                    search = search.updated_from(at.as_str());
                }
                if let Some(at) = &query.updated_to {
                    search = search.updated_to(at.as_str());
                }
                if let Some(at) = &query.created_from {
                    search = search.created_from(at.as_str());
                }
                if let Some(at) = &query.created_to {
                    search = search.created_to(at.as_str());
                }
                if let Some(statuses) = &query.payment_status {
                    search = search.payment_status(statuses.as_str());
                }
                if let Some(statuses) = &query.fulfillment_status {
                    search = search.fulfillment_status(statuses.as_str());
                }
                search.send().await
            })
            .await;
        let page = match page {
            Ok(page) => page,
            Err(error) => {
                self.done = true;
                return Err(error);
            }
        };
        let taken = self.pages.take_fresh(&page).and_then(|(next, fresh)| {
            let orders = page
                .items
                .iter()
                .zip(fresh)
                .filter(|(_, fresh)| *fresh)
                .map(|(order, _)| order_of(order))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((next, orders))
        });
        let (next, orders) = match taken {
            Ok(taken) => taken,
            Err(error) => {
                self.done = true;
                return Err(error);
            }
        };
        self.total = page.total.and_then(|total| u32::try_from(total).ok());
        self.done = next == Next::Done;
        Ok(Some(orders))
    }
}

impl<'a> PageReader<'a> for Reader<'a> {
    type Item = Order;
    /// The search's total as the last page read said.
    type Note = Option<u32>;

    fn read_page(mut self) -> PageRead<'a, Self> {
        Box::pin(async move {
            let orders = self.next_page().await;
            (self, orders)
        })
    }

    fn after_page(&self, total: &mut Option<u32>) {
        *total = self.total.or(*total);
    }
}

/// The matching orders as a [`futures::Stream`](futures_core::Stream) of
/// `Result<Order, Error>`; made by [`SearchOrders::stream`]. It holds one page at a time, and
/// ends after an error.
///
/// Dropping it stops the search; nothing is left running (reads change nothing).
#[must_use = "a stream does nothing unless polled"]
pub struct OrderStream<'a>(PageStream<'a, Reader<'a>>);

impl fmt::Debug for OrderStream<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrderStream")
            .field("buffered", &self.0.buffered_items())
            .field("total", &self.total())
            .field("ended", &self.0.ended())
            .finish_non_exhaustive()
    }
}

impl OrderStream<'_> {
    /// How many orders the search counts, as its last page read said (`None` before the first
    /// page). Ecwid's total may count orders its pages never show.
    pub fn total(&self) -> Option<u32> {
        *self.0.note()
    }
}

impl futures_core::Stream for OrderStream<'_> {
    type Item = Result<Order, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        futures_core::Stream::poll_next(Pin::new(&mut self.0), cx)
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;
    use serde_json::{json, Value};

    use super::*;

    const SECRET: &str = "secret_a1b2c3d4";

    /// A value of `schema` (within `root`, for `$ref`) with `SECRET` in every string, every
    /// optional field present and one item in every list; any JSON at all is the secret.
    fn filled(schema: &Value, root: &Value) -> Value {
        let Some(object) = schema.as_object() else {
            return json!(SECRET);
        };
        if let Some(Value::String(reference)) = object.get("$ref") {
            let name = reference.trim_start_matches("#/$defs/");
            return filled(&root["$defs"][name], root);
        }
        let kind = match object.get("type") {
            Some(Value::String(kind)) => kind.as_str(),
            Some(Value::Array(kinds)) => kinds
                .iter()
                .filter_map(Value::as_str)
                .find(|kind| *kind != "null")
                .unwrap_or("null"),
            _ => return json!(SECRET),
        };
        match kind {
            "string" => json!(SECRET),
            "integer" | "number" => json!(1),
            "boolean" => json!(true),
            "array" => json!([filled(&object["items"], root)]),
            "object" => Value::Object(
                object
                    .get("properties")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .map(|(name, property)| (name.clone(), filled(property, root)))
                    .collect(),
            ),
            other => panic!("no value for a schema of type {other}"),
        }
    }

    fn scrubs_every_string<T>()
    where
        T: Scrub + serde::de::DeserializeOwned + serde::Serialize + schemars::JsonSchema,
    {
        let name = std::any::type_name::<T>();
        let schema = schemars::schema_for!(T);
        let value = filled(schema.as_value(), schema.as_value());
        let mut answer: T = serde_json::from_value(value.clone())
            .unwrap_or_else(|e| panic!("{name}: {value} does not read: {e}"));
        let before = serde_json::to_string(&answer).unwrap();
        assert!(before.contains(SECRET), "{name}: nothing to scrub");
        answer.scrub(&Redactor::new(&SecretString::from(SECRET.to_owned())));
        let after = serde_json::to_string(&answer).unwrap();
        assert!(!after.contains(SECRET), "{name} keeps the secret: {after}");
        assert_eq!(
            after.matches("[redacted]").count(),
            before.matches(SECRET).count(),
            "{name}: {after}"
        );
    }

    /// Every string an order answer holds is scrubbed, read from the types' own schemas: a
    /// string field added to the spec and left out of its `Scrub` fails here.
    #[test]
    fn every_string_of_an_order_answer_is_scrubbed() {
        scrubs_every_string::<types::OrderPage>();
        scrubs_every_string::<types::Order>();
        scrubs_every_string::<types::OrderItem>();
        scrubs_every_string::<types::OrderItemOption>();
    }

    #[test]
    fn the_fields_asked_for_are_a_valid_response_fields_list() {
        for fields in [order_fields(), page_fields()] {
            assert!(
                types::ResponseFields::try_from(fields.as_str()).is_ok(),
                "{fields}"
            );
        }
    }

    #[test]
    fn statuses_round_trip_as_ecwid_spells_them() {
        for known in ["AWAITING_PAYMENT", "PAID", "CANCELLED", "REFUNDED"] {
            let status = PaymentStatus::from(known);
            assert!(!matches!(status, PaymentStatus::Other(_)), "{known}");
            assert_eq!(String::from(status), known);
        }
        for known in ["PROCESSING", "SHIPPED", "OUT_FOR_DELIVERY"] {
            let status = FulfillmentStatus::from(known.to_owned());
            assert!(!matches!(status, FulfillmentStatus::Other(_)), "{known}");
            assert_eq!(status.as_str(), known);
        }
        let custom: PaymentStatus =
            serde_json::from_value(json!("CUSTOM_PAYMENT_STATUS_3")).unwrap();
        assert_eq!(
            custom,
            PaymentStatus::Other("CUSTOM_PAYMENT_STATUS_3".into())
        );
        assert_eq!(
            serde_json::to_value(&custom).unwrap(),
            json!("CUSTOM_PAYMENT_STATUS_3")
        );
    }
}
