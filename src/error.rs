//! The one public [`Error`], and how raw outcomes of the generated client map into it.
//!
//! The most important fact an error carries for a stock sync is whether the delta may have been
//! applied: see [`Error::may_have_been_applied`].

use std::time::Duration;

use reqwest::{header::HeaderMap, StatusCode};

use crate::{generated::types::EcwidError, transport::Seen};

/// Longest error-body excerpt kept in an error, so a proxy's HTML page does not bloat logs.
const BODY_EXCERPT: usize = 300;

/// Everything that can go wrong with a call.
///
/// Each variant says whether the request may have reached Ecwid. Sort errors by
/// [`may_have_been_applied`](Error::may_have_been_applied): when it is `false` nothing changed
/// and the call can be made again; when it is `true`, read the item's stock back from Ecwid (or
/// your own record of it) before deciding whether to send the delta again. The client never
/// retries such an error by itself.
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
    Connect {
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },

    /// Ecwid answered `429 Too Many Requests`. Ecwid documents that such a request is ignored,
    /// so nothing was applied. Retried automatically unless the wait Ecwid asks for is longer
    /// than the client's cap or the retries ran out.
    #[error("rate limited by Ecwid{}", retry_after_text(*retry_after))]
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
    /// while handling it: the delta may have been applied.
    #[error(
        "Ecwid answered {status}{}{}",
        code_text(error_code),
        message_text(error_message)
    )]
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
    },

    /// The request may have reached Ecwid, but no answer arrived in time (the per-attempt
    /// timeout or the call's deadline). The delta may have been applied.
    #[error("no answer from Ecwid in time; the adjustment may have been applied")]
    Timeout {
        /// The transport error, when reqwest's own timer fired.
        #[source]
        source: Option<reqwest::Error>,
    },

    /// The connection failed after the request may have been written (reset, closed before the
    /// answer). The delta may have been applied.
    #[error("connection to Ecwid lost; the adjustment may have been applied: {source}")]
    Transport {
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },

    /// Ecwid answered with a success status but a body that cannot be read as the documented
    /// answer. The delta may have been applied.
    #[error("unreadable answer from Ecwid (status {status}); the adjustment may have been applied: {detail}")]
    InvalidResponse {
        /// The HTTP status.
        status: u16,
        /// What was wrong with the body.
        detail: String,
    },

    /// An earlier call got `403 INVALID_API_TOKEN`, so this client sends nothing more: Ecwid
    /// blocks tokens, then IP addresses, that keep failing. Build a new client with a valid token,
    /// or call [`Client::reset_token_guard`](crate::Client::reset_token_guard). Nothing was sent.
    #[error("the API token was rejected by Ecwid earlier; this client sends nothing more")]
    TokenRejected,

    /// The call's deadline passed before the request could be sent (waiting for the client's
    /// rate limiter, or after a retry's wait). This attempt was not sent; earlier attempts of
    /// the same call, if any, were refused (a `429`) or never reached Ecwid. Nothing was applied.
    #[error("the call's deadline passed before the request was sent")]
    DeadlineExceeded,

    /// The shared rate limiter (Redis, see `RedisRateLimit`, feature `redis`) could not be
    /// reached before the call's deadline, so the request was not sent: a request never goes
    /// out unthrottled by surprise. Nothing was applied. The limiter kept trying, with backoff,
    /// until the deadline; the call can be made again once Redis is back.
    #[error(
        "the shared rate limiter at {endpoint} is unavailable ({reason}); the request was not sent"
    )]
    RateLimiterUnavailable {
        /// Redis's scheme, host and port (never its password).
        endpoint: String,
        /// Why the last attempt to reach it failed.
        reason: String,
    },
}

fn retry_after_text(retry_after: Option<Duration>) -> String {
    retry_after.map_or_else(String::new, |d| {
        format!("; retry after {} s", d.as_secs_f64())
    })
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
            Error::Api { status, .. } | Error::InvalidResponse { status, .. } => Some(*status),
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
    /// token guard, a deadline spent waiting), any 4xx including 429. `true`: a 5xx, a timeout or
    /// a lost connection after the request was sent, a success status with an unreadable body.
    /// After a `true`, reconcile before sending the delta again: read the stock back, or compare
    /// with your own record of what was sent.
    pub fn may_have_been_applied(&self) -> bool {
        match self {
            Error::Config(_)
            | Error::InvalidInput(_)
            | Error::Connect { .. }
            | Error::RateLimited { .. }
            | Error::TokenRejected
            | Error::DeadlineExceeded
            | Error::RateLimiterUnavailable { .. } => false,
            Error::Api { status, .. } => *status >= 500,
            Error::Timeout { .. } | Error::Transport { .. } | Error::InvalidResponse { .. } => true,
        }
    }

    /// `true` for Ecwid's `403 INVALID_API_TOKEN`.
    pub(crate) fn is_invalid_token(&self) -> bool {
        self.status() == Some(403) && self.error_code() == Some("INVALID_API_TOKEN")
    }

    /// Maps what the generated client returned, with what the wire showed (status and
    /// `Retry-After`, read once by the transport hook), into an [`Error`].
    pub(crate) async fn from_generated(
        error: progenitor_client::Error<EcwidError>,
        seen: Option<Seen>,
    ) -> Error {
        use progenitor_client::Error as Raw;
        match error {
            Raw::InvalidRequest(message) | Raw::Custom(message) => Error::InvalidInput(message),
            Raw::CommunicationError(source) | Raw::InvalidUpgrade(source) => {
                Error::from_transport(source)
            }
            Raw::ErrorResponse(answer) => {
                let status = answer.status();
                let retry_after = seen.and_then(|seen| seen.retry_after);
                let body = answer.into_inner();
                Error::from_status(status, retry_after, Some(body), None)
            }
            Raw::InvalidResponsePayload(bytes, parse_error) => {
                let Some(seen) = seen else {
                    return Error::InvalidResponse {
                        status: 0,
                        detail: parse_error.to_string(),
                    };
                };
                if seen.status.is_success() {
                    Error::InvalidResponse {
                        status: seen.status.as_u16(),
                        detail: format!("the body is not the documented JSON: {parse_error}"),
                    }
                } else {
                    let text = String::from_utf8_lossy(&bytes);
                    Error::from_status(seen.status, seen.retry_after, None, Some(&text))
                }
            }
            Raw::ResponseBodyError(source) => match seen {
                Some(seen) if !seen.status.is_success() => {
                    Error::from_status(seen.status, seen.retry_after, None, None)
                }
                Some(seen) => Error::InvalidResponse {
                    status: seen.status.as_u16(),
                    detail: format!("the body could not be read: {source}"),
                },
                None => Error::Transport { source },
            },
            // A status the spec does not list: a proxy's 502, an undocumented 2xx or 3xx.
            Raw::UnexpectedResponse(response) => {
                let status = response.status();
                if status.is_success() {
                    return Error::InvalidResponse {
                        status: status.as_u16(),
                        detail: "a success status the API does not document".into(),
                    };
                }
                let retry_after = seen.and_then(|seen| seen.retry_after);
                // An unreadable body still leaves the status to speak.
                let text = response.text().await.unwrap_or_default();
                Error::from_status(status, retry_after, None, Some(&text))
            }
        }
    }

    /// An error status with whatever body came with it: Ecwid's JSON, or text to excerpt.
    fn from_status(
        status: StatusCode,
        retry_after: Option<Duration>,
        body: Option<EcwidError>,
        text: Option<&str>,
    ) -> Error {
        let body = body.or_else(|| text.and_then(|t| serde_json::from_str(t).ok()));
        let (error_code, error_message, args) = match body {
            Some(body) => {
                let mut args: Vec<_> = body.args.into_iter().collect();
                args.sort();
                (body.error_code, body.error_message, args)
            }
            None => (None, text.and_then(excerpt), Vec::new()),
        };
        if status == StatusCode::TOO_MANY_REQUESTS {
            Error::RateLimited {
                retry_after,
                error_code,
                error_message,
            }
        } else {
            Error::Api {
                status: status.as_u16(),
                error_code,
                error_message,
                args,
            }
        }
    }

    /// A transport error: was the request provably never sent, or may it have been?
    pub(crate) fn from_transport(source: reqwest::Error) -> Error {
        // Only a failure to connect proves that no byte of the request left. A timeout or any
        // other failure may come after the request was written.
        if source.is_connect() {
            Error::Connect { source }
        } else if source.is_timeout() {
            Error::Timeout {
                source: Some(source),
            }
        } else {
            Error::Transport { source }
        }
    }
}

/// `Retry-After` as delta-seconds or an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(
        date.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// A short, single-line excerpt of an error body that is not Ecwid's JSON: an HTML page's
/// title, or the start of a text.
fn excerpt(text: &str) -> Option<String> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    let title = lower
        .find("<title>")
        .and_then(|start| {
            let start = start + "<title>".len();
            lower[start..]
                .find("</title>")
                .map(|len| &text[start..start + len])
        })
        .filter(|t| !t.trim().is_empty());
    let chosen = title.unwrap_or(text);
    let one_line: String = chosen.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut cut: String = one_line.chars().take(BODY_EXCERPT).collect();
    if cut.len() < one_line.len() {
        cut.push('…');
    }
    Some(cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_takes_an_html_title_or_the_start_of_a_text() {
        let html = "<html><head><TITLE>502 Bad Gateway</TITLE></head><body>nginx</body></html>";
        assert_eq!(excerpt(html).as_deref(), Some("502 Bad Gateway"));
        assert_eq!(
            excerpt("  upstream\n  down ").as_deref(),
            Some("upstream down")
        );
        assert_eq!(excerpt(" \n").as_deref(), None);
        let long = "x".repeat(1000);
        assert_eq!(excerpt(&long).unwrap().chars().count(), BODY_EXCERPT + 1);
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(reqwest::header::RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        let later = std::time::SystemTime::now() + Duration::from_secs(120);
        headers.insert(
            reqwest::header::RETRY_AFTER,
            httpdate::fmt_http_date(later).parse().unwrap(),
        );
        let wait = retry_after(&headers).unwrap();
        assert!(wait > Duration::from_secs(100) && wait <= Duration::from_secs(120));
        headers.insert(reqwest::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn only_server_failures_and_unknown_outcomes_may_have_been_applied() {
        let api = |status| Error::Api {
            status,
            error_code: None,
            error_message: None,
            args: Vec::new(),
        };
        for status in [400, 402, 403, 404, 405, 408, 409, 415, 422] {
            assert!(!api(status).may_have_been_applied(), "{status}");
        }
        for status in [500, 502, 503, 504] {
            assert!(api(status).may_have_been_applied(), "{status}");
        }
        assert!(!Error::TokenRejected.may_have_been_applied());
        assert!(Error::Timeout { source: None }.may_have_been_applied());
        let invalid = Error::InvalidResponse {
            status: 200,
            detail: String::new(),
        };
        assert!(invalid.may_have_been_applied());
    }
}
