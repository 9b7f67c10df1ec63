//! What the two backends (`sqlite.rs`, `postgres.rs`) take and give: the one place rows become
//! the module's types and back. Both write the same tables with the same meaning (migration 2
//! of the journal's schema).

use std::time::{Duration, SystemTime};

use super::{
    movement::{FoundBy, Movement, MovementKind},
    reconcile::Observed,
    StockPolicy,
};
use crate::{
    journal::JournalError,
    orders::{FulfillmentStatus, PaymentStatus},
    CombinationId, OrderId, ProductId, StockItem, StoreId,
};

/// An event's states, as stored.
pub(super) const WAITING: &str = "waiting";
pub(super) const PROCESSED: &str = "processed";
pub(super) const SKIPPED: &str = "skipped";
pub(super) const FAILED: &str = "failed";

/// A verified event to record.
#[derive(Clone, Debug)]
pub(super) struct NewEvent {
    pub store_id: i64,
    pub event_id: String,
    pub event_type: String,
    pub order_id: Option<String>,
    pub created_ms: i64,
    /// `waiting` for an order event, `skipped` for one that never moves stock.
    pub state: &'static str,
}

/// An event claimed for processing.
#[derive(Clone, Debug)]
pub(super) struct Claimed {
    pub seq: i64,
    pub order_id: Option<String>,
    pub created_ms: i64,
    pub attempts: i64,
}

/// Orders to reconcile in one transaction, and the events that are done once they are.
#[derive(Clone, Debug)]
pub(super) struct Work {
    pub store: StoreId,
    /// One per order, sorted by order id (the order in which they are locked).
    pub observed: Vec<Observed>,
    pub done_events: Vec<i64>,
    pub found_by: FoundBy,
    pub policy: StockPolicy,
    pub now_ms: i64,
}

impl Work {
    pub(super) fn new(
        store: StoreId,
        mut observed: Vec<Observed>,
        done_events: Vec<i64>,
        found_by: FoundBy,
        policy: StockPolicy,
        now_ms: i64,
    ) -> Self {
        observed.sort_by(|a, b| a.order_id().cmp(b.order_id()));
        observed.dedup_by(|a, b| a.order_id() == b.order_id());
        Work {
            store,
            observed,
            done_events,
            found_by,
            policy,
            now_ms,
        }
    }
}

/// An event whose order could not be read, and when to try again.
#[derive(Clone, Debug)]
pub(super) struct FailedRead {
    pub seq: i64,
    pub error: String,
    pub next_attempt_ms: i64,
    /// Whether this failure is the last one allowed: the event ends `failed`.
    pub last: bool,
}

/// A movement as stored.
#[derive(Clone, Debug)]
pub(super) struct MovementRow {
    pub seq: i64,
    pub store_id: i64,
    pub movement_id: String,
    pub order_id: String,
    pub line_id: i64,
    pub kind: String,
    pub number: i64,
    pub product_id: i64,
    pub combination_id: Option<i64>,
    pub sku: Option<String>,
    pub quantity: i64,
    pub payment_status: Option<String>,
    pub fulfillment_status: Option<String>,
    pub order_deleted: bool,
    pub found_by: String,
    pub recorded_at_ms: i64,
}

/// The columns of [`MovementRow`], in its order.
pub(super) const MOVEMENT_COLUMNS: &str = "seq, store_id, movement_id, order_id, line_id, kind, \
    number, product_id, combination_id, sku, quantity, payment_status, fulfillment_status, \
    order_deleted, found_by, recorded_at_ms";

fn corrupt(what: String) -> JournalError {
    JournalError::Corrupt(format!("a sales movement cannot be read: {what}"))
}

impl MovementRow {
    pub(super) fn decode(self) -> Result<Movement, JournalError> {
        let positive = |value: i64, what: &str| {
            u64::try_from(value)
                .ok()
                .filter(|&v| v > 0)
                .ok_or_else(|| corrupt(format!("{what} {value} of {}", self.movement_id)))
        };
        let product = ProductId::new(positive(self.product_id, "product id")?);
        let item = match self.combination_id {
            Some(combination) => StockItem::Variation {
                product,
                combination: CombinationId::new(positive(combination, "combination id")?),
            },
            None => StockItem::Product { product },
        };
        let kind = MovementKind::parse(&self.kind)
            .ok_or_else(|| corrupt(format!("kind {:?}", self.kind)))?;
        let found_by = FoundBy::parse(&self.found_by)
            .ok_or_else(|| corrupt(format!("found by {:?}", self.found_by)))?;
        let small = |value: i64, what: &str| {
            u32::try_from(value)
                .ok()
                .filter(|&v| v > 0)
                .ok_or_else(|| corrupt(format!("{what} {value} of {}", self.movement_id)))
        };
        Ok(Movement {
            sequence: positive(self.seq, "sequence")?,
            store: StoreId::new(positive(self.store_id, "store id")?),
            order_id: OrderId::new(self.order_id),
            line_id: positive(self.line_id, "line id")?,
            kind,
            number: small(self.number, "number")?,
            item,
            sku: self.sku,
            quantity: small(self.quantity, "quantity")?,
            payment_status: self.payment_status.map(PaymentStatus::from),
            fulfillment_status: self.fulfillment_status.map(FulfillmentStatus::from),
            order_deleted: self.order_deleted,
            found_by,
            recorded_at: SystemTime::UNIX_EPOCH
                + Duration::from_millis(u64::try_from(self.recorded_at_ms).unwrap_or(0)),
            id: self.movement_id,
        })
    }
}

/// A 64-bit FNV-1a hash of `text`: the same in every process and release, for PostgreSQL's
/// advisory locks (two texts of one hash merely wait for each other).
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(super) fn lock_key(text: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash as i64
}
