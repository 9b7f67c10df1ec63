//! Following a product search page by page, with a bound that a server repeating a page,
//! ignoring the offset or inflating its `total` cannot make the client pass. Every paged read
//! goes through [`Pages`].

use std::collections::HashSet;

use crate::{generated::types::ProductPage, Error};

/// Pages read beyond what the first page's `total` calls for, for a catalog that grew a
/// little while it was read.
const SPARE_PAGES: u32 = 1;

/// Where a paged search is, and what it has seen.
#[derive(Debug, Default)]
pub(crate) struct Pages {
    /// The offset of the next page to ask for.
    next: u32,
    /// Pages read so far.
    read: u32,
    /// The most pages the search may take: set by the first page.
    bound: Option<Bound>,
    /// Products already read, to notice a page that brings nothing new.
    seen: HashSet<i64>,
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

impl Pages {
    /// A search from its first page.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The offset of the next page to ask for.
    pub(crate) fn offset(&self) -> u32 {
        self.next
    }

    /// Takes the page read at [`offset`](Self::offset), and says what to read next.
    ///
    /// Fails with [`Error::InvalidResponse`], saying why, when the pages cannot be trusted to
    /// end: a page at another offset than asked, an empty page while `total` says more, a page
    /// of products all read already, or more pages than the first page's `total` allows (with
    /// one spare).
    pub(crate) fn take(&mut self, page: &ProductPage) -> Result<Next, Error> {
        let (Some(offset), Some(count), Some(total)) = (page.offset, page.count, page.total) else {
            return Err(unreadable(
                "a search page without its offset, count or total".into(),
            ));
        };
        let (offset, count, total) = (
            non_negative(offset)?,
            non_negative(count)?,
            non_negative(total)?,
        );
        if offset != self.next {
            return Err(unreadable(format!(
                "the search was asked for the page at offset {}, and Ecwid answered the one at \
                 offset {offset}: the offset seems ignored",
                self.next
            )));
        }
        self.read += 1;
        let bound = *self.bound.get_or_insert_with(|| {
            let per_page = page
                .limit
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
        let ids: Vec<i64> = page.items.iter().filter_map(|item| item.id).collect();
        let new = ids.iter().filter(|id| self.seen.insert(**id)).count();
        if !ids.is_empty() && new == 0 {
            return Err(unreadable(format!(
                "the page at offset {offset} holds only products read already: the search \
                 repeats itself"
            )));
        }
        let end = offset.saturating_add(count);
        if end >= total {
            return Ok(Next::Done);
        }
        if count == 0 {
            return Err(unreadable(format!(
                "the page at offset {offset} is empty, though the search's total is {total}"
            )));
        }
        self.next = end;
        Ok(Next::Offset(end))
    }
}

fn non_negative(value: i32) -> Result<u32, Error> {
    u32::try_from(value)
        .map_err(|_| unreadable(format!("a search page with a negative count ({value})")))
}

fn unreadable(detail: String) -> Error {
    Error::InvalidResponse {
        status: Some(200),
        detail,
    }
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
        // An empty page while total says more.
        let mut pages = Pages::new();
        pages.take(&page(0, 100, 250, 100, 1)).unwrap();
        let why = detail(pages.take(&page(100, 0, 250, 100, 1)).unwrap_err());
        assert!(why.contains("empty") && why.contains("250"), "{why}");
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
}
