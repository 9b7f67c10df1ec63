//! The whole catalog's stock as a stream: [`Client::catalog_stock`].
//!
//! It yields every product's stock, then each of its variations' (a variation without a SKU
//! of its own carries `shares_product_stock` and its product's SKU and stock). Ecwid's search
//! pages hold 100 products; reading one page per request, as Ecwid's Java client does, spends
//! 100 rate-limited requests on 10,000 products. Here one search learns the catalog's `total`,
//! and every other page is then read through Ecwid's batch API: one create carries up to 500
//! page reads, with `responseFields` cut to the stock fields, then its status is polled. A
//! 10,000-product catalog costs 6 to 10 rate-limited requests instead of a hundred searches. A
//! page whose products carry over 200 variations (Ecwid refuses it,
//! `COMBINATION_LIMIT_PER_REQUEST_EXCEEDED`) is read again as halves in the next batch, down to
//! one product, whose variations are then listed apart. The paging itself (which pages, and
//! whether their answers can be trusted) is the crate's private `paging` module's.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use ecwid_inventory::catalog::CatalogCursor;
//! use futures::StreamExt;
//! # let fake = ecwid_inventory_fake::FakeStore::demo().await?;
//! # let client = fake.client_builder(ecwid_inventory_fake::demo::TOKEN).build()?;
//!
//! let mut stream = client
//!     .catalog_stock()
//!     .on_progress(|p| eprint!("\r{}/{} products", p.completed, p.total))
//!     .stream();
//! let mut items = 0;
//! while let Some(item) = stream.next().await {
//!     let item = item?;
//!     println!("{:?} {:?}: {} (shares its product's stock: {})",
//!         item.item, item.sku, item.stock, item.shares_product_stock);
//!     items += 1;
//! }
//! assert_eq!(items, 6); // the demo shop: 3 products, 3 variations
//! // Save the cursor (it is serde); the next run reads only what changed since.
//! let cursor: CatalogCursor = stream.cursor().expect("the read ended whole");
//! let saved = serde_json::to_vec(&cursor)?;
//!
//! let cursor: CatalogCursor = serde_json::from_slice(&saved)?;
//! let mut changed = client.catalog_stock().updated_since(cursor).stream();
//! while let Some(item) = changed.next().await {
//!     println!("{:?}", item?);
//! }
//! # Ok(()) }
//! ```
//!
//! - **Bounded memory**: a batch's status (at most 500 pages of trimmed products, some 13 MB of
//!   JSON) is read as it arrives, one page at a time, and that page's items are yielded before
//!   the next is read; what stays is the products whose variations are listed apart until the
//!   next batch lists them, and the id of each product read (to notice one that comes twice: 8
//!   bytes and a hash set's overhead each). Measured (`benches/cost.sh`), the CLI's snapshot
//!   peaks at 13 MB for 10,000 products and 24 MB for 100,000.
//! - **Paging that cannot loop**: every page is checked against the offset and limit it asked
//!   for, and the read is planned from the first total plus one spare page. A page at another
//!   offset, one that repeats products already read, a total that shrank, or one that grew past
//!   the spare page ends the stream with [`Error::InvalidResponse`] saying which. An empty or
//!   short page while the total says more ends the stream there, without an error, with what
//!   was read: the total can count products the pages never show (those a public token does
//!   not see, products removed meanwhile). What offset paging cannot see: a product removed and
//!   another added between two batches leave the total as it was and may move a product not
//!   yet read onto a page already read; that read misses it, without an error, and the next has
//!   it.
//! - **Incremental**: [`ReadCatalog::updated_since`] reads only the products updated since
//!   (Ecwid's `updatedFrom`), with all their variations. A stream that ended without an error
//!   gives its [`CatalogCursor`]: serde, with a format version ([`CURSOR_FORMAT_VERSION`]), its
//!   time the read's start less [`CURSOR_OVERLAP`], so a product updated while it was read comes
//!   again next time rather than never.
//! - **Cost, counted**: [`Client::requests_sent`] counts every request the client (and its
//!   clones) put on the wire, after the limiter, retries and 429s included; the difference
//!   across a piece of work is what it spent. `cargo bench --bench snapshot` reads a
//!   10,000-product catalog in 5 to 7 requests against 112 one page at a time
//!   (`benches/README.md` has the figures, the model of Ecwid's times, and why the wall time is
//!   4 to 5 times shorter rather than 10).
//!
//! [`Client::catalog_stock`]: crate::Client::catalog_stock
//! [`Client::requests_sent`]: crate::Client::requests_sent
//! [`Error::InvalidResponse`]: crate::Error::InvalidResponse

use std::{
    collections::VecDeque,
    pin::Pin,
    task::{Context, Poll},
    time::{Duration, SystemTime},
};

use serde::{Deserialize, Serialize};

use crate::{
    batch::{
        paths::{self, page_fields},
        read_item,
    },
    bulk::MAX_BATCH_SIZE,
    client::CallOptions,
    generated::types::{
        BatchRequestItem, ProductPage, ProductStock, SearchProductsSortBy, VariationStock,
    },
    options::request_options,
    paging::{PageRead, PageReader, PageStream, Slot, Sweep},
    polling::{polling_options, Pace, Polling, Progress, ProgressFn},
    reads::{product_items, product_stock, unreadable, variation_item},
    retry::Repeat,
    status_stream::ReadAnswers,
    Client, Error, RequestOptions, StockLevel,
};

/// Products per search page: Ecwid's most.
pub(crate) const PAGE: u32 = 100;

/// Ecwid's refusal of a search page whose products carry more than 200 variations in all.
const TOO_MANY_VARIATIONS: &str = "COMBINATION_LIMIT_PER_REQUEST_EXCEEDED";

/// How far before a read's start the cursor it leaves reaches back: a change made while the
/// catalog was read, a client clock a few minutes off Ecwid's, or a search index that lags
/// behind a change is then still seen by the next read. What changed within it is read again.
pub const CURSOR_OVERLAP: Duration = Duration::from_secs(10 * 60);

/// The version of [`CatalogCursor`]'s saved format that this crate writes and reads.
pub const CURSOR_FORMAT_VERSION: u32 = 1;

/// Where an incremental read of the catalog starts: products updated at or after this time.
///
/// A finished [`CatalogStream`] gives the cursor for the next run
/// ([`CatalogStream::cursor`]): save it (it serializes with serde, with a format version) and
/// pass it to [`ReadCatalog::updated_since`] next time.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use ecwid_inventory::catalog::CatalogCursor;
///
/// let cursor = CatalogCursor::since(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
/// let saved = serde_json::to_string(&cursor).unwrap();
/// assert_eq!(saved, r#"{"version":1,"updatedFrom":1700000000}"#);
/// assert_eq!(serde_json::from_str::<CatalogCursor>(&saved).unwrap(), cursor);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "SavedCursor", try_from = "SavedCursor")]
pub struct CatalogCursor {
    /// UNIX seconds: Ecwid's `updatedFrom`, a bound it includes.
    updated_from: u64,
}

impl CatalogCursor {
    /// Products updated at or after `time` (whole seconds; a time before 1970 is 1970).
    pub fn since(time: SystemTime) -> Self {
        Self {
            updated_from: time
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs(),
        }
    }

    /// The time the read starts from.
    pub fn updated_from(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(self.updated_from)
    }
}

/// A cursor as saved: `{"version": 1, "updatedFrom": <UNIX seconds>}`.
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SavedCursor {
    version: u32,
    updated_from: u64,
}

impl From<CatalogCursor> for SavedCursor {
    fn from(cursor: CatalogCursor) -> Self {
        Self {
            version: CURSOR_FORMAT_VERSION,
            updated_from: cursor.updated_from,
        }
    }
}

impl TryFrom<SavedCursor> for CatalogCursor {
    type Error = String;

    fn try_from(saved: SavedCursor) -> Result<Self, String> {
        if saved.version != CURSOR_FORMAT_VERSION {
            return Err(format!(
                "this is a catalog cursor of format version {}; this version of ecwid-inventory \
                 reads version {CURSOR_FORMAT_VERSION} only",
                saved.version
            ));
        }
        Ok(Self {
            updated_from: saved.updated_from,
        })
    }
}

impl Client {
    /// Every product and variation of the store with its stock, as a stream
    /// ([`ReadCatalog::stream`]), or only those of products changed since a
    /// [cursor](ReadCatalog::updated_since).
    ///
    /// ```no_run
    /// # async fn run(client: ecwid_inventory::Client) -> Result<(), ecwid_inventory::Error> {
    /// use futures::StreamExt;
    ///
    /// let mut items = client
    ///     .catalog_stock()
    ///     .on_progress(|p| eprint!("\r{}/{} products", p.completed, p.total))
    ///     .stream();
    /// while let Some(item) = items.next().await {
    ///     let item = item?;
    ///     println!("{} {:?}: {}", item.sku, item.item, item.stock);
    /// }
    /// let cursor = items.cursor().expect("the stream ended without an error");
    /// std::fs::write("cursor.json", serde_json::to_vec(&cursor).unwrap()).unwrap();
    /// // Next time: client.catalog_stock().updated_since(cursor).stream()
    /// # Ok(()) }
    /// ```
    ///
    /// **Cost**: one search learns the catalog's size (and brings its first 100 products);
    /// the other pages go out through Ecwid's batch API, up to 500 page reads to one batch
    /// ([`pages_per_batch`](ReadCatalog::pages_per_batch)), each batch one create and its
    /// status reads, all rate-limited: a few for the first batch, then often one a batch,
    /// each batch's status being read first when the one before had completed
    /// ([`Polling::adaptive`]). A 10,000-product catalog takes some 5 to 8 requests.
    /// Ecwid refuses a page whose products carry more than 200 variations in all
    /// (`COMBINATION_LIMIT_PER_REQUEST_EXCEEDED`): such a page is read again as two halves in
    /// the next batch, down to a single product, which is then read without its variations
    /// and has them listed apart (`GET /products/{id}/combinations`).
    ///
    /// **What it yields**: for each product, its own stock, then each variation's: one with a
    /// SKU of its own has its own stock; one without has
    /// [`shares_product_stock`](StockLevel::shares_product_stock) set and its product's SKU and
    /// stock. Products come in the order Ecwid added them, except those of a page read again
    /// as halves, which come a batch later. Each product comes once.
    ///
    /// **Bounded memory**: a batch's answer (up to `pages_per_batch` pages of 100 products
    /// with the stock fields only, about 25 KB of JSON a page) is read as it arrives, a page
    /// at a time, and each page's items are yielded before the next page is read: the stream
    /// holds one page, the products whose variations are listed apart until their lists are
    /// read (the next batch reads them first), and the id of every product read (8 bytes
    /// each, and a hash set's overhead), which is how a product that comes twice is noticed.
    /// A batch's items therefore come as its pages are read: an error met in a batch ends the
    /// stream after the items of the pages read before it.
    ///
    /// **When it ends with an error**: a search or a batch that cannot be read (after the
    /// client's retries: reads are safe to repeat), a page refused, or pages that cannot be
    /// trusted to cover the catalog: a page at another offset than asked or with more products
    /// than asked, a page of products all read already, a total that shrank while the
    /// catalog was read (a product removed meanwhile may have moved one not yet read onto a
    /// page already read: read it again), or a total that grew past the first total and one
    /// spare page of 100 (products added while it is read come at the end, so up to that many
    /// are read). Every such read is bounded: pages are planned from the first total, and
    /// never past it and the spare page. [`Error::InvalidResponse`] says which.
    ///
    /// **When it ends early, without an error**: a page with fewer products than asked (an
    /// empty one included) while the total says more ends the catalog there: no page past it
    /// is asked for, and the pages already asked for in the same batch are still read. The
    /// total can count products the pages never show: those a public token does not see, or
    /// products removed while the catalog was read.
    ///
    /// What offset paging cannot see: a product removed and another added between two
    /// batches leave the total as it was, and may move a product not yet read onto a page
    /// already read. The stream then ends without it and without an error; the next read (or
    /// an incremental one, whose cursor overlaps) has it.
    ///
    /// **Incremental**: with [`updated_since`](ReadCatalog::updated_since), only products
    /// updated at or after the cursor's time (Ecwid's `updatedFrom`), with all their
    /// variations. A stream that ended without an error gives the cursor for the next run
    /// ([`CatalogStream::cursor`]): the time the read started on the client's
    /// [`TimeSource`](crate::TimeSource), less [`CURSOR_OVERLAP`].
    pub fn catalog_stock(&self) -> ReadCatalog<'_> {
        ReadCatalog {
            client: self,
            updated_since: None,
            pages_per_batch: MAX_BATCH_SIZE,
            polling: Polling::default(),
            on_progress: None,
            options: RequestOptions::default(),
        }
    }
}

/// A read of the catalog's stock; made by [`Client::catalog_stock`]. Nothing is sent until its
/// [`stream`](Self::stream) is polled.
#[must_use = "nothing is sent until its stream is polled"]
pub struct ReadCatalog<'a> {
    client: &'a Client,
    updated_since: Option<CatalogCursor>,
    pages_per_batch: usize,
    polling: Polling,
    on_progress: Option<ProgressFn<'a>>,
    options: RequestOptions,
}

request_options!(ReadCatalog);

polling_options!(
    ReadCatalog,
    /// For a batch of page reads: past it (by default [`Polling::DEFAULT_TIMEOUT`], 10
    /// minutes), the stream ends with [`Error::InvalidResponse`] naming it.
    poll_timeout,
    /// After each search or batch answer: `completed` counts the products read so far, of the
    /// catalog's `total` as last seen.
    on_progress,
);

impl std::fmt::Debug for ReadCatalog<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadCatalog")
            .field("client", self.client)
            .field("updated_since", &self.updated_since)
            .field("pages_per_batch", &self.pages_per_batch)
            .field("polling", &self.polling)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<'a> ReadCatalog<'a> {
    /// Reads only the products updated at or after `cursor` (with all their variations).
    pub fn updated_since(mut self, cursor: CatalogCursor) -> Self {
        self.updated_since = Some(cursor);
        self
    }

    /// Page reads per batch: 1 to 500 (the default, Ecwid's most). Fewer hold less in memory
    /// at once and take more requests. Out of range, the stream's first item is
    /// [`Error::InvalidInput`], and nothing is sent.
    pub fn pages_per_batch(mut self, pages: usize) -> Self {
        self.pages_per_batch = pages;
        self
    }

    /// The stream of items: each product's stock and each of its variations'. Settings are
    /// checked when it is first polled: a bad one is its first and only item, with nothing
    /// sent.
    pub fn stream(self) -> CatalogStream<'a> {
        CatalogStream(PageStream::new(self.reader()))
    }

    pub(crate) fn reader(self) -> Reader<'a> {
        Reader {
            client: self.client,
            updated_from: self.updated_since.map(|cursor| cursor.updated_from),
            pages_per_batch: self.pages_per_batch,
            pace: Pace::new(self.polling),
            progress: self.on_progress,
            options: self.options,
            sweep: None,
            unlisted: VecDeque::new(),
            batch: None,
            started: None,
            done: false,
        }
    }
}

impl<'a> PageReader<'a> for Reader<'a> {
    type Item = StockLevel;
    /// The cursor, once the read ended whole.
    type Note = Option<CatalogCursor>;

    fn read_page(mut self) -> PageRead<'a, Self> {
        Box::pin(async move {
            let items = self.next_items().await;
            (self, items)
        })
    }

    fn at_end(&self, cursor: &mut Option<CatalogCursor>) {
        *cursor = self.cursor();
    }
}

/// The catalog's items as a [`futures::Stream`](futures_core::Stream) of
/// `Result<StockLevel, Error>`; made by [`ReadCatalog::stream`]. It ends after an error.
///
/// Dropping it stops the read; nothing is left running (reads change nothing).
#[must_use = "a stream does nothing unless polled"]
pub struct CatalogStream<'a>(PageStream<'a, Reader<'a>>);

impl std::fmt::Debug for CatalogStream<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatalogStream")
            .field("buffered", &self.0.buffered_items())
            .field("cursor", self.0.note())
            .field("ended", &self.0.ended())
            .finish_non_exhaustive()
    }
}

impl CatalogStream<'_> {
    /// The cursor to save for the next incremental read: `Some` once the stream has ended
    /// without an error, having read everything asked for.
    pub fn cursor(&self) -> Option<CatalogCursor> {
        *self.0.note()
    }
}

impl futures_core::Stream for CatalogStream<'_> {
    type Item = Result<StockLevel, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        futures_core::Stream::poll_next(Pin::new(&mut self.0), cx)
    }
}

/// The catalog read batch by batch: what [`CatalogStream`] and the sync's plan pull items
/// from.
pub(crate) struct Reader<'a> {
    client: &'a Client,
    updated_from: Option<u64>,
    pages_per_batch: usize,
    /// The polling, and what it learned of the batches read so far.
    pace: Pace,
    progress: Option<ProgressFn<'a>>,
    options: RequestOptions,
    /// `None` until the first page is read.
    sweep: Option<Sweep>,
    /// Products read without their variations (too many for one answer), whose variations
    /// are still to be listed.
    unlisted: VecDeque<StockLevel>,
    /// The batch being read, answer by answer.
    batch: Option<Batch>,
    /// When the read started, on the client's clock.
    started: Option<SystemTime>,
    done: bool,
}

/// A read batch whose answers are being taken: what it asked for, and which answers came.
struct Batch {
    answers: ReadAnswers,
    /// The pages asked for, by their ids' numbers (`p0`, `p1`...), and whether each was
    /// answered.
    slots: Vec<(Slot, bool)>,
    /// The products whose variations are listed (`v0`, `v1`...), and whether each was.
    lists: Vec<(StockLevel, bool)>,
}

impl Reader<'_> {
    /// The items of the next search, page or variation list read (possibly none, when a page
    /// was only split), or `None` once everything was read.
    pub(crate) async fn next_items(&mut self) -> Result<Option<Vec<StockLevel>>, Error> {
        if self.done {
            return Ok(None);
        }
        if self.batch.is_some() {
            return self.next_answer().await.map(Some);
        }
        let items = match &mut self.sweep {
            None => self.first_page().await?,
            Some(sweep) if sweep.is_done() && self.unlisted.is_empty() => {
                self.done = true;
                return Ok(None);
            }
            Some(_) => {
                self.start_batch().await?;
                return self.next_answer().await.map(Some);
            }
        };
        self.report_progress();
        Ok(Some(items))
    }

    /// Tells the progress callback how far the read is, after each search or batch.
    fn report_progress(&mut self) {
        if let (Some(progress), Some(sweep)) = (&mut self.progress, &self.sweep) {
            progress(&Progress::new(
                sweep.read(),
                usize::try_from(sweep.total()).unwrap_or(usize::MAX),
            ));
        }
    }

    /// The catalog's size as last seen, once its first page is read.
    pub(crate) fn total(&self) -> Option<u32> {
        self.sweep.as_ref().map(Sweep::total)
    }

    /// The cursor for the next read, once everything was read.
    fn cursor(&self) -> Option<CatalogCursor> {
        let started = self.started.filter(|_| self.done)?;
        Some(CatalogCursor::since(
            started
                .checked_sub(CURSOR_OVERLAP)
                .unwrap_or(SystemTime::UNIX_EPOCH),
        ))
    }

    /// Checks the settings, then reads the first page directly, which says how many pages
    /// follow.
    async fn first_page(&mut self) -> Result<Vec<StockLevel>, Error> {
        if !(1..=MAX_BATCH_SIZE).contains(&self.pages_per_batch) {
            return Err(Error::InvalidInput(format!(
                "pages per batch must be between 1 and {MAX_BATCH_SIZE}, not {}",
                self.pages_per_batch
            )));
        }
        self.pace.polling().check().map_err(Error::InvalidInput)?;
        self.options.check()?;
        self.started = Some(self.client.now());
        let (client, options, updated_from) = (self.client, self.options, self.updated_from);
        let first = search(client, options, updated_from, &page_fields(true)).await;
        let refused = matches!(&first, Err(error) if too_many_variations(error));
        if !refused {
            let first = first?;
            let (sweep, products) = Sweep::started(&first, PAGE)?;
            let items = items_of(&products, true, &mut self.unlisted)?;
            self.sweep = Some(sweep);
            return Ok(items);
        }
        // The first page carries too many variations: its total alone, then every page from
        // the batch, the first as halves.
        let counts = search(client, options, updated_from, "total,count,offset,limit").await?;
        let total = counts
            .total
            .and_then(|total| u32::try_from(total).ok())
            .ok_or_else(|| unreadable("a search page without a readable total".into()))?;
        let mut sweep = Sweep::new(total, PAGE);
        if let Some(first) = sweep.next_slots(1).pop() {
            sweep.split(first)?;
        }
        self.sweep = Some(sweep);
        Ok(Vec::new())
    }

    /// Sends the next batch: the next pages, then variation lists, `pages_per_batch` reads
    /// in all; its answers are then taken one at a time ([`Reader::next_answer`]).
    async fn start_batch(&mut self) -> Result<(), Error> {
        let Some(sweep) = &mut self.sweep else {
            return Ok(());
        };
        // Variation lists first: the products waiting for theirs are held until then, so
        // taking them before more pages keeps that queue to about one batch's worth.
        let lists = self.unlisted.len().min(self.pages_per_batch);
        let lists: Vec<StockLevel> = self.unlisted.drain(..lists).collect();
        let slots = sweep.next_slots(self.pages_per_batch - lists.len());
        let mut requests: Vec<BatchRequestItem> = slots
            .iter()
            .enumerate()
            .map(|(n, &slot)| {
                read_item(
                    format!("p{n}"),
                    paths::catalog_page(slot, self.updated_from),
                )
            })
            .collect();
        requests.extend(lists.iter().enumerate().map(|(n, product)| {
            read_item(format!("v{n}"), paths::variations(product.item.product()))
        }));
        let answers = self
            .client
            .stream_read_batch(&requests, &mut self.pace, &self.options)
            .await?;
        self.batch = Some(Batch {
            answers,
            slots: slots.into_iter().map(|slot| (slot, false)).collect(),
            lists: lists.into_iter().map(|list| (list, false)).collect(),
        });
        Ok(())
    }

    /// The items of the batch's next answer (a page's, or a variation list's); once every
    /// answer was taken, none, the batch done. A page or list the batch has no answer for
    /// fails the read, the pages first, in the order asked.
    async fn next_answer(&mut self) -> Result<Vec<StockLevel>, Error> {
        let (Some(batch), Some(sweep)) = (&mut self.batch, &mut self.sweep) else {
            return Ok(Vec::new());
        };
        while let Some((id, answer)) = batch.answers.next().await? {
            if let Some(n) = id.strip_prefix('p').and_then(|n| n.parse::<usize>().ok()) {
                let Some((slot, answered)) = batch.slots.get_mut(n) else {
                    continue;
                };
                *answered = true;
                let page = match answer {
                    Err(error) if too_many_variations(&error) => {
                        sweep.split(*slot)?;
                        continue;
                    }
                    page => page?,
                };
                let page: ProductPage = serde_json::from_value(page)
                    .map_err(|_| unreadable("an unreadable search page".into()))?;
                let products = sweep.take(*slot, &page)?;
                return items_of(&products, slot.variations, &mut self.unlisted);
            }
            if let Some(n) = id.strip_prefix('v').and_then(|n| n.parse::<usize>().ok()) {
                let Some((product, answered)) = batch.lists.get_mut(n) else {
                    continue;
                };
                *answered = true;
                let list: Vec<VariationStock> = serde_json::from_value(answer?)
                    .map_err(|_| unreadable("an unreadable variation list".into()))?;
                return list
                    .iter()
                    .map(|variation| variation_item(product, variation))
                    .collect();
            }
        }
        let missing = (batch.slots.iter().position(|(_, answered)| !answered))
            .map(|n| format!("p{n}"))
            .or_else(|| {
                (batch.lists.iter().position(|(_, answered)| !answered)).map(|n| format!("v{n}"))
            });
        if let Some(id) = missing {
            return Err(unreadable(format!("the batch has no result for {id}")));
        }
        self.batch = None;
        self.report_progress();
        Ok(Vec::new())
    }
}

/// The items of `products`, read with their variations; or, read without, their own stock,
/// with each product noted in `unlisted` for its variations to be listed.
fn items_of(
    products: &[&ProductStock],
    with_variations: bool,
    unlisted: &mut VecDeque<StockLevel>,
) -> Result<Vec<StockLevel>, Error> {
    let mut items = Vec::with_capacity(products.len() * 3);
    for product in products {
        if with_variations {
            items.extend(product_items(product)?);
        } else {
            let own = product_stock(product)?;
            unlisted.push_back(own.clone());
            items.push(own);
        }
    }
    Ok(items)
}

/// The catalog's first page, with `fields`: a search of its own (its answer says how many
/// pages follow).
async fn search(
    client: &Client,
    options: RequestOptions,
    updated_from: Option<u64>,
    fields: &str,
) -> Result<ProductPage, Error> {
    let store = client.store();
    let updated_from = updated_from.map(|at| at.to_string());
    let updated_from = updated_from.as_deref();
    let options = options.apply(CallOptions::new("search_products", Repeat::Always));
    client
        .send(options, move |raw| async move {
            let search = raw
                .search_products()
                .store_id(store)
                .sort_by(SearchProductsSortBy::AddedTimeAsc)
                .offset(0)
                .limit(PAGE)
                .response_fields(fields);
            match updated_from {
                Some(at) => search.updated_from(at).send().await,
                None => search.send().await,
            }
        })
        .await
}

/// Whether `error` is Ecwid's refusal of a page carrying too many variations.
fn too_many_variations(error: &Error) -> bool {
    matches!(error, Error::Api { status: 400, error_code: Some(code), .. } if code == TOO_MANY_VARIATIONS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_of_another_version_is_refused() {
        let error = serde_json::from_str::<CatalogCursor>(r#"{"version":2,"updatedFrom":5}"#)
            .unwrap_err()
            .to_string();
        assert!(error.contains("format version 2"), "{error}");
        let error = serde_json::from_str::<CatalogCursor>(r#"{"updatedFrom":5}"#)
            .unwrap_err()
            .to_string();
        assert!(error.contains("version"), "{error}");
        let error = serde_json::from_str::<CatalogCursor>(r#"{"version":1,"updatedFrom":5,"x":1}"#)
            .unwrap_err()
            .to_string();
        assert!(error.contains('x'), "{error}");
    }
}
