//! [`WebhookEvent`]: a verified delivery, read from the body through the spec's generated
//! `WebhookBody`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize as _;
use serde_json::Value;

use super::Rejection;
use crate::{
    generated::types::{WebhookBody, WebhookBodyEntityId, WebhookData},
    orders::{FulfillmentStatus, PaymentStatus},
    OrderId, ProductId, StoreId,
};

/// A verified webhook event: its signature matched, it is recent, and it is for a store the
/// verifier serves.
///
/// The signature covers only `eventId` and `eventCreated`; every other field came in the body
/// unsigned, and whoever captured a genuine delivery can resend its signature with another
/// body while the event is recent. Deduplicate by `(store_id, event_id)`, and treat the other
/// fields as hints: read the order or product over REST before acting.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct WebhookEvent {
    /// Ecwid's id of the event (`eventId`), the same on every redelivery: deduplicate by it.
    pub event_id: String,
    /// When the event happened (`eventCreated`, whole seconds).
    pub created: SystemTime,
    /// The store the event happened in (`storeId`).
    pub store_id: StoreId,
    /// What happened, by the event type (`eventType`): orders and products typed, any other
    /// type kept as [`EventKind::Other`].
    pub kind: EventKind,
    /// The body's `entityId` as text, when it has one: a product's id, an order's internal
    /// number (not its id: see [`OrderEvent::order_id`]), a quoted string for
    /// `application.*` events.
    pub entity_id: Option<String>,
    /// The body's `data` object as sent, with fields this crate does not know; `Null` when the
    /// body has none.
    pub data: Value,
}

impl WebhookEvent {
    /// Ecwid's event type (`eventType`) as sent, such as `order.created`.
    pub fn event_type(&self) -> &str {
        self.kind.event_type()
    }

    /// `eventCreated` as Ecwid sent it: UNIX seconds.
    pub fn created_unix(&self) -> i64 {
        match self.created.duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
            Err(before) => i64::try_from(before.duration().as_secs())
                .map(|s| -s)
                .unwrap_or(i64::MIN),
        }
    }
}

/// What an event is about, by its type. Ecwid adds event types over time: any type not listed
/// here (`customer.*`, `category.*`, `application.*`, `unfinished_order.*` ...) comes as
/// [`Other`](EventKind::Other), never as a rejection.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    /// `order.created`: an order was placed (at checkout, by the owner, or through the API).
    OrderCreated(OrderEvent),
    /// `order.updated`: an order changed, its statuses among other things.
    OrderUpdated(OrderEvent),
    /// `order.deleted`: an order was deleted.
    OrderDeleted(OrderEvent),
    /// `product.created`.
    ProductCreated {
        /// The product (`entityId`).
        product_id: ProductId,
    },
    /// `product.updated`, sent for every change of a product, its stock included (a checkout
    /// sends one per item sold). Never answer it by writing the product's stock: that write
    /// sends another `product.updated`, and so on forever.
    ProductUpdated {
        /// The product (`entityId`).
        product_id: ProductId,
    },
    /// `product.deleted`.
    ProductDeleted {
        /// The product (`entityId`).
        product_id: ProductId,
    },
    /// Any other event type, or a product event whose `entityId` is not a product id.
    Other {
        /// The event type as sent (empty when the body has none).
        event_type: String,
    },
}

/// What an order event says about the order. It carries no order lines: read the order by
/// [`order_id`](OrderEvent::order_id) over REST for them, and for its statuses now (these may
/// be out of date by the time the event arrives: Ecwid sends events in no particular order).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OrderEvent {
    /// The order's id for the REST API (`data.orderId`, such as `XJ12H`). `None` when Ecwid
    /// sent none (older stores' events, and `order.deleted` as some of Ecwid's examples show
    /// it): then find the order by searching orders updated since the event, never by
    /// `entityId`, which is an internal number.
    pub order_id: Option<OrderId>,
    /// The payment status after the change (`data.newPaymentStatus`).
    pub new_payment_status: Option<PaymentStatus>,
    /// The fulfilment status after the change (`data.newFulfillmentStatus`).
    pub new_fulfillment_status: Option<FulfillmentStatus>,
    /// The payment status before an update (`data.oldPaymentStatus`).
    pub old_payment_status: Option<PaymentStatus>,
    /// The fulfilment status before an update (`data.oldFulfillmentStatus`).
    pub old_fulfillment_status: Option<FulfillmentStatus>,
}

impl EventKind {
    /// The kind of an event of type `event_type`, about `entity_id`, carrying `data`.
    fn new(event_type: String, entity_id: Option<&WebhookBodyEntityId>, data: WebhookData) -> Self {
        let order = || OrderEvent {
            order_id: data
                .order_id
                .clone()
                .filter(|id| !id.is_empty())
                .map(OrderId::new),
            new_payment_status: data.new_payment_status.as_deref().map(PaymentStatus::from),
            new_fulfillment_status: data
                .new_fulfillment_status
                .as_deref()
                .map(FulfillmentStatus::from),
            old_payment_status: data.old_payment_status.as_deref().map(PaymentStatus::from),
            old_fulfillment_status: data
                .old_fulfillment_status
                .as_deref()
                .map(FulfillmentStatus::from),
        };
        let product_id = || {
            match entity_id? {
                WebhookBodyEntityId::Int64(id) => u64::try_from(*id).ok(),
                WebhookBodyEntityId::String(id) => id.parse().ok(),
            }
            .filter(|&id| id != 0)
            .map(ProductId::new)
        };
        let product = |make: fn(ProductId) -> EventKind| product_id().map(make);
        let kind = match event_type.as_str() {
            "order.created" => Some(EventKind::OrderCreated(order())),
            "order.updated" => Some(EventKind::OrderUpdated(order())),
            "order.deleted" => Some(EventKind::OrderDeleted(order())),
            "product.created" => product(|product_id| EventKind::ProductCreated { product_id }),
            "product.updated" => product(|product_id| EventKind::ProductUpdated { product_id }),
            "product.deleted" => product(|product_id| EventKind::ProductDeleted { product_id }),
            _ => None,
        };
        kind.unwrap_or(EventKind::Other { event_type })
    }

    /// Ecwid's event type as sent, such as `order.created`.
    pub fn event_type(&self) -> &str {
        match self {
            EventKind::OrderCreated(_) => "order.created",
            EventKind::OrderUpdated(_) => "order.updated",
            EventKind::OrderDeleted(_) => "order.deleted",
            EventKind::ProductCreated { .. } => "product.created",
            EventKind::ProductUpdated { .. } => "product.updated",
            EventKind::ProductDeleted { .. } => "product.deleted",
            EventKind::Other { event_type } => event_type,
        }
    }

    /// The order event, for `order.created`, `order.updated` and `order.deleted`.
    pub fn order(&self) -> Option<&OrderEvent> {
        match self {
            EventKind::OrderCreated(order)
            | EventKind::OrderUpdated(order)
            | EventKind::OrderDeleted(order) => Some(order),
            _ => None,
        }
    }

    /// The product, for `product.created`, `product.updated` and `product.deleted`.
    pub fn product_id(&self) -> Option<ProductId> {
        match self {
            EventKind::ProductCreated { product_id }
            | EventKind::ProductUpdated { product_id }
            | EventKind::ProductDeleted { product_id } => Some(*product_id),
            _ => None,
        }
    }
}

/// A body read as the spec's `WebhookBody`, its `data` kept whole; nothing in it checked.
pub(super) struct Body {
    body: WebhookBody,
    data: Value,
}

/// Reads a body. Fails with [`Rejection::NotJson`] or [`Rejection::MalformedBody`]; unknown
/// fields and event types are kept, never refused.
pub(super) fn read_body(bytes: &[u8]) -> Result<Body, Rejection> {
    let mut value: Value = serde_json::from_slice(bytes).map_err(|_| Rejection::NotJson)?;
    // The reasons name fields, never their values: the body is not repeated in a rejection.
    let object = value.as_object_mut().ok_or(Rejection::MalformedBody {
        what: "it is not a JSON object",
    })?;
    for (field, what) in [
        ("eventId", "it has no eventId"),
        ("eventCreated", "it has no eventCreated"),
    ] {
        if object.get(field).is_none_or(Value::is_null) {
            return Err(Rejection::MalformedBody { what });
        }
    }
    let data = object.remove("data").unwrap_or(Value::Null);
    let mut body = WebhookBody::deserialize(&value).map_err(|_| Rejection::MalformedBody {
        what: "a field has a type the webhook schema does not allow (eventId must be a \
               string, eventCreated and storeId whole numbers, entityId a number or a string)",
    })?;
    // `data` is read through the schema apart, so that a bad `data` is named as such.
    body.data = Option::deserialize(&data).map_err(|_| Rejection::MalformedBody {
        what: "its data is not an object of the webhook schema (orderId and the statuses are \
               strings)",
    })?;
    if body.event_id.is_empty() {
        return Err(Rejection::MalformedBody {
            what: "its eventId is empty",
        });
    }
    Ok(Body { body, data })
}

impl Body {
    pub(super) fn event_id(&self) -> &str {
        &self.body.event_id
    }

    pub(super) fn event_created(&self) -> i64 {
        self.body.event_created
    }

    /// The store the body names; `None` when it names none, or not a valid id.
    pub(super) fn store_id(&self) -> Option<StoreId> {
        self.body
            .store_id
            .and_then(|id| u64::try_from(id).ok())
            .filter(|&id| id != 0)
            .map(StoreId::new)
    }

    /// The event, once the signature, age and store were checked.
    pub(super) fn into_event(self, store_id: StoreId) -> WebhookEvent {
        WebhookEvent {
            created: unix_time(self.body.event_created),
            event_id: self.body.event_id,
            store_id,
            kind: EventKind::new(
                self.body.event_type.unwrap_or_default(),
                self.body.entity_id.as_ref(),
                self.body.data.unwrap_or_default(),
            ),
            entity_id: self.body.entity_id.map(|id| id.to_string()),
            data: self.data,
        }
    }
}

/// UNIX seconds as a time (the epoch itself if out of range, which a checked age rules out).
fn unix_time(secs: i64) -> SystemTime {
    let offset = Duration::from_secs(secs.unsigned_abs());
    if secs >= 0 {
        UNIX_EPOCH.checked_add(offset)
    } else {
        UNIX_EPOCH.checked_sub(offset)
    }
    .unwrap_or(UNIX_EPOCH)
}
