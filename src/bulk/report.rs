//! The [`BulkReport`]: a plan's items paired with their outcomes, as the plan stands.

use super::{
    outcome::ItemOutcome,
    plan::{BulkItem, BulkPlan, ChunkState},
};

impl BulkPlan {
    /// The report as the plan stands: outcomes of finished chunks, and for the rest why they
    /// are not known. It holds a copy of the plan; [`into_report`](Self::into_report) does not.
    pub fn report(&self) -> BulkReport {
        self.clone().into_report()
    }

    /// The report as the plan stands, made of the plan itself.
    pub fn into_report(self) -> BulkReport {
        let mut outcomes = Vec::with_capacity(self.len());
        for chunk in &self.chunks {
            let because = |what: &str| match &chunk.last_error {
                Some(error) => format!("{what}: {error}"),
                None => what.to_owned(),
            };
            let pending = match &chunk.state {
                ChunkState::Done { outcomes: done } => {
                    outcomes.extend(done.iter().cloned());
                    continue;
                }
                ChunkState::Planned => ItemOutcome::NotSent {
                    reason: because("the batch was not created"),
                },
                ChunkState::Creating => ItemOutcome::Unknown {
                    reason: because("the batch may have been created; resume the plan within 55 minutes of making it to learn its outcome"),
                },
                ChunkState::Created { ticket } => ItemOutcome::Unknown {
                    reason: because(&format!(
                        "the batch is queued at Ecwid (ticket {ticket}); resume the plan to learn its outcome"
                    )),
                },
                ChunkState::Expired => ItemOutcome::Unknown {
                    reason: because("the batch may have been created, and its key is too old to create it again safely, so it is never sent again; read the stock to reconcile"),
                },
            };
            outcomes.extend(std::iter::repeat_n(pending, chunk.items.len()));
        }
        BulkReport {
            outcomes,
            plan: self,
        }
    }
}

/// One outcome per item, in input order.
#[derive(Clone, Debug)]
pub struct BulkReport {
    outcomes: Vec<ItemOutcome>,
    plan: BulkPlan,
}

/// Counts of a [`BulkReport`]'s outcomes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BulkSummary {
    /// Applied.
    pub applied: usize,
    /// Processed, nothing changed.
    pub not_updated: usize,
    /// Refused or failed by Ecwid.
    pub failed: usize,
    /// Not executed by Ecwid.
    pub not_executed: usize,
    /// Never sent.
    pub not_sent: usize,
    /// Outcome unknown: may have been applied.
    pub unknown: usize,
}

impl BulkReport {
    /// The outcomes, in input order.
    pub fn outcomes(&self) -> &[ItemOutcome] {
        &self.outcomes
    }

    /// Each item with its outcome, in input order. The items are as sent: an item without its
    /// own low-stock flag carries the client's default, if it has one.
    pub fn iter(&self) -> impl Iterator<Item = (&BulkItem, &ItemOutcome)> {
        self.plan.items().zip(&self.outcomes)
    }

    /// How many items ended each way.
    pub fn summary(&self) -> BulkSummary {
        let mut summary = BulkSummary::default();
        for outcome in &self.outcomes {
            let count = match outcome {
                ItemOutcome::Updated { .. } => &mut summary.applied,
                ItemOutcome::NotUpdated => &mut summary.not_updated,
                ItemOutcome::Failed { .. } => &mut summary.failed,
                ItemOutcome::NotExecuted => &mut summary.not_executed,
                ItemOutcome::NotSent { .. } => &mut summary.not_sent,
                ItemOutcome::Unknown { .. } => &mut summary.unknown,
            };
            *count += 1;
        }
        summary
    }

    /// Whether every outcome is known (nothing [`ItemOutcome::Unknown`]).
    pub fn is_settled(&self) -> bool {
        !self
            .outcomes
            .iter()
            .any(|outcome| matches!(outcome, ItemOutcome::Unknown { .. }))
    }

    /// The final state, to resume when some outcomes are still unknown.
    pub fn plan(&self) -> &BulkPlan {
        &self.plan
    }

    /// The final state, to resume when some outcomes are still unknown.
    pub fn into_plan(self) -> BulkPlan {
        self.plan
    }
}
