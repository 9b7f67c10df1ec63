//! The one public [`Error`]. How the transport's raw outcomes map into it is in
//! `transport/outcome.rs`.
//!
//! The most important fact an error carries for a stock sync is whether the delta may have been
//! applied: see [`Error::may_have_been_applied`].

use std::time::Duration;

/// The underlying cause of a transport error, reachable through
/// [`std::error::Error::source`]. Boxed, so that the HTTP library behind it is not part of
/// this crate's API.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong with a call.
///
/// Each variant says whether the request may have reached Ecwid. Sort errors by
/// [`may_have_been_applied`](Error::may_have_been_applied): when it is `false` nothing changed
/// and the call can be made again; when it is `true`, read the item's stock back from Ecwid (or
/// your own record of it) before deciding whether to send the delta again. A read (a search, a
/// product or variation read, a batch of reads, a batch's status) applies nothing, so its
/// errors always say `false`: the variants that may reach Ecwid carry `read` to say so. The
/// client sends a delta again by itself only when nothing can have been applied (a failed
/// connection, a `429`), or [exactly once](crate::stock::AdjustStock::exactly_once) under its
/// deduplication key; a request that is safe to repeat (a read, a set, a batch create under its
/// key, a status read) it also sends again after an error that may have been applied (or, for a
/// read, that left it unanswered). The crate docs' errors table says which, variant by variant.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client configuration is wrong (token, base URL, environment). Nothing was sent.
    #[error("invalid client configuration: {0}")]
    Config(String),

    /// An argument of the call is wrong (a zero id, a zero delta...). Nothing was sent.
    #[error("invalid input: {0}")]
    InvalidInput(String),

    /// The request never reached Ecwid: the connection could not be made (refused, DNS, TLS
    /// handshake, connect timeout). Nothing was applied; retried automatically with backoff.
    #[error("could not connect to Ecwid: {source}")]
    #[non_exhaustive]
    Connect {
        /// The transport error.
        #[source]
        source: BoxError,
    },

    /// Ecwid answered `429 Too Many Requests`. Ecwid documents that such a request is ignored,
    /// so nothing was applied. Retried automatically unless the wait Ecwid asks for is longer
    /// than the client's cap or the retries ran out.
    #[error("rate limited by Ecwid{}", retry_after_text(*retry_after))]
    #[non_exhaustive]
    RateLimited {
        /// How long Ecwid asked to wait, from `Retry-After`.
        retry_after: Option<Duration>,
        /// Ecwid's error code, when the body carried one.
        error_code: Option<String>,
        /// Ecwid's error message, or an excerpt of a non-JSON body.
        error_message: Option<String>,
    },

    /// Ecwid (or a proxy in front of it) answered with an error status other than 429.
    ///
    /// A 4xx means the request was refused: nothing was applied. A 5xx means the server failed
    /// while handling it: a write (a delta, a set, a batch of writes) may have been applied; a
    /// read applied nothing.
    #[error(
        "Ecwid answered {status}{}{}",
        code_text(error_code),
        message_text(error_message)
    )]
    #[non_exhaustive]
    Api {
        /// The HTTP status.
        status: u16,
        /// Ecwid's `errorCode`, such as `PRODUCT_NOT_FOUND`.
        error_code: Option<String>,
        /// Ecwid's `errorMessage`, or an excerpt of a body that is not Ecwid's JSON (an HTML
        /// page's title, a plain-text line).
        error_message: Option<String>,
        /// Ecwid's `args`, values the message refers to.
        args: Vec<(String, String)>,
        /// The request was a read, which applies nothing.
        read: bool,
    },

    /// The request may have reached Ecwid, but no answer arrived in time (the per-attempt
    /// timeout or the call's deadline). A write may have been applied; a read applied nothing.
    #[error("no answer from Ecwid in time{}", applied_text(*read))]
    #[non_exhaustive]
    Timeout {
        /// The transport error, when the per-attempt timer fired (none when the call's deadline
        /// cut the attempt).
        #[source]
        source: Option<BoxError>,
        /// The request was a read, which applies nothing.
        read: bool,
    },

    /// The connection failed after the request may have been written (reset, closed before the
    /// answer). A write may have been applied; a read applied nothing.
    #[error("connection to Ecwid lost{}: {source}", applied_text(*read))]
    #[non_exhaustive]
    Transport {
        /// The transport error.
        #[source]
        source: BoxError,
        /// The request was a read, which applies nothing.
        read: bool,
    },

    /// Ecwid answered with a success status but a body that cannot be read as the documented
    /// answer, or pages of a search that cannot be trusted to end. A write may have been
    /// applied; a read applied nothing.
    #[error(
        "unreadable answer from Ecwid{}{}: {detail}",
        status_text(*status),
        applied_text(*read)
    )]
    #[non_exhaustive]
    InvalidResponse {
        /// The HTTP status; `None` in the unlikely case that no status could be recorded.
        status: Option<u16>,
        /// What was wrong with the body.
        detail: String,
        /// The request was a read, which applies nothing.
        read: bool,
    },

    /// An earlier call got `403 INVALID_API_TOKEN`, so this client sends nothing more: Ecwid
    /// blocks tokens, then IP addresses, that keep failing. Build a new client with a valid token,
    /// or call [`Client::reset_token_guard`](crate::Client::reset_token_guard). Nothing was sent.
    #[error("the API token was rejected by Ecwid earlier; this client sends nothing more")]
    TokenRejected,

    /// The client (or a clone of it) was [closed](crate::Client::close): it sends nothing more.
    /// A call made after the close, or still waiting for the rate limiter when it came, ends
    /// here; nothing was sent. Build a new client to send again.
    #[error("the client was closed; the request was not sent")]
    Closed,

    /// The call's deadline passed before the request could be sent (waiting for the client's
    /// rate limiter, or after a retry's wait). This attempt was not sent; earlier attempts of
    /// the same call, if any, were refused (a `429`) or never reached Ecwid. Nothing was applied.
    #[error("the call's deadline passed before the request was sent")]
    DeadlineExceeded,

    /// An [exactly-once](crate::stock::AdjustStock::exactly_once) adjustment whose outcome could not
    /// be learned before the call's deadline or the end of its deduplication key's window:
    /// it may have been applied. `detail` says which, and what is known.
    #[error("the outcome is unknown; the adjustment may have been applied: {detail}")]
    #[non_exhaustive]
    OutcomeUnknown {
        /// What was known when the call gave up.
        detail: String,
    },

    /// An exactly-once call under a caller's key
    /// ([`exactly_once_key`](crate::stock::AdjustStock::exactly_once_key)) whose first attempt was
    /// longer ago than Ecwid surely remembers a deduplication key (55 of its 60 minutes): sent
    /// again now, it could be applied a second time, so it was not sent. An earlier attempt under
    /// the key may have been applied: read the stock to learn whether it was.
    #[error(
        "not sent: the key's first attempt was {} s ago, longer than Ecwid surely remembers \
         it ({} s); an earlier attempt may have been applied",
        age.as_secs(),
        window.as_secs()
    )]
    #[non_exhaustive]
    KeyExpired {
        /// How long ago the key's first attempt was.
        age: Duration,
        /// How long a key is surely remembered.
        window: Duration,
    },

    /// Ecwid reports that it did not execute the request (an item of a batch it skipped).
    /// Nothing was applied.
    #[error("Ecwid did not execute the request; nothing was applied")]
    NotExecuted,

    /// The shared rate limiter (Redis, see `RedisRateLimit`, feature `redis`) could not be
    /// reached before the call's deadline, so the request was not sent: a request never goes
    /// out unthrottled by surprise. Nothing was applied. The limiter kept trying, with backoff,
    /// until the deadline; the call can be made again once Redis is back.
    #[error(
        "the shared rate limiter at {endpoint} is unavailable ({reason}); the request was not sent"
    )]
    #[non_exhaustive]
    RateLimiterUnavailable {
        /// Redis's scheme, host and port (never its password).
        endpoint: String,
        /// Why the last attempt to reach it failed.
        reason: String,
    },

    /// The journal's database (`ecwid_inventory::journal`, feature `journal`) failed: it could not be
    /// reached, a statement failed, its schema is newer than this crate, a row cannot be read,
    /// or another worker took over a run this one was working on. Whatever the operation
    /// would have written is rolled back. The journal sends nothing to Ecwid, and a drain sends
    /// nothing it has not recorded first, so nothing was applied because of this operation;
    /// what was recorded as sent before it is in the journal, for the next drain to finish.
    #[error("the journal's database {database} failed to {operation}: {reason}")]
    #[non_exhaustive]
    Journal {
        /// The database: `sqlite:` and a file's path, or `postgres://` and hosts, ports and
        /// database name (never a user or a password).
        database: String,
        /// What the journal was doing, such as `record an event` or `save a run`.
        operation: String,
        /// Why: the database's own words (with any password taken out), or the journal's.
        reason: String,
    },
}

fn retry_after_text(retry_after: Option<Duration>) -> String {
    retry_after.map_or_else(String::new, |d| {
        format!("; retry after {} s", d.as_secs_f64())
    })
}

/// What a write's error adds, and a read's leaves out.
fn applied_text(read: bool) -> &'static str {
    if read {
        ""
    } else {
        "; the request may have been applied"
    }
}

fn status_text(status: Option<u16>) -> String {
    status.map_or_else(String::new, |status| format!(" (status {status})"))
}

fn code_text(code: &Option<String>) -> String {
    code.as_deref()
        .map_or_else(String::new, |code| format!(" {code}"))
}

fn message_text(message: &Option<String>) -> String {
    message
        .as_deref()
        .map_or_else(String::new, |message| format!(": {message}"))
}

impl Error {
    /// The HTTP status of Ecwid's answer, if one arrived.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            Error::InvalidResponse { status, .. } => *status,
            Error::RateLimited { .. } => Some(429),
            _ => None,
        }
    }

    /// Ecwid's `errorCode`, such as `PRODUCT_NOT_FOUND`, if the answer carried one.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            Error::Api { error_code, .. } | Error::RateLimited { error_code, .. } => {
                error_code.as_deref()
            }
            _ => None,
        }
    }

    /// Ecwid's `errorMessage`, or an excerpt of an error body that is not Ecwid's JSON.
    pub fn error_message(&self) -> Option<&str> {
        match self {
            Error::Api { error_message, .. } | Error::RateLimited { error_message, .. } => {
                error_message.as_deref()
            }
            _ => None,
        }
    }

    /// How long Ecwid asked to wait before sending again (429 only).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// `true` when the delta may have been applied although the call failed; `false` when it is
    /// certain that nothing changed.
    ///
    /// `false`: bad input or configuration, a request that never left (connect failure, the
    /// token guard, a closed client, a deadline spent waiting), any 4xx including 429, and every
    /// error of a read (a read applies nothing). `true`, for a write: a 5xx, a timeout or a
    /// lost connection after the request was sent, a success status with an unreadable body.
    /// After a `true`, reconcile before sending the delta again: read the stock back, or compare
    /// with your own record of what was sent.
    pub fn may_have_been_applied(&self) -> bool {
        match self {
            Error::Api { read: true, .. }
            | Error::Timeout { read: true, .. }
            | Error::Transport { read: true, .. }
            | Error::InvalidResponse { read: true, .. } => false,
            Error::OutcomeUnknown { .. } | Error::KeyExpired { .. } => true,
            error => error.is_unanswered(),
        }
    }

    /// `true` when the request may have reached Ecwid and no usable answer came back: a 5xx, a
    /// timeout, a lost connection, an unreadable answer, whether the request was a read or a
    /// write. A write may then have been applied; a request that is safe to repeat is sent
    /// again after it.
    pub(crate) fn is_unanswered(&self) -> bool {
        match self {
            Error::Api { status, .. } => *status >= 500,
            Error::Timeout { .. } | Error::Transport { .. } | Error::InvalidResponse { .. } => true,
            Error::Config(_)
            | Error::InvalidInput(_)
            | Error::Connect { .. }
            | Error::RateLimited { .. }
            | Error::TokenRejected
            | Error::Closed
            | Error::DeadlineExceeded
            | Error::NotExecuted
            | Error::RateLimiterUnavailable { .. }
            | Error::Journal { .. }
            | Error::OutcomeUnknown { .. }
            | Error::KeyExpired { .. } => false,
        }
    }

    /// The same error, said of a read: it applied nothing, whatever happened to it.
    pub(crate) fn of_a_read(mut self) -> Self {
        match &mut self {
            Error::Api { read, .. }
            | Error::Timeout { read, .. }
            | Error::Transport { read, .. }
            | Error::InvalidResponse { read, .. } => *read = true,
            _ => {}
        }
        self
    }

    /// A read's answer that cannot be read as the documented one (a success status, so 200),
    /// saying why: the error every reader builds from an answer it cannot use.
    pub(crate) fn unreadable_read(detail: String) -> Self {
        Error::InvalidResponse {
            status: Some(200),
            detail,
            read: true,
        }
    }

    /// `true` for Ecwid's `403 INVALID_API_TOKEN`.
    pub(crate) fn is_invalid_token(&self) -> bool {
        self.status() == Some(403) && self.error_code() == Some("INVALID_API_TOKEN")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_server_failures_and_unknown_outcomes_may_have_been_applied() {
        let api = |status| Error::Api {
            status,
            error_code: None,
            error_message: None,
            args: Vec::new(),
            read: false,
        };
        for status in [400, 402, 403, 404, 405, 408, 409, 415, 422] {
            assert!(!api(status).may_have_been_applied(), "{status}");
        }
        for status in [500, 502, 503, 504] {
            assert!(api(status).may_have_been_applied(), "{status}");
        }
        assert!(!Error::TokenRejected.may_have_been_applied());
        let timeout = Error::Timeout {
            source: None,
            read: false,
        };
        assert!(timeout.may_have_been_applied());
        let invalid = Error::InvalidResponse {
            status: Some(200),
            detail: String::new(),
            read: false,
        };
        assert!(invalid.may_have_been_applied());
        // The same errors of a read: nothing applied, and their text does not say otherwise;
        // they are still errors after which a read is sent again.
        for error in [api(500), timeout, invalid] {
            let read = error.of_a_read();
            assert!(!read.may_have_been_applied(), "{read:?}");
            assert!(read.is_unanswered(), "{read:?}");
            assert!(!read.to_string().contains("applied"), "{read}");
        }
        assert!(!api(404).of_a_read().is_unanswered());
    }
}
