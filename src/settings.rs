//! The client's settings: their defaults (what [`ClientBuilder`](crate::ClientBuilder) uses
//! when a setter is not called) and the one rule every duration setting obeys, wherever it is
//! set: the client's builder, a call's options, the retry policy, a batch's polling, the
//! journal's lease. A leaf that imports nothing of the crate, so that every module can call it.
//!
//! ```
//! use ecwid_inventory::settings::{DEFAULT_DEADLINE, DEFAULT_TIMEOUT, MAX_SETTING};
//!
//! assert!(DEFAULT_TIMEOUT < DEFAULT_DEADLINE && DEFAULT_DEADLINE <= MAX_SETTING);
//! ```

use std::time::Duration;

/// Ecwid's API root.
pub const DEFAULT_BASE_URL: &str = "https://app.ecwid.com/api/v3";
/// Default limit for establishing a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default limit for one attempt, from sending the request to reading the whole answer.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default limit for a whole call: waiting for the rate limiter, every attempt and every wait
/// between attempts.
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(120);

/// Default least time an attempt is given: a request is sent only while at least this much of
/// the call's deadline is left (never more than the attempt timeout or half the deadline).
pub const DEFAULT_MIN_ATTEMPT_TIME: Duration = Duration::from_secs(1);

/// The longest duration any setting accepts (timeouts, deadline, rate-limit window, retry
/// waits, bulk polling): one day. Longer ones are refused before anything is sent.
pub const MAX_SETTING: Duration = Duration::from_secs(24 * 60 * 60);

/// Checks a duration setting: at most [`MAX_SETTING`], and not zero unless `zero_ok`.
pub(crate) fn check_setting(name: &str, value: Duration, zero_ok: bool) -> Result<(), String> {
    if value.is_zero() && !zero_ok {
        return Err(format!("the {name} must not be zero"));
    }
    if value > MAX_SETTING {
        return Err(format!(
            "the {name} ({value:?}) is longer than the longest accepted, {} hours",
            MAX_SETTING.as_secs() / 3600
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setting_is_at_most_a_day_and_zero_only_where_allowed() {
        let nanosecond = Duration::from_nanos(1);
        for (value, zero_ok, accepted) in [
            (Duration::ZERO, false, false),
            (Duration::ZERO, true, true),
            (nanosecond, false, true),
            (MAX_SETTING, false, true),
            (MAX_SETTING + nanosecond, false, false),
            (MAX_SETTING + nanosecond, true, false),
        ] {
            let checked = check_setting("poll timeout", value, zero_ok);
            assert_eq!(checked.is_ok(), accepted, "{value:?}, zero_ok {zero_ok}");
            if let Err(message) = checked {
                assert!(message.contains("the poll timeout"), "{message}");
            }
        }
    }
}
