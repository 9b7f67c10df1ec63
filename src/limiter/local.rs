//! The in-process rate limiter, shared by all clones of a [`Client`](crate::Client).
//!
//! Ecwid allows 600 requests a minute per token and answers the rest with `429`. The limiter
//! lets a request go only while fewer than `requests` others are either in flight or finished
//! less than one window (plus a small margin) ago. A request is counted from the moment it is
//! let go until one window after its answer came back (or it failed, or its call was dropped).
//! Since Ecwid received a request before its answer left, any `requests + 1` answered requests
//! reach Ecwid more than a window apart, however long each trip took and whether Ecwid counts
//! in sliding or fixed windows. A request cut short (a timeout, a dropped call) counts from when
//! the client gave up; if its bytes reach Ecwid later still, only the margin covers them.
//! Callers wait in a fair (FIFO) queue, so they are served in arrival order.
//!
//! Hand-written rather than taken from `governor`: a GCRA or token-bucket limiter counts a
//! request when it is let go, whereas Ecwid's window must count it until a window after its
//! answer, and a slot must be given up at once when it cannot come before the call's deadline.

use std::{
    collections::VecDeque,
    sync::{Mutex, MutexGuard},
    time::Duration,
};

use tokio::{
    sync::Notify,
    time::{timeout_at, Instant},
};

use super::RateLimit;

/// The shared limiter state.
#[derive(Debug)]
pub(crate) struct Limiter {
    limit: RateLimit,
    /// The queue: held by the caller waiting for the next slot, so that later callers wait
    /// behind it, in arrival order.
    queue: tokio::sync::Mutex<()>,
    slots: Mutex<Slots>,
    /// Signalled when a request finishes, for a caller waiting while every slot is in flight.
    finished: Notify,
}

#[derive(Debug, Default)]
struct Slots {
    in_flight: usize,
    /// When recent requests finished, oldest first.
    finished: VecDeque<Instant>,
}

/// A slot taken by one request; dropping it (when the attempt ends, however it ends) starts the
/// window the request still counts in.
#[derive(Debug)]
pub(crate) struct Permit<'a> {
    limiter: &'a Limiter,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut slots = self.limiter.slots();
        slots.in_flight -= 1;
        slots.finished.push_back(Instant::now());
        drop(slots);
        self.limiter.finished.notify_waiters();
    }
}

/// What the caller at the head of the queue does next.
enum Next {
    Go,
    WaitUntil(Instant),
    WaitForAnAnswer,
}

impl Limiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            queue: tokio::sync::Mutex::new(()),
            slots: Mutex::new(Slots::default()),
            finished: Notify::new(),
        }
    }

    pub(crate) fn limit(&self) -> RateLimit {
        self.limit
    }

    /// How long a finished request keeps counting.
    fn window(&self) -> Duration {
        self.limit.window()
    }

    fn slots(&self) -> MutexGuard<'_, Slots> {
        // The state stays consistent across a panic: every update is a single step.
        self.slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes a slot now if one is free, or says what to wait for.
    fn try_take(&self, now: Instant) -> Next {
        let window = self.window();
        let mut slots = self.slots();
        while slots
            .finished
            .front()
            .is_some_and(|&finished| later(finished, window) <= now)
        {
            slots.finished.pop_front();
        }
        if slots.in_flight + slots.finished.len() < self.limit.requests() as usize {
            slots.in_flight += 1;
            return Next::Go;
        }
        match slots.finished.front() {
            Some(&oldest) => Next::WaitUntil(later(oldest, window)),
            None => Next::WaitForAnAnswer,
        }
    }

    /// Waits for a slot, in arrival order, and takes it. Returns `None`, taking nothing, as soon
    /// as no slot can come before `deadline`: a slot at the deadline itself would leave no time
    /// to send.
    pub(crate) async fn acquire(&self, deadline: Instant) -> Option<Permit<'_>> {
        let _turn = timeout_at(deadline, self.queue.lock()).await.ok()?;
        let mut waited = false;
        loop {
            // Registered before the check, so that an answer arriving in between still wakes us.
            let finished = self.finished.notified();
            let now = Instant::now();
            match self.try_take(now) {
                Next::Go => return Some(Permit { limiter: self }),
                Next::WaitUntil(free_at) => {
                    if free_at >= deadline {
                        return None;
                    }
                    self.log_wait(&mut waited, Some(free_at - now));
                    tokio::time::sleep_until(free_at).await;
                }
                Next::WaitForAnAnswer => {
                    // The earliest slot is a window after an answer that has not come yet.
                    if later(now, self.window()) >= deadline {
                        return None;
                    }
                    self.log_wait(&mut waited, None);
                    timeout_at(deadline, finished).await.ok()?;
                }
            }
        }
    }

    fn log_wait(&self, waited: &mut bool, wait: Option<Duration>) {
        if !std::mem::replace(waited, true) {
            tracing::debug!(
                wait_ms = wait.map(|w| w.as_millis() as u64),
                limit = self.limit.requests(),
                per_s = self.limit.per().as_secs_f64(),
                "waiting for the client-side rate limiter"
            );
        }
    }
}

/// `at + by`, or a time far enough away to be never, rather than a panic.
fn later(at: Instant, by: Duration) -> Instant {
    at.checked_add(by)
        .unwrap_or_else(|| at + crate::settings::MAX_SETTING * 365)
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
        assert!(limiter.acquire(soon).await.is_none());
        // Nothing was taken by the refused call.
        let slots = limiter.slots();
        assert_eq!((slots.in_flight, slots.finished.len()), (0, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_counts_until_a_window_after_its_answer() {
        let window = Duration::from_secs(10);
        let limiter = Limiter::new(RateLimit::new(1, window));
        let far = Instant::now() + Duration::from_secs(3600);
        let start = Instant::now();
        let slow = limiter.acquire(far).await.unwrap();
        // The slow request is answered at 25 s: the next one waits for a window after that
        // answer, not a window after the slow one was let go.
        let waiter = async {
            limiter.acquire(far).await.unwrap();
            Instant::now() - start
        };
        let answer = async {
            tokio::time::sleep_until(start + Duration::from_secs(25)).await;
            drop(slow);
        };
        let (waited, ()) = tokio::join!(waiter, answer);
        assert_eq!(waited, Duration::from_millis(35_100));
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_at_once_when_every_slot_is_in_flight_and_the_deadline_is_near() {
        let limiter = Limiter::new(RateLimit::new(1, Duration::from_secs(60)));
        let far = Instant::now() + Duration::from_secs(3600);
        let start = Instant::now();
        let held = limiter.acquire(far).await.unwrap();
        // The slot is in flight: the next one is at least a window away, past this deadline.
        assert!(limiter
            .acquire(start + Duration::from_secs(5))
            .await
            .is_none());
        assert_eq!(Instant::now(), start, "gave up without waiting");
        drop(held);
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_in_the_queue_respects_the_deadline() {
        let limiter = Limiter::new(RateLimit::new(1, Duration::from_secs(60)));
        let far = Instant::now() + Duration::from_secs(3600);
        let held = limiter.acquire(far).await.unwrap();
        // Queued behind a caller that waits for the slot, a caller gives up at its deadline
        // instead of waiting its turn.
        let first = limiter.acquire(far);
        let second = async {
            tokio::task::yield_now().await;
            let later = Instant::now() + Duration::from_secs(5);
            let given_up = limiter.acquire(later).await.is_none();
            drop(held);
            (given_up, Instant::now() == later)
        };
        let (first, second) = tokio::join!(first, second);
        assert!(first.is_some());
        assert_eq!(second, (true, true));
    }

    #[tokio::test(start_paused = true)]
    async fn cancelled_calls_leak_no_slot() {
        let window = Duration::from_secs(10);
        let limiter = Limiter::new(RateLimit::new(2, window));
        let far = Instant::now() + Duration::from_secs(3600);
        let counts = || {
            let slots = limiter.slots();
            (slots.in_flight, slots.finished.len())
        };
        // A call dropped while it holds a slot: the slot counts as finished, not in flight.
        let held = async {
            let _permit = limiter.acquire(far).await.unwrap();
            std::future::pending::<()>().await;
        };
        assert!(tokio::time::timeout(Duration::from_secs(1), held)
            .await
            .is_err());
        assert_eq!(counts(), (0, 1));
        // A call dropped while it waits for a slot takes none.
        let _second = limiter.acquire(far).await.unwrap();
        let waiting = limiter.acquire(far);
        assert!(tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .is_err());
        assert_eq!(counts(), (1, 1));
        // Once the window has passed, the dropped call's slot is free again.
        tokio::time::sleep(window).await;
        assert!(limiter.acquire(far).await.is_some());
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
