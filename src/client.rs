//! [`Client`] and [`ClientBuilder`]: configuration, the auth header, and the one loop that sends
//! every request (token guard, rate limiter, deadline, retries, tracing).

use std::{
    fmt,
    future::Future,
    net::IpAddr,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use progenitor_client::ResponseValue;
use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;
use tracing::{field, Instrument};

use crate::{
    generated::{self, types::EcwidError},
    limiter::{Limiter, RateLimit},
    retry::{self, Decision, RetryPolicy},
    transport::CallContext,
    CombinationId, Error, ProductId, StoreId,
};

/// Ecwid's API root.
pub const DEFAULT_BASE_URL: &str = "https://app.ecwid.com/api/v3";
/// Default limit for establishing a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default limit for one attempt, from sending the request to reading the whole answer.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default limit for a whole call: waiting for the rate limiter, every attempt and every wait
/// between attempts.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(120);

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
    inner: Arc<Inner>,
}

struct Inner {
    store_id: std::num::NonZeroU64,
    base_url: String,
    http: reqwest::Client,
    limiter: Option<Limiter>,
    retry: RetryPolicy,
    timeout: Duration,
    deadline: Duration,
    token_rejected: AtomicBool,
    check_low_stock_notification: Option<bool>,
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

/// Configures a [`Client`]. Setters take and return the builder by value.
#[derive(Debug)]
pub struct ClientBuilder {
    store_id: StoreId,
    token: SecretString,
    base_url: String,
    timeout: Duration,
    connect_timeout: Duration,
    deadline: Duration,
    rate_limit: Option<RateLimit>,
    #[cfg(feature = "redis")]
    shared: Option<crate::RedisRateLimit>,
    retry: RetryPolicy,
    check_low_stock_notification: Option<bool>,
}

impl Client {
    /// Starts configuring a client for `store_id`, authenticated by `token` (a `secret_…` token
    /// for server-side code).
    pub fn builder(store_id: StoreId, token: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            store_id,
            token: SecretString::from(token.into()),
            base_url: DEFAULT_BASE_URL.to_owned(),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            deadline: DEFAULT_DEADLINE,
            rate_limit: Some(RateLimit::ecwid()),
            #[cfg(feature = "redis")]
            shared: None,
            retry: RetryPolicy::default(),
            check_low_stock_notification: None,
        }
    }

    /// A client configured from the environment: `ECWID_STORE_ID`, `ECWID_TOKEN` and, optionally,
    /// `ECWID_API_URL`. See [`ClientBuilder::from_env`] to adjust it before building.
    pub fn from_env() -> Result<Client, Error> {
        ClientBuilder::from_env()?.build()
    }

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
    /// With a [shared limiter](ClientBuilder::shared_rate_limit), also `true` when the last look
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
    /// something changed. With a [shared limiter](ClientBuilder::shared_rate_limit), this
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
            CallContext::default(),
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
    pub(crate) async fn send<T, F, Fut>(&self, call_info: CallInfo, call: F) -> Result<T, Error>
    where
        F: Fn(generated::Client) -> Fut,
        Fut: Future<Output = Result<ResponseValue<T>, progenitor_client::Error<EcwidError>>>,
    {
        let span = tracing::info_span!(
            "ecwid.call",
            operation = call_info.operation,
            store_id = self.inner.store_id.get(),
            product_id = call_info.product.map(ProductId::get),
            combination_id = call_info.combination.map(CombinationId::get),
            attempt = field::Empty,
            status = field::Empty,
            latency_ms = field::Empty,
        );
        let deadline = call_info
            .deadline
            .map_or(self.inner.deadline, |d| d.min(self.inner.deadline));
        self.send_in_span(call, call_info.idempotent, deadline, &span)
            .instrument(span.clone())
            .await
    }

    async fn send_in_span<T, F, Fut>(
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
        let deadline = started + budget;
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
            attempt += 1;
        }
    }

    /// One attempt: the token guard, the limiter, the request, and the mapping of its outcome.
    async fn attempt<T, F, Fut>(
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
        let context = CallContext::default();
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
            Ok(Ok(answer)) => {
                span.record("status", answer.status().as_u16());
                tracing::debug!(attempt, "attempt succeeded");
                return Ok(answer.into_inner());
            }
            Ok(Err(raw_error)) => Error::from_generated(raw_error, context.seen()).await,
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

/// What a call is about, for its tracing span.
pub(crate) struct CallInfo {
    pub(crate) operation: &'static str,
    /// Safe to repeat whatever happened to it (see [`retry::decide`]).
    pub(crate) idempotent: bool,
    pub(crate) product: Option<ProductId>,
    pub(crate) combination: Option<CombinationId>,
    /// A deadline for this call shorter than the client's, if it needs one.
    pub(crate) deadline: Option<Duration>,
}

impl ClientBuilder {
    /// A builder from the environment: `ECWID_STORE_ID` and `ECWID_TOKEN` (both required) and
    /// `ECWID_API_URL` (optional, default [`DEFAULT_BASE_URL`]).
    pub fn from_env() -> Result<ClientBuilder, Error> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let store_id = var("ECWID_STORE_ID")
            .ok_or_else(|| Error::Config("ECWID_STORE_ID is not set".into()))?;
        let store_id: u64 = store_id
            .trim()
            .parse()
            // Not echoed: a token set in the wrong variable would end up in the message.
            .map_err(|_| Error::Config("ECWID_STORE_ID is not a number".into()))?;
        let token =
            var("ECWID_TOKEN").ok_or_else(|| Error::Config("ECWID_TOKEN is not set".into()))?;
        let builder = Client::builder(StoreId::new(store_id), token);
        Ok(match var("ECWID_API_URL") {
            Some(url) => builder.base_url(url),
            None => builder,
        })
    }

    /// The API root (default [`DEFAULT_BASE_URL`]). Plain `http` is accepted only for loopback
    /// hosts, such as a [`FakeStore`](crate::fake::FakeStore) in tests: anywhere else the token
    /// would cross the network in clear.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// The limit for one attempt, from sending the request to reading the whole answer
    /// (default [`DEFAULT_TIMEOUT`]). An attempt that runs out of time may have been applied.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The limit for establishing a connection (default [`DEFAULT_CONNECT_TIMEOUT`]). A
    /// connection that times out sent nothing, so it is retried.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The limit for a whole call, waits and retries included (default [`DEFAULT_DEADLINE`]).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The client-side rate limit shared by all clones (default [`RateLimit::ecwid`], 600 a
    /// minute). Keeps a busy program under Ecwid's limit instead of earning `429`s.
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    /// Turns the client-side rate limiter off (Ecwid's own limit still applies).
    pub fn no_rate_limit(mut self) -> Self {
        self.rate_limit = None;
        self
    }

    /// Shares the rate limit, and the bad-token guard, with every process that uses this store
    /// and token, through Redis (feature `redis`). The limit is the one set by
    /// [`rate_limit`](Self::rate_limit); building fails after [`no_rate_limit`](Self::no_rate_limit).
    ///
    /// ```
    /// use ecwid_inventory::{Client, RedisRateLimit, StoreId};
    ///
    /// let client = Client::builder(StoreId::new(1003), "secret_token")
    ///     .shared_rate_limit(RedisRateLimit::new("redis://127.0.0.1:6379"))
    ///     .build()?; // nothing connects before the first call
    /// # Ok::<(), ecwid_inventory::Error>(())
    /// ```
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn shared_rate_limit(mut self, shared: crate::RedisRateLimit) -> Self {
        self.shared = Some(shared);
        self
    }

    /// How failed attempts are retried (default [`RetryPolicy::default`]).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The default for `checkLowStockNotification` on every adjustment of this client; a
    /// request's own setting wins. Without it, the flag is sent only when a request sets it.
    pub fn check_low_stock_notification(mut self, check: bool) -> Self {
        self.check_low_stock_notification = Some(check);
        self
    }

    /// Checks the configuration and builds the client. Nothing is sent.
    pub fn build(self) -> Result<Client, Error> {
        let store_id = self
            .store_id
            .non_zero()
            .map_err(|_| Error::Config("the store id must not be zero".into()))?;
        let auth = auth_header(&self.token)?;
        let (base_url, loopback) = check_base_url(&self.base_url)?;
        for (name, value) in [
            ("timeout", self.timeout),
            ("connect timeout", self.connect_timeout),
            ("deadline", self.deadline),
        ] {
            if value.is_zero() {
                return Err(Error::Config(format!("the {name} must not be zero")));
            }
        }
        if let Some(limit) = self.rate_limit {
            if limit.requests() == 0 || limit.per().is_zero() {
                return Err(Error::Config(
                    "a rate limit needs a non-zero number of requests and window".into(),
                ));
            }
        }

        let limiter = self
            .rate_limit
            .map(|limit| Limiter::Local(crate::limiter::local::Limiter::new(limit)));
        #[cfg(feature = "redis")]
        let limiter = match (&self.shared, self.rate_limit) {
            (None, _) => limiter,
            (Some(_), None) => {
                return Err(Error::Config(
                    "a shared rate limit needs a rate limit: remove no_rate_limit()".into(),
                ))
            }
            (Some(shared), Some(limit)) => Some(Limiter::Redis(Box::new(
                crate::limiter::redis::RedisLimiter::new(
                    shared,
                    limit,
                    self.timeout,
                    store_id.get(),
                    &self.token,
                )?,
            ))),
        };

        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, auth);
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("ecwid-inventory/", env!("CARGO_PKG_VERSION")))
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            // A redirected PUT could be replayed elsewhere, and the token with it.
            .redirect(reqwest::redirect::Policy::none());
        // A proxy from HTTP_PROXY and the like has no business seeing requests (and the token)
        // meant for this machine; it still applies to Ecwid itself.
        let http = if loopback { http.no_proxy() } else { http };
        let http = http
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;

        Ok(Client {
            inner: Arc::new(Inner {
                store_id,
                base_url,
                http,
                limiter,
                retry: self.retry,
                timeout: self.timeout,
                deadline: self.deadline,
                token_rejected: AtomicBool::new(false),
                check_low_stock_notification: self.check_low_stock_notification,
            }),
        })
    }
}

/// `Authorization: Bearer <token>`, marked sensitive so that HTTP tooling never prints it.
/// No error message here quotes the token.
fn auth_header(token: &SecretString) -> Result<HeaderValue, Error> {
    let token = token.expose_secret();
    if token.is_empty() {
        return Err(Error::Config("the API token is empty".into()));
    }
    if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::Config(
            "the API token contains whitespace or control characters".into(),
        ));
    }
    if !token.chars().all(|c| c.is_ascii_graphic()) {
        return Err(Error::Config(
            "the API token contains characters that cannot be sent in a header".into(),
        ));
    }
    let mut value = HeaderValue::try_from(format!("Bearer {token}"))
        .map_err(|_| Error::Config("the API token cannot be sent in a header".into()))?;
    value.set_sensitive(true);
    Ok(value)
}

/// The API root without a trailing slash, and whether its host is loopback: http(s) only,
/// plain http only to loopback.
///
/// Errors name the scheme and host at most: a URL may carry a secret in its credentials or
/// query.
fn check_base_url(url: &str) -> Result<(String, bool), Error> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| Error::Config(format!("the base URL is not a URL: {e}")))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::Config(
            "the base URL must not carry credentials".into(),
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(Error::Config(
            "the base URL must not have a query or a fragment".into(),
        ));
    }
    let scheme = parsed.scheme();
    let host = parsed
        .host_str()
        .ok_or_else(|| Error::Config(format!("the base URL ({scheme}:) has no host")))?;
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match scheme {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(Error::Config(format!(
                "the base URL uses plain http to {host}, which is not loopback; \
                 the token would cross the network in clear: use https"
            )))
        }
        _ => {
            return Err(Error::Config(format!(
                "the base URL must use https (or http to loopback), not {scheme}"
            )))
        }
    }
    Ok((parsed.as_str().trim_end_matches('/').to_owned(), loopback))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        let ok = [
            (
                "https://app.ecwid.com/api/v3",
                "https://app.ecwid.com/api/v3",
                false,
            ),
            (
                "https://app.ecwid.com/api/v3/",
                "https://app.ecwid.com/api/v3",
                false,
            ),
            (
                "http://127.0.0.1:8080/api/v3",
                "http://127.0.0.1:8080/api/v3",
                true,
            ),
            ("http://127.1.2.3/api/v3", "http://127.1.2.3/api/v3", true),
            ("http://localhost:1/x", "http://localhost:1/x", true),
            ("http://[::1]:9/api", "http://[::1]:9/api", true),
            ("https://localhost/api", "https://localhost/api", true),
        ];
        for (input, expected, loopback) in ok {
            assert_eq!(
                check_base_url(input).unwrap(),
                (expected.to_owned(), loopback),
                "{input}"
            );
        }
        let bad = [
            "ftp://app.ecwid.com/api/v3",
            "http://app.ecwid.com/api/v3",
            "http://10.0.0.1/api/v3",
            "http://localhost.evil.com/api",
            "app.ecwid.com/api/v3",
            "https://user:pw@app.ecwid.com/api/v3",
            "https://app.ecwid.com/api/v3?token=x",
            "",
        ];
        for input in bad {
            assert!(
                matches!(check_base_url(input), Err(Error::Config(_))),
                "{input:?} should be refused"
            );
        }
    }

    #[test]
    fn base_url_errors_do_not_echo_secrets_in_the_url() {
        for input in [
            "https://user:hunter2@app.ecwid.com/api/v3",
            "http://user:hunter2@10.0.0.1/api/v3",
            "https://app.ecwid.com/api/v3?token=hunter2",
            "ftp://app.ecwid.com/api/v3?token=hunter2",
            "http://app.ecwid.com/api/v3#hunter2",
            "hunter2 is not a url",
        ] {
            let error = check_base_url(input).unwrap_err();
            for text in [error.to_string(), format!("{error:?}")] {
                assert!(!text.contains("hunter2"), "{input:?} gave {text}");
            }
        }
    }
}
