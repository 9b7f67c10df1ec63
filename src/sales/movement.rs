//! [`Movement`]: what left Ecwid's stock or came back to it, with its stable id, and the one
//! place that id is made.

use std::time::SystemTime;

use crate::{
    bulk::BulkItem,
    journal::Event,
    orders::{FulfillmentStatus, PaymentStatus},
    Error, OrderId, StockChange, StockItem, StoreId,
};

/// Which way a [`Movement`] went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MovementKind {
    /// Items left Ecwid's stock: an order placed, a quantity raised, an order re-opened.
    Placed,
    /// Items came back to Ecwid's stock: an order cancelled, refunded (by the policy) or
    /// deleted, a quantity lowered.
    Restocked,
}

impl MovementKind {
    /// `placed` or `restocked`, as movement ids and the database spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            MovementKind::Placed => "placed",
            MovementKind::Restocked => "restocked",
        }
    }

    pub(super) fn parse(text: &str) -> Option<Self> {
        match text {
            "placed" => Some(MovementKind::Placed),
            "restocked" => Some(MovementKind::Restocked),
            _ => None,
        }
    }
}

/// How a movement's order was found: by a webhook event, or by a catch-up's search.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FoundBy {
    /// A recorded webhook event, processed by [`Sales::process`](super::Sales::process).
    Webhook,
    /// A catch-up's search of orders updated since its cursor
    /// ([`Sales::catch_up`](super::Sales::catch_up)).
    CatchUp,
}

impl FoundBy {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            FoundBy::Webhook => "webhook",
            FoundBy::CatchUp => "catch-up",
        }
    }

    pub(super) fn parse(text: &str) -> Option<Self> {
        match text {
            "webhook" => Some(FoundBy::Webhook),
            "catch-up" => Some(FoundBy::CatchUp),
            _ => None,
        }
    }
}

/// Stock that left Ecwid's stock, or came back to it, through one line of one of Ecwid's
/// orders: what another channel applies to follow Ecwid's sales.
///
/// Each is recorded once, in the database's log, before anyone can read it, under an
/// [`id`](Self::id) that is the same for the same change of the same line however often and
/// by whichever path (webhook, catch-up, another receiver) the order was read: apply it to
/// the other channel under that id, and it is applied once. Read them with
/// [`Sales::movements`](super::Sales::movements).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Movement {
    /// Its place in the store's log: increasing in the order movements were recorded, never
    /// reused. Pass the last one applied to [`Sales::movements`](super::Sales::movements) to
    /// read on from there.
    pub sequence: u64,
    /// Its stable id: `{store}/{order}/{line}/{kind}-{n}` (see the [module docs](super)).
    pub id: String,
    /// The store whose stock moved.
    pub store: StoreId,
    /// The order.
    pub order_id: OrderId,
    /// The order's line (Ecwid's `items[].id`).
    pub line_id: u64,
    /// Which way the stock went.
    pub kind: MovementKind,
    /// The how-manieth movement of this kind for this line: 1 for the first.
    pub number: u32,
    /// The product or variation whose stock moved.
    pub item: StockItem,
    /// The line's SKU, when Ecwid sent one: the key to the item in another channel.
    pub sku: Option<String>,
    /// How many items moved (always above zero; [`delta`](Self::delta) gives the sign).
    pub quantity: u32,
    /// The order's payment status when it was reconciled (none for a deleted order).
    pub payment_status: Option<PaymentStatus>,
    /// The order's fulfilment status when it was reconciled (none for a deleted order).
    pub fulfillment_status: Option<FulfillmentStatus>,
    /// Whether the movement restocks a deleted order.
    pub order_deleted: bool,
    /// How the order was found when this movement was made.
    pub found_by: FoundBy,
    /// When it was recorded (the journal's clock).
    pub recorded_at: SystemTime,
}

impl Movement {
    /// The change of Ecwid's stock: minus the quantity for [`Placed`](MovementKind::Placed),
    /// plus it for [`Restocked`](MovementKind::Restocked). The same change is what another
    /// channel mirroring Ecwid applies.
    pub fn delta(&self) -> i64 {
        match self.kind {
            MovementKind::Placed => -i64::from(self.quantity),
            MovementKind::Restocked => i64::from(self.quantity),
        }
    }

    fn delta_i32(&self) -> Result<i32, Error> {
        i32::try_from(self.delta()).map_err(|_| {
            Error::InvalidInput(format!(
                "movement {} moves {} items, more than one stock delta can",
                self.id, self.quantity
            ))
        })
    }

    /// This movement as an event of the [journal](crate::journal), for mirroring it into
    /// another Ecwid store: the change [`delta`](Self::delta) to `item` of `store` (the same
    /// product in the other store, usually found by [`sku`](Self::sku)), under the movement's
    /// id as the event id, so that recording it twice records it once and the journal's
    /// drain applies it once.
    ///
    /// Fails with [`Error::InvalidInput`] for a quantity beyond one delta (over 2^31 - 1).
    pub fn journal_event(&self, store: StoreId, item: StockItem) -> Result<Event, Error> {
        Ok(Event::new(
            store,
            self.id.clone(),
            item,
            StockChange::Delta(self.delta_i32()?),
            self.recorded_at,
        ))
    }

    /// This movement as an exactly-once item of a bulk run (for another Ecwid store, to the
    /// product `item` there), keyed by the movement's id; `first_attempt` is when it was
    /// first sent (see [`BulkItem::exactly_once_key`] for the key's window, and why the
    /// [journal](Self::journal_event) suits movements that may come again better).
    pub fn bulk_item(&self, item: StockItem, first_attempt: SystemTime) -> Result<BulkItem, Error> {
        Ok(BulkItem::new(item, self.delta_i32()?).exactly_once_key(self.id.clone(), first_attempt))
    }
}

/// The id of the `number`th movement of `kind` for `line` of `order` in `store`:
/// `{store}/{order}/{line}/{kind}-{number}`, with `%` and `/` in the order id written `%25`
/// and `%2F` so that ids of different lines never meet.
pub(super) fn movement_id(
    store: StoreId,
    order: &str,
    line: u64,
    kind: MovementKind,
    number: u32,
) -> String {
    let order = order.replace('%', "%25").replace('/', "%2F");
    format!("{store}/{order}/{line}/{}-{number}", kind.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProductId;

    #[test]
    fn ids_name_the_store_order_line_and_transition() {
        let store = StoreId::new(1003);
        assert_eq!(
            movement_id(store, "XJ12H", 1828115520, MovementKind::Placed, 1),
            "1003/XJ12H/1828115520/placed-1"
        );
        assert_eq!(
            movement_id(store, "XJ12H", 7, MovementKind::Restocked, 2),
            "1003/XJ12H/7/restocked-2"
        );
        // An order id holding the separator cannot pass for another order's line.
        assert_ne!(
            movement_id(store, "A/1", 2, MovementKind::Placed, 1),
            movement_id(store, "A", 1, MovementKind::Placed, 1).replace("/1/", "/1/2/")
        );
        assert_eq!(
            movement_id(store, "A/1%", 2, MovementKind::Placed, 1),
            "1003/A%2F1%25/2/placed-1"
        );
    }

    fn movement(kind: MovementKind, quantity: u32) -> Movement {
        Movement {
            sequence: 1,
            id: "1003/XJ12H/1/placed-1".into(),
            store: StoreId::new(1003),
            order_id: OrderId::new("XJ12H"),
            line_id: 1,
            kind,
            number: 1,
            item: StockItem::Product {
                product: ProductId::new(7),
            },
            sku: Some("TEE".into()),
            quantity,
            payment_status: Some(PaymentStatus::Paid),
            fulfillment_status: None,
            order_deleted: false,
            found_by: FoundBy::Webhook,
            recorded_at: SystemTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_movement_becomes_a_journal_event_and_a_keyed_bulk_item_under_its_id() {
        let other = StockItem::Product {
            product: ProductId::new(70),
        };
        let sold = movement(MovementKind::Placed, 2);
        assert_eq!(sold.delta(), -2);
        let event = sold.journal_event(StoreId::new(2002), other).unwrap();
        assert_eq!(event.id, sold.id);
        assert_eq!(event.store, StoreId::new(2002));
        assert_eq!(event.item, other);
        assert_eq!(event.change, StockChange::Delta(-2));
        let item = sold.bulk_item(other, SystemTime::now()).unwrap();
        assert_eq!(item.caller_key(), Some(sold.id.as_str()));
        assert_eq!(item.delta(), Some(-2));
        let back = movement(MovementKind::Restocked, 3);
        assert_eq!(back.delta(), 3);
        assert_eq!(
            back.journal_event(StoreId::new(2002), other)
                .unwrap()
                .change,
            StockChange::Delta(3)
        );
        let huge = movement(MovementKind::Restocked, u32::MAX);
        assert!(matches!(
            huge.journal_event(StoreId::new(2002), other),
            Err(Error::InvalidInput(_))
        ));
    }
}
