//! [`Client`] and the one pipeline every request goes through: token guard, rate limiter,
//! deadline, retries, tracing. Its configuration is [`ClientBuilder`](crate::ClientBuilder)'s.

use std::{
    fmt,
    future::Future,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use progenitor_client::ResponseValue;
use tokio::time::Instant;
use tracing::{field, Instrument};

use crate::{
    generated::{self, types::EcwidError},
    limiter::Limiter,
    retry::{self, Decision, Repeat, RetryPolicy, Stop},
    settings::MAX_SETTING,
    transport::{self, CallContext, Redactor, Scrub},
    CombinationId, Error, ProductId, StockItem, StoreId,
};

/// A client for one Ecwid store.
///
/// Cheap to clone: clones share one connection pool, one rate limiter and one token guard.
///
/// ```no_run
/// # async fn run() -> Result<(), ecwid_inventory::Error> {
/// use ecwid_inventory::{Client, CombinationId, ProductId, StoreId};
///
/// let client = Client::builder(StoreId::new(1003), "secret_token").build()?;
/// let adjustment = client
///     .adjust_variation_stock(ProductId::new(692730761), CombinationId::new(422488528), -10)
///     .send()
///     .await?;
/// assert!(adjustment.is_updated());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

/// What clones share; made by [`ClientBuilder::build`](crate::ClientBuilder::build).
pub(crate) struct Inner {
    pub(crate) store_id: std::num::NonZeroU64,
    pub(crate) base_url: String,
    pub(crate) http: reqwest::Client,
    pub(crate) limiter: Option<Limiter>,
    pub(crate) retry: RetryPolicy,
    pub(crate) timeout: Duration,
    pub(crate) deadline: Duration,
    /// The least time an attempt is given (see [`min_attempt_time`]).
    pub(crate) min_attempt_time: Duration,
    /// The wall clock deduplication keys are aged on.
    pub(crate) time_source: crate::TimeSource,
    pub(crate) token_rejected: AtomicBool,
    pub(crate) check_low_stock_notification: Option<bool>,
    /// Scrubs the token from every answer.
    pub(crate) redactor: Arc<Redactor>,
    /// Set by [`Client::close`]: nothing more is sent.
    pub(crate) closed: AtomicBool,
    /// Requests sent (see [`Client::requests_sent`]).
    pub(crate) requests_sent: AtomicU64,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("Client")
            .field("store_id", &inner.store_id)
            .field("base_url", &inner.base_url)
            .field("token", &"[redacted]")
            .field("rate_limit", &inner.limiter.as_ref().map(Limiter::limit))
            .field("retry", &inner.retry)
            .field("deadline", &inner.deadline)
            .field(
                "token_rejected",
                &inner.token_rejected.load(Ordering::Relaxed),
            )
            .finish()
    }
}

impl Client {
    /// The store this client acts on.
    pub fn store_id(&self) -> StoreId {
        StoreId::new(self.inner.store_id.get())
    }

    /// The API root requests go to.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// Whether an earlier `403 INVALID_API_TOKEN` stopped this client (and its clones) from
    /// sending anything more.
    ///
    /// With a [shared limiter](crate::ClientBuilder::shared_rate_limit), also `true` when the last look
    /// at the shared guard found it set (by any process using the token).
    pub fn is_token_rejected(&self) -> bool {
        self.inner.token_rejected.load(Ordering::SeqCst)
            || self
                .inner
                .limiter
                .as_ref()
                .is_some_and(Limiter::shared_token_rejected)
    }

    /// Lets the client send again after `403 INVALID_API_TOKEN`, for when the token was fixed on
    /// Ecwid's side. Ecwid blocks tokens, then IP addresses, that keep failing: reset only when
    /// something changed. With a [shared limiter](crate::ClientBuilder::shared_rate_limit), this
    /// clears the guard for every process using the token.
    pub fn reset_token_guard(&self) {
        self.inner.token_rejected.store(false, Ordering::SeqCst);
        if let Some(limiter) = &self.inner.limiter {
            limiter.reset_token_guard();
        }
    }

    /// The generated client, sharing this client's connection pool and auth header, for
    /// operations the wrapper does not cover. Its calls bypass the rate limiter, the retries
    /// and the token guard.
    pub fn raw(&self) -> generated::Client {
        generated::Client::new_with_client(
            &self.inner.base_url,
            self.inner.http.clone(),
            CallContext::scrubbing_bodies(&self.inner.redactor),
        )
    }

    /// How many requests this client and its clones have sent to Ecwid since it was built:
    /// every attempt that passed the rate limiter and went on the wire (a 429, a timeout or a
    /// retry counts, as it counts against Ecwid's limit; a call refused before sending does
    /// not). The difference across a piece of work is what it spent, when nothing else used
    /// the client meanwhile.
    ///
    /// ```no_run
    /// # async fn run(client: ecwid_inventory::Client) -> Result<(), ecwid_inventory::Error> {
    /// let before = client.requests_sent();
    /// client.find_skus(["TEE-S", "TEE-M", "MUG"]).await?;
    /// println!("{} requests", client.requests_sent() - before);
    /// # Ok(()) }
    /// ```
    pub fn requests_sent(&self) -> u64 {
        self.inner.requests_sent.load(Ordering::Relaxed)
    }

    /// The time now, on the client's [`TimeSource`](crate::TimeSource).
    pub(crate) fn now(&self) -> std::time::SystemTime {
        self.inner.time_source.now()
    }

    pub(crate) fn store(&self) -> std::num::NonZeroU64 {
        self.inner.store_id
    }

    pub(crate) fn default_check_low_stock_notification(&self) -> Option<bool> {
        self.inner.check_low_stock_notification
    }

    /// Sends one request through the guard, the limiter and the retry rules.
    ///
    /// `call` makes one attempt with a fresh generated client; it is called again only when
    /// [`retry::decide`] says so for the request's [`Repeat`].
    pub(crate) async fn send<T: Scrub, F, Fut>(
        &self,
        options: CallOptions,
        call: F,
    ) -> Result<T, Error>
    where
        F: Fn(generated::Client) -> Fut,
        Fut: Future<Output = Result<ResponseValue<T>, progenitor_client::Error<EcwidError>>>,
    {
        self.send_until(options, call)
            .await
            .map_err(CallFailed::into_error)
    }

    /// [`send`](Self::send), with what the caller needs to say why it failed: whether an
    /// earlier attempt may have been applied, and the bound that stopped the retries.
    pub(crate) async fn send_until<T: Scrub, F, Fut>(
        &self,
        options: CallOptions,
        call: F,
    ) -> Result<T, CallFailed>
    where
        F: Fn(generated::Client) -> Fut,
        Fut: Future<Output = Result<ResponseValue<T>, progenitor_client::Error<EcwidError>>>,
    {
        let span = tracing::info_span!(
            "ecwid.call",
            operation = options.operation,
            store_id = self.inner.store_id.get(),
            product_id = options.product.map(ProductId::get),
            combination_id = options.combination.map(CombinationId::get),
            attempt = field::Empty,
            status = field::Empty,
            latency_ms = field::Empty,
        );
        self.send_in_span(call, &options, &span)
            .instrument(span.clone())
            .await
    }

    async fn send_in_span<T: Scrub, F, Fut>(
        &self,
        call: F,
        options: &CallOptions,
        span: &tracing::Span,
    ) -> Result<T, CallFailed>
    where
        F: Fn(generated::Client) -> Fut,
        Fut: Future<Output = Result<ResponseValue<T>, progenitor_client::Error<EcwidError>>>,
    {
        let inner = &self.inner;
        let budget = options.deadline.unwrap_or(inner.deadline);
        let timeout = self.attempt_timeout(options.timeout);
        let started = Instant::now();
        // Settings are at most a day, so this only saturates on a broken clock.
        let deadline = started
            .checked_add(budget)
            .unwrap_or_else(|| started + MAX_SETTING);
        // An attempt starts only while it has its least time left before the deadline, so
        // that the deadline does not cut a request just sent and leave its outcome unknown.
        let least = self.least_attempt_time(timeout, budget);
        let send_by = budget - least;
        let times = Times {
            deadline,
            send_by: deadline - least,
            timeout,
        };
        // For a request safe to repeat, an attempt left unanswered (for a write: that may have
        // been applied) decides the call's outcome, whatever refused the attempts after it.
        let mut maybe_applied: Option<Error> = None;
        let mut attempt = 1;
        loop {
            let error = match self
                .attempt(&call, attempt, times, options.reads_only, span)
                .await
            {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            let decision = retry::decide(
                &inner.retry,
                &error,
                options.repeat,
                attempt,
                started.elapsed(),
                send_by,
                budget,
                fastrand::f64(),
            );
            let wait = match decision {
                Decision::RetryAfter(wait) => wait,
                Decision::Stop(stop) => {
                    return Err(CallFailed {
                        error,
                        maybe_applied,
                        stop,
                    })
                }
            };
            tracing::info!(
                attempt,
                wait_ms = wait.as_millis() as u64,
                error = %error,
                "sending the request again"
            );
            if error.is_unanswered() && maybe_applied.is_none() {
                maybe_applied = Some(error);
            }
            tokio::time::sleep(wait).await;
            attempt = attempt.saturating_add(1);
        }
    }

    /// One attempt: the token guard, the limiter, the request, and the mapping of its outcome.
    async fn attempt<T: Scrub, F, Fut>(
        &self,
        call: &F,
        attempt: u32,
        times: Times,
        reads_only: bool,
        span: &tracing::Span,
    ) -> Result<T, Error>
    where
        F: Fn(generated::Client) -> Fut,
        Fut: Future<Output = Result<ResponseValue<T>, progenitor_client::Error<EcwidError>>>,
    {
        let inner = &self.inner;
        if self.is_closed() {
            return Err(Error::Closed);
        }
        // The shared guard, if any, is checked by the limiter in the same round trip.
        if self.inner.token_rejected.load(Ordering::SeqCst) {
            return Err(Error::TokenRejected);
        }
        // Held until the attempt ends: the request counts against the limit from now until a
        // window after its answer. A slot that cannot come in time to send is not waited for.
        let _permit = match &inner.limiter {
            Some(limiter) => Some(limiter.acquire(times.send_by).await?),
            None => None,
        };
        // The token may have been rejected, or the client closed, while this call waited for
        // the limiter.
        if self.is_token_rejected() {
            return Err(Error::TokenRejected);
        }
        if self.is_closed() {
            return Err(Error::Closed);
        }
        // Too little time left for an attempt to finish: the deadline would cut it short and
        // leave its outcome unknown, for nothing.
        if Instant::now() > times.send_by {
            return Err(Error::DeadlineExceeded);
        }
        span.record("attempt", attempt);
        let context = CallContext::new()
            .timeout(times.timeout)
            .reads_only(reads_only);
        let raw = generated::Client::new_with_client(
            &inner.base_url,
            inner.http.clone(),
            context.clone(),
        );
        let sent_at = Instant::now();
        inner.requests_sent.fetch_add(1, Ordering::Relaxed);
        // The attempt's own timeout covers it when it ends before the deadline; otherwise the
        // deadline has to cut the attempt short (`None`).
        let outcome = if times.deadline.saturating_duration_since(sent_at) > times.timeout {
            Some(call(raw).await)
        } else {
            tokio::time::timeout_at(times.deadline, call(raw))
                .await
                .ok()
        };
        span.record("latency_ms", sent_at.elapsed().as_millis() as u64);
        // What comes back is scrubbed of the token there, before anything reads it.
        let error = match transport::read_answer(outcome, &context, &inner.redactor).await {
            Ok((value, status)) => {
                span.record("status", status.as_u16());
                tracing::debug!(attempt, "attempt succeeded");
                return Ok(value);
            }
            Err(error) => error,
        };
        if let Some(status) = error.status() {
            span.record("status", status);
        }
        tracing::debug!(attempt, error = %error, "attempt failed");
        if error.is_invalid_token() {
            // A shared guard stops every process using the token; otherwise this client's.
            let shared = match &inner.limiter {
                Some(limiter) => limiter.token_rejected().await,
                None => false,
            };
            if !shared {
                inner.token_rejected.store(true, Ordering::SeqCst);
            }
            tracing::warn!("Ecwid rejected the API token; this client sends nothing more");
        }
        Err(error)
    }
}

impl Client {
    /// The least time an attempt of a call with the deadline `budget` is given, each attempt
    /// having `timeout` (see [`min_attempt_time`]). A call made of several requests (an
    /// exactly-once call's status reads) sends each while at least this much of the whole
    /// call's deadline is left.
    pub(crate) fn least_attempt_time(&self, timeout: Duration, budget: Duration) -> Duration {
        min_attempt_time(self.inner.min_attempt_time, timeout, budget)
    }

    /// Each attempt's timeout: `timeout` if the call has one, else the client's.
    pub(crate) fn attempt_timeout(&self, timeout: Option<Duration>) -> Duration {
        timeout.unwrap_or(self.inner.timeout)
    }
}

/// The least time an attempt is given: it is sent only while at least this much of the
/// call's deadline is left. The client's setting, but never more than the attempt's timeout
/// (an attempt takes no longer) nor half the call's deadline (so that a short deadline still
/// leaves room to send again after a quick refusal).
fn min_attempt_time(setting: Duration, timeout: Duration, budget: Duration) -> Duration {
    setting.min(timeout).min(budget / 2)
}

/// When one call must be done, and by when an attempt may start.
#[derive(Clone, Copy, Debug)]
struct Times {
    deadline: Instant,
    send_by: Instant,
    /// Each attempt's timeout.
    timeout: Duration,
}

/// A call that failed, with what a caller sending on its behalf needs to say why.
#[derive(Debug)]
pub(crate) struct CallFailed {
    /// The last attempt's error.
    pub(crate) error: Error,
    /// The first error that left the request unanswered (a write's may have been applied), if
    /// any: only a request safe to repeat is sent again after one.
    pub(crate) maybe_applied: Option<Error>,
    /// Why no further attempt was made.
    pub(crate) stop: Stop,
}

impl CallFailed {
    /// The error the call returns: an earlier attempt left unanswered (a write's may have been
    /// applied) decides it when the last one was refused or never sent.
    pub(crate) fn into_error(self) -> Error {
        match self.maybe_applied {
            Some(earlier) if !self.error.is_unanswered() => earlier,
            _ => self.error,
        }
    }
}

/// Finishing cleanly, before the process exits.
impl Client {
    /// Finishes this client and its clones cleanly: call it once the last call has returned,
    /// before the process exits (a CLI or a cron job especially).
    ///
    /// With a [shared limiter](crate::ClientBuilder::shared_rate_limit), each request holds a
    /// slot in Redis for a window, the margin and the attempt timeout, shortened to a window
    /// from its answer by an update sent in the background once the answer comes. A process
    /// that exits right after its last call loses that update with its runtime: its last slots
    /// stay taken for their full length, and every other process sharing the token waits for
    /// them. `close` waits for those updates, and for the calls still waiting for a slot to
    /// leave the shared queue, for at most 2 s (Redis's response timeout). Past that bound it
    /// logs a warning that names it and returns: what is left (typically a request still in
    /// flight) keeps its slot until its lease ends, as if the process had died. With the
    /// in-process limiter, or none, there is nothing to wait for and it returns at once.
    ///
    /// After it, this client and every clone send nothing more: a call made after it, a retry,
    /// or a call still waiting for the rate limiter fails with [`Error::Closed`], having sent
    /// nothing. A request already sent is not cut short. Calling it again waits again.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), ecwid_inventory::Error> {
    /// use ecwid_inventory::{Client, CombinationId, ProductId, StoreId};
    ///
    /// let client = Client::builder(StoreId::new(1003), "secret_token").build()?;
    /// client
    ///     .adjust_variation_stock(ProductId::new(692730761), CombinationId::new(422488528), -1)
    ///     .send()
    ///     .await?;
    /// client.close().await; // the last thing before the process exits
    /// # Ok(()) }
    /// ```
    pub async fn close(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        if let Some(limiter) = &self.inner.limiter {
            limiter.close().await;
        }
    }

    fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::SeqCst)
    }
}

/// How one call is sent: how safe it is to repeat (which decides its retries), the per-call
/// settings, and what it is about (for its tracing span).
pub(crate) struct CallOptions {
    pub(crate) operation: &'static str,
    pub(crate) repeat: Repeat,
    /// The request applies nothing though it is no `GET` (a batch create whose items are all
    /// reads): its errors say so, as a `GET`'s do.
    pub(crate) reads_only: bool,
    pub(crate) product: Option<ProductId>,
    pub(crate) combination: Option<CombinationId>,
    /// The whole call's deadline, when not the client's.
    pub(crate) deadline: Option<Duration>,
    /// Each attempt's timeout, when not the client's.
    pub(crate) timeout: Option<Duration>,
}

impl CallOptions {
    pub(crate) fn new(operation: &'static str, repeat: Repeat) -> Self {
        Self {
            operation,
            repeat,
            reads_only: false,
            product: None,
            combination: None,
            deadline: None,
            timeout: None,
        }
    }

    /// About `item`, for the span.
    pub(crate) fn item(mut self, item: StockItem) -> Self {
        self.product = Some(item.product());
        self.combination = item.combination();
        self
    }

    /// Marks the request as one that applies nothing (see [`CallOptions::reads_only`]).
    pub(crate) fn reads_only(mut self, reads_only: bool) -> Self {
        self.reads_only = reads_only;
        self
    }

    /// The whole call's deadline, instead of the client's.
    pub(crate) fn deadline(mut self, deadline: Option<Duration>) -> Self {
        self.deadline = deadline.or(self.deadline);
        self
    }

    /// Each attempt's timeout, instead of the client's.
    pub(crate) fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout.or(self.timeout);
        self
    }
}
