//! A typed, retry-safe Rust client for Ecwid's stock-adjustment API.
//!
//! The raw client is generated at build time from `spec/ecwid-inventory.yaml` (reachable as
//! [`generated`]); this crate wraps it with typed ids, request builders, one [`Error`] that says
//! whether a delta may have been applied, safe retries, a client-side rate limiter, and (with
//! the `webhooks` feature) verified, typed Ecwid webhooks (`ecwid_inventory::webhooks`), and
//! (with `sales`) Ecwid's own sales as stock movements recorded exactly once
//! (`ecwid_inventory::sales`). Its stateful fake Ecwid store for tests is a package of its own,
//! [`ecwid-inventory-fake`](https://docs.rs/ecwid-inventory-fake), which the examples here use.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use ecwid_inventory::{Client, CombinationId, Error, ProductId, StockAdjustment, StoreId};
//! # let fake = ecwid_inventory_fake::FakeStore::demo().await?;
//! # let base_url = fake.base_url();
//! # let (product, combination) = ecwid_inventory_fake::demo::SMALL_TEE;
//!
//! let client = Client::builder(StoreId::new(1003), "secret_token")
//!     .base_url(base_url) // default: https://app.ecwid.com/api/v3
//!     .timeout(std::time::Duration::from_secs(20))
//!     .build()?;
//! let adj: StockAdjustment = client
//!     .adjust_variation_stock(product, combination, -10)
//!     .check_low_stock_notification(true)
//!     .send()
//!     .await?;
//! assert_eq!(adj.update_count(), 1);
//! # Ok(()) }
//! ```
//!
//! # Errors, and what to do after one
//!
//! Every call returns one [`Error`], and the most important thing it says is
//! [`Error::may_have_been_applied`]: a stock delta is not idempotent, so sending it again after
//! an error that may have applied it could move the stock twice. A read (a search, a product,
//! variation or order read, a batch of reads, a batch's status) applies nothing: every error of
//! a read says `false`, and its text never says otherwise.
//!
//! | variant | when | may have been applied | retried automatically |
//! |---|---|---|---|
//! | [`Config`](Error::Config) | bad token, base URL, environment, durations, a webhook verifier's or the sales' settings | no (nothing sent) | no |
//! | [`InvalidInput`](Error::InvalidInput) | zero id or delta, a delta or count out of range, a bad SKU, order id, order filter, key, per-call setting, bulk setting or plan, webhook event id, sales cursor of another store | no (nothing sent) | no |
//! | [`Connect`](Error::Connect) | connection refused, DNS or TLS failure, connect timeout | no (never reached Ecwid) | yes, capped exponential backoff with full jitter |
//! | [`RateLimited`](Error::RateLimited) (429) | over Ecwid's limit; Ecwid ignores the request | no | yes, after `Retry-After` (HTTP date or seconds; 1 to 2 s when absent), unless longer than the cap or past the deadline |
//! | [`Api`](Error::Api) 4xx | refused (400, 402, 403, 404, 405, 408, 409, 415, 422, and any 3xx) | no | no |
//! | [`Api`](Error::Api) 5xx | the server failed while handling it | **yes** for a write; no for a read | reads, sets, batch creates and status reads: yes, they are safe to repeat; a delta: only [exactly once](AdjustStock::exactly_once) |
//! | [`Timeout`](Error::Timeout) | no answer within the attempt's timeout or the call's deadline | **yes** for a write; no for a read | as for a 5xx |
//! | [`Transport`](Error::Transport) | connection lost after the request may have been written | **yes** for a write; no for a read | as for a 5xx |
//! | [`InvalidResponse`](Error::InvalidResponse) | a 2xx whose body cannot be read, or a search whose pages would never end | **yes** for a write; no for a read (a search's pages are one) | as for a 5xx (a search's pages: no) |
//! | [`TokenRejected`](Error::TokenRejected) | an earlier `403 INVALID_API_TOKEN` stopped this client | no (nothing sent) | no |
//! | [`Closed`](Error::Closed) | the client was [closed](Client::close) | no (nothing sent) | no |
//! | [`DeadlineExceeded`](Error::DeadlineExceeded) | the deadline passed, or too little of it was left for an attempt, before the request could be sent | no (nothing sent) | no |
//! | [`OutcomeUnknown`](Error::OutcomeUnknown) | an [exactly-once](AdjustStock::exactly_once) call whose outcome could not be learned before its deadline or its key's window | **yes** | it already was, until then |
//! | [`KeyExpired`](Error::KeyExpired) | a [keyed](AdjustStock::exactly_once_key) exactly-once call whose first attempt is older than the key's 55-minute window | **yes** (an earlier attempt may have been) | no: it is not sent; read the stock |
//! | [`NotExecuted`](Error::NotExecuted) | Ecwid skipped the request (an item of a batch) | no | no |
//! | `RateLimiterUnavailable` | the shared limiter's Redis could not be reached before the deadline (feature `redis`) | no (nothing sent) | no |
//! | [`Journal`](Error::Journal) | the journal's database failed: unreachable, a statement failed, a newer schema, a run another worker took over (feature `journal`); the same for the sales kept in it (feature `sales`) | no (nothing sent) | no |
//!
//! **After `may_have_been_applied() == true`**, do not send the delta again blindly: read the
//! item's stock from Ecwid (or compare with your own record of what you sent) and send only what
//! is still missing. For many adjustments, [`Client::bulk_adjust`] is exactly-once: its batch
//! creates carry a deduplication key, so they are safe to repeat. Dropping a `send()` future
//! before it completes leaves the client usable, but the outcome of a request already sent is
//! then unknown in the same way.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod adjust;
mod batch;
mod builder;
mod bulk;
mod catalog;
mod client;
mod error;
mod exactly_once;
pub mod generated;
mod ids;
mod limiter;
mod options;
mod order_status;
pub mod orders;
mod paging;
mod reads;
mod retry;
mod sets;
mod settings;
mod stock;
mod sync;
mod time;
mod transport;

pub use adjust::AdjustStock;
pub use batch::KEY_WINDOW;
pub use builder::{
    ClientBuilder, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT, DEFAULT_DEADLINE,
    DEFAULT_MIN_ATTEMPT_TIME, DEFAULT_TIMEOUT,
};
pub use bulk::{
    BulkItem, BulkPlan, BulkReport, BulkRun, BulkSummary, ItemOutcome, Progress, MAX_BATCH_SIZE,
    PLAN_FORMAT_VERSION,
};
pub use catalog::{
    CatalogCursor, CatalogStock, CatalogStream, CURSOR_FORMAT_VERSION, CURSOR_OVERLAP,
};
pub use client::Client;
pub use error::Error;
pub use ids::{CombinationId, OrderId, ProductId, StoreId};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use limiter::redis::{RedisRateLimit, WhenRedisUnavailable};
pub use limiter::RateLimit;
pub use options::{RequestOptions, SendFuture};
pub use order_status::{FulfillmentStatus, PaymentStatus};
pub use reads::{FindSku, FindSkus, ReadStock, SkuMatch, SkuReport};
pub use retry::RetryPolicy;
pub use sets::{SetStock, MAX_QUANTITY};
pub use settings::MAX_SETTING;
pub use stock::{ItemStock, Stock, StockAdjustment, StockChange, StockItem};
pub use sync::{
    ApplySync, PlanSync, SyncMode, SyncOutcome, SyncPlan, SyncReport, SyncRow, SyncStatus,
    SyncSummary, SyncTarget, SYNC_PLAN_FORMAT_VERSION,
};
pub use time::TimeSource;

#[cfg(feature = "journal")]
#[cfg_attr(docsrs, doc(cfg(feature = "journal")))]
pub mod journal;

#[cfg(feature = "webhooks")]
#[cfg_attr(docsrs, doc(cfg(feature = "webhooks")))]
pub mod webhooks;

#[cfg(feature = "sales")]
#[cfg_attr(docsrs, doc(cfg(feature = "sales")))]
pub mod sales;

/// The README's code blocks, compiled (and, where they need no real store, run) as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
