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

use std::collections::{btree_map::Entry, BTreeMap};
use std::io;

use ecwid_inventory::{CombinationId, ProductId, Stock, StockItem, StoreId};

/// A store to serve, with its products. Declared once, before [`FakeStoreBuilder::start`].
///
/// [`FakeStoreBuilder::start`]: super::FakeStoreBuilder::start
#[derive(Clone, Debug)]
pub struct Store {
    pub(crate) id: StoreId,
    pub(crate) products: Vec<Product>,
}

impl Store {
    /// A store with no products yet.
    pub fn new(id: StoreId) -> Self {
        Self {
            id,
            products: Vec::new(),
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

#[derive(Debug)]
pub(crate) struct ProductState {
    pub(crate) sku: String,
    pub(crate) own: Counter,
    /// `None`: the variation shares the product's counter (empty SKU).
    pub(crate) variations: BTreeMap<CombinationId, Option<OwnStock>>,
    /// The order the product was added to its store in (0 for the first), for
    /// `sortBy=ADDED_TIME_*`.
    pub(crate) added: usize,
    /// When it last changed (its stock, or a variation's), in UNIX seconds of the fake's clock.
    pub(crate) updated: i64,
}

/// A variation with a SKU of its own, and so a stock of its own.
#[derive(Debug)]
pub(crate) struct OwnStock {
    /// Never empty.
    pub(crate) sku: String,
    pub(crate) counter: Counter,
}

impl ProductState {
    /// The counter a variation uses: its own, or its product's when it shares it.
    pub(crate) fn variation_counter(&self, own: Option<&OwnStock>) -> Counter {
        own.map_or(self.own, |own| own.counter)
    }
}

/// The live catalog of every store the fake serves.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    pub(crate) stores: BTreeMap<StoreId, BTreeMap<ProductId, ProductState>>,
    /// Each store's product ids in the order they were added (products are never added or
    /// removed once the fake runs), so that a page in that order is found without sorting
    /// the whole catalog.
    pub(crate) added_order: BTreeMap<StoreId, Vec<ProductId>>,
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
            let products = slot.insert(BTreeMap::new());
            let order = catalog.added_order.entry(store.id).or_default();
            for (added, product) in store.products.into_iter().enumerate() {
                order.push(product.id);
                let own = Counter {
                    stock: product.stock,
                    warning_limit: product.warning_limit,
                };
                let mut variations = BTreeMap::new();
                for variation in product.variations {
                    let counter = if variation.sku.is_empty() {
                        if variation.stock.is_some_and(|stock| stock != product.stock) {
                            return Err(invalid(format!(
                                "variation {} of product {} has an empty SKU, so it shares the \
                                 product's stock; a different stock is DIFFERENT_COMBINATION_STOCK",
                                variation.id, product.id
                            )));
                        }
                        None
                    } else {
                        Some(OwnStock {
                            sku: variation.sku,
                            counter: Counter {
                                stock: variation.stock.unwrap_or(Stock::Quantity(0)),
                                warning_limit: variation.warning_limit,
                            },
                        })
                    };
                    if variations.insert(variation.id, counter).is_some() {
                        return Err(invalid(format!(
                            "variation {} of product {} declared twice",
                            variation.id, product.id
                        )));
                    }
                }
                if products
                    .insert(
                        product.id,
                        ProductState {
                            sku: product.sku,
                            own,
                            variations,
                            added,
                            updated: now,
                        },
                    )
                    .is_some()
                {
                    return Err(invalid(format!(
                        "product {} of store {} declared twice",
                        product.id, store.id
                    )));
                }
            }
        }
        Ok(catalog)
    }

    pub(crate) fn has_store(&self, store: StoreId) -> bool {
        self.stores.contains_key(&store)
    }

    /// The counter an adjustment of `target` moves: a sharing variation resolves to its product.
    pub(crate) fn counter_mut(&mut self, target: Target) -> Result<&mut Counter, Missing> {
        let product = self
            .stores
            .get_mut(&target.store)
            .ok_or(Missing::Store)?
            .get_mut(&target.item.product())
            .ok_or(Missing::Product)?;
        match target.item {
            StockItem::Product { .. } => Ok(&mut product.own),
            StockItem::Variation { combination, .. } => {
                match product.variations.get_mut(&combination) {
                    None => Err(Missing::Combination),
                    Some(Some(own)) => Ok(&mut own.counter),
                    Some(None) => Ok(&mut product.own),
                }
            }
        }
    }

    /// Notes that `target`'s product changed at `now` (UNIX seconds).
    pub(crate) fn touch(&mut self, target: Target, now: i64) {
        if let Some(product) = self
            .stores
            .get_mut(&target.store)
            .and_then(|products| products.get_mut(&target.item.product()))
        {
            product.updated = now;
        }
    }

    /// Whether `target` is a variation that shares its product's stock (an empty SKU).
    pub(crate) fn shares_product_stock(&self, target: Target) -> Result<bool, Missing> {
        let product = self.product(target.store, target.item.product())?;
        match target.item {
            StockItem::Product { .. } => Ok(false),
            StockItem::Variation { combination, .. } => product
                .variations
                .get(&combination)
                .map(Option::is_none)
                .ok_or(Missing::Combination),
        }
    }

    /// A product of a store.
    pub(crate) fn product(
        &self,
        store: StoreId,
        product: ProductId,
    ) -> Result<&ProductState, Missing> {
        self.stores
            .get(&store)
            .ok_or(Missing::Store)?
            .get(&product)
            .ok_or(Missing::Product)
    }

    pub(crate) fn stock(&self, target: Target) -> Option<Stock> {
        let product = self
            .stores
            .get(&target.store)?
            .get(&target.item.product())?;
        match target.item {
            StockItem::Product { .. } => Some(product.own.stock),
            StockItem::Variation { combination, .. } => Some(
                product
                    .variation_counter(product.variations.get(&combination)?.as_ref())
                    .stock,
            ),
        }
    }
}
