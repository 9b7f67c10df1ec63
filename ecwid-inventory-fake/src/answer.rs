//! What the fake answers: a status, a JSON body built from the spec's generated types, and any
//! extra headers; errors in Ecwid's format.

use hyper::StatusCode;
use serde::Serialize;
use serde_json::Value;

use ecwid_inventory::generated::types::EcwidError;

/// One answer: a status and a JSON body, plus any extra headers.
#[derive(Clone, Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
    pub(crate) headers: Vec<(&'static str, String)>,
    /// The body already written as JSON text, sent instead of `body` (then `null`): for an
    /// answer too large to be worth building as a value first (a batch's status).
    pub(crate) text: Option<String>,
}

impl Answer {
    pub(crate) fn ok(body: impl Serialize) -> Self {
        Answer {
            status: StatusCode::OK,
            body: serde_json::to_value(body).expect("generated types serialize"),
            headers: Vec::new(),
            text: None,
        }
    }

    /// An error in Ecwid's format, built from the spec's `EcwidError`.
    pub(crate) fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        let body = EcwidError {
            error_code: Some(code.to_owned()),
            error_message: Some(message.into()),
            args: Default::default(),
            extra: Default::default(),
        };
        Answer {
            status,
            ..Answer::ok(body)
        }
    }

    /// 400 `WRONG_PARAMETER`: what Ecwid answers to a malformed request.
    pub(crate) fn wrong_parameter(message: impl Into<String>) -> Self {
        Answer::error(StatusCode::BAD_REQUEST, "WRONG_PARAMETER", message)
    }
}
