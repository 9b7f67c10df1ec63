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
use http_body_util::BodyExt;
use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};

use crate::{error::retry_after, generated};

/// What one call of the generated client saw on the wire. Each attempt builds a fresh one.
#[derive(Clone, Debug, Default)]
pub struct CallContext {
    seen: Arc<OnceLock<Seen>>,
    redactor: Option<Arc<Redactor>>,
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
        }
    }

    /// The head of the response the call received, if any arrived.
    pub(crate) fn seen(&self) -> Option<Seen> {
        self.seen.get().copied()
    }
}

impl ClientHooks<CallContext> for generated::Client {
    async fn exec(
        &self,
        request: reqwest::Request,
        _info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
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
    async fn scrub_response(&self, response: reqwest::Response) -> reqwest::Response {
        let (parts, body) = http::Response::<reqwest::Body>::from(response).into_parts();
        let body = match body.collect().await {
            Ok(collected) => reqwest::Body::from(self.scrub(collected.to_bytes())),
            Err(error) => reqwest::Body::wrap_stream(Failed(Some(error))),
        };
        reqwest::Response::from(http::Response::from_parts(parts, body))
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
}
