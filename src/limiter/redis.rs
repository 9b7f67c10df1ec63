//! The rate limiter and bad-token guard shared through Redis, by every process using one token.
//!
//! Each slot is a lease: a member of a sorted set whose score is when it expires, on Redis's
//! clock. A slot is taken for a window, the margin and the attempt timeout (the longest an
//! attempt can take), and shortened to a window and the margin from its answer when the answer
//! comes. A process that dies holding slots frees them when their leases expire. Waiting
//! processes queue in Redis by ticket, with heartbeats so that a dead waiter drops out; a waiter
//! takes a slot only when enough are free for every waiter ahead of it too. Every caller, of
//! every process, holds its own ticket, and sleeps until the earliest moment a slot can free for
//! it: slots freeing close together are taken in parallel. Every step that reads and changes the counts is one Lua script,
//! sent by `EVALSHA`.
//!
//! A lease is shortened in the background, after its answer: a process that exits right after
//! its last call loses that update with its runtime unless it [closes](crate::Client::close)
//! the client first, which waits for every such update (see [`Unfinished`]).

use std::{
    fmt,
    sync::{
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
        Arc, LazyLock, Mutex,
    },
    time::Duration,
};

use redis::{aio::ConnectionManager, aio::ConnectionManagerConfig, Script};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use tokio::{
    sync::{Notify, OnceCell},
    time::{timeout, timeout_at, Instant},
};

use super::{local, RateLimit};
use crate::Error;

static ACQUIRE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/acquire.lua")));
static RELEASE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/release.lua")));
static LEAVE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/leave.lua")));

/// How long a waiter sleeps at most between two looks at the queue; its heartbeat outlives that.
const MAX_NAP: Duration = Duration::from_millis(250);
/// How long a waiter stays in the queue without a heartbeat: a dead process's waiter blocks the
/// others at most this long.
const HEARTBEAT: Duration = Duration::from_millis(1500);
/// Backoff between attempts to reach Redis while it is down.
const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(1);
/// Limits for one connection attempt and one command, so that a Redis that hangs is noticed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long [`RedisLimiter::close`] waits for the work in progress: what is left then (a
/// request still in flight, a Redis that does not answer) lets its leases run to their end.
/// Each piece of that work is one script or command, which Redis answers within the response
/// timeout or not at all.
const CLOSE_WAIT: Duration = RESPONSE_TIMEOUT;

/// Shares a client's rate limit, and its bad-token guard, with every other process that uses
/// the same store and token, through Redis. Pass it to
/// [`ClientBuilder::shared_rate_limit`](crate::ClientBuilder::shared_rate_limit).
///
/// The limit itself is the client's [`RateLimit`] (Ecwid's 600 a minute by default): give every
/// process the same one. Keys carry no secret: they are named after the store id and a SHA-256
/// of the token, under [`key_prefix`](Self::key_prefix). The URL (`redis://` or `rediss://`,
/// with a password if Redis wants one) is kept as a secret: `Debug`, errors and logs name the
/// host and port at most.
///
/// Each slot is taken for a window, the margin and the attempt timeout, and shortened to a
/// window from its answer by an update sent in the background once the answer comes. Before
/// a process exits (a CLI or a cron job especially), call
/// [`Client::close`](crate::Client::close): it waits for those updates, which would otherwise
/// die with the runtime and leave the last slots taken for their full length, lost to every
/// process sharing the token.
///
/// ```
/// use ecwid_inventory::{RedisRateLimit, WhenRedisUnavailable};
///
/// let shared = RedisRateLimit::new("rediss://:hunter2@redis.internal:6380/0")
///     .key_prefix("shop-sync")
///     .when_unavailable(WhenRedisUnavailable::Wait);
/// assert!(!format!("{shared:?}").contains("hunter2"));
/// ```
///
/// # Why, and when
///
/// Ecwid counts 600 requests a minute **per token**. Each client's own limiter counts only its
/// own requests, so several processes (workers, cron jobs, replicas) using one token each
/// believe they may send 600 a minute, and earn 429s together. With this they share one
/// budget, and one bad-token guard. Use it when more than one process (or machine) sends with
/// one token; a single process needs only the default in-process limiter. Any Redis 6.2 or
/// later will do, without persistence: `redis-server --port 6379 --bind 127.0.0.1 --save ''
/// --appendonly no` (or a managed Redis; `rediss://` and passwords work).
///
/// ```no_run
/// # async fn run() -> Result<(), ecwid_inventory::Error> {
/// use ecwid_inventory::{Client, CombinationId, ProductId, RateLimit, RedisRateLimit, StoreId};
///
/// let client = Client::builder(StoreId::new(1003), "secret_token")
///     .rate_limit(RateLimit::ecwid()) // the same limit in every process
///     .shared_rate_limit(RedisRateLimit::new("rediss://:password@redis.internal:6380/0"))
///     .build()?;
/// client
///     .adjust_variation_stock(ProductId::new(692730761), CombinationId::new(422488528), -1)
///     .send()
///     .await?;
/// client.close().await; // before the process exits
/// # Ok(()) }
/// ```
///
/// **Before the process exits, call `client.close().await`**: a CLI, a cron job, anything that
/// exits right after its last call. A process that exits at once loses the background updates
/// with its runtime, and its last slots stay taken for a whole lease (window, margin and
/// attempt timeout) instead of a window, lost to every process sharing the token. `close()`
/// waits for those updates, and for calls still waiting for a slot to leave the queue, for at
/// most 2 s (Redis's response timeout; past it a warning names the bound, and what is left,
/// typically a request still in flight, keeps its slot to the end of its lease). After it, the
/// client and its clones send nothing more: their calls fail with
/// [`Error::Closed`](crate::Error::Closed), having sent nothing. With the in-process limiter it
/// has nothing to wait for and returns at once.
///
/// # How it counts
///
/// The same rule as the in-process limiter, with Redis's clock (`TIME` inside the scripts)
/// deciding: each slot is a lease, a sorted-set member whose score is when it expires. A slot
/// is taken for one window, the margin and the client's attempt timeout, and shortened to one
/// window and the margin from its answer when the answer comes; so any `n + 1` requests reach
/// Ecwid more than a window apart. Every step that reads and changes the counts is one Lua
/// script (`EVALSHA`). Waiting processes queue in Redis by ticket, in arrival order, with
/// heartbeats so that a dead waiter drops out within 1.5 s; a waiter takes a slot only when
/// enough are free for every waiter ahead of it too, so nobody overtakes. Every caller holds
/// its own ticket and sleeps until the earliest moment a slot can free for it. A call that
/// cannot get a slot before its deadline fails at once with
/// [`DeadlineExceeded`](crate::Error::DeadlineExceeded), having sent nothing. Keys carry no
/// secret: `<prefix>:{<store id>:<SHA-256 of the token, 128 bits>}:<name>` (default prefix
/// `ecwid-inventory`, [`key_prefix`](Self::key_prefix) to change it). The `{..}` hash tag keeps
/// one budget's keys in one cluster slot; several tokens on one Redis keep independent budgets.
/// Idle budgets expire by themselves (two leases after their last use).
///
/// # When something fails
///
/// | What happens | What the limiter does |
/// |---|---|
/// | a process dies holding slots (even `SIGKILL`) | its leases expire within one window, the margin and the attempt timeout; its waiting ticket within 1.5 s |
/// | a process exits right after its last call | with `client.close().await` before it exits, its last leases end a window (and the margin) after their answers; without it, the background releases die with the runtime and the leases run their full length, as for a killed process |
/// | Redis is unreachable (default, [`WhenRedisUnavailable::Wait`]) | calls keep trying (backoff 50 ms to 1 s) within their deadline, then fail with `RateLimiterUnavailable`: nothing is sent unthrottled. Answers that come meanwhile cannot shorten their leases, which run to their end |
/// | Redis is unreachable, with `.when_unavailable(WhenRedisUnavailable::LocalShare { processes: k })` | each process falls back to an in-process limiter of `n / k` (at least 1) a window; with at most `k` processes the total stays under `n`. When Redis answers again, a warm-up of one lease (window, margin, attempt timeout) grants nobody a slot, since Redis never counted what was sent meanwhile |
/// | Redis comes back empty (restarted without persistence) | each process remembers the epoch it last saw; one that finds it missing (or replaced less than a lease ago) marks a warm-up of one lease, during which no slot is granted. Limits: if every process restarts together with Redis, nobody remembers, exactly as a restarted single process with the in-process limiter; and a process that never saw the old epoch (started while Redis was empty) may take one burst before a remembering process looks and starts the warm-up for what is left of the lease |
/// | `403 INVALID_API_TOKEN` | the process that got it sets a guard key before its call returns; every process's next acquire sees it in the same round trip and fails with `TokenRejected`, sending nothing. [`Client::reset_token_guard`](crate::Client::reset_token_guard) in any process clears it for all |
///
/// # Cost
///
/// Without waiting, an adjustment costs two Redis round trips: one acquire script and one
/// release script, each about a dozen commands on small sorted sets; waiting adds looks (each
/// waiter sleeps until the earliest moment a slot can free for it, at most 250 ms at a time).
/// `cargo bench --bench redis` (needs `redis-server` on PATH): four processes sharing one token
/// at the limit reach **0.957** of the allowed rate with zero 429s (the in-process limiter,
/// same run: 0.966), with 2.4 to 2.9 scripts per adjustment; a call costs **2.2 times** the
/// in-process limiter's on loopback (+245 us: one acquire script in the call's path). The
/// figures, and how far one Redis serves on paper (about a thousand stores at Ecwid's limit on
/// one core, beyond that shard; a Redis Cluster spreads stores with no change), are in
/// `benches/README.md`.
#[derive(Clone)]
pub struct RedisRateLimit {
    url: SecretString,
    key_prefix: String,
    when_unavailable: WhenRedisUnavailable,
}

/// What a call does when Redis cannot be reached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum WhenRedisUnavailable {
    /// Keep trying to reach Redis (with backoff) until the call's deadline, then fail with
    /// [`Error::RateLimiterUnavailable`], having sent nothing. The default: no request ever goes
    /// out unthrottled.
    #[default]
    Wait,
    /// Fall back to an in-process limiter allowing `1 / processes` of the limit (at least one
    /// request a window). With every process doing the same, the total stays under the limit
    /// as long as no more than `processes` processes share the token. When Redis answers again,
    /// the first call marks a warm-up of one lease (window, margin and attempt timeout) during
    /// which Redis grants nobody a slot, since it never counted the requests sent meanwhile.
    LocalShare {
        /// How many processes share the token, at most.
        processes: u32,
    },
}

impl RedisRateLimit {
    /// Shares the limit through the Redis at `url`: `redis://[:password@]host[:port][/db]`, or
    /// `rediss://` for TLS. Nothing is checked until the client is built, nothing connects until
    /// the first call.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: SecretString::from(url.into()),
            key_prefix: "ecwid-inventory".to_owned(),
            when_unavailable: WhenRedisUnavailable::Wait,
        }
    }

    /// The prefix of every key (default `ecwid-inventory`), to keep several applications apart
    /// on one Redis. Budgets are kept apart by store and token already.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    /// What a call does when Redis cannot be reached (default [`WhenRedisUnavailable::Wait`]).
    pub fn when_unavailable(mut self, choice: WhenRedisUnavailable) -> Self {
        self.when_unavailable = choice;
        self
    }
}

impl fmt::Debug for RedisRateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRateLimit")
            .field("endpoint", &endpoint(self.url.expose_secret()))
            .field("key_prefix", &self.key_prefix)
            .field("when_unavailable", &self.when_unavailable)
            .finish()
    }
}

/// `scheme://host:port`, never the credentials or the rest: what errors and logs may name.
fn endpoint(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(parsed) => format!(
            "{}://{}:{}",
            parsed.scheme(),
            parsed.host_str().unwrap_or("?"),
            parsed.port().unwrap_or(6379)
        ),
        Err(_) => "an unparsable Redis URL".to_owned(),
    }
}

/// The keys of one budget (store and token). The hash tag `{…}` puts them in one cluster slot,
/// so that one script may touch them all.
#[derive(Clone, Debug)]
struct Keys {
    slots: String,
    queue: String,
    heartbeats: String,
    tickets: String,
    guard: String,
    epoch: String,
    warmup: String,
}

impl Keys {
    fn new(prefix: &str, store_id: u64, token: &str) -> Self {
        let digest = Sha256::digest(token.as_bytes());
        let hash: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        let key = |name: &str| format!("{prefix}:{{{store_id}:{hash}}}:{name}");
        Self {
            slots: key("slots"),
            queue: key("queue"),
            heartbeats: key("heartbeats"),
            tickets: key("tickets"),
            guard: key("token-rejected"),
            epoch: key("epoch"),
            warmup: key("warmup"),
        }
    }
}

/// The shared limiter of one client (and its clones).
pub(crate) struct RedisLimiter {
    limit: RateLimit,
    /// How long a slot is leased before its answer: window, margin and the attempt timeout.
    lease: Duration,
    client: redis::Client,
    connection: OnceCell<ConnectionManager>,
    keys: Keys,
    endpoint: String,
    /// Scrubbed from Redis's error messages, should one ever quote it.
    password: Option<SecretString>,
    /// This process's id, the prefix of its tickets and leases.
    id: String,
    next: AtomicU64,
    /// The epoch last seen in Redis, and when.
    epoch: Mutex<Option<(String, Instant)>>,
    guard_seen: AtomicBool,
    guard_op: Mutex<GuardOp>,
    fallback: Option<local::Limiter>,
    /// A fallback permit was granted since Redis last answered: the next answer starts a warm-up.
    fell_back: AtomicBool,
    /// An outage was logged; cleared when Redis answers again.
    outage_logged: AtomicBool,
    /// The work with Redis not finished yet, which `close` waits for.
    unfinished: Arc<Unfinished>,
    /// Set by `close`: calls fail with [`Error::Closed`] instead of waiting for a slot.
    closed: AtomicBool,
    /// Wakes the calls waiting for a slot when the limiter is closed.
    closing: Notify,
}

/// The work with Redis this limiter started and has not finished: calls waiting for a slot
/// (their tickets in the queue), slots held by requests in flight, and the releases and guard
/// updates sent in the background. A counter rather than a task tracker: the work is of three
/// kinds, not all of them tasks, and each holds a [`Working`] until it ends.
#[derive(Debug, Default)]
pub(crate) struct Unfinished {
    count: AtomicUsize,
    drained: Notify,
}

/// One piece of unfinished work. Dropping it finishes it, however the work ended: a background
/// task dropped with its runtime unfinished too (the process is exiting then).
#[derive(Debug)]
pub(crate) struct Working(Arc<Unfinished>);

impl Unfinished {
    fn start(self: &Arc<Self>) -> Working {
        self.count.fetch_add(1, Ordering::SeqCst);
        Working(Arc::clone(self))
    }

    /// Waits until nothing is left unfinished, for at most `bound`; `Err` says how much is left
    /// then.
    async fn drained(&self, bound: Duration) -> Result<(), usize> {
        let drained = async {
            loop {
                // Registered before the count is read, so that the last piece finishing in
                // between still wakes this.
                let mut notified = std::pin::pin!(self.drained.notified());
                notified.as_mut().enable();
                if self.count.load(Ordering::SeqCst) == 0 {
                    return;
                }
                notified.await;
            }
        };
        timeout(bound, drained)
            .await
            .map_err(|_| self.count.load(Ordering::SeqCst))
    }
}

impl Drop for Working {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.drained.notify_waiters();
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GuardOp {
    None,
    Set,
    Clear,
}

impl fmt::Debug for RedisLimiter {
    // Not derived: `redis::Client` and `ConnectionManager` print their connection info, password
    // included.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLimiter")
            .field("limit", &self.limit)
            .field("endpoint", &self.endpoint)
            .field("slots_key", &self.keys.slots)
            .field(
                "fallback",
                &self.fallback.as_ref().map(local::Limiter::limit),
            )
            .finish()
    }
}

/// A leased slot; dropping it shortens the lease to a window (and margin) from now.
#[derive(Debug)]
pub(crate) enum Permit<'a> {
    Lease {
        limiter: &'a RedisLimiter,
        lease: String,
        /// Counts the lease as unfinished while its request is in flight; its release takes over.
        _working: Working,
    },
    Fallback(#[allow(dead_code)] local::Permit<'a>),
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let Permit::Lease { limiter, lease, .. } = self else {
            return;
        };
        // Outside a runtime, or with Redis away, the lease simply runs to its end.
        let (Ok(runtime), Some(connection)) = (
            tokio::runtime::Handle::try_current(),
            limiter.connection.get().cloned(),
        ) else {
            return;
        };
        let mut connection = connection;
        let key = limiter.keys.slots.clone();
        let lease = std::mem::take(lease);
        let window = millis(limiter.limit.window());
        let answered = Instant::now();
        // Taken before the permit's own piece ends, so that the count never drops to zero
        // between the answer and the release.
        let working = limiter.unfinished.start();
        runtime.spawn(async move {
            let _working = working;
            let released: redis::RedisResult<i64> = RELEASE
                .key(key)
                .arg(lease)
                .arg(window)
                .arg(answered.elapsed().as_micros() as u64)
                .invoke_async(&mut connection)
                .await;
            if released.is_err() {
                tracing::debug!("could not shorten a rate-limit lease; it runs to its end");
            }
        });
    }
}

/// What one acquire step answered.
enum Step {
    Granted,
    /// At least this long before a slot can come (a lower bound: waiters ahead may be slow).
    Wait(Duration),
    Rejected,
}

fn millis(d: Duration) -> u64 {
    d.as_millis().max(1) as u64
}

impl RedisLimiter {
    /// Checks the URL (no connection yet). `attempt_timeout` is the client's per-attempt timeout.
    pub(crate) fn new(
        config: &RedisRateLimit,
        limit: RateLimit,
        attempt_timeout: Duration,
        store_id: u64,
        token: &SecretString,
    ) -> Result<Self, Error> {
        let url = config.url.expose_secret();
        let endpoint = endpoint(url);
        let parsed = reqwest::Url::parse(url)
            .map_err(|_| Error::Config(format!("the Redis URL ({endpoint}) is not a URL")))?;
        if !matches!(parsed.scheme(), "redis" | "rediss") {
            return Err(Error::Config(format!(
                "the Redis URL must use redis:// or rediss://, not {}:",
                parsed.scheme()
            )));
        }
        let password = parsed
            .password()
            .filter(|p| !p.is_empty())
            .map(|p| SecretString::from(p.to_owned()));
        // redis-rs's own messages may quote the URL: ours name the endpoint only.
        let client = redis::Client::open(url)
            .map_err(|_| Error::Config(format!("the Redis URL ({endpoint}) is not valid")))?;
        if config.key_prefix.contains(['{', '}']) {
            return Err(Error::Config(
                "the Redis key prefix must not contain '{' or '}'".into(),
            ));
        }
        let fallback = match config.when_unavailable {
            WhenRedisUnavailable::Wait => None,
            WhenRedisUnavailable::LocalShare { processes: 0 } => {
                return Err(Error::Config(
                    "WhenRedisUnavailable::LocalShare needs at least one process".into(),
                ))
            }
            WhenRedisUnavailable::LocalShare { processes } => {
                let share = (limit.requests() / processes).max(1);
                Some(local::Limiter::new(RateLimit::new(share, limit.per())))
            }
        };
        Ok(Self {
            limit,
            // Plus one more margin for the moments between the grant and the send.
            lease: limit.window() + limit.margin() + attempt_timeout,
            client,
            connection: OnceCell::new(),
            keys: Keys::new(&config.key_prefix, store_id, token.expose_secret()),
            endpoint,
            password,
            id: uuid::Uuid::new_v4().simple().to_string(),
            next: AtomicU64::new(0),
            epoch: Mutex::new(None),
            guard_seen: AtomicBool::new(false),
            guard_op: Mutex::new(GuardOp::None),
            fallback,
            fell_back: AtomicBool::new(false),
            outage_logged: AtomicBool::new(false),
            unfinished: Arc::default(),
            closed: AtomicBool::new(false),
            closing: Notify::new(),
        })
    }

    pub(crate) fn limit(&self) -> RateLimit {
        self.limit
    }

    fn next_id(&self) -> String {
        format!("{}:{}", self.id, self.next.fetch_add(1, Ordering::Relaxed))
    }

    async fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        let client = self.client.clone();
        self.connection
            .get_or_try_init(|| async move {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(CONNECT_TIMEOUT))
                    .set_response_timeout(Some(RESPONSE_TIMEOUT))
                    .set_number_of_retries(1)
                    .set_min_delay(BACKOFF_MIN)
                    .set_max_delay(BACKOFF_MAX);
                ConnectionManager::new_lazy_with_config(client, config)
            })
            .await
            .cloned()
    }

    /// Redis's error, for an error message: without the password, should it ever be quoted.
    fn describe(&self, error: &redis::RedisError) -> String {
        let text = error.to_string();
        match &self.password {
            Some(password) => text.replace(password.expose_secret(), "[redacted]"),
            None => text,
        }
    }

    fn unavailable(&self, reason: String) -> Error {
        Error::RateLimiterUnavailable {
            endpoint: self.endpoint.clone(),
            reason,
        }
    }

    /// Waits for a slot (see [`super::Limiter::acquire`]).
    pub(crate) async fn acquire(&self, deadline: Instant) -> Result<Permit<'_>, Error> {
        let working = self.unfinished.start();
        let ticket = self.next_id();
        let mut backoff = BACKOFF_MIN;
        let mut waited = false;
        loop {
            if self.closed.load(Ordering::SeqCst) {
                self.leave(&ticket).await;
                return Err(Error::Closed);
            }
            let lease = self.next_id();
            let step = match timeout_at(deadline, self.step(&ticket, &lease)).await {
                Ok(step) => step,
                Err(_elapsed) => Err("no answer from Redis before the call's deadline".to_owned()),
            };
            let now = Instant::now();
            match step {
                Ok(Step::Granted) => {
                    return Ok(Permit::Lease {
                        limiter: self,
                        lease,
                        _working: working,
                    })
                }
                Ok(Step::Rejected) => return Err(Error::TokenRejected),
                Ok(Step::Wait(wait)) => {
                    backoff = BACKOFF_MIN;
                    // No slot can come before the deadline: fail now, sending nothing, as the
                    // in-process limiter does.
                    if now + wait >= deadline {
                        self.leave(&ticket).await;
                        return Err(Error::DeadlineExceeded);
                    }
                    if !std::mem::replace(&mut waited, true) {
                        tracing::debug!(
                            wait_ms = wait.as_millis() as u64,
                            limit = self.limit.requests(),
                            per_s = self.limit.per().as_secs_f64(),
                            "waiting for the shared rate limiter"
                        );
                    }
                    let nap = wait.min(MAX_NAP);
                    if now + nap >= deadline {
                        self.pause_until(deadline).await;
                        self.leave(&ticket).await;
                        return Err(self.closed_or(Error::DeadlineExceeded));
                    }
                    self.pause_until(now + nap).await;
                }
                Err(reason) => {
                    if let Some(fallback) = &self.fallback {
                        if !self.outage_logged.swap(true, Ordering::Relaxed) {
                            tracing::warn!(
                                endpoint = %self.endpoint,
                                reason = %reason,
                                "Redis is unavailable: falling back to this process's share of \
                                 the rate limit"
                            );
                        }
                        let permit = fallback
                            .acquire(deadline)
                            .await
                            .ok_or(Error::DeadlineExceeded)?;
                        self.fell_back.store(true, Ordering::SeqCst);
                        return Ok(Permit::Fallback(permit));
                    }
                    if !self.outage_logged.swap(true, Ordering::Relaxed) {
                        tracing::warn!(
                            endpoint = %self.endpoint,
                            reason = %reason,
                            "Redis is unavailable: calls wait for it, sending nothing"
                        );
                    }
                    if now + backoff >= deadline {
                        self.pause_until(deadline).await;
                        return Err(self.closed_or(self.unavailable(reason)));
                    }
                    self.pause_until(now + backoff).await;
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
        }
    }

    /// Sleeps until `until`, or until the limiter is closed.
    async fn pause_until(&self, until: Instant) {
        let mut closing = std::pin::pin!(self.closing.notified());
        closing.as_mut().enable();
        if !self.closed.load(Ordering::SeqCst) {
            let _ = timeout_at(until, closing).await;
        }
    }

    /// [`Error::Closed`] if the limiter was closed while a call waited, else `error`.
    fn closed_or(&self, error: Error) -> Error {
        if self.closed.load(Ordering::SeqCst) {
            Error::Closed
        } else {
            error
        }
    }

    /// Closes the limiter for [`Client::close`](crate::Client::close): calls waiting for a
    /// slot leave the queue and fail with [`Error::Closed`], and so do later ones; then waits
    /// for the unfinished work (releases above all), for at most [`CLOSE_WAIT`].
    pub(crate) async fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.closing.notify_waiters();
        if let Err(left) = self.unfinished.drained(CLOSE_WAIT).await {
            tracing::warn!(
                left,
                bound_ms = CLOSE_WAIT.as_millis() as u64,
                "closing the client: {left} updates of the shared rate limiter (requests still \
                 in flight, or releases Redis did not answer) unfinished after {} s, the bound \
                 of close(); their slots stay taken until their leases end",
                CLOSE_WAIT.as_secs_f64()
            );
        }
    }

    /// One round trip: the acquire script. `Err` says why Redis could not be asked.
    async fn step(&self, ticket: &str, lease: &str) -> Result<Step, String> {
        let mut connection = self.connection().await.map_err(|e| self.describe(&e))?;
        let known_epoch = {
            let epoch = self.epoch.lock().unwrap_or_else(|p| p.into_inner());
            // An epoch seen longer than a lease ago may have expired with the counts: nothing
            // counted then still counts now.
            epoch
                .as_ref()
                .filter(|(_, seen)| seen.elapsed() < self.lease)
                .map(|(epoch, _)| epoch.clone())
                .unwrap_or_default()
        };
        let guard_op = *self.guard_op.lock().unwrap_or_else(|p| p.into_inner());
        let warm_up = self.fell_back.load(Ordering::SeqCst);
        let answer: redis::RedisResult<(u8, u64, String, u64)> = ACQUIRE
            .key(&self.keys.slots)
            .key(&self.keys.queue)
            .key(&self.keys.heartbeats)
            .key(&self.keys.tickets)
            .key(&self.keys.guard)
            .key(&self.keys.epoch)
            .key(&self.keys.warmup)
            .arg(ticket)
            .arg(self.limit.requests())
            .arg(millis(self.limit.window()))
            .arg(millis(self.lease))
            .arg(millis(HEARTBEAT))
            .arg(known_epoch)
            .arg(uuid::Uuid::new_v4().simple().to_string())
            .arg(match guard_op {
                GuardOp::None => "",
                GuardOp::Set => "set",
                GuardOp::Clear => "clear",
            })
            .arg(if warm_up { "1" } else { "" })
            .arg(lease)
            .invoke_async(&mut connection)
            .await;
        let (status, wait_us, epoch, _rank) = answer.map_err(|e| self.describe(&e))?;
        // Redis answered: what this process had to tell it is told.
        if guard_op != GuardOp::None {
            let mut op = self.guard_op.lock().unwrap_or_else(|p| p.into_inner());
            if *op == guard_op {
                *op = GuardOp::None;
            }
        }
        if warm_up {
            self.fell_back.store(false, Ordering::SeqCst);
            tracing::info!("Redis is back after a fallback: one lease of warm-up");
        }
        if self.outage_logged.swap(false, Ordering::Relaxed) {
            tracing::info!(endpoint = %self.endpoint, "Redis is available again");
        }
        *self.epoch.lock().unwrap_or_else(|p| p.into_inner()) = Some((epoch, Instant::now()));
        self.guard_seen.store(status == 2, Ordering::SeqCst);
        Ok(match status {
            1 => Step::Granted,
            2 => Step::Rejected,
            // Waiting for slots, or a warm-up (no slot for anyone until it ends).
            _ => Step::Wait(Duration::from_micros(wait_us)),
        })
    }

    /// Leaves the Redis queue after giving up, so the next waiter does not wait for our
    /// heartbeat to lapse. Best effort: a lapsed heartbeat does it too.
    async fn leave(&self, ticket: &str) {
        let Some(mut connection) = self.connection.get().cloned() else {
            return;
        };
        let left: Result<redis::RedisResult<i64>, _> = tokio::time::timeout(
            Duration::from_millis(200),
            LEAVE
                .key(&self.keys.queue)
                .key(&self.keys.heartbeats)
                .arg(ticket)
                .invoke_async(&mut connection),
        )
        .await;
        if !matches!(left, Ok(Ok(_))) {
            tracing::debug!("could not leave the Redis queue; the heartbeat lapses instead");
        }
    }

    /// Ecwid rejected the token: every process using it stops. Told to Redis now (for at most
    /// a second), and again by the next acquire step if that failed.
    pub(crate) async fn reject_token(&self) {
        self.guard_seen.store(true, Ordering::SeqCst);
        *self.guard_op.lock().unwrap_or_else(|p| p.into_inner()) = GuardOp::Set;
        let told = tokio::time::timeout(Duration::from_secs(1), async {
            let mut connection = self.connection().await?;
            redis::cmd("SET")
                .arg(&self.keys.guard)
                .arg("1")
                .query_async::<()>(&mut connection)
                .await
        })
        .await;
        if matches!(told, Ok(Ok(()))) {
            let mut op = self.guard_op.lock().unwrap_or_else(|p| p.into_inner());
            if *op == GuardOp::Set {
                *op = GuardOp::None;
            }
        } else {
            tracing::warn!("could not tell Redis that the token was rejected; the next call will");
        }
    }

    pub(crate) fn token_rejected_seen(&self) -> bool {
        self.guard_seen.load(Ordering::SeqCst)
    }

    /// Clears the guard for every process using the token.
    pub(crate) fn reset_token_guard(&self) {
        self.guard_seen.store(false, Ordering::SeqCst);
        *self.guard_op.lock().unwrap_or_else(|p| p.into_inner()) = GuardOp::Clear;
        self.spawn_clear_guard();
    }

    fn spawn_clear_guard(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return; // the next acquire step carries it
        };
        let client = self.client.clone();
        let existing = self.connection.get().cloned();
        let key = self.keys.guard.clone();
        let working = self.unfinished.start();
        runtime.spawn(async move {
            let _working = working;
            let connection = match existing {
                Some(connection) => Ok(connection),
                None => ConnectionManager::new(client).await,
            };
            let Ok(mut connection) = connection else {
                return;
            };
            let done: redis::RedisResult<redis::Value> = redis::cmd("DEL")
                .arg(key)
                .query_async(&mut connection)
                .await;
            if done.is_err() {
                tracing::debug!("could not update the shared token guard now; the next call will");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_carry_no_secret_and_share_a_hash_tag() {
        let keys = Keys::new("app", 1003, "secret_hunter2");
        for key in [
            &keys.slots,
            &keys.queue,
            &keys.heartbeats,
            &keys.tickets,
            &keys.guard,
            &keys.epoch,
            &keys.warmup,
        ] {
            assert!(!key.contains("hunter2"), "{key}");
            assert!(key.starts_with("app:{1003:"), "{key}");
            let tag = &key[key.find('{').unwrap()..=key.find('}').unwrap()];
            assert_eq!(tag, &keys.slots[4..4 + tag.len()]);
        }
        assert_ne!(
            Keys::new("app", 1003, "other").slots,
            keys.slots,
            "tokens have separate budgets"
        );
    }

    #[test]
    fn the_password_never_shows() {
        let config = RedisRateLimit::new("rediss://user:hunter2@redis.example:6380/2");
        let limiter = RedisLimiter::new(
            &config,
            RateLimit::ecwid(),
            Duration::from_secs(30),
            1003,
            &SecretString::from("secret_token"),
        )
        .unwrap();
        for text in [format!("{config:?}"), format!("{limiter:?}")] {
            assert!(!text.contains("hunter2"), "{text}");
            assert!(text.contains("redis.example:6380"), "{text}");
        }
        let error = limiter.unavailable(limiter.describe(&redis::RedisError::from((
            redis::ErrorKind::Io,
            "refused",
            "hunter2".to_owned(),
        ))));
        for text in [error.to_string(), format!("{error:?}")] {
            assert!(!text.contains("hunter2"), "{text}");
        }
        let bad = RedisLimiter::new(
            &RedisRateLimit::new("http://:hunter2@x"),
            RateLimit::ecwid(),
            Duration::from_secs(30),
            1,
            &SecretString::from("t"),
        )
        .unwrap_err();
        assert!(!format!("{bad} {bad:?}").contains("hunter2"));
    }
}
