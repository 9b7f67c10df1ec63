//! The hooks the generated client runs around every request it sends: the one place where
//! what Ecwid sends enters the crate.
//!
//! progenitor's errors drop the HTTP status when a body cannot be parsed, yet the status decides
//! whether a delta may have been applied (an unreadable 200 is not an unreadable 404). So the
//! `exec` hook records the status and headers of each response in the call's [`CallContext`],
//! and the wrapper reads them back when it maps the outcome into [`crate::Error`].
//!
//! A read applies nothing, so its errors must never say it may have: the hook also records
//! whether the request sent was a `GET`, the wrapper marks a batch create whose items are all
//! reads ([`CallContext::reads_only`]), and [`read_answer`], where every attempt's outcome
//! becomes an [`Error`], says so of each error of a read.
//!
//! A server (or a proxy) may repeat the request's `Authorization` value in its answer. Whatever
//! the wrapper builds from an answer passes through here first, scrubbed by one [`Redactor`]:
//! a success value's strings after parsing ([`Scrub`], which costs a search and no allocation
//! when no secret is there), and every part of an error answer (its JSON fields, its text, the
//! parse error that may quote it) before an [`Error`] is built. So no error, outcome, saved plan
//! or log line can show the token, and the common answer, which carries no secret, is not
//! copied. [`crate::Client::raw`]'s callers get the generated client's own values, which this
//! module does not see: for them the hook scrubs each whole body as it arrives instead.

use std::{
    collections::HashMap,
    pin::Pin,
    sync::{Arc, OnceLock},
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use progenitor_client::{ClientHooks, ClientInfo, OperationInfo, ResponseValue};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};

use reqwest::header::HeaderMap;

use crate::{
    generated,
    generated::types::{self, EcwidError},
    Error,
};

/// Longest error-body excerpt kept in an error, so a proxy's HTML page does not bloat logs.
const BODY_EXCERPT: usize = 300;

/// What one call of the generated client saw on the wire. Each attempt builds a fresh one.
#[derive(Clone, Debug, Default)]
pub struct CallContext {
    seen: Arc<OnceLock<Seen>>,
    /// Whether the request sent was a `GET`, recorded by the hook as it sends it.
    get: Arc<OnceLock<bool>>,
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
    /// The wrapper, which scrubs what it builds from an answer (see [`read_answer`]) and reads
    /// nothing of a success's head but its status.
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
    /// A context for one call of the wrapper, which passes the outcome to [`read_answer`].
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

/// Removes the API token from what a server sends back.
pub(crate) struct Redactor {
    /// The token in each form an answer may carry it, longest first (so that no form is cut
    /// up by a shorter one replaced before it).
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
        // Inside a JSON string, as a batch item's `escapedHttpBody` still carries it once
        // parsed: `"` and `\` escaped, and `/` as `\/` by the encoders that do.
        let escaped = serde_json::Value::from(token).to_string();
        let escaped = escaped[1..escaped.len() - 1].to_owned();
        Self::from_forms(vec![
            token.to_owned(),
            // As a URL or a form would carry it.
            form_urlencoded::byte_serialize(token.as_bytes()).collect(),
            escaped.replace('/', "\\/"),
            escaped,
        ])
    }

    fn from_forms(mut forms: Vec<String>) -> Self {
        forms.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        forms.dedup();
        Self {
            secrets: forms.into_iter().map(SecretString::from).collect(),
        }
    }

    /// Whether `text` holds a secret.
    pub(crate) fn finds_in(&self, text: &str) -> bool {
        self.secrets
            .iter()
            .any(|secret| find(text.as_bytes(), secret.expose_secret().as_bytes()).is_some())
    }

    /// `text` with every secret replaced, or `None`, having allocated nothing, when it holds
    /// none. Whole UTF-8 secrets replaced in UTF-8 text leave UTF-8 text.
    fn scrubbed(&self, text: &[u8]) -> Option<Vec<u8>> {
        let mut scrubbed: Option<Vec<u8>> = None;
        for secret in &self.secrets {
            let secret = secret.expose_secret().as_bytes();
            let current = scrubbed.as_deref().unwrap_or(text);
            let Some(first) = find(current, secret) else {
                continue;
            };
            let mut out = Vec::with_capacity(current.len());
            let (mut rest, mut at) = (current, Some(first));
            while let Some(found) = at {
                out.extend_from_slice(&rest[..found]);
                out.extend_from_slice(REDACTED);
                rest = &rest[found + secret.len()..];
                at = find(rest, secret);
            }
            out.extend_from_slice(rest);
            scrubbed = Some(out);
        }
        scrubbed
    }

    /// `bytes` with every secret replaced; the same bytes when none is there.
    fn scrub(&self, bytes: Bytes) -> Bytes {
        self.scrubbed(&bytes).map_or(bytes, Bytes::from)
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

/// A value read from an answer, whose strings a server filled: each may repeat the token.
///
/// Implemented for every answer type the wrapper receives ([`crate::Client`]'s pipeline takes
/// no other), listing each string it holds; a test built from each type's JSON schema fails
/// when a string is left out, so a field added to the spec cannot slip through.
pub(crate) trait Scrub {
    /// Replaces every secret `redactor` knows in the value's strings; allocates only where
    /// one is found.
    fn scrub(&mut self, redactor: &Redactor);
}

impl Scrub for String {
    fn scrub(&mut self, redactor: &Redactor) {
        if let Some(clean) = redactor.scrubbed(self.as_bytes()) {
            *self = String::from_utf8_lossy(&clean).into_owned();
        }
    }
}

impl<T: Scrub> Scrub for Option<T> {
    fn scrub(&mut self, redactor: &Redactor) {
        if let Some(value) = self {
            value.scrub(redactor);
        }
    }
}

impl<T: Scrub> Scrub for Vec<T> {
    fn scrub(&mut self, redactor: &Redactor) {
        for value in self {
            value.scrub(redactor);
        }
    }
}

impl Scrub for serde_json::Value {
    fn scrub(&mut self, redactor: &Redactor) {
        match self {
            serde_json::Value::String(text) => text.scrub(redactor),
            serde_json::Value::Array(values) => values.scrub(redactor),
            serde_json::Value::Object(map) => map.scrub(redactor),
            serde_json::Value::Null | serde_json::Value::Bool(_) | serde_json::Value::Number(_) => {
            }
        }
    }
}

impl Scrub for serde_json::Map<String, serde_json::Value> {
    fn scrub(&mut self, redactor: &Redactor) {
        // Keys are strings a server chose too; they cannot be changed in place.
        if self.keys().any(|key| redactor.finds_in(key)) {
            *self = scrub_keys(std::mem::take(self), redactor);
        }
        for value in self.values_mut() {
            value.scrub(redactor);
        }
    }
}

impl Scrub for HashMap<String, String> {
    fn scrub(&mut self, redactor: &Redactor) {
        if self.keys().any(|key| redactor.finds_in(key)) {
            *self = scrub_keys(std::mem::take(self), redactor);
        }
        for value in self.values_mut() {
            value.scrub(redactor);
        }
    }
}

fn scrub_keys<V, M>(map: M, redactor: &Redactor) -> M
where
    M: IntoIterator<Item = (String, V)> + FromIterator<(String, V)>,
{
    map.into_iter()
        .map(|(mut key, value)| {
            key.scrub(redactor);
            (key, value)
        })
        .collect()
}

/// [`Scrub`] for the generated answer types, naming the fields that hold strings (alone, or
/// in options, lists, maps and nested answers); their other fields are numbers, flags and
/// enums. The same list is the schema test's.
macro_rules! scrub_answers {
    ($($answer:ident { $($field:ident),* $(,)? })*) => {
        $(
            impl Scrub for types::$answer {
                fn scrub(&mut self, redactor: &Redactor) {
                    $(self.$field.scrub(redactor);)*
                }
            }
        )*

        /// Every answer type with a [`Scrub`], for the schema test.
        #[cfg(test)]
        const SCRUBBED_ANSWERS: &[(&str, fn(&str))] = &[
            $((stringify!($answer), tests::scrubs_every_string::<types::$answer>),)*
        ];
    };
}

scrub_answers! {
    StockUpdateResult { warning }
    ProductPage { items }
    ProductStock { combinations, sku, updated }
    VariationStock { sku }
    BatchTicket { ticket }
    BatchStatus { responses }
    BatchResponseItem { escaped_http_body, http_body, http_status_line, id }
    EcwidError { args, error_code, error_message, extra }
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

/// What one attempt of the generated client came back with (`None` when the call's deadline
/// cut it short), in the wrapper's terms: the answer's value, scrubbed, with its status; or the
/// [`Error`] it amounts to, built from scrubbed parts, and said of a read when the request was
/// one ([`CallContext::is_read`]). The wrapper reads answers nowhere else.
pub(crate) async fn read_answer<T: Scrub>(
    outcome: Option<Result<ResponseValue<T>, progenitor_client::Error<EcwidError>>>,
    context: &CallContext,
    redactor: &Redactor,
) -> Result<(T, StatusCode), Error> {
    let error = match outcome {
        Some(Ok(answer)) => {
            let status = answer.status();
            let mut value = answer.into_inner();
            value.scrub(redactor);
            return Ok((value, status));
        }
        Some(Err(error)) => error_from_generated(error, context.seen(), redactor).await,
        // The call's deadline fired mid-attempt: the request may have been written.
        None => Error::Timeout {
            source: None,
            read: false,
        },
    };
    // A read applied nothing, whatever happened to it.
    Err(if context.is_read() {
        error.of_a_read()
    } else {
        error
    })
}

/// Maps what the generated client returned, with what the wire showed (status and
/// `Retry-After`, read once by the transport hook), into an [`Error`]. Every part of the answer
/// it keeps (fields, text, a parse error that may quote the body) is scrubbed first.
async fn error_from_generated(
    error: progenitor_client::Error<EcwidError>,
    seen: Option<Seen>,
    redactor: &Redactor,
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
            error_from_status(status, retry_after, Some(body), None, redactor)
        }
        Raw::InvalidResponsePayload(bytes, parse_error) => {
            // serde_json quotes the value it could not read.
            let mut why = parse_error.to_string();
            why.scrub(redactor);
            let Some(seen) = seen else {
                // Unreachable in practice: the hook saw every response that has a body.
                return Error::InvalidResponse {
                    status: None,
                    detail: why,
                    read: false,
                };
            };
            if seen.status.is_success() {
                Error::InvalidResponse {
                    status: Some(seen.status.as_u16()),
                    detail: format!("the body is not the documented JSON: {why}"),
                    read: false,
                }
            } else {
                let mut text = String::from_utf8_lossy(&bytes).into_owned();
                text.scrub(redactor);
                error_from_status(seen.status, seen.retry_after, None, Some(&text), redactor)
            }
        }
        Raw::ResponseBodyError(source) => match seen {
            Some(seen) if !seen.status.is_success() => {
                error_from_status(seen.status, seen.retry_after, None, None, redactor)
            }
            Some(seen) => Error::InvalidResponse {
                status: Some(seen.status.as_u16()),
                detail: format!("the body could not be read: {source}"),
                read: false,
            },
            None => Error::Transport {
                source: source.into(),
                read: false,
            },
        },
        // A status the spec does not list: a proxy's 502, an undocumented 2xx or 3xx.
        Raw::UnexpectedResponse(response) => {
            let status = response.status();
            if status.is_success() {
                return Error::InvalidResponse {
                    status: Some(status.as_u16()),
                    detail: "a success status the API does not document".into(),
                    read: false,
                };
            }
            let retry_after = seen.and_then(|seen| seen.retry_after);
            // An unreadable body still leaves the status to speak.
            let mut text = response.text().await.unwrap_or_default();
            text.scrub(redactor);
            error_from_status(status, retry_after, None, Some(&text), redactor)
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

/// An error status with whatever body came with it: Ecwid's JSON, or text (already scrubbed)
/// to excerpt.
fn error_from_status(
    status: StatusCode,
    retry_after: Option<Duration>,
    body: Option<EcwidError>,
    text: Option<&str>,
    redactor: &Redactor,
) -> Error {
    let mut body = body.or_else(|| text.and_then(|t| serde_json::from_str(t).ok()));
    // Read from JSON, its strings are unescaped: a token the text carried escaped shows here.
    body.scrub(redactor);
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
            read: false,
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
            read: false,
        }
    } else {
        Error::Transport {
            source: source.into(),
            read: false,
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

    const SECRET: &str = "secret_a/b+c";

    fn redactor() -> Redactor {
        Redactor::new(&SecretString::from(SECRET.to_owned()))
    }

    #[test]
    fn scrubs_every_occurrence_of_the_token_and_its_encoded_form() {
        let redactor = redactor();
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
    fn scrubs_the_token_escaped_as_a_json_string_carries_it() {
        let redactor = Redactor::new(&SecretString::from(r#"secret_a/b"c\d"#.to_owned()));
        let mut text = r#"{"m":"secret_a/b\"c\\d and secret_a\/b\"c\\d"}"#.to_owned();
        text.scrub(&redactor);
        assert_eq!(text, r#"{"m":"[redacted] and [redacted]"}"#);
    }

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
        assert!(headers(CallContext::scrubbing_bodies(&Arc::new(redactor()))).await);
        assert!(!headers(CallContext::new()).await);
    }

    #[test]
    fn a_clean_string_is_left_where_it_is() {
        let redactor = redactor();
        let mut clean = String::from("Product has negative stock.");
        let buffer = clean.as_ptr();
        clean.scrub(&redactor);
        assert_eq!(clean, "Product has negative stock.");
        assert_eq!(clean.as_ptr(), buffer, "not copied");
        let mut dirty = format!("é {SECRET} ü");
        dirty.scrub(&redactor);
        assert_eq!(dirty, "é [redacted] ü");
    }

    #[test]
    fn map_keys_are_scrubbed_too() {
        let redactor = redactor();
        let mut value = serde_json::json!({SECRET: {"list": [SECRET, 1, null]}, "plain": SECRET});
        value.scrub(&redactor);
        assert_eq!(
            value,
            serde_json::json!({"[redacted]": {"list": ["[redacted]", 1, null]}, "plain": "[redacted]"})
        );
        let mut args = HashMap::from([(SECRET.to_owned(), SECRET.to_owned())]);
        args.scrub(&redactor);
        assert_eq!(
            args,
            HashMap::from([("[redacted]".to_owned(), "[redacted]".to_owned())])
        );
    }

    /// Each answer type, filled from its JSON schema with the secret in every string, every
    /// key of an open map and every value of any type, keeps none of it once scrubbed. A
    /// string field added to the spec but not to [`scrub_answers!`] fails here.
    #[test]
    fn every_string_of_every_answer_is_scrubbed() {
        assert!(SCRUBBED_ANSWERS.len() >= 8);
        for (name, check) in SCRUBBED_ANSWERS {
            check(name);
        }
    }

    pub(super) fn scrubs_every_string<T>(name: &str)
    where
        T: Scrub + serde::de::DeserializeOwned + serde::Serialize + schemars::JsonSchema,
    {
        let schema = schemars::schema_for!(T);
        let schema = schema.as_value();
        let filled = filled(schema, schema, SECRET);
        let mut value: T = serde_json::from_value(filled.clone())
            .unwrap_or_else(|e| panic!("{name}: {filled} does not read: {e}"));
        let before = serde_json::to_string(&value).unwrap();
        assert!(
            before.contains(SECRET),
            "{name}: nothing to scrub in {before}"
        );
        value.scrub(&redactor());
        let after = serde_json::to_string(&value).unwrap();
        assert!(
            !after.contains("secret_a"),
            "{name} keeps the secret: {after}"
        );
        assert!(after.contains("[redacted]"), "{name}: {after}");
    }

    /// A value of `schema` (within `root`, for `$ref`) with `secret` in every string, every
    /// optional field present and one item in every list.
    fn filled(
        schema: &serde_json::Value,
        root: &serde_json::Value,
        secret: &str,
    ) -> serde_json::Value {
        use serde_json::{json, Value};
        // `true` or `{}`: any JSON at all, so a nested object with the secret as key and value.
        let anything = || json!({ secret: [secret] });
        let Some(object) = schema.as_object() else {
            return anything();
        };
        if let Some(Value::String(reference)) = object.get("$ref") {
            let name = reference.trim_start_matches("#/$defs/");
            return filled(&root["$defs"][name], root, secret);
        }
        if let Some(value) = object.get("const") {
            return value.clone();
        }
        if let Some(Value::Array(values)) = object.get("enum") {
            return values[0].clone();
        }
        for key in ["anyOf", "oneOf", "allOf"] {
            if let Some(Value::Array(options)) = object.get(key) {
                let chosen = options
                    .iter()
                    .find(|option| option.get("type") != Some(&json!("null")))
                    .expect("an option that is not null");
                return filled(chosen, root, secret);
            }
        }
        let kind = match object.get("type") {
            Some(Value::String(kind)) => kind.as_str(),
            Some(Value::Array(kinds)) => kinds
                .iter()
                .filter_map(Value::as_str)
                .find(|kind| *kind != "null")
                .expect("a type that is not null"),
            _ => return anything(),
        };
        match kind {
            "string" => json!(secret),
            "integer" => json!(1),
            "number" => json!(1.5),
            "boolean" => json!(true),
            "array" => json!([filled(
                object.get("items").unwrap_or(&json!(true)),
                root,
                secret
            )]),
            "object" => {
                let mut map = serde_json::Map::new();
                if let Some(Value::Object(properties)) = object.get("properties") {
                    for (name, property) in properties {
                        map.insert(name.clone(), filled(property, root, secret));
                    }
                }
                match object.get("additionalProperties") {
                    None | Some(Value::Bool(false)) => {}
                    Some(extra) => {
                        map.insert(secret.to_owned(), filled(extra, root, secret));
                    }
                }
                Value::Object(map)
            }
            other => panic!("a schema type the test does not know: {other}"),
        }
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

    /// The mapping says an error is a read's when the hook saw a `GET` go out, or the wrapper
    /// marked the request as reads only; otherwise the request may have been applied.
    #[tokio::test]
    async fn a_reads_errors_are_said_of_a_read_where_the_outcome_is_mapped() {
        type Outcome =
            Option<Result<ResponseValue<types::BatchTicket>, progenitor_client::Error<EcwidError>>>;
        let redactor = redactor();
        let cut: Outcome = None;
        let write = CallContext::new();
        let _ = write.get.set(false);
        let get = CallContext::new();
        let _ = get.get.set(true);
        let marked = CallContext::new().reads_only(true);
        let _ = marked.get.set(false);
        let error = read_answer(cut, &write, &redactor).await.unwrap_err();
        assert!(error.may_have_been_applied(), "{error:?}");
        for context in [get, marked] {
            let cut: Outcome = None;
            let error = read_answer(cut, &context, &redactor).await.unwrap_err();
            assert!(
                matches!(error, Error::Timeout { read: true, .. }),
                "{error:?}"
            );
            assert!(!error.may_have_been_applied());
        }
    }
}
