//! Exactly-once single adjustments ([`AdjustStock::exactly_once`]): the delta goes out as a
//! one-item batch under a deduplication key, so the create can be sent again after any
//! failure of the transport and Ecwid applies it once; the batch's result is then the
//! adjustment's.
//!
//! One retry layer: the create and the status reads go through the client's pipeline with
//! [`Repeat::UntilDeadline`], which honours `Retry-After` and its cap and stops when the next
//! attempt would come too late; reading the status until the item's result is known is the
//! small polling policy below.

use std::time::Duration;

use serde::Deserialize;
use tokio::time::Instant;

use crate::{
    batch::{item_result, result_for, ItemResult, Polling, KEY_WINDOW},
    client::{CallOptions, Failed},
    generated::types::{BatchRequestItem, BatchStatusStatus, StockUpdateResult},
    retry::Repeat,
    AdjustStock, BulkItem, Client, Error, RequestOptions, StockAdjustment,
};

/// How the one-item batch is read: Ecwid usually runs it within a second.
const POLLING: Polling = Polling {
    first: Duration::from_millis(100),
    max: Duration::from_secs(1),
    timeout: KEY_WINDOW,
};

impl AdjustStock<'_> {
    /// Sends the delta exactly once: as a one-item batch with a deduplication key, so that
    /// timeouts, lost connections and 5xx are retried (the create, then the status reads)
    /// without ever applying it twice, and the caller learns the real outcome: the same
    /// [`StockAdjustment`], or the item's error (a 4xx refused it; nothing was applied).
    ///
    /// Costs at least two rate-limited requests (the create and a status read) against the
    /// direct call's one, and Ecwid's batch latency (usually well under a second).
    ///
    /// It keeps trying, and reading the batch until its result is known, until the call's
    /// deadline ([`ClientBuilder::deadline`], 2 minutes by default: raise it for long outages),
    /// and never past 55 minutes, when Ecwid may have forgotten the key. It honours
    /// `Retry-After`, and stops at once when Ecwid asks for a wait longer than the retry
    /// policy's cap or past the deadline. If the outcome is still unknown then, it fails with
    /// [`Error::OutcomeUnknown`], which says what ended it; read the stock before sending the
    /// delta again.
    ///
    /// [`ClientBuilder::deadline`]: crate::ClientBuilder::deadline
    pub fn exactly_once(mut self) -> Self {
        self.exactly_once = true;
        self
    }

    pub(crate) async fn send_exactly_once(self) -> Result<StockAdjustment, Error> {
        self.send_within(KEY_WINDOW).await
    }

    /// Sends it as [`exactly_once`](Self::exactly_once) does, within `window` of making the
    /// key.
    async fn send_within(self, window: Duration) -> Result<StockAdjustment, Error> {
        let mut item = BulkItem::new(self.item, crate::stock::check_delta(self.delta)?);
        item.check_low_stock_notification = self.check_low_stock_notification;
        let request = item.to_request(0)?;
        let key = uuid::Uuid::new_v4().to_string();
        send_once(self.client, request, &key, window, &self.options).await
    }
}

/// Applies `request` exactly once as a one-item batch under `key`, which Ecwid surely remembers
/// for `window` more, and reads its result as a stock update.
pub(crate) async fn send_once(
    client: &Client,
    request: BatchRequestItem,
    key: &str,
    window: Duration,
    options: &RequestOptions,
) -> Result<StockAdjustment, Error> {
    let deadline = options.deadline.unwrap_or(client.inner.deadline);
    let budget = deadline.min(window);
    let ended = if window <= deadline {
        format!("its deduplication key's window ended ({budget:?})")
    } else {
        format!("the call's deadline ended ({budget:?})")
    };
    let ends_at = Instant::now() + budget;
    let unknown = |what: String| Error::OutcomeUnknown { detail: what };

    let request = [request];
    let ticket = match client
        .create_batch(
            key,
            &request,
            Repeat::UntilDeadline,
            budget,
            options.timeout,
        )
        .await
    {
        Ok(ticket) => ticket,
        Err(failed) => {
            let Failed {
                error,
                maybe_applied,
                stop,
            } = failed;
            return Err(match maybe_applied {
                Some(first) => unknown(format!(
                    "the batch create may have reached Ecwid ({first}), and was not sent \
                     again: {stop} (the last attempt: {error})"
                )),
                // Refused, or never sent: nothing was applied.
                None if !error.may_have_been_applied() => error,
                None => unknown(format!(
                    "the batch create may have reached Ecwid ({error}), and was not sent \
                     again: {stop}"
                )),
            });
        }
    };

    // Read its result until it is known; a failed read is tried again, as reads change nothing.
    let mut wait = POLLING.first;
    let mut known = String::from("it had not completed");
    loop {
        let left = ends_at.saturating_duration_since(Instant::now());
        if wait >= left {
            return Err(unknown(format!(
                "Ecwid queued it as batch {ticket}, and {known} when {ended}"
            )));
        }
        tokio::time::sleep(wait).await;
        wait = POLLING.after(wait);
        let read = CallOptions::new("get_batch_status", Repeat::UntilDeadline)
            .deadline(Some(ends_at.saturating_duration_since(Instant::now())))
            .timeout(options.timeout);
        let status = match client.batch_status(&ticket, read).await {
            Ok(status) => status,
            Err(Failed { error, stop, .. }) => {
                return Err(unknown(format!(
                    "Ecwid queued it as batch {ticket}, and its status could not be read \
                     ({error}): {stop}"
                )))
            }
        };
        if status.status != BatchStatusStatus::Completed {
            known = "it had not completed".into();
            continue;
        }
        // A completed batch whose answer is unclear may tell on the next read.
        match result_for(&status, "0").map(item_result) {
            None => known = "Ecwid reported it completed, without its result".into(),
            Some(ItemResult::Answered(body)) => match StockUpdateResult::deserialize(&body) {
                Ok(result) => return StockAdjustment::from_result(result),
                Err(_) => known = "Ecwid reported it completed, with an unreadable result".into(),
            },
            Some(ItemResult::Refused(error)) => return Err(error),
            Some(ItemResult::NotExecuted) => return Err(Error::NotExecuted),
            Some(ItemResult::Unclear(what)) => {
                known = format!("Ecwid reported it completed, with an unclear result: {what}")
            }
        }
    }
}

#[cfg(all(test, feature = "fake"))]
mod tests {
    use super::*;
    use crate::fake::{demo, FakeStore};

    /// Past the key's window (scaled down to a second here), a batch that never completes is
    /// reported unknown, and the create is not sent again.
    #[tokio::test]
    async fn past_the_window_the_outcome_is_unknown_and_nothing_is_resent() {
        let fake = FakeStore::demo().await.unwrap();
        fake.pause_batches();
        let client = fake
            .client_builder(demo::TOKEN)
            .deadline(Duration::from_secs(3600))
            .build()
            .unwrap();
        let error = client
            .adjust_product_stock(demo::MUG, -1)
            .exactly_once()
            .send_within(Duration::from_millis(800))
            .await
            .unwrap_err();
        assert!(matches!(error, Error::OutcomeUnknown { .. }), "{error:?}");
        assert!(error.may_have_been_applied());
        let text = error.to_string();
        assert!(
            text.contains("window") && text.contains("had not completed"),
            "{text}"
        );
        let creates = fake.journal().iter().filter(|r| r.method == "POST").count();
        assert_eq!(creates, 1, "never sent again");
        assert!(fake.ledger().is_empty());
    }
}
