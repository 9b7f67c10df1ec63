//! The HTTP side: hyper 1 on a loopback listener, the recorded requests, and scripted faults.
//!
//! A small hyper server rather than `wiremock`: the fake is stateful (stock, ledger, batches
//! run by a worker, a rate limit per token) and must act mid-request (apply a delta, then drop
//! the connection without an answer), which a matcher-and-template mock cannot express. The
//! crate's own wire tests use wiremock, where canned answers are the point.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use hyper::http::request::Parts;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use secrecy::ExposeSecret;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

use super::answer::Answer;
use super::auth::credential;
use super::faults::Fault;
use super::records::{RecordedRequest, RequestId};
use super::request::{Endpoint, HttpRequest};
use super::shared::Shared;

/// Returned by the service to make hyper drop the connection without writing a response.
#[derive(Debug)]
struct DropConnection;

impl fmt::Display for DropConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("scripted fault: connection dropped without a response")
    }
}

impl std::error::Error for DropConnection {}

/// Accepts connections forever; the [`FakeStore`](super::FakeStore) stops it by aborting the
/// task, which drops the listener (closing the port) and the set of tasks (aborting every
/// connection and batch worker).
pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>, mut tasks: JoinSet<()>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tasks.spawn(connection(stream, Arc::clone(&shared)));
            }
            Err(error) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::debug!(%error, "fake store: accept failed");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        // Reaps finished connections so the set does not grow with every request.
        while tasks.try_join_next().is_some() {}
    }
}

async fn connection(stream: TcpStream, shared: Arc<Shared>) {
    let service = service_fn(move |request| handle(Arc::clone(&shared), request));
    if let Err(error) = http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await
    {
        tracing::debug!(%error, "fake store: connection ended");
    }
}

async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, DropConnection> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map_err(|_| DropConnection)?.to_bytes();
    let method = parts.method.as_str();
    let endpoint = Endpoint::from_api_path(parts.uri.path());
    let route = endpoint.and_then(|e| e.route(method));

    let (id, fault) = {
        let mut state = shared.lock();
        let id = RequestId(state.next_request);
        state.next_request += 1;
        let recorded = record(&shared, id, &parts, &body);
        tracing::debug!(id = id.0, method, path = %recorded.path, "fake store: request");
        state.requests.push(recorded);
        (id, state.faults.take(route))
    };
    shared.changed();

    let mut close_after = false;
    let mut delay = None;
    match fault {
        Some(Fault::Respond {
            status,
            headers,
            body,
        }) => {
            shared.answered(id, status);
            return Ok(scripted_response(status, headers, body));
        }
        Some(Fault::CloseBeforeApplying) => {
            tracing::debug!(id = id.0, "fake store: closing before applying (scripted)");
            return Err(DropConnection);
        }
        Some(Fault::Delay(duration)) => delay = Some(duration),
        Some(Fault::CloseAfterApplying) => close_after = true,
        None => {}
    }
    let server_time = shared.config.server_time(endpoint, method);
    if !server_time.is_zero() {
        delay = Some(delay.unwrap_or_default() + server_time);
    }

    let answer = match delay {
        None => process(&shared, id, &parts, &body, !close_after),
        Some(delay) => {
            // Hyper drops this handler when the client hangs up; a real server would still
            // finish the request, so the delayed work runs on a task of its own. It applies
            // nothing if the fake was stopped meanwhile.
            let shared = Arc::clone(&shared);
            let delayed = tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                (!shared.is_stopped()).then(|| process(&shared, id, &parts, &body, true))
            });
            delayed.await.ok().flatten().ok_or(DropConnection)?
        }
    };
    if close_after {
        tracing::debug!(id = id.0, "fake store: closing after applying (scripted)");
        return Err(DropConnection);
    }
    Ok(response(answer))
}

/// Runs Ecwid's logic on a received request, noting in its record the status of an answer
/// that will be sent.
fn process(shared: &Shared, id: RequestId, parts: &Parts, body: &[u8], sent: bool) -> Answer {
    let header = |name| parts.headers.get(name).and_then(|v| v.to_str().ok());
    let answer = shared.lock().handle_http(
        &shared.config,
        HttpRequest {
            id,
            method: parts.method.as_str(),
            path: parts.uri.path(),
            query: parts.uri.query(),
            authorization: header(AUTHORIZATION),
            content_type: header(CONTENT_TYPE),
            body,
        },
    );
    if sent {
        shared.answered(id, answer.status.as_u16());
    } else {
        shared.changed();
    }
    answer
}

/// The recorded copy of a request: the Authorization value replaced, and every configured
/// token value, and whatever credential the request presented, scrubbed from whatever else it
/// carried.
fn record(shared: &Shared, id: RequestId, parts: &Parts, body: &[u8]) -> RecordedRequest {
    // The credential after the scheme ("Bearer x" gives "x"), known to the fake or not.
    let presented = parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(credential)
        .map(|(_, credential)| credential);
    let scrub = |text: &str| {
        shared
            .config
            .tokens
            .iter()
            .map(|token| token.value.expose_secret())
            .chain(presented)
            .filter(|value| !value.is_empty())
            .fold(text.to_owned(), |text, value| {
                text.replace(value, "[REDACTED]")
            })
    };
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes());
            let value = if name == AUTHORIZATION {
                if value.starts_with("Bearer ") {
                    "Bearer [REDACTED]".to_owned()
                } else {
                    "[REDACTED]".to_owned()
                }
            } else {
                scrub(&value)
            };
            (name.as_str().to_owned(), value)
        })
        .collect();
    RecordedRequest {
        id,
        method: parts.method.as_str().to_owned(),
        path: scrub(parts.uri.path()),
        query: parts.uri.query().map(scrub),
        headers,
        body: scrub(&String::from_utf8_lossy(body)),
        status: None,
    }
}

fn response(answer: Answer) -> Response<Full<Bytes>> {
    let text = answer.text.unwrap_or_else(|| answer.body.to_string());
    let mut response = Response::new(Full::new(Bytes::from(text)));
    *response.status_mut() = answer.status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=utf-8"),
    );
    for (name, value) in answer.headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    response
}

fn scripted_response(
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
) -> Response<Full<Bytes>> {
    let is_json = !body.is_empty() && serde_json::from_str::<serde_json::Value>(&body).is_ok();
    let mut response = Response::new(Full::new(Bytes::from(body)));
    // Checked when the fault was scripted.
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let map = response.headers_mut();
    let content_type = if is_json {
        "application/json;charset=utf-8"
    } else {
        "text/plain;charset=utf-8"
    };
    map.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            map.insert(name, value);
        }
    }
    response
}

/// Checks a scripted response's status and headers when it is scripted, where a mistake is
/// easy to trace, rather than when a request meets it.
pub(crate) fn check_fault(fault: &Fault) {
    if let Fault::Respond {
        status, headers, ..
    } = fault
    {
        assert!(
            StatusCode::from_u16(*status).is_ok(),
            "Fault::Respond: {status} is not an HTTP status"
        );
        for (name, value) in headers {
            assert!(
                HeaderName::from_bytes(name.as_bytes()).is_ok()
                    && HeaderValue::from_str(value).is_ok(),
                "Fault::Respond: {name:?} is not a valid header"
            );
        }
    }
}
