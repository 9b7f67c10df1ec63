//! The paths batch items are sent to, with their queries: the one place they are made.
//!
//! A batch item names the request Ecwid runs inside the batch by a path relative to the
//! store (`/products/7/inventory`), which the generated client does not make: each kind of
//! path the crate sends is one function here, with its query encoded, and a test. The stock
//! fields (`responseFields`) live here too, so that a direct read and a read inside a batch ask
//! for the same fields.

use crate::{paging::Slot, Error, ProductId, StockItem};

/// The stock fields of an item, as `responseFields` asks for them.
pub(crate) const ITEM_FIELDS: &str = "id,sku,quantity,unlimited,inStock,instock";

/// A product with its variations, for SKU lookups, product reads and catalog reads.
pub(crate) fn product_fields() -> String {
    format!("{ITEM_FIELDS},combinations({ITEM_FIELDS})")
}

/// A search page's fields: paging's numbers and the products' stock, with their variations'
/// or without.
pub(crate) fn page_fields(variations: bool) -> String {
    let items = if variations {
        product_fields()
    } else {
        ITEM_FIELDS.to_owned()
    };
    format!("total,count,offset,limit,items({items})")
}

/// `path?query`, the query's values encoded.
fn with_query<'a>(path: &str, pairs: impl IntoIterator<Item = (&'a str, String)>) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        query.append_pair(name, &value);
    }
    format!("{path}?{}", query.finish())
}

/// An item's own path, which a set is sent to: `/products/{id}`, or
/// `/products/{id}/combinations/{id}` for a variation. A zero id is bad input.
pub(crate) fn stock_item(item: StockItem) -> Result<String, Error> {
    let product = item.product().non_zero()?;
    Ok(match item.combination() {
        Some(combination) => format!(
            "/products/{product}/combinations/{}",
            combination.non_zero()?
        ),
        None => format!("/products/{product}"),
    })
}

/// The path an adjustment of `item`'s stock is sent to: its own path, then `/inventory`, with
/// `checkLowStockNotification` when it is given.
pub(crate) fn stock_adjustment(
    item: StockItem,
    check_low_stock_notification: Option<bool>,
) -> Result<String, Error> {
    let path = format!("{}/inventory", stock_item(item)?);
    Ok(match check_low_stock_notification {
        Some(check) => with_query(&path, [("checkLowStockNotification", check.to_string())]),
        None => path,
    })
}

/// A product read with its variations' stock.
pub(crate) fn product(product: ProductId) -> String {
    with_query(
        &format!("/products/{product}"),
        [("responseFields", product_fields())],
    )
}

/// A product's variation list, with their stock.
pub(crate) fn variations(product: ProductId) -> String {
    with_query(
        &format!("/products/{product}/combinations"),
        [("responseFields", ITEM_FIELDS.to_owned())],
    )
}

/// One page of the catalog, oldest products first, only those updated since `updated_from`
/// (UNIX seconds) when given.
pub(crate) fn catalog_page(slot: Slot, updated_from: Option<u64>) -> String {
    let mut pairs = vec![
        ("sortBy", "ADDED_TIME_ASC".to_owned()),
        ("offset", slot.offset.to_string()),
        ("limit", slot.limit.to_string()),
    ];
    if let Some(at) = updated_from {
        pairs.push(("updatedFrom", at.to_string()));
    }
    pairs.push(("responseFields", page_fields(slot.variations)));
    with_query("/products", pairs)
}

/// The page at `offset` of the search for `sku`.
pub(crate) fn sku_search(sku: &str, offset: u32) -> String {
    let mut pairs = vec![("sku", sku.to_owned())];
    if offset > 0 {
        pairs.push(("offset", offset.to_string()));
    }
    pairs.push(("responseFields", page_fields(true)));
    with_query("/products", pairs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CombinationId;

    const FIELDS: &str = "id%2Csku%2Cquantity%2Cunlimited%2CinStock%2Cinstock";

    fn variation(product: u64, combination: u64) -> StockItem {
        StockItem::Variation {
            product: ProductId::new(product),
            combination: CombinationId::new(combination),
        }
    }

    fn product_item(product: u64) -> StockItem {
        StockItem::Product {
            product: ProductId::new(product),
        }
    }

    #[test]
    fn stock_paths_name_the_item_and_refuse_a_zero_id() {
        assert_eq!(stock_item(product_item(7)).unwrap(), "/products/7");
        assert_eq!(
            stock_item(variation(7, 9)).unwrap(),
            "/products/7/combinations/9"
        );
        assert_eq!(
            stock_adjustment(product_item(7), None).unwrap(),
            "/products/7/inventory"
        );
        assert_eq!(
            stock_adjustment(variation(7, 9), Some(true)).unwrap(),
            "/products/7/combinations/9/inventory?checkLowStockNotification=true"
        );
        assert_eq!(
            stock_adjustment(product_item(7), Some(false)).unwrap(),
            "/products/7/inventory?checkLowStockNotification=false"
        );
        for (item, zero) in [
            (product_item(0), "product id"),
            (variation(0, 9), "product id"),
            (variation(7, 0), "combination id"),
        ] {
            for path in [stock_item(item), stock_adjustment(item, Some(true))] {
                let Err(Error::InvalidInput(why)) = path else {
                    panic!("{item:?}: {path:?}")
                };
                assert!(why.contains(zero), "{item:?}: {why}");
            }
        }
    }

    #[test]
    fn product_reads_ask_for_the_stock_fields_only() {
        let fields: String = form_urlencoded::byte_serialize(product_fields().as_bytes()).collect();
        assert_eq!(
            product(ProductId::new(7)),
            format!("/products/7?responseFields={fields}")
        );
        assert_eq!(
            fields,
            format!("{FIELDS}%2Ccombinations%28{FIELDS}%29"),
            "the product's fields and its variations'"
        );
    }

    #[test]
    fn catalog_paths_ask_for_the_stock_fields_only() {
        let slot = Slot {
            offset: 200,
            limit: 50,
            variations: true,
        };
        let path = catalog_page(slot, Some(1_700_000_000));
        let query: Vec<(String, String)> =
            form_urlencoded::parse(path.trim_start_matches("/products?").as_bytes())
                .into_owned()
                .collect();
        let get = |name: &str| {
            query
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("sortBy"), Some("ADDED_TIME_ASC"));
        assert_eq!((get("offset"), get("limit")), (Some("200"), Some("50")));
        assert_eq!(get("updatedFrom"), Some("1700000000"));
        assert_eq!(
            get("responseFields"),
            Some(
                "total,count,offset,limit,items(id,sku,quantity,unlimited,inStock,instock,\
                 combinations(id,sku,quantity,unlimited,inStock,instock))"
            )
        );
        let bare = catalog_page(
            Slot {
                variations: false,
                ..slot
            },
            None,
        );
        assert!(!bare.contains("updatedFrom"), "{bare}");
        assert!(!bare.contains("combinations"), "{bare}");
        assert_eq!(
            variations(ProductId::new(7)),
            format!("/products/7/combinations?responseFields={FIELDS}")
        );
    }

    #[test]
    fn a_search_path_is_encoded() {
        let fields: String =
            form_urlencoded::byte_serialize(page_fields(true).as_bytes()).collect();
        assert_eq!(
            sku_search("A&B C", 0),
            format!("/products?sku=A%26B+C&responseFields={fields}")
        );
        assert_eq!(
            sku_search("A&B C", 100),
            format!("/products?sku=A%26B+C&offset=100&responseFields={fields}")
        );
    }
}
