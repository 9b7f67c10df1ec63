//! What the commands print: aligned columns for people, JSON for programs (field names in
//! snake case, documented in the README), notes on stderr.

use std::io::{self, Write};

use ecwid_inventory::{Stock, StockItem, StockLevel};
use serde::Serialize;
use unicode_width::UnicodeWidthChar;

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

    /// Rows under a header, in columns aligned with spaces (at least two between columns; the
    /// last column is not padded). `rows` is called twice, to measure the columns and then to
    /// write them, so a table of a million rows is never held whole: it must give the same rows
    /// both times.
    pub fn table<I>(&self, header: &[&str], rows: impl Fn() -> I) -> io::Result<()>
    where
        I: IntoIterator<Item = Vec<String>>,
    {
        let mut out = io::BufWriter::new(io::stdout().lock());
        write_table(&mut out, header, rows)?;
        out.flush()
    }

    /// A line for the person at the terminal, on stderr: not with `--quiet` nor `--json`.
    pub fn note(&self, text: &str) {
        if !self.quiet && !self.json {
            eprintln!("{text}");
        }
    }
}

/// Space between columns, and the least width of a column.
const GAP: usize = 2;

/// What a cell may hold that would break its row (an error's text, say): each printed as a
/// space.
const BREAKS: [char; 3] = ['\t', '\r', '\n'];

/// [`Output::table`] into `out`.
fn write_table<I>(out: &mut impl Write, header: &[&str], rows: impl Fn() -> I) -> io::Result<()>
where
    I: IntoIterator<Item = Vec<String>>,
{
    // Every column but the last is as wide as its widest cell.
    let padded = header.len().saturating_sub(1);
    let mut widths = vec![GAP; padded];
    let mut measure = |cells: &mut dyn Iterator<Item = &str>| {
        for (width, cell) in widths.iter_mut().zip(cells) {
            *width = (*width).max(display_width(cell));
        }
    };
    measure(&mut header.iter().copied());
    for row in rows() {
        measure(&mut row.iter().map(String::as_str));
    }
    let mut line = |cells: &mut dyn Iterator<Item = &str>| -> io::Result<()> {
        for (n, cell) in cells.enumerate() {
            if cell.contains(BREAKS) {
                out.write_all(cell.replace(BREAKS, " ").as_bytes())?;
            } else {
                out.write_all(cell.as_bytes())?;
            }
            if let Some(width) = widths.get(n) {
                let pad = width.saturating_sub(display_width(cell)) + GAP;
                write!(out, "{:pad$}", "")?;
            }
        }
        writeln!(out)
    };
    line(&mut header.iter().copied())?;
    for row in rows() {
        line(&mut row.iter().map(String::as_str))?;
    }
    Ok(())
}

/// The columns a terminal gives `text`, its tabs and line breaks written as spaces.
fn display_width(text: &str) -> usize {
    text.chars()
        .map(|c| match BREAKS.contains(&c) {
            true => 1,
            false => c.width().unwrap_or(0),
        })
        .sum()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn table(header: &[&str], rows: &[&[&str]]) -> String {
        let rows = || {
            rows.iter()
                .map(|row| row.iter().map(|c| c.to_string()).collect())
        };
        let mut out = Vec::new();
        write_table(&mut out, header, rows).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn columns_are_as_wide_as_their_widest_cell_in_terminal_columns_and_the_last_is_not_padded() {
        assert_eq!(
            table(
                &["SKU", "N", "NOTE"],
                &[&["A-1", "5", "ok"], &["日本", "", "a longer note"]]
            ),
            "SKU   N   NOTE\n\
             A-1   5   ok\n\
             日本      a longer note\n"
        );
    }

    #[test]
    fn a_tab_or_a_line_break_in_a_cell_is_a_space() {
        assert_eq!(
            table(
                &["A", "B", "C"],
                &[&["x\ty", "1", "a\r\nb"], &["z", "2", "c"]]
            ),
            "A    B   C\n\
             x y  1   a  b\n\
             z    2   c\n"
        );
    }

    #[test]
    fn a_table_without_rows_is_its_header() {
        assert_eq!(table(&["SKU", "STOCK"], &[]), "SKU  STOCK\n");
    }
}
