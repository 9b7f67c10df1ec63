//! Reading what each target names: its SKU looked up or its product read, or the whole catalog
//! when that takes fewer requests.

use std::collections::{BTreeSet, HashMap};

use super::target::SyncTarget;
use crate::{
    batch::{paths, read_item},
    bulk::MAX_BATCH_SIZE,
    generated::types::{BatchRequestItem, ProductStock},
    polling::{Polling, Progress},
    reads::{product_items, unreadable},
    stock::SkuMatch,
    Client, Error, ProductId, RequestOptions, StockItem, StockLevel,
};

/// What each target names, as read: no item, one, or several.
pub(super) async fn find_targets(
    client: &Client,
    targets: &[SyncTarget],
    polling: Polling,
    options: RequestOptions,
    progress: &mut Option<impl FnMut(&Progress) + Send>,
) -> Result<Vec<Vec<StockLevel>>, Error> {
    let products: BTreeSet<ProductId> = targets
        .iter()
        .filter_map(|target| match target {
            SyncTarget::Item { item, .. } => Some(item.product()),
            SyncTarget::Sku { .. } => None,
        })
        .collect();
    let skus = targets.len()
        - targets
            .iter()
            .filter(|t| matches!(t, SyncTarget::Item { .. }))
            .count();
    let lookups = skus + products.len();
    if lookups > MAX_BATCH_SIZE {
        let mut reader = client
            .catalog_stock()
            .options(options)
            .polling(polling)
            .on_progress(|p| {
                if let Some(progress) = progress.as_mut() {
                    progress(p);
                }
            })
            .reader();
        let first = reader.next_items().await?.unwrap_or_default();
        let pages = reader.total().unwrap_or(0).div_ceil(crate::catalog::PAGE);
        if usize::try_from(pages).is_ok_and(|pages| pages < lookups) {
            let mut found = Found::new(targets);
            found.take(first);
            while let Some(items) = reader.next_items().await? {
                found.take(items);
            }
            return Ok(found.items);
        }
    }
    let mut found = Found::new(targets);
    look_up_skus(client, targets, options, &mut found).await?;
    read_products(client, &products, polling, options, &mut found).await?;
    if let Some(progress) = progress.as_mut() {
        progress(&Progress::new(targets.len(), targets.len()));
    }
    Ok(found.items)
}

/// The items found for each target, filled from whatever was read.
struct Found<'t> {
    by_sku: HashMap<&'t str, usize>,
    by_item: HashMap<StockItem, usize>,
    items: Vec<Vec<StockLevel>>,
}

impl<'t> Found<'t> {
    fn new(targets: &'t [SyncTarget]) -> Self {
        let mut by_sku = HashMap::new();
        let mut by_item = HashMap::new();
        for (n, target) in targets.iter().enumerate() {
            match target {
                SyncTarget::Sku { sku, .. } => by_sku.insert(sku.as_str(), n),
                SyncTarget::Item { item, .. } => by_item.insert(*item, n),
            };
        }
        Self {
            by_sku,
            by_item,
            items: vec![Vec::new(); targets.len()],
        }
    }

    /// Notes every target that `items` holds: by item, and by own SKU (a variation sharing its
    /// product's stock carries its product's SKU, which names the product, not it). An item
    /// read twice (by its SKU's lookup, and with the product of a target given by item) is
    /// noted once.
    fn take(&mut self, items: impl IntoIterator<Item = StockLevel>) {
        for item in items {
            if let Some(&n) = self.by_item.get(&item.item) {
                self.note(n, &item);
            }
            if item.shares_product_stock {
                continue;
            }
            if let Some(&n) = self.by_sku.get(item.sku.as_str()) {
                self.note(n, &item);
            }
        }
    }

    fn note(&mut self, n: usize, item: &StockLevel) {
        if !self.items[n].iter().any(|seen| seen.item == item.item) {
            self.items[n].push(item.clone());
        }
    }
}

/// The SKU targets, through [`Client::find_skus`]. A SKU whose lookup failed fails the plan:
/// without its stock, nothing can be planned for it.
async fn look_up_skus(
    client: &Client,
    targets: &[SyncTarget],
    options: RequestOptions,
    found: &mut Found<'_>,
) -> Result<(), Error> {
    let skus: Vec<&str> = targets
        .iter()
        .filter_map(|target| match target {
            SyncTarget::Sku { sku, .. } => Some(sku.as_str()),
            SyncTarget::Item { .. } => None,
        })
        .collect();
    if skus.is_empty() {
        return Ok(());
    }
    let report = client.find_skus(&skus).options(options).send().await?;
    for (sku, result) in report.results {
        let n = found.by_sku[sku.as_str()];
        found.items[n] = match result? {
            SkuMatch::Found(item) => vec![item],
            SkuMatch::Several(items) => items,
            _ => Vec::new(),
        };
    }
    Ok(())
}

/// The products of the targets given by item, read through batches of product reads (each
/// with its variations). A product Ecwid does not have leaves its targets not found.
async fn read_products(
    client: &Client,
    products: &BTreeSet<ProductId>,
    polling: Polling,
    options: RequestOptions,
    found: &mut Found<'_>,
) -> Result<(), Error> {
    let products: Vec<ProductId> = products.iter().copied().collect();
    for chunk in products.chunks(MAX_BATCH_SIZE) {
        let requests: Vec<BatchRequestItem> = chunk
            .iter()
            .enumerate()
            .map(|(n, &product)| read_item(n.to_string(), paths::product(product)))
            .collect();
        let mut answers = client.read_batch(&requests, polling, &options).await?;
        for (n, product) in chunk.iter().enumerate() {
            let answer = answers.remove(&n.to_string()).unwrap_or_else(|| {
                Err(unreadable(format!(
                    "the batch has no result for product {product}"
                )))
            });
            let body = match answer {
                Err(Error::Api { status: 404, .. }) => continue,
                answer => answer?,
            };
            let read: ProductStock = serde_json::from_value(body)
                .map_err(|_| unreadable(format!("an unreadable answer for product {product}")))?;
            found.take(product_items(&read)?);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::fixtures::{product, read, variation};
    use crate::Stock;

    const STOCK: Stock = Stock::Quantity(20);

    /// The shirt (SKU "TEE") as a product read returns it: a variation with its own SKU, and
    /// one without, which carries the shirt's SKU.
    fn shirt() -> Vec<StockLevel> {
        vec![
            read(product(1), "TEE", STOCK, false),
            read(variation(11), "TEE-S", STOCK, false),
            read(variation(12), "TEE", STOCK, true),
        ]
    }

    fn items(found: &Found<'_>) -> Vec<Vec<StockItem>> {
        found
            .items
            .iter()
            .map(|items| items.iter().map(|item| item.item).collect())
            .collect()
    }

    #[test]
    fn targets_are_found_by_their_item_or_their_own_sku() {
        let targets = [
            SyncTarget::sku("TEE-S", Stock::Quantity(1)),
            SyncTarget::item(variation(12), Stock::Quantity(1)),
            SyncTarget::sku("TEE", Stock::Quantity(1)),
            SyncTarget::item(product(7), Stock::Quantity(1)),
            SyncTarget::sku("NOPE", Stock::Quantity(1)),
        ];
        let mut found = Found::new(&targets);
        found.take(shirt());
        assert_eq!(
            items(&found),
            [
                vec![variation(11)],
                vec![variation(12)],
                // Not the variation that only carries the shirt's SKU.
                vec![product(1)],
                vec![],
                vec![],
            ]
        );
    }

    /// A SKU's lookup and a product read for a target given by item may return one item twice.
    #[test]
    fn an_item_read_twice_is_noted_once() {
        let targets = [
            SyncTarget::sku("TEE-S", Stock::Quantity(1)),
            SyncTarget::item(variation(11), Stock::Quantity(1)),
        ];
        let mut found = Found::new(&targets);
        found.take(shirt());
        found.take(shirt());
        assert_eq!(items(&found), [vec![variation(11)], vec![variation(11)]]);
    }

    #[test]
    fn every_item_with_a_sku_is_noted_for_it() {
        let targets = [SyncTarget::sku("DUP", Stock::Quantity(1))];
        let mut found = Found::new(&targets);
        found.take([read(product(4), "DUP", STOCK, false)]);
        found.take([
            read(product(5), "DUP", STOCK, false),
            read(product(6), "DUPE", STOCK, false),
        ]);
        assert_eq!(items(&found), [vec![product(4), product(5)]]);
    }
}
