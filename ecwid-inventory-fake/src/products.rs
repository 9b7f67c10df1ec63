//! The catalog reads: one product, one variation, a product's variations, a product search.
//! Each answer is built from the spec's generated types (`ProductStock`, `VariationStock`,
//! `ProductPage`), then cut down to the `responseFields` asked for.

use std::cmp::Reverse;
use std::collections::BTreeSet;

use hyper::StatusCode;

use super::answer::Answer;
use super::catalog::{Counter, Missing, OwnStock, ProductState, Target};
use super::fields::Fields;
use super::request::{parse_id, Query};
use super::state::{not_found, State};
use super::time::{format_date, parse_time};
use ecwid_inventory::generated::types::{
    ProductPage, ProductStock, SearchProductsSortBy as SortBy, VariationStock,
};
use ecwid_inventory::{CombinationId, ProductId, Stock, StockItem, StoreId};

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

fn variation_stock(
    product: &ProductState,
    id: CombinationId,
    own: Option<&OwnStock>,
) -> VariationStock {
    let fields = StockFields::from(product.variation_counter(own));
    VariationStock {
        id: Some(id_field(id.get())),
        // Empty for a variation that shares its product's stock, as Ecwid sends it.
        sku: Some(own.map(|own| own.sku.clone()).unwrap_or_default()),
        quantity: fields.quantity,
        unlimited: Some(fields.unlimited),
        in_stock: Some(fields.in_stock),
        instock: None,
        warning_limit: fields.warning_limit,
    }
}

fn product_stock(id: ProductId, product: &ProductState) -> ProductStock {
    let fields = StockFields::from(product.own);
    ProductStock {
        id: Some(id_field(id.get())),
        sku: Some(product.sku.clone()),
        quantity: fields.quantity,
        unlimited: Some(fields.unlimited),
        in_stock: Some(fields.in_stock),
        instock: None,
        warning_limit: fields.warning_limit,
        update_timestamp: Some(product.updated),
        updated: Some(format_date(product.updated)),
        combinations: product
            .variations
            .iter()
            .map(|(&combination, own)| variation_stock(product, combination, own.as_ref()))
            .collect(),
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

    fn matches(&self, id: ProductId, product: &ProductState) -> bool {
        if self.products.as_ref().is_some_and(|ids| !ids.contains(&id)) {
            return false;
        }
        // Ecwid ignores the other filters when `sku` or `productId` is given.
        if self.sku.is_none() && self.products.is_none() {
            let (from, to) = self.updated;
            if from.is_some_and(|from| product.updated < from)
                || to.is_some_and(|to| product.updated > to)
            {
                return false;
            }
        }
        // Exact and case-sensitive. A variation that shares its product's stock has no SKU
        // of its own to match (its product's does).
        self.sku.as_ref().is_none_or(|sku| {
            product.sku == *sku
                || product
                    .variations
                    .values()
                    .flatten()
                    .any(|own| own.sku == *sku)
        })
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
    fn search_page(
        &self,
        store: StoreId,
        search: &Search,
    ) -> (usize, Vec<(ProductId, &ProductState)>) {
        let Some(products) = self.catalog.stores.get(&store) else {
            return (0, Vec::new());
        };
        let offset = usize::try_from(search.offset).unwrap_or(usize::MAX);
        let limit = usize::try_from(search.limit).unwrap_or(usize::MAX);
        let unfiltered =
            search.sku.is_none() && search.products.is_none() && search.updated == (None, None);
        let added = self
            .catalog
            .added_order
            .get(&store)
            .map_or(&[][..], Vec::as_slice);
        let product = |id: &ProductId| (*id, &products[id]);
        // Paging the whole catalog in the order products were added is what a full read
        // does, page after page: that page is taken from the kept order, so that a page costs
        // what it sends rather than a sort of the whole catalog.
        match search.sort {
            Some(SortBy::AddedTimeAsc) if unfiltered => {
                let page = added.iter().skip(offset).take(limit).map(product).collect();
                return (added.len(), page);
            }
            Some(SortBy::AddedTimeDesc) if unfiltered => {
                let page = added
                    .iter()
                    .rev()
                    .skip(offset)
                    .take(limit)
                    .map(product)
                    .collect();
                return (added.len(), page);
            }
            _ => {}
        }
        // In id order, from the map.
        let mut matches: Vec<(ProductId, &ProductState)> = products
            .iter()
            .filter(|(&id, product)| search.matches(id, product))
            .map(|(&id, product)| (id, product))
            .collect();
        match search.sort {
            Some(SortBy::AddedTimeAsc) => matches.sort_by_key(|(_, product)| product.added),
            Some(SortBy::AddedTimeDesc) => {
                matches.sort_by_key(|(_, product)| Reverse(product.added));
            }
            // Update times are whole seconds: ties are broken by id, so that paging is stable.
            Some(SortBy::UpdatedTimeAsc) => matches.sort_by_key(|&(id, p)| (p.updated, id)),
            Some(SortBy::UpdatedTimeDesc) => {
                matches.sort_by_key(|&(id, p)| Reverse((p.updated, id)));
            }
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
            ) => {}
        }
        let total = matches.len();
        let page = matches.into_iter().skip(offset).take(limit).collect();
        (total, page)
    }

    /// `GET /products/{productId}`.
    pub(crate) fn get_product(&self, target: Target, query: &Query) -> Answer {
        let fields = match response_fields(query) {
            Ok(fields) => fields,
            Err(answer) => return answer,
        };
        let product = target.item.product();
        match self.catalog.product(target.store, product) {
            Ok(state) => read_answer(product_stock(product, state), fields.as_ref()),
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
            .and_then(|state| {
                let own = state
                    .variations
                    .get(&combination)
                    .ok_or(Missing::Combination)?;
                Ok(variation_stock(state, combination, own.as_ref()))
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
                let variations: Vec<VariationStock> = product
                    .variations
                    .iter()
                    .map(|(&id, own)| variation_stock(product, id, own.as_ref()))
                    .collect();
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
        let variations: usize = page.iter().map(|(_, p)| p.variations.len()).sum();
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
        let items: Vec<ProductStock> = page
            .iter()
            .map(|&(id, product)| product_stock(id, product))
            .collect();
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
