//! [`TimeSource`]: where the client reads the wall clock.

use std::{fmt, sync::Arc, time::SystemTime};

/// Where a client reads the wall clock (as smithy-rs's `TimeSource`): how old a deduplication
/// key is, and so whether Ecwid surely still remembers it, is measured on it. The system's
/// clock by default; a test can move it, and the clients of a `FakeStore` (the
/// [`ecwid-inventory-fake`](https://docs.rs/ecwid-inventory-fake) package) follow the fake's
/// clock, so that its `advance_clock` ages keys on both sides at once.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use ecwid_inventory::TimeSource;
///
/// let an_hour_ago = TimeSource::new(|| SystemTime::now() - Duration::from_secs(3600));
/// assert!(an_hour_ago.now() < SystemTime::now());
/// ```
#[derive(Clone)]
pub struct TimeSource(Arc<dyn Fn() -> SystemTime + Send + Sync>);

impl TimeSource {
    /// The system's clock.
    pub fn system() -> Self {
        Self::new(SystemTime::now)
    }

    /// A clock read by calling `now`.
    pub fn new(now: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        Self(Arc::new(now))
    }

    /// The time now.
    pub fn now(&self) -> SystemTime {
        (self.0)()
    }
}

impl Default for TimeSource {
    fn default() -> Self {
        Self::system()
    }
}

impl fmt::Debug for TimeSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TimeSource")
    }
}

/// Milliseconds since the Unix epoch (zero before it).
pub(crate) fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
        .try_into()
        .unwrap_or(u64::MAX)
}
