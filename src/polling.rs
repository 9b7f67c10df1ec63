//! How a batch's status is read until Ecwid reports it completed ([`Polling`]), and how far a
//! job that polls has got ([`Progress`]): the one settings type and the one progress callback
//! that every builder which polls shares, with their setters written once
//! (`polling_options!`). When each read of one batch goes out is [`Schedule`]'s to say, from
//! the settings and, for a job that runs batches one after another, from what its [`Pace`]
//! learned of the batch before. A leaf: the policy here is pure; the batch module sleeps and
//! sends.

use std::time::Duration;

use tokio::time::Instant;

use crate::settings::check_setting;

/// How a batch's status is polled: first after a short wait, then half as long again each
/// time, up to a longest wait, for at most a timeout; a batch of reads is read later when its
/// pace says it is not done yet (in a catalog read, each batch after the first is read first
/// when the one before had completed: [`Polling::adaptive`]). Every builder that runs batches
/// takes one
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
    /// Whether a job's batches after its first are read first when the one before completed.
    adaptive: bool,
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
    /// whoever polls, [adaptive](Polling::adaptive).
    pub const fn new() -> Self {
        Self {
            first: Duration::from_millis(200),
            max: Duration::from_secs(2),
            timeout: None,
            adaptive: true,
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

    /// Whether a batch's status reads are timed by what is known of its pace (on by
    /// default), never more often than on the usual schedule (the first interval, then half
    /// as long again each time, up to the longest):
    ///
    /// - A job that runs its batches one after another (a catalog read) reads each batch
    ///   after its first when the batch before had been found completed, counted from the
    ///   ticket: a sixteenth sooner when that one was found at its first read (it may have
    ///   taken less than that read could tell), less in proportion when this batch carries
    ///   fewer requests, and at least every longest interval until then.
    /// - A read that finds a batch not yet completed but some of its requests done
    ///   (`completedRequests` of `totalRequests`) is followed by one when, at that pace, the
    ///   batch will have completed, when that is later than the usual schedule's next read.
    ///
    /// Off, every batch is read on the usual schedule.
    ///
    /// A status read that finds a batch not yet completed is a rate-limited request spent on
    /// nothing, and batches of the same size take about as long: on, a catalog batch that
    /// takes about as long as the one before costs one status read, where the usual schedule
    /// costs two to four (`benches/README.md` has the figures: a 1,000,000-product snapshot
    /// against the fake, 35 status reads for its 20 batches instead of 60 to 69). A batch
    /// slower than expected costs a read or two more, and the next expects as long; a faster
    /// one is found at most a longest interval after it completed, as on the usual schedule,
    /// and a run of faster ones is followed a sixteenth a batch. The timeout counts from each batch's ticket either way,
    /// its last read at the timeout.
    ///
    /// Who learns: the pace of the batch before, a catalog read
    /// ([`Client::catalog_stock`](crate::Client::catalog_stock)) and so a sync's planning,
    /// which reads the catalog through it; a read in progress, every batch of reads (the
    /// catalog's, and a sync's lookups). A bulk run, a sync's applying and a journal's drain
    /// read their batches of changes on the usual schedule, as with it off.
    ///
    /// ```
    /// use ecwid_inventory::Polling;
    ///
    /// // Every batch read from 200 ms on, whatever the batch before took.
    /// let fixed = Polling::default().adaptive(false);
    /// # let _ = fixed;
    /// ```
    pub const fn adaptive(mut self, adaptive: bool) -> Self {
        self.adaptive = adaptive;
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

/// When the status reads of one batch go out, from when its ticket came: on the usual schedule
/// (the first interval, then half as long again each time, up to the longest), or, when the
/// batch is expected to have completed at some time (from what the batch before took, see
/// [`Pace`], or from how far a read found it, see [`Schedule::in_progress`]), then, with
/// reads at least every longest interval until then. Each wait is at least the usual
/// schedule's for that read, so a batch is never read more often than on the usual schedule;
/// and never past the polling's timeout: the last read is at it, and then no more.
#[derive(Clone, Debug)]
pub(crate) struct Schedule {
    polling: Polling,
    started: Instant,
    /// The last moment a read may be sent; `None` when the timeout is too long to be reached.
    last: Option<Instant>,
    /// How long after `started` the batch is expected to have completed, until a read has
    /// gone out at or after that time.
    expected: Option<Duration>,
    /// The usual schedule's interval before the next read.
    wait: Duration,
    /// The requests the batch carries, for its [`Pace`] to learn from.
    requests: usize,
    /// The reads sent so far.
    reads: u32,
}

impl Schedule {
    /// The reads of a batch on the usual schedule, whatever the polling's
    /// [adaptive](Polling::adaptive) says: a batch of changes, whose pace nothing learns.
    pub(crate) fn usual(polling: Polling, started: Instant) -> Self {
        Self::new(polling, 0, None, started)
    }

    /// The reads of a batch of `requests` requests whose ticket came at `started`, expected to
    /// have completed `expected` later (`None`: nothing is expected, the usual schedule).
    pub(crate) fn new(
        polling: Polling,
        requests: usize,
        expected: Option<Duration>,
        started: Instant,
    ) -> Self {
        Self {
            polling,
            started,
            last: started.checked_add(polling.timeout_or_default()),
            expected: expected.filter(|_| polling.adaptive),
            wait: polling.first,
            requests,
            reads: 0,
        }
    }

    /// How long to wait, from `now`, before the next read: the usual schedule's next
    /// interval, or longer, until the expected time, when that is further off (but at most
    /// the longest interval, reading on the way). Cut to what is left until the last moment a
    /// read may be sent; `None` once that moment has come, when no read may be sent.
    pub(crate) fn next_pause(&mut self, now: Instant) -> Option<Duration> {
        let usual = self.wait;
        self.wait = self.polling.after(usual);
        let pause = match self.expected.take() {
            None => usual,
            Some(expected) => {
                let left = expected.saturating_sub(now.saturating_duration_since(self.started));
                if left > self.polling.max {
                    self.expected = Some(expected);
                    self.polling.max
                } else {
                    left.max(usual)
                }
            }
        };
        let pause = Polling::wait_before_read(pause, now, self.last)?;
        self.reads = self.reads.saturating_add(1);
        Some(pause)
    }

    /// Learns from the read sent at `sent`, which found the batch not yet completed, with
    /// `completed` of its `total` requests done: at that pace, when it will have completed.
    /// Counted from the ticket, so time the batch spent queued makes the guess late, not
    /// early. Nothing done yet says nothing: the usual schedule goes on.
    pub(crate) fn in_progress(&mut self, sent: Instant, completed: u64, total: u64) {
        if !self.polling.adaptive || completed == 0 || completed >= total {
            return;
        }
        let elapsed = sent.saturating_duration_since(self.started).as_nanos();
        let nanos = elapsed * u128::from(total) / u128::from(completed);
        self.expected = Some(Duration::from_nanos(
            u64::try_from(nanos).unwrap_or(u64::MAX),
        ));
    }
}

/// What a job that runs batches one after another has learned of their pace: how long its
/// last batch took, from its ticket to the status read that found it completed, and how many
/// requests it carried. The next batch's [`Schedule`] expects as long, or less in proportion
/// when it carries fewer requests (the last, short batch of a catalog), when the polling is
/// [adaptive](Polling::adaptive).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pace {
    polling: Polling,
    /// What the last batch took, and its requests.
    last: Option<(Duration, usize)>,
}

impl Pace {
    /// Nothing learned yet: the first batch is read on the usual schedule.
    pub(crate) fn new(polling: Polling) -> Self {
        Self {
            polling,
            last: None,
        }
    }

    /// The settings it paces.
    pub(crate) fn polling(&self) -> Polling {
        self.polling
    }

    /// The reads of the next batch, of `requests` requests, whose ticket came at `started`.
    pub(crate) fn schedule(&self, requests: usize, started: Instant) -> Schedule {
        let expected = self.last.map(|(took, before)| {
            if requests >= before {
                return took;
            }
            // Fewer requests than the batch before: less time, in proportion.
            let nanos = took.as_nanos() * requests as u128 / before.max(1) as u128;
            Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
        });
        Schedule::new(self.polling, requests, expected, started)
    }

    /// Learns from a batch read on `schedule` that the read sent at `sent` found completed:
    /// it took that long, or, found at its first read, maybe less, by how much no read can
    /// tell: the next batch is then read a sixteenth sooner, so that the pace follows batches
    /// that got faster (or a slow one that has passed) at the cost of a read now and then.
    pub(crate) fn completed(&mut self, schedule: &Schedule, sent: Instant) {
        let mut took = sent.saturating_duration_since(schedule.started);
        if schedule.reads <= 1 {
            took -= took / 16;
        }
        self.last = Some((took, schedule.requests));
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

    /// The pauses of a schedule's reads, each read taking `latency`, until it gives none (at
    /// most `reads`).
    fn pauses(mut schedule: Schedule, latency: Duration, reads: usize) -> Vec<u128> {
        let mut now = schedule.started;
        let mut pauses = Vec::new();
        while let Some(pause) = schedule.next_pause(now).filter(|_| pauses.len() < reads) {
            pauses.push(pause.as_millis());
            now += pause + latency;
        }
        pauses
    }

    /// Without an expected time, the usual schedule; with one, the first read then (never
    /// sooner than the usual schedule's), on the way every longest interval when it is
    /// further off, and the usual schedule after it. Always cut at the timeout.
    #[test]
    fn a_batch_is_read_first_when_it_is_expected_to_have_completed() {
        let polling = Polling::new().timeout(Duration::from_secs(8));
        let start = Instant::now();
        let ms = |ms: u32| Some(MS * ms);
        let cases: [(&str, Option<Duration>, Duration, &[u128]); 6] = [
            (
                "nothing expected",
                None,
                Duration::ZERO,
                &[200, 300, 450, 675, 1012, 1518, 2000],
            ),
            (
                "expected at 700 ms",
                ms(700),
                Duration::ZERO,
                &[700, 300, 450, 675, 1012, 1518],
            ),
            (
                "reads that take 50 ms",
                ms(700),
                50 * MS,
                &[700, 300, 450, 675, 1012],
            ),
            (
                "sooner than the first interval",
                ms(80),
                Duration::ZERO,
                &[200, 300, 450],
            ),
            (
                "further off than the longest",
                ms(5000),
                Duration::ZERO,
                &[2000, 2000, 1000, 675, 1012],
            ),
            (
                "counted from the ticket",
                ms(5000),
                100 * MS,
                &[2000, 2000, 800, 675],
            ),
        ];
        for (name, expected, latency, reads) in cases {
            let schedule = Schedule::new(polling, 500, expected, start);
            assert_eq!(pauses(schedule, latency, reads.len()), reads, "{name}");
            let fixed = Schedule::new(polling.adaptive(false), 500, expected, start);
            assert_eq!(
                pauses(fixed, latency, 7),
                [200, 300, 450, 675, 1012, 1518, 2000],
                "{name}, not adaptive"
            );
        }
        let schedule = Schedule::new(polling, 500, ms(20_000), start);
        assert_eq!(
            pauses(schedule, Duration::ZERO, 100),
            [2000, 2000, 2000, 2000],
            "the last read at the timeout, then none"
        );
        let short = Polling::new().timeout(1000 * MS);
        let schedule = Schedule::new(short, 500, ms(5000), start);
        assert_eq!(
            pauses(schedule, Duration::ZERO, 100),
            [1000],
            "cut at the timeout"
        );
    }

    /// A read that finds the batch in progress tells when it will have completed at that
    /// pace, counted from the ticket: the next read goes out then, never sooner than the usual
    /// schedule's next one. Nothing done, or not adaptive: the usual schedule.
    #[test]
    fn a_batch_found_in_progress_is_read_again_when_its_pace_says_it_completes() {
        let start = Instant::now();
        let cases = [
            ("a fifth done at 200 ms", true, 100, vec![200, 800, 450]),
            ("all but one done", true, 499, vec![200, 300, 450]),
            ("nothing done yet", true, 0, vec![200, 300, 450]),
            ("not adaptive", false, 100, vec![200, 300, 450]),
        ];
        for (name, adaptive, completed, reads) in cases {
            let mut schedule = Schedule::new(Polling::new().adaptive(adaptive), 500, None, start);
            let mut now = start;
            let mut pauses = Vec::new();
            for _ in 0..3 {
                let pause = schedule.next_pause(now).unwrap();
                pauses.push(pause.as_millis());
                now += pause;
                if pauses.len() == 1 {
                    schedule.in_progress(now, completed, 500);
                }
            }
            assert_eq!(pauses, reads, "{name}");
        }
    }

    /// Runs one batch of `requests` requests on `pace`, found completed by the first read at
    /// or after `completes` (no read tells its progress): the pauses before its reads.
    fn batch(pace: &mut Pace, requests: usize, completes: u32) -> Vec<u128> {
        let start = Instant::now();
        let mut schedule = pace.schedule(requests, start);
        let (mut now, mut pauses) = (start, Vec::new());
        while pauses.len() < 20 {
            let pause = schedule.next_pause(now).expect("within the timeout");
            pauses.push(pause.as_millis());
            now += pause;
            if now - start >= MS * completes {
                pace.completed(&schedule, now);
                break;
            }
        }
        pauses
    }

    /// A pace learns what each batch took, from its ticket to the read that found it
    /// completed, and the next batch is first read then: a sixteenth sooner when that batch
    /// was found at its first read (it may have taken less), sooner in proportion for a batch
    /// of fewer requests (never sooner than the first interval); not adaptive, always on the
    /// usual schedule.
    #[test]
    fn a_pace_expects_what_the_batch_before_took() {
        let mut pace = Pace::new(Polling::new());
        let learned = [
            (500, 640, vec![200, 300, 450]),
            (500, 640, vec![950]),
            (500, 640, vec![890]),
            (500, 900, vec![834, 300]),
            (500, 900, vec![1134]),
            (250, 100, vec![532]),
            (500, 400, vec![498]),
            (2, 10, vec![200]),
        ];
        for (n, (requests, completes, pauses)) in learned.into_iter().enumerate() {
            assert_eq!(batch(&mut pace, requests, completes), pauses, "batch {n}");
        }
        let mut fixed = Pace::new(Polling::new().adaptive(false));
        for _ in 0..3 {
            assert_eq!(batch(&mut fixed, 500, 640), [200, 300, 450]);
        }
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
