//! Reading what each target names: its SKU looked up or its product read, or the whole catalog
//! when that takes fewer requests.

use std::collections::BTreeSet;
use std::hash::{BuildHasher, RandomState};

use hashbrown::HashTable;

use super::row::{SyncRow, SyncStatus};
use super::target::{check_target, name, SyncTarget};
use crate::{
    batch::{paths, read_item},
    bulk::MAX_BATCH_SIZE,
    generated::types::{BatchRequestItem, ProductStock},
    polling::{Polling, Progress},
    reads::{product_items, unreadable},
    stock::SkuMatch,
    Client, Error, ProductId, RequestOptions, StockItem, StockLevel,
};

/// Fills in `reading`'s rows with what each target names, as read: no item, one, or several.
pub(super) async fn find_targets(
    client: &Client,
    reading: &mut Reading,
    polling: Polling,
    options: RequestOptions,
    progress: &mut Option<impl FnMut(&Progress) + Send>,
) -> Result<(), Error> {
    let products = reading.item_products();
    let lookups = reading.sku_targets() + products.len();
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
            reading.take(first);
            while let Some(items) = reader.next_items().await? {
                reading.take(items);
            }
            return Ok(());
        }
    }
    look_up_skus(client, reading, options).await?;
    read_products(client, &products, polling, options, reading).await?;
    if let Some(progress) = progress.as_mut() {
        let targets = reading.rows.len();
        progress(&Progress::new(targets, targets));
    }
    Ok(())
}

/// What a row is while it is read; kept beside the rows, a byte each.
const BY_ITEM: u8 = 1;
/// The one item found for the row shares its product's stock.
const SHARES: u8 = 2;

/// The plan's rows while their stock is read: one per target, in the order given, each filled
/// in as items are found for it (no item: `not-found`; one: its item and stock, status
/// `change` until planned; more: `several`, with every match). Beside the rows it keeps a byte
/// and an index entry per target, not a copy of it: a million targets cost about what their
/// rows do.
pub(super) struct Reading {
    rows: Vec<SyncRow>,
    /// [`BY_ITEM`] and [`SHARES`], per row.
    flags: Vec<u8>,
    /// The rows of targets by SKU, by their SKU.
    by_sku: HashTable<u32>,
    /// The rows of targets by item, by their item.
    by_item: HashTable<u32>,
    hasher: RandomState,
}

impl Reading {
    /// A row for each target, each checked ([`check_target`]) and each SKU and item given
    /// once: the checks `plan_sync` makes before anything is sent.
    pub(super) fn new(targets: Vec<SyncTarget>) -> Result<Self, Error> {
        if u32::try_from(targets.len()).is_err() {
            return Err(Error::InvalidInput(format!(
                "{} targets: a plan takes at most {}",
                targets.len(),
                u32::MAX
            )));
        }
        let mut reading = Reading {
            rows: Vec::with_capacity(targets.len()),
            flags: Vec::with_capacity(targets.len()),
            by_sku: HashTable::new(),
            by_item: HashTable::new(),
            hasher: RandomState::new(),
        };
        for (n, target) in targets.into_iter().enumerate() {
            check_target(n, &target)?;
            let earlier = match &target {
                SyncTarget::Sku { sku, .. } => reading.row_of_sku(sku),
                SyncTarget::Item { item, .. } => reading.row_of_item(item),
            };
            if let Some(earlier) = earlier {
                return Err(Error::InvalidInput(format!(
                    "{} repeats target {earlier}: give each item one target",
                    name(n, &target)
                )));
            }
            reading.push(target);
        }
        Ok(reading)
    }

    fn push(&mut self, target: SyncTarget) {
        let n = self.rows.len() as u32;
        let Reading {
            rows,
            flags,
            by_sku,
            by_item,
            hasher,
        } = self;
        let (sku, item, target, flag) = match target {
            SyncTarget::Sku { sku, stock } => {
                let hash = hasher.hash_one(sku.as_str());
                by_sku.insert_unique(hash, n, |&m| hasher.hash_one(rows[m as usize].sku.as_str()));
                (sku, None, stock, 0)
            }
            SyncTarget::Item { item, stock } => {
                by_item.insert_unique(hasher.hash_one(Some(item)), n, |&m| {
                    hasher.hash_one(rows[m as usize].item)
                });
                (String::new(), Some(item), stock, BY_ITEM)
            }
        };
        rows.push(SyncRow {
            sku,
            item,
            current: None,
            target,
            change: None,
            status: SyncStatus::NotFound,
            matches: Vec::new(),
        });
        flags.push(flag);
    }

    /// The row of the target by `sku`.
    fn row_of_sku(&self, sku: &str) -> Option<usize> {
        let rows = &self.rows;
        self.by_sku
            .find(self.hasher.hash_one(sku), |&n| rows[n as usize].sku == sku)
            .map(|&n| n as usize)
    }

    /// The row of the target by `item`.
    fn row_of_item(&self, item: &StockItem) -> Option<usize> {
        let rows = &self.rows;
        self.by_item
            .find(self.hasher.hash_one(Some(*item)), |&n| {
                rows[n as usize].item.as_ref() == Some(item)
            })
            .map(|&n| n as usize)
    }

    /// How many targets are by SKU.
    fn sku_targets(&self) -> usize {
        self.rows.len() - self.by_item.len()
    }

    /// The products of the targets by item.
    fn item_products(&self) -> BTreeSet<ProductId> {
        self.rows
            .iter()
            .zip(&self.flags)
            .filter(|(_, &flags)| flags & BY_ITEM != 0)
            .filter_map(|(row, _)| row.item.map(StockItem::product))
            .collect()
    }

    /// Notes every target that `items` holds: by item, and by own SKU (a variation sharing its
    /// product's stock carries its product's SKU, which names the product, not it). An item
    /// read twice (by its SKU's lookup, and with the product of a target given by item) is
    /// noted once.
    pub(super) fn take(&mut self, items: impl IntoIterator<Item = StockLevel>) {
        for item in items {
            if let Some(n) = self.row_of_item(&item.item) {
                self.note(n, &item);
            }
            if item.shares_product_stock {
                continue;
            }
            if let Some(n) = self.row_of_sku(&item.sku) {
                self.note(n, &item);
            }
        }
    }

    /// Notes `found` for row `n`.
    pub(super) fn note(&mut self, n: usize, found: &StockLevel) {
        let row = &mut self.rows[n];
        let flags = &mut self.flags[n];
        if *flags & BY_ITEM != 0 {
            // Only its own item is noted for a target by item: once.
            if row.current.is_none() {
                row.current = Some(found.stock);
                row.sku.clone_from(&found.sku);
                row.status = SyncStatus::Change;
                if found.shares_product_stock {
                    *flags |= SHARES;
                }
            }
            return;
        }
        match (row.status, row.item) {
            (SyncStatus::NotFound, _) => {
                row.item = Some(found.item);
                row.current = Some(found.stock);
                row.status = SyncStatus::Change;
                if found.shares_product_stock {
                    *flags |= SHARES;
                }
            }
            (SyncStatus::Change, Some(first)) if first != found.item => {
                row.matches = vec![first, found.item];
                row.item = None;
                row.current = None;
                row.status = SyncStatus::Several;
                *flags &= !SHARES;
            }
            (SyncStatus::Several, _) if !row.matches.contains(&found.item) => {
                row.matches.push(found.item);
            }
            _ => {}
        }
    }

    /// The rows as read, and for each whether the one item found for it shares its product's
    /// stock.
    pub(super) fn into_rows(self) -> (Vec<SyncRow>, Vec<bool>) {
        let shares = self.flags.iter().map(|flags| flags & SHARES != 0).collect();
        (self.rows, shares)
    }

    #[cfg(test)]
    pub(super) fn rows(&self) -> &[SyncRow] {
        &self.rows
    }
}

/// The SKU targets, through [`Client::find_skus`]. A SKU whose lookup failed fails the plan:
/// without its stock, nothing can be planned for it.
async fn look_up_skus(
    client: &Client,
    reading: &mut Reading,
    options: RequestOptions,
) -> Result<(), Error> {
    let skus: Vec<&str> = reading
        .rows
        .iter()
        .zip(&reading.flags)
        .filter(|(_, &flags)| flags & BY_ITEM == 0)
        .map(|(row, _)| row.sku.as_str())
        .collect();
    if skus.is_empty() {
        return Ok(());
    }
    let report = client.find_skus(&skus).options(options).send().await?;
    for (sku, result) in report.results {
        let Some(n) = reading.row_of_sku(&sku) else {
            continue;
        };
        match result? {
            SkuMatch::Found(item) => reading.note(n, &item),
            SkuMatch::Several(items) => {
                for item in &items {
                    reading.note(n, item);
                }
            }
            _ => {}
        }
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
    reading: &mut Reading,
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
            reading.take(product_items(&read)?);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stock::MAX_QUANTITY;
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

    /// The items found for each target, as its row holds them.
    fn items(found: &Reading) -> Vec<Vec<StockItem>> {
        found
            .rows()
            .iter()
            .map(|row| match row.status {
                SyncStatus::NotFound => vec![],
                SyncStatus::Several => row.matches.clone(),
                _ => row.item.into_iter().collect(),
            })
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
        let mut found = Reading::new(targets.to_vec()).unwrap();
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
        let mut found = Reading::new(targets.to_vec()).unwrap();
        found.take(shirt());
        found.take(shirt());
        assert_eq!(items(&found), [vec![variation(11)], vec![variation(11)]]);
    }

    #[test]
    fn every_item_with_a_sku_is_noted_for_it() {
        let targets = [SyncTarget::sku("DUP", Stock::Quantity(1))];
        let mut found = Reading::new(targets.to_vec()).unwrap();
        found.take([read(product(4), "DUP", STOCK, false)]);
        found.take([
            read(product(5), "DUP", STOCK, false),
            read(product(6), "DUPE", STOCK, false),
        ]);
        assert_eq!(items(&found), [vec![product(4), product(5)]]);
    }

    /// The checks `plan_sync` makes before reading: each target's, and each given once.
    fn check_targets(targets: &[SyncTarget]) -> Result<(), Error> {
        Reading::new(targets.to_vec()).map(drop)
    }

    /// The text of the `InvalidInput` that `targets` fail with.
    fn refusal(targets: &[SyncTarget]) -> String {
        match check_targets(targets) {
            Err(Error::InvalidInput(why)) => why,
            other => panic!("{targets:?} gave {other:?}"),
        }
    }

    /// Only what can be told without reading: a SKU and an item naming one stock are found out
    /// once read.
    #[test]
    fn well_formed_targets_pass() {
        let targets = [
            SyncTarget::sku("TEE-S", Stock::Quantity(0)),
            SyncTarget::sku("TEE-M", Stock::Quantity(MAX_QUANTITY)),
            SyncTarget::item(variation(11), Stock::Unlimited),
            SyncTarget::item(product(1), Stock::Quantity(4)),
            SyncTarget::item(variation(12), Stock::Quantity(4)),
        ];
        check_targets(&targets).unwrap();
        check_targets(&[]).unwrap();
    }

    #[test]
    fn a_bad_target_is_refused_by_its_place_and_name() {
        let ok = SyncTarget::sku("TEE-S", Stock::Quantity(1));
        let cases = [
            (
                SyncTarget::sku("", Stock::Quantity(1)),
                "target 1 (SKU \"\"): ",
            ),
            (
                SyncTarget::sku(" TEE", Stock::Quantity(1)),
                "target 1 (SKU \" TEE\"): ",
            ),
            (
                SyncTarget::sku("TEE", Stock::Quantity(-1)),
                "target 1 (SKU \"TEE\"): ",
            ),
            (
                SyncTarget::sku("TEE", Stock::Quantity(MAX_QUANTITY + 1)),
                "target 1 (SKU \"TEE\"): ",
            ),
            (
                SyncTarget::item(product(0), Stock::Quantity(1)),
                "target 1 (Product { product: ProductId(0) }): ",
            ),
            (
                SyncTarget::item(variation(0), Stock::Quantity(1)),
                "target 1 (Variation { ",
            ),
            (
                SyncTarget::item(variation(11), Stock::Quantity(-1)),
                "target 1 (Variation { ",
            ),
        ];
        for (bad, named) in cases {
            let why = refusal(&[ok.clone(), bad.clone()]);
            assert!(why.starts_with(named), "{bad:?}: {why}");
        }
    }

    #[test]
    fn a_sku_or_an_item_given_twice_is_refused() {
        let why = refusal(&[
            SyncTarget::sku("TEE-S", Stock::Quantity(1)),
            SyncTarget::sku("TEE-M", Stock::Quantity(1)),
            SyncTarget::sku("TEE-S", Stock::Quantity(2)),
        ]);
        assert!(
            why.starts_with("target 2 (SKU \"TEE-S\") repeats target 0"),
            "{why}"
        );
        let why = refusal(&[
            SyncTarget::item(variation(11), Stock::Quantity(1)),
            SyncTarget::item(variation(12), Stock::Quantity(1)),
            SyncTarget::item(variation(12), Stock::Unlimited),
        ]);
        assert!(why.contains("target 2 ("), "{why}");
        assert!(why.contains("repeats target 1"), "{why}");
    }
}
