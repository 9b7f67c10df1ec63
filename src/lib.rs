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
//! # The jobs, and where each is taught
//!
//! | job | where |
//! |---|---|
//! | one adjustment, a read, a count, a SKU lookup, exactly once | [`Client`], [`stock`], and below |
//! | many adjustments through Ecwid's batch API, exactly once, with resume | [`bulk`] |
//! | the whole catalog's stock as a stream, and what changed since | [`catalog`] |
//! | making the stock match a warehouse file | [`sync`] |
//! | retries, the rate limiter, the bad-token guard, timeouts, tracing | [`retry`]; defaults and bounds in [`settings`] |
//! | several processes sharing one token's budget through Redis | `RedisRateLimit` (feature `redis`) |
//! | orders from another channel, recorded and drained exactly once | `journal` (feature `journal`) |
//! | Ecwid's own sales as stock movements | `sales` (feature `sales`) |
//! | Ecwid's webhooks, verified and typed | `webhooks` (feature `webhooks`) |
//! | the raw generated client | [`generated`], through [`Client::raw`] |
//!
//! # Single calls
//!
//! Ids are distinct newtypes ([`StoreId`], [`ProductId`], [`CombinationId`], each `From<u64>`),
//! so a product id cannot go where a combination id belongs. [`Client`] is `Clone + Send +
//! Sync`; clones share one connection pool, one rate limiter and one token guard.
//! [`Client::from_env`] reads `ECWID_STORE_ID`, `ECWID_TOKEN` and `ECWID_API_URL`. Helpers:
//! `client.adjust_stock(item, delta)`, `client.increase_stock(item, n)` and
//! `client.decrease_stock(item, n)` (with `StockItem::Product { .. }` or
//! `StockItem::Variation { .. }` and an unsigned amount), and
//! [`ClientBuilder::check_low_stock_notification`] for a per-client default of the flag (an
//! adjustment's own `.check_low_stock_notification(..)` is left out of the query unless called).
//!
//! ```no_run
//! # async fn run(client: ecwid_inventory::Client) -> Result<(), ecwid_inventory::Error> {
//! use ecwid_inventory::ProductId;
//!
//! match client.adjust_product_stock(ProductId::new(39766764), -1).send().await {
//!     Ok(adj) => println!("updated: {}, warning: {:?}", adj.is_updated(), adj.warning()),
//!     Err(e) if e.may_have_been_applied() => {
//!         // Timeout, lost connection, 5xx: read the stock back before sending it again.
//!     }
//!     Err(e) => eprintln!("refused, nothing changed: {:?} {:?}", e.status(), e.error_code()),
//! }
//! # Ok(()) }
//! ```
//!
//! **Bad input sends nothing.** A zero id, a zero delta (it would spend a rate-limited request
//! on nothing), a delta outside Ecwid's 32-bit range, an empty token, a token with whitespace or
//! control characters, a base URL that is not http(s), and plain `http` to any host but loopback
//! (the token would cross the network in clear), a base URL with credentials, a query or a
//! fragment, and any duration setting (timeouts, deadline, rate-limit window, retry waits, bulk
//! polling) that is zero where that makes no sense or longer than a day ([`MAX_SETTING`](settings::MAX_SETTING)): each
//! fails with [`Error::Config`] or [`Error::InvalidInput`] before any request, and no message
//! echoes the token or more of a URL than its scheme and host.
//!
//! **Secrets.** The token is held as a `secrecy::SecretString` and sent only in an
//! `Authorization` header value marked sensitive. No `Debug` or `Display` of any type, no error
//! and no log line shows it (tested at TRACE level), even when a server or proxy repeats it in
//! its answer: everything read from an answer is scrubbed of the token (as sent, URL-encoded, or
//! JSON-escaped) before any error, outcome, report, saved plan or log line is built from it (a
//! success's strings once parsed, copied only where the token is found; an error's fields, text
//! and parse message; the raw client's bodies whole, as they arrive). A base URL that contains
//! the token is refused, and the builder's `Debug` shows the base URL's origin only. Redirects
//! are not followed, so the token is never replayed to another host. Proxies from the
//! environment (`HTTPS_PROXY` and the like) apply to Ecwid, never to a loopback base URL such as
//! the fake store's.
//!
//! # Reading stock, SKUs, absolute counts, and exactly-once adjustments
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use ecwid_inventory::{Stock, stock::SkuMatch};
//! # let fake = ecwid_inventory_fake::FakeStore::demo().await?;
//! # let client = fake.client_builder(ecwid_inventory_fake::demo::TOKEN).build()?;
//!
//! // Find an item by SKU (exact match), with its stock.
//! let SkuMatch::Found(tee) = client.find_sku("TEE-S").await? else {
//!     panic!("TEE-S is missing, or several items carry it");
//! };
//! println!("{:?}: {:?}, in stock: {}", tee.item, tee.stock, tee.in_stock);
//!
//! // Read it again later.
//! let now = client.stock(tee.item).await?;
//! assert!(matches!(now.stock, Stock::Quantity(_) | Stock::Unlimited));
//!
//! // The warehouse counted 25: set the absolute count.
//! client.set_stock(tee.item, 25).send().await?;
//!
//! // A sale that must land exactly once, whatever the network does.
//! let sale = client.adjust_stock(tee.item, -1).exactly_once().send().await?;
//! assert!(sale.is_updated());
//!
//! // Many SKUs at once: their searches go out batched, 500 to a request.
//! let report = client.find_skus(["TEE-S", "TEE-M", "MUG", "NOPE"]).await?;
//! for sku in report.not_found() {
//!     assert_eq!(sku, "NOPE");
//! }
//! # Ok(()) }
//! ```
//!
//! | call | requests (each rate-limited) | retried after timeouts, lost connections, 5xx | after an unknown outcome |
//! |---|---|---|---|
//! | `adjust_*(..).send()` | 1 | no (a delta could apply twice) | `may_have_been_applied()`: read the stock before sending again |
//! | `adjust_*(..).exactly_once().send()` | 2 or more: a one-item batch create, then status reads (Ecwid's batch latency, usually well under a second) | yes, the create under one deduplication key, and the reads | none within the call's deadline: the item's own answer comes back; past it (or past the key's 55-minute window), `Error::OutcomeUnknown` says so |
//! | `stock(item)` | 1 (2 for a variation sharing its product's stock) | yes: a read changes nothing | — |
//! | `find_sku(sku)` | 1 search (more only if Ecwid pages the matches) | yes | — |
//! | `find_skus(skus)` | 1 batch create per 500 SKUs plus a few status reads (searched directly for 2 SKUs or fewer) | yes | a SKU whose search failed carries its error in the report |
//! | `set_stock(item, n)` / `set_unlimited_stock(item)` | 1 | yes: the same count lands however often it is sent | — |
//!
//! - **Reading**: `client.stock(item)` returns an [`StockLevel`]: the item, its SKU, its
//!   [`Stock`] (`Quantity(n)`, which may be negative, or `Unlimited`) and Ecwid's in-stock flag.
//!   A variation without a SKU of its own shares its product's stock: its `StockLevel` has
//!   `shares_product_stock: true`, the product's SKU and numbers, and adjusting either moves
//!   both. Every read asks Ecwid for the stock fields only (`responseFields`), not the whole
//!   product.
//! - **SKUs** match exactly (case and all). `find_sku` answers `SkuMatch::Found(item)`,
//!   `NotFound`, or `Several(items)` (Ecwid does not forbid two items one SKU; none is chosen
//!   for you). A variation without its own SKU is not matched by its product's: the product is.
//!   `find_skus` returns a [`SkuReport`](stock::SkuReport) with each SKU's answer, `found()` and `not_found()`. An
//!   empty page ends a search with what was read, whatever its `total` says, so an item that
//!   Ecwid counts but never shows (a public token does not see every product; Ecwid's documented
//!   answer to one has a total of 5 and two items) is not in the answer: `Found` means one item
//!   seen with the SKU, `NotFound` none seen. A secret token sees every product.
//! - **Absolute counts**: `set_stock(item, n)` takes 0 to 2,147,483,647 ([`MAX_QUANTITY`](stock::MAX_QUANTITY); stock
//!   goes below zero only through deltas) and makes an unlimited stock a counted one;
//!   `set_unlimited_stock(item)` makes it unlimited. Repeating a set lands the same count, so it
//!   is retried after an unknown outcome; the price of an absolute count is that **a change made
//!   between two attempts (a storefront sale, say) is overwritten**. Ecwid refuses a count for a
//!   variation that shares its product's stock unless it equals the product's
//!   (`400 DIFFERENT_COMBINATION_STOCK`).
//! - **Exactly once**: [`.exactly_once()`](stock::AdjustStock::exactly_once) on any adjustment sends
//!   the delta as a one-item batch with a fresh deduplication key. A create that times out,
//!   loses its connection or gets a 5xx is sent again with the same key, and Ecwid answers with
//!   the first ticket instead of applying it again; the status is then read until Ecwid reports
//!   the item done, and its answer is returned: the same [`StockAdjustment`], or the item's
//!   error (`Api` with a 4xx: nothing was applied). It keeps trying, and reading a completed
//!   batch again while its answer does not yet say what happened to the item, until the call's
//!   deadline (`.deadline(..)`, 2 minutes by default: raise it to ride out longer outages), and
//!   never past 55 minutes ([`KEY_WINDOW`](bulk::KEY_WINDOW)), when Ecwid may forget the key. The last status read
//!   is timed to finish by the deadline, sooner than the poll interval if need be (it goes out
//!   while twice the call's slowest round trip is left). It honours `Retry-After`: when Ecwid
//!   asks for a wait over the retry policy's cap or past the deadline, it stops at once, and its
//!   `OutcomeUnknown` says what was known and what ended it (with the times, when no time was
//!   left for another read). Tested against the fake with a lost answer after applying, a 500,
//!   a timeout and a 429 on the create and on the status reads, and completed answers without
//!   the item's result: one application every time, the real outcome returned. `set_stock(..)`
//!   takes `.exactly_once()` too.
//! - **Exactly once across processes**: [`.exactly_once_key("shopify-order-1001/line-2",
//!   first_attempt)`](stock::AdjustStock::exactly_once_key) on an adjustment or a set, and
//!   [`BulkItem::exactly_once_key`](bulk::BulkItem::exactly_once_key) per item of a bulk run,
//!   derive the deduplication key from your own id for the change (a UUID v5 of the store and
//!   the key), so the same call made again by a restarted process within Ecwid's hour is
//!   answered with the first call's result and applied once. A fresh process cannot know when a
//!   key was first used, so you give that time (`first_attempt`: when you first sent it, or the
//!   event's own time); once it is 55 minutes old the call is refused with
//!   [`Error::KeyExpired`], nothing sent, rather than sent again blindly. For events that may
//!   come again in any grouping, or hours later, record them in the journal (feature `journal`).
//! - **Bad input sends nothing**: an empty SKU or one with whitespace around it, a count below
//!   zero or over `MAX_QUANTITY`, a zero id: [`Error::InvalidInput`] before any request.
//!
//! # Errors, and what to do after one
//!
//! Every call returns one [`Error`], and the most important thing it says is
//! [`Error::may_have_been_applied`]: a stock delta is not idempotent, so sending it again after
//! an error that may have applied it could move the stock twice. A read (a search, a product,
//! variation or order read, a batch of reads, a batch's status) applies nothing: every error of
//! a read says `false`, and its text never says otherwise.
//!
//! One `#[non_exhaustive] enum Error` (its struct variants are `#[non_exhaustive]` too, so match
//! them with `..`), with [`status()`](Error::status), [`error_code()`](Error::error_code),
//! [`error_message()`](Error::error_message), [`retry_after()`](Error::retry_after) and
//! `may_have_been_applied()`. Status, `errorCode` and `errorMessage` survive whatever the error
//! body is: Ecwid's JSON, empty, plain text, or a proxy's HTML page (its `<title>` becomes the
//! message). Unknown fields in a success body are ignored. A read's `Api`, `Timeout`,
//! `Transport` and `InvalidResponse` carry `read: true`.
//!
//! | variant | when | may have been applied | retried automatically |
//! |---|---|---|---|
//! | [`Config`](Error::Config) | bad token, base URL, environment, durations, a webhook verifier's or the sales' settings | no (nothing sent) | no |
//! | [`InvalidInput`](Error::InvalidInput) | zero id or delta, a delta or count out of range, a bad SKU, order id, order filter, key, per-call setting, bulk setting or plan, webhook event id, sales cursor of another store | no (nothing sent) | no |
//! | [`Connect`](Error::Connect) | connection refused, DNS or TLS failure, connect timeout | no (never reached Ecwid) | yes, capped exponential backoff with full jitter |
//! | [`RateLimited`](Error::RateLimited) (429) | over Ecwid's limit; Ecwid ignores the request | no | yes, after `Retry-After` (HTTP date or seconds; 1 to 2 s when absent), unless longer than the cap or past the deadline |
//! | [`Api`](Error::Api) 4xx | refused (400, 402, 403, 404, 405, 408, 409, 415, 422, and any 3xx) | no | no |
//! | [`Api`](Error::Api) 5xx | the server failed while handling it | **yes** for a write; no for a read | reads, sets, batch creates and status reads: yes, they are safe to repeat; a delta: only [exactly once](stock::AdjustStock::exactly_once) |
//! | [`Timeout`](Error::Timeout) | no answer within the attempt's timeout or the call's deadline | **yes** for a write; no for a read | as for a 5xx |
//! | [`Transport`](Error::Transport) | connection lost after the request may have been written | **yes** for a write; no for a read | as for a 5xx |
//! | [`InvalidResponse`](Error::InvalidResponse) | a 2xx whose body cannot be read, or a search whose pages would never end | **yes** for a write; no for a read (a search's pages are one) | as for a 5xx (a search's pages: no) |
//! | [`TokenRejected`](Error::TokenRejected) | an earlier `403 INVALID_API_TOKEN` stopped this client | no (nothing sent) | no |
//! | [`Closed`](Error::Closed) | the client was [closed](Client::close) | no (nothing sent) | no |
//! | [`DeadlineExceeded`](Error::DeadlineExceeded) | the deadline passed, or too little of it was left for an attempt, before the request could be sent | no (nothing sent) | no |
//! | [`OutcomeUnknown`](Error::OutcomeUnknown) | an [exactly-once](stock::AdjustStock::exactly_once) call whose outcome could not be learned before its deadline or its key's window | **yes** | it already was, until then |
//! | [`KeyExpired`](Error::KeyExpired) | a [keyed](stock::AdjustStock::exactly_once_key) exactly-once call whose first attempt is older than the key's 55-minute window | **yes** (an earlier attempt may have been) | no: it is not sent; read the stock |
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
pub mod bulk;
pub mod catalog;
mod client;
mod deduplication;
mod error;
mod exactly_once;
pub mod generated;
mod ids;
mod limiter;
mod options;
mod order_status;
pub mod orders;
mod paging;
mod polling;
mod reads;
pub mod retry;
mod sets;
pub mod settings;
mod status_stream;
pub mod stock;
pub mod sync;
mod time;
mod transport;

// What every user needs, and nothing else: the client, the ids, the error, the stock values
// and the per-call settings. Everything else is reached through its module (`bulk::BulkPlan`,
// `stock::AdjustStock`, `settings::DEFAULT_TIMEOUT`), where its docs teach its job; a test
// (tests/layout/root.rs) keeps this list at 25 names at most.
pub use builder::ClientBuilder;
pub use client::Client;
pub use error::Error;
pub use ids::{CombinationId, OrderId, ProductId, StoreId};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use limiter::redis::{RedisRateLimit, WhenRedisUnavailable};
pub use limiter::RateLimit;
pub use options::RequestOptions;
pub use polling::{Polling, Progress};
pub use retry::RetryPolicy;
pub use stock::{Stock, StockAdjustment, StockChange, StockItem, StockLevel};
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

/// The spec's README's code blocks (how the wrapper calls the generated client), compiled as
/// doc tests.
#[cfg(doctest)]
#[doc = include_str!("../spec/README.md")]
struct SpecReadmeDoctests;
