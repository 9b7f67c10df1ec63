//! Exactly-once single adjustments ([`AdjustStock::exactly_once`]): the delta goes out as a
//! one-item batch under a deduplication key, so the create can be sent again after any
//! failure of the transport and Ecwid applies it once; the batch's result is then the
//! adjustment's.

use std::time::Duration;

use tokio::time::Instant;

use crate::{
    batch::Polling, bulk::outcome::outcome, retry::backoff, AdjustStock, BulkItem, Error,
    ItemOutcome, StockAdjustment,
};

/// How long a deduplication key is surely remembered: Ecwid keeps it an hour from the first
/// create; five minutes are kept spare for clock differences and the create's own time.
const KEY_WINDOW: Duration = Duration::from_secs(55 * 60);

/// How often the one-item batch is read: Ecwid usually runs it within a second.
const POLL_FIRST: Duration = Duration::from_millis(100);
const POLL_MAX: Duration = Duration::from_secs(1);

impl AdjustStock<'_> {
    /// Sends the delta exactly once: as a one-item batch with a deduplication key, so that
    /// timeouts, lost connections and 5xx are retried (the create, then the status reads)
    /// without ever applying it twice, and the caller learns the real outcome: the same
    /// [`StockAdjustment`], or the item's error (a 4xx refused it; nothing was applied).
    ///
    /// Costs at least two rate-limited requests (the create and a status read) against the
    /// direct call's one, and Ecwid's batch latency (usually well under a second).
    ///
    /// It keeps trying until the client's deadline ([`ClientBuilder::deadline`], 2 minutes by
    /// default: raise it for long outages), and never past 55 minutes, when Ecwid may have
    /// forgotten the key. If the outcome is still unknown then, it fails with
    /// [`Error::OutcomeUnknown`], which says why; read the stock before sending it again.
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
        let client = self.client;
        let mut item = BulkItem::new(self.item, crate::stock::check_delta(self.delta)?);
        item.check_low_stock_notification = self.check_low_stock_notification;
        let request = [item.to_request(0)?];
        let key = uuid::Uuid::new_v4().to_string();
        let started = Instant::now();
        let budget = client.inner.deadline.min(window);
        let deadline = started + budget;
        let give_up = |what: String| unknown(budget, window, what);

        // Create, again with the same key until Ecwid answers with a ticket.
        let mut round = 0;
        let mut maybe_sent = false;
        let ticket = loop {
            round += 1;
            let left = deadline.saturating_duration_since(Instant::now());
            match client.create_batch(&key, &request, left).await {
                Ok(ticket) => break ticket,
                Err(error) => {
                    maybe_sent |= error.may_have_been_applied();
                    if !maybe_sent {
                        // Refused, or never sent: nothing was applied.
                        return Err(error);
                    }
                    let wait = backoff(&client.inner.retry, round, fastrand::f64());
                    if Instant::now() + wait >= deadline {
                        return Err(give_up(format!(
                            "the batch create may have reached Ecwid ({error})"
                        )));
                    }
                    tokio::time::sleep(wait).await;
                }
            }
        };

        // Read its result; a failed read is tried again, as reads change nothing.
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(give_up(format!(
                    "Ecwid queued it as batch {ticket}, and it had not completed"
                )));
            }
            let polling = Polling {
                first: POLL_FIRST,
                max: POLL_MAX,
                timeout: left,
            };
            match client.poll_batch(&ticket, polling, |_| {}).await {
                Ok(Some(status)) => {
                    let result = status
                        .responses
                        .iter()
                        .find(|r| r.id.as_deref() == Some("0"));
                    let Some(result) = result else {
                        return Err(give_up(format!("batch {ticket} has no result")));
                    };
                    return match outcome(result) {
                        ItemOutcome::Updated { warning, .. } => {
                            Ok(StockAdjustment::new(1, warning))
                        }
                        ItemOutcome::NotUpdated => Ok(StockAdjustment::new(0, None)),
                        ItemOutcome::Failed {
                            status,
                            error_code,
                            error_message,
                            ..
                        } => Err(Error::Api {
                            status,
                            error_code,
                            error_message,
                            args: Vec::new(),
                        }),
                        ItemOutcome::NotExecuted => Err(Error::NotExecuted),
                        ItemOutcome::Unknown { reason, .. } => Err(give_up(reason)),
                        ItemOutcome::NotSent { reason, .. } => Err(give_up(reason)),
                    };
                }
                Ok(None) => continue,
                Err(error) => {
                    let wait = POLL_MAX.min(deadline.saturating_duration_since(Instant::now()));
                    if wait.is_zero() {
                        return Err(give_up(format!(
                            "batch {ticket} could not be read ({error})"
                        )));
                    }
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}

/// Why the outcome stays unknown: `what` was known when the budget (the call's deadline or the
/// key's window, whichever is shorter) ran out.
fn unknown(budget: Duration, window: Duration, what: String) -> Error {
    let ended = if budget >= window {
        "its deduplication key's window"
    } else {
        "the call's deadline"
    };
    Error::OutcomeUnknown {
        detail: format!("{what} when {ended} ended ({budget:?})"),
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
