//! What the commands print: aligned columns for people, JSON for programs (field names in
//! snake case, documented in the README), notes on stderr.

use std::io::{self, Write};

use ecwid_inventory::{Stock, StockItem, StockLevel};
use serde::Serialize;
use tabwriter::TabWriter;

/// The output settings of the global flags.
#[derive(Clone, Copy, Debug)]
pub struct Output {
    /// `--json`: JSON on stdout instead of columns.
    pub json: bool,
    /// `--quiet`: no notes, no progress, no report of a change that went well.
    pub quiet: bool,
}

impl Output {
    /// One JSON document on one line of stdout.
    pub fn json(&self, value: &impl Serialize) -> io::Result<()> {
        let mut out = io::stdout().lock();
        serde_json::to_writer(&mut out, value)?;
        writeln!(out)?;
        out.flush()
    }

    /// Rows under a header, in columns aligned with spaces.
    pub fn table(&self, header: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
        let mut table = TabWriter::new(io::stdout().lock()).padding(2);
        writeln!(table, "{}", header.join("\t"))?;
        for row in rows {
            writeln!(table, "{}", row.join("\t"))?;
        }
        table.flush()
    }

    /// A line for the person at the terminal, on stderr: not with `--quiet` nor `--json`.
    pub fn note(&self, text: &str) {
        if !self.quiet && !self.json {
            eprintln!("{text}");
        }
    }
}

/// A stock as JSON: the count, or `"unlimited"`.
pub fn stock_value(stock: Stock) -> serde_json::Value {
    match stock {
        Stock::Quantity(quantity) => quantity.into(),
        Stock::Unlimited => "unlimited".into(),
    }
}

/// An item's stock as JSON: what `get` prints, and each object of a JSON snapshot.
#[derive(Debug, Serialize)]
pub struct StockJson<'a> {
    pub sku: &'a str,
    pub product_id: u64,
    /// `null` for a product's own stock.
    pub combination_id: Option<u64>,
    /// `null` when `unlimited` is true.
    pub quantity: Option<i64>,
    pub unlimited: bool,
    pub in_stock: bool,
    pub shares_product_stock: bool,
}

impl<'a> From<&'a StockLevel> for StockJson<'a> {
    fn from(stock: &'a StockLevel) -> Self {
        StockJson {
            sku: &stock.sku,
            product_id: stock.item.product().get(),
            combination_id: stock.item.combination().map(|c| c.get()),
            quantity: match stock.stock {
                Stock::Quantity(quantity) => Some(quantity),
                Stock::Unlimited => None,
            },
            unlimited: stock.stock == Stock::Unlimited,
            in_stock: stock.in_stock,
            shares_product_stock: stock.shares_product_stock,
        }
    }
}

/// The columns of [`stock_row`].
pub const STOCK_HEADER: [&str; 6] = [
    "SKU",
    "PRODUCT",
    "VARIATION",
    "QUANTITY",
    "IN STOCK",
    "SHARED",
];

/// An item's stock as a row of columns.
pub fn stock_row(stock: &StockLevel) -> Vec<String> {
    let [product, variation] = id_columns(stock.item);
    vec![
        stock.sku.clone(),
        product,
        variation,
        stock.stock.to_string(),
        yes_no(stock.in_stock),
        if stock.shares_product_stock {
            "yes, the product's stock".to_owned()
        } else {
            "no".to_owned()
        },
    ]
}

/// The product and variation columns of an item (the variation empty for a product).
pub fn id_columns(item: StockItem) -> [String; 2] {
    [
        item.product().to_string(),
        item.combination()
            .map(|c| c.to_string())
            .unwrap_or_default(),
    ]
}

/// `1 row`, `2 rows`.
pub fn count(n: u64, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}

fn yes_no(value: bool) -> String {
    if value { "yes" } else { "no" }.to_owned()
}

/// What became of one change: `adjust`'s and `set`'s JSON document.
#[derive(Debug, Serialize)]
pub struct ChangeJson {
    /// `null` when the item was named by its ids.
    pub sku: Option<String>,
    pub product_id: u64,
    pub combination_id: Option<u64>,
    /// `adjust`: the delta sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<i32>,
    /// `set`: the count set, or `"unlimited"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<serde_json::Value>,
    /// `adjust --key`: when the change was first sent under the key (RFC 3339), to give as
    /// `--first-attempt` when running the command again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_attempt: Option<String>,
    /// `applied`, `not-updated` (Ecwid changed nothing: unlimited stock), `failed` (nothing
    /// was applied) or `unknown` (it may have been applied).
    pub outcome: &'static str,
    /// Ecwid's warning, such as a stock gone below zero.
    pub warning: Option<String>,
    /// Why it failed, or why its outcome is unknown, and what to do.
    pub error: Option<String>,
}
