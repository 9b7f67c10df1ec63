//! The client-side rate limiter, shared by all clones of a [`Client`](crate::Client).
//!
//! Ecwid allows 600 requests a minute per token and answers the rest with `429`. The limiter
//! keeps a log of the last `requests` send times and lets a request go only when the oldest of
//! them is more than one window (plus a small margin) old. That bounds every window, sliding
//! or fixed, whichever way the server counts. Callers wait on a fair (FIFO) lock, so they are
//! served in arrival order.

use std::{collections::VecDeque, time::Duration};

use tokio::{sync::Mutex, time::Instant};

/// A rate limit: at most `requests` per `per`.
///
/// ```
/// use std::time::Duration;
/// use ecwid_inventory::RateLimit;
///
/// assert_eq!(RateLimit::per_minute(600), RateLimit::new(600, Duration::from_secs(60)));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    requests: u32,
    per: Duration,
}

impl RateLimit {
    /// At most `requests` per `per`. Both must be non-zero, or building the client fails.
    pub const fn new(requests: u32, per: Duration) -> Self {
        Self { requests, per }
    }

    /// At most `requests` per minute.
    pub const fn per_minute(requests: u32) -> Self {
        Self::new(requests, Duration::from_secs(60))
    }

    /// Ecwid's documented limit: 600 requests a minute per token.
    pub const fn ecwid() -> Self {
        Self::per_minute(600)
    }

    /// Requests allowed per window.
    pub const fn requests(self) -> u32 {
        self.requests
    }

    /// The window.
    pub const fn per(self) -> Duration {
        self.per
    }

    /// Slack added to each window, so that requests sent a window apart cannot arrive less than a
    /// window apart when their trips to the server differ: 1% of the window, at least 20 ms.
    fn margin(self) -> Duration {
        (self.per / 100).max(Duration::from_millis(20))
    }
}

/// The shared limiter state.
#[derive(Debug)]
pub(crate) struct Limiter {
    limit: RateLimit,
    sent: Mutex<VecDeque<Instant>>,
}

impl Limiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            sent: Mutex::new(VecDeque::with_capacity(limit.requests as usize)),
        }
    }

    pub(crate) fn limit(&self) -> RateLimit {
        self.limit
    }

    /// When the next request may go, given the log of past send times, or `None` for now.
    fn next_slot(&self, sent: &VecDeque<Instant>, now: Instant) -> Option<Instant> {
        if sent.len() < self.limit.requests as usize {
            return None;
        }
        let oldest = *sent.front()?;
        let free_at = oldest + self.limit.per + self.limit.margin();
        (free_at > now).then_some(free_at)
    }

    /// Waits for a slot, in arrival order, and takes it. Returns how long it waited, or `None`
    /// when the slot would come after `deadline` (then nothing is taken).
    pub(crate) async fn acquire(&self, deadline: Instant) -> Option<Duration> {
        let started = Instant::now();
        // Holding the lock while sleeping is what makes the queue fair: later callers wait
        // behind the one that is waiting for the next slot.
        let mut sent = self.sent.lock().await;
        if let Some(free_at) = self.next_slot(&sent, Instant::now()) {
            if free_at > deadline {
                return None;
            }
            tracing::debug!(
                wait_ms = (free_at - Instant::now()).as_millis() as u64,
                limit = self.limit.requests,
                per_s = self.limit.per.as_secs_f64(),
                "waiting for the client-side rate limiter"
            );
            tokio::time::sleep_until(free_at).await;
        }
        let now = Instant::now();
        if sent.len() >= self.limit.requests as usize {
            sent.pop_front();
        }
        sent.push_back(now);
        Some(now - started)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test(start_paused = true)]
    async fn lets_a_burst_through_then_spaces_by_the_window() {
        let window = Duration::from_secs(10);
        let limiter = Limiter::new(RateLimit::new(3, window));
        let far = Instant::now() + Duration::from_secs(3600);
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..10 {
            limiter.acquire(far).await.unwrap();
            times.push(Instant::now() - start);
        }
        // A burst of 3, then each waits until the one 3 places before it is a window (plus the
        // 100 ms margin) old.
        assert_eq!(&times[..3], &[Duration::ZERO; 3]);
        assert_eq!(times[3], Duration::from_millis(10_100));
        for (i, pair) in times.windows(4).enumerate() {
            assert_eq!(
                pair[3] - pair[0],
                Duration::from_millis(10_100),
                "send {}",
                i + 3
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_when_the_slot_is_past_the_deadline() {
        let limiter = Limiter::new(RateLimit::new(1, Duration::from_secs(60)));
        let soon = Instant::now() + Duration::from_secs(5);
        assert!(limiter.acquire(soon).await.is_some());
        assert_eq!(limiter.acquire(soon).await, None);
        // Nothing was taken by the refused call.
        assert_eq!(limiter.sent.lock().await.len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn serves_concurrent_callers_in_arrival_order() {
        let limiter = Arc::new(Limiter::new(RateLimit::new(1, Duration::from_secs(1))));
        let far = Instant::now() + Duration::from_secs(3600);
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for i in 0..5 {
            let (limiter, order) = (limiter.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                limiter.acquire(far).await.unwrap();
                order.lock().unwrap().push(i);
            }));
            // Let task i reach the queue before task i + 1 is spawned.
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4]);
    }
}
