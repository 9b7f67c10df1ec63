//! The orders the fake holds: each order's id, number, statuses, times and lines, and whether
//! its items are still taken from stock. Selling, cancelling and deleting are the storefront's
//! job (`storefront.rs`); answering the order endpoints is `orders.rs`'s.
//!
//! Order ids look like Ecwid's (`XJ12H`: five capitals and digits) and are made from the
//! order's sequence number by a fixed one-to-one scramble, so that an id never repeats, the
//! same run makes the same ids, and a request's path is read back to an order without a table.

use std::collections::BTreeMap;

use ecwid_inventory::{
    orders::{FulfillmentStatus, PaymentStatus},
    OrderId, StockItem, StoreId,
};

/// The characters of an order id: digits and capitals without `0`, `1`, `I` and `O`, which
/// read alike.
const ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/// The characters in an order id.
const ID_LEN: u32 = 5;

/// How many orders the fake can make: every five-character id once.
pub(crate) const MAX_ORDERS: u64 = 1 << (5 * ID_LEN);

/// Scrambles the sequence so that consecutive orders do not get consecutive ids (odd, so the
/// scramble is one to one modulo [`MAX_ORDERS`]).
const MULTIPLIER: u64 = 0x01B8_73A5;
const OFFSET: u64 = 0x00F0_0D5E;

/// `MULTIPLIER`'s inverse modulo [`MAX_ORDERS`], by Newton's iteration (each step doubles the
/// bits that are right; an odd number is its own inverse to 3 bits).
const INVERSE: u64 = {
    let mut inverse = MULTIPLIER;
    let mut step = 0;
    while step < 5 {
        inverse = inverse.wrapping_mul(2u64.wrapping_sub(MULTIPLIER.wrapping_mul(inverse)));
        step += 1;
    }
    inverse % MAX_ORDERS
};

/// The first order's internal number (a webhook's `entityId`, the order's `orderNumber`):
/// the size of Ecwid's own.
pub(crate) const FIRST_ORDER_NUMBER: u64 = 100_000_001;

/// The id of the order made `sequence`-th (from 0), or `None` past [`MAX_ORDERS`].
pub(crate) fn order_id(sequence: u64) -> Option<OrderId> {
    if sequence >= MAX_ORDERS {
        return None;
    }
    let mut scrambled = (sequence.wrapping_mul(MULTIPLIER).wrapping_add(OFFSET)) % MAX_ORDERS;
    let mut id = [0u8; ID_LEN as usize];
    for byte in id.iter_mut().rev() {
        *byte = ALPHABET[(scrambled % 32) as usize];
        scrambled /= 32;
    }
    Some(OrderId::new(
        String::from_utf8(id.to_vec()).expect("the alphabet is ASCII"),
    ))
}

/// The sequence of the order whose id is `id`, if `id` is one the fake makes.
pub(crate) fn sequence_of(id: &str) -> Option<u64> {
    if id.len() != ID_LEN as usize {
        return None;
    }
    let mut scrambled = 0u64;
    for byte in id.bytes() {
        let digit = ALPHABET.iter().position(|&a| a == byte)?;
        scrambled = scrambled * 32 + digit as u64;
    }
    Some((scrambled + MAX_ORDERS - OFFSET % MAX_ORDERS).wrapping_mul(INVERSE) % MAX_ORDERS)
}

/// An order named by a request's path: the sequence of the order its id names, `None` when
/// the id is none the fake makes (so no order has it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OrderRef(pub(crate) Option<u64>);

impl OrderRef {
    pub(crate) fn parse(segment: &str) -> Self {
        OrderRef(sequence_of(segment))
    }
}

/// An option chosen for a line, as the order shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ChosenOption {
    pub(crate) name: String,
    pub(crate) value: String,
}

/// One line of an order.
#[derive(Clone, Debug)]
pub(crate) struct Line {
    /// Unique across the fake, so unique within its order.
    pub(crate) id: u64,
    /// The product, or the variation, ordered.
    pub(crate) item: StockItem,
    /// The variation's own SKU, else its product's.
    pub(crate) sku: String,
    pub(crate) quantity: u32,
    /// Whether its stock is counted (not unlimited) when it was sold: only then does the order
    /// take it from stock, and give it back.
    pub(crate) tracked: bool,
    pub(crate) options: Vec<ChosenOption>,
}

/// One order.
#[derive(Clone, Debug)]
pub(crate) struct OrderRecord {
    pub(crate) store: StoreId,
    pub(crate) id: OrderId,
    pub(crate) number: u64,
    pub(crate) payment: PaymentStatus,
    pub(crate) fulfillment: FulfillmentStatus,
    /// UNIX seconds of the fake's clock.
    pub(crate) created: i64,
    pub(crate) updated: i64,
    pub(crate) lines: Vec<Line>,
    /// Whether the order's tracked lines are taken from stock now: from the sale until it is
    /// cancelled (and again if it leaves `CANCELLED`).
    pub(crate) holds_stock: bool,
}

/// Every order the fake holds, by sequence (so in the order they were placed).
#[derive(Debug, Default)]
pub(crate) struct OrderBook {
    orders: BTreeMap<u64, OrderRecord>,
    next_sequence: u64,
    next_line: u64,
}

impl OrderBook {
    /// The sequence, id and number the next order gets, or `None` when the fake has made every
    /// id it can.
    pub(crate) fn next_order(&self) -> Option<(u64, OrderId, u64)> {
        let sequence = self.next_sequence;
        let id = order_id(sequence)?;
        Some((sequence, id, FIRST_ORDER_NUMBER + sequence))
    }

    /// A line id never given before.
    pub(crate) fn next_line_id(&mut self) -> u64 {
        self.next_line += 1;
        self.next_line
    }

    /// Keeps an order made with [`next_order`](Self::next_order)'s sequence.
    pub(crate) fn insert(&mut self, sequence: u64, order: OrderRecord) {
        self.next_sequence = self.next_sequence.max(sequence + 1);
        self.orders.insert(sequence, order);
    }

    /// The order of `store` that `order` names.
    pub(crate) fn get(&self, store: StoreId, order: OrderRef) -> Option<&OrderRecord> {
        self.orders
            .get(&order.0?)
            .filter(|record| record.store == store)
    }

    pub(crate) fn get_mut(&mut self, store: StoreId, order: OrderRef) -> Option<&mut OrderRecord> {
        self.orders
            .get_mut(&order.0?)
            .filter(|record| record.store == store)
    }

    pub(crate) fn remove(&mut self, store: StoreId, order: OrderRef) -> Option<OrderRecord> {
        self.get(store, order)?;
        self.orders.remove(&order.0?)
    }

    /// The orders of `store`, in the order they were placed.
    pub(crate) fn of_store(&self, store: StoreId) -> impl Iterator<Item = &OrderRecord> {
        self.orders
            .values()
            .filter(move |record| record.store == store)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn ids_look_like_ecwids_and_read_back() {
        let mut seen = HashSet::new();
        for sequence in (0..5_000).chain([MAX_ORDERS - 1]) {
            let id = order_id(sequence).unwrap();
            let text = id.as_str();
            assert_eq!(text.len(), 5, "{text}");
            assert!(
                text.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()),
                "{text}"
            );
            assert!(seen.insert(text.to_owned()), "{text} made twice");
            assert_eq!(sequence_of(text), Some(sequence), "{text}");
        }
        assert_eq!(order_id(MAX_ORDERS), None);
        // Consecutive orders do not read as consecutive.
        let (first, second) = (order_id(0).unwrap(), order_id(1).unwrap());
        assert_ne!(first.as_str()[..4], second.as_str()[..4]);
    }

    #[test]
    fn ids_the_fake_never_makes_name_no_order() {
        for id in [
            "",
            "XJ12",
            "XJ12HH",
            "xj12h",
            "XJ1OH",
            "XJ 2H",
            "%20",
            "XJ12\u{e9}",
        ] {
            assert_eq!(sequence_of(id), None, "{id:?}");
        }
    }
}
