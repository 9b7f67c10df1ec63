//! [`WebhookEvent`]: a verified delivery, read from the body through the spec's generated
//! `WebhookBody`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize as _;
use serde_json::Value;

use super::Rejection;
use crate::{generated::types::WebhookBody, StoreId};

/// A verified webhook event: its signature matched, it is recent, and it is for a store the
/// verifier serves.
///
/// The signature covers only `eventId` and `eventCreated`; every other field came in the body
/// unsigned and is trusted only because a genuine signature over a recent, never-seen event id
/// is hard to come by. Treat them as hints: read the order or product over REST before acting.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct WebhookEvent {
    /// Ecwid's id of the event (`eventId`), the same on every redelivery: deduplicate by it.
    pub event_id: String,
    /// When the event happened (`eventCreated`, whole seconds).
    pub created: SystemTime,
    /// The store the event happened in (`storeId`).
    pub store_id: StoreId,
    /// Ecwid's event type (`eventType`), such as `order.created`; empty when the body has none.
    pub event_type: String,
    /// The body's `entityId` as text (a number for orders and products, a string for
    /// `application.*` events), when it has one.
    pub entity_id: Option<String>,
    /// The body's `data` object as sent, with fields this crate does not know; `Null` when the
    /// body has none.
    pub data: Value,
}

impl WebhookEvent {
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
            event_type: self.body.event_type.unwrap_or_default(),
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
