//! What a checkpoint hands over: the one change a step of a run made, and the plan after it.
//! Saving the change alone costs what changed; the plan is there for whoever saves it whole.

use serde::{Deserialize, Serialize};

use super::plan::{ChunkState, MAX_BATCH_SIZE};
use super::BulkPlan;

/// What changed in a plan at one checkpoint: small, serializable, and folded back into the
/// plan by [`BulkPlan::apply_change`] (or [`SyncPlan::apply_change`](crate::sync::SyncPlan::apply_change)).
///
/// A run's first checkpoint is [`PlanChange::Started`]: the plan as the run starts it (for a
/// sync, with its bulk plan just made), to be saved whole once. Every later checkpoint is one
/// chunk moving on ([`PlanChange::Chunk`]): saved as a record appended after the plan, it
/// costs a chunk's size (at most 500 outcomes), not the plan's. [`PlanLog`](super::PlanLog)
/// does exactly that with a file.
///
/// Serialized as JSON with a `change` tag: `{"change":"started"}`, or
/// `{"change":"chunk","chunk":3,"state":{"state":"created","ticket":"..."}}` (with `lastError`
/// when a step failed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "camelCase")]
#[non_exhaustive]
pub enum PlanChange {
    /// The run starts: nothing changed yet, but the plan (new, or for a sync with its bulk plan
    /// just made) is to be saved whole, before anything is sent.
    Started,
    /// One chunk moved on (being created, queued under a ticket, executed, expired, or a step
    /// that failed): its new state.
    Chunk(ChunkChange),
}

/// One chunk's new state, as [`PlanChange::Chunk`] carries it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChunkChange {
    chunk: usize,
    state: ChunkState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_error: Option<String>,
}

impl ChunkChange {
    /// The chunk's position in the plan.
    pub fn chunk(&self) -> usize {
        self.chunk
    }
}

impl PlanChange {
    /// Chunk `index` of `plan` as it now stands.
    pub(super) fn chunk(plan: &BulkPlan, index: usize) -> Self {
        let chunk = &plan.chunks[index];
        Self::Chunk(ChunkChange {
            chunk: index,
            state: chunk.state.clone(),
            last_error: chunk.last_error.clone(),
        })
    }
}

impl BulkPlan {
    /// Folds one checkpoint's change into the plan: the plan is then as the run that made the
    /// change held it. For plans saved elsewhere than in a [`PlanLog`](super::PlanLog) (a
    /// database): save the plan at [`PlanChange::Started`], append each later change, and
    /// apply them in order when reading it back.
    ///
    /// Fails, leaving the plan as it was, on a change this plan cannot have made: a chunk it
    /// does not have, outcomes that do not match the chunk's items, a queued chunk without a
    /// ticket.
    pub fn apply_change(&mut self, change: &PlanChange) -> Result<(), String> {
        let PlanChange::Chunk(change) = change else {
            return Ok(());
        };
        let n = change.chunk;
        let Some(chunk) = self.chunks.get_mut(n) else {
            return Err(format!(
                "a change of chunk {n}, in a plan of {} chunks",
                self.chunks.len()
            ));
        };
        let len = chunk.items.len();
        debug_assert!(len <= MAX_BATCH_SIZE);
        match &change.state {
            ChunkState::Done { outcomes } if outcomes.len() != len => {
                return Err(format!(
                    "chunk {n} done with {} outcomes for {len} items",
                    outcomes.len()
                ));
            }
            ChunkState::Created { ticket } if ticket.trim().is_empty() => {
                return Err(format!("chunk {n} queued without a ticket"));
            }
            _ => {}
        }
        chunk.state = change.state.clone();
        chunk.last_error = change.last_error.clone();
        Ok(())
    }
}

/// What a checkpoint callback receives: the [`change`](Self::change) one step of the run made,
/// and the [`plan`](Self::plan) after it (a [`BulkPlan`], or for
/// [`ApplySync`](crate::sync::ApplySync) a [`SyncPlan`](crate::sync::SyncPlan)).
///
/// Save the change (appended after the plan saved at [`PlanChange::Started`]) and a checkpoint
/// costs what changed; serialize the whole plan and it costs the plan's size, every time.
/// [`PlanLog::save`](super::PlanLog::save) takes a checkpoint as it comes.
#[derive(Debug)]
#[non_exhaustive]
pub struct Checkpoint<'a, P = BulkPlan> {
    change: &'a PlanChange,
    plan: &'a P,
}

impl<P> Clone for Checkpoint<'_, P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<P> Copy for Checkpoint<'_, P> {}

impl<'a, P> Checkpoint<'a, P> {
    pub(crate) fn new(change: &'a PlanChange, plan: &'a P) -> Self {
        Self { change, plan }
    }

    /// What this step changed.
    pub fn change(&self) -> &'a PlanChange {
        self.change
    }

    /// The whole plan after the change.
    pub fn plan(&self) -> &'a P {
        self.plan
    }
}
