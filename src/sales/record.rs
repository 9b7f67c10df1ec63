//! Recording verified events: each call returns once its event is committed, and calls made at
//! the same time share one commit (group commit), so that a receiver answering many
//! deliveries at once pays for one disk flush per group, not one per delivery.
//!
//! The first caller to find no group being written starts a writer task; while it commits a
//! group, the calls that arrive queue up and go together in its next one. The writer is a task
//! of its own, not the first caller's future: a caller whose delivery was dropped (Ecwid hung
//! up) leaves the others' recordings to finish. Each caller waits for its own answer, and its
//! event is durable when it gets `Ok`.

use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use super::{dispatch::on_backend, store::NewEvent};
use crate::{journal::Journal, Error};

/// The most events one commit takes; more wait for the next.
const MAX_GROUP: usize = 500;

type Answer = oneshot::Sender<Result<bool, Error>>;

#[derive(Default)]
struct Queue {
    pending: Vec<(NewEvent, Answer)>,
    /// Whether a writer task is running; it ends once it finds the queue empty.
    writing: bool,
}

/// The group commit of recorded events, shared by a [`Sales`](super::Sales) and its clones.
#[derive(Clone, Default)]
pub(super) struct Recorder {
    queue: Arc<Mutex<Queue>>,
}

impl Recorder {
    /// Records `event`, in a commit shared with the events recorded at the same time; `true`
    /// when it is new, `false` when its `(store, event id)` was already there.
    pub(super) async fn record(&self, journal: &Journal, event: NewEvent) -> Result<bool, Error> {
        let (answer, answered) = oneshot::channel();
        let start = {
            let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            queue.pending.push((event, answer));
            !std::mem::replace(&mut queue.writing, true)
        };
        if start {
            tokio::spawn(write(journal.clone(), self.queue.clone()));
        }
        answered.await.unwrap_or_else(|_| {
            Err(Error::Journal {
                database: journal_endpoint(journal),
                operation: "record webhook events".into(),
                reason: "the task writing the events stopped before answering".into(),
            })
        })
    }
}

fn journal_endpoint(journal: &Journal) -> String {
    journal.endpoint()
}

/// Marks the writer stopped however it ends, a panic included, so that the next call starts
/// another.
struct Stopped(Arc<Mutex<Queue>>);

impl Drop for Stopped {
    fn drop(&mut self) {
        let mut queue = self.0.lock().unwrap_or_else(|e| e.into_inner());
        queue.writing = false;
    }
}

/// Commits the queue, a group at a time, until it is empty.
async fn write(journal: Journal, queue: Arc<Mutex<Queue>>) {
    let stopped = Stopped(queue.clone());
    loop {
        let group: Vec<(NewEvent, Answer)> = {
            let mut queue = queue.lock().unwrap_or_else(|e| e.into_inner());
            if queue.pending.is_empty() {
                // Marked stopped under the same lock that found it empty: a call queued after
                // this starts a writer of its own.
                queue.writing = false;
                std::mem::forget(stopped);
                return;
            }
            let take = queue.pending.len().min(MAX_GROUP);
            queue.pending.drain(..take).collect()
        };
        let (events, answers): (Vec<NewEvent>, Vec<Answer>) = group.into_iter().unzip();
        let written = match journal.now() {
            Ok(now) => on_backend!(journal, record_events(events, now)).map_err(Error::from),
            Err(e) => Err(Error::from(e)),
        };
        match written {
            Ok(inserted) => {
                for (answer, new) in answers.into_iter().zip(inserted) {
                    let _ = answer.send(Ok(new));
                }
            }
            Err(error) => {
                for answer in answers {
                    let _ = answer.send(Err(same_error(&error)));
                }
            }
        }
    }
}

/// The same failure for each caller of a group (`Error` is not `Clone`).
fn same_error(error: &Error) -> Error {
    match error {
        Error::InvalidInput(why) => Error::InvalidInput(why.clone()),
        Error::Journal {
            database,
            operation,
            reason,
        } => Error::Journal {
            database: database.clone(),
            operation: operation.clone(),
            reason: reason.clone(),
        },
        other => Error::Journal {
            database: String::new(),
            operation: "record webhook events".into(),
            reason: other.to_string(),
        },
    }
}
