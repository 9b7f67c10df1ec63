//! Ecwid's webhooks, verified (feature `webhooks`): a delivery's headers and body in, a typed
//! event or the reason it was refused out.
//!
//! Ecwid signs `"{eventCreated}.{eventId}"` with the app's client secret; [`Verifier`] checks
//! that signature in constant time and fails closed on everything else (no header, two headers,
//! a body too large, not JSON, too old, another store's). It takes plain `http` types, so any
//! server works.

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
