//! The one rule every duration setting obeys, wherever it is set: the client's builder, a
//! call's options, the retry policy, a batch's polling, the journal's lease. A leaf that
//! imports nothing of the crate, so that every module can call it.

use std::time::Duration;

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
