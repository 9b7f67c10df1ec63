//! How a batch's status is read until Ecwid reports it completed ([`Polling`]), and how far a
//! job that polls has got ([`Progress`]): the one settings type and the one progress callback
//! that every builder which polls shares, with their setters written once
//! (`polling_options!`). A leaf: the policy here is pure; the batch module sleeps and sends.

use std::time::Duration;

use tokio::time::Instant;

use crate::settings::check_setting;

/// How a batch's status is polled: first after a short wait, then half as long again each
/// time, up to a longest wait, for at most a timeout. Every builder that runs batches takes one
/// ([`BulkRun::polling`](crate::bulk::BulkRun::polling), [`PlanSync::polling`](crate::sync::PlanSync::polling),
/// [`ApplySync::polling`](crate::sync::ApplySync::polling),
/// [`ReadCatalog::polling`](crate::catalog::ReadCatalog::polling), and the journal's drain), with the
/// `poll_interval` and `poll_timeout` shortcuts beside it. Each status read is a rate-limited
/// request.
///
/// [`Polling::default()`] reads first after 200 ms, then up to every 2 s, and leaves the timeout
/// to whoever polls, which is counted per batch from when its polling starts:
///
/// | who polls | default timeout | past it |
/// |---|---|---|
/// | a bulk run, a sync (planning and applying), a catalog read, SKU lookups | [`Polling::DEFAULT_TIMEOUT`], 10 minutes | the batch's outcome is unknown (a bulk run's or a sync's plan, resumed, learns it); a read fails |
/// | a journal drain (feature `journal`) | `journal::DEFAULT_POLL_TIMEOUT`, 2 minutes | the drain stops and leaves the run, queued at Ecwid, to the next drain |
///
/// A batch of 500 requests normally completes within seconds; ten minutes leave room for a
/// busy queue without letting a run hang forever. A drain waits less because it holds its run
/// under a lease, which must cover the poll timeout, the call's deadline and 30 s for the
/// journal's writes: with the default lease (5 minutes) and deadline (2 minutes), 2 minutes is
/// what fits, and a run left unfinished loses nothing, as the next drain reads its batch again
/// without sending it twice.
///
/// Zero durations (they would read without pause, or wait for no batch at all) and durations
/// over [`MAX_SETTING`](crate::settings::MAX_SETTING) are refused by the builder's `send`, with
/// [`Error::InvalidInput`](crate::Error::InvalidInput), before anything is sent.
///
/// ```
/// use std::time::Duration;
/// use ecwid_inventory::Polling;
///
/// let patient = Polling::default()
///     .interval(Duration::from_millis(500), Duration::from_secs(5))
///     .timeout(Duration::from_secs(30 * 60));
/// # let _ = patient;
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Polling {
    first: Duration,
    max: Duration,
    /// `None`: the default of whoever polls.
    timeout: Option<Duration>,
}

impl Default for Polling {
    fn default() -> Self {
        Self::new()
    }
}

impl Polling {
    /// How long a bulk run, a sync, a catalog read or a SKU lookup waits, by default, for Ecwid
    /// to report one batch completed: 10 minutes.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10 * 60);

    /// [`Polling::default()`]: first after 200 ms, then up to every 2 s, with the timeout of
    /// whoever polls.
    pub const fn new() -> Self {
        Self {
            first: Duration::from_millis(200),
            max: Duration::from_secs(2),
            timeout: None,
        }
    }

    /// Reads first after `first`, then half as long again each time, up to `max` (a `max`
    /// below `first` is `first`).
    pub const fn interval(mut self, first: Duration, max: Duration) -> Self {
        self.first = first;
        self.max = if max.as_nanos() < first.as_nanos() {
            first
        } else {
            max
        };
        self
    }

    /// Waits at most `timeout` for Ecwid to report one batch completed, instead of the default
    /// of whoever polls (see [`Polling`]).
    pub const fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The wait before the first status read.
    pub(crate) fn first_wait(&self) -> Duration {
        self.first
    }

    /// The timeout set, or else [`Polling::DEFAULT_TIMEOUT`].
    pub(crate) fn timeout_or_default(&self) -> Duration {
        self.timeout.unwrap_or(Self::DEFAULT_TIMEOUT)
    }

    /// The wait after `wait`: half as long again, up to `max`.
    pub(crate) fn after(&self, wait: Duration) -> Duration {
        wait.saturating_add(wait / 2).min(self.max)
    }

    /// How long to wait before the next status read, the interval being `wait`, when a read
    /// may be sent until `last` (`None`: with no end): the interval, or what is left until
    /// `last` when that is less, so that the last read goes out then rather than not at all;
    /// `None` once `last` has come, when no read may be sent.
    pub(crate) fn wait_before_read(
        wait: Duration,
        now: Instant,
        last: Option<Instant>,
    ) -> Option<Duration> {
        match last {
            None => Some(wait),
            Some(last) if now < last => Some(wait.min(last - now)),
            Some(_) => None,
        }
    }

    /// Every duration at most [`MAX_SETTING`](crate::settings::MAX_SETTING); none zero, which would read
    /// the status without pause or wait for no batch at all.
    pub(crate) fn check(&self) -> Result<(), String> {
        for (name, value) in [
            ("first poll interval", Some(self.first)),
            ("longest poll interval", Some(self.max)),
            ("poll timeout", self.timeout),
        ] {
            if let Some(value) = value {
                check_setting(name, value, false)?;
            }
        }
        Ok(())
    }
}

/// How far a job that polls has got: what it is finished with (`completed`) of all it has to
/// do (`total`). Every builder's `on_progress` is called with it; what the two count is the
/// builder's (its `on_progress` says).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// What is done.
    pub completed: usize,
    /// All there is to do, as last known.
    pub total: usize,
}

impl Progress {
    pub(crate) fn new(completed: usize, total: usize) -> Self {
        Self { completed, total }
    }
}

/// An `on_progress` callback, as every builder that polls holds it.
pub(crate) type ProgressFn<'a> = Box<dyn FnMut(&Progress) + Send + 'a>;

/// The polling setters ([`Polling`] and its shortcuts) and `on_progress` of a builder that
/// holds them in `self.polling` and `self.on_progress`. One copy for every builder that polls;
/// each gives the docs of what its timeout ends and what its progress counts.
macro_rules! polling_options {
    (
        $builder:ident,
        $(#[$timeout:meta])* poll_timeout,
        $(#[$progress:meta])* on_progress $(,)?
    ) => {
        impl<'a> $builder<'a> {
            /// How each batch's status is read, and for how long (see
            /// [`Polling`](crate::Polling), whose table gives this builder's default timeout).
            /// Replaces what [`poll_interval`](Self::poll_interval) and
            /// [`poll_timeout`](Self::poll_timeout) set.
            pub fn polling(mut self, polling: $crate::Polling) -> Self {
                self.polling = polling;
                self
            }

            /// [`Polling::interval`](crate::Polling::interval) of this builder's polling: the
            /// status is read first after `first`, then half as long again each time, up to
            /// `max` (defaults 200 ms and 2 s). Each read is a rate-limited request.
            pub fn poll_interval(mut self, first: std::time::Duration, max: std::time::Duration) -> Self {
                self.polling = self.polling.interval(first, max);
                self
            }

            /// [`Polling::timeout`](crate::Polling::timeout) of this builder's polling: how long
            /// to wait for Ecwid to report one batch completed, counted from when its polling
            /// starts.
            ///
            $(#[$timeout])*
            pub fn poll_timeout(mut self, timeout: std::time::Duration) -> Self {
                self.polling = self.polling.timeout(timeout);
                self
            }

            /// Called with the [`Progress`](crate::Progress) as the work goes.
            ///
            $(#[$progress])*
            pub fn on_progress(
                mut self,
                progress: impl FnMut(&$crate::Progress) + Send + 'a,
            ) -> Self {
                self.on_progress = Some(Box::new(progress));
                self
            }
        }
    };
}

pub(crate) use polling_options;

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// The wait before the next read: the interval while it fits before the last moment a read
    /// may be sent, what is left when that is less, and no read once that moment has come.
    #[test]
    fn the_last_read_is_timed_to_the_last_moment_one_may_be_sent() {
        let now = Instant::now();
        let cases = [
            ("no end", 500, None, Some(500)),
            ("the interval fits", 500, Some(800), Some(500)),
            ("it ends exactly then", 500, Some(500), Some(500)),
            ("less than the interval is left", 500, Some(340), Some(340)),
            ("a moment is left", 500, Some(1), Some(1)),
            ("the last moment has come", 500, Some(0), None),
        ];
        for (name, wait, last, expected) in cases {
            let last = last.map(|ms| now + ms * MS);
            assert_eq!(
                Polling::wait_before_read(wait * MS, now, last),
                expected.map(|ms| ms * MS),
                "{name}"
            );
        }
        let past = Polling::wait_before_read(500 * MS, now + 10 * MS, Some(now));
        assert_eq!(past, None, "a moment already past");
    }

    /// The defaults, the longest wait never below the first, and the timeout left to whoever
    /// polls until one is set.
    #[test]
    fn settings_and_their_defaults() {
        let polling = Polling::default();
        assert_eq!(polling, Polling::new());
        assert_eq!(
            (polling.first_wait(), polling.after(1500 * MS)),
            (200 * MS, 2000 * MS)
        );
        assert_eq!(polling.timeout_or_default(), Polling::DEFAULT_TIMEOUT);
        assert_eq!(polling.timeout(7 * MS).timeout_or_default(), 7 * MS);
        let narrow = polling.interval(300 * MS, 100 * MS);
        assert_eq!(
            (narrow.first_wait(), narrow.after(300 * MS)),
            (300 * MS, 300 * MS)
        );
        assert_eq!(narrow.after(100 * MS), 150 * MS);
    }

    #[test]
    fn zero_and_overlong_durations_are_refused_by_name() {
        assert_eq!(Polling::default().check(), Ok(()));
        let day = crate::settings::MAX_SETTING;
        for (polling, named) in [
            (
                Polling::new().interval(Duration::ZERO, MS),
                "first poll interval",
            ),
            (
                Polling::new().interval(MS, day + MS),
                "longest poll interval",
            ),
            (Polling::new().timeout(Duration::ZERO), "poll timeout"),
            (Polling::new().timeout(day + MS), "poll timeout"),
        ] {
            let why = polling.check().unwrap_err();
            assert!(
                why.starts_with(&format!("the {named}")),
                "{polling:?}: {why}"
            );
        }
    }
}
