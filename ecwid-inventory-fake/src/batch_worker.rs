//! The batch workers, one per store: each takes its store's queued batches in turn and runs
//! their items through the same checks as a REST request (minus the rate limit and the content
//! type), one after another, or up to [`MAX_PARALLEL_ITEMS`] at once under `allowParallelMode`.
//!
//! [`MAX_PARALLEL_ITEMS`]: super::batch::MAX_PARALLEL_ITEMS

use std::sync::Arc;

use hyper::StatusCode;
use serde_json::Value;
use tokio::sync::Notify;
use tokio::task::JoinSet;

use super::answer::Answer;
use super::config::Config;
use super::request::{Body, Endpoint};
use super::shared::Shared;
use super::state::State;
use ecwid_inventory::StoreId;

impl State {
    /// Runs item `index` of a running batch and records its result.
    fn run_batch_item(&mut self, config: &Config, ticket: &str, index: usize) {
        let Some((store, caller, item)) = self.batches.item_to_run(ticket, index) else {
            return;
        };
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
                Body::Json(Value::Object(item.body)),
            ),
            None => Answer::error(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                format!("No API endpoint at {path}"),
            ),
        };
        self.batches.finish_item(ticket, index, answer);
    }
}

/// A store's batch worker: runs its queued batches one after another. A batch's items run one
/// at a time in order, or up to [`MAX_PARALLEL_ITEMS`] at once under `allowParallelMode`
/// (started in order, finished in any order, as in Ecwid). Each item runs under the lock (so
/// atomic, like a REST request), after the configured item delay and, for a product search,
/// the page time: waits that parallel items spend together.
///
/// [`MAX_PARALLEL_ITEMS`]: super::batch::MAX_PARALLEL_ITEMS
pub(crate) async fn worker(shared: Arc<Shared>, store: StoreId, wake: Arc<Notify>) {
    loop {
        let notified = wake.notified();
        tokio::pin!(notified);
        // Registered before looking at the queue, so a batch queued meanwhile still wakes us.
        notified.as_mut().enable();
        let next = shared.lock().batches.start_next(store);
        let Some((ticket, at_once)) = next else {
            notified.await;
            continue;
        };
        tracing::debug!(%store, %ticket, at_once, "fake store: batch started");
        let mut running = JoinSet::new();
        loop {
            while running.len() < at_once {
                let Some((index, endpoint, method)) = shared.lock().batches.start_item(&ticket)
                else {
                    break;
                };
                let wait =
                    shared.config.batch_item_delay + shared.config.server_time(endpoint, &method);
                let (shared, ticket) = (Arc::clone(&shared), ticket.clone());
                running.spawn(async move {
                    if !wait.is_zero() {
                        tokio::time::sleep(wait).await;
                    }
                    shared.lock().run_batch_item(&shared.config, &ticket, index);
                    shared.changed();
                });
            }
            if running.join_next().await.is_none() {
                break;
            }
        }
        tracing::debug!(%store, %ticket, "fake store: batch completed");
        shared.changed();
    }
}
