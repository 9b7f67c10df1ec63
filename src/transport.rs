//! The hooks the generated client runs around every request it sends.
//!
//! progenitor's errors drop the HTTP status when a body cannot be parsed, yet the status decides
//! whether a delta may have been applied (an unreadable 200 is not an unreadable 404). So the
//! `exec` hook records the status and headers of each response in the call's [`CallContext`],
//! and the wrapper reads them back when it maps the outcome into [`crate::Error`].

use std::sync::{Arc, Mutex, PoisonError};

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::{header::HeaderMap, StatusCode};

use crate::generated;

/// What one call of the generated client saw on the wire. Each attempt builds a fresh one.
#[derive(Clone, Debug, Default)]
pub struct CallContext {
    seen: Arc<Mutex<Option<Seen>>>,
}

/// The head of the response, kept for the error mapping.
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
}

impl CallContext {
    /// The head of the response the call received, if any arrived.
    pub(crate) fn seen(&self) -> Option<Seen> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn record(&self, seen: Seen) {
        *self.seen.lock().unwrap_or_else(PoisonError::into_inner) = Some(seen);
    }
}

impl ClientHooks<CallContext> for generated::Client {
    async fn exec(
        &self,
        request: reqwest::Request,
        _info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let response = self.client().execute(request).await?;
        self.inner().record(Seen {
            status: response.status(),
            headers: response.headers().clone(),
        });
        Ok(response)
    }
}
