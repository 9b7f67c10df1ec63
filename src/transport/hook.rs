//! The hook the generated client runs around every request it sends, and what it records of
//! the wire for the wrapper.
//!
//! progenitor's errors drop the HTTP status when a body cannot be parsed, yet the status decides
//! whether a delta may have been applied (an unreadable 200 is not an unreadable 404). So the
//! `exec` hook records the status and headers of each response in the call's [`CallContext`],
//! and the wrapper reads them back when it maps the outcome into [`crate::Error`]
//! ([`read_answer`](super::read_answer)).
//!
//! A read applies nothing, so its errors must never say it may have: the hook also records
//! whether the request sent was a `GET`, and the wrapper marks a batch create whose items are
//! all reads ([`CallContext::reads_only`]).
//!
//! Whose answers they are decides what the hook does to them: the wrapper scrubs what it builds
//! from an answer where it reads it, so the hook drops a success's head, which the wrapper does
//! not read; [`crate::Client::raw`]'s callers get the generated client's own values, which the
//! wrapper does not see, so for them the hook scrubs each whole body as it arrives.

use std::{
    sync::{Arc, OnceLock},
    time::Duration,
};

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::{header::HeaderMap, StatusCode};

use super::scrub::Redactor;
use crate::generated;

/// What one call of the generated client saw on the wire. Each attempt builds a fresh one.
#[derive(Clone, Debug, Default)]
pub struct CallContext {
    seen: Arc<OnceLock<Seen>>,
    /// Whether the request sent was a `GET`, recorded by the hook as it sends it.
    pub(super) get: Arc<OnceLock<bool>>,
    /// A request that applies nothing though it is no `GET`: a batch create of reads.
    reads_only: bool,
    reader: Reader,
    /// This attempt's timeout, when it is not the HTTP client's.
    timeout: Option<Duration>,
}

/// Who reads the answers, which decides what the hook does to them.
#[derive(Clone, Debug, Default)]
enum Reader {
    /// Whoever built the context by `Default`: answers are left as they come.
    #[default]
    Caller,
    /// The wrapper, which scrubs what it builds from an answer (see
    /// [`read_answer`](super::read_answer)) and reads nothing of a success's head but its status.
    Wrapper,
    /// [`crate::Client::raw`]'s caller, who gets the generated client's values: each body is
    /// scrubbed whole as it arrives.
    RawCaller(Arc<Redactor>),
}

/// What the error mapping needs from the head of the response.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seen {
    pub(crate) status: StatusCode,
    /// `Retry-After`, read only from error answers.
    pub(crate) retry_after: Option<Duration>,
}

impl CallContext {
    /// A context for one call of the wrapper, which passes the outcome to
    /// [`read_answer`](super::read_answer).
    pub(crate) fn new() -> Self {
        Self {
            reader: Reader::Wrapper,
            ..Self::default()
        }
    }

    /// A context for the raw client, whose answers reach its caller unread by the wrapper:
    /// every body is scrubbed of what `redactor` knows as it arrives.
    pub(crate) fn scrubbing_bodies(redactor: &Arc<Redactor>) -> Self {
        Self {
            reader: Reader::RawCaller(Arc::clone(redactor)),
            ..Self::default()
        }
    }

    /// Gives the attempt `timeout`, from sending the request to reading the whole answer.
    pub(crate) fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Marks the request as one that applies nothing whatever its method: a batch create whose
    /// items are all reads.
    pub(crate) fn reads_only(mut self, reads_only: bool) -> Self {
        self.reads_only = reads_only;
        self
    }

    /// The head of the response the call received, if any arrived.
    pub(crate) fn seen(&self) -> Option<Seen> {
        self.seen.get().copied()
    }

    /// Whether the request is a read, which applies nothing: a `GET`, or one marked
    /// [`reads_only`](Self::reads_only).
    pub(crate) fn is_read(&self) -> bool {
        self.reads_only || self.get.get() == Some(&true)
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
        // Before sending: a timeout or a lost connection needs it as much as an answer does.
        let _ = self
            .inner()
            .get
            .set(request.method() == reqwest::Method::GET);
        let mut response = self.client().execute(request).await?;
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
        match &self.inner().reader {
            Reader::Caller => {}
            Reader::Wrapper => {
                if status.is_success() {
                    // Emptied, progenitor's copy of it (in `ResponseValue`) copies nothing. An
                    // error's head stays, for its text's charset.
                    *response.headers_mut() = HeaderMap::new();
                }
            }
            Reader::RawCaller(redactor) => return Ok(redactor.scrub_response(response).await),
        }
        Ok(response)
    }
}

/// `Retry-After` as delta-seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
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

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::generated::types;

    /// A context made by `Default` (outside the wrapper) leaves answers as they come; the
    /// wrapper's drops a success's head, which it does not read.
    #[tokio::test]
    async fn only_the_wrappers_context_drops_a_successs_head() {
        use wiremock::{matchers::any, Mock, MockServer, ResponseTemplate};
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("x-request-id", "r-1")
                    .set_body_json(serde_json::json!({"updateCount": 1})),
            )
            .mount(&server)
            .await;
        let headers = |context: CallContext| {
            let raw =
                generated::Client::new_with_client(&server.uri(), reqwest::Client::new(), context);
            async move {
                let answer = raw
                    .adjust_product_stock()
                    .store_id(1u64)
                    .product_id(1u64)
                    .body(types::StockDelta { quantity_delta: 1 })
                    .send()
                    .await
                    .unwrap();
                assert_eq!(answer.update_count, 1);
                answer.headers().contains_key("x-request-id")
            }
        };
        assert!(headers(CallContext::default()).await);
        let redactor = Redactor::new(&SecretString::from("secret_token".to_owned()));
        assert!(headers(CallContext::scrubbing_bodies(&Arc::new(redactor))).await);
        assert!(!headers(CallContext::new()).await);
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
}
