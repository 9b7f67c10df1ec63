//! What the fake remembers for tests to inspect: every request it received
//! ([`FakeStore::requests`](crate::FakeStore::requests): [`RecordedRequest`], secrets redacted,
//! with the status it was answered), every stock change it applied
//! ([`FakeStore::ledger`](crate::FakeStore::ledger): [`LedgerEntry`], deltas and sets, whether
//! a REST request or a batch applied it), and every low-stock notification due
//! ([`FakeStore::low_stock_notifications`](crate::FakeStore::low_stock_notifications):
//! [`LowStockNotification`]).
//!
//! The ledger is the proof a test wants: one entry per change Ecwid would have applied, so a
//! change that landed twice shows twice, and each entry's [`Origin`] names the request (or the
//! batch item, or the storefront order) behind it. The requests say what the client sent and
//! how often. The webhooks the fake sent, and each attempt to deliver them, are recorded too
//! (see [`webhooks`](crate::webhooks)).
//!
//! The records are `#[non_exhaustive]`: a test reads their fields, only the fake makes them,
//! so a field can be added without breaking anyone.

use ecwid_inventory::{OrderId, Stock, StockChange, StockItem, StoreId};

/// The number the fake gave a request when it arrived: 1 for the first, then 2, 3, …
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// One HTTP request as the fake received it, with every secret redacted.
///
/// The `Authorization` header's value is replaced by `Bearer [REDACTED]` (or `[REDACTED]`),
/// and any configured token value, or the credential the request presented (known to the fake
/// or not), found elsewhere (path, query, other headers, body) is replaced by `[REDACTED]`: a
/// recorded request can be printed without leaking a token.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// The request's number.
    pub id: RequestId,
    /// The HTTP method, such as `PUT`.
    pub method: String,
    /// The path, such as `/api/v3/1003/products/1/inventory`.
    pub path: String,
    /// The query string without the `?`, if any.
    pub query: Option<String>,
    /// The headers, in the order received, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body, decoded as UTF-8 (lossily).
    pub body: String,
    /// The status answered; `None` while the request is being handled, or when the connection
    /// was dropped without an answer (a scripted close).
    pub status: Option<u16>,
}

impl RecordedRequest {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What made the fake change a stock: one of the ways the spec lets a change be applied, or a
/// storefront order; more may come with new endpoints.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// A REST request (an adjustment or a set).
    Request(RequestId),
    /// A request carried by a batch.
    Batch {
        /// The batch's ticket.
        ticket: String,
        /// The request that created the batch.
        created_by: RequestId,
        /// The item's position in the batch, from 0.
        index: usize,
    },
    /// A storefront order took the stock: its sale (or the order leaving `CANCELLED`). See
    /// [`storefront`](crate::storefront).
    Storefront {
        /// The order.
        order: OrderId,
    },
    /// An order gave its stock back: cancelled, or deleted while it still held it.
    Restock {
        /// The order.
        order: OrderId,
    },
}

impl Origin {
    /// The HTTP request behind it: the REST request, or the one that created the batch (`None`
    /// for a storefront order's change, which may have come over HTTP or not).
    pub(crate) fn request(&self) -> Option<RequestId> {
        match self {
            Origin::Request(id) | Origin::Batch { created_by: id, .. } => Some(*id),
            Origin::Storefront { .. } | Origin::Restock { .. } => None,
        }
    }
}

/// One stock change the fake applied: the proof that an adjustment, a set or a storefront
/// order's change happened, and how many times.
///
/// Adjustments that change nothing (`updateCount: 0`, unlimited stock) are not recorded; a set
/// is recorded whenever it is applied, even to the value the stock already had.
///
/// ```
/// use ecwid_inventory_fake::{LedgerEntry, Stock, StockChange};
///
/// fn describe(entry: &LedgerEntry) -> String {
///     match entry.change {
///         StockChange::Delta(delta) => format!("{delta:+}, now {:?}", entry.stock_after),
///         StockChange::Set(Stock::Quantity(n)) => format!("set to {n}"),
///         StockChange::Set(Stock::Unlimited) => "set to unlimited".to_owned(),
///         _ => "another kind of change".to_owned(),
///     }
/// }
/// # let _ = describe;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LedgerEntry {
    /// The store.
    pub store: StoreId,
    /// The product or variation the request addressed. A variation with an empty SKU changes its
    /// product's stock, but is still named here as the request named it.
    pub item: StockItem,
    /// What the request asked for: a delta or an absolute stock.
    pub change: StockChange,
    /// The stock after the change.
    pub stock_after: Stock,
    /// What asked for it.
    pub origin: Origin,
}

impl LedgerEntry {
    /// The delta, when the change was an adjustment.
    pub fn delta(&self) -> Option<i32> {
        match self.change {
            StockChange::Delta(delta) => Some(delta),
            // A set, or a kind of change `StockChange` gains later (it is non-exhaustive).
            _ => None,
        }
    }
}

/// A low-stock email Ecwid would have sent the store owner.
///
/// Recorded when an adjustment asked for `checkLowStockNotification=true` and the new stock is
/// at or below the item's warning limit.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LowStockNotification {
    /// The store.
    pub store: StoreId,
    /// The product or variation the request addressed.
    pub item: StockItem,
    /// The stock after the adjustment.
    pub stock: i64,
    /// The warning limit it was compared with.
    pub warning_limit: i64,
}
