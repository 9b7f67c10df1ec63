//! What does not change once the fake is started: its tokens, its rate limit, the time it
//! takes over some requests, the wakers of its batch workers, and where its webhooks go.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::auth::FakeToken;
use super::faults::Route;
use super::request::Endpoint;
use super::webhooks::WebhookTarget;
use ecwid_inventory::{RateLimit, StoreId};

/// What does not change once the fake is started.
#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) tokens: Vec<FakeToken>,
    pub(crate) rate_limit: Option<RateLimit>,
    pub(crate) batch_item_delay: Duration,
    /// How long the store takes to build one product search page.
    pub(crate) search_page_time: Duration,
    /// Wakes each store's batch worker.
    pub(crate) batch_wakers: HashMap<StoreId, Arc<Notify>>,
    /// Where webhooks go, if anywhere.
    pub(crate) webhooks: Option<WebhookTarget>,
}

impl Config {
    /// The time the store spends on a request before answering it, whether it came over HTTP
    /// or in a batch: a product search's page time, nothing for any other.
    pub(crate) fn server_time(&self, endpoint: Option<Endpoint>, method: &str) -> Duration {
        match endpoint.and_then(|endpoint| endpoint.route(method)) {
            Some(Route::SearchProducts) => self.search_page_time,
            _ => Duration::ZERO,
        }
    }
}
