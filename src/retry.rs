//! Retries, and the rest of what stands between a call and the wire: the client-side rate
//! limiter, the bad-token guard, timeouts and deadlines, per-call settings and tracing.
//!
//! # Retries
//!
//! When to send a request again is a pure function of what happened, the attempt number and
//! the time spent, table-tested in this file; the sending loop in the client only obeys it. It
//! is hand-written rather than taken from `backon` or similar: the decision turns on facts only
//! this crate knows (whether an error may have applied a delta, whether the request is safe to
//! repeat, Ecwid's `Retry-After` against a cap and the call's deadline), and a pure function
//! keeps that table testable without sleeping. How safe a request is to repeat decides what is
//! retried, as the errors table of the [crate docs](crate#errors-and-what-to-do-after-one) says:
//!
//! - A stock delta is not idempotent, so only two outcomes of an adjustment are ever retried: a
//!   request that provably never reached Ecwid (a failed connection), and a `429`, which Ecwid
//!   documents as ignored. Everything after which the delta may have been applied stops at once
//!   (unless it is sent [exactly once](crate::stock::AdjustStock::exactly_once), under its
//!   deduplication key).
//! - A request that is safe to repeat is also retried, with the same backoff, after a `5xx`, a
//!   timeout, a lost connection or an unreadable answer: a read or a set (the same count lands
//!   again), a batch create (its `deduplicationKey` makes Ecwid answer a repeat with the first
//!   ticket), a batch status read.
//! - An exactly-once call's create and status reads are retried that way until the call's
//!   deadline, whatever the number of retries the policy allows other calls.
//!
//! Every wait honours Ecwid's `Retry-After` and the policy's cap on it, stops at once when the
//! wait would end past the deadline, and no attempt is planned to start with less than its least
//! time left before the deadline. `RetryPolicy::default()`: 3 retries, a `Retry-After` cap of
//! 60 s (a longer wait returns [`Error::RateLimited`] at once with its
//! [`retry_after()`](Error::retry_after)), 1 s (+ up to 1 s jitter) when a 429 has no
//! `Retry-After`, connect backoff from 100 ms up to 5 s (capped exponential, full jitter).
//! [`RetryPolicy::never()`] turns them off. Give a policy to
//! [`ClientBuilder::retry_policy`](crate::ClientBuilder::retry_policy).
//!
//! # The client-side rate limiter
//!
//! Shared by all clones of a client: [`RateLimit::ecwid()`](crate::RateLimit::ecwid) (600
//! requests a minute) by default, `.rate_limit(RateLimit::new(n, per))` or `.no_rate_limit()` on
//! the builder. A request counts from the moment it is let go until one window (plus 1%, at
//! least 20 ms) after its answer came back, and a request goes only while fewer than `n` others
//! count. Ecwid received each request before answering it, so any `n + 1` requests reach Ecwid
//! more than a window apart whatever each trip took, in sliding or fixed windows alike.
//! Concurrent callers are served in arrival order, and a call that cannot get a slot before its
//! deadline fails at once with [`Error::DeadlineExceeded`], having applied nothing (that attempt
//! is not sent; any earlier one was refused with a 429 or never reached Ecwid). Several
//! processes sharing one token share one budget through Redis instead:
//! `RedisRateLimit` (feature `redis`) says how.
//!
//! Measured by `cargo bench --bench limiter` (600 requests per 1 s window on both the client and
//! the fake, 32 tasks, 3,000 adjustments): **achieved / allowed rate 0.967, zero 429s**, every
//! delta applied once. The 3.3% below the limit is the limiter's safety margin (1% of the
//! window, at least 20 ms: 2% of the benchmark's 1 s window) and each request's trip, during
//! which it already counts.
//!
//! # The bad-token guard
//!
//! After `403 INVALID_API_TOKEN` the client (and its clones) sends nothing more and every call
//! fails at once with [`Error::TokenRejected`], because Ecwid blocks tokens, then IP addresses,
//! that keep failing. Build a new client, or call
//! [`Client::reset_token_guard`](crate::Client::reset_token_guard) once the token is fixed.
//!
//! # Timeouts and deadlines
//!
//! Connect 10 s (`.connect_timeout`), per attempt 30 s (`.timeout`), and an overall deadline per
//! call of 120 s covering limiter waits, attempts and backoff (`.deadline`). A request is sent,
//! first or again, only while at least its least time is left before the deadline
//! (`.min_attempt_time`, 1 s by default, never more than the attempt timeout or half the
//! deadline): a request the deadline would cut short could be applied with nobody hearing of it,
//! so the call fails with [`Error::DeadlineExceeded`] instead, nothing sent, and the rate limiter
//! gives up at once when its next slot comes later than that. Every duration setting is at most
//! a day ([`MAX_SETTING`](crate::settings::MAX_SETTING)).
//!
//! # Per-call settings
//!
//! Every call is a request builder; `.deadline(d)`, `.timeout(d)` or
//! `.options(`[`RequestOptions`](crate::RequestOptions)`)` override the client's for that call
//! (each request of it: an exactly-once call counts as one), and `.await` sends it as
//! `.send().await` does: `client.stock(item).timeout(Duration::from_secs(2)).await?`. A zero or
//! over-a-day setting is [`Error::InvalidInput`], nothing sent.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use ecwid_inventory::{retry::RetryPolicy, Client, RateLimit, StockItem};
//! # let fake = ecwid_inventory_fake::FakeStore::demo().await?;
//! # let base_url = fake.base_url();
//!
//! let client = Client::builder(ecwid_inventory_fake::demo::STORE, "secret_token")
//!     .base_url(base_url)
//!     .retry_policy(RetryPolicy::default().max_retries(5))
//!     .rate_limit(RateLimit::per_minute(300)) // leave half of Ecwid's 600 to another program
//!     .deadline(Duration::from_secs(60))
//!     .build()?;
//! let mug = StockItem::Product { product: ecwid_inventory_fake::demo::MUG };
//! let now = client.stock(mug).timeout(Duration::from_secs(2)).await?;
//! println!("{:?}", now.stock);
//! # Ok(()) }
//! ```
//!
//! # Tracing
//!
//! One `ecwid.call` span per call with `operation`, `store_id`, `product_id`, `combination_id`,
//! `attempt`, `status` and `latency_ms` (never the token); an event for each wait on a 429 or on
//! the limiter.

use std::time::Duration;

use crate::Error;

/// How the client retries. The defaults suit Ecwid's documented limits.
///
/// ```
/// use std::time::Duration;
/// use ecwid_inventory::RetryPolicy;
///
/// let policy = RetryPolicy::default()
///     .max_retries(5)
///     .max_retry_after(Duration::from_secs(30));
/// # let _ = policy;
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    pub(crate) max_retries: u32,
    pub(crate) max_retry_after: Duration,
    pub(crate) default_retry_after: Duration,
    pub(crate) initial_backoff: Duration,
    pub(crate) max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 3,
            max_retry_after: Duration::from_secs(60),
            default_retry_after: Duration::from_secs(1),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// Checks the policy's waits, each at most [`MAX_SETTING`](crate::settings::MAX_SETTING).
    pub(crate) fn check(&self) -> Result<(), String> {
        for (name, value) in [
            ("retry policy's longest Retry-After", self.max_retry_after),
            (
                "retry policy's default Retry-After",
                self.default_retry_after,
            ),
            ("retry policy's initial backoff", self.initial_backoff),
            ("retry policy's longest backoff", self.max_backoff),
        ] {
            crate::settings::check_setting(name, value, true)?;
        }
        Ok(())
    }

    /// A policy that never sends a request twice.
    pub fn never() -> Self {
        Self::default().max_retries(0)
    }

    /// How many times one call may be sent again (default 3).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// The longest `Retry-After` the client waits out by itself (default 60 s). When Ecwid asks
    /// for longer, the call returns [`Error::RateLimited`] at once with its `retry_after()`.
    pub fn max_retry_after(mut self, cap: Duration) -> Self {
        self.max_retry_after = cap;
        self
    }

    /// The wait after a `429` without `Retry-After` (default 1 s; up to twice that with jitter).
    pub fn default_retry_after(mut self, wait: Duration) -> Self {
        self.default_retry_after = wait;
        self
    }

    /// The backoff after failed connections: full jitter over `initial * 2^n`, capped at `max`
    /// (defaults 100 ms and 5 s).
    pub fn connect_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max;
        self
    }
}

/// How safe a request is to send again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Repeat {
    /// A delta: sent again only when it provably was not applied (a failed connection, a
    /// `429`), within the policy's number of retries.
    IfNotApplied,
    /// Safe to repeat whatever happened to it (a read, a set, a batch create under its
    /// deduplication key, a status read): also sent again after an error that leaves its
    /// outcome unknown, within the policy's number of retries.
    Always,
    /// Safe to repeat, and repeated until the call's deadline rather than for a number of
    /// retries: the create and status reads of an exactly-once call, whose caller learns
    /// nothing if they give up early. A refusal still stops it at once.
    UntilDeadline,
}

/// What the sending loop should do after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Wait this long, then send the same request again.
    RetryAfter(Duration),
    /// Return the error to the caller, for this reason.
    Stop(Stop),
}

/// Why the sending loop stopped: the bound it met, so that an error can say what ended it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The error is final: sending again would be refused again, or could apply a delta twice.
    Final,
    /// The retry policy's retries were spent.
    RetriesSpent(u32),
    /// Ecwid asked to wait longer than the retry policy's cap.
    WaitOverCap {
        /// `Retry-After`.
        asked: Duration,
        /// [`RetryPolicy::max_retry_after`].
        cap: Duration,
    },
    /// After the wait, too little of the call's deadline would be left to send the request.
    PastDeadline {
        /// The wait before the next attempt.
        wait: Duration,
        /// Whether Ecwid asked for that wait (`Retry-After`), rather than the backoff.
        asked: bool,
        /// What was left of the call's deadline.
        left: Duration,
    },
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stop::Final => f.write_str("it is not sent again after that error"),
            Stop::RetriesSpent(retries) => {
                write!(f, "the retry policy's {retries} retries were spent")
            }
            Stop::WaitOverCap { asked, cap } => write!(
                f,
                "Ecwid asked to wait {asked:?} (Retry-After), longer than the retry policy's \
                 cap of {cap:?}"
            ),
            Stop::PastDeadline {
                wait,
                asked: true,
                left,
            } => write!(
                f,
                "Ecwid asked to wait {wait:?} (Retry-After), past the call's deadline \
                 ({left:?} left)"
            ),
            Stop::PastDeadline {
                wait,
                asked: false,
                left,
            } => write!(
                f,
                "the next attempt, {wait:?} later, would come too late for the call's \
                 deadline ({left:?} left)"
            ),
        }
    }
}

/// Decides whether to send again after `error`, the outcome of attempt number `attempt`
/// (1-based), with `elapsed` spent on the call so far, of which `deadline` is the whole budget
/// and `send_by` the time by which an attempt must start (the deadline less the least time an
/// attempt is given).
///
/// `jitter` is a number in `[0, 1)` drawn by the caller, so that this function stays pure.
#[allow(clippy::too_many_arguments)]
pub(crate) fn decide(
    policy: &RetryPolicy,
    error: &Error,
    repeat: Repeat,
    attempt: u32,
    elapsed: Duration,
    send_by: Duration,
    deadline: Duration,
    jitter: f64,
) -> Decision {
    if repeat != Repeat::UntilDeadline && attempt > policy.max_retries {
        return Decision::Stop(Stop::RetriesSpent(policy.max_retries));
    }
    let wait = match error {
        Error::RateLimited {
            retry_after: Some(asked),
            ..
        } => {
            if *asked > policy.max_retry_after {
                return Decision::Stop(Stop::WaitOverCap {
                    asked: *asked,
                    cap: policy.max_retry_after,
                });
            }
            *asked
        }
        // No Retry-After: wait the default plus up to as much again, so that many clients told
        // "too many" at once do not come back at once.
        Error::RateLimited {
            retry_after: None, ..
        } => policy
            .default_retry_after
            .saturating_add(scale(policy.default_retry_after, jitter)),
        // Full jitter: a random wait up to the capped exponential.
        Error::Connect { .. } => backoff(policy, attempt, jitter),
        error if repeat != Repeat::IfNotApplied && error.is_unanswered() => {
            backoff(policy, attempt, jitter)
        }
        _ => return Decision::Stop(Stop::Final),
    };
    if elapsed.saturating_add(wait) > send_by {
        return Decision::Stop(Stop::PastDeadline {
            wait,
            asked: matches!(
                error,
                Error::RateLimited {
                    retry_after: Some(_),
                    ..
                }
            ),
            left: deadline.saturating_sub(elapsed),
        });
    }
    Decision::RetryAfter(wait)
}

/// Capped exponential backoff with full jitter.
pub(crate) fn backoff(policy: &RetryPolicy, attempt: u32, jitter: f64) -> Duration {
    let exponent = attempt.saturating_sub(1).min(20);
    let ceiling = policy
        .initial_backoff
        .saturating_mul(1 << exponent)
        .min(policy.max_backoff);
    scale(ceiling, jitter)
}

/// `duration * factor` for a factor in `[0, 1]`, without the panic of `mul_f64` on rounding
/// past the largest duration.
fn scale(duration: Duration, factor: f64) -> Duration {
    Duration::try_from_secs_f64(duration.as_secs_f64() * factor).unwrap_or(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate_limited(retry_after: Option<u64>) -> Error {
        Error::RateLimited {
            retry_after: retry_after.map(Duration::from_secs),
            error_code: Some("RATE_LIMITED".into()),
            error_message: None,
        }
    }

    /// A connection error as reqwest reports it, from a port nothing listens on.
    fn connect_error() -> Error {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port(); // the listener is dropped here, so the port refuses connections
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let source = runtime
            .block_on(http.get(format!("http://127.0.0.1:{port}/")).send())
            .unwrap_err();
        let error = crate::transport::error_from_transport(source);
        assert!(matches!(error, Error::Connect { .. }), "{error:?}");
        error
    }

    fn api(status: u16) -> Error {
        Error::Api {
            status,
            error_code: None,
            error_message: None,
            args: Vec::new(),
            read: false,
        }
    }

    const S: fn(u64) -> Duration = Duration::from_secs;
    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn decision_table() {
        let policy = RetryPolicy::default();
        let rows: Vec<(&str, Error, u32, Duration, f64, Decision)> = vec![
            // 429: wait what Ecwid asks, within the cap, the retries and the deadline.
            (
                "429 asks 2 s",
                rate_limited(Some(2)),
                1,
                S(0),
                0.5,
                Decision::RetryAfter(S(2)),
            ),
            (
                "429 asks 0 s",
                rate_limited(Some(0)),
                1,
                S(0),
                0.5,
                Decision::RetryAfter(S(0)),
            ),
            (
                "429 asks the cap",
                rate_limited(Some(60)),
                1,
                S(0),
                0.0,
                Decision::RetryAfter(S(60)),
            ),
            (
                "429 asks over the cap",
                rate_limited(Some(61)),
                1,
                S(0),
                0.0,
                Decision::Stop(Stop::WaitOverCap {
                    asked: S(61),
                    cap: S(60),
                }),
            ),
            (
                "429 third retry",
                rate_limited(Some(1)),
                3,
                S(3),
                0.0,
                Decision::RetryAfter(S(1)),
            ),
            (
                "429 retries spent",
                rate_limited(Some(1)),
                4,
                S(3),
                0.0,
                Decision::Stop(Stop::RetriesSpent(3)),
            ),
            (
                "429 past deadline",
                rate_limited(Some(30)),
                1,
                S(100),
                0.0,
                Decision::Stop(Stop::PastDeadline {
                    wait: S(30),
                    asked: true,
                    left: S(20),
                }),
            ),
            (
                "429 no header, no jitter",
                rate_limited(None),
                1,
                S(0),
                0.0,
                Decision::RetryAfter(S(1)),
            ),
            (
                "429 no header, jitter",
                rate_limited(None),
                1,
                S(0),
                0.5,
                Decision::RetryAfter(MS(1500)),
            ),
            // Failed connections: capped exponential backoff with full jitter.
            (
                "connect 1st",
                connect_error(),
                1,
                S(0),
                0.5,
                Decision::RetryAfter(MS(50)),
            ),
            (
                "connect 2nd",
                connect_error(),
                2,
                S(0),
                0.5,
                Decision::RetryAfter(MS(100)),
            ),
            (
                "connect 3rd",
                connect_error(),
                3,
                S(0),
                1.0,
                Decision::RetryAfter(MS(400)),
            ),
            (
                "connect retries spent",
                connect_error(),
                4,
                S(0),
                0.5,
                Decision::Stop(Stop::RetriesSpent(3)),
            ),
            // Anything after which the delta may have been applied: never.
            ("500", api(500), 1, S(0), 0.5, Decision::Stop(Stop::Final)),
            ("503", api(503), 1, S(0), 0.5, Decision::Stop(Stop::Final)),
            (
                "timeout",
                Error::Timeout {
                    source: None,
                    read: false,
                },
                1,
                S(0),
                0.5,
                Decision::Stop(Stop::Final),
            ),
            (
                "unreadable 200",
                Error::InvalidResponse {
                    status: Some(200),
                    detail: String::new(),
                    read: false,
                },
                1,
                S(0),
                0.5,
                Decision::Stop(Stop::Final),
            ),
            // Refusals: sending again would be refused again.
            ("404", api(404), 1, S(0), 0.5, Decision::Stop(Stop::Final)),
            ("403", api(403), 1, S(0), 0.5, Decision::Stop(Stop::Final)),
            (
                "bad token",
                Error::TokenRejected,
                1,
                S(0),
                0.5,
                Decision::Stop(Stop::Final),
            ),
            (
                "bad input",
                Error::InvalidInput(String::new()),
                1,
                S(0),
                0.5,
                Decision::Stop(Stop::Final),
            ),
        ];
        for (name, error, attempt, elapsed, jitter, expected) in rows {
            let got = decide(
                &policy,
                &error,
                Repeat::IfNotApplied,
                attempt,
                elapsed,
                S(120),
                S(120),
                jitter,
            );
            assert_eq!(got, expected, "{name}");
        }
    }

    #[test]
    fn connect_backoff_is_capped() {
        let policy = RetryPolicy::default().max_retries(50);
        let error = connect_error();
        let got = decide(
            &policy,
            &error,
            Repeat::IfNotApplied,
            40,
            S(0),
            S(120),
            S(120),
            1.0,
        );
        assert_eq!(got, Decision::RetryAfter(policy.max_backoff));
    }

    #[test]
    fn never_policy_never_retries() {
        let got = decide(
            &RetryPolicy::never(),
            &rate_limited(Some(1)),
            Repeat::IfNotApplied,
            1,
            S(0),
            S(120),
            S(120),
            0.0,
        );
        assert_eq!(got, Decision::Stop(Stop::RetriesSpent(0)));
    }

    /// A request safe to repeat (a batch create with its deduplication key, a status read) is
    /// also sent again after errors that leave the outcome unknown, but never after a refusal.
    #[test]
    fn idempotent_requests_also_retry_unknown_outcomes() {
        let policy = RetryPolicy::default();
        let rows: Vec<(&str, Error, Decision)> = vec![
            ("500", api(500), Decision::RetryAfter(MS(50))),
            ("503", api(503), Decision::RetryAfter(MS(50))),
            (
                "timeout",
                Error::Timeout {
                    source: None,
                    read: false,
                },
                Decision::RetryAfter(MS(50)),
            ),
            (
                "unreadable 200",
                Error::InvalidResponse {
                    status: Some(200),
                    detail: String::new(),
                    read: false,
                },
                Decision::RetryAfter(MS(50)),
            ),
            (
                "429 still waits as asked",
                rate_limited(Some(2)),
                Decision::RetryAfter(S(2)),
            ),
            ("400", api(400), Decision::Stop(Stop::Final)),
            ("403", api(403), Decision::Stop(Stop::Final)),
            ("404", api(404), Decision::Stop(Stop::Final)),
            (
                "bad token",
                Error::TokenRejected,
                Decision::Stop(Stop::Final),
            ),
        ];
        let decide = |error: &Error, repeat, attempt| {
            decide(&policy, error, repeat, attempt, S(0), S(120), S(120), 0.5)
        };
        for (name, error, expected) in rows {
            assert_eq!(decide(&error, Repeat::Always, 1), expected, "{name}");
            assert_eq!(decide(&error, Repeat::UntilDeadline, 1), expected, "{name}");
            // The same error on a request that is not safe to repeat only retries a 429.
            let plain = decide(&error, Repeat::IfNotApplied, 1);
            let expected_plain = if matches!(error, Error::RateLimited { .. }) {
                expected
            } else {
                Decision::Stop(Stop::Final)
            };
            assert_eq!(plain, expected_plain, "{name} (not idempotent)");
            // A read's error says nothing was applied, and is retried all the same.
            let read = error.of_a_read();
            assert_eq!(
                decide(&read, Repeat::Always, 1),
                expected,
                "{name} (a read)"
            );
        }
        // Retries stay bounded by their number, or by the deadline alone for a request that
        // retries until its deadline.
        assert_eq!(
            decide(&api(500), Repeat::Always, 4),
            Decision::Stop(Stop::RetriesSpent(3))
        );
        assert_eq!(
            decide(&api(500), Repeat::UntilDeadline, 400),
            Decision::RetryAfter(MS(2500))
        );
    }

    /// The wait must end early enough to leave an attempt its least time before the deadline:
    /// a wait that ends past `send_by` stops, naming the wait and the deadline.
    #[test]
    fn a_retry_is_not_planned_past_the_time_to_send() {
        let policy = RetryPolicy::default();
        let error = rate_limited(Some(2));
        let at = |elapsed, send_by| {
            decide(
                &policy,
                &error,
                Repeat::Always,
                1,
                elapsed,
                send_by,
                S(10),
                0.0,
            )
        };
        assert_eq!(at(S(7), S(9)), Decision::RetryAfter(S(2)));
        assert_eq!(
            at(S(7), MS(8_999)),
            Decision::Stop(Stop::PastDeadline {
                wait: S(2),
                asked: true,
                left: S(3)
            })
        );
        // A retry that retries until the deadline still honours Retry-After and its cap.
        let over = rate_limited(Some(61));
        assert_eq!(
            decide(
                &policy,
                &over,
                Repeat::UntilDeadline,
                1,
                S(0),
                S(600),
                S(600),
                0.0
            ),
            Decision::Stop(Stop::WaitOverCap {
                asked: S(61),
                cap: S(60)
            })
        );
    }
}
