//! Group commit: concurrent [`Journal::record`](super::Journal::record) calls share one durable
//! transaction, so that a disk's fsyncs a second bound groups a second, not events.
//!
//! Each call joins a queue. The first to find no commit under way starts a *committer*, a task
//! of its own that takes everyone waiting (up to the journal's group size), stores them in one
//! transaction, answers each of them once the commit is on disk, and goes on with whoever
//! arrived meanwhile until nobody waits; then it ends. Nobody is answered before the commit
//! that holds their event returned.
//!
//! A group's transaction that fails keeps none of its events. When the database refused it (a
//! constraint, a trigger, a value it cannot store: possibly one event's fault), the group is
//! split in halves and each tried again, down to single events, so a refused event fails alone
//! and the others are recorded. Any other failure (the database unreachable, shut down, out of
//! space) answers every member with it: nobody is told "recorded" for an event that is not.
//! The sales module records webhook events through the same [`GroupCommit`].
//!
//! Why a committer started on demand, rather than the first caller committing in its own
//! future (leader and followers) or a writer that lives as long as the journal: the commit runs
//! apart from the caller that started it, so a caller that stops waiting (a timeout, a
//! `select!`) never abandons the others' group halfway; and nothing runs while nobody records,
//! so a journal needs no shutdown and works on any runtime. A committer stopped before it
//! finished (its runtime shutting down) fails those it had not answered, and the next caller
//! starts another.
//!
//! Within one transaction, an id that appears twice (the same event delivered twice at once)
//! is inserted once: the first in arrival order is new, the others are told what it stored,
//! exactly as if they had come one after the other. Several processes group their own callers;
//! their transactions queue for SQLite's write lock, or meet in PostgreSQL's unique index as
//! single inserts do.

use std::{
    collections::HashMap,
    future::Future,
    sync::{Arc, Mutex, MutexGuard},
};

use tokio::sync::oneshot;

use super::{
    error::JournalError,
    event::{EventRow, NewEvent},
    EventState,
};

/// The most events one transaction of concurrent [`record`](super::Journal::record) calls
/// holds, and the default group size ([`JournalBuilder::group_commit`](super::JournalBuilder::group_commit)):
/// 1,000.
///
/// A group's transaction holds SQLite's write lock (other processes' writes, a drain's among
/// them, wait for it) and one PostgreSQL connection for as long as it takes, about a
/// millisecond per hundred events; and a failed commit fails every event of it. At 1,000
/// events a transaction the disk's fsync is no longer what bounds recording, so larger groups
/// would only make those waits longer. More callers at once are served by consecutive
/// groups.
pub const MAX_GROUP: usize = 1000;

/// An event checked and on its way in, with when it arrived (the journal's clock, in ms).
#[derive(Clone, Debug)]
pub(super) struct Arrival {
    pub(super) event: NewEvent,
    pub(super) now: i64,
}

impl Arrival {
    /// The row this arrival inserted, numbered `seq`: what reading it back would give.
    pub(super) fn row(&self, seq: i64) -> EventRow {
        let (_, detail) = EventState::Recorded.encode();
        let (event, payload) = (&self.event, &self.event.payload);
        EventRow {
            seq,
            store_id: event.store_id,
            event_id: event.event_id.clone(),
            product_id: payload.product_id,
            combination_id: payload.combination_id,
            change_kind: payload.change_kind.clone(),
            change_value: payload.change_value,
            check_low_stock: payload.check_low_stock,
            occurred_at_ms: payload.occurred_at_ms,
            recorded_at_ms: self.now,
            state_detail: detail,
            state_changed_at_ms: self.now,
        }
    }
}

/// What storing an arrival gave: whether it inserted the row (false: the id was there), and
/// the row as stored.
pub(super) type Stored = (bool, EventRow);

/// For each arrival, the position of the first arrival with its store and id: its own for the
/// first, an earlier one for a repeat. Only firsts are inserted.
pub(super) fn firsts(arrivals: &[Arrival]) -> Vec<usize> {
    let mut first: HashMap<(i64, &str), usize> = HashMap::with_capacity(arrivals.len());
    arrivals
        .iter()
        .enumerate()
        .map(|(n, arrival)| {
            let key = (arrival.event.store_id, arrival.event.event_id.as_str());
            *first.entry(key).or_insert(n)
        })
        .collect()
}

/// Every arrival's answer, from what the firsts stored (`stored` holds one entry per
/// arrival, `None` for each repeat): a repeat inserted nothing and is told its first's row.
pub(super) fn answers(firsts: &[usize], stored: Vec<Option<Stored>>) -> Vec<Stored> {
    let mut answers: Vec<Stored> = Vec::with_capacity(stored.len());
    for (n, stored) in stored.into_iter().enumerate() {
        let answer = match stored {
            Some(stored) => stored,
            None => (false, answers[firsts[n]].1.clone()),
        };
        answers.push(answer);
    }
    answers
}

/// Why a group's transaction failed, as far as the backend can tell.
#[derive(Debug)]
pub(crate) struct GroupFailed {
    pub(crate) error: JournalError,
    /// The database refused a statement (a constraint, a trigger, a value it cannot store):
    /// the cause may be one member's row, so the group is split and its halves tried again.
    /// Otherwise (the database unreachable, shut down, out of space) every member is told.
    pub(crate) refused: bool,
}

impl From<JournalError> for GroupFailed {
    fn from(error: JournalError) -> Self {
        GroupFailed {
            error,
            refused: false,
        }
    }
}

/// Where a caller waits for its group's commit.
type Reply<R> = oneshot::Sender<Result<R, JournalError>>;

/// Group commit of items of type `T`, each answered with an `R`: the one mechanism behind
/// [`Journal::record`](super::Journal::record) and the sales module's recording of webhook
/// events. Shared by clones through an [`Arc`].
pub(crate) struct GroupCommit<T, R> {
    max: usize,
    committers: usize,
    queue: Mutex<Queue<T, R>>,
}

struct Queue<T, R> {
    waiting: Vec<(T, Reply<R>)>,
    /// Committers running.
    running: usize,
}

impl<T, R> GroupCommit<T, R>
where
    T: Clone + Send + Sync + 'static,
    R: Send + 'static,
{
    /// Groups of at most `max` items, committed by up to `committers` at once (each on a
    /// connection of its own; 1 where the database has one writer).
    pub(crate) fn new(max: usize, committers: usize) -> Arc<Self> {
        Arc::new(GroupCommit {
            max,
            committers,
            queue: Mutex::new(Queue {
                waiting: Vec::new(),
                running: 0,
            }),
        })
    }

    /// Stores `item` in a transaction shared with the items that arrive meanwhile, through
    /// `store` (which stores a group in one transaction and answers each of its items, in
    /// order), and returns its answer once that transaction has returned. `None`: the committer
    /// stopped before it answered (its runtime shut down); the item may or may not be stored.
    pub(crate) async fn commit<S, F>(
        self: &Arc<Self>,
        item: T,
        store: S,
    ) -> Option<Result<R, JournalError>>
    where
        S: Fn(Arc<[T]>) -> F + Send + Sync + 'static,
        F: Future<Output = Result<Vec<R>, GroupFailed>> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        if self.join(item, reply) {
            tokio::spawn(Arc::clone(self).run(store));
        }
        answer.await.ok()
    }

    /// The committer: group after group, until nobody waits.
    async fn run<S, F>(self: Arc<Self>, store: S)
    where
        S: Fn(Arc<[T]>) -> F,
        F: Future<Output = Result<Vec<R>, GroupFailed>>,
    {
        let committing = Committing(Some(&self));
        loop {
            // Those just answered often come back at once: let them join this group.
            tokio::task::yield_now().await;
            let Some(taken) = self.next() else { break };
            let (items, replies): (Vec<T>, Vec<Reply<R>>) = taken.into_iter().unzip();
            settle(&store, items.into(), replies).await;
        }
        committing.done();
    }

    /// Queues `item`; true when fewer committers run than may, and the caller must start one.
    fn join(&self, item: T, reply: Reply<R>) -> bool {
        let mut queue = self.queue();
        queue.waiting.push((item, reply));
        let start = queue.running < self.committers;
        queue.running += usize::from(start);
        start
    }
}

impl<T, R> GroupCommit<T, R> {
    fn queue(&self) -> MutexGuard<'_, Queue<T, R>> {
        // Nothing panics while the lock is held; a poisoned queue is still whole.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next group, in arrival order; `None` when nobody waits, and the committer must end:
    /// it is counted gone under the same lock that [`join`](Self::join) reads, so no arrival
    /// waits without a committer.
    fn next(&self) -> Option<Vec<(T, Reply<R>)>> {
        let mut queue = self.queue();
        if queue.waiting.is_empty() {
            queue.running -= 1;
            return None;
        }
        if queue.waiting.len() <= self.max {
            return Some(std::mem::take(&mut queue.waiting));
        }
        Some(queue.waiting.drain(..self.max).collect())
    }

    /// A committer stopped before it finished (its runtime shut down, or it panicked): when
    /// it was the last, those waiting are answered with a failure (their replies dropped); the
    /// next caller starts another committer.
    fn abandon(&self) {
        let mut queue = self.queue();
        queue.running -= 1;
        if queue.running == 0 {
            queue.waiting.clear();
        }
    }
}

/// Stores one group and answers each of its members. When the database refused the group's
/// transaction (nothing of it kept), the group is split in halves, each tried again in order,
/// down to single items: a refused row fails alone (in about 2 log2(n) more transactions), the
/// others are stored as if it had never come, each told only once its own transaction
/// returned. A failure that is not a refusal answers every member with it.
async fn settle<T, R, S, F>(store: &S, items: Arc<[T]>, replies: Vec<Reply<R>>)
where
    T: Clone,
    S: Fn(Arc<[T]>) -> F,
    F: Future<Output = Result<Vec<R>, GroupFailed>>,
{
    // Last to be tried on top: halves go in in reverse so that the earlier is stored first.
    let mut pending = vec![(items, replies)];
    while let Some((items, mut replies)) = pending.pop() {
        match store(Arc::clone(&items)).await {
            Ok(answers) => {
                for (reply, answer) in replies.into_iter().zip(answers) {
                    // A caller that stopped waiting needs no answer.
                    let _ = reply.send(Ok(answer));
                }
            }
            Err(GroupFailed { refused: true, .. }) if items.len() > 1 => {
                let half = items.len() / 2;
                let later = replies.split_off(half);
                pending.push((items[half..].into(), later));
                pending.push((items[..half].into(), replies));
            }
            Err(GroupFailed { error, .. }) => {
                for reply in replies {
                    let _ = reply.send(Err(error.again()));
                }
            }
        }
    }
}

/// Abandons the group when dropped before [`Committing::done`]: the committer did not end by
/// finding nobody waiting.
struct Committing<'a, T, R>(Option<&'a GroupCommit<T, R>>);

impl<T, R> Committing<'_, T, R> {
    fn done(mut self) {
        self.0 = None;
    }
}

impl<T, R> Drop for Committing<'_, T, R> {
    fn drop(&mut self) {
        if let Some(group) = self.0 {
            group.abandon();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::event::Payload;

    fn arrival(store: i64, id: &str) -> Arrival {
        Arrival {
            event: NewEvent {
                store_id: store,
                event_id: id.into(),
                payload: Payload {
                    product_id: 7,
                    combination_id: None,
                    change_kind: "delta".into(),
                    change_value: Some(-1),
                    check_low_stock: None,
                    occurred_at_ms: 5,
                },
            },
            now: 9,
        }
    }

    #[test]
    fn a_repeated_id_points_at_its_first_and_is_told_its_row() {
        let arrivals = [
            arrival(1, "a"),
            arrival(1, "b"),
            arrival(2, "a"),
            arrival(1, "a"),
            arrival(1, "b"),
        ];
        let firsts = firsts(&arrivals);
        assert_eq!(firsts, [0, 1, 2, 0, 1]);
        let stored = vec![
            Some((true, arrivals[0].row(10))),
            Some((false, arrivals[1].row(3))),
            Some((true, arrivals[2].row(11))),
            None,
            None,
        ];
        let answers: Vec<(bool, i64)> = super::answers(&firsts, stored)
            .into_iter()
            .map(|(inserted, row)| (inserted, row.seq))
            .collect();
        assert_eq!(
            answers,
            [(true, 10), (false, 3), (true, 11), (false, 10), (false, 3)]
        );
    }

    #[test]
    fn groups_are_taken_in_arrival_order_up_to_the_bound_and_the_last_ends_the_committer() {
        let group = GroupCommit::<&str, ()>::new(2, 1);
        let mut answers = Vec::new();
        let mut starts = Vec::new();
        for id in ["a", "b", "c"] {
            let (reply, answer) = oneshot::channel();
            starts.push(group.join(id, reply));
            answers.push(answer);
        }
        assert_eq!(starts, [true, false, false], "one committer");
        let ids = |taken: Vec<(&'static str, Reply<()>)>| -> Vec<&str> {
            taken.into_iter().map(|(id, _)| id).collect()
        };
        assert_eq!(ids(group.next().unwrap()), ["a", "b"]);
        assert_eq!(ids(group.next().unwrap()), ["c"]);
        assert!(group.next().is_none());
        let (reply, _answer) = oneshot::channel();
        assert!(group.join("d", reply), "the next starts one");
    }

    #[test]
    fn a_committer_stopped_halfway_fails_those_waiting_and_lets_the_next_start_one() {
        let group = GroupCommit::<&str, ()>::new(10, 1);
        let (reply, mut answer) = oneshot::channel();
        assert!(group.join("a", reply));
        drop(Committing(Some(&*group)));
        assert!(
            matches!(answer.try_recv(), Err(oneshot::error::TryRecvError::Closed)),
            "told it failed, not left waiting"
        );
        let (reply, _answer) = oneshot::channel();
        assert!(group.join("b", reply), "a new committer");
    }

    /// A store that refuses any group holding a number over 100 (as a database refuses a row),
    /// and otherwise answers each number doubled, keeping what it stored.
    fn refusing(
        stored: &Arc<Mutex<Vec<Vec<u32>>>>,
    ) -> impl Fn(Arc<[u32]>) -> std::future::Ready<Result<Vec<u32>, GroupFailed>> {
        let stored = Arc::clone(stored);
        move |items: Arc<[u32]>| {
            std::future::ready(if items.iter().any(|n| *n > 100) {
                Err(GroupFailed {
                    error: JournalError::InvalidInput(format!("refused {items:?}")),
                    refused: true,
                })
            } else {
                stored.lock().unwrap().push(items.to_vec());
                Ok(items.iter().map(|n| n * 2).collect())
            })
        }
    }

    #[tokio::test]
    async fn a_refused_member_fails_alone_and_the_others_are_stored_in_order() {
        let stored = Arc::new(Mutex::new(Vec::new()));
        let items: Vec<u32> = vec![1, 2, 3, 101, 5, 6, 7, 102];
        let (replies, answers): (Vec<_>, Vec<_>) = items
            .iter()
            .map(|_| oneshot::channel::<Result<u32, JournalError>>())
            .unzip();
        settle(&refusing(&stored), items.into(), replies).await;
        let mut told = Vec::new();
        for answer in answers {
            told.push(answer.await.unwrap().map_err(|e| e.to_string()));
        }
        assert_eq!(
            told,
            [
                Ok(2),
                Ok(4),
                Ok(6),
                Err("refused [101]".to_owned()),
                Ok(10),
                Ok(12),
                Ok(14),
                Err("refused [102]".to_owned())
            ]
        );
        let stored = stored.lock().unwrap().concat();
        assert_eq!(stored, [1, 2, 3, 5, 6, 7], "each once, in arrival order");
    }

    #[tokio::test]
    async fn a_failure_that_is_no_refusal_fails_every_member_without_retrying() {
        let tries = Arc::new(Mutex::new(0));
        let counted = Arc::clone(&tries);
        let store = move |_: Arc<[u32]>| {
            *counted.lock().unwrap() += 1;
            std::future::ready(Err::<Vec<u32>, _>(GroupFailed::from(
                JournalError::InvalidInput("unreachable".into()),
            )))
        };
        let (replies, answers): (Vec<_>, Vec<_>) = (0..4)
            .map(|_| oneshot::channel::<Result<u32, JournalError>>())
            .unzip();
        settle(&store, vec![1, 2, 3, 4].into(), replies).await;
        for answer in answers {
            assert!(answer.await.unwrap().is_err());
        }
        assert_eq!(*tries.lock().unwrap(), 1);
    }
}
