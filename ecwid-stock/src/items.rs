//! The item a command acts on: found by its SKU (`client.find_sku`), or named by its ids.

use ecwid_inventory::{stock::SkuMatch, Client, CombinationId, ProductId, StockItem, StockLevel};

use crate::{args::Item, exit::Fail};

/// An item, as the user named it.
#[derive(Debug)]
pub struct Named {
    pub item: StockItem,
    /// The SKU it was found by; `None` when named by its ids.
    pub sku: Option<String>,
    /// Its stock, read by the SKU lookup.
    pub found: Option<StockLevel>,
}

/// Finds the item `args` names. A SKU that matches no item, or several, is bad input: the
/// error lists what was found, and no change is sent.
pub async fn resolve(client: &Client, args: &Item) -> Result<Named, Fail> {
    let Some(sku) = &args.sku else {
        // The grammar asks for a SKU or --product.
        let product = ProductId::new(args.product.unwrap_or_default());
        let item = match args.combination {
            Some(combination) => StockItem::Variation {
                product,
                combination: CombinationId::new(combination),
            },
            None => StockItem::Product { product },
        };
        return Ok(Named {
            item,
            sku: None,
            found: None,
        });
    };
    match client.find_sku(sku).await? {
        SkuMatch::Found(stock) => Ok(Named {
            item: stock.item,
            sku: Some(stock.sku.clone()),
            found: Some(stock),
        }),
        SkuMatch::NotFound => Err(Fail::bad_input(format!(
            "no product or variation has the SKU {sku:?}"
        ))),
        SkuMatch::Several(items) => Err(Fail::bad_input(format!(
            "the SKU {sku:?} is on {} items ({}): name one with --product P [--combination C]",
            items.len(),
            items
                .iter()
                .map(|found| describe(found.item))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
        other => Err(Fail::failed(format!(
            "an answer to the SKU lookup this command does not know: {other:?}"
        ))),
    }
}

/// `product 1` or `product 1 variation 11`.
pub fn describe(item: StockItem) -> String {
    match item {
        StockItem::Product { product } => format!("product {product}"),
        StockItem::Variation {
            product,
            combination,
        } => format!("product {product} variation {combination}"),
    }
}
