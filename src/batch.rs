//! Ecwid's batch API as the rest of the crate uses it: creating a batch under a deduplication
//! key, reading its status, and polling it until Ecwid reports it completed. Bulk sync, SKU
//! lookups and exactly-once adjustments all go through here.

use std::time::Duration;

use tokio::time::Instant;

use crate::{
    builder::check_setting,
    client::CallOptions,
    generated::types::{BatchRequestItem, BatchResponseItem, BatchStatus, BatchStatusStatus},
    Client, Error,
};

/// How long a run waits, by default, for Ecwid to report one batch completed. A batch of 500
/// requests normally completes within seconds; ten minutes leave room for a busy queue
/// without letting a run hang forever.
const DEFAULT_POLL_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// How a batch's status is polled: first after `first`, then half as often again each time, up
/// to `max`, for at most `timeout`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Polling {
    pub(crate) first: Duration,
    pub(crate) max: Duration,
    pub(crate) timeout: Duration,
}

impl Default for Polling {
    fn default() -> Self {
        Self {
            first: Duration::from_millis(200),
            max: Duration::from_secs(2),
            timeout: DEFAULT_POLL_TIMEOUT,
        }
    }
}

impl Polling {
    /// Every duration at most a day; none zero, which would read the status without pause or
    /// wait for no batch at all.
    pub(crate) fn check(&self) -> Result<(), String> {
        for (name, value) in [
            ("first poll interval", self.first),
            ("longest poll interval", self.max),
            ("poll timeout", self.timeout),
        ] {
            check_setting(name, value, false)?;
        }
        Ok(())
    }
}

impl Client {
    /// Creates (or re-creates, with the same key) one chunk's batch, retrying only while the key
    /// is surely remembered (`key_left`) or the client's deadline allows, whichever ends first.
    pub(crate) async fn create_batch(
        &self,
        key: &str,
        body: &[BatchRequestItem],
        key_left: Duration,
    ) -> Result<String, Error> {
        let store = self.store();
        let info = CallOptions {
            operation: "create_batch",
            // The deduplication key makes a repeated create return the first ticket.
            idempotent: true,
            product: None,
            combination: None,
            deadline: Some(key_left),
        };
        let ticket = self
            .send(info, move |raw| async move {
                raw.create_batch()
                    .store_id(store)
                    .deduplication_key(key)
                    .stop_on_first_failure(false)
                    .body(body.to_vec())
                    .send()
                    .await
            })
            .await?;
        Ok(ticket.ticket)
    }

    pub(crate) async fn batch_status(&self, ticket: &str) -> Result<BatchStatus, Error> {
        let store = self.store();
        let info = CallOptions {
            operation: "get_batch_status",
            idempotent: true,
            product: None,
            combination: None,
            deadline: None,
        };
        self.send(info, move |raw| async move {
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
    /// polling's timeout passes (`None`); `progress` sees every status read before that. The
    /// last read is at the timeout, not after it.
    pub(crate) async fn poll_batch(
        &self,
        ticket: &str,
        polling: Polling,
        mut progress: impl FnMut(&BatchStatus),
    ) -> Result<Option<BatchStatus>, Error> {
        // `None` when the timeout is too long to be reached.
        let deadline = Instant::now().checked_add(polling.timeout);
        let mut wait = polling.first;
        loop {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            tokio::time::sleep(left.map_or(wait, |left| wait.min(left))).await;
            wait = wait.saturating_add(wait / 2).min(polling.max);
            let status = self.batch_status(ticket).await?;
            if status.status == BatchStatusStatus::Completed {
                return Ok(Some(status));
            }
            progress(&status);
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(None);
            }
        }
    }
}

/// The JSON answer a batch item carried: `httpBody`, or `escapedHttpBody` parsed.
pub(crate) fn item_body(response: &BatchResponseItem) -> Option<serde_json::Value> {
    match (&response.http_body, &response.escaped_http_body) {
        (Some(body), _) => Some(body.clone()),
        (None, Some(escaped)) => serde_json::from_str(escaped).ok(),
        (None, None) => None,
    }
}
