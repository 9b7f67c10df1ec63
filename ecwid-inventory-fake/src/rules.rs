//! Ecwid's rules as the fake applies them, and the choices it makes where Ecwid's docs are
//! silent: what a test may rely on, and what a client may expect of Ecwid itself where the
//! fake follows its documentation. Nothing here is code: it is the reference the rest of the
//! package's docs point to.
//!
//! Any HTTP client sees the same rules; here, one adjustment that takes a variation's stock
//! below zero, sent without the SDK:
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
//! # The checks, in order
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
//! # What an accepted request does
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
//! # Choices where Ecwid's behaviour is unconfirmed
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
//! [`PRODUCT_NEGATIVE_STOCK_WARNING`]: crate::PRODUCT_NEGATIVE_STOCK_WARNING
//! [`VARIATION_NEGATIVE_STOCK_WARNING`]: crate::VARIATION_NEGATIVE_STOCK_WARNING
//! [`StockChange::Set`]: crate::StockChange::Set
//! [`FakeStore::advance_clock`]: crate::FakeStore::advance_clock
//! [`FakeStoreBuilder::batch_item_delay`]: crate::FakeStoreBuilder::batch_item_delay
//! [`FakeStoreBuilder::search_page_time`]: crate::FakeStoreBuilder::search_page_time
//! [`Store`]: crate::catalog::Store
//! [`Fault`]: crate::faults::Fault
