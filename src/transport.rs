//! The hooks the generated client runs around every request it sends.
//!
//! progenitor's errors drop the HTTP status when a body cannot be parsed, yet the status decides
//! whether a delta may have been applied (an unreadable 200 is not an unreadable 404). So the
//! `exec` hook records the status and headers of each response in the call's [`CallContext`],
//! and the wrapper reads them back when it maps the outcome into [`crate::Error`].

use std::{
    sync::{Arc, OnceLock},
    time::Duration,
};

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::StatusCode;

use crate::{error::retry_after, generated};

/// What one call of the generated client saw on the wire. Each attempt builds a fresh one.
#[derive(Clone, Debug, Default)]
pub struct CallContext {
    seen: Arc<OnceLock<Seen>>,
}

/// What the error mapping needs from the head of the response.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seen {
    pub(crate) status: StatusCode,
    /// `Retry-After`, read only from error answers.
    pub(crate) retry_after: Option<Duration>,
}

impl CallContext {
    /// The head of the response the call received, if any arrived.
    pub(crate) fn seen(&self) -> Option<Seen> {
        self.seen.get().copied()
    }
}

impl ClientHooks<CallContext> for generated::Client {
    async fn exec(
        &self,
        request: reqwest::Request,
        _info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let response = self.client().execute(request).await?;
        let status = response.status();
        let retry_after = if status.is_success() {
            None
        } else {
            retry_after(response.headers())
        };
        // One response per context: each attempt builds a fresh one.
        let _ = self.inner().seen.set(Seen {
            status,
            retry_after,
        });
        Ok(response)
    }
}
