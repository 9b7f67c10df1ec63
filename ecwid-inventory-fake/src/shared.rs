//! What the server's tasks, the batch workers and the [`FakeStore`](super::FakeStore) handle
//! share: the fixed configuration, the state behind its one lock, the signal that something
//! changed, and whether the fake was stopped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

use tokio::sync::futures::Notified;
use tokio::sync::Notify;

use super::config::Config;
use super::records::RequestId;
use super::state::State;

/// What the server tasks, the batch workers and the handle share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Config,
    state: Mutex<State>,
    /// Signalled each time the recorded requests, the ledger, the notifications or a batch change, for
    /// the `wait_*` methods.
    changed: Notify,
    /// Set when the [`FakeStore`](super::FakeStore) is dropped: work still pending then applies
    /// nothing.
    stopped: AtomicBool,
}

impl Shared {
    pub(crate) fn new(config: Config, state: State) -> Self {
        Shared {
            config,
            state: Mutex::new(state),
            changed: Notify::new(),
            stopped: AtomicBool::new(false),
        }
    }

    /// The state. A panic while it was held (a bug in the fake) must not hide every later
    /// assertion behind poisoning, so poisoning is ignored.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Marks the fake as stopped: work still pending applies nothing.
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
    }

    /// Wakes whoever waits for the records or the batches to change. Called after the change,
    /// once the lock is released.
    pub(crate) fn changed(&self) {
        self.changed.notify_waiters();
    }

    /// The next [`changed`](Self::changed), for a waiter to register before it checks.
    pub(crate) fn next_change(&self) -> Notified<'_> {
        self.changed.notified()
    }

    /// Notes in its record the status a request was answered with.
    pub(crate) fn answered(&self, id: RequestId, status: u16) {
        {
            let mut state = self.lock();
            let index = usize::try_from(id.0 - 1).expect("request ids fit in memory");
            if let Some(recorded) = state.requests.get_mut(index) {
                recorded.status = Some(status);
            }
        }
        self.changed();
    }
}
