//! [`ClientBuilder`]: a client's configuration and its checks (token, base URL, durations,
//! environment), before anything is sent.

use std::{
    fmt,
    net::IpAddr,
    sync::atomic::{AtomicBool, AtomicU64},
    sync::Arc,
    time::Duration,
};

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION};
use secrecy::{ExposeSecret, SecretString};

use crate::{
    client::{Client, Inner},
    limiter::{Limiter, RateLimit},
    retry::RetryPolicy,
    settings::{
        check_setting, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT, DEFAULT_DEADLINE,
        DEFAULT_MIN_ATTEMPT_TIME, DEFAULT_TIMEOUT,
    },
    transport::Redactor,
    Error, StoreId, TimeSource,
};

/// Configures a [`Client`]. Setters take and return the builder by value.
pub struct ClientBuilder {
    store_id: StoreId,
    token: SecretString,
    base_url: String,
    timeout: Duration,
    connect_timeout: Duration,
    deadline: Duration,
    min_attempt_time: Duration,
    rate_limit: Option<RateLimit>,
    #[cfg(feature = "redis")]
    shared: Option<crate::RedisRateLimit>,
    retry: RetryPolicy,
    check_low_stock_notification: Option<bool>,
    time_source: TimeSource,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("store_id", &self.store_id)
            .field("token", &"[redacted]")
            // Scheme and host only: a URL may carry a secret in its credentials, path or query.
            .field("base_url", &url_origin(&self.base_url))
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("deadline", &self.deadline)
            .field("min_attempt_time", &self.min_attempt_time)
            .field("rate_limit", &self.rate_limit)
            .field("shared_rate_limit", &self.shared_rate_limit_debug())
            .field("retry", &self.retry)
            .field(
                "check_low_stock_notification",
                &self.check_low_stock_notification,
            )
            .finish()
    }
}

/// `scheme://host[:port]` of a URL, or a placeholder when it is none.
fn url_origin(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(url) => url.origin().ascii_serialization(),
        Err(_) => "[not a URL]".to_owned(),
    }
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
            min_attempt_time: DEFAULT_MIN_ATTEMPT_TIME,
            rate_limit: Some(RateLimit::ecwid()),
            #[cfg(feature = "redis")]
            shared: None,
            retry: RetryPolicy::default(),
            check_low_stock_notification: None,
            time_source: TimeSource::system(),
        }
    }

    /// A client configured from the environment: `ECWID_STORE_ID`, `ECWID_TOKEN` and, optionally,
    /// `ECWID_API_URL`. See [`ClientBuilder::from_env`] to adjust it before building.
    pub fn from_env() -> Result<Client, Error> {
        ClientBuilder::from_env()?.build()
    }
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
    /// hosts, such as a `FakeStore` of the `ecwid-inventory-fake` package in tests: anywhere
    /// else the token would cross the network in clear.
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

    /// The least time an attempt is given (default [`DEFAULT_MIN_ATTEMPT_TIME`], 1 s): a request
    /// is sent, first or again, only while at least this much of the call's deadline is left,
    /// never more than the attempt timeout nor half the deadline. Otherwise the call fails with
    /// [`Error::DeadlineExceeded`] and nothing is sent: a request the deadline would cut short
    /// may be applied with nobody hearing of it. The rate limiter gives up at once when its next
    /// slot comes later than that. An [exactly-once](crate::stock::AdjustStock::exactly_once) call's status
    /// reads, which change nothing, are held to this at most: the last one goes out while
    /// twice the call's slowest round trip is left.
    pub fn min_attempt_time(mut self, least: Duration) -> Self {
        self.min_attempt_time = least;
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

    #[cfg(feature = "redis")]
    fn shared_rate_limit_debug(&self) -> &dyn fmt::Debug {
        &self.shared
    }

    #[cfg(not(feature = "redis"))]
    fn shared_rate_limit_debug(&self) -> &dyn fmt::Debug {
        &None::<()>
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

    /// Where the client reads the wall clock (default [`TimeSource::system`]): the age of
    /// deduplication keys is measured on it. The client builders of a `FakeStore` (the
    /// `ecwid-inventory-fake` package) set the fake's clock.
    pub fn time_source(mut self, time_source: TimeSource) -> Self {
        self.time_source = time_source;
        self
    }

    /// Checks the configuration and builds the client. Nothing is sent.
    ///
    /// Fails with [`Error::Config`] on a zero store id, an empty or malformed token, a base URL
    /// that is not https (or http to loopback) or that carries credentials, a query, a fragment
    /// or the token, a zero timeout, deadline or rate limit, and any duration (timeouts,
    /// deadline, rate-limit window, retry waits) longer than [`MAX_SETTING`](crate::settings::MAX_SETTING).
    pub fn build(self) -> Result<Client, Error> {
        let store_id = self.store_id.checked().map_err(Error::Config)?;
        let auth = auth_header(&self.token)?;
        let redactor = Arc::new(Redactor::new(&self.token));
        let (base_url, loopback) = check_base_url(&self.base_url)?;
        if redactor.finds_in(&base_url) {
            return Err(Error::Config(
                "the base URL contains the API token; the token goes in the Authorization \
                 header only"
                    .into(),
            ));
        }
        for (name, value) in [
            ("timeout", self.timeout),
            ("connect timeout", self.connect_timeout),
            ("deadline", self.deadline),
        ] {
            check_setting(name, value, false).map_err(Error::Config)?;
        }
        check_setting(
            "least time an attempt is given",
            self.min_attempt_time,
            true,
        )
        .map_err(Error::Config)?;
        if let Some(limit) = self.rate_limit {
            if limit.requests() == 0 || limit.per().is_zero() {
                return Err(Error::Config(
                    "a rate limit needs a non-zero number of requests and window".into(),
                ));
            }
            check_setting("rate limit's window", limit.per(), false).map_err(Error::Config)?;
        }
        self.retry.check().map_err(Error::Config)?;

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
                min_attempt_time: self.min_attempt_time,
                time_source: self.time_source,
                token_rejected: AtomicBool::new(false),
                check_low_stock_notification: self.check_low_stock_notification,
                redactor,
                closed: AtomicBool::new(false),
                requests_sent: AtomicU64::new(0),
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
