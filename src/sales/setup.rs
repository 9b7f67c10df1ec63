//! [`Sales`] and its settings: what every part of the module works through (the journal, the
//! policy, the retries of failed reads, the group commit).

use std::{
    sync::Arc,
    time::{Duration, SystemTime},
};

use super::{record::Recorder, StockPolicy};
use crate::{journal::Journal, settings::MAX_SETTING, Error};

/// Failed order reads allowed per event by default before it ends `failed`: 12.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 12;

/// The wait after an event's first failed read, by default; it doubles with each failure.
pub const DEFAULT_RETRY_DELAY: Duration = Duration::from_secs(60);

/// The longest wait between two reads of an event's order, by default.
pub const DEFAULT_MAX_RETRY_DELAY: Duration = Duration::from_secs(60 * 60);

/// Ecwid's sales in the journal's database: recorded webhook events, the counts of each order
/// line, and the log of movements. Cheap to clone: clones share the database and the group
/// commit. See the [module docs](super).
#[derive(Clone)]
pub struct Sales {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) journal: Journal,
    pub(super) policy: StockPolicy,
    pub(super) max_attempts: u32,
    /// The wait after the first failed read, and the longest.
    pub(super) retry_delay: (Duration, Duration),
    pub(super) recorder: Recorder,
}

impl std::fmt::Debug for Sales {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sales")
            .field("journal", &self.inner.journal)
            .field("policy", &self.inner.policy)
            .field("max_attempts", &self.inner.max_attempts)
            .finish_non_exhaustive()
    }
}

/// Settings of a [`Sales`]; made by [`Sales::builder`].
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until built"]
pub struct SalesBuilder {
    policy: StockPolicy,
    max_attempts: u32,
    retry_delay: (Duration, Duration),
}

impl SalesBuilder {
    /// Which order states hold stock ([`StockPolicy::default`], Ecwid's own, by default).
    pub fn policy(mut self, policy: StockPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Failed reads of an event's order allowed before the event ends `failed`
    /// ([`DEFAULT_MAX_ATTEMPTS`] by default; 1 or more).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// The wait after an event's first failed read, and the longest (it doubles in between):
    /// [`DEFAULT_RETRY_DELAY`] and [`DEFAULT_MAX_RETRY_DELAY`] by default.
    pub fn retry_delay(mut self, first: Duration, max: Duration) -> Self {
        self.retry_delay = (first, max);
        self
    }

    /// The sales of `journal`'s database (whose tables the journal created when it was
    /// opened). Fails with [`Error::Config`] for a setting out of range.
    pub fn build(self, journal: Journal) -> Result<Sales, Error> {
        if self.max_attempts == 0 {
            return Err(Error::Config(
                "an event must be allowed at least one read".into(),
            ));
        }
        check_retry_delay(self.retry_delay.0, self.retry_delay.1)?;
        Ok(Sales {
            inner: Arc::new(Inner {
                journal,
                policy: self.policy,
                max_attempts: self.max_attempts,
                retry_delay: self.retry_delay,
                recorder: Recorder::default(),
            }),
        })
    }
}

/// An id as a database column: the crate's ids are below 2^63.
pub(super) fn column(id: u64, what: &str) -> Result<i64, Error> {
    i64::try_from(id).map_err(|_| Error::InvalidInput(format!("the {what} {id} is too large")))
}

/// Milliseconds since the Unix epoch as a time.
pub(super) fn time_of(ms: i64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

impl Sales {
    /// The sales of `journal`'s database, with the default settings.
    pub fn new(journal: Journal) -> Sales {
        Self::builder()
            .build(journal)
            .expect("the default settings are valid")
    }

    /// Settings other than the defaults: the stock policy, retries of failed reads.
    pub fn builder() -> SalesBuilder {
        SalesBuilder {
            policy: StockPolicy::default(),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            retry_delay: (DEFAULT_RETRY_DELAY, DEFAULT_MAX_RETRY_DELAY),
        }
    }

    /// The policy orders are reconciled with.
    pub fn policy(&self) -> &StockPolicy {
        &self.inner.policy
    }

    /// The journal whose database holds the sales.
    pub fn journal(&self) -> &Journal {
        &self.inner.journal
    }
}

/// Checks a retry setting: above zero, and its longest between its first and
/// [`MAX_SETTING`].
fn check_retry_delay(first: Duration, max: Duration) -> Result<(), Error> {
    if first.is_zero() || max < first || max > MAX_SETTING {
        return Err(Error::Config(format!(
            "a retry delay must start above zero and end between its start and \
             {MAX_SETTING:?}, not {first:?} to {max:?}"
        )));
    }
    Ok(())
}
