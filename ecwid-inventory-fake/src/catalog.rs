//! The shop a test declares: [`Store`]s, their [`Product`]s and each product's
//! [`Variation`]s, with SKUs, stocks and warning limits, given to
//! [`FakeStoreBuilder::store`](crate::FakeStoreBuilder::store) before the fake starts. From
//! then on requests move the stocks; [`FakeStore::stock`](crate::FakeStore::stock) reads them.
//!
//! Ecwid's stock model holds: a stock is counted (and may go negative) or unlimited; a
//! variation with an empty SKU shares its product's stock and warning limit; products keep the
//! order they were declared in, as Ecwid keeps the order they were added in. A catalog Ecwid
//! could not hold (an id declared twice, a variation sharing its product's stock given another
//! one) is refused by [`FakeStoreBuilder::start`](crate::FakeStoreBuilder::start).
//!
//! ```
//! use ecwid_inventory::{CombinationId, ProductId, StoreId};
//! use ecwid_inventory_fake::catalog::{Product, Store, Variation};
//!
//! let tee = Product::new(ProductId::new(1))
//!     .sku("TEE")
//!     .quantity(20)
//!     .warning_limit(5)
//!     // Its own SKU, so its own stock.
//!     .variation(Variation::new(CombinationId::new(11)).sku("TEE-S").quantity(3))
//!     // No SKU: the T-shirt's stock, moved by either.
//!     .variation(Variation::new(CombinationId::new(12)));
//! let gift_card = Product::new(ProductId::new(2)).unlimited();
//! let store = Store::new(StoreId::new(1003)).product(tee).product(gift_card);
//! # let _ = store;
//! ```
//!
//! # A million products
//!
//! A store is packed as its products are declared: one record a product, its variations a
//! stretch of one list, every SKU a stretch of one text. Once started, a search finds its page
//! through indexes (by id, by SKU, and of the products changed since the start) instead of
//! filtering and sorting the catalog, so a page costs what it sends at any size. A catalog
//! like [`demo::catalog`](crate::demo::catalog)'s (1.8 variations a product, three in four with
//! a SKU of their own) costs the fake about **0.2 KB a product** (it was 1.07 KB before the
//! packing). Measured with `/usr/bin/time -v` on the release `ecwid-stock fake --products N`,
//! up to the line saying it listens (2-core machine, load about 14; the process alone, with
//! no catalog, is 7.5 MB):
//!
//! | products | peak memory | startup: CPU, wall | before the packing |
//! |---|---|---|---|
//! | 100,000 | 26 MB | 0.07 s, 0.37 to 0.45 s | 114 MB; 0.12 to 0.18 s, 0.57 to 0.67 s |
//! | 1,000,000 | 201 MB | 0.65 s, 3.0 to 3.6 s | 1,080 MB; 1.4 to 1.7 s, 6.2 to 6.7 s |

use std::collections::{btree_map::Entry, BTreeMap, BTreeSet};
use std::fmt;
use std::io;
use std::ops::Bound;

use ecwid_inventory::{CombinationId, ProductId, Stock, StockItem, StoreId};

/// A store to serve, with its products. Declared once, before [`FakeStoreBuilder::start`].
///
/// [`FakeStoreBuilder::start`]: super::FakeStoreBuilder::start
///
/// A product is packed as it is added (its SKUs into one text, its variations into one list),
/// so a store of a million products holds a few hundred bytes a product, not the builders'
/// strings and lists.
#[derive(Clone)]
pub struct Store {
    pub(crate) id: StoreId,
    pub(crate) products: Products,
}

impl Store {
    /// A store with no products yet.
    pub fn new(id: StoreId) -> Self {
        Self {
            id,
            products: Products::default(),
        }
    }

    /// Adds a product.
    pub fn product(mut self, product: Product) -> Self {
        self.products.push(product);
        self
    }

    /// The store's id.
    pub fn id(&self) -> StoreId {
        self.id
    }
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A count, not a million products.
        f.debug_struct("Store")
            .field("id", &self.id)
            .field("products", &self.products.records.len())
            .finish()
    }
}

/// A product: its own stock, a warning limit, and any variations.
///
/// A new product has a counted stock of 0 and no warning limit.
#[derive(Clone, Debug)]
pub struct Product {
    pub(crate) id: ProductId,
    pub(crate) sku: String,
    pub(crate) stock: Stock,
    pub(crate) warning_limit: Option<i64>,
    pub(crate) variations: Vec<Variation>,
}

impl Product {
    /// A product with a stock of 0, no SKU, no warning limit and no variations.
    pub fn new(id: ProductId) -> Self {
        Self {
            id,
            sku: String::new(),
            stock: Stock::Quantity(0),
            warning_limit: None,
            variations: Vec::new(),
        }
    }

    /// Sets the product's SKU, which a product search by `sku` matches.
    pub fn sku(mut self, sku: impl Into<String>) -> Self {
        self.sku = sku.into();
        self
    }

    /// Sets a counted stock.
    pub fn quantity(mut self, quantity: i64) -> Self {
        self.stock = Stock::Quantity(quantity);
        self
    }

    /// Makes the stock unlimited: adjustments answer `updateCount: 0` and change nothing.
    pub fn unlimited(mut self) -> Self {
        self.stock = Stock::Unlimited;
        self
    }

    /// Sets Ecwid's `warningLimit`: a low-stock notification is due at or below it.
    pub fn warning_limit(mut self, limit: i64) -> Self {
        self.warning_limit = Some(limit);
        self
    }

    /// Adds a variation (an Ecwid "combination").
    pub fn variation(mut self, variation: Variation) -> Self {
        self.variations.push(variation);
        self
    }
}

/// A product variation ("combination").
///
/// As in Ecwid, a variation with an empty SKU inherits the product's SKU and *shares the
/// product's stock*: adjusting either one moves the same number, and the product's warning limit
/// applies. Such a variation may only be given a stock equal to the product's (Ecwid refuses a
/// different one with `DIFFERENT_COMBINATION_STOCK`); leave it unset.
#[derive(Clone, Debug)]
pub struct Variation {
    pub(crate) id: CombinationId,
    pub(crate) sku: String,
    pub(crate) stock: Option<Stock>,
    pub(crate) warning_limit: Option<i64>,
}

impl Variation {
    /// A variation with an empty SKU, so sharing the product's stock until [`sku`](Self::sku)
    /// is set.
    pub fn new(id: CombinationId) -> Self {
        Self {
            id,
            sku: String::new(),
            stock: None,
            warning_limit: None,
        }
    }

    /// Gives the variation its own SKU, and so its own stock (0 unless set).
    pub fn sku(mut self, sku: impl Into<String>) -> Self {
        self.sku = sku.into();
        self
    }

    /// Sets a counted stock.
    pub fn quantity(mut self, quantity: i64) -> Self {
        self.stock = Some(Stock::Quantity(quantity));
        self
    }

    /// Makes the stock unlimited.
    pub fn unlimited(mut self) -> Self {
        self.stock = Some(Stock::Unlimited);
        self
    }

    /// Sets the variation's own `warningLimit` (ignored when it shares the product's stock).
    pub fn warning_limit(mut self, limit: i64) -> Self {
        self.warning_limit = Some(limit);
        self
    }
}

/// A stock counter with its warning limit.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Counter {
    pub(crate) stock: Stock,
    pub(crate) warning_limit: Option<i64>,
}

/// A SKU in [`Products::skus`]: where it starts and how long it is (0: none).
#[derive(Clone, Copy, Debug)]
struct Sku {
    start: u32,
    len: u32,
}

/// A product as kept.
#[derive(Clone, Debug)]
struct ProductRecord {
    id: ProductId,
    sku: Sku,
    own: Counter,
    /// Its variations, `Products::variations[first_variation..][..variation_count]`, in id
    /// order.
    first_variation: u32,
    variation_count: u32,
    /// When it last changed (its stock, or a variation's), in UNIX seconds of the fake's clock.
    updated: i64,
}

/// A variation as kept.
#[derive(Clone, Debug)]
struct VariationRecord {
    id: CombinationId,
    /// Empty when it shares its product's stock.
    sku: Sku,
    /// `None`: it shares its product's counter (an empty SKU).
    own: Option<Counter>,
}

/// A store's products in the order they were added, packed: one record each, every variation
/// in one list, every SKU in one text. Catalogs of a million products are built and held
/// without an allocation per product.
#[derive(Clone, Debug, Default)]
pub(crate) struct Products {
    records: Vec<ProductRecord>,
    variations: Vec<VariationRecord>,
    skus: String,
    /// The first thing declared that Ecwid could not hold: the fake refuses to start with it.
    refused: Option<String>,
}

impl Products {
    fn refuse(&mut self, reason: impl FnOnce() -> String) {
        if self.refused.is_none() {
            self.refused = Some(reason());
        }
    }

    fn pack_sku(&mut self, sku: &str) -> Sku {
        let (Ok(start), Ok(len)) = (u32::try_from(self.skus.len()), u32::try_from(sku.len()))
        else {
            self.refuse(|| "a store's SKUs hold more than 4 GiB of text".to_owned());
            return Sku { start: 0, len: 0 };
        };
        if start.checked_add(len).is_none() {
            self.refuse(|| "a store's SKUs hold more than 4 GiB of text".to_owned());
            return Sku { start: 0, len: 0 };
        }
        self.skus.push_str(sku);
        Sku { start, len }
    }

    fn sku(&self, sku: Sku) -> &str {
        let start = sku.start as usize;
        &self.skus[start..start + sku.len as usize]
    }

    fn push(&mut self, product: Product) {
        let Product {
            id,
            sku,
            stock,
            warning_limit,
            mut variations,
        } = product;
        // Declared in any order, read in id order.
        variations.sort_by_key(|variation| variation.id);
        if let Some(pair) = variations.windows(2).find(|pair| pair[0].id == pair[1].id) {
            let repeated = pair[0].id;
            self.refuse(|| format!("variation {repeated} of product {id} declared twice"));
        }
        let first_variation = u32::try_from(self.variations.len()).unwrap_or(u32::MAX);
        let variation_count = u32::try_from(variations.len()).unwrap_or(u32::MAX);
        for variation in variations {
            let own = if variation.sku.is_empty() {
                if variation.stock.is_some_and(|given| given != stock) {
                    let combination = variation.id;
                    self.refuse(|| {
                        format!(
                            "variation {combination} of product {id} has an empty SKU, so it \
                             shares the product's stock; a different stock is \
                             DIFFERENT_COMBINATION_STOCK"
                        )
                    });
                }
                None
            } else {
                Some(Counter {
                    stock: variation.stock.unwrap_or(Stock::Quantity(0)),
                    warning_limit: variation.warning_limit,
                })
            };
            let sku = self.pack_sku(&variation.sku);
            self.variations.push(VariationRecord {
                id: variation.id,
                sku,
                own,
            });
        }
        if u32::try_from(self.variations.len()).is_err() {
            self.refuse(|| "a store holds more than 4 billion variations".to_owned());
        }
        let sku = self.pack_sku(&sku);
        self.records.push(ProductRecord {
            id,
            sku,
            own: Counter {
                stock,
                warning_limit,
            },
            first_variation,
            variation_count,
            updated: 0,
        });
    }

    fn variations_of(&self, record: &ProductRecord) -> &[VariationRecord] {
        let first = record.first_variation as usize;
        &self.variations[first..first + record.variation_count as usize]
    }
}

/// A product of a running store, read.
#[derive(Clone, Copy)]
pub(crate) struct ProductRef<'a> {
    products: &'a Products,
    position: usize,
}

impl<'a> ProductRef<'a> {
    fn record(&self) -> &'a ProductRecord {
        &self.products.records[self.position]
    }

    pub(crate) fn id(&self) -> ProductId {
        self.record().id
    }

    pub(crate) fn sku(&self) -> &'a str {
        self.products.sku(self.record().sku)
    }

    /// Its own counter.
    pub(crate) fn own(&self) -> Counter {
        self.record().own
    }

    /// When it last changed, in UNIX seconds of the fake's clock.
    pub(crate) fn updated(&self) -> i64 {
        self.record().updated
    }

    pub(crate) fn variation_count(&self) -> usize {
        self.record().variation_count as usize
    }

    /// Its variations, in id order.
    pub(crate) fn variations(&self) -> impl Iterator<Item = VariationRef<'a>> + 'a {
        let (products, own) = (self.products, self.own());
        products
            .variations_of(self.record())
            .iter()
            .map(move |record| VariationRef::new(products, record, own))
    }

    /// One of its variations.
    pub(crate) fn variation(&self, id: CombinationId) -> Option<VariationRef<'a>> {
        let variations = self.products.variations_of(self.record());
        let index = variations
            .binary_search_by_key(&id, |record| record.id)
            .ok()?;
        Some(VariationRef::new(
            self.products,
            &variations[index],
            self.own(),
        ))
    }

    /// Whether its own SKU, or one of its variations' own SKUs, is `sku`.
    fn has_sku(&self, sku: &str) -> bool {
        self.sku() == sku || self.variations().any(|variation| variation.sku == sku)
    }
}

/// A variation of a running store, read.
#[derive(Clone, Copy)]
pub(crate) struct VariationRef<'a> {
    pub(crate) id: CombinationId,
    /// Empty when it shares its product's stock.
    pub(crate) sku: &'a str,
    /// The counter it uses: its own, or its product's when it shares it.
    pub(crate) counter: Counter,
}

impl<'a> VariationRef<'a> {
    fn new(products: &'a Products, record: &VariationRecord, product: Counter) -> Self {
        VariationRef {
            id: record.id,
            sku: products.sku(record.sku),
            counter: record.own.unwrap_or(product),
        }
    }
}

/// FNV-1a, folded to 32 bits: the SKU index's key. Equal hashes are checked against the SKU
/// itself, so a collision costs a comparison, never a wrong match.
fn sku_hash(sku: &str) -> u32 {
    let hash = sku.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    // The fold keeps both halves' bits; the truncation is the point.
    #[allow(clippy::cast_possible_truncation)]
    let folded = (hash ^ (hash >> 32)) as u32;
    folded
}

/// One running store: its products, and the indexes that let a request find what it needs
/// without going through the catalog (by id, by SKU, in added or id order, by update time).
#[derive(Debug)]
pub(crate) struct StoreCatalog {
    products: Products,
    /// Positions (in added order) sorted by product id.
    by_id: Vec<u32>,
    /// (hash of a SKU, position of the product that has it), sorted.
    by_sku: Vec<(u32, u32)>,
    /// When the fake started: every product's update time until it changes.
    started: i64,
    /// The products whose update time is no longer `started`, as (update time, id): the
    /// search's order by update time, and its `updatedFrom` filter, read them alone.
    changed: BTreeSet<(i64, ProductId)>,
}

impl StoreCatalog {
    fn new(store: StoreId, mut products: Products, now: i64) -> io::Result<Self> {
        if let Some(reason) = products.refused.take() {
            return Err(invalid(reason));
        }
        let count = u32::try_from(products.records.len())
            .map_err(|_| invalid(format!("store {store} holds more than 4 billion products")))?;
        for record in &mut products.records {
            record.updated = now;
        }
        products.records.shrink_to_fit();
        products.variations.shrink_to_fit();
        products.skus.shrink_to_fit();
        let records = &products.records;
        let mut by_id: Vec<u32> = (0..count).collect();
        // Already in order when products were added by id (a generated catalog): checked, not
        // sorted.
        if !records.is_sorted_by_key(|record| record.id) {
            by_id.sort_unstable_by_key(|&position| records[position as usize].id);
        }
        if let Some(pair) = by_id
            .windows(2)
            .find(|pair| records[pair[0] as usize].id == records[pair[1] as usize].id)
        {
            let id = records[pair[0] as usize].id;
            return Err(invalid(format!(
                "product {id} of store {store} declared twice"
            )));
        }
        let mut by_sku = Vec::with_capacity(records.len() + products.variations.len());
        for (position, record) in (0..count).zip(records) {
            let sku = products.sku(record.sku);
            if !sku.is_empty() {
                by_sku.push((sku_hash(sku), position));
            }
            for variation in products.variations_of(record) {
                if variation.sku.len > 0 {
                    by_sku.push((sku_hash(products.sku(variation.sku)), position));
                }
            }
        }
        by_sku.sort_unstable();
        Ok(StoreCatalog {
            products,
            by_id,
            by_sku,
            started: now,
            changed: BTreeSet::new(),
        })
    }

    /// How many products the store holds.
    pub(crate) fn len(&self) -> usize {
        self.products.records.len()
    }

    /// The product at `position` in the order products were added.
    pub(crate) fn get(&self, position: usize) -> ProductRef<'_> {
        ProductRef {
            products: &self.products,
            position,
        }
    }

    /// Where product `id` is in the order products were added.
    pub(crate) fn position(&self, id: ProductId) -> Option<usize> {
        let records = &self.products.records;
        self.by_id
            .binary_search_by_key(&id, |&position| records[position as usize].id)
            .ok()
            .map(|rank| self.by_id[rank] as usize)
    }

    /// The product with the `rank`-th smallest id (from 0), as a position.
    pub(crate) fn by_id(&self, rank: usize) -> usize {
        self.by_id[rank] as usize
    }

    /// How many products have a smaller id than the one at `position`.
    pub(crate) fn id_rank(&self, position: usize) -> usize {
        let records = &self.products.records;
        let id = records[position].id;
        self.by_id
            .partition_point(|&other| records[other as usize].id < id)
    }

    /// The products whose own SKU, or one of whose variations' own SKUs, is `sku`, as
    /// positions in added order.
    pub(crate) fn with_sku(&self, sku: &str) -> Vec<usize> {
        let hash = sku_hash(sku);
        let first = self.by_sku.partition_point(|&(other, _)| other < hash);
        let mut found: Vec<usize> = self.by_sku[first..]
            .iter()
            .take_while(|&&(other, _)| other == hash)
            .map(|&(_, position)| position as usize)
            .filter(|&position| self.get(position).has_sku(sku))
            .collect();
        // A product found by its own SKU and a variation's, or by two variations'.
        found.dedup();
        found
    }

    /// When the fake started: the update time of every product not changed since.
    pub(crate) fn started(&self) -> i64 {
        self.started
    }

    /// The products changed since the fake started whose update time is `from` or later,
    /// as (update time, id), in that order.
    pub(crate) fn changed_since(
        &self,
        from: Bound<i64>,
    ) -> impl Iterator<Item = (i64, ProductId)> + '_ {
        let from = match from {
            Bound::Included(time) => Bound::Included((time, ProductId::new(0))),
            Bound::Excluded(time) => Bound::Excluded((time, ProductId::new(u64::MAX))),
            Bound::Unbounded => Bound::Unbounded,
        };
        self.changed.range((from, Bound::Unbounded)).copied()
    }

    fn record_mut(&mut self, id: ProductId) -> Option<&mut ProductRecord> {
        let position = self.position(id)?;
        Some(&mut self.products.records[position])
    }

    /// The counter an adjustment of `item` moves: a sharing variation resolves to its product.
    fn counter_mut(&mut self, item: StockItem) -> Result<&mut Counter, Missing> {
        let position = self.position(item.product()).ok_or(Missing::Product)?;
        let Products {
            records,
            variations,
            ..
        } = &mut self.products;
        let record = &mut records[position];
        let StockItem::Variation { combination, .. } = item else {
            return Ok(&mut record.own);
        };
        let first = record.first_variation as usize;
        let own = &mut variations[first..first + record.variation_count as usize];
        let index = own
            .binary_search_by_key(&combination, |variation| variation.id)
            .map_err(|_| Missing::Combination)?;
        Ok(own[index].own.as_mut().unwrap_or(&mut record.own))
    }

    fn touch(&mut self, product: ProductId, now: i64) {
        let started = self.started;
        let Some(record) = self.record_mut(product) else {
            return;
        };
        let before = std::mem::replace(&mut record.updated, now);
        if before != started {
            self.changed.remove(&(before, product));
        }
        if now != started {
            self.changed.insert((now, product));
        }
    }
}

/// The live catalog of every store the fake serves.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    pub(crate) stores: BTreeMap<StoreId, StoreCatalog>,
}

/// What an adjustment targets, once the path has been read.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Target {
    pub(crate) store: StoreId,
    pub(crate) item: StockItem,
}

/// Why an adjustment's target does not exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Missing {
    Store,
    Product,
    Combination,
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

impl Catalog {
    /// Builds the live catalog, refusing what Ecwid itself could not hold. Every product was
    /// last updated `now` (UNIX seconds).
    pub(crate) fn from_stores(stores: Vec<Store>, now: i64) -> io::Result<Self> {
        let mut catalog = Catalog::default();
        for store in stores {
            let Entry::Vacant(slot) = catalog.stores.entry(store.id) else {
                return Err(invalid(format!("store {} declared twice", store.id)));
            };
            slot.insert(StoreCatalog::new(store.id, store.products, now)?);
        }
        Ok(catalog)
    }

    pub(crate) fn has_store(&self, store: StoreId) -> bool {
        self.stores.contains_key(&store)
    }

    /// A store's products.
    pub(crate) fn store(&self, store: StoreId) -> Option<&StoreCatalog> {
        self.stores.get(&store)
    }

    /// The counter an adjustment of `target` moves: a sharing variation resolves to its product.
    pub(crate) fn counter_mut(&mut self, target: Target) -> Result<&mut Counter, Missing> {
        self.stores
            .get_mut(&target.store)
            .ok_or(Missing::Store)?
            .counter_mut(target.item)
    }

    /// Notes that `target`'s product changed at `now` (UNIX seconds).
    pub(crate) fn touch(&mut self, target: Target, now: i64) {
        if let Some(store) = self.stores.get_mut(&target.store) {
            store.touch(target.item.product(), now);
        }
    }

    /// Whether `target` is a variation that shares its product's stock (an empty SKU).
    pub(crate) fn shares_product_stock(&self, target: Target) -> Result<bool, Missing> {
        let product = self.product(target.store, target.item.product())?;
        match target.item {
            StockItem::Product { .. } => Ok(false),
            StockItem::Variation { combination, .. } => product
                .variation(combination)
                .map(|variation| variation.sku.is_empty())
                .ok_or(Missing::Combination),
        }
    }

    /// A product of a store.
    pub(crate) fn product(
        &self,
        store: StoreId,
        product: ProductId,
    ) -> Result<ProductRef<'_>, Missing> {
        let store = self.stores.get(&store).ok_or(Missing::Store)?;
        let position = store.position(product).ok_or(Missing::Product)?;
        Ok(store.get(position))
    }

    pub(crate) fn stock(&self, target: Target) -> Option<Stock> {
        let product = self.product(target.store, target.item.product()).ok()?;
        match target.item {
            StockItem::Product { .. } => Some(product.own().stock),
            StockItem::Variation { combination, .. } => {
                Some(product.variation(combination)?.counter.stock)
            }
        }
    }
}
