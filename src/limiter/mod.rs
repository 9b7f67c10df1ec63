//! The client-side rate limiter: one interface, two backends.
//!
//! [`local`] counts in this process, shared by all clones of a [`Client`](crate::Client); it is
//! the default. `redis` (feature `redis`) counts in Redis, shared by every process that uses the
//! same token, and shares the bad-token guard with them too. Both follow one rule: a request
//! counts from the moment it is let go until one window (plus the margin, see [`RateLimit`]) after its
//! answer, so any `requests + 1` requests reach Ecwid more than a window apart.
//!
//! This module is private: what a user reads about limiting is in the public
//! [`retry`](crate::retry) module's docs (the in-process limiter) and on `RedisRateLimit` (the
//! shared one: why, how it counts, what it does when something fails, what it costs).

use tokio::time::Instant;

use crate::Error;

pub(crate) mod local;
mod rate_limit;
#[cfg(feature = "redis")]
pub(crate) mod redis;

pub use rate_limit::RateLimit;

/// The limiter a client sends through.
#[derive(Debug)]
pub(crate) enum Limiter {
    /// In this process only.
    Local(local::Limiter),
    /// Shared through Redis with every process using the same token.
    #[cfg(feature = "redis")]
    Redis(Box<redis::RedisLimiter>),
}

/// A slot held by one attempt; dropping it starts the window the request still counts in.
#[derive(Debug)]
pub(crate) enum Permit<'a> {
    Local(#[allow(dead_code)] local::Permit<'a>),
    #[cfg(feature = "redis")]
    Redis(#[allow(dead_code)] redis::Permit<'a>),
}

impl Limiter {
    pub(crate) fn limit(&self) -> RateLimit {
        match self {
            Limiter::Local(limiter) => limiter.limit(),
            #[cfg(feature = "redis")]
            Limiter::Redis(limiter) => limiter.limit(),
        }
    }

    /// Waits for a slot, in arrival order, and takes it; or fails, having taken nothing:
    /// [`Error::DeadlineExceeded`] as soon as no slot can come before `deadline`, and with the
    /// shared backend [`Error::TokenRejected`] (another process's `403`),
    /// [`Error::RateLimiterUnavailable`] or [`Error::Closed`] (the limiter was closed).
    pub(crate) async fn acquire(&self, deadline: Instant) -> Result<Permit<'_>, Error> {
        match self {
            Limiter::Local(limiter) => limiter
                .acquire(deadline)
                .await
                .map(Permit::Local)
                .ok_or(Error::DeadlineExceeded),
            #[cfg(feature = "redis")]
            Limiter::Redis(limiter) => limiter.acquire(deadline).await.map(Permit::Redis),
        }
    }

    /// Finishes the limiter's work, for [`Client::close`](crate::Client::close). The in-process
    /// backend has none: whatever it counts dies with the process, and nobody else shares it.
    pub(crate) async fn close(&self) {
        match self {
            Limiter::Local(_) => {}
            #[cfg(feature = "redis")]
            Limiter::Redis(limiter) => limiter.close().await,
        }
    }

    /// Records Ecwid's `403 INVALID_API_TOKEN`. Returns `true` when the limiter shares the guard
    /// with other processes (which then stop too), `false` when the client keeps it alone.
    /// The shared backend has told Redis (or tried, briefly) before this returns, so that a
    /// process about to exit still stops the others.
    pub(crate) async fn token_rejected(&self) -> bool {
        match self {
            Limiter::Local(_) => false,
            #[cfg(feature = "redis")]
            Limiter::Redis(limiter) => {
                limiter.reject_token().await;
                true
            }
        }
    }

    /// Whether the shared guard was last seen set (always `false` for the local backend).
    pub(crate) fn shared_token_rejected(&self) -> bool {
        match self {
            Limiter::Local(_) => false,
            #[cfg(feature = "redis")]
            Limiter::Redis(limiter) => limiter.token_rejected_seen(),
        }
    }

    /// Clears the shared guard, for every process using the token.
    pub(crate) fn reset_token_guard(&self) {
        match self {
            Limiter::Local(_) => {}
            #[cfg(feature = "redis")]
            Limiter::Redis(limiter) => limiter.reset_token_guard(),
        }
    }
}
