//! Signed webhooks, sent as Ecwid sends them, so that a receiver can be tested offline: every
//! delivery signed with the app's client secret, retried on Ecwid's schedule until delivered,
//! and, in a fault mode, duplicated, reordered and delayed.
//!
//! # Turning them on
//!
//! [`FakeStoreBuilder::webhooks`](crate::FakeStoreBuilder::webhooks) names the receiver's URL
//! (`http://`, such as a test's server on `127.0.0.1`) and the app's client secret, the key of
//! the signature. From then on, for every store the fake serves:
//!
//! | what happened | events sent |
//! |---|---|
//! | a storefront sale ([`FakeStore::sell`](crate::FakeStore::sell), or `POST /storefront/{storeId}/orders`) | `order.created`, and a `product.updated` per product whose stock it took |
//! | an order's statuses changed ([`FakeStore::update_order`](crate::FakeStore::update_order)), a cancellation among them ([`FakeStore::cancel_order`](crate::FakeStore::cancel_order)) | `order.updated`, and a `product.updated` per product it gave stock back to (or took it from again) |
//! | an order deleted ([`FakeStore::delete_order`](crate::FakeStore::delete_order)) | `order.deleted`, and a `product.updated` per product it gave stock back to |
//! | a stock adjustment or set through the API, by REST or in a batch | a `product.updated` (as Ecwid does for any change of a product: a receiver that writes stock in answer to it loops) |
//!
//! Each body is the spec's `WebhookBody`: `eventId` (a UUID, the same on every delivery of
//! the event), `eventCreated` (UNIX seconds of the fake's clock, which
//! [`FakeStore::advance_clock`](crate::FakeStore::advance_clock) moves), `storeId`, `entityId`
//! (an order's internal number, its `orderNumber`, for `order.*`; the product's id for
//! `product.updated`), `eventType`, and for orders `data`: `orderId` (the id to read the
//! order by, such as `XJ12H`), `newPaymentStatus`, `newFulfillmentStatus`, and for
//! `order.updated` `oldPaymentStatus` and `oldFulfillmentStatus`. An `order.deleted` carries
//! `data.orderId` alone (*the fake's choice*: Ecwid's examples differ). Product events carry no
//! `data`.
//!
//! # How they are delivered
//!
//! Each event is a `POST` to the URL with `?eventtype=<type>` added to its query,
//! `Content-Type: application/json`, and the header `X-Ecwid-Webhook-Signature` =
//! [`ecwid_inventory::webhooks::sign`]`(client secret, eventCreated, eventId)`, exactly what
//! the SDK's [`Verifier`](ecwid_inventory::webhooks::Verifier) checks. Then, as Ecwid does:
//!
//! - **Delivered** only when answered 200, 201, 202, 204 or 209 ([`is_delivered`]); any other
//!   status (203, 208, every 3xx: redirects are not followed, every 4xx and 5xx), a connection
//!   that fails, no connection within [`CONNECT_TIMEOUT`] (3 s) or no answer within
//!   [`ANSWER_TIMEOUT`] (10 s) is a failed attempt.
//! - **Retried** after a failed attempt, on a schedule: by default Ecwid's, 27 retries over 24
//!   hours ([`ecwid_retry_schedule`]: at 15, 30, 45 minutes and 1 hour after the first attempt,
//!   then every hour until the 24th); a test shrinks it with
//!   [`FakeStoreBuilder::webhook_retry_schedule`](crate::FakeStoreBuilder::webhook_retry_schedule).
//!   The bound: one attempt plus one per wait of the schedule, then the event is given up.
//!   Retries stop at the first delivered attempt. The waits run on tokio's clock, not the
//!   fake's ([`FakeStore::advance_clock`](crate::FakeStore::advance_clock) does not hurry them).
//! - **In the background, in no promised order**: each event is delivered by a task of its own,
//!   from the moment it happens; a checkout's several events race each other.
//!
//! # The fault mode
//!
//! [`FakeStoreBuilder::webhook_faults`](crate::FakeStoreBuilder::webhook_faults) with
//! [`WebhookFaults`] makes deliveries as unruly as Ecwid's can be: each event may be sent
//! twice (two independent deliveries of the same event, same `eventId` and signature, each
//! with its own retries), and each delivery waits a random time before its first attempt, so
//! events arrive late and out of order. Every decision, and every `eventId`, comes from a
//! random generator seeded by the test: the same seed and the same sales make the same
//! decisions ([`SentWebhook::delays`]). Every event is still delivered at least once, as long as
//! the receiver answers one of the delivered statuses within the schedule.
//!
//! # What the fake records
//!
//! [`FakeStore::webhooks_sent`](crate::FakeStore::webhooks_sent) lists every event
//! ([`SentWebhook`]: its id, type, entity, the exact body, and how many deliveries it got and
//! their delays); [`FakeStore::webhook_deliveries`](crate::FakeStore::webhook_deliveries) every
//! delivery attempt ([`WebhookDelivery`]: event id, type, delivery and attempt number, the
//! fake's time, the status answered or the error). Wait for them with
//! [`FakeStore::wait_for_webhooks_delivered`](crate::FakeStore::wait_for_webhooks_delivered)
//! (every event delivered at least once) and
//! [`FakeStore::wait_for_webhooks_settled`](crate::FakeStore::wait_for_webhooks_settled) (no
//! delivery left to try: each delivered or given up).
//!
//! The client secret is held as a [`SecretString`]: it never appears in
//! the fake's `Debug` output, its logs or its records.
//!
//! # Example: a receiver tested offline
//!
//! A receiver that verifies each delivery with the SDK's
//! [`Verifier`](ecwid_inventory::webhooks::Verifier), against a sale on the demo shop:
//!
//! ```
//! use std::convert::Infallible;
//!
//! use bytes::Bytes;
//! use ecwid_inventory::webhooks::{EventKind, SecretString, Verifier};
//! use ecwid_inventory::StockItem;
//! use ecwid_inventory_fake::{demo, FakeStore, Sale, Stock};
//! use http_body_util::{BodyExt, Full};
//! use hyper::{server::conn::http1, service::service_fn, Request, Response};
//! use hyper_util::rt::TokioIo;
//! use tokio::sync::mpsc;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let client_secret = SecretString::from("the app's client secret");
//!
//! // The receiver under test: verify, hand the event on, acknowledge.
//! let verifier = Verifier::new(client_secret.clone(), demo::STORE)?;
//! let (events, mut received) = mpsc::unbounded_channel();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let url = format!("http://{}/ecwid/webhooks", listener.local_addr()?);
//! tokio::spawn(async move {
//!     while let Ok((stream, _)) = listener.accept().await {
//!         let (verifier, events) = (verifier.clone(), events.clone());
//!         let service = service_fn(move |request: Request<hyper::body::Incoming>| {
//!             let (verifier, events) = (verifier.clone(), events.clone());
//!             async move {
//!                 let (parts, body) = request.into_parts();
//!                 let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
//!                 let status = match verifier.verify(&parts.headers, &body) {
//!                     Ok(event) => {
//!                         let _ = events.send(event);
//!                         200
//!                     }
//!                     Err(rejection) => rejection.status().as_u16(),
//!                 };
//!                 let mut response = Response::new(Full::new(Bytes::new()));
//!                 *response.status_mut() = status.try_into().unwrap();
//!                 Ok::<_, Infallible>(response)
//!             }
//!         });
//!         tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
//!     }
//! });
//!
//! // The fake store, sending to it; a shopper buys two small T-shirts.
//! let fake = FakeStore::builder()
//!     .store(demo::store())
//!     .tokens(demo::tokens())
//!     .webhooks(url, client_secret)
//!     .start()
//!     .await?;
//! let (tee, small) = demo::SMALL_TEE;
//! let order = fake.sell(demo::STORE, Sale::new().variation(tee, small, 2).paid())?;
//! let item = StockItem::Variation { product: tee, combination: small };
//! assert_eq!(fake.stock(demo::STORE, item), Some(Stock::Quantity(8)));
//!
//! // Both events arrive, verified: the order's, and the T-shirt's stock change.
//! fake.wait_for_webhooks_delivered().await?;
//! let mut kinds = Vec::new();
//! for _ in 0..2 {
//!     kinds.push(received.recv().await.expect("an event").kind);
//! }
//! assert!(kinds.iter().any(|kind| matches!(kind,
//!     EventKind::OrderCreated(created) if created.order_id.as_ref() == Some(&order))));
//! assert!(kinds.iter().any(|kind| matches!(kind,
//!     EventKind::ProductUpdated { product_id } if *product_id == tee)));
//! # Ok(()) }
//! ```

use std::collections::HashSet;
use std::fmt;
use std::time::{Duration, SystemTime};

use hyper::Uri;
use secrecy::SecretString;
use tokio::sync::mpsc::UnboundedSender;

use ecwid_inventory::generated::types::{WebhookBody, WebhookBodyEntityId, WebhookData};
use ecwid_inventory::{ProductId, StoreId};

/// The statuses Ecwid counts as delivered.
pub const DELIVERED_STATUSES: [u16; 5] = [200, 201, 202, 204, 209];

/// How long a delivery waits for its connection, as Ecwid does.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// How long a delivery waits for its answer once connected, as Ecwid does.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

/// How many times Ecwid retries a delivery that failed: [`ecwid_retry_schedule`]'s length.
pub const ECWID_RETRIES: usize = 27;

/// Whether an answer with this status delivered the event, by Ecwid's rule: 200, 201, 202,
/// 204 or 209 only (so not 203, 206, 208, any 3xx).
///
/// ```
/// use ecwid_inventory_fake::webhooks::is_delivered;
///
/// assert!(is_delivered(200) && is_delivered(204) && is_delivered(209));
/// assert!(!is_delivered(203) && !is_delivered(302) && !is_delivered(500));
/// ```
pub fn is_delivered(status: u16) -> bool {
    DELIVERED_STATUSES.contains(&status)
}

/// Ecwid's retry schedule: the waits before each of its 27 retries, counted from the attempt
/// before, so that the retries come 15, 30 and 45 minutes and 1 hour after the first attempt,
/// then every hour until 24 hours after it.
///
/// ```
/// use std::time::Duration;
/// use ecwid_inventory_fake::webhooks::{ecwid_retry_schedule, ECWID_RETRIES};
///
/// let schedule = ecwid_retry_schedule();
/// assert_eq!(schedule.len(), ECWID_RETRIES);
/// assert_eq!(schedule[0], Duration::from_secs(15 * 60));
/// assert_eq!(schedule.iter().sum::<Duration>(), Duration::from_secs(24 * 60 * 60));
/// ```
pub fn ecwid_retry_schedule() -> Vec<Duration> {
    let quarter = Duration::from_secs(15 * 60);
    let hour = Duration::from_secs(60 * 60);
    let mut schedule = vec![quarter; 4];
    schedule.extend(std::iter::repeat_n(hour, ECWID_RETRIES - 4));
    schedule
}

/// The fault mode of webhook deliveries: duplicates and random delays (which reorder events),
/// decided by a random generator seeded by the test, so that a run can be made again. See the
/// [module docs](self).
///
/// ```
/// use std::time::Duration;
/// use ecwid_inventory_fake::{FakeStore, WebhookFaults};
///
/// // Half the events sent twice, each delivery delayed by up to half a second.
/// let faults = WebhookFaults::seeded(7)
///     .duplicates(0.5)
///     .delays(Duration::from_millis(500));
/// let builder = FakeStore::builder().webhook_faults(faults);
/// # let _ = builder;
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookFaults {
    pub(crate) seed: u64,
    pub(crate) duplicate_probability: f64,
    pub(crate) max_delay: Duration,
}

impl WebhookFaults {
    /// Faults decided by a generator seeded with `seed`: by default every other event (on
    /// average) is sent twice, and each delivery waits up to 1 second before its first
    /// attempt.
    pub fn seeded(seed: u64) -> Self {
        WebhookFaults {
            seed,
            duplicate_probability: 0.5,
            max_delay: Duration::from_secs(1),
        }
    }

    /// The chance, from 0 to 1 (clamped), that an event is sent twice.
    pub fn duplicates(mut self, probability: f64) -> Self {
        self.duplicate_probability = if probability.is_nan() {
            0.0
        } else {
            probability.clamp(0.0, 1.0)
        };
        self
    }

    /// The longest a delivery waits before its first attempt (each waits a random time up to
    /// it, whole milliseconds); zero: no delay, so no reordering beyond the background's own.
    pub fn delays(mut self, max: Duration) -> Self {
        self.max_delay = max;
        self
    }
}

/// An event the fake sent (or is sending) to the webhook URL.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SentWebhook {
    /// `eventId`: a UUID.
    pub event_id: String,
    /// `eventType`, such as `order.created`.
    pub event_type: String,
    /// `storeId`.
    pub store: StoreId,
    /// `entityId`: the order's internal number (`orderNumber`) for `order.*`, the product's id
    /// for `product.updated`.
    pub entity_id: u64,
    /// `eventCreated`: UNIX seconds of the fake's clock.
    pub created: i64,
    /// The body, exactly as sent.
    pub body: String,
    /// How long each delivery of the event waited before its first attempt: one entry per
    /// delivery (two when the fault mode sent it twice), zero without the fault mode.
    pub delays: Vec<Duration>,
}

/// One attempt to deliver an event.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebhookDelivery {
    /// The event's `eventId`.
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// Which delivery of the event, from 1 (2 for the fault mode's duplicate).
    pub delivery: u32,
    /// Which attempt of that delivery, from 1 (so 2 is the first retry).
    pub attempt: u32,
    /// When the attempt ended, on the fake's clock.
    pub at: SystemTime,
    /// What came of it.
    pub outcome: DeliveryOutcome,
}

impl WebhookDelivery {
    /// Whether this attempt delivered the event.
    pub fn is_delivered(&self) -> bool {
        matches!(self.outcome, DeliveryOutcome::Delivered { .. })
    }
}

/// What came of one delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryOutcome {
    /// Answered with one of [`DELIVERED_STATUSES`]: no more attempts.
    Delivered {
        /// The status answered.
        status: u16,
    },
    /// Answered with another status: retried, while the schedule lasts.
    NotDelivered {
        /// The status answered.
        status: u16,
    },
    /// No answer: the connection failed, or timed out ([`CONNECT_TIMEOUT`],
    /// [`ANSWER_TIMEOUT`]). Retried, while the schedule lasts.
    Failed {
        /// What went wrong.
        error: String,
    },
}

impl DeliveryOutcome {
    /// The status answered, if there was an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            DeliveryOutcome::Delivered { status } | DeliveryOutcome::NotDelivered { status } => {
                Some(*status)
            }
            DeliveryOutcome::Failed { .. } => None,
        }
    }
}

/// Where webhooks go, and how: what does not change once the fake is started.
pub(crate) struct WebhookTarget {
    pub(crate) url: Uri,
    pub(crate) client_secret: SecretString,
    /// The waits before each retry.
    pub(crate) schedule: Vec<Duration>,
}

// The secret's own Debug is redacted; the rest is worth seeing.
impl fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookTarget")
            .field("url", &self.url)
            .field("client_secret", &"[REDACTED]")
            .field("retries", &self.schedule.len())
            .finish()
    }
}

/// Reads a webhook URL: `http://host[:port][/path][?query]`. The fake sends over plain HTTP
/// only: its receivers are tests on loopback.
pub(crate) fn webhook_url(url: &str) -> Result<Uri, String> {
    let uri: Uri = url
        .parse()
        .map_err(|error| format!("the webhook URL {url:?} is not a URL: {error}"))?;
    if uri.scheme_str() != Some("http") || uri.host().is_none() {
        return Err(format!(
            "the webhook URL {url:?} must be http://host[:port]/path (the fake sends over plain \
             HTTP)"
        ));
    }
    Ok(uri)
}

/// One event on its way to the delivery worker.
#[derive(Clone, Debug)]
pub(crate) struct Outgoing {
    pub(crate) event_id: String,
    pub(crate) event_type: String,
    pub(crate) created: i64,
    pub(crate) body: String,
    /// One delay per delivery.
    pub(crate) delays: Vec<Duration>,
}

/// The state's side of webhooks: makes the events, decides the faults, and keeps the records.
/// Without webhooks configured it makes and records nothing.
#[derive(Debug)]
pub(crate) struct Outbox {
    sender: Option<UnboundedSender<Outgoing>>,
    faults: Option<WebhookFaults>,
    /// Event ids and the fault mode's decisions.
    random: fastrand::Rng,
    sent: Vec<SentWebhook>,
    deliveries: Vec<WebhookDelivery>,
    /// Deliveries neither delivered nor given up yet.
    pending: usize,
}

impl Default for Outbox {
    fn default() -> Self {
        Outbox {
            sender: None,
            faults: None,
            random: fastrand::Rng::new(),
            sent: Vec::new(),
            deliveries: Vec::new(),
            pending: 0,
        }
    }
}

/// What an order event says of the order.
pub(crate) struct OrderChange<'a> {
    pub(crate) store: StoreId,
    pub(crate) number: u64,
    pub(crate) order_id: &'a str,
    /// The statuses after, as Ecwid spells them (`None` for a deletion).
    pub(crate) new: Option<(&'a str, &'a str)>,
    /// The statuses before, for an update.
    pub(crate) old: Option<(&'a str, &'a str)>,
}

impl Outbox {
    /// An outbox that sends to the delivery worker, with `faults` if any.
    pub(crate) fn new(sender: UnboundedSender<Outgoing>, faults: Option<WebhookFaults>) -> Self {
        let random = faults.as_ref().map_or_else(fastrand::Rng::new, |faults| {
            fastrand::Rng::with_seed(faults.seed)
        });
        Outbox {
            sender: Some(sender),
            faults,
            random,
            ..Outbox::default()
        }
    }

    /// Sends an `order.*` event.
    pub(crate) fn order_event(&mut self, event_type: &str, change: OrderChange<'_>, now: i64) {
        let data = WebhookData {
            order_id: Some(change.order_id.to_owned()),
            new_payment_status: change.new.map(|(payment, _)| payment.to_owned()),
            new_fulfillment_status: change.new.map(|(_, fulfillment)| fulfillment.to_owned()),
            old_payment_status: change.old.map(|(payment, _)| payment.to_owned()),
            old_fulfillment_status: change.old.map(|(_, fulfillment)| fulfillment.to_owned()),
        };
        self.send(change.store, event_type, change.number, Some(data), now);
    }

    /// Sends `product.updated` for each product, once each.
    pub(crate) fn products_updated(
        &mut self,
        store: StoreId,
        products: impl IntoIterator<Item = ProductId>,
        now: i64,
    ) {
        let mut seen = HashSet::new();
        for product in products {
            if seen.insert(product) {
                self.send(store, "product.updated", product.get(), None, now);
            }
        }
    }

    fn send(
        &mut self,
        store: StoreId,
        event_type: &str,
        entity_id: u64,
        data: Option<WebhookData>,
        now: i64,
    ) {
        let Some(sender) = &self.sender else {
            return;
        };
        let event_id = uuid::Builder::from_random_bytes(self.random.u128(..).to_le_bytes())
            .into_uuid()
            .to_string();
        let body = WebhookBody {
            event_id: event_id.clone(),
            event_created: now,
            store_id: Some(i64::try_from(store.get()).unwrap_or(i64::MAX)),
            entity_id: Some(WebhookBodyEntityId::Int64(
                i64::try_from(entity_id).unwrap_or(i64::MAX),
            )),
            event_type: Some(event_type.to_owned()),
            data,
        };
        let body = serde_json::to_string(&body).expect("generated types serialize");
        let delays = match &self.faults {
            None => vec![Duration::ZERO],
            Some(faults) => {
                let copies = if self.random.f64() < faults.duplicate_probability {
                    2
                } else {
                    1
                };
                let most = u64::try_from(faults.max_delay.as_millis()).unwrap_or(u64::MAX);
                (0..copies)
                    .map(|_| Duration::from_millis(self.random.u64(0..=most)))
                    .collect()
            }
        };
        tracing::debug!(event_id, event_type, entity_id, "fake store: webhook event");
        self.pending += delays.len();
        self.sent.push(SentWebhook {
            event_id: event_id.clone(),
            event_type: event_type.to_owned(),
            store,
            entity_id,
            created: now,
            body: body.clone(),
            delays: delays.clone(),
        });
        // The worker is gone only once the fake is stopped: nothing is delivered then.
        let _ = sender.send(Outgoing {
            event_id,
            event_type: event_type.to_owned(),
            created: now,
            body,
            delays,
        });
    }

    /// Records an attempt; `last` when the delivery is over (delivered, or given up).
    pub(crate) fn record(&mut self, attempt: WebhookDelivery, last: bool) {
        self.deliveries.push(attempt);
        if last {
            self.pending = self.pending.saturating_sub(1);
        }
    }

    pub(crate) fn sent(&self) -> &[SentWebhook] {
        &self.sent
    }

    pub(crate) fn deliveries(&self) -> &[WebhookDelivery] {
        &self.deliveries
    }

    /// Whether every event sent so far was delivered at least once.
    pub(crate) fn all_delivered(&self) -> bool {
        let delivered: HashSet<&str> = self
            .deliveries
            .iter()
            .filter(|attempt| attempt.is_delivered())
            .map(|attempt| attempt.event_id.as_str())
            .collect();
        self.sent
            .iter()
            .all(|event| delivered.contains(event.event_id.as_str()))
    }

    /// Whether no delivery is left to try.
    pub(crate) fn settled(&self) -> bool {
        self.pending == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ecwids_statuses_deliver() {
        for status in [200, 201, 202, 204, 209] {
            assert!(is_delivered(status), "{status}");
        }
        for status in [
            100, 203, 205, 206, 207, 208, 226, 301, 302, 303, 304, 307, 308, 400, 401, 404, 408,
            409, 429, 500, 502, 503, 504,
        ] {
            assert!(!is_delivered(status), "{status}");
        }
    }

    #[test]
    fn ecwids_schedule_retries_27_times_over_a_day() {
        let schedule = ecwid_retry_schedule();
        assert_eq!(schedule.len(), 27);
        let after_first: Vec<u64> = schedule
            .iter()
            .scan(Duration::ZERO, |sum, wait| {
                *sum += *wait;
                Some(sum.as_secs() / 60)
            })
            .collect();
        assert_eq!(after_first[..5], [15, 30, 45, 60, 120]);
        assert_eq!(after_first.last(), Some(&(24 * 60)));
    }

    #[test]
    fn only_plain_http_urls_are_taken() {
        assert!(webhook_url("http://127.0.0.1:8080/hooks?app=1").is_ok());
        assert!(webhook_url("http://localhost/hooks").is_ok());
        for url in [
            "https://example.com/hooks",
            "127.0.0.1:8080",
            "/hooks",
            "",
            "http://",
        ] {
            assert!(webhook_url(url).is_err(), "{url}");
        }
    }

    #[test]
    fn the_same_seed_makes_the_same_events_and_faults() {
        let run = || {
            let (sender, _receiver) = tokio::sync::mpsc::unbounded_channel();
            let mut outbox = Outbox::new(
                sender,
                Some(WebhookFaults::seeded(42).delays(Duration::from_secs(2))),
            );
            for product in 1..=20 {
                outbox.products_updated(StoreId::new(1), [ProductId::new(product)], 1_000);
            }
            outbox.sent().to_vec()
        };
        let (first, second) = (run(), run());
        assert_eq!(first, second);
        let copies: usize = first.iter().map(|event| event.delays.len()).sum();
        assert!(
            copies > 20 && copies < 40,
            "some, not all, sent twice: {copies}"
        );
        let ids: HashSet<&str> = first.iter().map(|event| event.event_id.as_str()).collect();
        assert_eq!(ids.len(), 20, "event ids are unique");
        assert!(ids.iter().all(|id| uuid::Uuid::parse_str(id).is_ok()));
    }
}
