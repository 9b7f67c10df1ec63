//! Waiting for the fake: until its records show what a test expects, or its batches are done,
//! for work that lands after its caller returned (a call that timed out while the change still
//! landed, a dropped call, a batch run in the background).
//!
//! [`FakeStore::wait_for_ledger`](crate::FakeStore::wait_for_ledger),
//! [`FakeStore::wait_for_requests`](crate::FakeStore::wait_for_requests) and
//! [`FakeStore::wait_until`](crate::FakeStore::wait_until) give up after [`WAIT_TIMEOUT`] with a
//! [`WaitTimeout`] that says what the fake holds;
//! [`FakeStore::batches_settled`](crate::FakeStore::batches_settled) waits for every batch.
//! Each wait checks, then sleeps until the fake signals a change (a request received or
//! answered, a delta applied, a batch item run), then checks again: no polling interval to tune,
//! and no sleep in the test.

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

/// How long [`FakeStore::wait_until`](crate::FakeStore::wait_until),
/// [`FakeStore::wait_for_ledger`](crate::FakeStore::wait_for_ledger) and
/// [`FakeStore::wait_for_requests`](crate::FakeStore::wait_for_requests) wait before giving up.
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(10);

/// What a `wait_*` method of [`FakeStore`](crate::FakeStore) waited for did not happen within [`WAIT_TIMEOUT`].
/// Its message says what was awaited and what the fake holds.
#[derive(Clone, PartialEq, Eq)]
pub struct WaitTimeout {
    message: String,
}

impl fmt::Display for WaitTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

// `.unwrap()` prints Debug: the same clear message, not a struct.
impl fmt::Debug for WaitTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for WaitTimeout {}

impl WaitTimeout {
    pub(crate) fn new(message: String) -> Self {
        Self { message }
    }
}
