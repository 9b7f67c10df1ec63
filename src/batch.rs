//! Ecwid's batch API as the rest of the crate uses it: creating a batch under a deduplication
//! key, reading its status, polling it until Ecwid reports it completed, and reading what each
//! item's result means ([`item_result`]). Bulk sync, SKU lookups and exactly-once adjustments
//! all go through here, and every batch item's path is made in [`paths`].

use std::time::Duration;

use tokio::time::Instant;

use crate::{
    client::{CallFailed, CallOptions},
    generated::types::{
        BatchRequestItem, BatchRequestItemMethod, BatchResponseItem, BatchResponseItemStatus,
        BatchStatus, BatchStatusStatus,
    },
    polling::{Polling, Schedule},
    retry::Repeat,
    transport::ErrorFields,
    Client, Error, RequestOptions,
};

pub(crate) mod paths;

/// A batch item that reads (`GET`) `path`, one of [`paths`]'s, under `id`.
pub(crate) fn read_item(id: String, path: String) -> BatchRequestItem {
    BatchRequestItem {
        id: Some(id),
        method: BatchRequestItemMethod::Get,
        path,
        body: serde_json::Map::new(),
    }
}

/// How Ecwid may run a batch's items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ItemOrder {
    /// One after another, in order: what a batch that writes needs, as its items' effects
    /// (on the same stock, say) must land in the order sent.
    InOrder,
    /// `allowParallelMode`: up to 100 at once, in no promised order. For batches that only
    /// read, which then take about as long as their slowest read rather than all reads in turn.
    Parallel,
}

impl Client {
    /// Creates (or re-creates, with the same key) a batch, sending it again as `repeat` allows
    /// within `deadline`; the caller keeps that within the key's window. A batch whose items
    /// are all reads applies nothing, and its create's errors say so.
    pub(crate) async fn create_batch(
        &self,
        key: &str,
        body: &[BatchRequestItem],
        order: ItemOrder,
        repeat: Repeat,
        deadline: Duration,
        timeout: Option<Duration>,
    ) -> Result<String, CallFailed> {
        let store = self.store();
        // The deduplication key makes a repeated create return the first ticket.
        let reads_only = body
            .iter()
            .all(|item| item.method == BatchRequestItemMethod::Get);
        let options = CallOptions::new("create_batch", repeat)
            .reads_only(reads_only)
            .deadline(Some(deadline))
            .timeout(timeout);
        let ticket = self
            .send_until(options, move |raw| async move {
                let create = raw
                    .create_batch()
                    .store_id(store)
                    .deduplication_key(key)
                    .stop_on_first_failure(false)
                    .body(body.to_vec());
                match order {
                    ItemOrder::InOrder => create.send().await,
                    ItemOrder::Parallel => create.allow_parallel_mode(true).send().await,
                }
            })
            .await?;
        Ok(ticket.ticket)
    }

    /// Reads the status of the batch `ticket` once (a read: safe to repeat).
    pub(crate) async fn batch_status(
        &self,
        ticket: &str,
        options: CallOptions,
    ) -> Result<BatchStatus, CallFailed> {
        let store = self.store();
        self.send_until(options, move |raw| async move {
            raw.get_batch_status()
                .store_id(store)
                .ticket(ticket)
                .send()
                .await
        })
        .await
    }
}

impl Client {
    /// Reads the status of the batch `ticket` until Ecwid reports it completed (`Some`) or the
    /// polling's timeout (by default [`Polling::DEFAULT_TIMEOUT`]) passes (`None`); `progress`
    /// sees every status read before that. The last read is at the timeout, not a poll
    /// interval before it nor after it.
    pub(crate) async fn poll_batch(
        &self,
        ticket: &str,
        polling: Polling,
        options: &RequestOptions,
        mut progress: impl FnMut(&BatchStatus),
    ) -> Result<Option<BatchStatus>, Error> {
        let mut schedule = Schedule::usual(polling, Instant::now());
        loop {
            let Some(pause) = schedule.next_pause(Instant::now()) else {
                return Ok(None);
            };
            tokio::time::sleep(pause).await;
            let read = options.apply(CallOptions::new("get_batch_status", Repeat::Always));
            let status = self
                .batch_status(ticket, read)
                .await
                .map_err(CallFailed::into_error)?;
            if status.status == BatchStatusStatus::Completed {
                return Ok(Some(status));
            }
            progress(&status);
        }
    }
}

/// The JSON answer a batch item carried, taken out of it: `httpBody`, or `escapedHttpBody`
/// parsed.
fn take_body(response: &mut BatchResponseItem) -> Option<serde_json::Value> {
    match (response.http_body.take(), &response.escaped_http_body) {
        (Some(body), _) => Some(body),
        (None, Some(escaped)) => serde_json::from_str(escaped).ok(),
        (None, None) => None,
    }
}

/// What one item's result in a batch says happened to it. The one place a batch result is
/// read: bulk outcomes, SKU lookups and exactly-once adjustments all start from it.
#[derive(Debug)]
pub(crate) enum ItemResult {
    /// Ecwid ran the request and it succeeded; its answer's body (`null` when it had none),
    /// for the caller to read as the answer it expects.
    Answered(serde_json::Value),
    /// Ecwid ran the request and answered with an error status (400 to 599): the error a
    /// direct request would have got. A 5xx may have been applied.
    Refused(Error),
    /// Ecwid did not run the request: nothing was applied.
    NotExecuted,
    /// The result contradicts itself or has no usable status: the request may have run.
    /// Says what Ecwid gave.
    Unclear(String),
}

/// Reads one item's result from a completed batch.
///
/// `Refused` needs an error status (400 to 599): an item marked `FAILED` without one (no status
/// code, or one that is no HTTP status) may have been applied, so it is `Unclear`. So is an item
/// marked `NOT_EXECUTED` that carries a success or server-failure status or an answer that is
/// not an error. A `COMPLETED` item without a usable status is `Answered`: its body decides.
pub(crate) fn item_result(response: &BatchResponseItem) -> ItemResult {
    into_item_result(response.clone())
}

/// [`item_result`] of a result the caller no longer needs: its answer's body is moved, not
/// copied (a batch of page reads carries megabytes of them).
pub(crate) fn into_item_result(mut response: BatchResponseItem) -> ItemResult {
    let body = take_body(&mut response);
    // The item's HTTP status, when Ecwid gave one that reads as such.
    let status = response
        .http_status_code
        .and_then(|s| u16::try_from(s).ok())
        .filter(|s| (100..=599).contains(s));
    let raw_status = match response.http_status_code {
        Some(code) => format!("status {code}"),
        None => "no status code".to_owned(),
    };
    let unclear = |what: &str| ItemResult::Unclear(format!("{what} ({raw_status})"));
    match (response.status, status) {
        // Not executed, yet carrying a success or server-failure status or an answer: the item
        // contradicts itself, so it may have run.
        (BatchResponseItemStatus::NotExecuted, Some(200..=299 | 500..=599)) => {
            unclear("marked not executed, yet with a success or server-failure status")
        }
        (BatchResponseItemStatus::NotExecuted, _) if body.as_ref().is_some_and(is_answer) => {
            unclear("marked not executed, yet with an answer")
        }
        (BatchResponseItemStatus::NotExecuted, _) => ItemResult::NotExecuted,
        (_, Some(status @ 400..=599)) => {
            let error = ErrorFields::from_json(body);
            ItemResult::Refused(Error::Api {
                status,
                error_code: error.code,
                error_message: error.message,
                args: error.args,
                read: false,
            })
        }
        (BatchResponseItemStatus::Completed, None | Some(200..=299)) => {
            ItemResult::Answered(body.unwrap_or(serde_json::Value::Null))
        }
        (BatchResponseItemStatus::Completed, Some(_)) => {
            unclear("a completed result with an unexpected status")
        }
        (BatchResponseItemStatus::Failed, _) => unclear("marked failed without an error status"),
    }
}

/// A JSON object that is not Ecwid's error body: what a request that ran would answer.
fn is_answer(body: &serde_json::Value) -> bool {
    body.as_object().is_some_and(|fields| {
        !fields.is_empty()
            && !fields.contains_key("errorCode")
            && !fields.contains_key("errorMessage")
            && !fields.contains_key("error_message")
    })
}

/// The result of the request sent with `id` in a batch's status, if Ecwid gave one.
pub(crate) fn result_for<'a>(status: &'a BatchStatus, id: &str) -> Option<&'a BatchResponseItem> {
    status
        .responses
        .iter()
        .find(|r| r.id.as_deref() == Some(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::{RetryPolicy, StoreId};
    use wiremock::{matchers::any, Mock, MockServer, ResponseTemplate};

    fn item(method: BatchRequestItemMethod, path: &str) -> BatchRequestItem {
        BatchRequestItem {
            id: Some("0".into()),
            method,
            path: path.into(),
            body: serde_json::Map::new(),
        }
    }

    /// A create whose items all read applies nothing, and its error says so; one item that
    /// writes makes it a write, whose error may have been applied.
    #[tokio::test]
    async fn a_create_is_a_read_only_when_every_item_reads() {
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(500))
            .mount(&server)
            .await;
        let client = Client::builder(StoreId::new(1003), "secret_t")
            .base_url(format!("{}/api/v3", server.uri()))
            .retry_policy(RetryPolicy::never())
            .build()
            .unwrap();
        let read = item(BatchRequestItemMethod::Get, "/products/1");
        let write = item(BatchRequestItemMethod::Put, "/products/1");
        for (body, applied) in [(vec![read.clone()], false), (vec![read, write], true)] {
            let failed = client
                .create_batch(
                    "key",
                    &body,
                    ItemOrder::InOrder,
                    Repeat::Always,
                    Duration::from_secs(5),
                    None,
                )
                .await
                .unwrap_err();
            assert!(
                matches!(failed.error, Error::Api { status: 500, .. }),
                "{failed:?}"
            );
            assert_eq!(failed.error.may_have_been_applied(), applied, "{body:?}");
        }
    }
}
