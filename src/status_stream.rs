//! A read batch's status, read item by item as its body arrives: what keeps a catalog read's
//! memory flat. A completed batch of 500 page reads answers some 13 MB of JSON; parsed whole
//! into one document it took over ten times that. Here the body is pulled a network chunk at a
//! time, each element of its `responses` array is cut out and parsed alone (one page, some
//! 25 KB of text), and handed to the caller before the next chunk is pulled: the caller's pace
//! drives the reading, so nothing piles up between the two (no buffer past one chunk's
//! elements).
//!
//! Everything outside `responses` (the status, the counts) is kept as text and parsed at the
//! end, so a body that is not the documented JSON fails as the whole document's parse did.
//! The status is read as soon as its value is complete: a status that is not `COMPLETED` is
//! read no further than its counts (`completedRequests` of `totalRequests`, when they come
//! before `responses`, for the poll to time its next read by them) and dropped (a poll), and
//! one that is yields its items. Should `responses` come before
//! `status`, or a key be escaped, the elements wait, or the array is kept with the rest: the
//! answer is the same, only held longer.
//!
//! Each item is scrubbed of the token as it is parsed, as a whole status was before.

use std::{collections::VecDeque, future::poll_fn, pin::Pin};

use bytes::Bytes;
use futures_core::Stream;
use progenitor_client::{ClientHooks, ClientInfo, OperationInfo, ResponseValue};

use crate::{
    batch::{into_item_result, ItemOrder, ItemResult},
    client::{CallFailed, CallOptions},
    generated::types::{BatchRequestItem, BatchResponseItem, BatchStatus, BatchStatusStatus},
    polling::Pace,
    reads::unreadable,
    retry::Repeat,
    transport::{Redactor, Scrub},
    Client, Error, RequestOptions,
};

type Body = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// A status's body not yet read: its parts are scrubbed as they are parsed
/// ([`StatusItems`]), not here.
pub(crate) struct RawBody(Body);

impl Scrub for RawBody {
    fn scrub(&mut self, _: &Redactor) {}
}

impl Client {
    /// Runs reads (`GET` requests) as one batch, as [`Client::read_batch`] does, and returns
    /// the answers as they are read from its completed status: each one's id and the body it
    /// was answered with, or the error it met. Its status reads go out on the schedule `pace`
    /// gives, which then learns what this batch took.
    pub(crate) async fn stream_read_batch(
        &self,
        requests: &[BatchRequestItem],
        pace: &mut Pace,
        options: &RequestOptions,
    ) -> Result<ReadAnswers, Error> {
        let key = uuid::Uuid::new_v4().to_string();
        let deadline = options.deadline.unwrap_or(self.inner.deadline);
        let ticket = self
            .create_batch(
                &key,
                requests,
                ItemOrder::Parallel,
                Repeat::Always,
                deadline,
                options.timeout,
            )
            .await
            .map_err(CallFailed::into_error)?;
        let mut schedule = pace.schedule(requests.len(), tokio::time::Instant::now());
        loop {
            let Some(pause) = schedule.next_pause(tokio::time::Instant::now()) else {
                return Err(unreadable(format!(
                    "Ecwid had not completed the read batch {ticket} after {:?} of polling",
                    pace.polling().timeout_or_default()
                )));
            };
            tokio::time::sleep(pause).await;
            let sent = tokio::time::Instant::now();
            let read = options.apply(CallOptions::new("get_batch_status", Repeat::Always));
            let mut status = self
                .batch_status_items(&ticket, read)
                .await
                .map_err(CallFailed::into_error)?;
            if status.status().await? == BatchStatusStatus::Completed {
                pace.completed(&schedule, sent);
                return Ok(ReadAnswers { status });
            }
            // The counts are a hint for when to read again: a status not completed whose rest
            // cannot be read is dropped, as one without them, and polled on.
            if let Ok(Some((completed, total))) = status.counts().await {
                schedule.in_progress(sent, completed, total);
            }
        }
    }

    /// Reads the status of the batch `ticket` once (a read: safe to repeat), its body left to
    /// be read item by item.
    async fn batch_status_items(
        &self,
        ticket: &str,
        options: CallOptions,
    ) -> Result<StatusItems, CallFailed> {
        let store = self.store();
        let body = self
            .send_until(options, move |raw| async move {
                use progenitor_client::Error as Raw;
                // The request the generated `get_batch_status` sends, through the same hook;
                // only its success's body is left unread.
                let url = format!("{}/{}/batch", raw.baseurl(), store);
                let request = raw
                    .client()
                    .get(url)
                    .header(reqwest::header::ACCEPT, "application/json")
                    .query(&[("ticket", ticket)])
                    .build()
                    .map_err(Raw::from)?;
                let info = OperationInfo {
                    operation_id: "get_batch_status",
                };
                let response = raw.exec(request, &info).await?;
                match response.status().as_u16() {
                    200 => Ok(ResponseValue::new(
                        RawBody(Box::pin(response.bytes_stream())),
                        reqwest::StatusCode::OK,
                        reqwest::header::HeaderMap::new(),
                    )),
                    400 | 403 | 404 | 429 | 500 => Err(Raw::ErrorResponse(
                        ResponseValue::from_response(response).await?,
                    )),
                    _ => Err(Raw::UnexpectedResponse(response)),
                }
            })
            .await?;
        Ok(StatusItems::new(body.0, self.inner.redactor.clone()))
    }
}

/// The answers of a completed read batch, read one at a time from its status.
pub(crate) struct ReadAnswers {
    status: StatusItems,
}

impl ReadAnswers {
    /// The next answer, by the id its request was given (an answer without an id is passed
    /// over); `None` once the status was read to its end. Fails when the status cannot be
    /// read; a read applied nothing, so neither did any error.
    pub(crate) async fn next(
        &mut self,
    ) -> Result<Option<(String, Result<serde_json::Value, Error>)>, Error> {
        while let Some(mut response) = self.status.next_item().await? {
            let Some(id) = response.id.take() else {
                continue;
            };
            let answer = match into_item_result(response) {
                ItemResult::Answered(body) => Ok(body),
                ItemResult::Refused(error) => Err(error.of_a_read()),
                ItemResult::NotExecuted => Err(Error::NotExecuted),
                ItemResult::Unclear(what) => Err(Error::InvalidResponse {
                    status: None,
                    detail: format!("a search result that cannot be read: {what}"),
                    read: true,
                }),
            };
            return Ok(Some((id, answer)));
        }
        Ok(None)
    }
}

/// A status's body being read: its status as soon as it is known, then its items.
pub(crate) struct StatusItems {
    body: Option<Body>,
    scan: Scanner,
    redactor: std::sync::Arc<Redactor>,
    /// Items of a status written without `responses` streamed (see the module docs).
    rest: VecDeque<BatchResponseItem>,
    /// The status, once known.
    status: Option<BatchStatusStatus>,
}

impl StatusItems {
    fn new(body: Body, redactor: std::sync::Arc<Redactor>) -> Self {
        Self {
            body: Some(body),
            scan: Scanner::default(),
            redactor,
            rest: VecDeque::new(),
            status: None,
        }
    }

    /// The batch's status, reading as far as needed to know it.
    pub(crate) async fn status(&mut self) -> Result<BatchStatusStatus, Error> {
        loop {
            if let Some(status) = self.status.or(self.scan.status) {
                return Ok(status);
            }
            if !self.pull().await? {
                return Ok(self.status.unwrap_or(BatchStatusStatus::Queued));
            }
        }
    }

    /// The batch's `completedRequests` and `totalRequests`, when they come before its
    /// `responses` (as Ecwid documents them, and the fake sends them): read no further than
    /// the start of the array, so a status not completed costs no more than its head. `None`
    /// when either is missing there; an error when the body cannot be read that far.
    pub(crate) async fn counts(&mut self) -> Result<Option<(u64, u64)>, Error> {
        loop {
            if let (Some(completed), Some(total)) = (self.scan.completed, self.scan.total) {
                return Ok(Some((completed, total)));
            }
            if self.scan.in_responses || !self.scan.elements.is_empty() || !self.pull().await? {
                return Ok(None);
            }
        }
    }

    /// The next item, or `None` at the end of the status.
    pub(crate) async fn next_item(&mut self) -> Result<Option<BatchResponseItem>, Error> {
        loop {
            if let Some(element) = self.scan.elements.pop_front() {
                let mut item: BatchResponseItem =
                    serde_json::from_slice(&element).map_err(|e| self.not_json(&e))?;
                item.scrub(&self.redactor);
                return Ok(Some(item));
            }
            if self.body.is_none() {
                return Ok(self.rest.pop_front());
            }
            self.pull().await?;
        }
    }

    /// Reads the next chunk of the body; at its end, the rest of the status. `false` once
    /// there is nothing more to read.
    async fn pull(&mut self) -> Result<bool, Error> {
        let Some(body) = &mut self.body else {
            return Ok(false);
        };
        match poll_fn(|cx| body.as_mut().poll_next(cx)).await {
            Some(Ok(chunk)) => {
                self.scan.feed(&chunk);
                Ok(true)
            }
            Some(Err(source)) => Err(Error::InvalidResponse {
                status: Some(200),
                detail: format!("the body could not be read: {source}"),
                read: true,
            }),
            None => {
                self.body = None;
                let mut rest: BatchStatus =
                    serde_json::from_slice(&self.scan.skeleton).map_err(|e| self.not_json(&e))?;
                rest.scrub(&self.redactor);
                self.status = Some(rest.status);
                self.rest = rest.responses.into();
                self.scan.skeleton = Vec::new();
                Ok(false)
            }
        }
    }

    /// The error of a status that is not the documented JSON, as the generated client's parse
    /// gives it.
    fn not_json(&self, error: &serde_json::Error) -> Error {
        let mut why = error.to_string();
        why.scrub(&self.redactor);
        Error::InvalidResponse {
            status: Some(200),
            detail: format!("the body is not the documented JSON: {why}"),
            read: true,
        }
    }
}

/// Cuts a status's text as it comes: each element of its top-level `responses` array apart,
/// the rest (with an empty array in its place) as `skeleton`. It follows strings and nesting
/// only; the parses of the parts check everything else.
#[derive(Default)]
struct Scanner {
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// Inside the top-level object, a key comes next.
    key_next: bool,
    /// The raw text of the top-level key being read, then of the last one read.
    key: Vec<u8>,
    reading_key: bool,
    /// The raw text of the top-level `status` string while it is read.
    status_text: Option<Vec<u8>>,
    status: Option<BatchStatusStatus>,
    /// The text of a top-level value while it is read (up to its first nested part or
    /// string's quote, which no count has).
    count_text: Vec<u8>,
    /// The top-level `completedRequests` and `totalRequests`, once read.
    completed: Option<u64>,
    total: Option<u64>,
    /// Inside the top-level `responses` array.
    in_responses: bool,
    /// The element being cut out, and whether it is an object or array (else a scalar).
    element: Option<(Vec<u8>, bool)>,
    elements: VecDeque<Vec<u8>>,
    skeleton: Vec<u8>,
}

impl Scanner {
    fn feed(&mut self, chunk: &[u8]) {
        for &byte in chunk {
            self.byte(byte);
        }
    }

    fn byte(&mut self, byte: u8) {
        // An element of `responses`: cut out whole.
        if let Some((element, nested)) = &mut self.element {
            if self.in_string {
                element.push(byte);
                if self.escaped {
                    self.escaped = false;
                } else if byte == b'\\' {
                    self.escaped = true;
                } else if byte == b'"' {
                    self.in_string = false;
                }
                return;
            }
            let nested = *nested;
            match byte {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' if self.depth > 2 => self.depth -= 1,
                b',' | b']' if !nested || self.depth == 2 => {
                    // A scalar ends before the comma or the array's end.
                    let (element, _) = self.element.take().unwrap_or_default();
                    self.elements.push_back(element);
                    self.outside_element(byte);
                    return;
                }
                _ => {}
            }
            if let Some((element, _)) = &mut self.element {
                element.push(byte);
            }
            if nested && self.depth == 2 {
                let (element, _) = self.element.take().unwrap_or_default();
                self.elements.push_back(element);
            }
            return;
        }
        self.outside_element(byte);
    }

    /// A byte outside every element of `responses`.
    fn outside_element(&mut self, byte: u8) {
        if self.in_string {
            self.skeleton.push(byte);
            if self.reading_key {
                self.key.push(byte);
            }
            if let Some(text) = &mut self.status_text {
                text.push(byte);
            }
            if self.escaped {
                self.escaped = false;
            } else if byte == b'\\' {
                self.escaped = true;
            } else if byte == b'"' {
                self.in_string = false;
                self.reading_key = false;
                if let Some(text) = self.status_text.take() {
                    self.status = serde_json::from_slice(&text).ok();
                }
            }
            return;
        }
        if self.in_responses && self.depth == 2 {
            match byte {
                b']' => {
                    self.in_responses = false;
                    self.depth -= 1;
                    self.skeleton.push(byte);
                }
                b',' | b' ' | b'\n' | b'\r' | b'\t' => {}
                _ => {
                    let nested = matches!(byte, b'{' | b'[');
                    if nested {
                        self.depth += 1;
                    } else if byte == b'"' {
                        self.in_string = true;
                    }
                    self.element = Some((vec![byte], nested));
                }
            }
            return;
        }
        self.skeleton.push(byte);
        let in_value = self.depth == 1 && !self.key_next;
        if in_value && !matches!(byte, b',' | b'}' | b':') && !byte.is_ascii_whitespace() {
            self.count_text.push(byte);
        }
        match byte {
            b'"' => {
                self.in_string = true;
                if self.depth == 1 && self.key_next {
                    self.reading_key = true;
                    self.key.clear();
                    self.key.push(byte);
                } else if self.depth == 1 && self.key == b"\"status\"" {
                    self.status_text = Some(vec![byte]);
                }
            }
            b'{' | b'[' => {
                self.depth += 1;
                if self.depth == 1 {
                    self.key_next = byte == b'{';
                } else if self.depth == 2 && byte == b'[' && self.key == b"\"responses\"" {
                    self.in_responses = true;
                }
            }
            b'}' | b']' => {
                if self.depth == 1 {
                    self.count_read();
                }
                self.depth = self.depth.saturating_sub(1);
            }
            b',' if self.depth == 1 => {
                self.count_read();
                self.key_next = true;
            }
            b':' if self.depth == 1 => self.key_next = false,
            _ => {}
        }
    }

    /// At the end of a top-level value: the count it was, if its key is one of the two.
    fn count_read(&mut self) {
        let digits = std::mem::take(&mut self.count_text);
        let count = std::str::from_utf8(&digits)
            .ok()
            .and_then(|d| d.parse().ok());
        match self.key.as_slice() {
            b"\"completedRequests\"" => self.completed = count.or(self.completed),
            b"\"totalRequests\"" => self.total = count.or(self.total),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(text: &str, chunk: usize) -> Scanner {
        let mut scan = Scanner::default();
        for part in text.as_bytes().chunks(chunk) {
            scan.feed(part);
        }
        scan
    }

    /// Whatever the chunks, the elements come out whole and the rest parses as the status
    /// with an empty array; strings holding brackets, commas and escaped quotes change nothing.
    #[test]
    fn a_status_is_cut_into_its_elements_and_the_rest() {
        let text = r#" { "status" : "COMPLETED", "totalRequests":2, "responses" : [ {"id":"p0","status":"COMPLETED","httpBody":{"items":[{"sku":"a]\"},{"}]}} , {"id":"p1","status":"FAILED","httpBody":[1,[2]]} ], "completedRequests": 2 } "#;
        for chunk in [1, 2, 3, 7, 1000] {
            let scan = cut(text, chunk);
            assert_eq!(scan.status, Some(BatchStatusStatus::Completed), "{chunk}");
            let elements: Vec<serde_json::Value> = scan
                .elements
                .iter()
                .map(|e| serde_json::from_slice(e).unwrap())
                .collect();
            assert_eq!(
                elements,
                [
                    serde_json::json!({"id":"p0","status":"COMPLETED","httpBody":{"items":[{"sku":"a]\"},{"}]}}),
                    serde_json::json!({"id":"p1","status":"FAILED","httpBody":[1,[2]]}),
                ],
                "{chunk}"
            );
            let rest: serde_json::Value = serde_json::from_slice(&scan.skeleton).unwrap();
            assert_eq!(
                rest,
                serde_json::json!({"status":"COMPLETED","totalRequests":2,"responses":[],"completedRequests":2}),
                "{chunk}"
            );
        }
    }

    /// The top-level counts are read as they pass, whatever the chunks; a count that is not
    /// a whole number, or one nested deeper, is none.
    #[test]
    fn the_counts_are_read_as_they_pass() {
        let text = r#"{"status":"IN_PROGRESS", "totalRequests" : 500 ,"completedRequests":120,"responses":[{"completedRequests":7}]}"#;
        for chunk in [1, 2, 5, 1000] {
            let scan = cut(text, chunk);
            assert_eq!(
                (scan.completed, scan.total),
                (Some(120), Some(500)),
                "{chunk}"
            );
        }
        let text =
            r#"{"x":{"totalRequests":3},"completedRequests":1.5,"totalRequests":"9","y":[1]}"#;
        let scan = cut(text, 3);
        assert_eq!((scan.completed, scan.total), (None, None));
        let scan = cut(r#"{"completedRequests":4,"totalRequests":8}"#, 2);
        assert_eq!(
            (scan.completed, scan.total),
            (Some(4), Some(8)),
            "the last key"
        );
    }

    /// Scalars in the array are elements too (for their parse to refuse); a `status` nested
    /// deeper, or a key's value named "status", is not the batch's.
    #[test]
    fn only_the_top_level_status_and_responses_count() {
        let text = r#"{"x":{"status":"COMPLETED"},"y":"status","responses":[1,"a,b",null],"status":"QUEUED"}"#;
        let scan = cut(text, 4);
        assert_eq!(scan.status, Some(BatchStatusStatus::Queued));
        let elements: Vec<&[u8]> = scan.elements.iter().map(Vec::as_slice).collect();
        assert_eq!(elements, [&b"1"[..], b"\"a,b\"", b"null"]);
    }
}
