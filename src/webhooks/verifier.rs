//! [`Verifier`]: a delivery's headers and body in, a verified [`WebhookEvent`] or a
//! [`Rejection`] out, in a fixed order of checks.

use std::{
    collections::BTreeSet,
    fmt,
    time::{Duration, UNIX_EPOCH},
};

use http::{HeaderMap, Request};
use secrecy::{ExposeSecret, SecretString};

use super::{event, signature, Rejection, WebhookEvent};
use crate::{Error, StoreId, TimeSource};

/// The default maximum age of an event: 26 hours. Ecwid retries a failed delivery about 27 times
/// over 24 hours after the event, so a genuine retry is never older than about a day; two hours
/// more cover a late last retry and a clock behind Ecwid's.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(26 * 60 * 60);

/// The default allowance for an event created ahead of the verifier's clock: 5 minutes, for a
/// clock a little behind Ecwid's. A genuine event refused for it is retried by Ecwid 15 minutes
/// later, and accepted then.
pub const DEFAULT_MAX_CLOCK_AHEAD: Duration = Duration::from_secs(5 * 60);

/// The default body size limit: 64 KiB. Ecwid's bodies are a few hundred bytes (ids, a type, a
/// few statuses; never an order's lines), so this leaves room for fields Ecwid adds while
/// keeping what a stranger can make the receiver parse small.
pub const DEFAULT_MAX_BODY_SIZE: usize = 64 * 1024;

/// The longest maximum age accepted: an event id must be remembered (to deduplicate it) for as
/// long as a delivery of it is accepted.
const LONGEST_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// The longest allowance for a clock behind Ecwid's.
const LONGEST_MAX_CLOCK_AHEAD: Duration = Duration::from_secs(60 * 60);
/// The largest body size limit accepted.
const LARGEST_MAX_BODY_SIZE: usize = 1024 * 1024;

/// Checks Ecwid's webhook deliveries: built once from the app's client secret and the stores
/// the receiver serves, then [`verify`](Verifier::verify) for each delivery. Cheap to clone;
/// `Send` and `Sync`.
///
/// The client secret is the app's `client_secret` (not the store's `secret_…` API token). It
/// never appears in `Debug`, `Display`, errors or logs.
#[derive(Clone)]
pub struct Verifier(Settings);

/// The settings of a [`Verifier`], from [`Verifier::builder`].
#[derive(Clone)]
#[must_use = "a builder does nothing until .build() is called"]
pub struct VerifierBuilder(Settings);

/// What a verifier checks against; checked once, by [`VerifierBuilder::build`].
#[derive(Clone)]
struct Settings {
    client_secret: SecretString,
    stores: BTreeSet<StoreId>,
    max_age: Duration,
    max_clock_ahead: Duration,
    max_body_size: usize,
    clock: TimeSource,
}

impl Verifier {
    /// A verifier with the default settings for the app's `client_secret`, serving `store`.
    /// Fails as [`VerifierBuilder::build`] does.
    pub fn new(client_secret: SecretString, store: StoreId) -> Result<Verifier, Error> {
        Verifier::builder(client_secret, store).build()
    }

    /// Starts configuring a verifier for the app's `client_secret`, serving `store` (add more
    /// with [`also_serve`](VerifierBuilder::also_serve)).
    pub fn builder(client_secret: SecretString, store: StoreId) -> VerifierBuilder {
        VerifierBuilder(Settings {
            client_secret,
            stores: BTreeSet::from([store]),
            max_age: DEFAULT_MAX_AGE,
            max_clock_ahead: DEFAULT_MAX_CLOCK_AHEAD,
            max_body_size: DEFAULT_MAX_BODY_SIZE,
            clock: TimeSource::system(),
        })
    }

    /// Verifies one delivery: its headers and its whole body, as received.
    ///
    /// The checks, in this order, each failing closed: the body is at most
    /// [`max_body_size`](VerifierBuilder::max_body_size) long (before it is parsed); the
    /// `X-Ecwid-Webhook-Signature` header is there, once, not empty, and the base64 of 32
    /// bytes; the body is JSON with an `eventId` and an `eventCreated`; the signature matches
    /// them (in constant time); the event is neither older than the maximum age nor further
    /// ahead of the clock than allowed; its `storeId` is one the verifier serves. Unknown
    /// event types and fields never fail it.
    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<WebhookEvent, Rejection> {
        if body.len() > self.0.max_body_size {
            return Err(Rejection::TooLarge {
                size: body.len(),
                limit: self.0.max_body_size,
            });
        }
        let signature = signature::from_headers(headers)?;
        let body = event::read_body(body)?;
        // Nothing else in the body is looked at before the signature over its id and time holds.
        signature::check(
            &self.0.client_secret,
            body.event_created(),
            body.event_id(),
            &signature,
        )?;
        self.check_age(body.event_created())?;
        let store_id = body
            .store_id()
            .filter(|id| self.0.stores.contains(id))
            .ok_or(Rejection::UnknownStore {
                store_id: body.store_id(),
            })?;
        Ok(body.into_event(store_id))
    }

    /// [`verify`](Verifier::verify) for a request whose body was read whole (for servers that
    /// hand one over, such as hyper after `collect()` or axum's `Request<Bytes>`).
    pub fn verify_request<B: AsRef<[u8]>>(
        &self,
        request: &Request<B>,
    ) -> Result<WebhookEvent, Rejection> {
        self.verify(request.headers(), request.body().as_ref())
    }

    /// The body size limit: read at most this many bytes (plus one, to tell a body over it)
    /// from the connection, so that a large body is refused before it is all in memory.
    pub fn max_body_size(&self) -> usize {
        self.0.max_body_size
    }

    /// Whether the verifier accepts events of `store`.
    pub fn serves(&self, store: StoreId) -> bool {
        self.0.stores.contains(&store)
    }

    /// Refuses an event older than the maximum age or further ahead than allowed, on the
    /// verifier's clock, in whole seconds as `eventCreated` is.
    fn check_age(&self, event_created: i64) -> Result<(), Rejection> {
        let now = match self.0.clock.now().duration_since(UNIX_EPOCH) {
            Ok(since) => i128::from(since.as_secs()),
            // A clock before 1970 sees every event as ahead of it: refused.
            Err(_) => 0,
        };
        let age = now - i128::from(event_created);
        let secs =
            |s: i128| Duration::from_secs(u64::try_from(s.unsigned_abs()).unwrap_or(u64::MAX));
        if age >= 0 && secs(age) > self.0.max_age {
            return Err(Rejection::TooOld {
                age: secs(age),
                max_age: self.0.max_age,
            });
        }
        if age < 0 && secs(age) > self.0.max_clock_ahead {
            return Err(Rejection::FromTheFuture {
                ahead: secs(age),
                max_ahead: self.0.max_clock_ahead,
            });
        }
        Ok(())
    }
}

impl VerifierBuilder {
    /// Accepts the events of `store` too. An event whose `storeId` is not one of the stores
    /// served is refused ([`Rejection::UnknownStore`]).
    pub fn also_serve(mut self, store: StoreId) -> Self {
        self.0.stores.insert(store);
        self
    }

    /// The oldest event accepted, measured from `eventCreated` on the verifier's clock (default
    /// [`DEFAULT_MAX_AGE`], 26 hours; at most 7 days). Older ones are refused
    /// ([`Rejection::TooOld`]): a captured delivery replayed later fails here, and the event
    /// ids a receiver must remember to deduplicate are those of this span. Shorter than
    /// Ecwid's 24 hours of retries, a delivery retried late is refused for good.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.0.max_age = max_age;
        self
    }

    /// How far ahead of the verifier's clock an event may have been created (default
    /// [`DEFAULT_MAX_CLOCK_AHEAD`], 5 minutes; at most 1 hour; zero allowed). Further ahead is
    /// refused ([`Rejection::FromTheFuture`]).
    pub fn max_clock_ahead(mut self, max_clock_ahead: Duration) -> Self {
        self.0.max_clock_ahead = max_clock_ahead;
        self
    }

    /// The longest body accepted, in bytes (default [`DEFAULT_MAX_BODY_SIZE`], 64 KiB; at most
    /// 1 MiB). A longer one is refused before it is parsed ([`Rejection::TooLarge`]).
    pub fn max_body_size(mut self, max_body_size: usize) -> Self {
        self.0.max_body_size = max_body_size;
        self
    }

    /// Where the verifier reads the wall clock for an event's age (default
    /// [`TimeSource::system`]); tests set their own.
    pub fn time_source(mut self, time_source: TimeSource) -> Self {
        self.0.clock = time_source;
        self
    }

    /// Checks the settings and builds the verifier.
    ///
    /// Fails with [`Error::Config`] on an empty client secret (anyone could sign with it), a
    /// zero store id, a zero maximum age or one over 7 days, a clock allowance over 1 hour, or
    /// a zero body size limit or one over 1 MiB. The message never holds the secret.
    pub fn build(self) -> Result<Verifier, Error> {
        let s = self.0;
        let config = |message: String| Err(Error::Config(message));
        if s.client_secret.expose_secret().is_empty() {
            return config("the webhook client secret must not be empty".into());
        }
        for store in &s.stores {
            store.checked().map_err(Error::Config)?;
        }
        if s.max_age.is_zero() || s.max_age > LONGEST_MAX_AGE {
            return config(format!(
                "a webhook verifier's maximum age ({:?}) must be more than zero and at most {} days",
                s.max_age,
                LONGEST_MAX_AGE.as_secs() / 86_400
            ));
        }
        if s.max_clock_ahead > LONGEST_MAX_CLOCK_AHEAD {
            return config(format!(
                "a webhook verifier's clock allowance ({:?}) must be at most {} minutes",
                s.max_clock_ahead,
                LONGEST_MAX_CLOCK_AHEAD.as_secs() / 60
            ));
        }
        if s.max_body_size == 0 || s.max_body_size > LARGEST_MAX_BODY_SIZE {
            return config(format!(
                "a webhook verifier's body size limit ({} bytes) must be more than zero and at \
                 most {LARGEST_MAX_BODY_SIZE} bytes",
                s.max_body_size
            ));
        }
        Ok(Verifier(s))
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.debug("Verifier", f)
    }
}

impl fmt::Debug for VerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.debug("VerifierBuilder", f)
    }
}

impl Settings {
    /// The settings as `Debug` shows them, the secret left out.
    fn debug(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(name)
            .field("client_secret", &"[redacted]")
            .field("stores", &self.stores)
            .field("max_age", &self.max_age)
            .field("max_clock_ahead", &self.max_clock_ahead)
            .field("max_body_size", &self.max_body_size)
            .field("clock", &self.clock)
            .finish()
    }
}
