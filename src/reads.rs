//! Reading stock: one item's ([`Client::stock`]), or items found by SKU ([`Client::find_sku`],
//! [`Client::find_skus`]). Reads change nothing, so they are retried like any request that is
//! safe to repeat.

use std::collections::BTreeMap;

use crate::{
    batch::{
        paths::{self, page_fields, ITEM_FIELDS},
        read_item,
    },
    bulk::MAX_BATCH_SIZE,
    client::CallOptions,
    generated::types::{BatchRequestItem, ProductPage, ProductStock, VariationStock},
    options::request_builder,
    paging::{Next, Pages},
    polling::{Pace, Polling},
    retry::Repeat,
    Client, CombinationId, Error, ProductId, RequestOptions, Stock, StockItem, StockLevel,
};

/// What [`Client::find_sku`] found for one SKU.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkuMatch {
    /// Exactly one product or variation has this SKU.
    Found(StockLevel),
    /// No product or variation has this SKU.
    NotFound,
    /// Several have it (Ecwid does not forbid it); none is chosen for you.
    Several(Vec<StockLevel>),
}

impl SkuMatch {
    /// The item, when exactly one was found.
    pub fn found(&self) -> Option<&StockLevel> {
        match self {
            SkuMatch::Found(item) => Some(item),
            _ => None,
        }
    }
}

/// What [`Client::find_skus`] found, SKU by SKU, in the order asked (each SKU once).
#[derive(Debug)]
#[non_exhaustive]
pub struct SkuReport {
    /// Each SKU with what was found, or why it could not be looked up.
    pub results: Vec<(String, Result<SkuMatch, Error>)>,
}

impl SkuReport {
    /// What was found for `sku`, if it was asked for and could be looked up.
    pub fn get(&self, sku: &str) -> Option<&SkuMatch> {
        self.results
            .iter()
            .find(|(asked, _)| asked == sku)
            .and_then(|(_, result)| result.as_ref().ok())
    }

    /// The SKUs that no product or variation has.
    pub fn not_found(&self) -> impl Iterator<Item = &str> {
        self.results
            .iter()
            .filter(|(_, result)| matches!(result, Ok(SkuMatch::NotFound)))
            .map(|(sku, _)| sku.as_str())
    }

    /// The SKUs found exactly once, with their items.
    pub fn found(&self) -> impl Iterator<Item = (&str, &StockLevel)> {
        self.results
            .iter()
            .filter_map(|(sku, result)| match result {
                Ok(SkuMatch::Found(item)) => Some((sku.as_str(), item)),
                _ => None,
            })
    }
}

/// A SKU as Ecwid would match it: not empty, no whitespace around it.
pub(crate) fn check_sku(sku: &str) -> Result<(), Error> {
    if sku.trim().is_empty() {
        return Err(Error::InvalidInput("a SKU must not be empty".into()));
    }
    if sku.trim() != sku {
        return Err(Error::InvalidInput(format!(
            "the SKU {sku:?} has whitespace around it, which no SKU matches"
        )));
    }
    Ok(())
}

pub(crate) fn unreadable(detail: String) -> Error {
    Error::unreadable_read(detail)
}

/// A stock from Ecwid's `quantity` and `unlimited` fields.
fn stock_of(quantity: Option<i64>, unlimited: Option<bool>) -> Result<Stock, Error> {
    match (unlimited, quantity) {
        (Some(true), _) => Ok(Stock::Unlimited),
        (_, Some(quantity)) => Ok(Stock::Quantity(quantity)),
        _ => Err(unreadable(
            "the item has neither a quantity nor unlimited stock".into(),
        )),
    }
}

fn in_stock(stock: Stock, in_stock: Option<bool>, instock: Option<bool>) -> bool {
    in_stock.or(instock).unwrap_or(
        matches!(stock, Stock::Unlimited) || matches!(stock, Stock::Quantity(q) if q > 0),
    )
}

/// A product's own stock.
pub(crate) fn product_stock(product: &ProductStock) -> Result<StockLevel, Error> {
    let stock = stock_of(product.quantity, product.unlimited)?;
    Ok(StockLevel {
        item: StockItem::Product {
            product: ProductId::new(id(product.id)?),
        },
        sku: product.sku.clone().unwrap_or_default(),
        stock,
        in_stock: in_stock(stock, product.in_stock, product.instock),
        shares_product_stock: false,
    })
}

/// A variation with a SKU of its own.
fn variation_stock(product: ProductId, variation: &VariationStock) -> Result<StockLevel, Error> {
    let stock = stock_of(variation.quantity, variation.unlimited)?;
    Ok(StockLevel {
        item: StockItem::Variation {
            product,
            combination: CombinationId::new(id(variation.id)?),
        },
        sku: variation.sku.clone().unwrap_or_default(),
        stock,
        in_stock: in_stock(stock, variation.in_stock, variation.instock),
        shares_product_stock: false,
    })
}

/// A variation of `product` (read as [`product_stock`] reads it): its own stock, or, without a
/// SKU of its own (empty or left out, as Ecwid's docs show both), its product's, shared.
pub(crate) fn variation_item(
    product: &StockLevel,
    variation: &VariationStock,
) -> Result<StockLevel, Error> {
    if variation.sku.as_deref().is_some_and(|sku| !sku.is_empty()) {
        return variation_stock(product.item.product(), variation);
    }
    Ok(shared_with(product, CombinationId::new(id(variation.id)?)))
}

/// The variation `combination` of `product`, sharing its stock.
fn shared_with(product: &StockLevel, combination: CombinationId) -> StockLevel {
    StockLevel {
        item: StockItem::Variation {
            product: product.item.product(),
            combination,
        },
        shares_product_stock: true,
        ..product.clone()
    }
}

/// A product's own stock, then each of its variations' as [`variation_item`] reads it: every
/// item a product read or a search page carries for it.
pub(crate) fn product_items(product: &ProductStock) -> Result<Vec<StockLevel>, Error> {
    let own = product_stock(product)?;
    let mut items = Vec::with_capacity(1 + product.combinations.len());
    for variation in &product.combinations {
        items.push(variation_item(&own, variation)?);
    }
    items.insert(0, own);
    Ok(items)
}

fn id(id: Option<i64>) -> Result<u64, Error> {
    let id = id.ok_or_else(|| unreadable("an item without its id".into()))?;
    u64::try_from(id)
        .ok()
        .filter(|&id| id > 0)
        .ok_or_else(|| unreadable(format!("{id} is not an Ecwid id")))
}

/// Every item of a search page whose own SKU is exactly `sku`.
fn matches_in(page: &ProductPage, sku: &str) -> Result<Vec<StockLevel>, Error> {
    let mut found = Vec::new();
    for product in &page.items {
        if product.sku.as_deref() == Some(sku) {
            found.push(product_stock(product)?);
        }
        let product_id = ProductId::new(id(product.id)?);
        for variation in &product.combinations {
            if variation.sku.as_deref() == Some(sku) {
                found.push(variation_stock(product_id, variation)?);
            }
        }
    }
    Ok(found)
}

fn sku_match(mut found: Vec<StockLevel>) -> SkuMatch {
    match found.len() {
        0 => SkuMatch::NotFound,
        1 => SkuMatch::Found(found.remove(0)),
        _ => SkuMatch::Several(found),
    }
}

/// One SKU's search in [`Client::find_skus`]: its pages, what it found, whether it is over.
struct Search {
    pages: Pages,
    found: Result<Vec<StockLevel>, Error>,
    done: bool,
}

impl Search {
    /// Takes the next page read for `sku`, or the error that ends its search.
    fn take(&mut self, page: Result<ProductPage, Error>, sku: &str) {
        let next = page.and_then(|page| {
            let matches = matches_in(&page, sku)?;
            let next = self.pages.take(&page)?;
            if let Ok(found) = &mut self.found {
                found.extend(matches);
            }
            Ok(next)
        });
        match next {
            Ok(Next::Offset(_)) => {}
            Ok(Next::Done) => self.done = true,
            Err(error) => {
                self.found = Err(error);
                self.done = true;
            }
        }
    }
}

fn read_options(operation: &'static str, item: Option<StockItem>) -> CallOptions {
    let options = CallOptions::new(operation, Repeat::Always);
    match item {
        Some(item) => options.item(item),
        None => options,
    }
}

impl Client {
    /// Reads the stock of `item`: a count (which may be negative) or unlimited stock, with the
    /// item's SKU and Ecwid's in-stock flag.
    ///
    /// A variation without a SKU of its own shares its product's stock: the answer then says
    /// so ([`StockLevel::shares_product_stock`]) and carries the product's numbers, which takes
    /// a second request. Reads are safe to repeat, so timeouts, lost connections and 5xx are
    /// retried like a 429.
    pub fn stock(&self, item: StockItem) -> ReadStock<'_> {
        ReadStock {
            client: self,
            item,
            options: RequestOptions::default(),
        }
    }

    /// Finds the product or variation whose SKU is exactly `sku`, with its stock.
    ///
    /// One search request (more only if Ecwid pages the matches: every page is read). Several
    /// items with the SKU are reported as [`SkuMatch::Several`], all of them, never reduced to
    /// one. A server whose pages would never end (a page repeated, the offset ignored, more
    /// pages than the total allows) ends the search with [`Error::InvalidResponse`] saying
    /// which. A variation without a SKU of its own is not matched by its product's SKU: the
    /// product is, and the variation shares its stock. An empty SKU, or one with whitespace
    /// around it, is refused before anything is sent.
    ///
    /// **What was not seen**: an empty page ends the search, whatever the search's `total`
    /// says, and the answer is made of the items read. Ecwid's `total` can count items its pages
    /// never show: those a public token does not see (Ecwid's documented answer to one has a
    /// total of 5 and two items), or products removed while the pages were read. Such an item
    /// with the SKU is not in the answer: [`SkuMatch::Found`] then means one item *seen* with
    /// it (another, unseen, may carry it too), and [`SkuMatch::NotFound`] none seen. Use a
    /// secret token, which sees every product, when that matters.
    pub fn find_sku<'a>(&'a self, sku: &'a str) -> FindSku<'a> {
        FindSku {
            client: self,
            sku,
            options: RequestOptions::default(),
        }
    }

    /// Finds many SKUs at once, with as few requests as Ecwid allows: their searches go out as
    /// batches of up to 500 (one create and a few status reads each, all rate-limited), so a
    /// thousand SKUs take some six requests instead of a thousand. Two SKUs or fewer are
    /// searched directly. Each SKU is looked up once, in the order given. A SKU whose matches
    /// fill more than a page has its further pages read in further batches, so
    /// [`SkuMatch::Several`] lists every match; a search whose pages would never end carries
    /// [`Error::InvalidResponse`], as with [`find_sku`](Self::find_sku). As there, an empty
    /// page ends a SKU's search with what was read, and items that Ecwid's `total` counts but
    /// its pages never show (a public token's unseen products, products removed meanwhile) are
    /// not in its answer: see [`find_sku`](Self::find_sku) for what `Found` and `NotFound`
    /// then mean.
    ///
    /// Fails before anything is sent if a SKU is empty or has whitespace around it, and with
    /// the error when a lookup batch cannot be created or read (nothing changed: call it
    /// again); a SKU whose own search fails inside a batch carries its error in the report.
    pub fn find_skus<S: AsRef<str>>(&self, skus: impl IntoIterator<Item = S>) -> FindSkus<'_> {
        FindSkus {
            client: self,
            skus: skus
                .into_iter()
                .map(|sku| sku.as_ref().to_owned())
                .collect(),
            options: RequestOptions::default(),
        }
    }

    async fn get_product(
        &self,
        product: std::num::NonZeroU64,
        item: StockItem,
        options: &RequestOptions,
    ) -> Result<ProductStock, Error> {
        let store = self.store();
        self.send(
            options.apply(read_options("get_product", Some(item))),
            move |raw| async move {
                raw.get_product()
                    .store_id(store)
                    .product_id(product)
                    .response_fields(ITEM_FIELDS)
                    .send()
                    .await
            },
        )
        .await
    }

    /// Runs reads (`GET` requests) as one batch and returns each one's answer, by item id: the
    /// body it was answered with, or the error it met. A read changes nothing, so a fresh key
    /// is enough, and Ecwid may run the reads in parallel (`allowParallelMode`): the batch
    /// then takes about as long as its slowest read, not as long as all of them in turn. Fails when the batch cannot be created or read, or is not completed within
    /// the polling's timeout.
    pub(crate) async fn read_batch(
        &self,
        requests: &[BatchRequestItem],
        polling: Polling,
        options: &RequestOptions,
    ) -> Result<BTreeMap<String, Result<serde_json::Value, Error>>, Error> {
        // Read answer by answer: a batch's status is never held whole as one document.
        let mut pace = Pace::new(polling);
        let mut answers = self.stream_read_batch(requests, &mut pace, options).await?;
        let mut read = BTreeMap::new();
        while let Some((id, answer)) = answers.next().await? {
            read.insert(id, answer);
        }
        Ok(read)
    }
}

/// Reads one item's stock; made by [`Client::stock`]. Send it with `.await` or
/// [`send`](Self::send).
#[derive(Debug)]
#[must_use = "nothing is sent until it is awaited"]
pub struct ReadStock<'a> {
    client: &'a Client,
    item: StockItem,
    options: RequestOptions,
}

request_builder!(ReadStock, StockLevel);

impl ReadStock<'_> {
    /// Reads the stock (see [`Client::stock`]).
    pub async fn send(self) -> Result<StockLevel, Error> {
        let Self {
            client,
            item,
            options,
        } = self;
        options.check()?;
        let product = item.product().non_zero()?;
        let Some(combination) = item.combination() else {
            return product_stock(&client.get_product(product, item, &options).await?);
        };
        let store = client.store();
        let combination_id = combination.non_zero()?;
        let variation = client
            .send(
                options.apply(read_options("get_variation", Some(item))),
                move |raw| async move {
                    raw.get_variation()
                        .store_id(store)
                        .product_id(product)
                        .combination_id(combination_id)
                        .response_fields(ITEM_FIELDS)
                        .send()
                        .await
                },
            )
            .await?;
        if variation.sku.as_deref().is_some_and(|sku| !sku.is_empty()) {
            return variation_stock(item.product(), &variation);
        }
        let shared = product_stock(&client.get_product(product, item, &options).await?)?;
        Ok(shared_with(&shared, combination))
    }
}

/// Finds one SKU; made by [`Client::find_sku`]. Send it with `.await` or
/// [`send`](Self::send).
#[derive(Debug)]
#[must_use = "nothing is sent until it is awaited"]
pub struct FindSku<'a> {
    client: &'a Client,
    sku: &'a str,
    options: RequestOptions,
}

request_builder!(FindSku, SkuMatch);

impl FindSku<'_> {
    /// Searches the SKU (see [`Client::find_sku`]).
    pub async fn send(self) -> Result<SkuMatch, Error> {
        let Self {
            client,
            sku,
            options,
        } = self;
        options.check()?;
        check_sku(sku)?;
        let store = client.store();

        let fields = page_fields(true);
        let mut found = Vec::new();
        let mut pages = Pages::new();
        loop {
            let fields = fields.as_str();
            let offset = i64::from(pages.offset());
            let page = client
                .send(
                    options.apply(read_options("search_products", None)),
                    move |raw| async move {
                        raw.search_products()
                            .store_id(store)
                            .sku(sku)
                            .offset(offset)
                            .response_fields(fields)
                            .send()
                            .await
                    },
                )
                .await?;
            found.extend(matches_in(&page, sku)?);
            if pages.take(&page)? == Next::Done {
                return Ok(sku_match(found));
            }
        }
    }
}

/// Finds many SKUs; made by [`Client::find_skus`]. Send it with `.await` or
/// [`send`](Self::send).
#[derive(Debug)]
#[must_use = "nothing is sent until it is awaited"]
pub struct FindSkus<'a> {
    client: &'a Client,
    skus: Vec<String>,
    options: RequestOptions,
}

request_builder!(FindSkus, SkuReport);

impl FindSkus<'_> {
    /// Searches the SKUs (see [`Client::find_skus`]).
    pub async fn send(self) -> Result<SkuReport, Error> {
        let Self {
            client,
            skus,
            options,
        } = self;
        options.check()?;
        let mut unique: Vec<String> = Vec::new();
        for sku in skus {
            check_sku(&sku)?;
            if !unique.contains(&sku) {
                unique.push(sku);
            }
        }
        let mut results = Vec::with_capacity(unique.len());
        if unique.len() <= 2 {
            for sku in unique {
                let found = client.find_sku(&sku).options(options).send().await;
                results.push((sku, found));
            }
            return Ok(SkuReport { results });
        }
        // Each SKU's search, page after page: a round of batches asks every unfinished SKU for
        // its next page, until none has more (each search is bounded by its pages).
        let mut searches: Vec<Search> = unique
            .iter()
            .map(|_| Search {
                pages: Pages::new(),
                found: Ok(Vec::new()),
                done: false,
            })
            .collect();
        loop {
            let open: Vec<usize> = (0..searches.len()).filter(|&n| !searches[n].done).collect();
            if open.is_empty() {
                break;
            }
            for round in open.chunks(MAX_BATCH_SIZE) {
                let requests: Vec<BatchRequestItem> = round
                    .iter()
                    .map(|&n| {
                        let path = paths::sku_search(&unique[n], searches[n].pages.offset());
                        read_item(n.to_string(), path)
                    })
                    .collect();
                let mut by_id = client
                    .read_batch(&requests, Polling::default(), &options)
                    .await?;
                for &n in round {
                    let page = by_id
                        .remove(&n.to_string())
                        .unwrap_or_else(|| {
                            Err(unreadable("the batch has no result for this SKU".into()))
                        })
                        .and_then(|body| {
                            serde_json::from_value::<ProductPage>(body)
                                .map_err(|_| unreadable("an unreadable search result".into()))
                        });
                    searches[n].take(page, &unique[n]);
                }
            }
        }
        let results = unique
            .into_iter()
            .zip(searches)
            .map(|(sku, search)| (sku, search.found.map(sku_match)))
            .collect();
        Ok(SkuReport { results })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skus_must_be_exact() {
        assert!(check_sku("TEE-S").is_ok());
        for bad in ["", "  ", " TEE", "TEE\n"] {
            assert!(
                matches!(check_sku(bad), Err(Error::InvalidInput(_))),
                "{bad:?}"
            );
        }
    }

    fn page(items: serde_json::Value) -> ProductPage {
        serde_json::from_value(serde_json::json!({
            "total": 1, "count": 1, "offset": 0, "limit": 100, "items": items,
        }))
        .unwrap()
    }

    #[test]
    fn only_exact_own_skus_match_and_several_are_reported() {
        let page = page(serde_json::json!([
            {"id": 1, "sku": "TEE", "quantity": 20, "inStock": true, "combinations": [
                {"id": 11, "sku": "TEE-S", "quantity": -2},
                {"id": 12, "sku": "", "quantity": 20},
            ]},
            {"id": 2, "sku": "tee-s", "unlimited": true},
            {"id": 3, "sku": "TEE-S", "unlimited": true},
        ]));
        let found = matches_in(&page, "TEE-S").unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(
            found[0].item,
            StockItem::Variation {
                product: ProductId::new(1),
                combination: CombinationId::new(11)
            }
        );
        assert_eq!(
            (found[0].stock, found[0].in_stock),
            (Stock::Quantity(-2), false)
        );
        assert_eq!(found[1].stock, Stock::Unlimited);
        assert!(found[1].in_stock);
        assert!(matches!(sku_match(found), SkuMatch::Several(items) if items.len() == 2));
        let tee = matches_in(&page, "TEE").unwrap();
        assert_eq!(
            tee.len(),
            1,
            "a variation with an empty SKU is not matched: {tee:?}"
        );
        assert_eq!(
            sku_match(matches_in(&page, "NONE").unwrap()),
            SkuMatch::NotFound
        );
    }
}
