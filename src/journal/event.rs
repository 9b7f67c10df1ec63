//! An event, its state, and how both are stored: the one place that turns them into columns
//! and back, for every backend.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::error::JournalError;
use crate::{bulk::BulkItem, CombinationId, ProductId, Stock, StockChange, StockItem, StoreId};

/// The longest event id the journal takes, in bytes.
pub const MAX_EVENT_ID_LEN: usize = 255;

/// A stock change that happened elsewhere (an order from another channel, a warehouse count),
/// to be applied to Ecwid once: what [`Journal::record`](super::Journal::record) stores.
///
/// Everything but the state is kept as it was recorded the first time: recording the same
/// `(store, id)` again changes nothing, whatever the second event holds.
///
/// ```
/// use std::time::SystemTime;
/// use ecwid_inventory::journal::Event;
/// use ecwid_inventory::{ProductId, StockChange, StockItem, StoreId};
///
/// let sold = Event::new(
///     StoreId::new(1003),
///     "order-5521/line-1", // your own id: the same order delivered twice is one event
///     StockItem::Product { product: ProductId::new(7) },
///     StockChange::Delta(-2),
///     SystemTime::now(),
/// )
/// .check_low_stock_notification(true);
/// assert_eq!(sold.id, "order-5521/line-1");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Event {
    /// The store whose stock it changes.
    pub store: StoreId,
    /// The caller's id for the event, unique within the store (1 to [`MAX_EVENT_ID_LEN`] bytes,
    /// no control characters).
    pub id: String,
    /// The product or variation.
    pub item: StockItem,
    /// A delta, or an absolute count.
    pub change: StockChange,
    /// `checkLowStockNotification` for a delta (see
    /// [`BulkItem::check_low_stock_notification`]).
    pub check_low_stock_notification: Option<bool>,
    /// When it happened, as the caller says; kept to the millisecond. Events are applied
    /// oldest first by this time (then in the order they were recorded).
    pub occurred_at: SystemTime,
}

impl Event {
    /// An event changing `item`'s stock in `store`, known to the caller as `id`.
    pub fn new(
        store: StoreId,
        id: impl Into<String>,
        item: StockItem,
        change: StockChange,
        occurred_at: SystemTime,
    ) -> Self {
        Self {
            store,
            id: id.into(),
            item,
            change,
            check_low_stock_notification: None,
            occurred_at,
        }
    }

    /// Sets `checkLowStockNotification` for this event's delta.
    pub fn check_low_stock_notification(mut self, check: bool) -> Self {
        self.check_low_stock_notification = Some(check);
        self
    }

    /// The bulk item that applies this event.
    pub(crate) fn bulk_item(&self) -> BulkItem {
        let mut item = BulkItem::change(self.item, self.change);
        item.check_low_stock_notification = self.check_low_stock_notification;
        item
    }
}

/// Where an event stands. Serialized (in the journal, and by serde) as an object tagged by
/// `state`, with camel-case fields; this form is stable:
///
/// | state | fields | final |
/// |---|---|---|
/// | `{"state": "recorded"}` | | no |
/// | `{"state": "sending", ...}` | `deduplicationKey` | no |
/// | `{"state": "sent", ...}` | `deduplicationKey`, `ticket` | no |
/// | `{"state": "applied", ...}` | `updateCount`, `warning` (string or null) | yes |
/// | `{"state": "failed", ...}` | `status`, `errorCode`, `errorMessage` (each may be null) | yes |
/// | `{"state": "unknown", ...}` | `reason` | yes |
///
/// Final states are kept for the journal's retention
/// ([`JournalBuilder::retention`](super::JournalBuilder::retention)), then purged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "state",
    rename_all = "camelCase",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
#[non_exhaustive]
pub enum EventState {
    /// Recorded, not sent yet.
    Recorded,
    /// Claimed into a run whose batch goes out under this deduplication key: from the claim
    /// on, it may have reached Ecwid.
    #[non_exhaustive]
    Sending {
        /// The batch's deduplication key.
        deduplication_key: String,
    },
    /// Queued at Ecwid in a batch.
    #[non_exhaustive]
    Sent {
        /// The batch's deduplication key.
        deduplication_key: String,
        /// Ecwid's ticket for the batch.
        ticket: String,
    },
    /// Ecwid processed it. Final.
    #[non_exhaustive]
    Applied {
        /// Ecwid's `updateCount`: 1 updated, 0 not (unlimited stock, for example).
        update_count: u32,
        /// Ecwid's warning (the stock became negative).
        warning: Option<String>,
    },
    /// Ecwid refused it, or did not execute it. Final.
    #[non_exhaustive]
    Failed {
        /// The item's HTTP status; none when Ecwid skipped it.
        status: Option<u16>,
        /// Ecwid's `errorCode`.
        error_code: Option<String>,
        /// Ecwid's `errorMessage`.
        error_message: Option<String>,
    },
    /// It may or may not have been applied; only reading the stock can tell. Final.
    #[non_exhaustive]
    Unknown {
        /// Why it is not known.
        reason: String,
    },
}

impl EventState {
    /// The `state` tag: `recorded`, `sending`, `sent`, `applied`, `failed` or `unknown`.
    pub fn name(&self) -> &'static str {
        match self {
            EventState::Recorded => "recorded",
            EventState::Sending { .. } => "sending",
            EventState::Sent { .. } => "sent",
            EventState::Applied { .. } => "applied",
            EventState::Failed { .. } => "failed",
            EventState::Unknown { .. } => "unknown",
        }
    }

    /// Whether nothing more will happen to the event: applied, failed or unknown.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            EventState::Applied { .. } | EventState::Failed { .. } | EventState::Unknown { .. }
        )
    }

    /// The stored form: the tag (a column of its own, for queries) and the whole state as JSON.
    pub(super) fn encode(&self) -> (&'static str, String) {
        let json = serde_json::to_string(self).expect("a state serializes");
        (self.name(), json)
    }
}

/// An event as the journal holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventRecord {
    /// The journal's number for the event: increasing in the order events were recorded, never
    /// reused. Pass the last one seen to [`Journal::failed`](super::Journal::failed) or
    /// [`Journal::unknown`](super::Journal::unknown) to read on from there.
    pub sequence: u64,
    /// The event, as recorded the first time.
    pub event: Event,
    /// Where it stands.
    pub state: EventState,
    /// When it was first recorded (the journal's clock).
    pub recorded_at: SystemTime,
    /// When its state last changed (the journal's clock).
    pub state_changed_at: SystemTime,
}

/// What [`Journal::record`](super::Journal::record) did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Recorded {
    /// This call recorded the event.
    New(EventRecord),
    /// The event was already recorded, with the same content: nothing changed. Its state says
    /// how far it got (it may have been applied long ago).
    Duplicate(EventRecord),
    /// An event with this id was already recorded with other content (item, change, flag or
    /// time): nothing changed, and the stored event, returned here, is the one that counts.
    /// Usually a bug in how event ids are made.
    Conflict(EventRecord),
}

impl Recorded {
    /// The event as the journal holds it.
    pub fn record(&self) -> &EventRecord {
        match self {
            Recorded::New(record) | Recorded::Duplicate(record) | Recorded::Conflict(record) => {
                record
            }
        }
    }

    /// The event as the journal holds it.
    pub fn into_record(self) -> EventRecord {
        match self {
            Recorded::New(record) | Recorded::Duplicate(record) | Recorded::Conflict(record) => {
                record
            }
        }
    }

    /// Whether this call recorded it.
    pub fn is_new(&self) -> bool {
        matches!(self, Recorded::New(_))
    }

    /// Where the event stands.
    pub fn state(&self) -> &EventState {
        &self.record().state
    }
}

/// How many of a store's events are in each state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StateCounts {
    /// Recorded, not sent yet.
    pub recorded: u64,
    /// Being sent.
    pub sending: u64,
    /// Queued at Ecwid.
    pub sent: u64,
    /// Applied.
    pub applied: u64,
    /// Failed.
    pub failed: u64,
    /// Outcome unknown.
    pub unknown: u64,
}

impl StateCounts {
    pub(super) fn add(&mut self, state: &str, count: i64) -> Result<(), JournalError> {
        let slot = match state {
            "recorded" => &mut self.recorded,
            "sending" => &mut self.sending,
            "sent" => &mut self.sent,
            "applied" => &mut self.applied,
            "failed" => &mut self.failed,
            "unknown" => &mut self.unknown,
            other => return Err(JournalError::Corrupt(format!("unknown state {other:?}"))),
        };
        *slot += u64::try_from(count).unwrap_or(0);
        Ok(())
    }
}

/// An event's content as columns: what is compared when the same id is recorded again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Payload {
    pub product_id: i64,
    pub combination_id: Option<i64>,
    /// `delta`, `set` or `unlimited`.
    pub change_kind: String,
    /// The delta, or the count set; none for unlimited.
    pub change_value: Option<i64>,
    pub check_low_stock: Option<bool>,
    pub occurred_at_ms: i64,
}

/// An event checked and ready to insert.
#[derive(Clone, Debug)]
pub(super) struct NewEvent {
    pub store_id: i64,
    pub event_id: String,
    pub payload: Payload,
}

impl NewEvent {
    /// Checks `event` (the same checks as a bulk item's, so nothing is recorded that could not
    /// be sent) and turns it into columns.
    pub(super) fn check(event: &Event) -> Result<Self, JournalError> {
        let bad = |why: String| Err(JournalError::InvalidInput(why));
        if event.id.is_empty() || event.id.len() > MAX_EVENT_ID_LEN {
            return bad(format!(
                "an event id must be 1 to {MAX_EVENT_ID_LEN} bytes long, not {}",
                event.id.len()
            ));
        }
        if event.id.chars().any(char::is_control) {
            return bad(format!(
                "the event id {:?} contains a control character",
                event.id
            ));
        }
        let store_id = column_id(event.store.get(), "store id")?;
        if store_id == 0 {
            return bad("the store id must not be zero".into());
        }
        event.bulk_item().to_request(0).map_err(|error| {
            let why = match error {
                crate::Error::InvalidInput(why) => why,
                other => other.to_string(),
            };
            JournalError::InvalidInput(format!("event {:?}: {why}", event.id))
        })?;
        let (change_kind, change_value) = match event.change {
            StockChange::Delta(delta) => ("delta", Some(i64::from(delta))),
            StockChange::Set(Stock::Quantity(quantity)) => ("set", Some(quantity)),
            StockChange::Set(Stock::Unlimited) => ("unlimited", None),
        };
        Ok(Self {
            store_id,
            event_id: event.id.clone(),
            payload: Payload {
                product_id: column_id(event.item.product().get(), "product id")?,
                combination_id: event
                    .item
                    .combination()
                    .map(|c| column_id(c.get(), "combination id"))
                    .transpose()?,
                change_kind: change_kind.into(),
                change_value,
                check_low_stock: event.check_low_stock_notification,
                occurred_at_ms: to_ms(event.occurred_at, "the event's time")?,
            },
        })
    }
}

/// An event row as read, before it is checked.
#[derive(Clone, Debug)]
pub(super) struct EventRow {
    pub seq: i64,
    pub store_id: i64,
    pub event_id: String,
    pub product_id: i64,
    pub combination_id: Option<i64>,
    pub change_kind: String,
    pub change_value: Option<i64>,
    pub check_low_stock: Option<bool>,
    pub occurred_at_ms: i64,
    pub recorded_at_ms: i64,
    pub state_detail: String,
    pub state_changed_at_ms: i64,
}

/// The columns every event query selects, in [`EventRow`]'s order.
pub(super) const EVENT_COLUMNS: &str = "seq, store_id, event_id, product_id, combination_id, \
     change_kind, change_value, check_low_stock, occurred_at_ms, recorded_at_ms, state_detail, \
     state_changed_at_ms";

impl EventRow {
    /// The row's content as [`NewEvent::check`] makes it, to compare with a new event's.
    pub(super) fn payload(&self) -> Payload {
        Payload {
            product_id: self.product_id,
            combination_id: self.combination_id,
            change_kind: self.change_kind.clone(),
            change_value: self.change_value,
            check_low_stock: self.check_low_stock,
            occurred_at_ms: self.occurred_at_ms,
        }
    }

    /// Reads the row back into an [`EventRecord`].
    pub(super) fn decode(self) -> Result<EventRecord, JournalError> {
        let corrupt = |why: String| {
            JournalError::Corrupt(format!(
                "event {:?} of store {}: {why}",
                self.event_id, self.store_id
            ))
        };
        let id = |value: i64| {
            u64::try_from(value).map_err(|_| corrupt(format!("the id {value} is negative")))
        };
        let product = ProductId::new(id(self.product_id)?);
        let item = match self.combination_id {
            None => StockItem::Product { product },
            Some(combination) => StockItem::Variation {
                product,
                combination: CombinationId::new(id(combination)?),
            },
        };
        let change = match (self.change_kind.as_str(), self.change_value) {
            ("delta", Some(delta)) => StockChange::Delta(
                i32::try_from(delta).map_err(|_| corrupt(format!("the delta {delta}")))?,
            ),
            ("set", Some(quantity)) => StockChange::Set(Stock::Quantity(quantity)),
            ("unlimited", None) => StockChange::Set(Stock::Unlimited),
            (kind, value) => return Err(corrupt(format!("the change {kind} {value:?}"))),
        };
        let state: EventState = serde_json::from_str(&self.state_detail)
            .map_err(|e| corrupt(format!("the state {}: {e}", self.state_detail)))?;
        Ok(EventRecord {
            sequence: id(self.seq)?,
            event: Event {
                store: StoreId::new(id(self.store_id)?),
                id: self.event_id.clone(),
                item,
                change,
                check_low_stock_notification: self.check_low_stock,
                occurred_at: from_ms(self.occurred_at_ms),
            },
            state,
            recorded_at: from_ms(self.recorded_at_ms),
            state_changed_at: from_ms(self.state_changed_at_ms),
        })
    }
}

/// An id as a column: databases hold signed 64-bit integers.
pub(super) fn column_id(id: u64, what: &str) -> Result<i64, JournalError> {
    i64::try_from(id).map_err(|_| {
        JournalError::InvalidInput(format!(
            "the {what} {id} is above {}, the largest the journal stores",
            i64::MAX
        ))
    })
}

/// Milliseconds since the Unix epoch, the journal's form of every time.
pub(super) fn to_ms(time: SystemTime, what: &str) -> Result<i64, JournalError> {
    time.duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_millis()).ok())
        .ok_or_else(|| {
            JournalError::InvalidInput(format!("{what} {time:?} is before 1970 or too far ahead"))
        })
}

pub(super) fn from_ms(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn states_serialize_in_their_documented_form() {
        let states = [
            (EventState::Recorded, json!({"state": "recorded"})),
            (
                EventState::Sending {
                    deduplication_key: "k".into(),
                },
                json!({"state": "sending", "deduplicationKey": "k"}),
            ),
            (
                EventState::Sent {
                    deduplication_key: "k".into(),
                    ticket: "t".into(),
                },
                json!({"state": "sent", "deduplicationKey": "k", "ticket": "t"}),
            ),
            (
                EventState::Applied {
                    update_count: 1,
                    warning: Some("Product has negative stock.".into()),
                },
                json!({"state": "applied", "updateCount": 1, "warning": "Product has negative stock."}),
            ),
            (
                EventState::Failed {
                    status: Some(404),
                    error_code: Some("PRODUCT_NOT_FOUND".into()),
                    error_message: None,
                },
                json!({"state": "failed", "status": 404, "errorCode": "PRODUCT_NOT_FOUND", "errorMessage": null}),
            ),
            (
                EventState::Unknown { reason: "r".into() },
                json!({"state": "unknown", "reason": "r"}),
            ),
        ];
        for (state, expected) in states {
            assert_eq!(serde_json::to_value(&state).unwrap(), expected);
            assert_eq!(state.name(), expected["state"]);
            let (name, stored) = state.encode();
            assert_eq!(name, state.name());
            assert_eq!(serde_json::from_str::<EventState>(&stored).unwrap(), state);
            assert_eq!(
                state.is_final(),
                ["applied", "failed", "unknown"].contains(&name)
            );
        }
    }

    fn event(change: StockChange) -> Event {
        Event::new(
            StoreId::new(1003),
            "order-1",
            StockItem::Variation {
                product: ProductId::new(7),
                combination: CombinationId::new(9),
            },
            change,
            UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
        )
    }

    #[test]
    fn events_round_trip_through_their_columns() {
        for change in [
            StockChange::Delta(-3),
            StockChange::Set(Stock::Quantity(12)),
            StockChange::Set(Stock::Unlimited),
        ] {
            let event = event(change).check_low_stock_notification(true);
            let new = NewEvent::check(&event).unwrap();
            let row = EventRow {
                seq: 4,
                store_id: new.store_id,
                event_id: new.event_id.clone(),
                product_id: new.payload.product_id,
                combination_id: new.payload.combination_id,
                change_kind: new.payload.change_kind.clone(),
                change_value: new.payload.change_value,
                check_low_stock: new.payload.check_low_stock,
                occurred_at_ms: new.payload.occurred_at_ms,
                recorded_at_ms: 5,
                state_detail: EventState::Recorded.encode().1,
                state_changed_at_ms: 6,
            };
            assert_eq!(row.payload(), new.payload);
            let record = row.decode().unwrap();
            assert_eq!(record.event, event);
            assert_eq!(record.sequence, 4);
            assert_eq!(record.state, EventState::Recorded);
        }
    }

    #[test]
    fn bad_events_are_refused_naming_the_problem() {
        let cases: Vec<(Event, &str)> = vec![
            (
                Event {
                    id: String::new(),
                    ..event(StockChange::Delta(1))
                },
                "1 to 255 bytes",
            ),
            (
                Event {
                    id: "x".repeat(256),
                    ..event(StockChange::Delta(1))
                },
                "not 256",
            ),
            (
                Event {
                    id: "a\nb".into(),
                    ..event(StockChange::Delta(1))
                },
                "control character",
            ),
            (event(StockChange::Delta(0)), "must not be zero"),
            (
                event(StockChange::Set(Stock::Quantity(-1))),
                "the quantity -1",
            ),
            (
                Event {
                    store: StoreId::new(0),
                    ..event(StockChange::Delta(1))
                },
                "store id must not be zero",
            ),
            (
                Event {
                    item: StockItem::Product {
                        product: ProductId::new(0),
                    },
                    ..event(StockChange::Delta(1))
                },
                "product id must not be zero",
            ),
            (
                Event {
                    item: StockItem::Product {
                        product: ProductId::new(u64::MAX),
                    },
                    ..event(StockChange::Delta(1))
                },
                "largest the journal stores",
            ),
            (
                Event {
                    occurred_at: UNIX_EPOCH - Duration::from_secs(1),
                    ..event(StockChange::Delta(1))
                },
                "before 1970",
            ),
        ];
        for (event, expected) in cases {
            let error = NewEvent::check(&event).unwrap_err();
            assert!(matches!(error, JournalError::InvalidInput(_)), "{error:?}");
            assert!(error.to_string().contains(expected), "{error}");
        }
    }
}
