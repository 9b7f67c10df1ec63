//! Ecwid's batch API: tickets, a FIFO queue and a background worker per store, and the
//! one-hour memory of deduplication keys.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use hyper::StatusCode;
use serde_json::Value;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::answer::Answer;
use super::records::{Origin, RequestId};
use super::routes::{Body, Caller, Endpoint, Query};
use super::state::{Config, State};
use super::Shared;
use crate::generated::types::{
    BatchRequestItem, BatchResponseItem, BatchResponseItemStatus, BatchStatus, BatchStatusStatus,
    BatchTicket,
};
use crate::StoreId;

/// Ecwid's limit on the requests one batch may carry.
pub(crate) const MAX_BATCH_ITEMS: usize = 500;

/// The fields of a batch request the spec names; any other is ignored.
const ITEM_FIELDS: [&str; 4] = ["id", "path", "method", "body"];

/// How long a deduplication key is remembered, per Ecwid's docs.
pub(crate) const DEDUPLICATION_MEMORY: Duration = Duration::from_secs(60 * 60);

/// One item's result, once it ran (or was skipped).
#[derive(Debug)]
struct ItemResult {
    status: BatchResponseItemStatus,
    /// The status and JSON body the request got; `None` when it was not executed.
    http: Option<(StatusCode, Value)>,
}

#[derive(Debug)]
struct Batch {
    store: StoreId,
    token: usize,
    created_by: RequestId,
    items: Vec<BatchRequestItem>,
    stop_on_first_failure: bool,
    status: BatchStatusStatus,
    results: Vec<ItemResult>,
}

/// Every batch the fake was given, by ticket, and each store's queue.
#[derive(Debug, Default)]
pub(crate) struct Batches {
    by_ticket: HashMap<String, Batch>,
    queues: HashMap<StoreId, VecDeque<String>>,
    /// (store, key) -> (ticket, when the key was first used).
    deduplication: HashMap<(StoreId, String), (String, Instant)>,
    pub(crate) paused: bool,
}

impl Batches {
    /// Queues a batch (or finds the one queued under the same deduplication key), answering
    /// with its ticket. `Err` is an error answer: nothing was queued.
    pub(crate) fn create(
        &mut self,
        store: StoreId,
        token: usize,
        created_by: RequestId,
        query: &Query,
        body: Value,
        now: Instant,
    ) -> Result<Answer, Answer> {
        // serde reads an explicit `null` as `None` for an optional field; the spec allows no
        // null in an item's own fields (`id` is a string when present), so the raw JSON is
        // checked first. Other fields are allowed by the spec and ignored, null or not.
        if let Some(items) = body.as_array() {
            let null_field = items
                .iter()
                .filter_map(Value::as_object)
                .flat_map(|item| item.iter())
                .find(|(name, value)| ITEM_FIELDS.contains(&name.as_str()) && value.is_null());
            if let Some((name, _)) = null_field {
                return Err(Answer::wrong_parameter(format!(
                    "A batch request's {name} must not be null"
                )));
            }
        }
        let items: Vec<BatchRequestItem> = serde_json::from_value(body).map_err(|error| {
            Answer::wrong_parameter(format!(
                "The body must be an array of batch requests: {error}"
            ))
        })?;
        if items.len() > MAX_BATCH_ITEMS {
            return Err(Answer::wrong_parameter(format!(
                "A batch carries at most {MAX_BATCH_ITEMS} requests, not {}",
                items.len()
            )));
        }
        // allowParallelMode is accepted and ignored: the fake always runs a batch in order.
        query.flag("allowParallelMode")?;
        let stop_on_first_failure = query.flag("stopOnFirstFailure")?.unwrap_or(true);
        let key = query.get("deduplicationKey").map(str::to_owned);
        if let Some(key) = &key {
            if let Some((ticket, first_used)) = self.deduplication.get(&(store, key.clone())) {
                if now < *first_used + DEDUPLICATION_MEMORY {
                    return Ok(Answer::ok(BatchTicket {
                        ticket: ticket.clone(),
                    }));
                }
            }
        }
        let ticket = uuid::Uuid::new_v4().to_string();
        if let Some(key) = key {
            self.deduplication
                .insert((store, key), (ticket.clone(), now));
        }
        self.by_ticket.insert(
            ticket.clone(),
            Batch {
                store,
                token,
                created_by,
                items,
                stop_on_first_failure,
                status: BatchStatusStatus::Queued,
                results: Vec::new(),
            },
        );
        self.queues
            .entry(store)
            .or_default()
            .push_back(ticket.clone());
        Ok(Answer::ok(BatchTicket { ticket }))
    }

    /// Answers `GET /batch?ticket=...`.
    pub(crate) fn status(&self, store: StoreId, query: &Query) -> Answer {
        let escaped = match query.flag("escapedJson") {
            Ok(escaped) => escaped.unwrap_or(false),
            Err(answer) => return answer,
        };
        let Some(ticket) = query.get("ticket") else {
            return Answer::wrong_parameter("ticket is required");
        };
        // A ticket of another store is as unknown as a made-up one.
        let Some(batch) = self.by_ticket.get(ticket).filter(|b| b.store == store) else {
            return Answer::error(
                StatusCode::NOT_FOUND,
                "TICKET_NOT_FOUND",
                format!("No batch with ticket {ticket}"),
            );
        };
        let responses = batch
            .results
            .iter()
            .zip(&batch.items)
            .map(|(result, item)| render(item, result, escaped))
            .collect();
        Answer::ok(BatchStatus {
            status: batch.status,
            total_requests: Some(count(batch.items.len())),
            completed_requests: Some(count(batch.results.len())),
            responses,
        })
    }

    /// Whether every batch has completed.
    pub(crate) fn settled(&self) -> bool {
        self.by_ticket
            .values()
            .all(|batch| batch.status == BatchStatusStatus::Completed)
    }

    /// Takes the store's next queued batch, unless the fake is paused.
    fn start_next(&mut self, store: StoreId) -> Option<String> {
        if self.paused {
            return None;
        }
        let ticket = self.queues.get_mut(&store)?.pop_front()?;
        if let Some(batch) = self.by_ticket.get_mut(&ticket) {
            batch.status = BatchStatusStatus::InProgress;
        }
        Some(ticket)
    }
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn render(item: &BatchRequestItem, result: &ItemResult, escaped: bool) -> BatchResponseItem {
    let (code, line, body) = match &result.http {
        Some((status, body)) => (
            Some(i32::from(status.as_u16())),
            Some(format!(
                "HTTP/1.1 {} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            )),
            Some(body.clone()),
        ),
        None => (None, None, None),
    };
    let (http_body, escaped_http_body) = if escaped {
        (None, body.map(|body| body.to_string()))
    } else {
        (body, None)
    };
    BatchResponseItem {
        id: item.id.clone(),
        status: result.status,
        http_status_code: code,
        http_status_line: line,
        http_body,
        escaped_http_body,
    }
}

impl State {
    /// Runs the next item of a running batch. Returns whether items remain.
    fn run_batch_item(&mut self, config: &Config, ticket: &str) -> bool {
        let Some(batch) = self.batches.by_ticket.get(ticket) else {
            return false;
        };
        let index = batch.results.len();
        let Some(item) = batch.items.get(index).cloned() else {
            return false;
        };
        let (store, caller) = (
            batch.store,
            Caller {
                token: batch.token,
                origin: Origin::Batch {
                    ticket: ticket.to_owned(),
                    created_by: batch.created_by,
                    index,
                },
            },
        );
        let (path, query) = match item.path.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (item.path.as_str(), None),
        };
        let answer = match Endpoint::from_store_path(store, path) {
            Some(endpoint) => self.execute(
                config,
                &caller,
                &item.method.to_string(),
                endpoint,
                query,
                Body::Json(Value::Object(item.body.clone())),
            ),
            None => Answer::error(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                format!("No API endpoint at {path}"),
            ),
        };
        let failed = !answer.status.is_success();
        let batch = self
            .batches
            .by_ticket
            .get_mut(ticket)
            .expect("a running batch is never removed");
        batch.results.push(ItemResult {
            status: if failed {
                BatchResponseItemStatus::Failed
            } else {
                BatchResponseItemStatus::Completed
            },
            http: Some((answer.status, answer.body)),
        });
        if failed && batch.stop_on_first_failure {
            while batch.results.len() < batch.items.len() {
                batch.results.push(ItemResult {
                    status: BatchResponseItemStatus::NotExecuted,
                    http: None,
                });
            }
        }
        if batch.results.len() == batch.items.len() {
            batch.status = BatchStatusStatus::Completed;
            return false;
        }
        true
    }
}

/// A store's batch worker: runs its queued batches one after another, one item at a time, each
/// item under the lock (so atomic, like a REST request) and after the configured delay.
pub(crate) async fn worker(shared: Arc<Shared>, store: StoreId, wake: Arc<Notify>) {
    loop {
        let notified = wake.notified();
        tokio::pin!(notified);
        // Registered before looking at the queue, so a batch queued meanwhile still wakes us.
        notified.as_mut().enable();
        let next = shared.lock().batches.start_next(store);
        let Some(ticket) = next else {
            notified.await;
            continue;
        };
        tracing::debug!(%store, %ticket, "fake store: batch started");
        loop {
            // An empty batch completes without running anything.
            let empty = {
                let mut state = shared.lock();
                let batch = state.batches.by_ticket.get_mut(&ticket);
                match batch {
                    Some(batch) if batch.items.is_empty() => {
                        batch.status = BatchStatusStatus::Completed;
                        true
                    }
                    _ => false,
                }
            };
            if empty {
                break;
            }
            if !shared.config.batch_item_delay.is_zero() {
                tokio::time::sleep(shared.config.batch_item_delay).await;
            }
            let more = shared.lock().run_batch_item(&shared.config, &ticket);
            shared.changed();
            if !more {
                break;
            }
        }
        tracing::debug!(%store, %ticket, "fake store: batch completed");
        shared.changed();
    }
}
