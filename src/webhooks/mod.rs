//! Ecwid's webhooks, verified (feature `webhooks`): a delivery's headers and body in, a typed
//! [`WebhookEvent`] or the [`Rejection`] that says why not out. It takes plain [`http`] types,
//! so it works with any server and needs none.
//!
//! # The receiver's loop
//!
//! Ecwid POSTs each event to the app's webhook URL, waits at most 10 seconds for the answer,
//! and counts only 200, 201, 202, 204 and 209 as delivered; anything else (a timeout, a 5xx, a
//! 3xx, a 203) it retries, about 27 times over 24 hours, in no particular order with other
//! events. So a receiver, for each delivery:
//!
//! 1. **Verifies** it: [`Verifier::verify`]. A rejection is answered with
//!    [`Rejection::status`] and nothing is recorded.
//! 2. **Records** the event durably, keyed by `(store_id, event_id)`: Ecwid sends the same
//!    event again after any failure, and a captured delivery can be replayed, so a second
//!    delivery of an id is a duplicate and changes nothing.
//! 3. **Acknowledges**, 200, within the 10 seconds, and only once the record is durable: an
//!    event acknowledged and then lost is never sent again, while one recorded and not
//!    acknowledged merely comes back as a duplicate. If the recording fails, answer 5xx and let
//!    Ecwid retry.
//! 4. **Then works**, outside the request: for an order event, reads the order over REST by
//!    [`OrderEvent::order_id`] (`data.orderId`, never `entityId`, an internal number) and acts
//!    on the order as read, its lines and current statuses. A webhook carries no order lines,
//!    and its statuses may be stale by the time it arrives.
//!
//! # What the signature covers, and so what to trust
//!
//! Ecwid's signature, the `X-Ecwid-Webhook-Signature` header, is the base64 of an HMAC-SHA256
//! keyed with the app's *client secret* (not the store's `secret_…` API token) over
//! `"{eventCreated}.{eventId}"`, and over nothing else. The rest of the body (`storeId`,
//! `eventType`, `entityId`, `data`) is not signed: whoever captured one genuine delivery can
//! send its signature again with another body, for as long as the event's age is accepted.
//! Hence:
//!
//! - The signature is checked before anything in the body is believed: the body's store, age
//!   and type are looked at only after it matched ([`Verifier::verify`] lists the order of the
//!   checks). A missing, empty, repeated or malformed header is a rejection (Ecwid's own PHP
//!   example skips the check when the header is missing; this one fails closed).
//! - A verified event's fields are hints, not facts: which order to read, which product
//!   changed. The order read back from Ecwid is the fact, and what is done with it is
//!   deduplicated by the order and its lines, not by the event alone.
//! - An event older than the [maximum age](VerifierBuilder::max_age) (26 hours by default, to
//!   cover Ecwid's 24 hours of retries) is refused, which bounds how long a captured signature
//!   can be replayed and how long event ids must be remembered.
//!
//! # Never write stock in answer to `product.updated`
//!
//! Ecwid sends `product.updated` for every change of a product, its stock included: a checkout
//! sends an `order.created` and one `product.updated` per item sold, and every stock write
//! through the API sends another. A receiver that writes stock when it sees `product.updated`
//! (to mirror another channel, say) sets off its own next webhook, and loops forever. Mirror
//! Ecwid's sales from the *order* events; use product events at most to refresh a cache by
//! reading.
//!
//! # Limits
//!
//! The body is refused above [`DEFAULT_MAX_BODY_SIZE`] (64 KiB; Ecwid's bodies are a few
//! hundred bytes) before it is parsed; have the server stop reading there too
//! ([`Verifier::max_body_size`]). An event created more than [`DEFAULT_MAX_CLOCK_AHEAD`]
//! (5 minutes) ahead of the receiver's clock is refused; Ecwid retries it 15 minutes later. An
//! event of a store the verifier does not serve is refused: serve every store the app is
//! installed in, because Ecwid blocks an app's webhooks after two weeks of failed deliveries.
//!
//! # Example
//!
//! A delivery built as Ecwid builds one, with [`sign`], then verified and answered, with
//! nothing but the `http` crate:
//!
//! ```
//! use std::time::{SystemTime, UNIX_EPOCH};
//! use ecwid_inventory::webhooks::{sign, EventKind, SecretString, Verifier, SIGNATURE_HEADER};
//! use ecwid_inventory::{OrderId, StoreId, orders::PaymentStatus};
//! use http::{Request, Response, StatusCode};
//!
//! // Once, at start-up: the app's client secret, and the store(s) this receiver serves.
//! let client_secret = SecretString::from("the app's client_secret");
//! let verifier = Verifier::new(client_secret.clone(), StoreId::new(1003))?;
//!
//! // A delivery, as Ecwid sends it (here made with `sign`, as a test or a fake store would).
//! let created = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() as i64;
//! let event_id = "80aece08-40e8-4ca7-8d3f-4b2ffbf3b3a8";
//! let body = format!(
//!     r#"{{"eventId":"{event_id}","eventCreated":{created},"storeId":1003,"entityId":103878161,
//!         "eventType":"order.created","data":{{"orderId":"XJ12H","newPaymentStatus":"PAID",
//!         "newFulfillmentStatus":"AWAITING_PROCESSING"}}}}"#
//! );
//! let request = Request::post("/ecwid/webhooks")
//!     .header(SIGNATURE_HEADER, sign(&client_secret, created, event_id))
//!     .body(body.into_bytes())?;
//!
//! // The receiver: verify, record, acknowledge; the order is read afterwards.
//! let response = match verifier.verify_request(&request) {
//!     Err(rejection) => {
//!         // Log `rejection` (it never holds the secret or the body) and refuse.
//!         Response::builder().status(rejection.status()).body(rejection.to_string())?
//!     }
//!     Ok(event) => {
//!         if let EventKind::OrderCreated(order) = &event.kind {
//!             assert_eq!(order.order_id, Some(OrderId::new("XJ12H")));
//!             assert_eq!(order.new_payment_status, Some(PaymentStatus::Paid));
//!         }
//!         // Record (event.store_id, event.event_id) durably here; answer 5xx if that fails.
//!         Response::builder().status(StatusCode::OK).body(String::new())?
//!     }
//! };
//! assert_eq!(response.status(), StatusCode::OK);
//!
//! // The same body with another signature, or none, is refused.
//! let (mut parts, body) = request.into_parts();
//! parts.headers.remove(SIGNATURE_HEADER);
//! let unsigned = Request::from_parts(parts, body);
//! assert_eq!(verifier.verify_request(&unsigned).unwrap_err().status(), StatusCode::UNAUTHORIZED);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod event;
mod rejection;
mod signature;
mod verifier;

pub use event::{EventKind, OrderEvent, WebhookEvent};
pub use rejection::Rejection;
/// The client secret's type, re-exported so that a verifier can be built without naming the
/// `secrecy` crate.
pub use secrecy::SecretString;
pub use signature::{sign, SIGNATURE_HEADER};
pub use verifier::{
    Verifier, VerifierBuilder, DEFAULT_MAX_AGE, DEFAULT_MAX_BODY_SIZE, DEFAULT_MAX_CLOCK_AHEAD,
};
