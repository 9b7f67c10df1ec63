//! Recording verified events: each call returns once its event is committed, and calls made at
//! the same time share one commit (group commit), so that a receiver answering many
//! deliveries at once pays for one disk flush per group, not one per delivery.
//!
//! The first caller to find no group being written starts a writer task; while it commits a
//! group, the calls that arrive queue up and go together in its next one. The writer is a task
//! of its own, not the first caller's future: a caller whose delivery was dropped (Ecwid hung
//! up) leaves the others' recordings to finish. Each caller waits for its own answer, and its
//! event is durable when it gets `Ok`. The mechanism is the journal's own
//! (`journal::group::GroupCommit`, with its rules for a failed group): one place for it.

use std::sync::Arc;

use super::{dispatch::on_backend, store::NewEvent};
use crate::{
    journal::{group::GroupCommit, Journal},
    Error,
};

/// The most events one commit takes; more wait for the next.
const MAX_GROUP: usize = 500;

/// The group commit of recorded events, shared by a [`Sales`](super::Sales) and its clones.
#[derive(Clone)]
pub(super) struct Recorder {
    group: Arc<GroupCommit<NewEvent, bool>>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            // One writer: the tables' unique keys decide which of two concurrent groups holding
            // the same event records it, and one writer keeps that within one transaction.
            group: GroupCommit::new(MAX_GROUP, 1),
        }
    }
}

impl Recorder {
    /// Records `event`, in a commit shared with the events recorded at the same time; `true`
    /// when it is new, `false` when its `(store, event id)` was already there.
    pub(super) async fn record(&self, journal: &Journal, event: NewEvent) -> Result<bool, Error> {
        let writer = journal.clone();
        let store = move |events: Arc<[NewEvent]>| {
            let journal = writer.clone();
            async move {
                let now = journal.now()?;
                on_backend!(journal, record_events(events, now))
            }
        };
        match self.group.commit(event, store).await {
            Some(answer) => Ok(answer?),
            None => Err(Error::Journal {
                database: journal.endpoint(),
                operation: "record webhook events".into(),
                reason: "the task writing the events stopped before answering".into(),
            }),
        }
    }
}

/// What [`Sales::record`](super::Sales::record) did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Recorded {
    /// The event is new, and now on disk.
    New,
    /// An event of the same store and id was recorded before (Ecwid delivered it again, or
    /// someone replays it): nothing changed.
    Duplicate,
}

impl Recorded {
    /// Whether the event was new.
    pub fn is_new(self) -> bool {
        self == Recorded::New
    }
}
