//! Ecwid's batch API, as the fake keeps it: tickets, a FIFO queue per store, each batch's
//! statuses and results, and the one-hour memory of deduplication keys. Running the items is
//! the [batch worker](super::batch_worker)'s job.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use hyper::StatusCode;
use serde_json::Value;
use tokio::time::Instant;

use super::answer::Answer;
use super::records::{Origin, RequestId};
use super::request::{Caller, Endpoint, Query};
use ecwid_inventory::generated::types::{
    BatchRequestItem, BatchResponseItem, BatchResponseItemStatus, BatchStatus, BatchStatusStatus,
    BatchTicket,
};
use ecwid_inventory::StoreId;

/// Ecwid's limit on the requests one batch may carry.
pub(crate) const MAX_BATCH_ITEMS: usize = 500;

/// How many items of one batch run at once under `allowParallelMode`, as Ecwid documents.
pub(crate) const MAX_PARALLEL_ITEMS: usize = 100;

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
    /// `allowParallelMode`: up to [`MAX_PARALLEL_ITEMS`] items run at once.
    parallel: bool,
    status: BatchStatusStatus,
    /// One slot per item, in the items' order, filled as each item finishes (under
    /// `allowParallelMode`, not necessarily in order).
    results: Vec<Option<ItemResult>>,
    /// How many items were handed out to run (they are handed out in order).
    started: usize,
    /// How many slots of `results` are filled.
    finished: usize,
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
        let parallel = query.flag("allowParallelMode")?.unwrap_or(false);
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
                results: items.iter().map(|_| None).collect(),
                items,
                stop_on_first_failure,
                parallel,
                status: BatchStatusStatus::Queued,
                started: 0,
                finished: 0,
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
        // The status is built from the spec's types without the items' answers, which are
        // then written into the text sent from where the batch keeps them: a batch of catalog
        // pages holds megabytes of them, not worth copying for every status read.
        let mut bodies = Vec::new();
        let responses = batch
            .results
            .iter()
            .zip(&batch.items)
            .filter_map(|(result, item)| Some(render(item, result.as_ref()?, &mut bodies)))
            .collect();
        let mut answer = Answer::ok(BatchStatus {
            status: batch.status,
            total_requests: Some(count(batch.items.len())),
            completed_requests: Some(count(batch.finished)),
            responses,
        });
        let key = if escaped {
            "escapedHttpBody"
        } else {
            "httpBody"
        };
        let sent = Sent {
            value: &answer.body,
            inner: Inner::Responses(bodies, key, escaped),
        };
        answer.text = Some(serde_json::to_string(&sent).expect("JSON values serialize"));
        answer.body = Value::Null;
        answer
    }

    /// Whether every batch has completed.
    pub(crate) fn settled(&self) -> bool {
        self.by_ticket
            .values()
            .all(|batch| batch.status == BatchStatusStatus::Completed)
    }

    /// Takes the store's next queued batch, unless the fake is paused, with how many of its
    /// items may run at once. An empty batch completes here.
    pub(crate) fn start_next(&mut self, store: StoreId) -> Option<(String, usize)> {
        if self.paused {
            return None;
        }
        let ticket = self.queues.get_mut(&store)?.pop_front()?;
        let batch = self.by_ticket.get_mut(&ticket)?;
        batch.status = if batch.items.is_empty() {
            BatchStatusStatus::Completed
        } else {
            BatchStatusStatus::InProgress
        };
        let at_once = if batch.parallel {
            MAX_PARALLEL_ITEMS
        } else {
            1
        };
        Some((ticket, at_once))
    }

    /// Hands out the next item of a running batch to run, with its endpoint and method;
    /// `None` when none is left to start (all started, or the batch stopped at a failure).
    pub(crate) fn start_item(&mut self, ticket: &str) -> Option<(usize, Option<Endpoint>, String)> {
        let batch = self.by_ticket.get_mut(ticket)?;
        let index = batch.started;
        let item = batch.items.get(index)?;
        batch.started += 1;
        let path = item
            .path
            .split_once('?')
            .map_or(item.path.as_str(), |(path, _)| path);
        let endpoint = Endpoint::from_store_path(batch.store, path);
        Some((index, endpoint, item.method.to_string()))
    }

    /// Item `index` of a batch, with its store and who it runs as: the token that created the
    /// batch, its changes recorded as the batch's.
    pub(crate) fn item_to_run(
        &self,
        ticket: &str,
        index: usize,
    ) -> Option<(StoreId, Caller, BatchRequestItem)> {
        let batch = self.by_ticket.get(ticket)?;
        let item = batch.items.get(index).cloned()?;
        let caller = Caller {
            token: batch.token,
            origin: Origin::Batch {
                ticket: ticket.to_owned(),
                created_by: batch.created_by,
                index,
            },
        };
        Some((batch.store, caller, item))
    }

    /// Records the answer item `index` of a running batch got; a failure in a batch that stops
    /// on it marks every item not yet started as not executed.
    pub(crate) fn finish_item(&mut self, ticket: &str, index: usize, answer: Answer) {
        let failed = !answer.status.is_success();
        let batch = self
            .by_ticket
            .get_mut(ticket)
            .expect("a running batch is never removed");
        batch.results[index] = Some(ItemResult {
            status: if failed {
                BatchResponseItemStatus::Failed
            } else {
                BatchResponseItemStatus::Completed
            },
            http: Some((answer.status, answer.body)),
        });
        batch.finished += 1;
        if failed && batch.stop_on_first_failure {
            for slot in &mut batch.results[batch.started..] {
                *slot = Some(ItemResult {
                    status: BatchResponseItemStatus::NotExecuted,
                    http: None,
                });
            }
            batch.finished += batch.items.len() - batch.started;
            batch.started = batch.items.len();
        }
        if batch.finished == batch.items.len() {
            batch.status = BatchStatusStatus::Completed;
        }
    }
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// A JSON object as sent, with more written into it: a status's `responses`, each with its
/// answer's body.
struct Sent<'a> {
    value: &'a Value,
    inner: Inner<'a>,
}

enum Inner<'a> {
    /// The bodies of a status's responses, in order, under the key given (escaped or not).
    Responses(Vec<Option<&'a Value>>, &'static str, bool),
    /// One response's body, under the key given (escaped or not).
    Body(Option<&'a Value>, &'static str, bool),
}

impl serde::Serialize for Sent<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};

        struct Each<'a>(&'a [Value], &'a [Option<&'a Value>], &'static str, bool);
        impl serde::Serialize for Each<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let Each(responses, bodies, key, escaped) = *self;
                let mut seq = serializer.serialize_seq(Some(responses.len()))?;
                for (value, body) in responses.iter().zip(bodies) {
                    seq.serialize_element(&Sent {
                        value,
                        inner: Inner::Body(*body, key, escaped),
                    })?;
                }
                seq.end()
            }
        }

        let fields = self.value.as_object().into_iter().flatten();
        let mut map = serializer.serialize_map(None)?;
        for (name, value) in fields {
            match &self.inner {
                Inner::Responses(bodies, key, escaped) if name == "responses" => {
                    let responses = value.as_array().map_or(&[][..], Vec::as_slice);
                    map.serialize_entry(name, &Each(responses, bodies, key, *escaped))?;
                }
                _ => map.serialize_entry(name, value)?,
            }
        }
        match &self.inner {
            Inner::Body(Some(body), key, true) => map.serialize_entry(key, &body.to_string())?,
            Inner::Body(Some(body), key, false) => map.serialize_entry(key, body)?,
            _ => {}
        }
        map.end()
    }
}

/// One item's result as the spec's type, without its answer's body, which is pushed to
/// `bodies` (in the order results are rendered) for the caller to put in place.
fn render<'a>(
    item: &BatchRequestItem,
    result: &'a ItemResult,
    bodies: &mut Vec<Option<&'a Value>>,
) -> BatchResponseItem {
    let (code, line) = match &result.http {
        Some((status, _)) => (
            Some(i32::from(status.as_u16())),
            Some(format!(
                "HTTP/1.1 {} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            )),
        ),
        None => (None, None),
    };
    bodies.push(result.http.as_ref().map(|(_, body)| body));
    BatchResponseItem {
        id: item.id.clone(),
        status: result.status,
        http_status_code: code,
        http_status_line: line,
        http_body: None,
        escaped_http_body: None,
    }
}
