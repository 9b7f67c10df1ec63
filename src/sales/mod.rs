//! Ecwid's own sales as stock movements, each recorded once (feature `sales`): verified webhook
//! events recorded durably, their orders read and reconciled, and a log of movements that
//! another channel applies exactly once.
//!
//! A stock sync that mirrors Ecwid's sales into a warehouse or another shop must see each sale
//! once: a sale never mirrored oversells elsewhere, a redelivered webhook mirrored twice loses
//! stock. Ecwid makes that hard: it retries a failed delivery for a day in no particular order,
//! one checkout sends several webhooks, a webhook carries no order lines, and its body is not
//! signed. This module turns all of that into [`Movement`]s: "2 of variation 11 left Ecwid's
//! stock by line 7 of order XJ12H", each under an id that stays the same however often and by
//! whichever path the order is seen.
//!
//! # The loop
//!
//! 1. **Verify** each delivery ([`Verifier::verify_request`](crate::webhooks::Verifier)) and
//!    refuse what fails (nothing is recorded).
//! 2. **Record** it: [`Sales::record`]. It returns once the event is on disk (SQLite with
//!    `synchronous=FULL`, or a PostgreSQL commit), [`Recorded::New`] or, for an event id the
//!    store already has, [`Recorded::Duplicate`]. Deliveries recorded at the same moment share
//!    one commit.
//! 3. **Acknowledge** with 200 only then; if recording failed, answer 5xx and Ecwid retries. An
//!    event recorded and not acknowledged comes back as a duplicate; one acknowledged and not
//!    recorded would be lost.
//! 4. **Process**, outside the request (a task that loops, or a timer):
//!    [`Sales::process`] claims waiting order events, reads their orders over REST (never
//!    trusting the webhook's statuses), reconciles them, and records the movements.
//! 5. **Consume**: [`Sales::movements`] reads the log after your own cursor (the last
//!    [`Movement::sequence`] you applied), in order, a page at a time. Apply each movement to
//!    the other channel under its [`id`](Movement::id); into another Ecwid store, record it in
//!    that store's [journal](crate::journal) with [`Movement::journal_event`].
//!
//! And from a cron, **catch up**: [`Sales::catch_up`] reads the orders updated since its
//! cursor and reconciles them the same way, for when the receiver was down longer than Ecwid
//! retries (24 hours) or the app's webhooks were blocked. Webhooks and catch-up meet in the
//! same reconciliation, so together they still move each item once.
//!
//! ```no_run
//! # async fn run(
//! #     journal: ecwid_inventory::journal::Journal,
//! #     verifier: ecwid_inventory::webhooks::Verifier,
//! #     client: ecwid_inventory::Client,
//! #     request: http::Request<Vec<u8>>,
//! # ) -> Result<(), Box<dyn std::error::Error>> {
//! use ecwid_inventory::sales::{Sales, StockPolicy};
//!
//! // Once: the sales tables live in the journal's database.
//! let sales = Sales::builder().policy(StockPolicy::default()).build(journal)?;
//!
//! // For each delivery (in the HTTP handler): verify, record, then acknowledge.
//! let status = match verifier.verify_request(&request) {
//!     Err(rejection) => rejection.status(),
//!     Ok(event) => match sales.record(&event).await {
//!         Ok(_new_or_duplicate) => http::StatusCode::OK,
//!         Err(_) => http::StatusCode::SERVICE_UNAVAILABLE, // Ecwid will deliver it again
//!     },
//! };
//!
//! // In a background task: process, then hand the movements on.
//! let report = sales.process(&client).await?;
//! let mut after = None; // your own cursor, kept with the other channel
//! for movement in sales.movements(client.store_id(), after, 100).await? {
//!     println!("{} {} x{} ({:?})", movement.id, movement.kind.as_str(), movement.quantity, movement.sku);
//!     after = Some(movement.sequence);
//! }
//!
//! // From a cron: catch up on what webhooks missed (the first run says where to start).
//! let caught_up = sales.catch_up(&client).await?;
//! # let _ = (status, report, caught_up);
//! # Ok(()) }
//! ```
//!
//! The same loop run whole, against a mock Ecwid on loopback (wiremock) that holds one paid
//! order, and a SQLite journal in a temporary folder: one `order.created` delivered three times
//! is one movement per line. (The test file `tests/sales/sales.rs` runs every case on SQLite and
//! PostgreSQL.)
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::{SystemTime, UNIX_EPOCH};
//! use ecwid_inventory::journal::Journal;
//! use ecwid_inventory::sales::{MovementKind, Sales};
//! use ecwid_inventory::webhooks::{sign, SecretString, Verifier, SIGNATURE_HEADER};
//! use ecwid_inventory::{Client, StoreId};
//! # use wiremock::{matchers::{method, path}, Mock, MockServer, ResponseTemplate};
//! # let ecwid = MockServer::start().await;
//! # let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
//! # let order = serde_json::json!({
//! #     "id": "XJ12H", "paymentStatus": "PAID", "fulfillmentStatus": "AWAITING_PROCESSING",
//! #     "createTimestamp": now, "updateTimestamp": now,
//! #     "items": [{"id": 1828115520, "productId": 692730761, "combinationId": 422488528,
//! #                "sku": "TEE-S", "quantity": 2}]
//! # });
//! # Mock::given(method("GET")).and(path("/api/v3/1003/orders"))
//! #     .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!(
//! #         {"total": 1, "count": 1, "offset": 0, "limit": 100, "items": [order]})))
//! #     .mount(&ecwid).await;
//! # let dir = std::env::temp_dir().join(format!("ecwid-sales-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! let store = StoreId::new(1003);
//! let client_secret = SecretString::from("the app's client_secret");
//! let verifier = Verifier::new(client_secret.clone(), store)?;
//! let sales = Sales::new(Journal::open_sqlite(dir.join("journal.sqlite3")).await?);
//! let client = Client::builder(store, "secret_token")
//!     .base_url(format!("{}/api/v3", ecwid.uri())) // default: Ecwid's
//!     .build()?;
//!
//! // Ecwid delivers order.created, and again, and again.
//! let created = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() as i64;
//! let body = format!(
//!     r#"{{"eventId":"e-1","eventCreated":{created},"storeId":1003,"entityId":516483487,
//!         "eventType":"order.created","data":{{"orderId":"XJ12H"}}}}"#
//! );
//! for _ in 0..3 {
//!     let delivery = http::Request::post("/ecwid/webhooks")
//!         .header(SIGNATURE_HEADER, sign(&client_secret, created, "e-1"))
//!         .body(body.clone().into_bytes())?;
//!     let event = verifier.verify_request(&delivery)?;
//!     sales.record(&event).await?; // New, then Duplicate twice: answer 200 each time
//! }
//!
//! let report = sales.process(&client).await?;
//! assert_eq!((report.processed, report.movements), (1, 1));
//! let movements = sales.movements(store, None, 100).await?;
//! assert_eq!(movements[0].id, "1003/XJ12H/1828115520/placed-1");
//! assert_eq!((movements[0].kind, movements[0].delta()), (MovementKind::Placed, -2));
//! assert_eq!(movements[0].sku.as_deref(), Some("TEE-S"));
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(()) }
//! ```
//!
//! **The whole loop, offline.** The fake store
//! ([`ecwid-inventory-fake`](https://docs.rs/ecwid-inventory-fake/latest/ecwid_inventory_fake/#selling-and-webhooks),
//! this workspace's) sells as Ecwid's storefront does, delivers the signed webhooks Ecwid would
//! to your receiver's URL (duplicated, delayed and reordered in its fault mode, retried on
//! Ecwid's rules until answered 200), and answers the order reads of `process` and `catch_up`.
//! `RECEIVER_DEMO_SALES=3 cargo run --example receiver` runs `examples/receiver.rs` against it:
//! the fake sells three orders and cancels one, and each line prints as one `placed` movement,
//! the cancelled order's as one `restocked` each. The test `tests/sales/loop_with_fake.rs` runs
//! the same loop through a receiver answering 503, a crash that reopens the journal, and a
//! catch-up over the same orders, and finds each line moved once.
//!
//! # Receiving Ecwid's webhooks
//!
//! Steps 1 to 3 are [`Receiver::receive`]: an [`http::Request`] whose body was read whole in,
//! a [`Receipt`] out, whose [`status`](Receipt::status) is the answer. It refuses a body over
//! the verifier's size limit before parsing it (413), a delivery that fails verification with
//! the [`Rejection`](crate::webhooks::Rejection)'s status (401 unsigned or forged, 400 not a
//! webhook body, 403 too old or another store), and records nothing for them; it answers 200
//! only once the event is on disk, and 503 when the journal fails or the record takes longer
//! than its [time budget](Receiver::time_budget) (5 s by default, within Ecwid's 10), so that
//! Ecwid delivers it again. The example `examples/receiver.rs` puts it behind axum, with a
//! task that processes and prints the movements.
//!
//! # What moves stock: the status table
//!
//! Reconciling an order compares what its *current* state holds out of stock (each line's
//! quantity, or nothing) with what was counted for it so far, line by line, and records the
//! difference. The state is the order as read from Ecwid now, never the webhook's claims: the
//! body is not signed, and deliveries come in any order. An order holds its items unless one of
//! these says otherwise ([`StockPolicy`] changes the rows marked *setting*):
//!
//! | the order | holds its items | why (Ecwid's help center) | setting |
//! |---|---|---|---|
//! | placed: `AWAITING_PAYMENT`, `PAID`, `PARTIALLY_REFUNDED` | yes | a storefront checkout decreases stock when the order is placed; a partial refund leaves stock alone | [`payment_restocks`](StockPolicy::payment_restocks) |
//! | `INCOMPLETE` | no | an unfinished checkout: no stock was taken | none: never holds |
//! | `CANCELLED` | no | cancelling restocks the items | none: never holds |
//! | `REFUNDED` | no | marking an order refunded restocks it | [`refunded_restocks`](StockPolicy::refunded_restocks) |
//! | fulfilment `RETURNED` | yes | Ecwid changes no stock for a return | [`returned_restocks`](StockPolicy::returned_restocks) |
//! | any other fulfilment status (`WILL_NOT_DELIVER`, custom ones) | yes | no stock change | [`fulfillment_restocks`](StockPolicy::fulfillment_restocks) |
//! | a status this crate does not know, or none | yes | the order was placed | [`payment_restocks`](StockPolicy::payment_restocks) |
//! | deleted (a 404 on read, whatever the event said) | no | once counted, its items come back | none |
//!
//! So a checkout is one movement per line however many webhooks it sends; a cancellation
//! after it, one restock per line; a quantity edit, the difference; a line removed, its
//! restock; a re-opened order (cancelled, then paid again) places its lines again. An order
//! created through the API takes stock in Ecwid only once `PAID`: a shop whose API-made
//! orders wait `AWAITING_PAYMENT` untaken sets
//! `payment_restocks(PaymentStatus::AwaitingPayment, true)`. Lines that name no product (an
//! API order's custom lines) never move.
//!
//! An order's state older than the one last reconciled (its `updateTimestamp` is earlier) is
//! ignored: two reads that cross do not undo each other. Ecwid's timestamps are whole
//! seconds, so two changes within one second can still be seen in either order; the next read
//! of the order puts it right, moving the difference.
//!
//! **Product events never move stock**, and this module never writes stock: a checkout sends
//! a `product.updated` per item sold, and every stock write sends another, so a receiver that
//! wrote stock in answer to `product.updated` would loop forever. They are recorded (as
//! `skipped`) only so that their redeliveries are duplicates too.
//!
//! # Movement ids
//!
//! A movement's id is `{store}/{order}/{line}/{kind}-{n}`: the store, the order's id (with
//! `%` and `/` written `%25` and `%2F`), the line's id, `placed` or `restocked`, and the
//! how-manieth of that kind for the line, such as `1003/XJ12H/1828115520/placed-1`, then
//! `.../restocked-1` for a cancellation and `.../placed-2` if the order is re-opened. The same
//! order history gives the same ids, on any machine, whichever path (webhook, catch-up) saw
//! it. Each is stored once, in the same transaction as the line's new count, under a unique
//! `(store, id)`: two receivers reconciling one order at once (PostgreSQL) take turns on it,
//! and the second finds nothing left to move.
//!
//! # Processing, and failed reads
//!
//! [`Sales::process`] claims up to 100 waiting events at a time (PostgreSQL: `FOR UPDATE
//! SKIP LOCKED`, so processors never take the same events), reads their orders with one
//! search by `ids` (up to 100 orders), reads one by one the orders the search leaves out (a
//! 404 then means deleted), and for an order event without `data.orderId` searches the
//! orders updated within [`ORDERLESS_WINDOW`] of the event (never `entityId`, an internal
//! number). It stops after [`max_events`](Process::max_events) events or its
//! [`time_limit`](Process::time_limit), and says which.
//!
//! An order that cannot be read leaves its events waiting, tried again by a later call after a
//! delay that doubles from one minute up to an hour; after
//! [`SalesBuilder::max_attempts`] failures (12 by default, about 8 hours) the event ends
//! `failed`: counted by [`Sales::counts`], put back by [`Sales::retry_failed`]. Its order is
//! still reconciled by any later event or catch-up that reads it. When Ecwid cannot be read at
//! all (no connection, a 5xx, a refused token), the call stops there, and the rest of the
//! batch is put back untouched.
//!
//! # Limits
//!
//! - **A deletion is seen only through an order's id.** An `order.deleted` event that names
//!   its order (`data.orderId`), or any later event of the order, reads it, gets a 404 and
//!   restocks it. One without `data.orderId` cannot be traced (a deleted order is in no
//!   search), and a catch-up sees no deletions: Ecwid's list of deleted orders
//!   (`GET /orders/deleted`) is not read yet. Such an order stays counted.
//! - **One policy per database**: reconcile with the same [`StockPolicy`] everywhere (see its
//!   docs).
//! - **Line items are Ecwid's ids**: a movement names the product and variation of the store
//!   it happened in; mirroring into another store maps them (by [`Movement::sku`], usually).
//!
//! # Storage and retention
//!
//! The tables (`ecwid_sales_*`, listed in the journal's schema) live in the journal's database
//! and use its connections and clock: SQLite by default, PostgreSQL for several receivers.
//!
//! Events are kept as the journal keeps its events: a processed, skipped or failed event is
//! removed by [`Sales::purge`] once its state is older than the journal's retention
//! ([`JournalBuilder::retention`](crate::journal::JournalBuilder::retention), 30 days by
//! default), and an event still waiting never is. **An event delivered again after its record
//! was purged is new again** (though the verifier already refuses events older than its
//! maximum age, 26 hours by default). Even then it moves nothing twice: movements come from
//! the counts kept per line, which are never purged. Movements are removed once recorded
//! longer ago than the retention: consume them within it.

mod catch_up;
mod dispatch;
mod movement;
mod policy;
#[cfg(feature = "postgres")]
mod postgres;
mod process;
mod receive;
mod reconcile;
mod record;
mod setup;
mod sqlite;
mod store;

pub use catch_up::{
    CatchUp, CatchUpReport, SalesCursor, CATCH_UP_OVERLAP, SALES_CURSOR_FORMAT_VERSION,
};
pub use movement::{FoundBy, Movement, MovementKind};
pub use policy::StockPolicy;
pub use process::{
    Process, ProcessReport, ProcessStop, DEFAULT_CLAIM, DEFAULT_MAX_EVENTS, DEFAULT_TIME_LIMIT,
    ORDERLESS_WINDOW,
};
pub use receive::{Receipt, Receiver, DEFAULT_TIME_BUDGET, MAX_TIME_BUDGET};
pub use record::Recorded;
pub use setup::{
    Sales, SalesBuilder, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_RETRY_DELAY, DEFAULT_RETRY_DELAY,
};

use crate::{
    journal::{MAX_EVENT_ID_LEN, MAX_READ},
    webhooks::{EventKind, WebhookEvent},
    Error, StoreId,
};
use dispatch::on_backend;
use setup::column;
use store::{NewEvent, SKIPPED, WAITING};

/// How many of a store's recorded events are in each state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventCounts {
    /// Order events waiting to be processed (or for another read of their order).
    pub waiting: u64,
    /// Order events processed.
    pub processed: u64,
    /// Events that never move stock (products, customers, ...), kept for deduplication.
    pub skipped: u64,
    /// Order events whose order could not be read too many times.
    pub failed: u64,
}

/// What [`Sales::purge`] removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Purged {
    /// Events whose state became final longer ago than the retention.
    pub events: u64,
    /// Movements recorded longer ago than the retention.
    pub movements: u64,
}

impl Sales {
    /// Records a verified event, keyed by `(store, event id)`, and returns once it is on disk:
    /// [`Recorded::New`], or [`Recorded::Duplicate`] when the store has recorded its id before
    /// (within the retention: see the [module docs](self)). Order events wait for
    /// [`process`](Self::process); other events (products among them) are recorded only to
    /// know their redeliveries, and never move stock. Events recorded at the same time share
    /// one commit.
    ///
    /// An event id over [`MAX_EVENT_ID_LEN`] bytes, or with control characters, fails with
    /// [`Error::InvalidInput`]; a database failure with [`Error::Journal`]: then do not
    /// acknowledge the delivery.
    pub async fn record(&self, event: &WebhookEvent) -> Result<Recorded, Error> {
        let id = &event.event_id;
        if id.is_empty() || id.len() > MAX_EVENT_ID_LEN || id.chars().any(char::is_control) {
            return Err(Error::InvalidInput(format!(
                "a webhook event id must be 1 to {MAX_EVENT_ID_LEN} bytes without control \
                 characters"
            )));
        }
        let order = event.kind.order();
        let new = NewEvent {
            store_id: column(event.store_id.get(), "store id")?,
            event_id: id.clone(),
            event_type: event.event_type().to_owned(),
            order_id: order
                .and_then(|o| o.order_id.as_ref())
                .map(|id| id.as_str().to_owned()),
            created_ms: i64::try_from(crate::time::unix_ms(event.created)).unwrap_or(i64::MAX),
            state: if matches!(
                event.kind,
                EventKind::OrderCreated(_)
                    | EventKind::OrderUpdated(_)
                    | EventKind::OrderDeleted(_)
            ) {
                WAITING
            } else {
                SKIPPED
            },
        };
        let journal = &self.inner.journal;
        let new = self.inner.recorder.record(journal, new).await?;
        Ok(if new {
            Recorded::New
        } else {
            Recorded::Duplicate
        })
    }

    /// Up to `limit` (1 to [`MAX_READ`]) of `store`'s movements, in the order they were
    /// recorded, after the movement numbered `after` (a [`Movement::sequence`]; `None` for the
    /// first). A movement is here only once recorded, with the count it changed: what you read
    /// is never taken back.
    pub async fn movements(
        &self,
        store: StoreId,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Movement>, Error> {
        if limit == 0 || limit > MAX_READ {
            return Err(Error::InvalidInput(format!(
                "the limit must be 1 to {MAX_READ}, not {limit}"
            )));
        }
        let journal = &self.inner.journal;
        let store_id = column(store.get(), "store id")?;
        let after = column(after.unwrap_or(0), "sequence")?;
        let rows = on_backend!(journal, movements(store_id, after, limit as i64))?;
        rows.into_iter()
            .map(|row| {
                row.decode().map_err(|e| Error::Journal {
                    database: journal.endpoint(),
                    operation: "read stock movements".into(),
                    reason: e.to_string(),
                })
            })
            .collect()
    }

    /// How many of `store`'s recorded events are in each state.
    pub async fn counts(&self, store: StoreId) -> Result<EventCounts, Error> {
        let journal = &self.inner.journal;
        let store_id = column(store.get(), "store id")?;
        let mut counts = EventCounts::default();
        for (state, count) in on_backend!(journal, counts(store_id))? {
            let count = u64::try_from(count).unwrap_or(0);
            match state.as_str() {
                "waiting" => counts.waiting = count,
                "processed" => counts.processed = count,
                "skipped" => counts.skipped = count,
                "failed" => counts.failed = count,
                other => {
                    return Err(Error::Journal {
                        database: journal.endpoint(),
                        operation: "count webhook events".into(),
                        reason: format!("an event is in the unknown state {other:?}"),
                    })
                }
            }
        }
        Ok(counts)
    }

    /// Puts `store`'s failed events back to waiting, with their attempts counted from zero;
    /// returns how many.
    pub async fn retry_failed(&self, store: StoreId) -> Result<u64, Error> {
        let journal = &self.inner.journal;
        let store_id = column(store.get(), "store id")?;
        let now = journal.now()?;
        Ok(on_backend!(journal, retry_failed(store_id, now))?)
    }

    /// Removes events whose state became final (processed, skipped, failed) longer ago than
    /// the journal's retention, and movements recorded longer ago than that. The counts of
    /// order lines are kept: they are what makes a late change of an old order move once.
    pub async fn purge(&self) -> Result<Purged, Error> {
        let journal = &self.inner.journal;
        let now = journal.now()?;
        let retention = i64::try_from(journal.retention().as_millis()).unwrap_or(i64::MAX);
        let (events, movements) = on_backend!(journal, purge(now.saturating_sub(retention)))?;
        Ok(Purged { events, movements })
    }
}
