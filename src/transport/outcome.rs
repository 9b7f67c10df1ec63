//! What one attempt came back with, in the crate's terms: the answer's value, scrubbed, or
//! the [`Error`] it amounts to. [`read_answer`] is where every attempt's outcome becomes an
//! [`Error`], built from scrubbed parts and from what the hook saw on the wire (the status,
//! `Retry-After`), which progenitor's own errors drop; a read applies nothing, so it says so
//! of each error of a read ([`CallContext::is_read`]). Batch items' error bodies are read by
//! the same [`ErrorFields`].

use std::time::Duration;

use progenitor_client::ResponseValue;
use reqwest::StatusCode;

use super::{
    hook::{CallContext, Seen},
    scrub::{Redactor, Scrub},
};
use crate::{generated::types::EcwidError, Error};

/// Longest error-body excerpt kept in an error, so a proxy's HTML page does not bloat logs.
const BODY_EXCERPT: usize = 300;

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
    use secrecy::SecretString;

    use super::*;
    use crate::generated::types;

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

    /// The mapping says an error is a read's when the hook saw a `GET` go out, or the wrapper
    /// marked the request as reads only; otherwise the request may have been applied.
    #[tokio::test]
    async fn a_reads_errors_are_said_of_a_read_where_the_outcome_is_mapped() {
        type Outcome =
            Option<Result<ResponseValue<types::BatchTicket>, progenitor_client::Error<EcwidError>>>;
        let redactor = Redactor::new(&SecretString::from("secret_token".to_owned()));
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
