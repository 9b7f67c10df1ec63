//! Exactly-once single adjustments ([`AdjustStock::exactly_once`]): the delta goes out as a
//! one-item batch under a deduplication key, so the create can be sent again after any
//! failure of the transport and Ecwid applies it once; the batch's result is then the
//! adjustment's.
//!
//! One retry layer: the create and the status reads go through the client's pipeline with
//! [`Repeat::UntilDeadline`], which honours `Retry-After` and its cap and stops when the next
//! attempt would come too late; reading the status until the item's result is known is the
//! small polling policy below.

use std::time::{Duration, SystemTime};

use serde::Deserialize;
use tokio::time::Instant;

use crate::{
    batch::{item_result, result_for, ItemOrder, ItemResult},
    bulk::BulkItem,
    client::{CallFailed, CallOptions},
    deduplication::{CallerKey, Once, KEY_WINDOW},
    generated::types::{BatchRequestItem, BatchStatusStatus, StockUpdateResult},
    polling::Polling,
    retry::Repeat,
    stock::AdjustStock,
    Client, Error, RequestOptions, StockAdjustment,
};

/// How the one-item batch is read: Ecwid usually runs it within a second. Its reads end with
/// the call's deadline and the key's window, not a poll timeout.
const POLLING: Polling =
    Polling::new().interval(Duration::from_millis(100), Duration::from_secs(1));

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
    /// and never past 55 minutes, when Ecwid may have forgotten the key, however many retries
    /// the [`RetryPolicy`](crate::RetryPolicy) allows other calls. The last status read is timed
    /// to finish by the deadline, sooner than the poll interval if need be: it goes out while
    /// twice the call's slowest round trip so far is left (at least 50 ms, at most the client's
    /// [`min_attempt_time`](crate::ClientBuilder::min_attempt_time)). It honours `Retry-After`,
    /// and stops at once when Ecwid asks for a wait longer than the retry policy's cap or past
    /// the deadline. If the outcome is still unknown then, it fails with
    /// [`Error::OutcomeUnknown`], which says what ended it; read the stock before sending the
    /// delta again.
    ///
    /// The key is fresh for each call: a program that crashes and makes the call again sends a
    /// new key. To make the same call safe across processes, use
    /// [`exactly_once_key`](Self::exactly_once_key).
    ///
    /// [`ClientBuilder::deadline`]: crate::ClientBuilder::deadline
    pub fn exactly_once(mut self) -> Self {
        self.once = std::mem::take(&mut self.once).fresh();
        self
    }

    /// Sends the delta exactly once under a key derived from the caller's own id for it (an
    /// order line, a webhook event: `"shopify-order-1001/line-2"`), so that the same call made
    /// again, by this process or a restarted one, within Ecwid's window, is answered with the
    /// first one's result and applied once.
    ///
    /// `first_attempt` is when the change was first sent under this key (or, if that is not
    /// recorded, a time no later than it: the event's own time). Ecwid forgets a key an hour
    /// after its first use, and a fresh process cannot know on its own when that was, so the
    /// call is refused, sending nothing, with [`Error::KeyExpired`] once `first_attempt` is 55
    /// minutes old (on the client's [`TimeSource`](crate::TimeSource)); the deadline is cut to
    /// what is left of that window. Past it, read the stock to learn whether an earlier attempt
    /// landed. For events that may come again hours later, record them in the
    /// [journal](crate::journal), which remembers them for as long as you keep it.
    ///
    /// The deduplication key is a UUID (v5) of the store and `key`: the same key in two stores
    /// is two keys. An empty key, or one over 1,000 bytes, fails with
    /// [`Error::InvalidInput`] before anything is sent. Otherwise the call behaves as
    /// [`exactly_once`](Self::exactly_once).
    ///
    /// ```no_run
    /// # async fn run(client: ecwid_inventory::Client, item: ecwid_inventory::StockItem)
    /// # -> Result<(), ecwid_inventory::Error> {
    /// use std::time::SystemTime;
    ///
    /// let received_at = SystemTime::now(); // when the order line first came in
    /// client
    ///     .adjust_stock(item, -2)
    ///     .exactly_once_key("shopify-order-1001/line-2", received_at)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn exactly_once_key(mut self, key: impl Into<String>, first_attempt: SystemTime) -> Self {
        self.once = Once::Keyed(CallerKey::new(key.into(), first_attempt));
        self
    }

    pub(crate) async fn send_exactly_once(self) -> Result<StockAdjustment, Error> {
        let mut item = BulkItem::new(self.item, crate::stock::check_delta(self.delta)?);
        item.check_low_stock_notification = self.check_low_stock_notification;
        let request = item.to_request(0)?;
        send_once_as(self.client, request, &self.once, &self.options).await
    }
}

/// Sends `request` exactly once as `once` says (a fresh key, or the caller's).
pub(crate) async fn send_once_as(
    client: &Client,
    request: BatchRequestItem,
    once: &Once,
    options: &RequestOptions,
) -> Result<StockAdjustment, Error> {
    match once {
        Once::Keyed(key) => {
            let deduplication_key = key.deduplication_key(client.store())?;
            let left = key.window_left(client.now())?;
            send_once(client, request, &deduplication_key, left, options).await
        }
        _ => {
            let key = uuid::Uuid::new_v4().to_string();
            send_once(client, request, &key, KEY_WINDOW, options).await
        }
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
    let bound = if window <= deadline {
        format!("the end of its deduplication key's window ({budget:?} after the call began)")
    } else {
        format!("the call's deadline ({budget:?})")
    };
    let started = Instant::now();
    let ends_at = started + budget;
    // A status read changes nothing, so the deadline cutting one short leaves nothing more
    // unknown than before: unlike the create, it is not held to the client's least attempt
    // time, only to what a round trip of this call has taken (see `ReadTime`).
    let least = client.least_attempt_time(client.attempt_timeout(options.timeout), budget);
    let unknown = |what: String| Error::OutcomeUnknown { detail: what };

    let request = [request];
    let mut read_time = ReadTime::new(least);
    let ticket = match client
        .create_batch(
            key,
            &request,
            ItemOrder::InOrder,
            Repeat::UntilDeadline,
            budget,
            options.timeout,
        )
        .await
    {
        Ok(ticket) => ticket,
        Err(failed) => {
            let CallFailed {
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

    // The create's round trip is the first measure of what a status read takes.
    read_time.took(started.elapsed());

    // Read its result until it is known; a failed read is tried again, as reads change nothing.
    let mut wait = POLLING.first_wait();
    // What the last read told, if a read was made.
    let mut known: Option<String> = None;
    loop {
        let now = Instant::now();
        let need = read_time.need();
        let last_read = ends_at.checked_sub(need).unwrap_or(started);
        let Some(pause) = Polling::wait_before_read(wait, now, Some(last_read)) else {
            let what = match &known {
                None => "its status was not read: no time was left for a status read".to_owned(),
                Some(known) => format!(
                    "{known} at the last status read, and no time was left for another status \
                     read"
                ),
            };
            return Err(unknown(format!(
                "Ecwid queued it as batch {ticket}; {what} before {bound}: {:?} had passed and \
                 {:?} was left, and a status read needs {:?} ({})",
                millis(now.saturating_duration_since(started)),
                millis(ends_at.saturating_duration_since(now)),
                millis(need),
                read_time.why(),
            )));
        };
        tokio::time::sleep(pause).await;
        wait = POLLING.after(wait);
        let read = CallOptions::new("get_batch_status", Repeat::UntilDeadline)
            .deadline(Some(ends_at.saturating_duration_since(Instant::now())))
            .timeout(options.timeout);
        let sent = Instant::now();
        let status = client.batch_status(&ticket, read).await;
        read_time.took(sent.elapsed());
        let status = match status {
            Ok(status) => status,
            Err(CallFailed { error, stop, .. }) => {
                return Err(unknown(format!(
                    "Ecwid queued it as batch {ticket}, and its status could not be read \
                     ({error}): {stop}"
                )))
            }
        };
        if status.status != BatchStatusStatus::Completed {
            known = Some("it had not completed".into());
            continue;
        }
        // A completed batch whose answer is unclear may tell on the next read.
        match result_for(&status, "0").map(item_result) {
            None => known = Some("Ecwid reported it completed, without its result".into()),
            Some(ItemResult::Answered(body)) => match StockUpdateResult::deserialize(&body) {
                Ok(result) => return StockAdjustment::from_result(result),
                Err(_) => {
                    known = Some("Ecwid reported it completed, with an unreadable result".into())
                }
            },
            Some(ItemResult::Refused(error)) => return Err(error),
            Some(ItemResult::NotExecuted) => return Err(Error::NotExecuted),
            Some(ItemResult::Unclear(what)) => {
                known = Some(format!(
                    "Ecwid reported it completed, with an unclear result: {what}"
                ))
            }
        }
    }
}

/// How much of the deadline the last status read of an exactly-once call is given: twice the
/// slowest round trip of the call so far (the create's, then each read's), at least
/// [`ReadTime::FLOOR`], and never more than the client's least attempt time. A read sent with
/// less left would most likely be cut short by the deadline, spending a rate-limited request
/// for no answer.
#[derive(Debug)]
struct ReadTime {
    slowest: Duration,
    least: Duration,
}

impl ReadTime {
    /// The least any status read is given, however fast the round trips so far.
    const FLOOR: Duration = Duration::from_millis(50);

    fn new(least: Duration) -> Self {
        Self {
            slowest: Duration::ZERO,
            least,
        }
    }

    /// A round trip of the call took `elapsed`.
    fn took(&mut self, elapsed: Duration) {
        self.slowest = self.slowest.max(elapsed);
    }

    fn need(&self) -> Duration {
        self.slowest
            .saturating_mul(2)
            .max(Self::FLOOR)
            .min(self.least.max(Self::FLOOR))
    }

    /// Why [`need`](Self::need) is what it is, for an error's text.
    fn why(&self) -> String {
        let doubled = self.slowest.saturating_mul(2);
        if doubled >= self.least {
            format!(
                "the client's least attempt time; this call's slowest round trip took {:?}",
                millis(self.slowest)
            )
        } else if doubled <= Self::FLOOR {
            format!(
                "the least a status read is given; this call's slowest round trip took {:?}",
                millis(self.slowest)
            )
        } else {
            format!(
                "twice this call's slowest round trip, {:?}",
                millis(self.slowest)
            )
        }
    }
}

/// A duration to the millisecond, for an error's text.
fn millis(duration: Duration) -> Duration {
    Duration::from_millis(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
}
