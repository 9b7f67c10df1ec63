//! What applying a sync did: an outcome per row, learned from the bulk run's outcomes.

use serde::{Deserialize, Serialize};

use super::plan::SyncPlan;
use super::row::SyncRow;
use crate::{bulk::outcome::failed_with_5xx, ItemOutcome};

/// What happened to one row of an applied [`SyncPlan`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SyncOutcome {
    /// The change was applied, with Ecwid's warning when the stock became negative.
    #[non_exhaustive]
    Applied {
        /// Ecwid's warning.
        warning: Option<String>,
    },
    /// The change was not applied: Ecwid refused it (`status` and Ecwid's error), or it was
    /// never run (no `status`; the message says why: not executed, never sent, or answered
    /// `updateCount: 0`). Planning the sync again sends it again.
    #[non_exhaustive]
    Failed {
        /// The change's HTTP status inside its batch, when Ecwid refused it.
        status: Option<u16>,
        /// Ecwid's `errorCode`.
        error_code: Option<String>,
        /// Ecwid's `errorMessage`, or why the change was not run.
        error_message: Option<String>,
    },
    /// The change may or may not have been applied; `reason` says why, and what to do.
    #[non_exhaustive]
    Unknown {
        /// Why, and what to do.
        reason: String,
    },
    /// The row sends nothing (the same stock, not found, several items).
    NothingToDo,
}

/// What to do about a change whose outcome is unknown once nothing is left to resume.
const PLAN_AGAIN: &str = "planning the sync again reads the stock afresh and sends only what \
                          is still missing";

impl SyncOutcome {
    /// The outcome of a change from its bulk item's; `done` when the bulk plan has nothing
    /// left to resume.
    pub(super) fn of(outcome: &ItemOutcome, done: bool) -> Self {
        let failed = |message: String| SyncOutcome::Failed {
            status: None,
            error_code: None,
            error_message: Some(message),
        };
        let unknown = |why: String| SyncOutcome::Unknown {
            reason: if done {
                format!("{why}; {PLAN_AGAIN}")
            } else {
                format!("{why}; apply the saved plan again to learn it")
            },
        };
        match outcome {
            ItemOutcome::Updated { warning } => SyncOutcome::Applied {
                warning: warning.clone(),
            },
            ItemOutcome::NotUpdated => {
                failed("Ecwid answered updateCount 0: the stock was not changed".into())
            }
            ItemOutcome::Failed {
                status,
                error_code,
                error_message,
            } if *status < 500 => SyncOutcome::Failed {
                status: Some(*status),
                error_code: error_code.clone(),
                error_message: error_message.clone(),
            },
            ItemOutcome::Failed {
                status,
                error_code,
                error_message,
            } => unknown(failed_with_5xx(
                *status,
                error_code.as_deref(),
                error_message.as_deref(),
            )),
            ItemOutcome::NotExecuted => failed("Ecwid did not execute it".into()),
            ItemOutcome::NotSent { reason } => failed(format!("not sent: {reason}")),
            ItemOutcome::Unknown { reason } => unknown(reason.clone()),
        }
    }
}

/// Counts of a [`SyncReport`]'s outcomes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncSummary {
    /// Changes applied.
    pub applied: usize,
    /// Changes not applied.
    pub failed: usize,
    /// Changes that may or may not have been applied.
    pub unknown: usize,
    /// Rows with nothing to send.
    pub nothing_to_do: usize,
}

/// What applying a [`SyncPlan`] did: an outcome per row, and the requests spent.
#[derive(Clone, Debug)]
pub struct SyncReport {
    outcomes: Vec<SyncOutcome>,
    requests: u64,
    plan: SyncPlan,
}

impl SyncReport {
    /// Pairs each row that sends a change with its outcome, in order, and every other row
    /// with [`SyncOutcome::NothingToDo`].
    pub(super) fn new(plan: SyncPlan, changes: Vec<SyncOutcome>, requests: u64) -> Self {
        let mut changes = changes.into_iter();
        let outcomes = plan
            .rows
            .iter()
            .map(|row| match row.change {
                Some(_) => changes.next().unwrap_or_else(|| SyncOutcome::Unknown {
                    reason: "no outcome was recorded for this change".into(),
                }),
                None => SyncOutcome::NothingToDo,
            })
            .collect();
        Self {
            outcomes,
            requests,
            plan,
        }
    }

    /// Each row with its outcome, in the plan's order.
    pub fn iter(&self) -> impl Iterator<Item = (&SyncRow, &SyncOutcome)> {
        self.plan.rows.iter().zip(&self.outcomes)
    }

    /// The outcomes, one per row.
    pub fn outcomes(&self) -> &[SyncOutcome] {
        &self.outcomes
    }

    /// How many rows ended each way.
    pub fn summary(&self) -> SyncSummary {
        let mut summary = SyncSummary::default();
        for outcome in &self.outcomes {
            *match outcome {
                SyncOutcome::Applied { .. } => &mut summary.applied,
                SyncOutcome::Failed { .. } => &mut summary.failed,
                SyncOutcome::Unknown { .. } => &mut summary.unknown,
                SyncOutcome::NothingToDo => &mut summary.nothing_to_do,
            } += 1;
        }
        summary
    }

    /// Whether every change was applied (or there was none).
    pub fn is_complete(&self) -> bool {
        self.outcomes
            .iter()
            .all(|o| matches!(o, SyncOutcome::Applied { .. } | SyncOutcome::NothingToDo))
    }

    /// The rate-limited requests this application spent (batch creates and status reads),
    /// counted on the client ([`Client::requests_sent`]): exact when nothing else used the
    /// client meanwhile. The read's are [`SyncPlan::read_requests`].
    ///
    /// [`Client::requests_sent`]: crate::Client::requests_sent
    pub fn requests(&self) -> u64 {
        self.requests
    }

    /// The plan as it ends, with its bulk plan: apply it again to resume what is unknown.
    pub fn plan(&self) -> &SyncPlan {
        &self.plan
    }

    /// The plan as it ends (see [`plan`](Self::plan)).
    pub fn into_plan(self) -> SyncPlan {
        self.plan
    }
}
