//! [`Receiver`]: one webhook delivery in, the HTTP status to answer out, with the event
//! recorded before a 200 is ever given.

use std::{fmt, time::Duration};

use http::{Request, StatusCode};

use super::{record::Recorded, setup::Sales};
use crate::{
    webhooks::{Rejection, Verifier, WebhookEvent},
    Error,
};

/// How long [`Receiver::receive`] waits for the record by default before answering 503.
///
/// Ecwid waits 10 seconds for an answer, network included; half of that leaves room for a
/// slow connection and a slow proxy, and a commit that takes 5 s is a database in trouble.
pub const DEFAULT_TIME_BUDGET: Duration = Duration::from_secs(5);

/// The longest [`Receiver::time_budget`] accepted: under Ecwid's 10 seconds, with a second
/// left for the answer to travel.
pub const MAX_TIME_BUDGET: Duration = Duration::from_secs(9);

/// A webhook receiver without a server: verifies a delivery, records it in [`Sales`], and says
/// which status to answer. Put it behind any HTTP server (the example `receiver` uses axum).
///
/// It answers 200 only once the event is durably recorded (new, or a duplicate of one
/// recorded before), so an acknowledged event is never lost; everything else is answered with
/// a status Ecwid treats as "not delivered", and Ecwid delivers it again later:
///
/// | what happened | [`Receipt`] | status | why this status |
/// |---|---|---|---|
/// | recorded, or recorded before | `Recorded` | 200 OK | Ecwid stops retrying only on 200, 201, 202, 204, 209 |
/// | body over [`Verifier::max_body_size`] | `Refused(TooLarge)` | 413 Payload Too Large | refused by its length, before it is parsed |
/// | signature missing, repeated, malformed or not matching | `Refused(..)` | 401 Unauthorized | the sender did not prove it is Ecwid |
/// | not JSON, or not a webhook body | `Refused(..)` | 400 Bad Request | nothing to record |
/// | too old, from the future, another store | `Refused(..)` | 403 Forbidden | signed, but outside what this receiver accepts |
/// | signed, but an event id the journal cannot hold | `Failed(InvalidInput)` | 400 Bad Request | no retry would record it |
/// | the journal failed (down, full, unreachable) | `Failed(..)` | 503 Service Unavailable | Ecwid retries (about 27 times over 24 hours) |
/// | the record took longer than the [time budget](Receiver::time_budget) | `TimedOut` | 503 Service Unavailable | answered within Ecwid's 10 s; the retry is a duplicate if the record did land |
///
/// A refusal records nothing ([`Rejection::status`] says more about its statuses). A
/// timed-out record may still commit after the answer: the redelivery is then a duplicate,
/// answered 200, which is the safe side (recorded and not acknowledged, never acknowledged and
/// not recorded).
///
/// ```no_run
/// # async fn run(sales: ecwid_inventory::sales::Sales, verifier: ecwid_inventory::webhooks::Verifier,
/// #     request: http::Request<bytes::Bytes>) {
/// use ecwid_inventory::sales::Receiver;
///
/// let receiver = Receiver::new(verifier, sales);
/// // In the handler, with the body read up to `receiver.max_body_size()` bytes:
/// let receipt = receiver.receive(&request).await;
/// if !receipt.is_acknowledged() {
///     eprintln!("webhook not acknowledged: {receipt}"); // never the secret or the body
/// }
/// let status = receipt.status(); // answer with it, and no body beyond a short reason
/// # let _ = status; }
/// ```
#[derive(Clone)]
pub struct Receiver {
    verifier: Verifier,
    sales: Sales,
    time_budget: Duration,
}

/// What [`Receiver::receive`] did with a delivery; [`status`](Receipt::status) is the answer.
#[derive(Debug)]
#[non_exhaustive]
pub enum Receipt {
    /// Verified and on disk: answer 200.
    Recorded {
        /// The verified event.
        event: WebhookEvent,
        /// New, or a duplicate of an event recorded before.
        recorded: Recorded,
    },
    /// The verifier refused it; nothing was recorded.
    Refused(Rejection),
    /// Verified, and recording failed: nothing was recorded.
    Failed(Error),
    /// Verified, and the record did not finish within the time budget; it may still land.
    TimedOut {
        /// The budget that ran out.
        budget: Duration,
    },
}

impl Receiver {
    /// A receiver that verifies with `verifier` and records in `sales`, with the
    /// [`DEFAULT_TIME_BUDGET`].
    pub fn new(verifier: Verifier, sales: Sales) -> Receiver {
        Receiver {
            verifier,
            sales,
            time_budget: DEFAULT_TIME_BUDGET,
        }
    }

    /// How long to wait for the record before answering 503: more than zero, at most
    /// [`MAX_TIME_BUDGET`], or [`Error::InvalidInput`].
    pub fn time_budget(mut self, budget: Duration) -> Result<Receiver, Error> {
        if budget.is_zero() || budget > MAX_TIME_BUDGET {
            return Err(Error::InvalidInput(format!(
                "the receiver's time budget must be more than 0 and at most {} s, not {budget:?}",
                MAX_TIME_BUDGET.as_secs()
            )));
        }
        self.time_budget = budget;
        Ok(self)
    }

    /// The body size limit: have the server read at most this many bytes (plus one) and
    /// answer 413 past it, so that a large body is never all in memory.
    pub fn max_body_size(&self) -> usize {
        self.verifier.max_body_size()
    }

    /// The sales it records in (to process and read movements).
    pub fn sales(&self) -> &Sales {
        &self.sales
    }

    /// The verifier it checks deliveries with.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// Verifies the delivery, records it, and returns what happened; answer with
    /// [`Receipt::status`]. The body's length is checked first, before anything is parsed.
    pub async fn receive<B: AsRef<[u8]>>(&self, request: &Request<B>) -> Receipt {
        let body = request.body().as_ref();
        let limit = self.verifier.max_body_size();
        if body.len() > limit {
            return Receipt::Refused(Rejection::TooLarge {
                size: body.len(),
                limit,
            });
        }
        let event = match self.verifier.verify(request.headers(), body) {
            Ok(event) => event,
            Err(rejection) => return Receipt::Refused(rejection),
        };
        match tokio::time::timeout(self.time_budget, self.sales.record(&event)).await {
            Ok(Ok(recorded)) => Receipt::Recorded { event, recorded },
            Ok(Err(error)) => Receipt::Failed(error),
            Err(_) => Receipt::TimedOut {
                budget: self.time_budget,
            },
        }
    }
}

impl Receipt {
    /// The status to answer: 200 only when recorded (see [`Receiver`] for the table).
    pub fn status(&self) -> StatusCode {
        match self {
            Receipt::Recorded { .. } => StatusCode::OK,
            Receipt::Refused(rejection) => rejection.status(),
            Receipt::Failed(Error::InvalidInput(_)) => StatusCode::BAD_REQUEST,
            Receipt::Failed(_) | Receipt::TimedOut { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// Whether the answer tells Ecwid the delivery arrived (the event is on disk).
    pub fn is_acknowledged(&self) -> bool {
        matches!(self, Receipt::Recorded { .. })
    }
}

impl fmt::Display for Receipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Receipt::Recorded { event, recorded } => write!(
                f,
                "{} {} of store {} recorded{}",
                event.event_type(),
                event.event_id,
                event.store_id,
                if recorded.is_new() {
                    ""
                } else {
                    " before (a redelivery)"
                }
            ),
            Receipt::Refused(rejection) => write!(f, "refused: {rejection}"),
            Receipt::Failed(error) => write!(f, "not recorded: {error}"),
            Receipt::TimedOut { budget } => write!(
                f,
                "not recorded within {} ms; Ecwid will deliver it again",
                budget.as_millis()
            ),
        }
    }
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("verifier", &self.verifier)
            .field("time_budget", &self.time_budget)
            .finish_non_exhaustive()
    }
}
