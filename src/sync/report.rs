//! What applying a sync did: an outcome per row, learned from the bulk run's outcomes.

use serde::{Deserialize, Serialize};

use super::plan::SyncPlan;
use super::row::SyncRow;
use crate::{bulk::outcome::failed_with_5xx, bulk::ItemOutcome};

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
    /// One per row that sends a change, in row order. A row that sends none has nothing to
    /// do, and no outcome is kept for it: a million-row plan with a fifth of its rows changed
    /// keeps 200,000.
    changes: Vec<SyncOutcome>,
    requests: u64,
    plan: SyncPlan,
}

/// The outcome of every row that sends no change.
static NOTHING_TO_DO: SyncOutcome = SyncOutcome::NothingToDo;

impl SyncReport {
    /// Pairs each row that sends a change with its outcome, in order, and every other row
    /// with [`SyncOutcome::NothingToDo`].
    pub(super) fn new(plan: SyncPlan, mut changes: Vec<SyncOutcome>, requests: u64) -> Self {
        let wanted = plan.changes();
        changes.truncate(wanted);
        changes.resize_with(wanted, || SyncOutcome::Unknown {
            reason: "no outcome was recorded for this change".into(),
        });
        Self {
            changes,
            requests,
            plan,
        }
    }

    /// Each row with its outcome, in the plan's order.
    pub fn iter(&self) -> impl Iterator<Item = (&SyncRow, &SyncOutcome)> {
        let mut changes = self.changes.iter();
        self.plan.rows.iter().map(move |row| {
            let outcome = match row.change {
                Some(_) => changes.next(),
                None => None,
            };
            (row, outcome.unwrap_or(&NOTHING_TO_DO))
        })
    }

    /// The outcomes, one per row, in the plan's order (as [`iter`](Self::iter) pairs them).
    pub fn outcomes(&self) -> impl Iterator<Item = &SyncOutcome> {
        self.iter().map(|(_, outcome)| outcome)
    }

    /// How many rows ended each way.
    pub fn summary(&self) -> SyncSummary {
        let mut summary = SyncSummary {
            nothing_to_do: self.plan.rows.len() - self.changes.len(),
            ..SyncSummary::default()
        };
        for outcome in &self.changes {
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
        self.changes
            .iter()
            .all(|o| matches!(o, SyncOutcome::Applied { .. } | SyncOutcome::NothingToDo))
    }

    /// The rate-limited requests this application spent (batch creates and status reads),
    /// counted on the client ([`Client::requests_sent`]): exact when nothing else used the
    /// client meanwhile. The read's are [`SyncPlan::requests_sent`].
    ///
    /// [`Client::requests_sent`]: crate::Client::requests_sent
    pub fn requests_sent(&self) -> u64 {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        sync::{SyncMode, SyncStatus, SYNC_PLAN_FORMAT_VERSION},
        Stock, StockChange, StoreId,
    };

    fn failed(status: u16) -> ItemOutcome {
        ItemOutcome::Failed {
            status,
            error_code: Some("CODE".into()),
            error_message: Some("message".into()),
        }
    }

    fn failed_without_status(message: &str) -> SyncOutcome {
        SyncOutcome::Failed {
            status: None,
            error_code: None,
            error_message: Some(message.into()),
        }
    }

    fn reason(outcome: SyncOutcome) -> String {
        match outcome {
            SyncOutcome::Unknown { reason } => reason,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_bulk_items_outcome_becomes_its_changes() {
        let cases = [
            (
                ItemOutcome::Updated {
                    warning: Some("negative".into()),
                },
                SyncOutcome::Applied {
                    warning: Some("negative".into()),
                },
            ),
            (
                ItemOutcome::Updated { warning: None },
                SyncOutcome::Applied { warning: None },
            ),
            (
                ItemOutcome::NotUpdated,
                failed_without_status("Ecwid answered updateCount 0: the stock was not changed"),
            ),
            (
                failed(409),
                SyncOutcome::Failed {
                    status: Some(409),
                    error_code: Some("CODE".into()),
                    error_message: Some("message".into()),
                },
            ),
            (
                failed(499),
                SyncOutcome::Failed {
                    status: Some(499),
                    error_code: Some("CODE".into()),
                    error_message: Some("message".into()),
                },
            ),
            (
                ItemOutcome::NotExecuted,
                failed_without_status("Ecwid did not execute it"),
            ),
            (
                ItemOutcome::NotSent {
                    reason: "the create was refused".into(),
                },
                failed_without_status("not sent: the create was refused"),
            ),
        ];
        for (bulk, sync) in cases {
            for done in [false, true] {
                assert_eq!(SyncOutcome::of(&bulk, done), sync, "{bulk:?}");
            }
        }
    }

    /// A 5xx inside a batch may have been applied (Ecwid retries such an item itself).
    #[test]
    fn a_5xx_or_an_unknown_item_is_unknown() {
        let why = reason(SyncOutcome::of(&failed(500), true));
        assert!(
            why.starts_with(&failed_with_5xx(500, Some("CODE"), Some("message"))),
            "{why}"
        );
        let why = reason(SyncOutcome::of(&failed(503), false));
        assert!(why.contains("503"), "{why}");
        let unknown = ItemOutcome::Unknown {
            reason: "the batch was not done in time".into(),
        };
        let why = reason(SyncOutcome::of(&unknown, false));
        assert!(why.starts_with("the batch was not done in time; "), "{why}");
    }

    /// While the bulk plan can still learn an outcome, applying it again is the way; once it
    /// cannot, only a fresh read can tell.
    #[test]
    fn an_unknown_outcome_says_what_to_do_next() {
        let unknown = ItemOutcome::Unknown {
            reason: "why".into(),
        };
        assert_eq!(
            reason(SyncOutcome::of(&unknown, false)),
            "why; apply the saved plan again to learn it"
        );
        assert_eq!(
            reason(SyncOutcome::of(&unknown, true)),
            format!("why; {PLAN_AGAIN}")
        );
        let why = reason(SyncOutcome::of(&failed(502), false));
        assert!(
            why.ends_with("; apply the saved plan again to learn it"),
            "{why}"
        );
        let why = reason(SyncOutcome::of(&failed(502), true));
        assert!(why.ends_with(PLAN_AGAIN), "{why}");
    }

    /// A plan whose rows send a change or not, as `changes` says; only `change` matters here.
    fn plan(changes: &[bool]) -> SyncPlan {
        let rows = changes
            .iter()
            .enumerate()
            .map(|(n, &change)| SyncRow {
                sku: format!("SKU-{n}"),
                item: None,
                current: None,
                target: Stock::Quantity(1),
                change: change.then_some(StockChange::Delta(1)),
                status: if change {
                    SyncStatus::Change
                } else {
                    SyncStatus::Same
                },
                matches: Vec::new(),
            })
            .collect();
        SyncPlan {
            version: SYNC_PLAN_FORMAT_VERSION,
            store_id: StoreId::new(1003),
            mode: SyncMode::Delta,
            read_unix_ms: 0,
            read_requests: 0,
            rows,
            bulk: None,
        }
    }

    fn applied() -> SyncOutcome {
        SyncOutcome::Applied { warning: None }
    }

    #[test]
    fn each_change_is_paired_with_its_outcome_in_order() {
        let unknown = SyncOutcome::Unknown {
            reason: "why".into(),
        };
        let report = SyncReport::new(
            plan(&[true, false, false, true, false, true]),
            vec![applied(), failed_without_status("no"), unknown.clone()],
            7,
        );
        let nothing = SyncOutcome::NothingToDo;
        assert_eq!(
            report.outcomes().cloned().collect::<Vec<_>>(),
            [
                applied(),
                nothing.clone(),
                nothing.clone(),
                failed_without_status("no"),
                nothing,
                unknown
            ]
        );
        let skus: Vec<&str> = report.iter().map(|(row, _)| row.sku.as_str()).collect();
        assert_eq!(skus, ["SKU-0", "SKU-1", "SKU-2", "SKU-3", "SKU-4", "SKU-5"]);
        assert_eq!(
            report.summary(),
            SyncSummary {
                applied: 1,
                failed: 1,
                unknown: 1,
                nothing_to_do: 3
            }
        );
        assert!(!report.is_complete());
        assert_eq!(report.requests_sent(), 7);
        assert_eq!(report.plan().rows().len(), 6);
    }

    #[test]
    fn outcomes_beyond_the_changes_are_left_out() {
        let report = SyncReport::new(plan(&[true, false]), vec![applied(), applied()], 1);
        assert_eq!(
            report.outcomes().cloned().collect::<Vec<_>>(),
            [applied(), SyncOutcome::NothingToDo]
        );
        assert_eq!(report.summary().applied, 1);
        assert_eq!(report.summary().nothing_to_do, 1);
    }

    #[test]
    fn a_change_without_an_outcome_is_unknown() {
        let report = SyncReport::new(plan(&[true, false, true]), vec![applied()], 1);
        let outcomes: Vec<SyncOutcome> = report.outcomes().cloned().collect();
        assert_eq!(outcomes[0], applied());
        assert_eq!(outcomes[1], SyncOutcome::NothingToDo);
        assert_eq!(
            reason(outcomes[2].clone()),
            "no outcome was recorded for this change"
        );
        assert!(!report.is_complete());
    }

    #[test]
    fn a_report_is_complete_when_every_change_was_applied() {
        let report = SyncReport::new(plan(&[true, false]), vec![applied()], 1);
        assert!(report.is_complete());
        assert_eq!(report.summary().applied, 1);
        assert_eq!(report.summary().nothing_to_do, 1);
        let nothing = SyncReport::new(plan(&[false, false]), Vec::new(), 0);
        assert!(nothing.is_complete());
        assert!(SyncReport::new(plan(&[]), Vec::new(), 0).is_complete());
        let warned = SyncReport::new(
            plan(&[true]),
            vec![SyncOutcome::Applied {
                warning: Some("negative".into()),
            }],
            1,
        );
        assert!(warned.is_complete());
        let failed = SyncReport::new(plan(&[true]), vec![failed_without_status("no")], 1);
        assert!(!failed.is_complete());
    }
}
