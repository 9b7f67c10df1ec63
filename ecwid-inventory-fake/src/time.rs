//! The fake's clock, and times as Ecwid writes and reads them: a product's `updated` date, and
//! the `updatedFrom` / `updatedTo` bounds of a search (the spec's `TimeBound`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// The fake's clock: tokio's time (so a test's paused clock holds it still) plus whatever a test
/// advanced it by, read as an [`Instant`] (rate limits, deduplication keys), as UNIX seconds
/// (products' update times, webhooks' `eventCreated`) or as a [`SystemTime`] (webhook delivery
/// attempts, the time source a test's verifier reads).
#[derive(Debug)]
pub(crate) struct Clock {
    started: Instant,
    /// The system's time when the fake started.
    started_wall: SystemTime,
    /// The system's time when the fake started, in UNIX seconds.
    started_unix: i64,
    /// What [`FakeStore::advance_clock`](super::FakeStore::advance_clock) added.
    pub(crate) advanced: Duration,
}

impl Clock {
    pub(crate) fn start() -> Self {
        let started_wall = SystemTime::now();
        let since_epoch = started_wall.duration_since(UNIX_EPOCH).unwrap_or_default();
        Clock {
            started: Instant::now(),
            started_wall,
            started_unix: i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX),
            advanced: Duration::ZERO,
        }
    }

    pub(crate) fn now(&self) -> Instant {
        Instant::now() + self.advanced
    }

    /// The wall clock: the system's time at the start, moved on as tokio's time moves (so a
    /// paused clock moves it too, as it moves [`unix_seconds`](Self::unix_seconds)), plus what
    /// a test advanced it by.
    pub(crate) fn wall(&self) -> SystemTime {
        self.started_wall + self.now().saturating_duration_since(self.started)
    }

    /// Now, in whole UNIX seconds.
    pub(crate) fn unix_seconds(&self) -> i64 {
        let elapsed = self.now().saturating_duration_since(self.started);
        self.started_unix
            .saturating_add(i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX))
    }
}

const SECONDS_PER_DAY: i64 = 86_400;

/// Days since 1970-01-01 of a date in the proleptic Gregorian calendar (Howard Hinnant's
/// `days_from_civil`). A month or day out of range rolls over into the next, as Java's lenient
/// date parsing does: month 13 is January of the next year.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = year + (month - 1).div_euclid(12);
    let month = (month - 1).rem_euclid(12) + 1;
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468 + (day - 1)
}

/// The date of a day since 1970-01-01: (year, month, day).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// UNIX seconds as Ecwid writes a date, in UTC: `2014-10-15 16:54:11 +0000`.
pub(crate) fn format_date(unix: i64) -> String {
    let (days, seconds) = (
        unix.div_euclid(SECONDS_PER_DAY),
        unix.rem_euclid(SECONDS_PER_DAY),
    );
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} +0000",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// Reads a time as the spec's `TimeBound` pattern allows it: UNIX seconds, or
/// `yyyy-MM-dd[ HH:mm:ss[ ±hhmm]]` (UTC without an offset). `None` for anything else. Every
/// value the pattern allows is read (a number too large saturates, an out-of-range field rolls
/// over), so the fake refuses exactly what the spec refuses.
pub(crate) fn parse_time(text: &str) -> Option<i64> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if digits(text) {
        return Some(text.parse().unwrap_or(i64::MAX));
    }
    let mut parts = text.split(' ');
    let date = parts.next()?;
    let time = parts.next();
    let offset = parts.next();
    if parts.next().is_some() {
        return None;
    }
    // A field of exactly `len` digits (at most 4: it always fits).
    let number = |s: &str, len: usize| {
        (s.len() == len && digits(s))
            .then(|| s.parse::<i64>().ok())
            .flatten()
    };
    let [year, month, day] = fixed_parts(date, '-')?;
    let (year, month, day) = (number(year, 4)?, number(month, 2)?, number(day, 2)?);
    let mut seconds = days_from_civil(year, month, day) * SECONDS_PER_DAY;
    if let Some(time) = time {
        let [hours, minutes, secs] = fixed_parts(time, ':')?;
        seconds += number(hours, 2)? * 3600 + number(minutes, 2)? * 60 + number(secs, 2)?;
    }
    if let Some(offset) = offset {
        let (sign, hhmm) = match offset.split_at_checked(1)? {
            ("+", hhmm) => (1, hhmm),
            ("-", hhmm) => (-1, hhmm),
            _ => return None,
        };
        let hhmm = number(hhmm, 4)?;
        // Local time minus its offset is UTC.
        seconds -= sign * (hhmm / 100 * 3600 + hhmm % 100 * 60);
    }
    Some(seconds)
}

/// Exactly three parts separated by `separator`.
fn fixed_parts(text: &str, separator: char) -> Option<[&str; 3]> {
    let mut parts = text.split(separator);
    let three = [parts.next()?, parts.next()?, parts.next()?];
    parts.next().is_none().then_some(three)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_through_unix_seconds() {
        for unix in [0, 951_782_400, 1_413_392_051, 1_447_804_800, 4_102_444_799] {
            let date = format_date(unix);
            let without_offset = date.strip_suffix(" +0000").unwrap();
            assert_eq!(parse_time(without_offset), Some(unix), "{date}");
            assert_eq!(parse_time(&date), Some(unix), "{date}");
        }
        assert_eq!(format_date(0), "1970-01-01 00:00:00 +0000");
        // 2000-02-29, a leap day of a century leap year.
        assert_eq!(format_date(951_782_400), "2000-02-29 00:00:00 +0000");
        assert_eq!(format_date(1_413_392_051), "2014-10-15 16:54:11 +0000");
    }

    #[test]
    fn every_form_the_spec_allows_is_read() {
        assert_eq!(parse_time("1447804800"), Some(1_447_804_800));
        assert_eq!(parse_time("2015-11-18"), Some(1_447_804_800));
        assert_eq!(parse_time("2015-11-18 00:00:00"), Some(1_447_804_800));
        // Ecwid's docs' example: 18:48:38 at UTC-5 is 23:48:38 UTC.
        assert_eq!(
            parse_time("2023-04-22 18:48:38 -0500"),
            parse_time("2023-04-22 23:48:38")
        );
        assert_eq!(
            parse_time("2023-04-22 18:48:38 +0130"),
            parse_time("2023-04-22 17:18:38")
        );
        // Out-of-range fields roll over; huge numbers saturate.
        assert_eq!(parse_time("2015-13-01"), parse_time("2016-01-01"));
        assert_eq!(parse_time("2015-02-31"), parse_time("2015-03-03"));
        assert_eq!(parse_time("99999999999999999999999"), Some(i64::MAX));
    }

    #[test]
    fn what_the_spec_refuses_is_refused() {
        for text in [
            "",
            " ",
            "-1",
            "1.5",
            "2015-11-18 ",
            "2015-11-18T00:00:00",
            "2015-1-18",
            "2015-11-18 00:00",
            "2015-11-18 00:00:00 0500",
            "2015-11-18 00:00:00 +05:00",
            "2015-11-18 00:00:00 +0500 x",
            "yesterday",
        ] {
            assert_eq!(parse_time(text), None, "{text:?}");
        }
    }
}
