//! The webhook delivery worker: takes each event the state made, and delivers it in the
//! background, a task per delivery, by Ecwid's rules (see the `webhooks` module): signed, with
//! Ecwid's timeouts, retried on the schedule until a delivered status.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{CONTENT_TYPE, HOST};
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::task::JoinSet;

use super::shared::Shared;
use super::webhooks::{
    is_delivered, DeliveryOutcome, Outgoing, WebhookDelivery, WebhookTarget, ANSWER_TIMEOUT,
    CONNECT_TIMEOUT,
};
use ecwid_inventory::webhooks::{sign, SIGNATURE_HEADER};

/// Delivers every event sent to `events` until the fake stops (the task is aborted then, and
/// with it every delivery in flight).
pub(crate) async fn worker(shared: Arc<Shared>, mut events: UnboundedReceiver<Outgoing>) {
    let mut deliveries = JoinSet::new();
    while let Some(event) = events.recv().await {
        let event = Arc::new(event);
        for (index, delay) in event.delays.iter().enumerate() {
            let delivery = u32::try_from(index + 1).unwrap_or(u32::MAX);
            deliveries.spawn(deliver(
                Arc::clone(&shared),
                Arc::clone(&event),
                delivery,
                *delay,
            ));
        }
        // Reaps finished deliveries so the set does not grow with every event.
        while deliveries.try_join_next().is_some() {}
    }
}

/// One delivery of an event: its attempts, until delivered or the schedule runs out.
async fn deliver(shared: Arc<Shared>, event: Arc<Outgoing>, delivery: u32, delay: Duration) {
    let Some(target) = shared.config.webhooks.as_ref() else {
        return;
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let signature = sign(&target.client_secret, event.created, &event.event_id);
    let mut attempt = 1u32;
    loop {
        if shared.is_stopped() {
            return;
        }
        let outcome = attempt_once(target, &event, &signature).await;
        let retry = target.schedule.get(attempt as usize - 1).copied();
        let delivered = matches!(outcome, DeliveryOutcome::Delivered { .. });
        tracing::debug!(
            event_id = %event.event_id,
            event_type = %event.event_type,
            delivery,
            attempt,
            ?outcome,
            "fake store: webhook delivery attempt"
        );
        {
            let mut state = shared.lock();
            let at = state.clock.wall();
            let record = WebhookDelivery {
                event_id: event.event_id.clone(),
                event_type: event.event_type.clone(),
                delivery,
                attempt,
                at,
                outcome,
            };
            state.outbox.record(record, delivered || retry.is_none());
        }
        shared.changed();
        match retry {
            Some(wait) if !delivered => tokio::time::sleep(wait).await,
            _ => return,
        }
        attempt += 1;
    }
}

/// One POST of the event, with Ecwid's timeouts.
async fn attempt_once(
    target: &WebhookTarget,
    event: &Outgoing,
    signature: &str,
) -> DeliveryOutcome {
    let failed = |error: String| DeliveryOutcome::Failed { error };
    let url = &target.url;
    // An IPv6 host comes in brackets, which a socket address does not take.
    let host = url
        .host()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = url.port_u16().unwrap_or(80);
    let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((host, port))).await
    {
        Ok(Ok(stream)) => stream,
        Ok(Err(error)) => return failed(format!("cannot connect to {host}:{port}: {error}")),
        Err(_) => return failed(format!("no connection within {CONNECT_TIMEOUT:?}")),
    };
    let request = match request(url, event, signature) {
        Ok(request) => request,
        Err(error) => return failed(format!("cannot build the request: {error}")),
    };
    let exchange = async {
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        let connection = tokio::spawn(connection);
        let response = sender.send_request(request).await;
        let status = match response {
            Ok(response) => {
                let status = response.status().as_u16();
                // The answer's body is read (and dropped) before the attempt counts as
                // answered, as a client that waits for the whole answer does.
                response.into_body().collect().await?;
                Ok(status)
            }
            Err(error) => Err(error),
        };
        connection.abort();
        status
    };
    match tokio::time::timeout(ANSWER_TIMEOUT, exchange).await {
        Ok(Ok(status)) if is_delivered(status) => DeliveryOutcome::Delivered { status },
        Ok(Ok(status)) => DeliveryOutcome::NotDelivered { status },
        Ok(Err(error)) => failed(format!("no answer: {error}")),
        Err(_) => failed(format!("no answer within {ANSWER_TIMEOUT:?}")),
    }
}

/// The POST Ecwid sends: the URL with `eventtype` added to its query, the JSON body, the
/// signature header.
fn request(
    url: &Uri,
    event: &Outgoing,
    signature: &str,
) -> Result<Request<Full<Bytes>>, hyper::http::Error> {
    let path = url.path();
    let event_type: String = form_urlencoded::byte_serialize(event.event_type.as_bytes()).collect();
    let path_and_query = match url.query() {
        Some(query) if !query.is_empty() => format!("{path}?{query}&eventtype={event_type}"),
        _ => format!("{path}?eventtype={event_type}"),
    };
    let authority = url.authority().map_or("", |authority| authority.as_str());
    Request::post(path_and_query)
        .header(HOST, authority)
        .header(CONTENT_TYPE, "application/json; charset=utf-8")
        .header(SIGNATURE_HEADER, signature)
        .body(Full::new(Bytes::from(event.body.clone())))
}
