//! [`Rejection`]: why a delivery was refused, and what to answer.

use std::{fmt, time::Duration};

use http::StatusCode;

use crate::StoreId;

/// Why [`Verifier::verify`](super::Verifier::verify) refused a delivery: nothing about it may be
/// trusted or recorded.
///
/// Its `Display` says why in one sentence, for a log; it never holds the client secret, the
/// signature or the body (a store id the body names is the most it repeats).
/// [`status`](Rejection::status) says what to answer.
///
/// The checks run in this order, so the first failure is the one reported: the body's size,
/// then the signature header (present once, base64 of 32 bytes), then the body (JSON with
/// `eventId` and `eventCreated`), then the signature itself, then the event's age, then its
/// store. A body whose signature does not match is never looked at further.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// The body is longer than the verifier's limit; it was refused before being parsed.
    TooLarge {
        /// The body's length in bytes.
        size: usize,
        /// The limit ([`VerifierBuilder::max_body_size`](super::VerifierBuilder::max_body_size)).
        limit: usize,
    },
    /// No `X-Ecwid-Webhook-Signature` header: Ecwid signs every delivery, so this one is not
    /// from Ecwid.
    MissingSignature,
    /// The `X-Ecwid-Webhook-Signature` header is empty (or only blanks).
    EmptySignature,
    /// The `X-Ecwid-Webhook-Signature` header comes more than once; which one to believe is not
    /// a question a receiver should answer.
    RepeatedSignature,
    /// The `X-Ecwid-Webhook-Signature` header is not the standard base64 of 32 bytes (an
    /// HMAC-SHA256).
    MalformedSignature,
    /// The body is not JSON.
    NotJson,
    /// The body is JSON but not an Ecwid webhook body.
    MalformedBody {
        /// What is wrong, such as "it has no eventId".
        what: &'static str,
    },
    /// The signature does not match the body's `eventCreated` and `eventId`: forged, altered,
    /// or signed with another app's client secret.
    BadSignature,
    /// The event is older than the verifier's maximum age (a replay, or a clock far behind).
    TooOld {
        /// How old the event is on the verifier's clock.
        age: Duration,
        /// The maximum age ([`VerifierBuilder::max_age`](super::VerifierBuilder::max_age)).
        max_age: Duration,
    },
    /// The event was created further ahead of the verifier's clock than it allows.
    FromTheFuture {
        /// How far ahead of the verifier's clock the event was created.
        ahead: Duration,
        /// The allowance
        /// ([`VerifierBuilder::max_clock_ahead`](super::VerifierBuilder::max_clock_ahead)).
        max_ahead: Duration,
    },
    /// The event is for a store the verifier does not serve, or names no store.
    UnknownStore {
        /// The store the body names, if any.
        store_id: Option<StoreId>,
    },
}

impl Rejection {
    /// The status a receiver should answer with.
    ///
    /// | rejection | status | why |
    /// |---|---|---|
    /// | `TooLarge` | 413 Payload Too Large | refused by size alone |
    /// | `MissingSignature`, `EmptySignature`, `RepeatedSignature`, `MalformedSignature`, `BadSignature` | 401 Unauthorized | the sender did not prove it is Ecwid |
    /// | `NotJson`, `MalformedBody` | 400 Bad Request | not a webhook body |
    /// | `TooOld`, `FromTheFuture`, `UnknownStore` | 403 Forbidden | signed, but outside what this receiver accepts |
    ///
    /// For Ecwid, every answer but 200, 201, 202, 204 and 209 means "not delivered, retry later"
    /// (about 27 times over 24 hours), so the status changes nothing for Ecwid; it is for your
    /// logs and for whoever sent a forgery, who learns only that it was refused. Send no body
    /// beyond a short reason. Mind that a genuine delivery refused as too old or for an unknown
    /// store is retried and refused again until Ecwid gives up, and that Ecwid blocks an app's
    /// webhooks after two weeks of failed deliveries: serve every store the app is installed in.
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Rejection::MissingSignature
            | Rejection::EmptySignature
            | Rejection::RepeatedSignature
            | Rejection::MalformedSignature
            | Rejection::BadSignature => StatusCode::UNAUTHORIZED,
            Rejection::NotJson | Rejection::MalformedBody { .. } => StatusCode::BAD_REQUEST,
            Rejection::TooOld { .. }
            | Rejection::FromTheFuture { .. }
            | Rejection::UnknownStore { .. } => StatusCode::FORBIDDEN,
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HEADER: &str = "the X-Ecwid-Webhook-Signature header";
        match self {
            Rejection::TooLarge { size, limit } => write!(
                f,
                "the body is {size} bytes, more than the {limit} accepted; it was not parsed"
            ),
            Rejection::MissingSignature => {
                write!(f, "{HEADER} is missing: the delivery is not from Ecwid")
            }
            Rejection::EmptySignature => write!(f, "{HEADER} is empty"),
            Rejection::RepeatedSignature => write!(f, "{HEADER} comes more than once"),
            Rejection::MalformedSignature => {
                write!(f, "{HEADER} is not the base64 of a 32-byte HMAC-SHA256")
            }
            Rejection::NotJson => f.write_str("the body is not JSON"),
            Rejection::MalformedBody { what } => {
                write!(f, "the body is not an Ecwid webhook body: {what}")
            }
            Rejection::BadSignature => f.write_str(
                "the signature does not match the event's eventCreated and eventId: forged, \
                 altered, or signed with another app's client secret",
            ),
            Rejection::TooOld { age, max_age } => write!(
                f,
                "the event is {} s old, older than the {} s accepted",
                age.as_secs(),
                max_age.as_secs()
            ),
            Rejection::FromTheFuture { ahead, max_ahead } => write!(
                f,
                "the event was created {} s ahead of this receiver's clock, more than the {} s \
                 allowed",
                ahead.as_secs(),
                max_ahead.as_secs()
            ),
            Rejection::UnknownStore { store_id: Some(id) } => {
                write!(
                    f,
                    "the event is for store {id}, which this receiver does not serve"
                )
            }
            Rejection::UnknownStore { store_id: None } => {
                f.write_str("the event names no store (storeId)")
            }
        }
    }
}

impl std::error::Error for Rejection {}
