//! [`Client`] and the one pipeline every request goes through: token guard, rate limiter,
//! deadline, retries, tracing. Its configuration is [`ClientBuilder`](crate::ClientBuilder)'s.

use std::{
    fmt,
    future::Future,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use progenitor_client::ResponseValue;
use tokio::time::Instant;
use tracing::{field, Instrument};

use crate::{
    builder::MAX_SETTING,
    generated::{self, types::EcwidError},
    limiter::Limiter,
    retry::{self, Decision, RetryPolicy},
    transport::{self, CallContext, Redactor, Scrub},
    CombinationId, Error, ProductId, StoreId,
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
    pub(crate) token_rejected: AtomicBool,
    pub(crate) check_low_stock_notification: Option<bool>,
    /// Scrubs the token from every answer.
    pub(crate) redactor: Arc<Redactor>,
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

    pub(crate) fn store(&self) -> std::num::NonZeroU64 {
        self.inner.store_id
    }

    pub(crate) fn default_check_low_stock_notification(&self) -> Option<bool> {
        self.inner.check_low_stock_notification
    }

    /// Sends one request through the guard, the limiter and the retry rules.
    ///
    /// `call` makes one attempt with a fresh generated client; it is called again only when
    /// [`retry::decide`] says the request provably was not applied.
    pub(crate) async fn send<T: Scrub, F, Fut>(
        &self,
        options: CallOptions,
        call: F,
    ) -> Result<T, Error>
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
        let deadline = options
            .deadline
            .map_or(self.inner.deadline, |d| d.min(self.inner.deadline));
        self.send_in_span(call, options.idempotent, deadline, &span)
            .instrument(span.clone())
            .await
    }

    async fn send_in_span<T: Scrub, F, Fut>(
        &self,
        call: F,
        idempotent: bool,
        budget: Duration,
        span: &tracing::Span,
    ) -> Result<T, Error>
    where
        F: Fn(generated::Client) -> Fut,
        Fut: Future<Output = Result<ResponseValue<T>, progenitor_client::Error<EcwidError>>>,
    {
        let inner = &self.inner;
        let started = Instant::now();
        // Settings are at most a day, so this only saturates on a broken clock.
        let deadline = started
            .checked_add(budget)
            .unwrap_or_else(|| started + MAX_SETTING);
        // For a request safe to repeat, an attempt that may have been applied decides the
        // call's outcome, whatever refused the attempts after it.
        let mut maybe_applied: Option<Error> = None;
        let mut attempt = 1;
        loop {
            let error = match self.attempt(&call, attempt, deadline, span).await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            let decision = retry::decide(
                &inner.retry,
                &error,
                idempotent,
                attempt,
                started.elapsed(),
                budget,
                fastrand::f64(),
            );
            let Decision::RetryAfter(wait) = decision else {
                return Err(match maybe_applied {
                    Some(earlier) if !error.may_have_been_applied() => earlier,
                    _ => error,
                });
            };
            tracing::info!(
                attempt,
                wait_ms = wait.as_millis() as u64,
                error = %error,
                "sending the request again"
            );
            if error.may_have_been_applied() && maybe_applied.is_none() {
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
        deadline: Instant,
        span: &tracing::Span,
    ) -> Result<T, Error>
    where
        F: Fn(generated::Client) -> Fut,
        Fut: Future<Output = Result<ResponseValue<T>, progenitor_client::Error<EcwidError>>>,
    {
        let inner = &self.inner;
        // The shared guard, if any, is checked by the limiter in the same round trip.
        if self.inner.token_rejected.load(Ordering::SeqCst) {
            return Err(Error::TokenRejected);
        }
        // Held until the attempt ends: the request counts against the limit from now until a
        // window after its answer.
        let _permit = match &inner.limiter {
            Some(limiter) => Some(limiter.acquire(deadline).await?),
            None => None,
        };
        // The token may have been rejected while this call waited for the limiter.
        if self.is_token_rejected() {
            return Err(Error::TokenRejected);
        }
        // An attempt begun at the deadline would be cut at once, its outcome unknown for nothing.
        if Instant::now() >= deadline {
            return Err(Error::DeadlineExceeded);
        }
        span.record("attempt", attempt);
        let context = CallContext::new();
        let raw = generated::Client::new_with_client(
            &inner.base_url,
            inner.http.clone(),
            context.clone(),
        );
        let sent_at = Instant::now();
        // reqwest's per-attempt timeout covers the attempt when it ends before the deadline;
        // otherwise the deadline has to cut the attempt short.
        let outcome = if deadline.saturating_duration_since(sent_at) > inner.timeout {
            Ok(call(raw).await)
        } else {
            tokio::time::timeout_at(deadline, call(raw)).await
        };
        span.record("latency_ms", sent_at.elapsed().as_millis() as u64);
        let error = match outcome {
            // What comes back is scrubbed of the token there, before anything reads it.
            Ok(outcome) => match transport::read_answer(outcome, &context, &inner.redactor).await {
                Ok((value, status)) => {
                    span.record("status", status.as_u16());
                    tracing::debug!(attempt, "attempt succeeded");
                    return Ok(value);
                }
                Err(error) => error,
            },
            // The call's deadline fired mid-attempt: the request may have been written.
            Err(_elapsed) => Error::Timeout { source: None },
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

/// How one call is sent: whether it is safe to repeat after an unknown outcome (which decides
/// its retries), an optional deadline shorter than the client's, and what it is about (for its
/// tracing span).
pub(crate) struct CallOptions {
    pub(crate) operation: &'static str,
    /// Safe to repeat whatever happened to it (see [`retry::decide`]).
    pub(crate) idempotent: bool,
    pub(crate) product: Option<ProductId>,
    pub(crate) combination: Option<CombinationId>,
    /// A deadline for this call shorter than the client's, if it needs one.
    pub(crate) deadline: Option<Duration>,
}
