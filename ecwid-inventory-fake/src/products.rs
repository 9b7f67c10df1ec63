//! The catalog reads: one product, one variation, a product's variations, a product search.
//! Each answer is built from the spec's generated types (`ProductStock`, `VariationStock`,
//! `ProductPage`), then cut down to the `responseFields` asked for.

use std::collections::BTreeSet;
use std::ops::Bound;

use hyper::StatusCode;

use super::answer::Answer;
use super::catalog::{Counter, Missing, ProductRef, StoreCatalog, Target, VariationRef};
use super::fields::Fields;
use super::request::{parse_id, Query};
use super::state::{not_found, State};
use super::time::{format_date, parse_time};
use ecwid_inventory::generated::types::{
    ProductPage, ProductStock, SearchProductsSortBy as SortBy, VariationStock,
};
use ecwid_inventory::{ProductId, Stock, StockItem, StoreId};

/// Ecwid's largest page of a product search, and its default.
pub(crate) const MAX_SEARCH_LIMIT: i32 = 100;

/// The most variations one answer may carry (Ecwid's `COMBINATION_LIMIT_PER_REQUEST_EXCEEDED`).
pub(crate) const MAX_VARIATIONS_PER_REQUEST: usize = 200;

/// The stock fields of a counter: `quantity` (absent when unlimited), `unlimited`, `inStock`,
/// `warningLimit`.
struct StockFields {
    quantity: Option<i64>,
    unlimited: bool,
    in_stock: bool,
    warning_limit: Option<i64>,
}

impl From<Counter> for StockFields {
    fn from(counter: Counter) -> Self {
        let (quantity, unlimited) = match counter.stock {
            Stock::Quantity(quantity) => (Some(quantity), false),
            Stock::Unlimited => (None, true),
        };
        StockFields {
            quantity,
            unlimited,
            in_stock: unlimited || quantity.is_some_and(|q| q > 0),
            warning_limit: counter.warning_limit,
        }
    }
}

fn variation_stock(variation: VariationRef<'_>) -> VariationStock {
    let fields = StockFields::from(variation.counter);
    VariationStock {
        id: Some(id_field(variation.id.get())),
        // Empty for a variation that shares its product's stock, as Ecwid sends it.
        sku: Some(variation.sku.to_owned()),
        quantity: fields.quantity,
        unlimited: Some(fields.unlimited),
        in_stock: Some(fields.in_stock),
        instock: None,
        warning_limit: fields.warning_limit,
    }
}

fn product_stock(product: ProductRef<'_>) -> ProductStock {
    let fields = StockFields::from(product.own());
    ProductStock {
        id: Some(id_field(product.id().get())),
        sku: Some(product.sku().to_owned()),
        quantity: fields.quantity,
        unlimited: Some(fields.unlimited),
        in_stock: Some(fields.in_stock),
        instock: None,
        warning_limit: fields.warning_limit,
        update_timestamp: Some(product.updated()),
        updated: Some(format_date(product.updated())),
        combinations: product.variations().map(variation_stock).collect(),
    }
}

/// Ids are `int64` in the spec; the fake's ids are declared by tests, well within it.
fn id_field(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(i64::MAX)
}

/// Reads `responseFields`: `None` when every field is sent (absent, or empty).
pub(crate) fn response_fields(query: &Query) -> Result<Option<Fields>, Answer> {
    Ok(query
        .get("responseFields")
        .map(Fields::parse)
        .transpose()?
        .flatten())
}

/// A successful read: the generated type as JSON, cut down to `fields`.
pub(crate) fn read_answer(body: impl serde::Serialize, fields: Option<&Fields>) -> Answer {
    let mut answer = Answer::ok(body);
    if let Some(fields) = fields {
        fields.apply(&mut answer.body);
    }
    answer
}

/// A search's filters, order and page, read from its query.
struct Search {
    sku: Option<String>,
    products: Option<BTreeSet<ProductId>>,
    /// `updatedFrom` and `updatedTo`, both included, in UNIX seconds.
    updated: (Option<i64>, Option<i64>),
    sort: Option<SortBy>,
    offset: i32,
    limit: i32,
}

impl Search {
    fn parse(query: &Query) -> Result<Self, Answer> {
        let sku = query.get("sku");
        // The spec's minLength: an empty SKU would match every variation that shares its
        // product's stock.
        if sku.is_some_and(str::is_empty) {
            return Err(Answer::wrong_parameter("sku must not be empty"));
        }
        let products = query.get("productId").map(product_ids).transpose()?;
        let offset = count_parameter(query, "offset")?.unwrap_or(0);
        let sort = query
            .get("sortBy")
            .map(|sort| {
                sort.parse().map_err(|_| {
                    Answer::wrong_parameter(format!("sortBy {sort:?} is not one of Ecwid's orders"))
                })
            })
            .transpose()?;
        let updated = (
            time_parameter(query, "updatedFrom")?,
            time_parameter(query, "updatedTo")?,
        );
        // Last: a well-formed request for too many products is 402, not 400.
        let limit = match count_parameter(query, "limit")? {
            None => MAX_SEARCH_LIMIT,
            Some(0) => return Err(Answer::wrong_parameter("limit must be at least 1")),
            Some(limit) if limit > MAX_SEARCH_LIMIT => {
                return Err(Answer::error(
                    StatusCode::PAYMENT_REQUIRED,
                    "MAX_PRODUCTS_FOR_API_REQUEST_LIMIT_EXCEEDED",
                    format!("At most {MAX_SEARCH_LIMIT} products in one request, not {limit}"),
                ))
            }
            Some(limit) => limit,
        };
        Ok(Search {
            sku: sku.map(str::to_owned),
            products,
            updated,
            sort,
            offset,
            limit,
        })
    }

    /// The products the search matches, in its order, as runs that a page is taken from
    /// without listing every match: what a search costs grows with what it finds by id or
    /// SKU, and with the products changed since the fake started, never with the catalog.
    fn runs(&self, store: &StoreCatalog) -> Vec<Run> {
        let (key, descending) = order(self.sort);
        let listed = |mut positions: Vec<usize>| {
            match key {
                Key::Added => positions.sort_unstable(),
                Key::Id => positions.sort_unstable_by_key(|&position| store.get(position).id()),
                // Update times are whole seconds: ties are broken by id, so that paging is
                // stable.
                Key::Updated => positions.sort_unstable_by_key(|&position| {
                    let product = store.get(position);
                    (product.updated(), product.id())
                }),
            }
            if descending {
                positions.reverse();
            }
            Run::Listed(positions)
        };
        // Ecwid ignores the other filters when `sku` or `productId` is given.
        if let Some(sku) = &self.sku {
            // Exact and case-sensitive. A variation that shares its product's stock has no SKU
            // of its own to match (its product's does).
            let mut found = store.with_sku(sku);
            if let Some(ids) = &self.products {
                found.retain(|&position| ids.contains(&store.get(position).id()));
            }
            return vec![listed(found)];
        }
        if let Some(ids) = &self.products {
            return vec![listed(
                ids.iter().filter_map(|&id| store.position(id)).collect(),
            )];
        }
        let (from, to) = self.updated;
        let position =
            |(_, id): (i64, ProductId)| store.position(id).expect("a changed product is kept");
        let inside = || {
            store
                .changed_since(from.map_or(Bound::Unbounded, Bound::Included))
                .take_while(move |&(time, _)| to.is_none_or(|to| time <= to))
        };
        let started = store.started();
        if from.is_some_and(|from| started < from) || to.is_some_and(|to| started > to) {
            // Only products changed since the fake started can match.
            return vec![listed(inside().map(position).collect())];
        }
        // Every product unchanged since the fake started matches, and the changed ones within
        // the bounds.
        let n = store.len();
        let ranks = |kept: Kept, excluded: &mut dyn Iterator<Item = (i64, ProductId)>| {
            let mut ranks: Vec<usize> = excluded
                .map(|changed| {
                    let rank = kept.rank(store, position(changed));
                    if descending {
                        n - 1 - rank
                    } else {
                        rank
                    }
                })
                .collect();
            ranks.sort_unstable();
            ranks
        };
        match key {
            Key::Added | Key::Id => {
                let kept = if matches!(key, Key::Added) {
                    Kept::Added
                } else {
                    Kept::Id
                };
                let mut before = from.into_iter().flat_map(|from| {
                    store
                        .changed_since(Bound::Unbounded)
                        .take_while(move |&(time, _)| time < from)
                });
                let mut after = to
                    .into_iter()
                    .flat_map(|to| store.changed_since(Bound::Excluded(to)));
                let excluded = ranks(kept, &mut before.by_ref().chain(after.by_ref()));
                vec![Run::AllBut {
                    kept,
                    descending,
                    excluded,
                }]
            }
            Key::Updated => {
                // In that order: the changed products within the bounds updated before the fake
                // started (none unless its clock went back), every unchanged product by id,
                // then the changed ones updated since.
                let (earlier, later): (Vec<_>, Vec<_>) =
                    inside().partition(|&(time, _)| time < started);
                let unchanged = Run::AllBut {
                    kept: Kept::Id,
                    descending,
                    excluded: ranks(Kept::Id, &mut store.changed_since(Bound::Unbounded)),
                };
                let [earlier, later] = [earlier, later].map(|changed| {
                    let mut positions: Vec<usize> = changed.into_iter().map(position).collect();
                    if descending {
                        positions.reverse();
                    }
                    Run::Listed(positions)
                });
                if descending {
                    vec![later, unchanged, earlier]
                } else {
                    vec![earlier, unchanged, later]
                }
            }
        }
    }
}

/// What a search's order sorts by.
#[derive(Clone, Copy)]
enum Key {
    Added,
    Id,
    Updated,
}

/// A search's order: its key, and whether it is descending.
fn order(sort: Option<SortBy>) -> (Key, bool) {
    match sort {
        Some(SortBy::AddedTimeAsc) => (Key::Added, false),
        Some(SortBy::AddedTimeDesc) => (Key::Added, true),
        Some(SortBy::UpdatedTimeAsc) => (Key::Updated, false),
        Some(SortBy::UpdatedTimeDesc) => (Key::Updated, true),
        // The fake holds no names, prices or owner's order, and no keyword to be relevant
        // to: these keep product-id order.
        None
        | Some(
            SortBy::Relevance
            | SortBy::DefinedByStoreOwner
            | SortBy::NameAsc
            | SortBy::NameDesc
            | SortBy::PriceAsc
            | SortBy::PriceDesc,
        ) => (Key::Id, false),
    }
}

/// An order the store keeps, so that its n-th product is found at once.
#[derive(Clone, Copy)]
enum Kept {
    Added,
    Id,
}

impl Kept {
    /// The position (in added order) of the product at `rank` in this order.
    fn position(self, store: &StoreCatalog, rank: usize) -> usize {
        match self {
            Kept::Added => rank,
            Kept::Id => store.by_id(rank),
        }
    }

    /// The rank in this order of the product at `position`.
    fn rank(self, store: &StoreCatalog, position: usize) -> usize {
        match self {
            Kept::Added => position,
            Kept::Id => store.id_rank(position),
        }
    }
}

/// A stretch of a search's matches, in the search's order.
enum Run {
    /// These products (positions in added order), in this order.
    Listed(Vec<usize>),
    /// Every product of the store in a kept order, up or down, but those at the `excluded`
    /// ranks of that order (sorted).
    AllBut {
        kept: Kept,
        descending: bool,
        excluded: Vec<usize>,
    },
}

impl Run {
    fn len(&self, store: &StoreCatalog) -> usize {
        match self {
            Run::Listed(positions) => positions.len(),
            Run::AllBut { excluded, .. } => store.len() - excluded.len(),
        }
    }

    /// Adds to `page`, until it holds `limit`, this run's matches from the `skip`-th on.
    fn page(&self, store: &StoreCatalog, skip: usize, limit: usize, page: &mut Vec<usize>) {
        match self {
            Run::Listed(positions) => {
                let room = limit.saturating_sub(page.len());
                page.extend(positions.iter().skip(skip).take(room));
            }
            Run::AllBut {
                kept,
                descending,
                excluded,
            } => {
                let n = store.len();
                // The `skip`-th rank that is not excluded.
                let (mut rank, mut next) = (skip, 0);
                while excluded.get(next).is_some_and(|&excluded| excluded <= rank) {
                    rank += 1;
                    next += 1;
                }
                while page.len() < limit && rank < n {
                    if excluded.get(next) == Some(&rank) {
                        next += 1;
                    } else {
                        let rank = if *descending { n - 1 - rank } else { rank };
                        page.push(kept.position(store, rank));
                    }
                    rank += 1;
                }
            }
        }
    }
}

/// `productId`: ids of digits separated by commas, the spec's pattern. An id too large for any
/// product is accepted and matches none.
fn product_ids(list: &str) -> Result<BTreeSet<ProductId>, Answer> {
    let mut ids = BTreeSet::new();
    for id in list.split(',') {
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Answer::wrong_parameter(format!(
                "productId must be product ids separated by commas, not {list:?}"
            )));
        }
        if let Ok(id) = id.parse() {
            ids.insert(ProductId::new(id));
        }
    }
    Ok(ids)
}

/// A time bound (the spec's `TimeBound`), in UNIX seconds, if sent.
pub(crate) fn time_parameter(query: &Query, name: &str) -> Result<Option<i64>, Answer> {
    query
        .get(name)
        .map(|text| {
            parse_time(text).ok_or_else(|| {
                Answer::wrong_parameter(format!(
                    "{name} must be UNIX seconds or a date such as \
                     2023-04-22 18:48:38 -0500, not {text:?}"
                ))
            })
        })
        .transpose()
}

/// A non-negative 32-bit count given as decimal digits, if sent.
pub(crate) fn count_parameter(query: &Query, name: &str) -> Result<Option<i32>, Answer> {
    query
        .get(name)
        .map(|value| {
            parse_id(value)
                .and_then(|n| i32::try_from(n).ok())
                .ok_or_else(|| {
                    Answer::wrong_parameter(format!(
                        "{name} must be a whole number from 0 to {}, not {value:?}",
                        i32::MAX
                    ))
                })
        })
        .transpose()
}

impl State {
    /// The number of products `search` matches, and its page of them in its order.
    fn search_page(&self, store: StoreId, search: &Search) -> (usize, Vec<ProductRef<'_>>) {
        let Some(store) = self.catalog.store(store) else {
            return (0, Vec::new());
        };
        let offset = usize::try_from(search.offset).unwrap_or(usize::MAX);
        let limit = usize::try_from(search.limit).unwrap_or(usize::MAX);
        let runs = search.runs(store);
        let total = runs.iter().map(|run| run.len(store)).sum();
        let mut page = Vec::with_capacity(limit.min(total));
        let mut skip = offset;
        for run in &runs {
            let len = run.len(store);
            if skip >= len {
                skip -= len;
                continue;
            }
            run.page(store, skip, limit, &mut page);
            skip = 0;
            if page.len() >= limit {
                break;
            }
        }
        let page = page
            .into_iter()
            .map(|position| store.get(position))
            .collect();
        (total, page)
    }

    /// `GET /products/{productId}`.
    pub(crate) fn get_product(&self, target: Target, query: &Query) -> Answer {
        let fields = match response_fields(query) {
            Ok(fields) => fields,
            Err(answer) => return answer,
        };
        match self.catalog.product(target.store, target.item.product()) {
            Ok(product) => read_answer(product_stock(product), fields.as_ref()),
            Err(missing) => not_found(target, missing),
        }
    }

    /// `GET /products/{productId}/combinations/{combinationId}`.
    pub(crate) fn get_variation(&self, target: Target, query: &Query) -> Answer {
        let fields = match response_fields(query) {
            Ok(fields) => fields,
            Err(answer) => return answer,
        };
        let StockItem::Variation {
            product,
            combination,
        } = target.item
        else {
            unreachable!("the variation endpoint names a variation");
        };
        let found = self
            .catalog
            .product(target.store, product)
            .and_then(|product| {
                product
                    .variation(combination)
                    .map(variation_stock)
                    .ok_or(Missing::Combination)
            });
        match found {
            Ok(variation) => read_answer(variation, fields.as_ref()),
            Err(missing) => not_found(target, missing),
        }
    }

    /// `GET /products/{productId}/combinations`: every variation of a product, in id order.
    pub(crate) fn list_variations(&self, target: Target, query: &Query) -> Answer {
        let fields = match response_fields(query) {
            Ok(fields) => fields,
            Err(answer) => return answer,
        };
        match self.catalog.product(target.store, target.item.product()) {
            Ok(product) => {
                let variations: Vec<VariationStock> =
                    product.variations().map(variation_stock).collect();
                read_answer(variations, fields.as_ref())
            }
            Err(missing) => not_found(target, missing),
        }
    }

    /// `GET /products`: the matching products in `sortBy` order, a page at a time.
    pub(crate) fn search_products(&self, store: StoreId, query: &Query) -> Answer {
        let (fields, search) = match (response_fields(query), Search::parse(query)) {
            (Ok(fields), Ok(search)) => (fields, search),
            (Err(answer), _) | (_, Err(answer)) => return answer,
        };
        let (total, page) = self.search_page(store, &search);
        let sends_variations = fields
            .as_ref()
            .is_none_or(|fields| fields.keeps(&["items", "combinations"]));
        let variations: usize = page.iter().map(ProductRef::variation_count).sum();
        if sends_variations && variations > MAX_VARIATIONS_PER_REQUEST {
            return Answer::error(
                StatusCode::BAD_REQUEST,
                "COMBINATION_LIMIT_PER_REQUEST_EXCEEDED",
                format!(
                    "This page would carry {variations} variations, more than \
                     {MAX_VARIATIONS_PER_REQUEST}: ask for fewer products"
                ),
            );
        }
        let items: Vec<ProductStock> = page.into_iter().map(product_stock).collect();
        let page = ProductPage {
            total: Some(count(total)),
            count: Some(count(items.len())),
            offset: Some(search.offset),
            limit: Some(search.limit),
            items,
        };
        let mut page = serde_json::to_value(page).expect("generated types serialize");
        // The generated type leaves an empty list out; Ecwid sends `"items": []`.
        if page.get("items").is_none() {
            page["items"] = serde_json::Value::Array(Vec::new());
        }
        read_answer(page, fields.as_ref())
    }
}

pub(crate) fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use ecwid_inventory::CombinationId;

    use super::*;
    use crate::catalog::{Catalog, Product, Store, Variation};
    use crate::time::Clock;

    const STORE: StoreId = StoreId::new(1);

    /// 60 products added out of id order, some sharing a SKU, with variations of their own SKU
    /// or sharing their product's; some changed once, one twice, one at the start time.
    fn state() -> (State, i64) {
        let mut store = Store::new(STORE);
        for n in 0..60_u64 {
            let id = (n * 37) % 61 + 1;
            let sku = if n % 10 == 3 {
                "TWIN".to_owned()
            } else {
                format!("P{id}")
            };
            let mut product = Product::new(ProductId::new(id)).sku(sku).quantity(5);
            for v in 0..n % 4 {
                let variation = Variation::new(CombinationId::new(id * 10 + v));
                product = product.variation(if v == 2 {
                    variation
                } else {
                    variation.sku(format!("V{}", (id * 10 + v) % 97))
                });
            }
            store = store.product(product);
        }
        let clock = Clock::start();
        let started = clock.unix_seconds();
        let mut catalog = Catalog::from_stores(vec![store], started).unwrap();
        let touch = |catalog: &mut Catalog, id: u64, at: i64| {
            let item = StockItem::Product {
                product: ProductId::new(id),
            };
            catalog.touch(Target { store: STORE, item }, at);
        };
        for (id, at) in [
            (5, 3),
            (9, 1),
            (40, 3),
            (2, 1),
            (33, 2),
            (5, 2),
            (17, 0),
            (61, 1),
        ] {
            touch(&mut catalog, id, started + at);
        }
        (State::new(catalog, clock), started)
    }

    /// The search done the plain way: every product filtered, then sorted.
    fn reference(state: &State, search: &Search) -> (usize, Vec<u64>) {
        let store = state.catalog.store(STORE).unwrap();
        let (key, descending) = order(search.sort);
        let mut found: Vec<ProductRef<'_>> = (0..store.len())
            .map(|position| store.get(position))
            .filter(|product| {
                if search
                    .products
                    .as_ref()
                    .is_some_and(|ids| !ids.contains(&product.id()))
                {
                    return false;
                }
                if let Some(sku) = &search.sku {
                    return product.sku() == sku || product.variations().any(|v| v.sku == sku);
                }
                let (from, to) = search.updated;
                search.products.is_some()
                    || (from.is_none_or(|from| product.updated() >= from)
                        && to.is_none_or(|to| product.updated() <= to))
            })
            .collect();
        match key {
            Key::Added => {}
            Key::Id => found.sort_by_key(ProductRef::id),
            Key::Updated => found.sort_by_key(|product| (product.updated(), product.id())),
        }
        if descending {
            found.reverse();
        }
        let ids = found.iter().map(|product| product.id().get());
        let offset = usize::try_from(search.offset).unwrap();
        let limit = usize::try_from(search.limit).unwrap();
        (found.len(), ids.skip(offset).take(limit).collect())
    }

    #[test]
    fn every_search_finds_what_filtering_and_sorting_every_product_finds() {
        let (state, started) = state();
        let sorts = [
            None,
            Some(SortBy::AddedTimeAsc),
            Some(SortBy::AddedTimeDesc),
            Some(SortBy::UpdatedTimeAsc),
            Some(SortBy::UpdatedTimeDesc),
            Some(SortBy::NameAsc),
        ];
        let ids = |ids: &[u64]| Some(ids.iter().copied().map(ProductId::new).collect());
        let s = started;
        // (sku, productId, (updatedFrom, updatedTo))
        type Filter<'a> = (
            Option<&'a str>,
            Option<BTreeSet<ProductId>>,
            (Option<i64>, Option<i64>),
        );
        let filters: Vec<Filter<'_>> = vec![
            (None, None, (None, None)),
            (None, None, (Some(s), None)),
            (None, None, (Some(s + 1), None)),
            (None, None, (Some(s + 3), None)),
            (None, None, (None, Some(s))),
            (None, None, (None, Some(s + 1))),
            (None, None, (None, Some(s - 1))),
            (None, None, (Some(s + 1), Some(s + 2))),
            (None, None, (Some(s), Some(s + 1))),
            (None, None, (Some(s + 2), Some(s + 1))),
            (Some("TWIN"), None, (None, None)),
            (Some("P5"), None, (Some(s + 9), None)),
            (Some("V1"), None, (None, None)),
            (Some("NONE"), None, (None, None)),
            (Some("TWIN"), ids(&[5, 12, 49, 14, 60]), (None, None)),
            (None, ids(&[5, 2, 61, 99, 30, 17]), (Some(s + 2), None)),
        ];
        let mut searches = 0;
        for sort in sorts {
            for (sku, products, updated) in &filters {
                for limit in [1, 7, 100] {
                    for offset in (0..=62).step_by(if limit == 1 { 1 } else { 5 }) {
                        let search = Search {
                            sku: sku.map(str::to_owned),
                            products: products.clone(),
                            updated: *updated,
                            sort,
                            offset,
                            limit,
                        };
                        let (total, page) = state.search_page(STORE, &search);
                        let page: Vec<u64> = page.iter().map(|p| p.id().get()).collect();
                        assert_eq!(
                            (total, page),
                            reference(&state, &search),
                            "{sort:?} sku {sku:?} ids {products:?} updated {updated:?} \
                             offset {offset} limit {limit}"
                        );
                        searches += 1;
                    }
                }
            }
        }
        assert!(searches > 5_000);
    }
}
