//! What happened to each item: Ecwid's batch results read into [`ItemOutcome`]s. A leaf of
//! the bulk module: the plan records outcomes, and the report pairs them with the items.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::batch::{item_result, ItemResult};
use crate::generated::types::{BatchResponseItem, StockUpdateResult};
use crate::Error;

/// What happened to one item of a bulk sync.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "outcome",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
#[non_exhaustive]
pub enum ItemOutcome {
    /// Applied (`updateCount: 1`), with Ecwid's warning when the stock became negative.
    #[non_exhaustive]
    Updated {
        /// Ecwid's warning.
        warning: Option<String>,
    },
    /// Processed but nothing changed (`updateCount: 0`, for example unlimited stock).
    NotUpdated,
    /// Ecwid refused or failed this item with an error status (400 to 599). A status of 500 or
    /// more may still have applied it. An item marked failed without such a status is
    /// [`Unknown`](ItemOutcome::Unknown) instead.
    #[non_exhaustive]
    Failed {
        /// The item's HTTP status inside the batch.
        status: u16,
        /// Ecwid's `errorCode`.
        error_code: Option<String>,
        /// Ecwid's `errorMessage`.
        error_message: Option<String>,
    },
    /// Ecwid did not execute this item. Nothing was applied.
    NotExecuted,
    /// The item's batch was never queued: its create was refused, or the run stopped before
    /// it. Nothing was applied, as long as the plan is run from one place at a time (see
    /// [`Client::resume_bulk`](crate::Client::resume_bulk)).
    #[non_exhaustive]
    NotSent {
        /// Why.
        reason: String,
    },
    /// The outcome could not be learned: the item may or may not have been applied. When the
    /// batch is still being created or polled, resuming the plan learns it (within 55 minutes
    /// of making the plan, for a batch being created); otherwise (an expired chunk, or a result
    /// Ecwid left unclear) `reason` says so, and only reading the stock can tell.
    #[non_exhaustive]
    Unknown {
        /// Why.
        reason: String,
    },
}

/// Why an item Ecwid failed with a 5xx inside its batch is not known: Ecwid retries such an
/// item itself, so it may have been applied.
pub(crate) fn failed_with_5xx(
    status: u16,
    error_code: Option<&str>,
    error_message: Option<&str>,
) -> String {
    format!(
        "Ecwid failed it with status {status} ({}: {}), after which it may have been applied",
        error_code.unwrap_or("no error code"),
        error_message.unwrap_or("no message")
    )
}

impl ItemOutcome {
    /// `true` when the item may have been applied: updated, failed with a 5xx, or unknown.
    pub fn may_have_been_applied(&self) -> bool {
        match self {
            ItemOutcome::Updated { .. } | ItemOutcome::Unknown { .. } => true,
            ItemOutcome::Failed { status, .. } => *status >= 500,
            ItemOutcome::NotUpdated | ItemOutcome::NotExecuted | ItemOutcome::NotSent { .. } => {
                false
            }
        }
    }
}

/// Reads the results of a completed batch's `len` items, the first numbered `first` (each
/// matched by the `id` its request was given: its index in the input).
pub(super) fn outcomes(
    first: usize,
    len: usize,
    responses: &[BatchResponseItem],
) -> Vec<ItemOutcome> {
    let by_id: HashMap<&str, &BatchResponseItem> = responses
        .iter()
        .filter_map(|r| r.id.as_deref().map(|id| (id, r)))
        .collect();
    (0..len)
        .map(|n| {
            let id = (first + n).to_string();
            match by_id.get(id.as_str()) {
                Some(response) => outcome(response),
                None => ItemOutcome::Unknown {
                    reason: "the completed batch has no result for this item; read the stock to reconcile".into(),
                },
            }
        })
        .collect()
}

/// One item's outcome from its result in a completed batch (read by
/// [`item_result`](crate::batch::item_result)): an answer must read as a stock update.
pub(crate) fn outcome(response: &BatchResponseItem) -> ItemOutcome {
    let unknown = |what: String| ItemOutcome::Unknown {
        reason: format!("{what}: it may have been applied; read the stock to reconcile"),
    };
    match item_result(response) {
        ItemResult::Answered(body) => match StockUpdateResult::deserialize(&body) {
            Ok(result) if result.update_count > 0 => ItemOutcome::Updated {
                warning: result.warning,
            },
            Ok(result) if result.update_count == 0 => ItemOutcome::NotUpdated,
            _ => unknown("an unreadable result".into()),
        },
        ItemResult::Refused(Error::Api {
            status,
            error_code,
            error_message,
            ..
        }) => ItemOutcome::Failed {
            status,
            error_code,
            error_message,
        },
        ItemResult::Refused(other) => unknown(other.to_string()),
        ItemResult::NotExecuted => ItemOutcome::NotExecuted,
        ItemResult::Unclear(what) => unknown(what),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generated::types::BatchResponseItemStatus;

    fn result(
        status: BatchResponseItemStatus,
        code: Option<i32>,
        body: Option<serde_json::Value>,
    ) -> BatchResponseItem {
        BatchResponseItem {
            id: Some("0".into()),
            status,
            http_status_code: code,
            http_status_line: None,
            http_body: body,
            escaped_http_body: None,
        }
    }

    #[test]
    fn reads_each_kind_of_result() {
        use serde_json::json;
        use BatchResponseItemStatus::*;
        let not_found = || json!({"errorCode": "PRODUCT_NOT_FOUND", "errorMessage": "no"});
        let failed = |status| ItemOutcome::Failed {
            status,
            error_code: Some("PRODUCT_NOT_FOUND".into()),
            error_message: Some("no".into()),
        };
        // (result, the outcome, or None for Unknown)
        let cases = [
            (
                result(Completed, Some(200), Some(json!({"updateCount": 1}))),
                Some(ItemOutcome::Updated { warning: None }),
            ),
            (
                result(Completed, Some(200), Some(json!({"updateCount": 0}))),
                Some(ItemOutcome::NotUpdated),
            ),
            (
                result(Failed, Some(404), Some(not_found())),
                Some(failed(404)),
            ),
            (
                result(Failed, Some(500), Some(not_found())),
                Some(failed(500)),
            ),
            (
                result(Completed, Some(404), Some(not_found())),
                Some(failed(404)),
            ),
            (
                result(NotExecuted, Some(0), Some(serde_json::Value::Null)),
                Some(ItemOutcome::NotExecuted),
            ),
            (
                result(NotExecuted, None, None),
                Some(ItemOutcome::NotExecuted),
            ),
            // Not executed, yet saying otherwise: it may have run.
            (result(NotExecuted, Some(200), None), None),
            (result(NotExecuted, Some(503), None), None),
            (
                result(NotExecuted, None, Some(json!({"updateCount": 1}))),
                None,
            ),
            (
                result(NotExecuted, Some(400), None),
                Some(ItemOutcome::NotExecuted),
            ),
            // COMPLETED without a status code: the body decides.
            (
                result(Completed, None, Some(json!({"updateCount": 1}))),
                Some(ItemOutcome::Updated { warning: None }),
            ),
            (
                result(Completed, None, Some(json!({"updateCount": 0}))),
                Some(ItemOutcome::NotUpdated),
            ),
            (result(Completed, None, None), None),
            (result(Completed, None, Some(not_found())), None),
            (
                result(Completed, Some(0), Some(json!({"updateCount": 1}))),
                Some(ItemOutcome::Updated { warning: None }),
            ),
            (result(Completed, Some(200), Some(json!("<html>"))), None),
            (
                result(Completed, Some(302), Some(json!({"updateCount": 1}))),
                None,
            ),
            // FAILED without an error status: it may have been applied.
            (result(Failed, None, None), None),
            (result(Failed, None, Some(not_found())), None),
            (result(Failed, Some(0), Some(not_found())), None),
            (result(Failed, Some(-1), None), None),
            (result(Failed, Some(70_000), None), None),
            (result(Failed, Some(1_000), Some(not_found())), None),
            (
                result(Failed, Some(200), Some(json!({"updateCount": 1}))),
                None,
            ),
        ];
        for (response, expected) in cases {
            let got = outcome(&response);
            match expected {
                Some(expected) => assert_eq!(got, expected, "{response:?}"),
                None => {
                    let ItemOutcome::Unknown { reason } = &got else {
                        panic!("{response:?}: {got:?}, not Unknown");
                    };
                    assert!(reason.contains("read the stock"), "{reason}");
                    assert!(got.may_have_been_applied());
                }
            }
        }
        let escaped = BatchResponseItem {
            http_body: None,
            escaped_http_body: Some(r#"{"updateCount":1,"warning":"negative"}"#.into()),
            ..result(Completed, Some(200), None)
        };
        assert_eq!(
            outcome(&escaped),
            ItemOutcome::Updated {
                warning: Some("negative".into())
            }
        );
        // The reason says what Ecwid gave.
        let ItemOutcome::Unknown { reason } = outcome(&result(Failed, None, None)) else {
            unreachable!()
        };
        assert!(reason.contains("no status code"), "{reason}");
    }

    #[test]
    fn outcomes_serialize_with_camel_case_fields() {
        use serde_json::json;
        let failed = ItemOutcome::Failed {
            status: 404,
            error_code: Some("PRODUCT_NOT_FOUND".into()),
            error_message: Some("no".into()),
        };
        let shapes = [
            (
                failed.clone(),
                json!({"outcome": "failed", "status": 404, "errorCode": "PRODUCT_NOT_FOUND", "errorMessage": "no"}),
            ),
            (
                ItemOutcome::Updated {
                    warning: Some("w".into()),
                },
                json!({"outcome": "updated", "warning": "w"}),
            ),
            (ItemOutcome::NotUpdated, json!({"outcome": "notUpdated"})),
            (ItemOutcome::NotExecuted, json!({"outcome": "notExecuted"})),
            (
                ItemOutcome::NotSent { reason: "r".into() },
                json!({"outcome": "notSent", "reason": "r"}),
            ),
            (
                ItemOutcome::Unknown { reason: "r".into() },
                json!({"outcome": "unknown", "reason": "r"}),
            ),
        ];
        for (outcome, shape) in shapes {
            assert_eq!(serde_json::to_value(&outcome).unwrap(), shape);
            assert_eq!(
                serde_json::from_value::<ItemOutcome>(shape).unwrap(),
                outcome
            );
        }
    }
}
