//! The catch-up: orders updated since a [`SalesCursor`], read page by page and reconciled as
//! the webhooks' orders are, for when webhooks were missed.

use std::{
    fmt,
    future::poll_fn,
    pin::Pin,
    time::{Duration, SystemTime},
};

use futures_core::Stream;
use serde::{Deserialize, Serialize};

use super::{
    dispatch::on_backend,
    movement::FoundBy,
    reconcile::{Observed, Snapshot},
    setup::{column, time_of, Sales},
    store::Work,
};
use crate::{options::request_builder, Client, Error, RequestOptions, StoreId};

/// How far before a catch-up's start the cursor it leaves reaches back. Ecwid documents no
/// order for a search's orders, so an order updated while the search is read can move onto a
/// page already read and be missed; it was updated after the start, so the next catch-up,
/// starting this much before, sees it (and a few minutes of clock difference with Ecwid, or a
/// search index behind, too). What it reads again moves nothing twice.
pub const CATCH_UP_OVERLAP: Duration = Duration::from_secs(10 * 60);

/// The version of [`SalesCursor`]'s saved format that this crate writes and reads.
pub const SALES_CURSOR_FORMAT_VERSION: u32 = 1;

/// Orders reconciled per transaction in a catch-up: one search page.
const PAGE: usize = 100;

/// Where a catch-up starts: the orders of a store updated at or after a time.
///
/// Saved in the database (one per store, [`Sales::cursor`]), or by the caller as JSON (a
/// command line's `--cursor FILE`), with a format version:
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use ecwid_inventory::sales::SalesCursor;
/// use ecwid_inventory::StoreId;
///
/// let since = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600);
/// let cursor = SalesCursor::since(StoreId::new(1003), since);
/// let saved = serde_json::to_string(&cursor).unwrap();
/// assert_eq!(saved, r#"{"version":1,"storeId":1003,"updatedFrom":1767225600}"#);
/// assert_eq!(serde_json::from_str::<SalesCursor>(&saved).unwrap(), cursor);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "SavedCursor", try_from = "SavedCursor")]
pub struct SalesCursor {
    store: StoreId,
    /// UNIX seconds: Ecwid's `updatedFrom`, a bound it includes.
    updated_from: u64,
}

impl SalesCursor {
    /// The orders of `store` updated at or after `time` (whole seconds; before 1970 is 1970).
    pub fn since(store: StoreId, time: SystemTime) -> Self {
        Self {
            store,
            updated_from: time
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs(),
        }
    }

    /// The store.
    pub fn store(&self) -> StoreId {
        self.store
    }

    /// The time the catch-up reads from.
    pub fn updated_from(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(self.updated_from)
    }

    fn to_json(self) -> String {
        serde_json::to_string(&self).expect("a cursor serializes")
    }
}

/// A cursor as saved: `{"version": 1, "storeId": n, "updatedFrom": <UNIX seconds>}`.
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SavedCursor {
    version: u32,
    store_id: u64,
    updated_from: u64,
}

impl From<SalesCursor> for SavedCursor {
    fn from(cursor: SalesCursor) -> Self {
        Self {
            version: SALES_CURSOR_FORMAT_VERSION,
            store_id: cursor.store.get(),
            updated_from: cursor.updated_from,
        }
    }
}

impl TryFrom<SavedCursor> for SalesCursor {
    type Error = String;

    fn try_from(saved: SavedCursor) -> Result<Self, String> {
        if saved.version != SALES_CURSOR_FORMAT_VERSION {
            return Err(format!(
                "this is a sales cursor of format version {}; this version of ecwid-inventory \
                 reads version {SALES_CURSOR_FORMAT_VERSION} only",
                saved.version
            ));
        }
        StoreId::new(saved.store_id).checked()?;
        Ok(Self {
            store: StoreId::new(saved.store_id),
            updated_from: saved.updated_from,
        })
    }
}

/// Where a catch-up starts.
#[derive(Clone, Copy, Debug)]
enum Start {
    /// The store's cursor in the database, which it then moves on.
    Stored,
    /// This time, with the cursor saved in the database after.
    Since(SystemTime),
    /// The caller's cursor, returned in the report and not saved.
    Given(SalesCursor),
}

/// What a [`CatchUp`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CatchUpReport {
    /// Orders read and reconciled.
    pub orders: usize,
    /// Movements recorded (orders already reconciled by webhooks move nothing again).
    pub movements: usize,
    /// Where the next catch-up starts: the start of this one less [`CATCH_UP_OVERLAP`] (never
    /// before the cursor it started from). Saved in the database unless the catch-up was
    /// given its cursor ([`CatchUp::cursor`]): then save it yourself, after the movements.
    pub cursor: SalesCursor,
}

/// A catch-up of a store's orders; made by [`Sales::catch_up`].
#[must_use = "nothing is read until .send().await"]
pub struct CatchUp<'a> {
    sales: &'a Sales,
    client: &'a Client,
    start: Start,
    options: RequestOptions,
}

request_builder!(CatchUp, CatchUpReport);

impl fmt::Debug for CatchUp<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CatchUp")
            .field("client", self.client)
            .field("start", &self.start)
            .finish_non_exhaustive()
    }
}

impl Sales {
    /// Reads `client`'s store's orders updated since its cursor, and reconciles each as
    /// [`process`](Self::process) reconciles a webhook's order, so that together they move
    /// each item once. For a cron, or after the receiver was down longer than Ecwid retries
    /// (24 hours). By default it starts from the cursor saved in the database
    /// ([`Sales::cursor`]) and saves the next one after the movements it found are recorded;
    /// the first time, say where to start with [`CatchUp::since`].
    pub fn catch_up<'a>(&'a self, client: &'a Client) -> CatchUp<'a> {
        CatchUp {
            sales: self,
            client,
            start: Start::Stored,
            options: RequestOptions::default(),
        }
    }
}

impl CatchUp<'_> {
    /// Starts from orders updated at or after `time` instead of the saved cursor; the next
    /// cursor is saved after.
    pub fn since(mut self, time: SystemTime) -> Self {
        self.start = Start::Since(time);
        self
    }

    /// Starts from `cursor` (read from a file, say) instead of the saved one; the next cursor
    /// is returned in the report and not saved in the database. A cursor of another store is
    /// refused.
    pub fn cursor(mut self, cursor: SalesCursor) -> Self {
        self.start = Start::Given(cursor);
        self
    }

    /// Reads and reconciles (see [`Sales::catch_up`]).
    pub async fn send(self) -> Result<CatchUpReport, Error> {
        self.options.check()?;
        let sales = self.sales;
        let journal = &sales.inner.journal;
        let store = self.client.store_id();
        let (cursor, save) = match self.start {
            Start::Stored => match sales.cursor(store).await? {
                Some(cursor) => (cursor, true),
                None => {
                    return Err(Error::InvalidInput(format!(
                        "no catch-up cursor is saved for store {store}: start the first \
                         catch-up with `since`"
                    )))
                }
            },
            Start::Since(time) => (SalesCursor::since(store, time), true),
            Start::Given(cursor) if cursor.store != store => {
                return Err(Error::InvalidInput(format!(
                    "the cursor is store {}'s, and the client reads store {store}",
                    cursor.store
                )))
            }
            Start::Given(cursor) => (cursor, false),
        };
        let started = time_of(journal.now()?);
        let mut orders = self
            .client
            .orders()
            .updated_from(cursor.updated_from())
            .options(self.options)
            .stream();
        let mut report = CatchUpReport {
            orders: 0,
            movements: 0,
            cursor,
        };
        let mut page: Vec<Observed> = Vec::with_capacity(PAGE);
        loop {
            let next = poll_fn(|cx| Pin::new(&mut orders).poll_next(cx)).await;
            let end = next.is_none();
            if let Some(order) = next {
                page.push(Observed::Order(Snapshot::from(&order?)));
            }
            if page.len() >= PAGE || (end && !page.is_empty()) {
                report.orders += page.len();
                let work = Work::new(
                    store,
                    std::mem::take(&mut page),
                    Vec::new(),
                    FoundBy::CatchUp,
                    sales.inner.policy.clone(),
                    journal.now()?,
                );
                report.movements += on_backend!(journal, reconcile(work))?;
            }
            if end {
                break;
            }
        }
        // Only now that every movement found is recorded does the cursor move on.
        let next = SalesCursor::since(
            store,
            started
                .checked_sub(CATCH_UP_OVERLAP)
                .unwrap_or(SystemTime::UNIX_EPOCH),
        );
        report.cursor = if next.updated_from > cursor.updated_from {
            next
        } else {
            cursor
        };
        if save {
            sales.save_cursor(&report.cursor).await?;
        }
        Ok(report)
    }
}

impl Sales {
    /// The catch-up cursor saved for `store`, if any.
    pub async fn cursor(&self, store: StoreId) -> Result<Option<SalesCursor>, Error> {
        let journal = &self.inner.journal;
        let store_id = column(store.get(), "store id")?;
        let Some(saved) = on_backend!(journal, cursor(store_id))? else {
            return Ok(None);
        };
        serde_json::from_str(&saved)
            .map(Some)
            .map_err(|e| Error::Journal {
                database: journal.endpoint(),
                operation: "read the catch-up cursor".into(),
                reason: format!("the saved cursor cannot be read: {e}"),
            })
    }

    /// Saves `cursor` as its store's catch-up cursor, replacing the one saved. For a cursor
    /// kept elsewhere (a file) and brought back.
    pub async fn save_cursor(&self, cursor: &SalesCursor) -> Result<(), Error> {
        let journal = &self.inner.journal;
        let store_id = column(cursor.store.get(), "store id")?;
        let now = journal.now()?;
        Ok(on_backend!(
            journal,
            save_cursor(store_id, cursor.to_json(), now)
        )?)
    }
}
