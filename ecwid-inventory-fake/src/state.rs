//! What the fake remembers: the state requests move (the catalog, the records, the rate-limit
//! windows, scripted faults, batches, the storefront's orders, the webhooks sent), with the
//! stock changes themselves: adjustments (deltas) and sets.
//!
//! Everything here is synchronous and runs under the fake's one lock, so each request is
//! atomic.

use std::collections::HashMap;

use hyper::StatusCode;
use tokio::time::Instant;

use super::answer::Answer;
use super::auth::Window;
use super::batch::Batches;
use super::catalog::{Catalog, Missing, Target};
use super::faults::FaultQueue;
use super::order_book::OrderBook;
use super::records::{LedgerEntry, LowStockNotification, Origin, RecordedRequest};
use super::time::Clock;
use super::webhooks::Outbox;
use ecwid_inventory::generated::types::{StockUpdate, StockUpdateResult};
use ecwid_inventory::{CombinationId, Stock, StockChange, StockItem};

/// The `warning` of the product endpoint when the stock became negative (Ecwid's own text,
/// as its Java client's tests read it).
pub const PRODUCT_NEGATIVE_STOCK_WARNING: &str = "Product has negative stock.";

/// The `warning` of the variation endpoint when the stock became negative. Ecwid's text is
/// unconfirmed: this one is the fake's choice.
pub const VARIATION_NEGATIVE_STOCK_WARNING: &str = "Product variation has negative stock.";

/// Everything the fake remembers, behind one lock.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) catalog: Catalog,
    pub(crate) clock: Clock,
    pub(crate) next_request: u64,
    pub(crate) requests: Vec<RecordedRequest>,
    pub(crate) ledger: Vec<LedgerEntry>,
    pub(crate) notifications: Vec<LowStockNotification>,
    pub(crate) windows: HashMap<usize, Window>,
    pub(crate) faults: FaultQueue,
    pub(crate) batches: Batches,
    pub(crate) orders: OrderBook,
    pub(crate) outbox: Outbox,
}

impl State {
    pub(crate) fn new(catalog: Catalog, clock: Clock) -> Self {
        State {
            catalog,
            clock,
            next_request: 1,
            requests: Vec::new(),
            ledger: Vec::new(),
            notifications: Vec::new(),
            windows: HashMap::new(),
            faults: FaultQueue::default(),
            batches: Batches::default(),
            orders: OrderBook::default(),
            outbox: Outbox::default(),
        }
    }

    /// The fake's clock: tokio's, plus whatever a test advanced it by.
    pub(crate) fn now(&self) -> Instant {
        self.clock.now()
    }

    /// Records an applied change in the ledger, and notes its product as updated now.
    pub(crate) fn record(&mut self, entry: LedgerEntry) {
        let target = Target {
            store: entry.store,
            item: entry.item,
        };
        self.catalog.touch(target, self.clock.unix_seconds());
        self.ledger.push(entry);
    }

    /// Applies a delta: Ecwid's documented rules, plus the fake's choices for what Ecwid leaves
    /// unsaid (see the `rules` module).
    pub(crate) fn adjust(
        &mut self,
        target: Target,
        delta: i32,
        check_low: bool,
        origin: Origin,
    ) -> Answer {
        let counter = match self.catalog.counter_mut(target) {
            Ok(counter) => counter,
            Err(missing) => return not_found(target, missing),
        };
        let Stock::Quantity(before) = counter.stock else {
            // Unconfirmed in Ecwid's docs: the fake leaves an unlimited stock unlimited and
            // says so with updateCount 0.
            return Answer::ok(StockUpdateResult {
                update_count: 0,
                warning: None,
            });
        };
        let Some(after) = before.checked_add(i64::from(delta)) else {
            return Answer::wrong_parameter("The stock would overflow");
        };
        counter.stock = Stock::Quantity(after);
        let warning_limit = counter.warning_limit;
        self.record(LedgerEntry {
            store: target.store,
            item: target.item,
            change: StockChange::Delta(delta),
            stock_after: Stock::Quantity(after),
            origin,
        });
        self.api_changed(target);
        if let Some(limit) = warning_limit.filter(|&limit| check_low && after <= limit) {
            self.notifications.push(LowStockNotification {
                store: target.store,
                item: target.item,
                stock: after,
                warning_limit: limit,
            });
        }
        let warning = (after < 0).then(|| {
            match target.item {
                StockItem::Product { .. } => PRODUCT_NEGATIVE_STOCK_WARNING,
                StockItem::Variation { .. } => VARIATION_NEGATIVE_STOCK_WARNING,
            }
            .to_owned()
        });
        Answer::ok(StockUpdateResult {
            update_count: 1,
            warning,
        })
    }
}

impl State {
    /// Sets a stock (`PUT` product or variation, its body already read): Ecwid's documented
    /// rules, plus the fake's choices (see the `rules` module).
    pub(crate) fn set(&mut self, target: Target, update: StockUpdate, origin: Origin) -> Answer {
        let shared = match self.catalog.shares_product_stock(target) {
            Ok(shared) => shared,
            Err(missing) => return not_found(target, missing),
        };
        let counter = self
            .catalog
            .counter_mut(target)
            .expect("the target was just found");
        let new = match (update.quantity, update.unlimited) {
            // The fake's choice, as the spec states it: unlimited stock has no count, so a
            // quantity sent beside `unlimited: true` is ignored.
            (_, Some(true)) => Stock::Unlimited,
            (Some(quantity), _) => Stock::Quantity(i64::from(quantity)),
            // The fake's choice: turning unlimited stock off starts a count at 0; on a counted
            // stock it keeps the count.
            (None, Some(false)) => match counter.stock {
                Stock::Unlimited => Stock::Quantity(0),
                counted @ Stock::Quantity(_) => counted,
            },
            // The fake's choice: a body with no stock field changes nothing.
            (None, None) => {
                return Answer::ok(StockUpdateResult {
                    update_count: 0,
                    warning: None,
                })
            }
        };
        if shared && new != counter.stock {
            return Answer::error(
                StatusCode::BAD_REQUEST,
                "DIFFERENT_COMBINATION_STOCK",
                format!(
                    "Variation {} of product {} shares its product's stock: it cannot be set to \
                     a different one",
                    target.item.combination().map_or(0, CombinationId::get),
                    target.item.product(),
                ),
            );
        }
        // No low-stock notification and no warning: a set is never negative, and Ecwid
        // documents the notification for adjustments only.
        counter.stock = new;
        self.record(LedgerEntry {
            store: target.store,
            item: target.item,
            change: StockChange::Set(new),
            stock_after: new,
            origin,
        });
        self.api_changed(target);
        Answer::ok(StockUpdateResult {
            update_count: 1,
            warning: None,
        })
    }
}

impl State {
    /// Sends the `product.updated` webhook Ecwid sends for an API change of a product's stock.
    fn api_changed(&mut self, target: Target) {
        let now = self.clock.unix_seconds();
        self.outbox
            .products_updated(target.store, [target.item.product()], now);
    }
}

pub(crate) fn not_found(target: Target, missing: Missing) -> Answer {
    let product = target.item.product();
    let (code, message) = match missing {
        Missing::Store => (
            "STORE_NOT_FOUND",
            format!("Store {} not found", target.store),
        ),
        Missing::Product => ("PRODUCT_NOT_FOUND", format!("Product {product} not found")),
        Missing::Combination => (
            "COMBINATION_NOT_FOUND",
            format!(
                "Combination {} of product {product} not found",
                target.item.combination().map_or(0, CombinationId::get),
            ),
        ),
    };
    Answer::error(StatusCode::NOT_FOUND, code, message)
}
