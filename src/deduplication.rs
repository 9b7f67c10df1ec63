//! Deduplication keys, the one thing that makes a create safe to send again: how long Ecwid
//! surely remembers one ([`KEY_WINDOW`]), how a call chooses its key ([`Once`]: a fresh one, or
//! one derived from the caller's own id, [`CallerKey`]), and the UUID Ecwid gets. A leaf, so
//! that single calls, sets and bulk plans derive their keys the same way without importing
//! one another.

use std::{
    num::NonZeroU64,
    time::{Duration, SystemTime},
};

use crate::Error;

/// How long a deduplication key is surely remembered: Ecwid keeps it an hour from the first
/// create; five minutes are kept spare for clock differences and the create's own time. No
/// create is sent, or sent again, under a key older than this.
pub const KEY_WINDOW: Duration = Duration::from_secs(55 * 60);

/// How a single call is sent: directly, or exactly once as a one-item batch under a fresh key
/// or a key derived from the caller's own id.
#[derive(Clone, Debug, Default)]
pub(crate) enum Once {
    #[default]
    No,
    /// A fresh key: retried safely within the call.
    Fresh,
    /// A key from the caller's id: safe across calls and processes within the key's window.
    Keyed(CallerKey),
}

impl Once {
    /// `.exactly_once()`: a fresh key, unless the call already has the caller's.
    pub(crate) fn fresh(self) -> Self {
        match self {
            Once::Keyed(key) => Once::Keyed(key),
            _ => Once::Fresh,
        }
    }
}

/// A caller's key for an exactly-once call: its own id for the change (an order line, an
/// event), and when the change was first attempted under it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CallerKey {
    key: String,
    first_attempt: SystemTime,
}

impl CallerKey {
    pub(crate) fn new(key: String, first_attempt: SystemTime) -> Self {
        Self { key, first_attempt }
    }

    /// The deduplication key Ecwid gets: a UUID (v5) of the store and the caller's key, so the
    /// same key sent again, by any process, is the same to Ecwid, and another store's is not.
    pub(crate) fn deduplication_key(&self, store: NonZeroU64) -> Result<String, Error> {
        check_caller_key(&self.key)?;
        Ok(deduplication_key(store, &self.key))
    }

    /// What is left of the key's window at `now`, measured from its first attempt; an error,
    /// sending nothing, when none is.
    pub(crate) fn window_left(&self, now: SystemTime) -> Result<Duration, Error> {
        let age = now.duration_since(self.first_attempt).unwrap_or_default();
        KEY_WINDOW
            .checked_sub(age)
            .filter(|left| !left.is_zero())
            .ok_or(Error::KeyExpired {
                age,
                window: KEY_WINDOW,
            })
    }
}

/// A caller's key: not empty, at most 1,000 bytes.
pub(crate) fn check_caller_key(key: &str) -> Result<(), Error> {
    if key.is_empty() || key.len() > 1000 {
        return Err(Error::InvalidInput(format!(
            "an exactly-once key must be 1 to 1000 bytes long, not {}",
            key.len()
        )));
    }
    Ok(())
}

/// The UUID (v5) Ecwid gets as the deduplication key for `name`, a caller's key (or keys) in
/// `store`.
pub(crate) fn deduplication_key(store: NonZeroU64, name: &str) -> String {
    let namespace = uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_URL,
        b"https://docs.rs/ecwid-inventory/deduplication-key",
    );
    uuid::Uuid::new_v5(&namespace, format!("{store}/{name}").as_bytes()).to_string()
}
