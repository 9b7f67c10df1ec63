//! Scripted faults: what the next requests of a route meet instead of (or on top of) Ecwid, so
//! a test can see its code through the failures a real network and a real Ecwid have: an error
//! answer, a slow answer, a request lost on its way in, and the one that matters most for a
//! non-idempotent API, a change applied whose answer never arrives
//! ([`Fault::CloseAfterApplying`]).
//!
//! [`FakeStore::inject_fault`](crate::FakeStore::inject_fault) scripts the next `n` requests of
//! a [`Route`]; faults are met in the order scripted, before the token and the rate limit are
//! checked, and only by HTTP requests (a batch's items never meet one).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use ecwid_inventory::StockItem;
//! use ecwid_inventory_fake::faults::{Fault, Route};
//! use ecwid_inventory_fake::{demo, FakeStore};
//!
//! let fake = FakeStore::demo().await?;
//! let client = fake.client_builder(demo::TOKEN).build()?;
//!
//! // A proxy answers the next product read 503. A read is safe to repeat: the client reads again.
//! fake.inject_fault(Route::GetProduct, 1, Fault::respond(503, "<html>Down</html>"));
//! client.stock(StockItem::Product { product: demo::MUG }).send().await?;
//! let statuses: Vec<_> = fake.requests().iter().map(|r| r.status).collect();
//! assert_eq!(statuses, [Some(503), Some(200)]);
//! assert_eq!(fake.pending_faults(), 0);
//! # Ok(()) }
//! ```

use std::collections::VecDeque;
use std::time::Duration;

use ecwid_inventory::generated::types::EcwidError;

/// The requests a scripted [`Fault`] applies to, by the endpoint they call. One per endpoint
/// of the spec, so it grows with the spec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Route {
    /// `/{storeId}/products/{productId}/combinations/{combinationId}/inventory`, any method.
    VariationInventory,
    /// `/{storeId}/products/{productId}/inventory`, any method.
    ProductInventory,
    /// `GET /{storeId}/products` (search).
    SearchProducts,
    /// `GET /{storeId}/products/{productId}`.
    GetProduct,
    /// `PUT /{storeId}/products/{productId}`.
    UpdateProductStock,
    /// `GET /{storeId}/products/{productId}/combinations`.
    ListVariations,
    /// `GET /{storeId}/products/{productId}/combinations/{combinationId}`.
    GetVariation,
    /// `PUT /{storeId}/products/{productId}/combinations/{combinationId}`.
    UpdateVariationStock,
    /// `POST /{storeId}/batch`.
    BatchCreate,
    /// `GET /{storeId}/batch`.
    BatchStatus,
    /// `GET /{storeId}/orders` (search).
    SearchOrders,
    /// `GET /{storeId}/orders/{orderId}`.
    GetOrder,
    /// Every request, whatever its path (unknown paths included).
    Any,
}

/// What a scripted request meets. Script faults with
/// [`FakeStore::inject_fault`](super::FakeStore::inject_fault).
///
/// Faults act on HTTP requests only, before authentication and the rate limit: requests of a
/// batch, executed inside the fake, never meet one.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Answers with this response, as a proxy or a failing Ecwid would. Nothing is applied and
    /// the request does not count against the rate limit.
    Respond {
        /// The HTTP status.
        status: u16,
        /// Extra headers, such as `Retry-After`. Without a `Content-Type` here, the body is sent
        /// as `application/json` when it parses as JSON and as `text/plain` otherwise.
        headers: Vec<(String, String)>,
        /// The body, sent as is.
        body: String,
    },
    /// Waits this long, then handles the request normally (a slow Ecwid: lets a client's
    /// timeout fire while the adjustment still lands). The request completes even if the client
    /// hangs up meanwhile, unless the fake is dropped first.
    Delay(Duration),
    /// Reads the request, applies nothing, and drops the connection without a response (a
    /// request lost on its way in: safe to send again, though the client cannot know that).
    CloseBeforeApplying,
    /// Handles the request normally (applied, and recorded in the ledger), then drops the
    /// connection without a response: the case where a blind retry applies a delta twice.
    CloseAfterApplying,
}

impl Fault {
    /// A response with this status and raw body.
    pub fn respond(status: u16, body: impl Into<String>) -> Self {
        Fault::Respond {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// A response in Ecwid's error format, `{"errorMessage": ..., "errorCode": ...}`.
    pub fn ecwid_error(status: u16, code: &str, message: &str) -> Self {
        let error = EcwidError {
            error_code: Some(code.to_owned()),
            error_message: Some(message.to_owned()),
            args: Default::default(),
            extra: Default::default(),
        };
        Fault::respond(
            status,
            serde_json::to_string(&error).expect("an EcwidError serializes"),
        )
    }

    /// Adds a header to a [`Fault::Respond`]; other faults are returned unchanged.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        if let Fault::Respond { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }
}

#[derive(Debug)]
struct Scripted {
    route: Route,
    remaining: usize,
    fault: Fault,
}

/// The faults still to be met, in the order they were scripted.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    scripted: VecDeque<Scripted>,
}

impl FaultQueue {
    pub(crate) fn push(&mut self, route: Route, times: usize, fault: Fault) {
        if times > 0 {
            self.scripted.push_back(Scripted {
                route,
                remaining: times,
                fault,
            });
        }
    }

    /// Takes one use of the earliest fault scripted for a request of `route` (`None` when the
    /// path is no known endpoint: only [`Route::Any`] faults match it).
    pub(crate) fn take(&mut self, route: Option<Route>) -> Option<Fault> {
        let index = self
            .scripted
            .iter()
            .position(|s| s.route == Route::Any || Some(s.route) == route)?;
        let scripted = &mut self.scripted[index];
        scripted.remaining -= 1;
        let fault = scripted.fault.clone();
        if scripted.remaining == 0 {
            self.scripted.remove(index);
        }
        Some(fault)
    }

    pub(crate) fn clear(&mut self) {
        self.scripted.clear();
    }

    pub(crate) fn pending(&self) -> usize {
        self.scripted.iter().map(|s| s.remaining).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_taken_in_order_per_route() {
        let mut queue = FaultQueue::default();
        queue.push(Route::ProductInventory, 2, Fault::CloseBeforeApplying);
        queue.push(Route::Any, 1, Fault::CloseAfterApplying);
        assert_eq!(
            queue.take(Some(Route::ProductInventory)),
            Some(Fault::CloseBeforeApplying)
        );
        // A variation request skips the product fault and meets the catch-all one.
        assert_eq!(
            queue.take(Some(Route::VariationInventory)),
            Some(Fault::CloseAfterApplying)
        );
        assert_eq!(queue.take(None), None);
        assert_eq!(queue.pending(), 1);
        assert_eq!(
            queue.take(Some(Route::ProductInventory)),
            Some(Fault::CloseBeforeApplying)
        );
        assert_eq!(queue.take(Some(Route::ProductInventory)), None);
    }
}
