//! A typed, retry-safe Rust client for Ecwid's stock-adjustment API.
//!
//! The raw client is generated at build time from `spec/ecwid-inventory.yaml` (reachable as
//! [`generated`]); this crate wraps it with typed ids, request builders, one [`Error`] that says
//! whether a delta may have been applied, safe retries, a client-side rate limiter, and (with the
//! `fake` feature) a stateful fake Ecwid store for tests.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use ecwid_inventory::{Client, CombinationId, Error, ProductId, StockAdjustment, StoreId};
//! # let fake = ecwid_inventory::fake::FakeStore::demo().await?;
//! # let base_url = fake.base_url();
//! # let (product, combination) = ecwid_inventory::fake::demo::SMALL_TEE;
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
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod bulk;
mod client;
mod error;
pub mod generated;
mod ids;
mod limiter;
mod retry;
mod stock;
mod transport;

pub use bulk::{
    BulkItem, BulkPlan, BulkReport, BulkRun, BulkSummary, ItemOutcome, Progress, MAX_BATCH_SIZE,
};
pub use client::{
    Client, ClientBuilder, DEFAULT_BASE_URL, DEFAULT_CONNECT_TIMEOUT, DEFAULT_DEADLINE,
    DEFAULT_TIMEOUT,
};
pub use error::Error;
pub use ids::{CombinationId, ProductId, StoreId};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use limiter::redis::{RedisRateLimit, WhenRedisUnavailable};
pub use limiter::RateLimit;
pub use retry::RetryPolicy;
pub use stock::{AdjustStock, StockAdjustment, StockItem};

#[cfg(feature = "fake")]
#[cfg_attr(docsrs, doc(cfg(feature = "fake")))]
pub mod fake;

/// The README's code blocks, compiled (and, where they need no real store, run) as doc tests.
#[cfg(all(doctest, feature = "fake"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
