//! Following a search page by page, with a bound that a server repeating a page, ignoring the
//! offset or inflating its `total` cannot make the client pass. Every paged read goes through
//! here: [`Pages`] for a search read one page after another (of any [`Page`]: products,
//! orders), [`Sweep`] for a product search whose pages are asked for many at a time (a batch
//! carries hundreds of page reads). [`PageStream`] is the one `Stream` over a reader of such
//! pages, holding a page at a time, that the public streams (orders, the catalog) wrap.
//!
//! A search's `total` may count more than its pages will ever show: products removed while it
//! is read, or those a public token does not see (Ecwid's documented answer to one has a
//! `total` of 5 and two items). So an empty page (and, for a [`Sweep`], a page shorter than
//! asked) ends the search where it is, with what was read; only a page that is not empty yet
//! brings nothing new (the offset ignored, a page repeated) is refused, as a read that would
//! never end.

use std::{
    collections::{HashSet, VecDeque},
    future::Future,
    hash::Hash,
    pin::Pin,
    task::{Context, Poll},
};

use crate::{
    generated::types::{OrderPage, ProductPage, ProductStock},
    Error,
};

/// A page of an Ecwid search: `{total, count, offset, limit, items}`, whose items have ids.
pub(crate) trait Page {
    /// What identifies an item: a product's number, an order's text.
    type Id: Eq + Hash + Clone;
    /// What the items are, in the words of an error.
    const ITEMS: &'static str;

    fn total(&self) -> Option<i32>;
    fn count(&self) -> Option<i32>;
    fn offset(&self) -> Option<i32>;
    fn limit(&self) -> Option<i32>;
    /// Each item's id, in the page's order (`None` for an item without one).
    fn ids(&self) -> impl Iterator<Item = Option<&Self::Id>>;
}

impl Page for ProductPage {
    type Id = i64;
    const ITEMS: &'static str = "products";

    fn total(&self) -> Option<i32> {
        self.total
    }
    fn count(&self) -> Option<i32> {
        self.count
    }
    fn offset(&self) -> Option<i32> {
        self.offset
    }
    fn limit(&self) -> Option<i32> {
        self.limit
    }
    fn ids(&self) -> impl Iterator<Item = Option<&i64>> {
        self.items.iter().map(|product| product.id.as_ref())
    }
}

impl Page for OrderPage {
    type Id = String;
    const ITEMS: &'static str = "orders";

    fn total(&self) -> Option<i32> {
        self.total
    }
    fn count(&self) -> Option<i32> {
        self.count
    }
    fn offset(&self) -> Option<i32> {
        self.offset
    }
    fn limit(&self) -> Option<i32> {
        self.limit
    }
    fn ids(&self) -> impl Iterator<Item = Option<&String>> {
        self.items.iter().map(|order| order.id.as_ref())
    }
}

/// Pages read beyond what the first page's `total` calls for, for a catalog that grew a
/// little while it was read.
const SPARE_PAGES: u32 = 1;

/// Where a paged search is, and what it has seen: the ids of the items read (`I`, a
/// [`Page::Id`]).
#[derive(Debug)]
pub(crate) struct Pages<I = i64> {
    /// The offset of the next page to ask for.
    next: u32,
    /// Pages read so far.
    read: u32,
    /// The most pages the search may take: set by the first page.
    bound: Option<Bound>,
    /// Items already read, to notice a page that brings nothing new.
    seen: HashSet<I>,
}

#[derive(Debug, Clone, Copy)]
struct Bound {
    pages: u32,
    total: u32,
    per_page: u32,
}

/// What to do after a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Every page was read.
    Done,
    /// Ask for the page at this offset.
    Offset(u32),
}

impl<I: Eq + Hash + Clone> Pages<I> {
    /// A search from its first page.
    pub(crate) fn new() -> Self {
        Self {
            next: 0,
            read: 0,
            bound: None,
            seen: HashSet::new(),
        }
    }

    /// The offset of the next page to ask for.
    pub(crate) fn offset(&self) -> u32 {
        self.next
    }

    /// Takes the page read at [`offset`](Self::offset), and says what to read next.
    ///
    /// Done after the page that reaches `total`, or after an empty page, which ends the search
    /// there whatever `total` says (see the module docs).
    ///
    /// Fails with [`Error::InvalidResponse`], saying why, when the pages cannot be trusted to
    /// end: a page at another offset than asked, a page of items all read already, or more
    /// pages than the first page's `total` allows (with one spare).
    pub(crate) fn take<P: Page<Id = I>>(&mut self, page: &P) -> Result<Next, Error> {
        self.take_fresh(page).map(|(next, _)| next)
    }

    /// [`take`](Self::take), and, item by item in the page's order, whether it is new to the
    /// search: an item read on an earlier page is not (products or orders added while a search
    /// is read shift others onto later pages). An item without an id counts as new, for its
    /// reader to refuse.
    pub(crate) fn take_fresh<P: Page<Id = I>>(
        &mut self,
        page: &P,
    ) -> Result<(Next, Vec<bool>), Error> {
        let (offset, count, total) = numbers(page)?;
        check_offset(self.next, offset)?;
        self.read += 1;
        let bound = *self.bound.get_or_insert_with(|| {
            let per_page = page
                .limit()
                .and_then(|limit| u32::try_from(limit).ok())
                .filter(|&limit| limit > 0)
                .unwrap_or(count)
                .max(1);
            Bound {
                pages: total.div_ceil(per_page).max(1) + SPARE_PAGES,
                total,
                per_page,
            }
        });
        if self.read > bound.pages {
            return Err(unreadable(format!(
                "the search took {} pages, more than the {} that its total of {} allows at {} \
                 a page",
                self.read, bound.pages, bound.total, bound.per_page
            )));
        }
        let (mut with_ids, mut new) = (0, 0);
        let fresh: Vec<bool> = page
            .ids()
            .map(|id| {
                let Some(id) = id else { return true };
                let is_new = self.seen.insert(id.clone());
                with_ids += 1;
                new += usize::from(is_new);
                is_new
            })
            .collect();
        if with_ids > 0 && new == 0 {
            return Err(unreadable(format!(
                "the page at offset {offset} holds only {} read already: the search repeats \
                 itself",
                P::ITEMS
            )));
        }
        let end = offset.saturating_add(count);
        // An empty page: the search ended before its total.
        if end >= total || count == 0 {
            return Ok((Next::Done, fresh));
        }
        self.next = end;
        Ok((Next::Offset(end), fresh))
    }
}

/// A page's offset, count and total, which paging needs.
fn numbers(page: &impl Page) -> Result<(u32, u32, u32), Error> {
    let (Some(offset), Some(count), Some(total)) = (page.offset(), page.count(), page.total())
    else {
        return Err(unreadable(
            "a search page without its offset, count or total".into(),
        ));
    };
    Ok((
        non_negative(offset)?,
        non_negative(count)?,
        non_negative(total)?,
    ))
}

/// The page answered must be the one asked for.
fn check_offset(asked: u32, answered: u32) -> Result<(), Error> {
    if asked == answered {
        return Ok(());
    }
    Err(unreadable(format!(
        "the search was asked for the page at offset {asked}, and Ecwid answered the one at \
         offset {answered}: the offset seems ignored"
    )))
}

/// One page of a [`Sweep`] to read: `limit` products from `offset`, with or without their
/// variations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot {
    pub(crate) offset: u32,
    pub(crate) limit: u32,
    /// Whether the page asks for the products' variations too. A single product with more
    /// variations than one answer may carry is read without them (see [`Sweep::split`]).
    pub(crate) variations: bool,
}

/// A search read whole by pages asked for many at a time, answered in any order.
///
/// It plans every page the first page's `total` calls for, checks each answer against the page
/// asked for, and notices what a batch of reads can meet and a page-by-page read would loop
/// on. The pages it may ask for are bounded: offsets up to the first total plus one spare page
/// (a catalog that grows by more while it is read is refused, naming that bound), and a page
/// refused for carrying too many variations is asked again at most twice: as halves, then
/// without variations (see [`split`](Self::split)). A page shorter than asked (an empty one
/// included) while the total says more ends the search there: no page past it is asked for
/// any more, and the pages already asked for are still taken.
#[derive(Debug)]
pub(crate) struct Sweep {
    per_page: u32,
    first_total: u32,
    /// The total as last seen: pages are planned up to it.
    total: u32,
    /// The most products the search may count while it is read: offsets past it are never
    /// asked for.
    most: u32,
    /// Pages still to ask for, in offset order (split pages first).
    pending: VecDeque<Slot>,
    /// Products read so far.
    seen: HashSet<i64>,
    /// Whether the total grew: products added in between then shift others onto later pages,
    /// so pages overlap.
    grew: bool,
    /// Where the search ended before its total: the end of a page shorter than asked. No page
    /// from there on is planned.
    end: Option<u32>,
}

impl Sweep {
    /// A search whose total is `total`, to read at `per_page` products a page: every page from
    /// offset 0 is planned, the first one first.
    pub(crate) fn new(total: u32, per_page: u32) -> Self {
        let per_page = per_page.max(1);
        let mut sweep = Self {
            per_page,
            first_total: total,
            total: 0,
            most: total.saturating_add(SPARE_PAGES * per_page),
            pending: VecDeque::new(),
            seen: HashSet::new(),
            grew: false,
            end: None,
        };
        sweep.plan_to(total);
        sweep
    }

    /// A search whose first page (offset 0, `per_page` asked for) was read: every other page
    /// is planned from its total, and its products are returned.
    pub(crate) fn started(
        first: &ProductPage,
        per_page: u32,
    ) -> Result<(Self, Vec<&ProductStock>), Error> {
        let (_, _, total) = numbers(first)?;
        let mut sweep = Self::new(total, per_page);
        let slot = sweep.next_slots(1).pop().unwrap_or(Slot {
            offset: 0,
            limit: sweep.per_page,
            variations: true,
        });
        let products = sweep.take(slot, first)?;
        Ok((sweep, products))
    }

    /// Plans the pages from the total known so far up to `total`, and short of where the
    /// search ended, if it did.
    fn plan_to(&mut self, total: u32) {
        let mut offset = self.total;
        let last = self.end.map_or(total, |end| end.min(total));
        while offset < last {
            self.pending.push_back(Slot {
                offset,
                limit: self.per_page,
                variations: true,
            });
            offset = offset.saturating_add(self.per_page);
        }
        self.total = self.total.max(total);
    }

    /// Up to `most` pages to ask for next; they count as asked.
    pub(crate) fn next_slots(&mut self, most: usize) -> Vec<Slot> {
        let take = most.min(self.pending.len());
        self.pending.drain(..take).collect()
    }

    /// Whether every page planned was asked for.
    pub(crate) fn is_done(&self) -> bool {
        self.pending.is_empty()
    }

    /// The search's total, as last seen.
    pub(crate) fn total(&self) -> u32 {
        self.total
    }

    /// How many products were read.
    pub(crate) fn read(&self) -> usize {
        self.seen.len()
    }

    /// Takes the page read for `slot`, and returns its products not read before (a product
    /// comes twice when products added while the search is read shift it onto a later page).
    /// A page with fewer products than asked (an empty one included) while its total says more
    /// ends the search there: the pages planned past it are dropped (see the module docs).
    ///
    /// Fails with [`Error::InvalidResponse`], saying why, when the pages cannot be trusted to
    /// cover the search: a page at another offset than asked, or with more products than
    /// asked; a page of products all read already while the total did not grow; a total that
    /// shrank (a product removed meanwhile may have shifted one not yet read onto a page already
    /// read) or grew past the first total and a spare page.
    pub(crate) fn take<'p>(
        &mut self,
        slot: Slot,
        page: &'p ProductPage,
    ) -> Result<Vec<&'p ProductStock>, Error> {
        let (offset, count, total) = numbers(page)?;
        check_offset(slot.offset, offset)?;
        if usize::try_from(count).ok() != Some(page.items.len()) {
            return Err(unreadable(format!(
                "the page at offset {offset} says it holds {count} products and carries {}",
                page.items.len()
            )));
        }
        if count > slot.limit {
            return Err(unreadable(format!(
                "the page at offset {offset} holds {count} products, more than the {} asked for",
                slot.limit
            )));
        }
        if total < self.total {
            return Err(unreadable(format!(
                "the search's total went from {} to {total} while it was read: a product \
                 removed meanwhile may have moved one not yet read onto a page already read; \
                 read it again",
                self.total
            )));
        }
        if total > self.total {
            if total > self.most {
                return Err(unreadable(format!(
                    "the search's total grew from {} to {total} while it was read, past the {} \
                     products that its first total and {SPARE_PAGES} spare page of {} allow",
                    self.first_total, self.most, self.per_page
                )));
            }
            self.plan_to(total);
            self.grew = true;
        }
        let end = offset.saturating_add(count);
        if count < slot.limit && end < total {
            self.ended_at(end);
        }
        let mut new = Vec::with_capacity(page.items.len());
        for product in &page.items {
            match product.id {
                Some(id) if !self.seen.insert(id) => {}
                // A product without an id is passed on, for its reader to refuse.
                _ => new.push(product),
            }
        }
        if new.is_empty() && !page.items.is_empty() && !self.grew {
            return Err(unreadable(format!(
                "the page at offset {offset} holds only products read already: the search \
                 repeats itself"
            )));
        }
        Ok(new)
    }

    /// Ends the search at `end`, short of its total: no page from there on is asked for.
    fn ended_at(&mut self, end: u32) {
        let end = self.end.map_or(end, |known| known.min(end));
        self.end = Some(end);
        self.pending.retain(|slot| slot.offset < end);
    }

    /// Plans `slot` again, after Ecwid refused it for carrying more variations than one
    /// answer may: a whole page as its two halves (a page over the cap is usually only a little
    /// over); a smaller one, refused again, without its products' variations (for the reader
    /// to list apart: a product may carry more than any page may). Fails for a page asked
    /// without variations already, which has nothing left to leave out.
    pub(crate) fn split(&mut self, slot: Slot) -> Result<(), Error> {
        if !slot.variations {
            return Err(unreadable(format!(
                "the page at offset {} was refused for carrying too many variations, though it \
                 asked for none",
                slot.offset
            )));
        }
        if slot.limit < self.per_page || slot.limit == 1 {
            self.pending.push_front(Slot {
                variations: false,
                ..slot
            });
            return Ok(());
        }
        let half = slot.limit / 2;
        self.pending.push_front(Slot {
            offset: slot.offset + half,
            limit: slot.limit - half,
            variations: true,
        });
        self.pending.push_front(Slot {
            limit: half,
            ..slot
        });
        Ok(())
    }
}

/// A read that yields its items a page at a time: what a [`PageStream`] pulls from.
///
/// The reader is moved into each page's read and handed back with it, so that the read can
/// borrow it mutably while the stream that owns both stays movable.
pub(crate) trait PageReader<'a>: Sized + Send + 'a {
    type Item;
    /// What the stream keeps from the reader, to answer while a page is being read (the reader
    /// is inside that read then).
    type Note: Default;

    /// Reads the items of the next page (possibly none), or `None` once everything was read.
    fn read_page(self) -> PageRead<'a, Self>;

    /// After each page read, whatever its outcome.
    fn after_page(&self, _note: &mut Self::Note) {}

    /// Once every page was read, without an error.
    fn at_end(&self, _note: &mut Self::Note) {}
}

/// A page being read: the reader back with the page's items.
pub(crate) type PageRead<'a, R> = Pin<
    Box<
        dyn Future<Output = (R, Result<Option<Vec<<R as PageReader<'a>>::Item>>, Error>)>
            + Send
            + 'a,
    >,
>;

/// A [`PageReader`]'s items as a `Stream` of `Result<Item, Error>`, holding one page at a time:
/// the next page is read when the last one's items are all taken. The first error is the
/// stream's last item. Dropping it drops the page being read.
pub(crate) struct PageStream<'a, R: PageReader<'a>> {
    /// `None` while `read` holds it, and once the stream ended.
    reader: Option<R>,
    read: Option<PageRead<'a, R>>,
    buffer: VecDeque<R::Item>,
    note: R::Note,
    ended: bool,
}

impl<'a, R: PageReader<'a>> PageStream<'a, R> {
    pub(crate) fn new(reader: R) -> Self {
        Self {
            reader: Some(reader),
            read: None,
            buffer: VecDeque::new(),
            note: R::Note::default(),
            ended: false,
        }
    }

    /// Items read and not yet taken.
    pub(crate) fn buffered_items(&self) -> usize {
        self.buffer.len()
    }

    pub(crate) fn note(&self) -> &R::Note {
        &self.note
    }

    pub(crate) fn ended(&self) -> bool {
        self.ended
    }
}

// No field is pinned: the page being read is boxed.
impl<'a, R: PageReader<'a>> Unpin for PageStream<'a, R> {}

impl<'a, R: PageReader<'a>> futures_core::Stream for PageStream<'a, R> {
    type Item = Result<R::Item, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(item) = this.buffer.pop_front() {
                return Poll::Ready(Some(Ok(item)));
            }
            if this.ended {
                return Poll::Ready(None);
            }
            let read = match &mut this.read {
                Some(read) => read,
                None => {
                    let Some(reader) = this.reader.take() else {
                        // Unreachable: the reader is back whenever no read holds it.
                        this.ended = true;
                        return Poll::Ready(None);
                    };
                    this.read.insert(reader.read_page())
                }
            };
            let Poll::Ready((reader, items)) = read.as_mut().poll(cx) else {
                return Poll::Pending;
            };
            this.read = None;
            reader.after_page(&mut this.note);
            match items {
                Ok(Some(items)) => {
                    this.buffer.extend(items);
                    this.reader = Some(reader);
                }
                Ok(None) => {
                    reader.at_end(&mut this.note);
                    this.ended = true;
                }
                Err(error) => {
                    this.ended = true;
                    return Poll::Ready(Some(Err(error)));
                }
            }
        }
    }
}

fn non_negative(value: i32) -> Result<u32, Error> {
    u32::try_from(value)
        .map_err(|_| unreadable(format!("a search page with a negative count ({value})")))
}

fn unreadable(detail: String) -> Error {
    Error::unreadable_read(detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(offset: i32, count: i32, total: i32, limit: i32, first_id: i64) -> ProductPage {
        let items: Vec<_> = (0..i64::from(count))
            .map(|n| serde_json::json!({"id": first_id + n}))
            .collect();
        serde_json::from_value(serde_json::json!({
            "offset": offset, "count": count, "total": total, "limit": limit, "items": items,
        }))
        .unwrap()
    }

    fn detail(error: Error) -> String {
        let Error::InvalidResponse { detail, .. } = error else {
            panic!("{error:?}")
        };
        detail
    }

    #[test]
    fn reads_every_page_then_stops() {
        let mut pages = Pages::new();
        assert_eq!(
            pages.take(&page(0, 100, 250, 100, 1)).unwrap(),
            Next::Offset(100)
        );
        assert_eq!(pages.offset(), 100);
        assert_eq!(
            pages.take(&page(100, 100, 250, 100, 101)).unwrap(),
            Next::Offset(200)
        );
        assert_eq!(
            pages.take(&page(200, 50, 250, 100, 201)).unwrap(),
            Next::Done
        );
        // One page, and no page at all.
        assert_eq!(
            Pages::new().take(&page(0, 3, 3, 100, 1)).unwrap(),
            Next::Done
        );
        assert_eq!(
            Pages::new().take(&page(0, 0, 0, 100, 1)).unwrap(),
            Next::Done
        );
    }

    #[test]
    fn a_server_that_would_page_forever_is_refused_saying_why() {
        // The offset ignored: the first page again.
        let mut pages = Pages::new();
        pages.take(&page(0, 100, 250, 100, 1)).unwrap();
        let why = detail(pages.take(&page(0, 100, 250, 100, 1)).unwrap_err());
        assert!(
            why.contains("offset 100") && why.contains("offset 0"),
            "{why}"
        );
        // The right offset, the same products.
        let mut pages = Pages::new();
        pages.take(&page(0, 100, 250, 100, 1)).unwrap();
        let why = detail(pages.take(&page(100, 100, 250, 100, 1)).unwrap_err());
        assert!(why.contains("read already"), "{why}");
        // New products on every page and a total that keeps growing: past the bound.
        let mut pages = Pages::new();
        let mut total = 150;
        let mut offset = 0;
        let mut taken = 0;
        let why = loop {
            match pages.take(&page(offset, 100, total, 100, i64::from(offset) + 1)) {
                Ok(Next::Offset(next)) => offset = i32::try_from(next).unwrap(),
                Ok(Next::Done) => panic!("it ended"),
                Err(error) => break detail(error),
            }
            taken += 1;
            total += 100;
        };
        assert_eq!(taken, 3, "two pages for a total of 150, and one spare");
        assert!(
            why.contains("more than the 3") && why.contains("150"),
            "{why}"
        );
        // A page without the fields paging needs.
        let bare: ProductPage = serde_json::from_value(serde_json::json!({"items": []})).unwrap();
        assert!(detail(Pages::new().take(&bare).unwrap_err()).contains("total"));
    }

    /// The old promise was an error for an empty page while `total` says more; the search now
    /// ends there with what it read.
    #[test]
    fn an_empty_page_ends_the_search_whatever_its_total_says() {
        let mut pages = Pages::new();
        pages.take(&page(0, 100, 250, 100, 1)).unwrap();
        assert_eq!(pages.take(&page(100, 0, 250, 100, 1)).unwrap(), Next::Done);
        // Ecwid's documented answer for a public token: a total of 5, two items; a short page
        // is followed, and the empty one after it ends the search.
        let mut pages = Pages::new();
        assert_eq!(pages.take(&page(0, 2, 5, 100, 1)).unwrap(), Next::Offset(2));
        assert_eq!(pages.take(&page(2, 0, 5, 100, 3)).unwrap(), Next::Done);
    }

    fn order_page(offset: i32, total: i32, ids: &[&str]) -> OrderPage {
        let items: Vec<_> = ids.iter().map(|id| serde_json::json!({"id": id})).collect();
        serde_json::from_value(serde_json::json!({
            "offset": offset, "count": ids.len(), "total": total, "limit": 100, "items": items,
        }))
        .unwrap()
    }

    #[test]
    fn pages_of_orders_follow_the_same_rules_by_their_text_ids() {
        let mut pages = Pages::new();
        let (next, fresh) = pages
            .take_fresh(&order_page(0, 3, &["XJ12H", "K8XTQ"]))
            .unwrap();
        assert_eq!((next, fresh), (Next::Offset(2), vec![true, true]));
        // An order pushed onto the next page by one placed meanwhile: not new, not an error.
        let (next, fresh) = pages
            .take_fresh(&order_page(2, 4, &["K8XTQ", "EBJFT"]))
            .unwrap();
        assert_eq!((next, fresh), (Next::Done, vec![false, true]));
        // A page of orders all read already.
        let mut pages = Pages::new();
        pages.take(&order_page(0, 3, &["XJ12H", "K8XTQ"])).unwrap();
        let why = detail(
            pages
                .take(&order_page(2, 3, &["XJ12H", "K8XTQ"]))
                .unwrap_err(),
        );
        assert!(why.contains("only orders read already"), "{why}");
        // The offset ignored, and an empty page.
        let mut pages = Pages::new();
        pages.take(&order_page(0, 3, &["XJ12H", "K8XTQ"])).unwrap();
        let why = detail(pages.take(&order_page(0, 3, &["EBJFT"])).unwrap_err());
        assert!(why.contains("offset 2"), "{why}");
        let mut pages = Pages::new();
        pages.take(&order_page(0, 3, &["XJ12H", "K8XTQ"])).unwrap();
        assert_eq!(pages.take(&order_page(2, 3, &[])).unwrap(), Next::Done);
    }

    fn slot(offset: u32, limit: u32) -> Slot {
        Slot {
            offset,
            limit,
            variations: true,
        }
    }

    fn ids(products: &[&ProductStock]) -> Vec<i64> {
        products.iter().map(|p| p.id.unwrap()).collect()
    }

    #[test]
    fn a_sweep_plans_every_page_and_takes_them_in_any_order() {
        let first_page = page(0, 100, 250, 100, 1);
        let (mut sweep, first) = Sweep::started(&first_page, 100).unwrap();
        assert_eq!(first.len(), 100);
        assert_eq!(sweep.next_slots(5), [slot(100, 100), slot(200, 100)]);
        assert!(sweep.is_done());
        let last = page(200, 50, 250, 100, 201);
        assert_eq!(ids(&sweep.take(slot(200, 100), &last).unwrap()).len(), 50);
        let middle = page(100, 100, 250, 100, 101);
        assert_eq!(ids(&sweep.take(slot(100, 100), &middle).unwrap())[0], 101);
        assert_eq!((sweep.read(), sweep.total()), (250, 250));
        // An empty catalog: nothing more to read.
        let empty = page(0, 0, 0, 100, 1);
        let (sweep, first) = Sweep::started(&empty, 100).unwrap();
        assert!(first.is_empty() && sweep.is_done());
    }

    #[test]
    fn a_total_that_grows_within_a_spare_page_is_read_to_its_end() {
        let (mut sweep, _) = Sweep::started(&page(0, 100, 250, 100, 1), 100).unwrap();
        let slots = sweep.next_slots(5);
        // Read after 30 products were added: 280 in all.
        sweep
            .take(slots[0], &page(100, 100, 280, 100, 101))
            .unwrap();
        let end = page(200, 80, 280, 100, 201);
        assert_eq!(sweep.take(slots[1], &end).unwrap().len(), 80);
        // The page past the first total, whose products came already: not an error now.
        assert_eq!(sweep.next_slots(5), [slot(250, 100)]);
        let again = page(250, 30, 280, 100, 251);
        let again = sweep.take(slot(250, 100), &again).unwrap();
        assert!(again.is_empty(), "each product once");
        assert_eq!(sweep.read(), 280);
    }

    #[test]
    fn pages_that_do_not_add_up_are_refused_saying_why() {
        let started = || Sweep::started(&page(0, 100, 250, 100, 1), 100).unwrap().0;
        let cases: [(ProductPage, &str); 3] = [
            (page(100, 100, 240, 100, 101), "from 250 to 240"),
            (page(100, 100, 351, 100, 101), "past the 350"),
            (page(100, 100, 250, 100, 1), "read already"),
        ];
        for (answer, says) in cases {
            let why = detail(started().take(slot(100, 100), &answer).unwrap_err());
            assert!(why.contains(says), "{why}");
        }
        let mut sweep = started();
        let why = detail(
            sweep
                .take(slot(100, 50), &page(100, 100, 250, 100, 101))
                .unwrap_err(),
        );
        assert!(why.contains("more than the 50 asked"), "{why}");
        let mut counted = page(100, 100, 250, 100, 101);
        counted.count = Some(99);
        let why = detail(started().take(slot(100, 100), &counted).unwrap_err());
        assert!(
            why.contains("says it holds 99 products and carries 100"),
            "{why}"
        );
    }

    /// The old promise was an error for a page shorter than asked (an empty one included)
    /// while the total says more; the search now ends there with what it read.
    #[test]
    fn a_short_or_empty_page_ends_a_sweep_where_it_is() {
        // A short page: the pages planned past it are not asked for.
        let (mut sweep, _) = Sweep::started(&page(0, 100, 250, 100, 1), 100).unwrap();
        let middle = sweep.next_slots(1)[0];
        let short = page(100, 50, 250, 100, 101);
        assert_eq!(sweep.take(middle, &short).unwrap().len(), 50);
        assert!(sweep.is_done(), "{:?}", sweep.next_slots(5));
        assert_eq!(sweep.read(), 150);
        // An empty page, with the page after it asked for already: that one is still taken,
        // and a total that grows afterwards plans nothing past the end.
        let (mut sweep, _) = Sweep::started(&page(0, 100, 250, 100, 1), 100).unwrap();
        let slots = sweep.next_slots(5);
        assert_eq!(slots, [slot(100, 100), slot(200, 100)]);
        let empty = page(100, 0, 250, 100, 101);
        assert!(sweep.take(slots[0], &empty).unwrap().is_empty());
        let after = page(200, 0, 280, 100, 201);
        assert!(sweep.take(slots[1], &after).unwrap().is_empty());
        assert!(sweep.is_done(), "{:?}", sweep.next_slots(5));
        assert_eq!(sweep.read(), 100);
        // A first page shorter than its total (a public token's): nothing more is planned.
        let public = page(0, 2, 5, 100, 1);
        let (sweep, first) = Sweep::started(&public, 100).unwrap();
        assert_eq!((first.len(), sweep.is_done()), (2, true));
        // Past the end, the refusals still hold: a total that shrank.
        let (mut sweep, _) = Sweep::started(&page(0, 100, 250, 100, 1), 100).unwrap();
        let slots = sweep.next_slots(5);
        sweep.take(slots[0], &page(100, 50, 250, 100, 101)).unwrap();
        let why = detail(
            sweep
                .take(slots[1], &page(200, 0, 240, 100, 201))
                .unwrap_err(),
        );
        assert!(why.contains("from 250 to 240"), "{why}");
    }

    #[test]
    fn a_page_over_the_variation_cap_is_halved_then_read_without_variations() {
        let (mut sweep, _) = Sweep::started(&page(0, 100, 250, 100, 1), 100).unwrap();
        let first = sweep.next_slots(1)[0];
        sweep.split(first).unwrap();
        let halves = sweep.next_slots(2);
        assert_eq!(halves, [slot(100, 50), slot(150, 50)]);
        sweep.split(halves[1]).unwrap();
        let bare = sweep.next_slots(1)[0];
        assert_eq!(
            bare,
            Slot {
                offset: 150,
                limit: 50,
                variations: false
            }
        );
        let why = detail(sweep.split(bare).unwrap_err());
        assert!(why.contains("asked for none"), "{why}");
        // The rest of the plan is untouched.
        assert_eq!(sweep.next_slots(5), [slot(200, 100)]);
    }

    /// A reader of the pages it holds, ending with `last` once they are read.
    struct Listed {
        pages: VecDeque<Vec<u32>>,
        last: Result<(), &'static str>,
    }

    /// Pages read, and whether the read ended whole.
    #[derive(Debug, Default, PartialEq)]
    struct Seen {
        pages: usize,
        whole: bool,
    }

    impl<'a> PageReader<'a> for Listed {
        type Item = u32;
        type Note = Seen;

        fn read_page(mut self) -> PageRead<'a, Self> {
            Box::pin(async move {
                let page = match self.pages.pop_front() {
                    Some(page) => Ok(Some(page)),
                    None => self
                        .last
                        .map(|()| None)
                        .map_err(|why| unreadable(why.into())),
                };
                (self, page)
            })
        }

        fn after_page(&self, seen: &mut Seen) {
            seen.pages += 1;
        }

        fn at_end(&self, seen: &mut Seen) {
            seen.whole = true;
        }
    }

    #[tokio::test]
    async fn a_page_stream_yields_each_page_then_ends_once() {
        use futures::StreamExt;

        let pages = VecDeque::from([vec![1, 2], vec![], vec![3]]);
        let mut stream = PageStream::new(Listed {
            pages: pages.clone(),
            last: Ok(()),
        });
        assert_eq!(stream.next().await.unwrap().unwrap(), 1);
        assert_eq!((stream.buffered_items(), stream.note().pages), (1, 1));
        let rest: Vec<_> = stream.by_ref().map(Result::unwrap).collect().await;
        assert_eq!(rest, [2, 3]);
        assert!(stream.ended());
        assert_eq!(
            *stream.note(),
            Seen {
                pages: 4,
                whole: true
            }
        );
        assert!(stream.next().await.is_none());

        // An error: after what was read, the last item; the end hook is not called.
        let mut stream = PageStream::new(Listed {
            pages,
            last: Err("a page without its total"),
        });
        let items: Vec<_> = stream.by_ref().collect().await;
        assert_eq!(items.len(), 4);
        assert!(detail(items.into_iter().last().unwrap().unwrap_err()).contains("total"));
        assert_eq!(
            *stream.note(),
            Seen {
                pages: 4,
                whole: false
            }
        );
        assert!(stream.ended() && stream.next().await.is_none());
    }
}
