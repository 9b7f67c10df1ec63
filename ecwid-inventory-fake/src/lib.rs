//! A stateful fake Ecwid store on `127.0.0.1`, for code that uses Ecwid's stock API.
//!
//! [`FakeStore`] serves every endpoint of the SDK's spec (`spec/ecwid-inventory.yaml`: the stock
//! adjustments, product and variation reads and sets, a product's variation list, the product
//! search, the batch endpoints, an order and the order search) over real HTTP, with Ecwid's
//! documented rules, and remembers every request it received and every stock change it applied.
//! It also sells, as Ecwid's storefront does, and sends the signed webhooks Ecwid would.
//!
//! # What it is for
//!
//! - **Offline demos.** [`FakeStore::demo`] starts a small ready-made shop ([`demo`]), and
//!   [`demo::catalog`] a big one. `cargo run --example quickstart` at the repository's root does
//!   the SDK's whole stock job against it, and
//!   `cargo run -p ecwid-inventory-fake --example fake_store -- --port 8080` serves the demo
//!   shop to curl, or to a client in any language.
//! - **Your own tests.** Add the package to your `[dev-dependencies]`, declare the shop a test
//!   needs ([`catalog`]) and the tokens it accepts ([`auth`]), point your client at it
//!   ([`FakeStore::client_builder`]), and assert what Ecwid would have seen and done
//!   ([`records`]): each request, secrets redacted, and each applied change, so a test can prove
//!   a change landed exactly once. Script the failures a real network has ([`faults`]), among
//!   them the one that matters most for a non-idempotent API: the change applied, its answer
//!   lost ([`Fault::CloseAfterApplying`]). Wait for work that lands after its caller returned,
//!   such as a batch ([`wait`]).
//! - **The contract test.** Every body the fake sends is built from the spec's generated types
//!   ([`ecwid_inventory::generated::types`]), so it has the spec's shape by construction, and
//!   the SDK's `tests/fake/contract.rs` holds the fake to the spec file itself: requests built
//!   from each operation's schemas, the valid ones never refused as malformed, the invalid ones
//!   refused with a 4xx, every answer's status and body ones the operation lists. What the fake
//!   does with a request, and the choices it makes where Ecwid's docs are silent, are in
//!   [`rules`]. A test that passes against the fake has met Ecwid's documented contract, not a
//!   mock of its own making.
//!
//! # Example
//!
//! A test of your own: the code under test sells two mugs of the demo shop.
//!
//! ```
//! use ecwid_inventory::StockItem;
//! use ecwid_inventory_fake::{demo, FakeStore, Stock, StockChange};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let fake = FakeStore::demo().await?; // any free port; stops when dropped
//! let client = fake.client_builder(demo::TOKEN).build()?;
//!
//! client.adjust_product_stock(demo::MUG, -2).send().await?;
//!
//! // What Ecwid would hold now, what it applied, and what it was sent.
//! let mug = StockItem::Product { product: demo::MUG };
//! assert_eq!(fake.stock(demo::STORE, mug), Some(Stock::Quantity(6)));
//! let ledger = fake.ledger();
//! assert_eq!(ledger.len(), 1, "applied exactly once");
//! assert_eq!(ledger[0].change, StockChange::Delta(-2));
//! let requests = fake.requests();
//! assert_eq!((requests[0].method.as_str(), requests[0].status), ("PUT", Some(200)));
//! assert_eq!(requests[0].header("authorization"), Some("Bearer [REDACTED]"));
//! # Ok(()) }
//! ```
//!
//! # Selling and webhooks
//!
//! Stock also moves without the API: shoppers buy. [`FakeStore::sell`] (or
//! `POST {storefront_url}/{storeId}/orders`, see [`FakeStore::storefront_url`]) is a checkout:
//! it makes an order, takes its lines from stock (refused with
//! [`StorefrontError::OutOfStock`] beyond a counted stock; unlimited stock is not taken), and
//! the API's `GET /{storeId}/orders/{orderId}` and `GET /{storeId}/orders` answer from it, so
//! the SDK's `client.order(id)` and `client.orders()` read it back.
//! [`FakeStore::cancel_order`] and [`FakeStore::delete_order`] give the stock back, as Ecwid
//! restocks a cancelled order; [`FakeStore::update_order`] changes its statuses. Each change is
//! in the [`ledger`](FakeStore::ledger), its [`Origin`] naming the order. The rules are in
//! [`storefront`].
//!
//! With [`FakeStoreBuilder::webhooks`] (a URL such as a test's receiver on `127.0.0.1`, and the
//! app's client secret), each sale, status change and deletion, and each stock change, is
//! POSTed there as Ecwid's webhook (`order.created`, `order.updated`, `order.deleted`,
//! `product.updated`), signed so that the SDK's `webhooks::Verifier` accepts it. A delivery
//! counts only when answered 200, 201, 202, 204 or 209; anything else is retried on Ecwid's
//! schedule (27 retries over 24 hours), which a test shrinks with
//! [`FakeStoreBuilder::webhook_retry_schedule`] or runs on tokio's paused clock.
//! [`FakeStoreBuilder::webhook_faults`] duplicates, delays and so reorders deliveries, from a
//! seed. [`FakeStore::webhooks_sent`] and [`FakeStore::webhook_deliveries`] list the events and
//! every attempt. The rules are in [`webhooks`].
//!
//! # Modules
//!
//! | module | what it holds |
//! |---|---|
//! | [`catalog`] | the shop a test declares: [`Store`], [`Product`], [`Variation`] |
//! | [`auth`] | the tokens the fake accepts, and their scopes: [`FakeToken`], [`Scope`] |
//! | [`records`] | what the fake remembers: [`RecordedRequest`], [`LedgerEntry`], [`LowStockNotification`] |
//! | [`faults`] | scripted failures: [`Fault`], and the [`Route`] each applies to |
//! | [`storefront`] | Ecwid's own sales: [`Sale`], [`SaleLine`], [`OrderUpdate`], [`StorefrontError`] |
//! | [`webhooks`] | the webhooks sent, and their delivery: [`WebhookFaults`], [`SentWebhook`], [`WebhookDelivery`] |
//! | [`wait`] | waiting for work that lands later: [`FakeStore::wait_until`] and its kin |
//! | [`demo`] | ready-made shops, their tokens and ids |
//! | [`rules`] | Ecwid's rules as the fake applies them, and its own choices |
//!
//! The crate root holds [`FakeStore`] and [`FakeStoreBuilder`], and re-exports every type a
//! test names, so one `use ecwid_inventory_fake::{...}` line serves; [`Stock`] and
//! [`StockChange`] are the SDK's own.
//!
//! # What may grow
//!
//! The records a test reads ([`RecordedRequest`], [`LedgerEntry`], [`LowStockNotification`],
//! [`SentWebhook`], [`WebhookDelivery`]) are `#[non_exhaustive]`: only the fake makes them, so a field can be added without breaking
//! a test. So are the enums that follow the spec or the fake's reach: [`Fault`] (new ways to
//! fail), [`Route`] (one per endpoint), [`Scope`] (the scopes those endpoints need),
//! [`Origin`] (the ways a change can be applied), [`StorefrontError`] and [`DeliveryOutcome`]
//! (the ways a sale or a delivery can go) and [`StockChange`] (the kinds of change);
//! match them with a wildcard arm. [`Stock`] is not: Ecwid has exactly two kinds of stock,
//! counted and unlimited.

mod answer;
pub mod auth;
mod batch;
mod batch_worker;
pub mod catalog;
mod config;
pub mod demo;
pub mod faults;
mod fields;
mod order_book;
mod orders;
mod products;
pub mod records;
mod request;
mod routes;
pub mod rules;
mod server;
mod shared;
mod state;
pub mod storefront;
mod time;
pub mod wait;
mod webhook_delivery;
pub mod webhooks;

use std::collections::HashSet;
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, Notify};
use tokio::task::{JoinHandle, JoinSet};

pub use auth::{FakeToken, Scope};
pub use catalog::{Product, Store, Variation};
pub use faults::{Fault, Route};
pub use records::{LedgerEntry, LowStockNotification, Origin, RecordedRequest, RequestId};
pub use state::{PRODUCT_NEGATIVE_STOCK_WARNING, VARIATION_NEGATIVE_STOCK_WARNING};
pub use storefront::{OrderUpdate, Sale, SaleLine, StorefrontError};
// The crate's own types, re-exported so a test of the fake needs one import: the fake's stocks
// and ledger speak the same `Stock` and `StockChange` as the client.
pub use ecwid_inventory::{Stock, StockChange};
pub use wait::{WaitTimeout, WAIT_TIMEOUT};
pub use webhooks::{DeliveryOutcome, SentWebhook, WebhookDelivery, WebhookFaults};

use catalog::{Catalog, Target};
use config::Config;
use shared::Shared;
use state::State;
use time::Clock;

use webhooks::{Outbox, WebhookTarget};

use ecwid_inventory::{Client, ClientBuilder, OrderId, RateLimit, StockItem, StoreId};

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
    /// The webhook URL and the app's client secret.
    webhooks: Option<(String, SecretString)>,
    webhook_retry_schedule: Vec<Duration>,
    webhook_faults: Option<WebhookFaults>,
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

    /// Sends signed webhooks to `url` (`http://host[:port]/path`, such as a test's receiver on
    /// 127.0.0.1), signed with the app's `client_secret`, as Ecwid does: see [`webhooks`] for
    /// which events, their bodies, and the delivery rules. The secret never appears in the
    /// fake's `Debug` output, logs or records.
    ///
    /// ```
    /// use ecwid_inventory::webhooks::SecretString;
    /// use ecwid_inventory_fake::FakeStore;
    ///
    /// let builder = FakeStore::builder().webhooks(
    ///     "http://127.0.0.1:9090/ecwid/webhooks",
    ///     SecretString::from("the app's client secret"),
    /// );
    /// assert!(!format!("{builder:?}").contains("client secret"));
    /// ```
    pub fn webhooks(mut self, url: impl Into<String>, client_secret: SecretString) -> Self {
        self.webhooks = Some((url.into(), client_secret));
        self
    }

    /// The waits before each retry of a delivery that failed, each counted from the attempt
    /// before (default Ecwid's: [`webhooks::ecwid_retry_schedule`], 27 retries over 24 hours).
    /// A delivery is attempted at most once plus once per wait; an empty schedule never
    /// retries. Shrink it in tests: `vec![Duration::from_millis(10); 3]`.
    pub fn webhook_retry_schedule(mut self, waits: Vec<Duration>) -> Self {
        self.webhook_retry_schedule = waits;
        self
    }

    /// Delivers webhooks in the fault mode: duplicated, delayed and so reordered, decided by
    /// a seeded random generator (see [`webhooks`]). Without it, each event is delivered once,
    /// right away.
    pub fn webhook_faults(mut self, faults: WebhookFaults) -> Self {
        self.webhook_faults = Some(faults);
        self
    }

    /// Binds the port and starts serving. Must be called within a tokio runtime.
    ///
    /// Fails with [`io::ErrorKind::InvalidInput`] on a catalog Ecwid could not hold (an id
    /// declared twice, a variation with an empty SKU given a stock other than its product's),
    /// an empty or repeated token, or a webhook URL that is not `http://host[:port]/path`, and
    /// with the bind's error if the port is taken.
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
        let webhooks = match self.webhooks {
            Some((url, client_secret)) => Some(WebhookTarget {
                url: webhooks::webhook_url(&url)
                    .map_err(|message| io::Error::new(io::ErrorKind::InvalidInput, message))?,
                client_secret,
                schedule: self.webhook_retry_schedule,
            }),
            None => None,
        };
        let clock = Clock::start();
        let catalog = Catalog::from_stores(self.stores, clock.unix_seconds())?;
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, self.port)).await?;
        let addr = listener.local_addr()?;

        let batch_wakers = catalog
            .stores
            .keys()
            .map(|&store| (store, Arc::new(Notify::new())))
            .collect();
        let mut state = State::new(catalog, clock);
        let mut events = None;
        if webhooks.is_some() {
            let (sender, receiver) = mpsc::unbounded_channel();
            state.outbox = Outbox::new(sender, self.webhook_faults);
            events = Some(receiver);
        }
        let shared = Arc::new(Shared::new(
            Config {
                tokens: self.tokens,
                rate_limit: self.rate_limit,
                batch_item_delay: self.batch_item_delay,
                search_page_time: self.search_page_time,
                batch_wakers,
                webhooks,
            },
            state,
        ));
        let mut tasks = JoinSet::new();
        if let Some(events) = events {
            tasks.spawn(webhook_delivery::worker(Arc::clone(&shared), events));
        }
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

/// A running fake Ecwid store on `127.0.0.1`. See the [crate docs](crate) for what it is for,
/// and [`rules`] for what it does with a request.
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
            webhooks: None,
            webhook_retry_schedule: webhooks::ecwid_retry_schedule(),
            webhook_faults: None,
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

/// Ecwid's own sales, and the webhooks they send (see [`storefront`] and [`webhooks`]).
impl FakeStore {
    /// A shopper's checkout in `store`: checks the sale whole (the store, each item, each
    /// quantity, and that the stock covers it), then makes the order, takes its lines from
    /// stock (recorded in the ledger as [`Origin::Storefront`]) and sends `order.created` and a
    /// `product.updated` per product whose stock it took. Returns the order's id. Refused, it
    /// changes nothing. See [`storefront`] for the rules.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use ecwid_inventory::StockItem;
    /// use ecwid_inventory_fake::{demo, FakeStore, Sale, Stock};
    ///
    /// let fake = FakeStore::demo().await?;
    /// let (tee, small) = demo::SMALL_TEE;
    /// let order = fake.sell(demo::STORE, Sale::new().variation(tee, small, 4).paid())?;
    /// assert_eq!(order.as_str().len(), 5); // such as "XJ12H"
    /// let item = StockItem::Variation { product: tee, combination: small };
    /// assert_eq!(fake.stock(demo::STORE, item), Some(Stock::Quantity(6)));
    /// # Ok(()) }
    /// ```
    pub fn sell(&self, store: StoreId, sale: Sale) -> Result<OrderId, StorefrontError> {
        let sold = self.shared.lock().sell(store, sale);
        self.shared.changed();
        sold
    }

    /// The owner changes an order's statuses. Setting the payment status to `CANCELLED`
    /// cancels it (as [`cancel_order`](Self::cancel_order)); taking it out of `CANCELLED` takes
    /// its stock again; any other change moves no stock. Sends `order.updated` (with the old
    /// and new statuses) and a `product.updated` per product whose stock moved; an update to
    /// the statuses the order already has changes and sends nothing.
    pub fn update_order(
        &self,
        store: StoreId,
        order: &OrderId,
        update: OrderUpdate,
    ) -> Result<(), StorefrontError> {
        let updated = self.shared.lock().update_order(store, order, update);
        self.shared.changed();
        updated
    }

    /// Cancels an order: payment status `CANCELLED`, and its lines given back to stock
    /// (recorded as [`Origin::Restock`]), as Ecwid restocks a cancelled order. Sends
    /// `order.updated` and a `product.updated` per product restocked. A cancelled order stays
    /// as it is.
    pub fn cancel_order(&self, store: StoreId, order: &OrderId) -> Result<(), StorefrontError> {
        let cancel =
            OrderUpdate::new().payment_status(ecwid_inventory::orders::PaymentStatus::Cancelled);
        self.update_order(store, order, cancel)
    }

    /// Deletes an order: the order endpoints answer 404 for it from now on, and the stock it
    /// still held (none if it was cancelled) comes back, recorded as [`Origin::Restock`]. Sends
    /// `order.deleted` and a `product.updated` per product restocked.
    pub fn delete_order(&self, store: StoreId, order: &OrderId) -> Result<(), StorefrontError> {
        let deleted = self.shared.lock().delete_order(store, order);
        self.shared.changed();
        deleted
    }

    /// The root of the fake's own storefront routes, such as `http://127.0.0.1:41234/storefront`
    /// (no trailing slash): `POST {root}/{storeId}/orders` sells (see [`storefront`]).
    pub fn storefront_url(&self) -> String {
        format!("http://{}/storefront", self.addr)
    }

    /// Every webhook event made so far, in the order they happened (none without
    /// [`FakeStoreBuilder::webhooks`]).
    pub fn webhooks_sent(&self) -> Vec<SentWebhook> {
        self.shared.lock().outbox.sent().to_vec()
    }

    /// Every webhook delivery attempt so far, in the order they ended.
    pub fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        self.shared.lock().outbox.deliveries().to_vec()
    }
}

/// The README's code blocks, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// Waiting for work that lands later (see [`wait`]).
impl FakeStore {
    /// Waits until `condition`, given the fake, holds: checked now and after every change of the
    /// fake's records or batches. Fails after [`WAIT_TIMEOUT`].
    ///
    /// The timeout runs on tokio's clock: under a paused clock
    /// (`#[tokio::test(start_paused = true)]`) it elapses as soon as the runtime is idle, even
    /// while a request is on its way, so wait with a running clock.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use ecwid_inventory_fake::{demo, FakeStore};
    ///
    /// let fake = FakeStore::demo().await?;
    /// let client = fake.client_builder(demo::TOKEN).build()?;
    /// let (tee, small) = demo::SMALL_TEE;
    /// let call = tokio::spawn(async move {
    ///     client.adjust_variation_stock(tee, small, -1).send().await
    /// });
    /// fake.wait_until(|fake| fake.requests().iter().any(|r| r.status == Some(200)))
    ///     .await?;
    /// call.await??;
    /// # Ok(()) }
    /// ```
    pub async fn wait_until(
        &self,
        mut condition: impl FnMut(&FakeStore) -> bool,
    ) -> Result<(), WaitTimeout> {
        if self.wait(|| condition(self)).await {
            return Ok(());
        }
        Err(WaitTimeout::new(format!(
            "the fake store waited {WAIT_TIMEOUT:?} and the condition never held \
                 (requests: {} received, ledger: {} changes)",
            self.requests().len(),
            self.ledger().len()
        )))
    }

    /// Waits until the ledger holds at least `n` applied changes (deltas and sets), and returns
    /// it. Fails after
    /// [`WAIT_TIMEOUT`], saying how many it holds.
    ///
    /// For a change that lands after its caller gave up (a timeout, a dropped call, a batch
    /// still running).
    pub async fn wait_for_ledger(&self, n: usize) -> Result<Vec<LedgerEntry>, WaitTimeout> {
        if self.wait(|| self.shared.lock().ledger.len() >= n).await {
            return Ok(self.ledger());
        }
        Err(WaitTimeout::new(format!(
            "the fake store waited {WAIT_TIMEOUT:?} for {n} applied changes; its ledger holds {}",
            self.ledger().len()
        )))
    }

    /// Waits until the fake has received at least `n` requests (answered or not), and returns
    /// them, as [`requests`](FakeStore::requests) does. Fails after [`WAIT_TIMEOUT`], saying how many it holds.
    pub async fn wait_for_requests(&self, n: usize) -> Result<Vec<RecordedRequest>, WaitTimeout> {
        if self.wait(|| self.shared.lock().requests.len() >= n).await {
            return Ok(self.requests());
        }
        Err(WaitTimeout::new(format!(
            "the fake store waited {WAIT_TIMEOUT:?} for {n} requests; it has received {}",
            self.requests().len()
        )))
    }

    /// Waits until every webhook event made so far was delivered at least once, and returns
    /// every delivery attempt, as [`webhook_deliveries`](FakeStore::webhook_deliveries) does.
    /// Fails after [`WAIT_TIMEOUT`], saying how many events are still undelivered.
    pub async fn wait_for_webhooks_delivered(&self) -> Result<Vec<WebhookDelivery>, WaitTimeout> {
        if self
            .wait(|| self.shared.lock().outbox.all_delivered())
            .await
        {
            return Ok(self.webhook_deliveries());
        }
        Err(self.webhooks_timeout("every webhook delivered"))
    }

    /// Waits until no webhook delivery is left to try (each delivered, or given up at the end
    /// of the retry schedule), and returns every delivery attempt. Fails after
    /// [`WAIT_TIMEOUT`]: with Ecwid's own schedule (24 hours), a delivery that keeps failing
    /// is not given up within it.
    pub async fn wait_for_webhooks_settled(&self) -> Result<Vec<WebhookDelivery>, WaitTimeout> {
        if self.wait(|| self.shared.lock().outbox.settled()).await {
            return Ok(self.webhook_deliveries());
        }
        Err(self.webhooks_timeout("every webhook delivered or given up"))
    }

    fn webhooks_timeout(&self, awaited: &str) -> WaitTimeout {
        let state = self.shared.lock();
        let delivered: HashSet<&str> = state
            .outbox
            .deliveries()
            .iter()
            .filter(|attempt| attempt.is_delivered())
            .map(|attempt| attempt.event_id.as_str())
            .collect();
        let undelivered = state
            .outbox
            .sent()
            .iter()
            .filter(|event| !delivered.contains(event.event_id.as_str()))
            .count();
        WaitTimeout::new(format!(
            "the fake store waited {WAIT_TIMEOUT:?} for {awaited}: {} events made, {undelivered} \
             not delivered yet, {} delivery attempts",
            state.outbox.sent().len(),
            state.outbox.deliveries().len()
        ))
    }

    /// Waits until every batch received so far has completed. Never returns while batches
    /// are paused with some queued.
    pub async fn batches_settled(&self) {
        self.wait_forever(|| self.shared.lock().batches.settled())
            .await;
    }

    /// Whether `ready` held within [`WAIT_TIMEOUT`].
    async fn wait(&self, ready: impl FnMut() -> bool) -> bool {
        tokio::time::timeout(WAIT_TIMEOUT, self.wait_forever(ready))
            .await
            .is_ok()
    }

    async fn wait_forever(&self, mut ready: impl FnMut() -> bool) {
        loop {
            let changed = self.shared.next_change();
            tokio::pin!(changed);
            // Registered before checking, so a change in between still wakes us.
            changed.as_mut().enable();
            if ready() {
                return;
            }
            changed.await;
        }
    }
}
