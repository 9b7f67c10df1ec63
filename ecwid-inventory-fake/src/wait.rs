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

use super::records::{LedgerEntry, RecordedRequest};
use super::FakeStore;

/// How long [`FakeStore::wait_until`], [`FakeStore::wait_for_ledger`] and
/// [`FakeStore::wait_for_requests`] wait before giving up.
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(10);

/// What a `wait_*` method of [`FakeStore`] waited for did not happen within [`WAIT_TIMEOUT`].
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

impl FakeStore {
    /// Waits until `condition`, given the fake, holds: checked now and after every change of the
    /// fake's records or batches. Fails after [`WAIT_TIMEOUT`].
    ///
    /// The timeout runs on tokio's clock: under a paused clock
    /// (`#[tokio::test(start_paused = true)]`) it elapses as soon as the runtime is idle, even
    /// while a request is on its way, so wait with a running clock.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use ecwid_inventory_fake::{demo, FakeStore};
    ///
    /// let fake = FakeStore::demo().await?;
    /// let client = fake.client_builder(demo::TOKEN).build()?;
    /// let (tee, small) = demo::SMALL_TEE;
    /// let call = tokio::spawn(async move {
    ///     client.adjust_variation_stock(tee, small, -1).send().await
    /// });
    /// fake.wait_until(|fake| fake.requests().iter().any(|r| r.status == Some(200)))
    ///     .await?;
    /// call.await??;
    /// # Ok(()) }
    /// ```
    pub async fn wait_until(
        &self,
        mut condition: impl FnMut(&FakeStore) -> bool,
    ) -> Result<(), WaitTimeout> {
        if self.wait(|| condition(self)).await {
            return Ok(());
        }
        Err(WaitTimeout {
            message: format!(
                "the fake store waited {WAIT_TIMEOUT:?} and the condition never held \
                 (requests: {} received, ledger: {} changes)",
                self.requests().len(),
                self.ledger().len()
            ),
        })
    }

    /// Waits until the ledger holds at least `n` applied changes (deltas and sets), and returns
    /// it. Fails after
    /// [`WAIT_TIMEOUT`], saying how many it holds.
    ///
    /// For a change that lands after its caller gave up (a timeout, a dropped call, a batch
    /// still running).
    pub async fn wait_for_ledger(&self, n: usize) -> Result<Vec<LedgerEntry>, WaitTimeout> {
        if self.wait(|| self.shared.lock().ledger.len() >= n).await {
            return Ok(self.ledger());
        }
        Err(WaitTimeout {
            message: format!(
                "the fake store waited {WAIT_TIMEOUT:?} for {n} applied changes; its ledger holds {}",
                self.ledger().len()
            ),
        })
    }

    /// Waits until the fake has received at least `n` requests (answered or not), and returns
    /// them, as [`requests`](FakeStore::requests) does. Fails after [`WAIT_TIMEOUT`], saying how many it holds.
    pub async fn wait_for_requests(&self, n: usize) -> Result<Vec<RecordedRequest>, WaitTimeout> {
        if self.wait(|| self.shared.lock().requests.len() >= n).await {
            return Ok(self.requests());
        }
        Err(WaitTimeout {
            message: format!(
                "the fake store waited {WAIT_TIMEOUT:?} for {n} requests; it has received {}",
                self.requests().len()
            ),
        })
    }

    /// Waits until every batch received so far has completed. Never returns while batches
    /// are paused with some queued.
    pub async fn batches_settled(&self) {
        self.wait_forever(|| self.shared.lock().batches.settled())
            .await;
    }

    /// Whether `ready` held within [`WAIT_TIMEOUT`].
    async fn wait(&self, ready: impl FnMut() -> bool) -> bool {
        tokio::time::timeout(WAIT_TIMEOUT, self.wait_forever(ready))
            .await
            .is_ok()
    }

    async fn wait_forever(&self, mut ready: impl FnMut() -> bool) {
        loop {
            let changed = self.shared.next_change();
            tokio::pin!(changed);
            // Registered before checking, so a change in between still wakes us.
            changed.as_mut().enable();
            if ready() {
                return;
            }
            changed.await;
        }
    }
}
