//! Where what Ecwid sends enters the crate, and what the wrapper makes of it: every attempt's
//! answer passes through three steps, a file each.
//!
//! - [`hook`]: the generated client's `ClientHooks`, run around every request it sends. It
//!   records in the call's [`CallContext`] what the wire saw (the status, `Retry-After`,
//!   whether a `GET` went out), which progenitor's own errors drop.
//! - [`scrub`]: the token scrub. A server (or a proxy) may repeat the request's `Authorization`
//!   value in its answer; whatever the wrapper builds from an answer is scrubbed first, by one
//!   [`Redactor`].
//! - [`outcome`]: an attempt's outcome in the crate's terms, the answer's value or the
//!   [`Error`](crate::Error) it amounts to ([`read_answer`]). The wrapper reads answers nowhere
//!   else.
//!
//! The hook depends on the scrub, the outcome on both; `build.rs` names [`CallContext`] by
//! this module's path, as the generated client's per-call context.

mod hook;
mod outcome;
mod scrub;

pub use hook::CallContext;
pub(crate) use outcome::{read_answer, ErrorFields};
// The retry table's tests map a real failed connection through it.
#[cfg(test)]
pub(crate) use outcome::error_from_transport;
pub(crate) use scrub::{Redactor, Scrub};
