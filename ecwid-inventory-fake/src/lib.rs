//! A stateful fake Ecwid store on loopback, for tests and offline demos.
//!
//! [`FakeStore`] serves every endpoint of `spec/ecwid-inventory.yaml` (the two stock
//! adjustments, product and variation reads and stock sets, a product's variation list, the
//! product search with its orders and update-time filters, and the batch endpoints) over real HTTP on `127.0.0.1`, with Ecwid's documented rules: tokens and scopes,
//! stock that may go negative, variations that share their product's stock, `responseFields`,
//! low-stock notifications, a per-token rate limit, and batches run by a background worker
//! (in order, or up to 100 items at once under `allowParallelMode`). Every body it sends is built from the spec's generated types
//! ([`ecwid_inventory::generated::types`]), so it matches the spec by construction.
//!
//! What makes it a test tool: it records every request ([`FakeStore::requests`], secrets
//! redacted) and every applied change, delta or set ([`FakeStore::ledger`]), so a test can
//! prove an adjustment was applied exactly once; and it can be scripted to fail
//! ([`FakeStore::inject_fault`]), including the case that matters most for a
//! non-idempotent API: the delta is applied but the answer never arrives
//! ([`Fault::CloseAfterApplying`]).
//!
//! It also does the setup every test repeats: [`FakeStore::client_builder`] gives a
//! [`Client`] builder pointed at the fake, and [`FakeStore::wait_for_ledger`],
//! [`FakeStore::wait_for_requests`] and [`FakeStore::wait_until`] wait for work that lands after
//! its caller returned (a timed-out call, a batch), waking on each change rather than polling.
//!
//! ```
//! use ecwid_inventory_fake::{FakeStore, FakeToken, Product, Stock, Store, Variation};
//! use ecwid_inventory::{CombinationId, ProductId, StockItem, StoreId};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (store, product, combination) = (StoreId::new(1003), ProductId::new(1), CombinationId::new(11));
//! let fake = FakeStore::builder()
//!     .store(Store::new(store).product(
//!         Product::new(product)
//!             .quantity(20)
//!             .warning_limit(5)
//!             .variation(Variation::new(combination).sku("A-1").quantity(10).warning_limit(2)),
//!     ))
//!     .token(FakeToken::secret(store, "secret_token"))
//!     .start()
//!     .await?;
//!
//! let url = format!("{}/1003/products/1/combinations/11/inventory", fake.base_url());
//! let http = reqwest::Client::builder().no_proxy().build()?;
//! let answer: serde_json::Value = http
//!     .put(url)
//!     .bearer_auth("secret_token")
//!     .json(&serde_json::json!({ "quantityDelta": -15 }))
//!     .send()
//!     .await?
//!     .json()
//!     .await?;
//! assert_eq!(answer["updateCount"], 1);
//! assert_eq!(answer["warning"], "Product variation has negative stock.");
//! let item = StockItem::Variation { product, combination };
//! assert_eq!(fake.stock(store, item), Some(Stock::Quantity(-5)));
//! assert_eq!(fake.ledger().len(), 1);
//! # Ok(()) }
//! ```
//!
//! # Behaviour, and the choices Ecwid's docs leave open
//!
//! Requests are checked in this order; the first failing check answers:
//!
//! | check | answer |
//! |---|---|
//! | path is one of the spec's endpoints under `/api/v3/{storeId}` | 404 `NOT_FOUND` (*fake's choice of code*) |
//! | method is served there (`PUT` inventory; `GET` products; `GET`/`PUT` a product or a variation; `GET` a product's variations; `POST`/`GET` batch) | 405 `METHOD_NOT_ALLOWED` (*code is the fake's choice*), with `Allow` |
//! | `Authorization: Bearer <known token>` (a token in the query string does not count) | 403 `INVALID_API_TOKEN` |
//! | the token's rate limit (default 600 per 60 s) | 429 `RATE_LIMITED`, `Retry-After` |
//! | the store exists | 404 `STORE_NOT_FOUND` |
//! | the token belongs to that store | 403 `INVALID_API_TOKEN` |
//! | scopes: every `GET` of products or variations needs `read_catalog`; a variation's `PUT` (adjust or set) `read_catalog` + `update_catalog`; a product's `PUT` `update_catalog`; a `public_…` token never writes | 403 `INSUFFICIENT_APP_SCOPE` |
//! | query: flags are `true`/`false`; `responseFields` is well formed; a search's `sku`, `productId`, `offset`, `limit` (below), `sortBy` (one of the spec's values), `updatedFrom` and `updatedTo` (the spec's `TimeBound`: UNIX seconds or `yyyy-MM-dd[ HH:mm:ss[ ±hhmm]]`) | 400 `WRONG_PARAMETER` |
//! | a search's `limit` is at most 100 | 402 `MAX_PRODUCTS_FOR_API_REQUEST_LIMIT_EXCEEDED` |
//! | `PUT`: `Content-Type: application/json` | 415 `UNSUPPORTED_MEDIA_TYPE` (*code is the fake's choice*) |
//! | `PUT` body: an adjustment's integer `quantityDelta` in the 32-bit range; a set's JSON object with `quantity` an integer in `0..=i32::MAX` and `unlimited` a boolean (each optional, never `null`; other fields ignored) | 400 `WRONG_PARAMETER` |
//! | the product and variation exist | 404 `PRODUCT_NOT_FOUND`, `COMBINATION_NOT_FOUND` |
//! | a set of a variation with an empty SKU (sharing its product's stock) lands the stock the product has | 400 `DIFFERENT_COMBINATION_STOCK` |
//!
//! Then:
//! - **An adjustment** adds the delta to a counted stock, which may go negative: the answer is
//!   `{"updateCount": 1}`, plus a `warning` when the new stock is below zero
//!   ([`PRODUCT_NEGATIVE_STOCK_WARNING`], from Ecwid's Java client, and
//!   [`VARIATION_NEGATIVE_STOCK_WARNING`], *the fake's choice*: Ecwid's text is unconfirmed).
//! - **A set** (`PUT /products/{id}` or `…/combinations/{id}`) makes the stock `quantity`
//!   (from whatever it was, negative included) or unlimited (`unlimited: true`), and answers
//!   `{"updateCount": 1}`; it is recorded in the ledger as [`StockChange::Set`].
//! - **A read** (`GET` a product or a variation) answers `id`, `sku`, `quantity` (absent when
//!   unlimited), `unlimited`, `inStock` (a count above 0, or unlimited), `warningLimit` (when
//!   set), and for a product `updateTimestamp` and `updated` (below) and `combinations` (absent
//!   when it has none), each variation with the same fields as its own read. A variation with
//!   an empty SKU shares its product's stock: it answers `sku: ""` and its product's
//!   `quantity`, `unlimited`, `inStock` and `warningLimit`.
//! - **A variation list** (`GET /products/{id}/combinations`) answers a bare JSON array of the
//!   product's variations in id order, each as its own read answers it (`[]` for none).
//! - **A product's update time**: every product was last updated when the fake started; each
//!   change the ledger records (an adjustment or a set, of the product or of one of its
//!   variations, by REST or in a batch) updates it to now on the fake's clock
//!   ([`FakeStore::advance_clock`] moves it). It is sent as `updateTimestamp` (UNIX seconds)
//!   and `updated` (`2014-10-15 16:54:11 +0000`, in UTC). An adjustment of unlimited stock, a
//!   set with nothing to set and a refused request change nothing, so update nothing.
//! - **A search** (`GET /products`) answers `{total, count, offset, limit, items}`: the matching
//!   products in `sortBy` order (product-id order without it), `offset` (default 0) skipped, at
//!   most `limit` (default and most 100) sent. `productId` keeps the listed products (ids
//!   separated by commas); `sku` keeps the products whose own SKU, or one of whose variations'
//!   own (non-empty) SKU, equals it. `updatedFrom` and `updatedTo` keep the products last
//!   updated within them, both bounds included (Ecwid documents them as lower and upper
//!   bounds), and are ignored when `sku` or `productId` is given (Ecwid then ignores the other
//!   filters). No match is an empty page, not a 404. A page whose products have more than 200
//!   variations in all, when `combinations` is among the fields sent (no `responseFields`,
//!   `items` kept whole, or `items(…combinations…)`), is refused with 400
//!   `COMBINATION_LIMIT_PER_REQUEST_EXCEEDED`, Ecwid's cap on variations per request.
//! - **`responseFields`** (every `GET`): a comma list with nested lists in parentheses, such as
//!   `total,items(id,sku,quantity,combinations(id,quantity))`; the answer carries only the
//!   fields listed, nested lists applied to each element of an array. Without it, or empty,
//!   every field the fake knows is sent. A list naming nothing the answer has gets `{}` (no
//!   field of a read answer is required by the spec).
//!
//! Choices where Ecwid's behaviour is unconfirmed:
//! - **Unlimited stock**: an adjustment answers `{"updateCount": 0}` and changes nothing (not
//!   recorded in the ledger).
//! - **Rate limit**: counted per token over a sliding window of arrival times. A request past the
//!   limit is answered 429 with `Retry-After` (whole seconds, rounded up, at least 1) and is
//!   neither applied nor counted. Requests with an unknown token are not rate limited (Ecwid's
//!   longer blocking of failing tokens is not modelled). A batch create is one request.
//! - **A variation with an empty SKU** resolves to its product's stock and warning limit.
//! - **Low-stock notification**: with `checkLowStockNotification=true`, recorded when the new
//!   stock is at or below the item's warning limit (no limit, no notification).
//! - **Batch**: items run one at a time, in order, by one worker per store, batches in FIFO
//!   order (`groupId` is accepted and ignored). With `allowParallelMode=true` up to 100 items
//!   of a batch run at once, as Ecwid documents: they start in order and finish in any order
//!   (each result still in its item's place), so the order of their effects is not promised;
//!   under `stopOnFirstFailure` a failure marks `NOT_EXECUTED` only the items not yet started
//!   (*the fake's choice*: Ecwid does not say). An item's own work is still atomic; what
//!   parallel items share is their waiting ([`FakeStoreBuilder::batch_item_delay`],
//!   [`FakeStoreBuilder::search_page_time`]). An item runs with the
//!   creating token's scopes through the same checks as a REST request (minus the rate limit
//!   and content type), and fails `WRONG_PARAMETER` if it is itself a batch. An item's fields
//!   other than `id`, `path`, `method` and `body` are ignored, `null` or not (the spec allows
//!   them); those four are never `null`. A `GET` item may
//!   carry its query in its path (`/products?sku=TEE-S&responseFields=...`); its `httpBody` is
//!   the JSON answer a REST request gets, and its body is ignored. `completedRequests`
//!   counts items with a result, skipped ones included, so it equals `totalRequests` once
//!   `COMPLETED`. `httpStatusLine` reads like `HTTP/1.1 200 OK`. An unknown ticket answers 404
//!   `TICKET_NOT_FOUND` (*fake's choice*); a missing one 400 `WRONG_PARAMETER`. A
//!   `deduplicationKey` is remembered per store for an hour of the fake's clock
//!   ([`FakeStore::advance_clock`]).
//! - **Orders**: `ADDED_TIME_ASC` / `_DESC` follow the order products were given to the
//!   fake's [`Store`]. `UPDATED_TIME_ASC` sorts by update time, then by product id (update
//!   times are whole seconds, so ties are common: broken by id, paging is stable);
//!   `UPDATED_TIME_DESC` is its exact reverse. The fake holds no names, prices, owner's order
//!   or keyword, so `NAME_*`, `PRICE_*`, `DEFINED_BY_STORE_OWNER` and `RELEVANCE` keep
//!   product-id order.
//! - **Times in a query** are read as the spec's `TimeBound` pattern allows, in UTC unless an
//!   offset is given; a field out of range rolls over (`2015-13-01` is `2016-01-01`), as Java's
//!   default date parsing does, and a number too large for 64 bits is the latest time.
//! - **The 200-variation cap** applies to a search only: a product's own read and its
//!   variation list send every variation (the list is the way to read a product with more).
//! - **Sets**: unknown body fields are ignored (Ecwid's product has many the fake does not
//!   model). A body with neither `quantity` nor `unlimited` (such as `{}`) answers
//!   `{"updateCount": 0}`, changes nothing and is not recorded. `unlimited: false` alone turns
//!   an unlimited stock into a count of 0 and leaves a counted one as it is (still recorded, as
//!   every applied set is). `quantity` with `unlimited: true` makes the stock unlimited and the
//!   quantity is ignored (it is still checked: a negative one is `WRONG_PARAMETER`); `quantity`
//!   with `unlimited: false` sets the count. A set never sends a low-stock notification nor a
//!   `warning` (it cannot land below zero). On a
//!   variation sharing its product's stock, a set that lands the product's current stock is
//!   accepted and recorded (naming the variation); any other is `DIFFERENT_COMBINATION_STOCK`.
//! - **Search**: `sku` matches exactly and case-sensitively (spaces included); an empty `sku`
//!   is `WRONG_PARAMETER` (the spec's `minLength`: it would match every variation sharing its
//!   product's SKU). The fake models no other filter, so every other parameter is ignored
//!   (as Ecwid ignores all but `productId` when `sku` is given). `productId` must be ids of
//!   digits separated by single commas (no spaces, no empty item: the spec's pattern); an id
//!   too large for any product matches none. `offset` and `limit` are
//!   digits within 32 bits; `limit=0` is `WRONG_PARAMETER`, and a `limit` above 100 is 402
//!   `MAX_PRODUCTS_FOR_API_REQUEST_LIMIT_EXCEEDED`, Ecwid's answer to more than 100 products in
//!   one request.
//! - **`responseFields`** follows the spec's `ResponseFields` pattern: names are letters, digits
//!   and `_`, matched case-sensitively (the fake sends `inStock`, not `instock`), with no
//!   spaces, and parentheses nest at most two deep (as deep as the spec's answers go). An empty
//!   name, `()`, a trailing comma, an unbalanced parenthesis, a space or deeper nesting is
//!   `WRONG_PARAMETER` (*the fake's choice*: Ecwid does not document it); an empty value asks
//!   for every field (*the fake's choice*). A name the answer does not have is ignored. A `PUT`
//!   ignores it.
//! - Scripted faults act before the token and the rate limit are checked (see [`Fault`]).
//!
//! # What may grow
//!
//! The records a test reads ([`RecordedRequest`], [`LedgerEntry`], [`LowStockNotification`])
//! are `#[non_exhaustive]`: only the fake makes them, so a field can be added without breaking
//! a test. So are the enums that follow the spec or the fake's reach: [`Fault`] (new ways to
//! fail), [`Route`] (one per endpoint), [`Scope`] (the scopes those endpoints need),
//! [`Origin`] (the ways a change can be applied) and [`StockChange`] (the kinds of change);
//! match them with a wildcard arm. [`Stock`] is
//! not: Ecwid has exactly two kinds of stock, counted and unlimited.

mod answer;
mod auth;
mod batch;
mod batch_worker;
mod catalog;
mod config;
pub mod demo;
mod faults;
mod fields;
mod products;
mod records;
mod request;
mod routes;
mod server;
mod shared;
mod state;
mod time;
mod wait;

use std::collections::HashSet;
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};

pub use auth::{FakeToken, Scope};
pub use catalog::{Product, Store, Variation};
pub use faults::{Fault, Route};
pub use records::{LedgerEntry, LowStockNotification, Origin, RecordedRequest, RequestId};
pub use state::{PRODUCT_NEGATIVE_STOCK_WARNING, VARIATION_NEGATIVE_STOCK_WARNING};
// The crate's own types, re-exported so a test of the fake needs one import: the fake's stocks
// and ledger speak the same `Stock` and `StockChange` as the client.
pub use ecwid_inventory::{Stock, StockChange};
pub use wait::{WaitTimeout, WAIT_TIMEOUT};

use catalog::{Catalog, Target};
use config::Config;
use shared::Shared;
use state::State;
use time::Clock;

use ecwid_inventory::{Client, ClientBuilder, RateLimit, StockItem, StoreId};

/// The fake's rate limit per token unless told otherwise: Ecwid's documented 600 requests a
/// minute.
pub const DEFAULT_RATE_LIMIT: RateLimit = RateLimit::ecwid();

/// Configures and starts a [`FakeStore`]. Made by [`FakeStore::builder`].
#[derive(Debug)]
#[must_use = "a builder does nothing until .start().await"]
pub struct FakeStoreBuilder {
    stores: Vec<Store>,
    tokens: Vec<FakeToken>,
    rate_limit: Option<RateLimit>,
    port: u16,
    batch_item_delay: Duration,
    search_page_time: Duration,
}

impl FakeStoreBuilder {
    /// Adds a store and its catalog.
    pub fn store(mut self, store: Store) -> Self {
        self.stores.push(store);
        self
    }

    /// Adds an accepted token.
    pub fn token(mut self, token: FakeToken) -> Self {
        self.tokens.push(token);
        self
    }

    /// Adds several accepted tokens.
    pub fn tokens(mut self, tokens: impl IntoIterator<Item = FakeToken>) -> Self {
        self.tokens.extend(tokens);
        self
    }

    /// Allows each token this many requests per sliding window (default
    /// [`DEFAULT_RATE_LIMIT`]: 600 a minute, as Ecwid documents).
    ///
    /// ```
    /// use ecwid_inventory_fake::FakeStore;
    /// use ecwid_inventory::RateLimit;
    ///
    /// let builder = FakeStore::builder().rate_limit(RateLimit::per_minute(60));
    /// # let _ = builder;
    /// ```
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    /// Turns the rate limit off.
    pub fn no_rate_limit(mut self) -> Self {
        self.rate_limit = None;
        self
    }

    /// Listens on this port of 127.0.0.1 (default 0: any free port).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Waits this long before each item a batch runs (default none), so that a batch's
    /// progress (`IN_PROGRESS`, `completedRequests`) can be observed.
    pub fn batch_item_delay(mut self, delay: Duration) -> Self {
        self.batch_item_delay = delay;
        self
    }

    /// Takes this long to build each product search page (default none), whether the search
    /// came over HTTP or in a batch, before answering it; the store's lock is not held
    /// meanwhile, so searches in flight together (several connections, or a batch's items
    /// under `allowParallelMode`) spend it together. A model of Ecwid's own time per page,
    /// for measurements.
    pub fn search_page_time(mut self, time: Duration) -> Self {
        self.search_page_time = time;
        self
    }

    /// Binds the port and starts serving. Must be called within a tokio runtime.
    ///
    /// Fails with [`io::ErrorKind::InvalidInput`] on a catalog Ecwid could not hold (an id
    /// declared twice, a variation with an empty SKU given a stock other than its product's)
    /// or an empty or repeated token, and with the bind's error if the port is taken.
    pub async fn start(self) -> io::Result<FakeStore> {
        let mut seen = HashSet::new();
        for token in &self.tokens {
            let value = token.value.expose_secret();
            if value.is_empty() || !seen.insert(value.to_owned()) {
                // Says which store, never the value.
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("a token of store {} is empty or repeated", token.store),
                ));
            }
        }
        let clock = Clock::start();
        let catalog = Catalog::from_stores(self.stores, clock.unix_seconds())?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, self.port)).await?;
        let addr = listener.local_addr()?;

        let batch_wakers = catalog
            .stores
            .keys()
            .map(|&store| (store, Arc::new(Notify::new())))
            .collect();
        let shared = Arc::new(Shared::new(
            Config {
                tokens: self.tokens,
                rate_limit: self.rate_limit,
                batch_item_delay: self.batch_item_delay,
                search_page_time: self.search_page_time,
                batch_wakers,
            },
            State::new(catalog, clock),
        ));
        let mut tasks = JoinSet::new();
        for (&store, waker) in &shared.config.batch_wakers {
            tasks.spawn(batch_worker::worker(
                Arc::clone(&shared),
                store,
                Arc::clone(waker),
            ));
        }
        let server = tokio::spawn(server::serve(listener, Arc::clone(&shared), tasks));
        tracing::debug!(%addr, "fake store: listening");
        Ok(FakeStore {
            shared,
            addr,
            server,
        })
    }
}

/// A running fake Ecwid store on `127.0.0.1`. See the [module docs](self) for what it does.
///
/// Dropping it stops the server: the port closes, open connections are dropped, and batch
/// workers stop (shortly after, on the runtime; [`FakeStore::shutdown`] waits for it).
/// What it recorded stays readable until then.
pub struct FakeStore {
    shared: Arc<Shared>,
    addr: SocketAddr,
    /// The accept loop, owner of every other task: aborting it stops them all.
    server: JoinHandle<()>,
}

impl fmt::Debug for FakeStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeStore")
            .field("base_url", &self.base_url())
            .finish_non_exhaustive()
    }
}

impl FakeStore {
    /// A builder with no stores, no tokens, the default rate limit, and any free port.
    pub fn builder() -> FakeStoreBuilder {
        FakeStoreBuilder {
            stores: Vec::new(),
            tokens: Vec::new(),
            rate_limit: Some(DEFAULT_RATE_LIMIT),
            port: 0,
            batch_item_delay: Duration::ZERO,
            search_page_time: Duration::ZERO,
        }
    }

    /// Starts the [`demo`] shop with its tokens, on any free port.
    pub async fn demo() -> io::Result<FakeStore> {
        Self::builder()
            .store(demo::store())
            .tokens(demo::tokens())
            .start()
            .await
    }

    /// The API root to give a client, such as `http://127.0.0.1:41234/api/v3` (no trailing
    /// slash); the store id follows it.
    pub fn base_url(&self) -> String {
        format!("http://{}/api/v3", self.addr)
    }

    /// The address the fake listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A [`Client::builder`] for the store `token` belongs to, with [`base_url`](Self::base_url)
    /// set to this fake's: the client's other defaults (rate limit, retries, timeouts) are left
    /// as they are.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use ecwid_inventory_fake::{demo, FakeStore};
    ///
    /// let fake = FakeStore::demo().await?;
    /// let client = fake.client_builder(demo::TOKEN).no_rate_limit().build()?;
    /// client.adjust_product_stock(demo::MUG, -1).send().await?;
    /// assert_eq!(fake.ledger().len(), 1);
    /// # Ok(()) }
    /// ```
    ///
    /// # Panics
    ///
    /// If the fake was not given `token`. For a token it does not know, or one used against
    /// another store, use [`client_builder_for`](Self::client_builder_for).
    pub fn client_builder(&self, token: &str) -> ClientBuilder {
        let Some(known) = self.shared.config.tokens.iter().find(|t| t.matches(token)) else {
            panic!(
                "FakeStore::client_builder: the fake was not given this token; \
                 use client_builder_for(store, token) to send an unknown one"
            );
        };
        self.client_builder_for(known.store, token)
    }

    /// A [`Client::builder`] for `store` with `token` (known to the fake or not), with
    /// [`base_url`](Self::base_url) set to this fake's.
    pub fn client_builder_for(&self, store: StoreId, token: impl Into<String>) -> ClientBuilder {
        Client::builder(store, token)
            .base_url(self.base_url())
            .time_source(self.time_source())
    }

    /// The fake's wall clock, as a client reads it: the system's, plus what
    /// [`advance_clock`](Self::advance_clock) added. The client builders of
    /// [`client_builder`](Self::client_builder) use it, so that advancing the fake's clock ages
    /// deduplication keys for the client and the fake alike.
    pub fn time_source(&self) -> ecwid_inventory::TimeSource {
        let shared = Arc::clone(&self.shared);
        ecwid_inventory::TimeSource::new(move || shared.lock().clock.wall())
    }

    /// A product's or variation's stock (a variation's is its product's when it shares it),
    /// or `None` if there is no such item.
    pub fn stock(&self, store: StoreId, item: StockItem) -> Option<Stock> {
        self.shared.lock().catalog.stock(Target { store, item })
    }

    /// Every HTTP request received so far, in arrival order, secrets redacted.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Every stock change applied so far (deltas and sets), in order, by REST requests and
    /// batches alike.
    pub fn ledger(&self) -> Vec<LedgerEntry> {
        self.shared.lock().ledger.clone()
    }

    /// Every low-stock notification due so far, in order.
    pub fn low_stock_notifications(&self) -> Vec<LowStockNotification> {
        self.shared.lock().notifications.clone()
    }

    /// Makes the next `times` HTTP requests of `route` meet `fault`. Faults scripted earlier
    /// are met first; a [`Route::Any`] fault matches every request.
    ///
    /// # Panics
    ///
    /// If a [`Fault::Respond`] has an invalid status or header.
    pub fn inject_fault(&self, route: Route, times: usize, fault: Fault) {
        server::check_fault(&fault);
        self.shared.lock().faults.push(route, times, fault);
    }

    /// How many scripted fault uses are still to be met.
    pub fn pending_faults(&self) -> usize {
        self.shared.lock().faults.pending()
    }

    /// Forgets every scripted fault not yet met.
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// Moves the fake's clock forward: the rate-limit windows, the deduplication keys' one-hour
    /// memory and the update times of products changed afterwards see the time pass; nothing
    /// else does.
    pub fn advance_clock(&self, by: Duration) {
        self.shared.lock().clock.advanced += by;
    }

    /// Holds every batch not yet started in `QUEUED` until [`resume_batches`](Self::resume_batches).
    /// A batch already running finishes.
    pub fn pause_batches(&self) {
        self.shared.lock().batches.paused = true;
    }

    /// Lets queued batches run again.
    pub fn resume_batches(&self) {
        self.shared.lock().batches.paused = false;
        for waker in self.shared.config.batch_wakers.values() {
            waker.notify_one();
        }
    }

    /// Stops the server and waits until the port is closed; every connection and batch
    /// worker has been told to stop. Dropping the store does the same without waiting.
    pub async fn shutdown(mut self) {
        self.shared.stop();
        self.server.abort();
        // Cancelled, as asked (or a panic of the fake, already reported): nothing to do.
        let _ = (&mut self.server).await;
    }
}

impl Drop for FakeStore {
    fn drop(&mut self) {
        // The accept loop owns the listener and every task: aborting it stops them all. A
        // delayed request (Fault::Delay) runs on a task of its own, and sees the flag.
        self.shared.stop();
        self.server.abort();
    }
}

/// The README's code blocks, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
