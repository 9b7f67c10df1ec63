//! The hooks the generated client runs around every request it sends: the one place where
//! what Ecwid sends enters the crate.
//!
//! progenitor's errors drop the HTTP status when a body cannot be parsed, yet the status decides
//! whether a delta may have been applied (an unreadable 200 is not an unreadable 404). So the
//! `exec` hook records the status and headers of each response in the call's [`CallContext`],
//! and the wrapper reads them back when it maps the outcome into [`crate::Error`].
//!
//! A server (or a proxy) may repeat the request's `Authorization` value in its answer. The hook
//! scrubs the token from every body before anything reads it, so that no error, outcome,
//! saved plan or log line built from the answer can show it.

use std::{
    pin::Pin,
    sync::{Arc, OnceLock},
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};

use reqwest::header::HeaderMap;

use crate::{generated, generated::types::EcwidError, Error};

/// Longest error-body excerpt kept in an error, so a proxy's HTML page does not bloat logs.
const BODY_EXCERPT: usize = 300;

/// What one call of the generated client saw on the wire. Each attempt builds a fresh one.
#[derive(Clone, Debug, Default)]
pub struct CallContext {
    seen: Arc<OnceLock<Seen>>,
    redactor: Option<Arc<Redactor>>,
    /// This attempt's timeout, when it is not the HTTP client's.
    timeout: Option<Duration>,
}

/// What the error mapping needs from the head of the response.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seen {
    pub(crate) status: StatusCode,
    /// `Retry-After`, read only from error answers.
    pub(crate) retry_after: Option<Duration>,
}

impl CallContext {
    /// A context for one call, scrubbing what `redactor` knows from the answer.
    pub(crate) fn new(redactor: &Arc<Redactor>) -> Self {
        Self {
            seen: Arc::default(),
            redactor: Some(Arc::clone(redactor)),
            timeout: None,
        }
    }

    /// Gives the attempt `timeout`, from sending the request to reading the whole answer.
    pub(crate) fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The head of the response the call received, if any arrived.
    pub(crate) fn seen(&self) -> Option<Seen> {
        self.seen.get().copied()
    }
}

impl ClientHooks<CallContext> for generated::Client {
    async fn exec(
        &self,
        mut request: reqwest::Request,
        _info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        if let Some(timeout) = self.inner().timeout {
            *request.timeout_mut() = Some(timeout);
        }
        let response = self.client().execute(request).await?;
        let status = response.status();
        let retry_after = if status.is_success() {
            None
        } else {
            retry_after(response.headers())
        };
        // One response per context: each attempt builds a fresh one.
        let _ = self.inner().seen.set(Seen {
            status,
            retry_after,
        });
        match &self.inner().redactor {
            Some(redactor) => Ok(redactor.scrub_response(response).await),
            None => Ok(response),
        }
    }
}

/// Removes the API token from what a server sends back.
pub(crate) struct Redactor {
    /// The token, and its percent-encoded form where that differs (as a URL or a form would
    /// carry it).
    secrets: Vec<SecretString>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Redactor([redacted])")
    }
}

/// What a scrubbed secret is replaced with.
const REDACTED: &[u8] = b"[redacted]";

impl Redactor {
    pub(crate) fn new(token: &SecretString) -> Self {
        let token = token.expose_secret();
        let mut secrets = vec![SecretString::from(token.to_owned())];
        let encoded: String = form_urlencoded::byte_serialize(token.as_bytes()).collect();
        if encoded != token {
            secrets.push(SecretString::from(encoded));
        }
        Self { secrets }
    }

    /// Whether `text` holds a secret.
    pub(crate) fn finds_in(&self, text: &str) -> bool {
        self.secrets
            .iter()
            .any(|secret| text.contains(secret.expose_secret()))
    }

    /// `bytes` with every secret replaced; the same bytes when none is there.
    fn scrub(&self, bytes: Bytes) -> Bytes {
        let mut scrubbed: Option<Vec<u8>> = None;
        for secret in &self.secrets {
            let secret = secret.expose_secret().as_bytes();
            let current = scrubbed.as_deref().unwrap_or(&bytes);
            if !contains(current, secret) {
                continue;
            }
            let mut out = Vec::with_capacity(current.len());
            let mut rest = current;
            while let Some(at) = find(rest, secret) {
                out.extend_from_slice(&rest[..at]);
                out.extend_from_slice(REDACTED);
                rest = &rest[at + secret.len()..];
            }
            out.extend_from_slice(rest);
            scrubbed = Some(out);
        }
        scrubbed.map_or(bytes, Bytes::from)
    }

    /// The response with its body read and scrubbed. A body that cannot be read stays a body
    /// that fails to read, with the same error, so the error mapping sees what it saw before.
    ///
    /// The head is moved over as it is; the rebuilt response has no URL, which nothing reads
    /// (a body read from memory cannot fail, and the original error keeps its own).
    async fn scrub_response(&self, mut response: reqwest::Response) -> reqwest::Response {
        let mut head = http::Response::new(());
        *head.status_mut() = response.status();
        *head.version_mut() = response.version();
        *head.headers_mut() = std::mem::take(response.headers_mut());
        let body = match response.bytes().await {
            Ok(bytes) => reqwest::Body::from(self.scrub(bytes)),
            Err(error) => reqwest::Body::wrap_stream(Failed(Some(error))),
        };
        reqwest::Response::from(head.map(|()| body))
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > haystack.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

/// A body stream that yields the error reading the original body met.
struct Failed(Option<reqwest::Error>);

impl futures_core::Stream for Failed {
    type Item = Result<Bytes, reqwest::Error>;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Poll::Ready(self.0.take().map(Err))
    }
}

// ---------------------------------------------------------------------------------------------
// Raw outcomes -> Error

/// Maps what the generated client returned, with what the wire showed (status and
/// `Retry-After`, read once by the transport hook), into an [`Error`].
pub(crate) async fn error_from_generated(
    error: progenitor_client::Error<EcwidError>,
    seen: Option<Seen>,
) -> Error {
    use progenitor_client::Error as Raw;
    match error {
        Raw::InvalidRequest(message) | Raw::Custom(message) => Error::InvalidInput(message),
        Raw::CommunicationError(source) | Raw::InvalidUpgrade(source) => {
            error_from_transport(source)
        }
        Raw::ErrorResponse(answer) => {
            let status = answer.status();
            let retry_after = seen.and_then(|seen| seen.retry_after);
            let body = answer.into_inner();
            error_from_status(status, retry_after, Some(body), None)
        }
        Raw::InvalidResponsePayload(bytes, parse_error) => {
            let Some(seen) = seen else {
                // Unreachable in practice: the hook saw every response that has a body.
                return Error::InvalidResponse {
                    status: None,
                    detail: parse_error.to_string(),
                };
            };
            if seen.status.is_success() {
                Error::InvalidResponse {
                    status: Some(seen.status.as_u16()),
                    detail: format!("the body is not the documented JSON: {parse_error}"),
                }
            } else {
                let text = String::from_utf8_lossy(&bytes);
                error_from_status(seen.status, seen.retry_after, None, Some(&text))
            }
        }
        Raw::ResponseBodyError(source) => match seen {
            Some(seen) if !seen.status.is_success() => {
                error_from_status(seen.status, seen.retry_after, None, None)
            }
            Some(seen) => Error::InvalidResponse {
                status: Some(seen.status.as_u16()),
                detail: format!("the body could not be read: {source}"),
            },
            None => Error::Transport {
                source: source.into(),
            },
        },
        // A status the spec does not list: a proxy's 502, an undocumented 2xx or 3xx.
        Raw::UnexpectedResponse(response) => {
            let status = response.status();
            if status.is_success() {
                return Error::InvalidResponse {
                    status: Some(status.as_u16()),
                    detail: "a success status the API does not document".into(),
                };
            }
            let retry_after = seen.and_then(|seen| seen.retry_after);
            // An unreadable body still leaves the status to speak.
            let text = response.text().await.unwrap_or_default();
            error_from_status(status, retry_after, None, Some(&text))
        }
    }
}

/// What Ecwid's error body says, read in one place for answers and batch items alike.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ErrorFields {
    pub(crate) code: Option<String>,
    /// `errorMessage`, or `error_message` as Ecwid's batch docs spell it.
    pub(crate) message: Option<String>,
    /// `args`, sorted by name.
    pub(crate) args: Vec<(String, String)>,
}

impl From<EcwidError> for ErrorFields {
    fn from(body: EcwidError) -> Self {
        let message = body
            .error_message
            .or_else(|| match body.extra.get("error_message") {
                Some(serde_json::Value::String(message)) => Some(message.clone()),
                _ => None,
            });
        let mut args: Vec<_> = body.args.into_iter().collect();
        args.sort();
        Self {
            code: body.error_code,
            message,
            args,
        }
    }
}

impl ErrorFields {
    /// The fields of a JSON error body; none when it is not Ecwid's error object.
    pub(crate) fn from_json(body: Option<serde_json::Value>) -> Self {
        body.and_then(|body| serde_json::from_value::<EcwidError>(body).ok())
            .map(Self::from)
            .unwrap_or_default()
    }
}

/// An error status with whatever body came with it: Ecwid's JSON, or text to excerpt.
fn error_from_status(
    status: StatusCode,
    retry_after: Option<Duration>,
    body: Option<EcwidError>,
    text: Option<&str>,
) -> Error {
    let body = body.or_else(|| text.and_then(|t| serde_json::from_str(t).ok()));
    let (error_code, error_message, args) = match body.map(ErrorFields::from) {
        Some(fields) => (fields.code, fields.message, fields.args),
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
pub(crate) fn error_from_transport(source: reqwest::Error) -> Error {
    // Only a failure to connect proves that no byte of the request left. A timeout or any
    // other failure may come after the request was written.
    if source.is_connect() {
        Error::Connect {
            source: source.into(),
        }
    } else if source.is_timeout() {
        Error::Timeout {
            source: Some(source.into()),
        }
    } else {
        Error::Transport {
            source: source.into(),
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
    fn scrubs_every_occurrence_of_the_token_and_its_encoded_form() {
        let redactor = Redactor::new(&SecretString::from("secret_a/b+c".to_owned()));
        let body = Bytes::from_static(
            b"{\"m\":\"Bearer secret_a/b+c, again secret_a/b+csecret_a/b+c, url secret_a%2Fb%2Bc\"}",
        );
        let scrubbed = redactor.scrub(body);
        assert_eq!(
            scrubbed,
            Bytes::from_static(
                b"{\"m\":\"Bearer [redacted], again [redacted][redacted], url [redacted]\"}"
            )
        );
        let clean = Bytes::from_static(b"{\"updateCount\":1}");
        assert_eq!(redactor.scrub(clean.clone()), clean);
        assert!(redactor.finds_in("x secret_a%2Fb%2Bc"));
        assert!(!redactor.finds_in("secret_a"));
        assert!(!format!("{redactor:?}").contains("secret"));
    }

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
            status: Some(200),
            detail: String::new(),
        };
        assert!(invalid.may_have_been_applied());
    }
}
