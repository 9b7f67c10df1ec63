//! [`RateLimit`], the rule both backends count by: a leaf, so that the backends and the
//! interface over them share it without importing one another.

use std::time::Duration;

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
    pub(crate) fn margin(self) -> Duration {
        (self.per / 100).max(Duration::from_millis(20))
    }

    /// How long a finished request keeps counting: the window plus the margin.
    pub(crate) fn window(self) -> Duration {
        self.per.saturating_add(self.margin())
    }
}
